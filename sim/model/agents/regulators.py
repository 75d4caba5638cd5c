"""Regulators: the US, China, transit countries, and the world market's own shocks.

Each month the rules in force are rebuilt from the scenario's initial policy and the events that
have taken effect, in date order, leaving out the events a truce suspends (M10): so a suspended
move stops acting while the truce lasts and acts again when it ends, with nothing to undo.

A regulator holds the events in its jurisdiction (by the move's prefix: ``us.``, ``cn.``,
``transit.``; supply shocks and truces belong to ``world``) and collects its fees: the US the
revenue shares and tariffs, transit countries their permit fees. The US regulator also counts
the units approved under each licence rule against the rule's cap (M14).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.moves.base import Enactment
from sim.moves.trade import TradeTruce
from sim.world.policy import PolicyState

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.moves.base import Move
    from sim.scenario.scenario import Event

JURISDICTIONS: dict[str, str] = {
    "us": "us", "cn": "cn", "transit": "transit", "supply": "world", "trade": "world",
}
#: When the initial policy came in: long before any period.
SINCE_FOREVER = -(10**6)


def jurisdiction(move_name: str) -> str:
    """Which regulator applies a move."""
    return JURISDICTIONS[move_name.split(".", 1)[0]]


def event_key(index: int, event: Event) -> str:
    """The key naming an event: its id if it has one, else its place in the scenario."""
    return event.id or f"event-{index}"


class Regulator(mesa.Agent):
    """A government (or the world market) whose moves are in force, and the fees it collects."""

    model: ModelContext

    def __init__(self, model: ModelContext, name: str, events: Sequence[Event]) -> None:
        super().__init__(model)
        self.name = name
        self.events = tuple(events)
        zero = np.zeros((model.replications, 1))
        self.fees_usd = zero  # this month
        self.fees_total_usd = zero.copy()
        self.approved: dict[tuple[str, str], np.ndarray] = {}  # (rule key, chip) -> units

    def start_month(self) -> None:
        """Start this month's fee account."""
        self.fees_usd = np.zeros_like(self.fees_total_usd)

    def collect(self, amount_usd: np.ndarray) -> None:
        """Book a fee, share or tariff."""
        self.fees_usd = self.fees_usd + amount_usd
        self.fees_total_usd = self.fees_total_usd + amount_usd

    def approved_units(self, key: str, chip: str) -> np.ndarray:
        """Units approved so far under the licence rule ``key`` on ``chip`` (R, 1)."""
        return self.approved.get((key, chip), np.zeros_like(self.fees_total_usd))

    def approve(self, key: str, chip: str, units: np.ndarray) -> None:
        """Count units approved under a licence rule against its cap."""
        self.approved[key, chip] = self.approved_units(key, chip) + units


def rules_in_force(initial: Sequence[Move], events: Sequence[Event], month: int) -> PolicyState:
    """The rules in force in ``month``.

    The initial policy, then every event that has taken effect and is not suspended by a truce,
    in date order.
    """
    policy = PolicyState()
    for i, move in enumerate(initial):
        move.apply(policy, Enactment(SINCE_FOREVER, f"initial-{i}"))
    started = [(i, e) for i, e in enumerate(events) if e.date <= month]
    truces = [(e, e.move) for _, e in started if isinstance(e.move, TradeTruce)]
    for i, event in sorted(started, key=lambda item: item[1].date):
        if any(t.date <= month < t.date + truce.months and truce.covers(event.move.name, event.id)
               for t, truce in truces):
            continue
        event.move.apply(policy, Enactment(event.date, event_key(i, event)))
    return policy


def in_force_signature(events: Sequence[Event], month: int) -> tuple[bool, ...]:
    """Which events act in ``month`` (for knowing when the rules must be rebuilt)."""
    truces = [e for e in events if isinstance(e.move, TradeTruce) and e.date <= month]
    return tuple(
        e.date <= month and not any(
            t.date <= month < t.date + t.move.months and t.move.covers(e.move.name, e.id)
            for t in truces)
        for e in events
    )
