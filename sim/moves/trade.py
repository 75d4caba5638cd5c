"""Trade-wide moves: truces between the US and China (M10)."""

from __future__ import annotations

from pydantic import Field

from sim.moves.base import Enactment, Move, register
from sim.world.policy import PolicyState


@register
class TradeTruce(Move):
    """A US-China truce suspends the named moves for a while; afterwards they resume (M10).

    ``suspends`` names moves by move name (every event of that move, e.g. ``us.tariff``) or by
    event id (one event, e.g. ``m18-affiliates``). While the truce lasts the named moves are not
    applied; the rules are rebuilt each month from the moves in force, so when the truce ends
    they are in force again as if never lifted. FACTS M10: the US suspended the Affiliates Rule
    (M18) for one year from 2025-11-10.
    """

    name = "trade.truce"
    record = ("M10", "M18")

    suspends: tuple[str, ...] = Field(
        min_length=1, description="move names or event ids the truce suspends"
    )
    months: int = Field(ge=1, le=240, description="how long the suspension lasts, in months")

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """A truce sets no rule itself: the regulators leave the moves it suspends unapplied."""

    def covers(self, move_name: str, event_id: str | None) -> bool:
        """Whether this truce suspends an event of ``move_name`` with id ``event_id``."""
        return move_name in self.suspends or (event_id is not None and event_id in self.suspends)
