"""Trade-wide moves: truces between the US and China (M10)."""

from __future__ import annotations

from pydantic import Field

from sim.moves.base import Chips, Move, register
from sim.world.policy import PolicyState


@register
class TradeTruce(Move):
    """A US-China truce suspends the US tariffs in force on the named chips (M10)."""

    name = "trade.truce"
    record = ("M10",)

    chips: Chips | None = Field(None, description="chips whose tariffs are suspended (default all)")

    def apply(self, policy: PolicyState) -> None:
        """Drop the tariffs in force."""
        for chip in self.chips or tuple(policy.tariff):
            policy.tariff.pop(chip, None)
