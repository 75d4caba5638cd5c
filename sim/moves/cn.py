"""Chinese moves: import blocks, purchase guidance, domestic mandates and subsidies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.moves.base import BuyerClasses, Chips, Fraction, Move, register
from sim.world.policy import DomesticMandate as MandateRule
from sim.world.policy import ImportBlock, PolicyState


@register
class ImportBlockMove(Move):
    """Chinese customs block imports of the named chips (M15).

    Buyers in an ``allowed`` class may still import, each order passing the justification check
    with probability ``justification_pass``; everyone else is refused at the border.
    """

    name = "cn.import_block"
    record = ("M15",)

    chips: Chips = Field(description="chips whose import is blocked")
    allowed: BuyerClasses = Field((), description="buyer classes that may still import")
    justification_pass: Fraction = Field(
        1.0, description="probability an allowed buyer's justification is accepted"
    )

    def apply(self, policy: PolicyState) -> None:
        """Block each chip."""
        for chip in self.chips:
            policy.import_blocks[chip] = ImportBlock(
                frozenset(self.allowed), self.justification_pass
            )

    def restricted_chips(self) -> frozenset[str]:
        """All blocked chips are restricted."""
        return frozenset(self.chips)


@register
class PurchaseGuidance(Move):
    """Chinese authorities discourage buying the named US chips legally (M6).

    ``pressure`` raises the perceived cost of legal purchases of these chips for buyers who follow
    guidance (in proportion to each buyer's compliance).
    """

    name = "cn.purchase_guidance"
    record = ("M6",)

    chips: Chips = Field(description="chips buyers are told not to buy")
    pressure: Fraction = Field(description="reluctance of buyers to buy them legally (0-1)")

    def apply(self, policy: PolicyState) -> None:
        """Set the pressure on each chip."""
        for chip in self.chips:
            policy.guidance_pressure[chip] = self.pressure


@register
class DomesticMandate(Move):
    """A minimum share of domestic chips in new compute (M8, M9).

    ``applies_to``: ``state_funded`` / ``public_dc`` (state data centres), ``all`` buyers, or
    ``inference`` (the inference part of every buyer's demand).
    """

    name = "cn.domestic_mandate"
    record = ("M8", "M9")

    share: Fraction = Field(description="minimum domestic share of new compute")
    applies_to: Literal["state_funded", "public_dc", "all", "inference"] = Field(
        description="whose new compute it covers"
    )

    def apply(self, policy: PolicyState) -> None:
        """Add the mandate (mandates accumulate; the strictest applies)."""
        policy.mandates.append(MandateRule(self.share, self.applies_to))


@register
class DomesticSubsidy(Move):
    """The state pays towards domestic chips (M9, FACTS F13).

    ``cost_multiple`` is how far above normal production cost the state will fund domestic
    output (F13: up to 4): it lowers buyers' price for domestic chips and speeds domestic capacity
    growth. ``power_discount`` cuts electricity cost of domestic-chip data centres (M9: up to 50 %).
    """

    name = "cn.domestic_subsidy"
    record = ("M9", "F13")

    cost_multiple: float = Field(
        ge=1.0, le=20.0, description="state funds output up to this x cost"
    )
    power_discount: Fraction = Field(0.0, description="discount on power for domestic-chip DCs")

    def apply(self, policy: PolicyState) -> None:
        """Set the subsidy."""
        policy.subsidy_cost_multiple = self.cost_multiple
        policy.power_discount = self.power_discount
