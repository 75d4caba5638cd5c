"""Chinese moves: import blocks, purchase guidance, domestic mandates and subsidies."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from pydantic import Field

from sim.moves.base import BuyerClasses, Chips, Enactment, Fraction, Move, register
from sim.world.actors import BUYER_CLASSES
from sim.world.policy import DomesticMandate as MandateRule
from sim.world.policy import ImportBlock, PolicyState


@register
class ImportBlockMove(Move):
    """Chinese customs block imports of the named chips (M15).

    Buyers in an ``allowed`` class may still order, each order passing the justification check
    with probability ``justification_pass`` when it is placed; everyone else cannot order. Orders
    placed before the block that arrive after it meet customs and are held to the same rule.
    """

    name = "cn.import_block"
    record = ("M15",)

    chips: Chips = Field(description="chips whose import is blocked")
    allowed: BuyerClasses = Field((), description="buyer classes that may still import")
    justification_pass: Fraction = Field(
        1.0, description="probability an allowed buyer's justification is accepted"
    )

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Block each chip (a block replacing one in force keeps the month it began)."""
        for chip in self.chips:
            earlier = policy.import_blocks.get(chip)
            since = earlier.since if earlier is not None else enactment.since
            policy.import_blocks[chip] = ImportBlock(
                frozenset(self.allowed), self.justification_pass, since
            )

    def restricted_chips(self) -> frozenset[str]:
        """All blocked chips are restricted."""
        return frozenset(self.chips)

    def tightens(self, chip: str, policy: PolicyState) -> bool:
        """Whether some buyer class's chance to import ``chip`` falls against the block in force.

        A class's chance is ``justification_pass`` if it is allowed, else 0 (no block: 1). M15's
        exemptions of March 2026 let big tech in (easier) and pass research labs at 0.3 instead
        of 1 (harder): a restriction still, for the labs.
        """
        now = policy.import_blocks.get(chip)
        if now is None:
            return True
        return any(_import_chance(c, self.allowed, self.justification_pass)
                   < _import_chance(c, now.allowed, now.justification_pass)
                   for c in BUYER_CLASSES)


def _import_chance(buyer_class: str, allowed: Collection[str], justification_pass: float
                   ) -> float:
    """Chance an order of ``buyer_class`` passes a block with these exceptions."""
    return justification_pass if buyer_class in allowed else 0.0


@register
class PurchaseGuidance(Move):
    """Chinese authorities discourage buying the named US chips legally (M6).

    ``pressure`` deters new orders (a buyer following guidance, in proportion to its compliance,
    sees a higher effective cost) and, when it comes in or rises, makes each buyer cancel its
    waiting orders of these chips with probability ``pressure`` x its compliance (the CAC order
    to cancel RTX Pro 6000D orders, 2025-09-17).
    """

    name = "cn.purchase_guidance"
    record = ("M6",)

    chips: Chips = Field(description="chips buyers are told not to buy")
    pressure: Fraction = Field(description="reluctance of buyers to buy them legally (0-1)")

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
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

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Add the mandate (mandates accumulate; the strictest applies)."""
        policy.mandates.append(MandateRule(self.share, self.applies_to))


@register
class DomesticSubsidy(Move):
    """The state pays towards domestic chips (M9, FACTS F13).

    ``cost_multiple`` is how far above normal production cost the state will fund domestic
    output (F13: up to 4): it lowers buyers' price for domestic chips and speeds domestic capacity
    growth, within the HBM and foundry limits. ``power_discount`` cuts electricity cost of
    domestic-chip data centres (M9: up to 50 %).
    """

    name = "cn.domestic_subsidy"
    record = ("M9", "F13")

    cost_multiple: float = Field(
        ge=1.0, le=20.0, description="state funds output up to this x cost"
    )
    power_discount: Fraction = Field(0.0, description="discount on power for domestic-chip DCs")

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Set the subsidy."""
        policy.subsidy_cost_multiple = self.cost_multiple
        policy.power_discount = self.power_discount
