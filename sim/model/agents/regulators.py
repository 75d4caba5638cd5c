"""Regulators: the US, China, transit countries, and the world market's own shocks.

A regulator holds the scenario events in its jurisdiction (by the move's prefix: ``us.``,
``cn.``, ``transit.``; supply shocks and truces belong to ``world``) and applies each on the month
it takes effect. The US regulator also collects revenue shares and tariffs; transit countries
collect permit fees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.scenario.scenario import Event

JURISDICTIONS: dict[str, str] = {
    "us": "us", "cn": "cn", "transit": "transit", "supply": "world", "trade": "world",
}


def jurisdiction(move_name: str) -> str:
    """Which regulator applies a move."""
    return JURISDICTIONS[move_name.split(".", 1)[0]]


class Regulator(mesa.Agent):
    """A government (or the world market) applying its moves and collecting its fees."""

    model: ModelContext

    def __init__(self, model: ModelContext, name: str, events: list[Event]) -> None:
        super().__init__(model)
        self.name = name
        self.events = sorted(events, key=lambda e: e.date)
        self.fees_usd = 0.0  # this month
        self.fees_total_usd = 0.0
        self.applied: list[Event] = []  # moves applied so far, in order

    def apply_moves(self) -> None:
        """Apply every move that takes effect this month."""
        self.fees_usd = 0.0
        while self.events and self.events[0].date <= self.model.month:
            event = self.events.pop(0)
            event.move.apply(self.model.policy)
            self.applied.append(event)

    def collect(self, amount_usd: float) -> None:
        """Book a fee, share or tariff."""
        self.fees_usd += amount_usd
        self.fees_total_usd += amount_usd
