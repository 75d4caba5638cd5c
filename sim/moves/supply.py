"""Market-wide supply moves: component shocks (F12)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.moves.base import Chips, Enactment, Move, register
from sim.world.policy import PolicyState


@register
class SupplyShock(Move):
    """A component shock (HBM or foundry) changes chips' unit cost and capacity (F12).

    ``price_change`` of 0.6 raises unit cost and list price by 60 %; ``capacity_change`` of -0.2
    cuts monthly output capacity by 20 %. Without ``chips`` it hits every chip, domestic ones
    included: Chinese vendors buy HBM and foundry capacity too (F12, F17).
    """

    name = "supply.shock"
    record = ("F12",)

    component: Literal["hbm", "foundry"] = Field(description="the scarce component")
    price_change: float = Field(0.0, ge=-0.9, le=5.0, description="relative change in unit cost")
    capacity_change: float = Field(
        0.0, ge=-1.0, le=5.0, description="relative change in monthly capacity"
    )
    chips: Chips | None = Field(None, description="chips affected (default: all)")

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Compound the multipliers on each affected chip."""
        from sim.world.catalogue import CHIPS

        for chip in self.chips or tuple(CHIPS):
            policy.cost_multiplier[chip] = policy.cost_multiplier.get(chip, 1.0) * (
                1.0 + self.price_change
            )
            policy.capacity_multiplier[chip] = policy.capacity_multiplier.get(chip, 1.0) * (
                1.0 + self.capacity_change
            )
