"""Transit-country moves: permits for re-exporting US AI chips (M4)."""

from __future__ import annotations

from pydantic import Field

from sim.moves.base import Enactment, Fraction, Move, NonNegative, TransitCountry, register
from sim.world.actors import TRANSIT_COUNTRIES
from sim.world.policy import PolicyState, TransitPermit


@register
class PermitRequirement(Move):
    """A transit country requires a permit to export or trans-ship US-origin AI chips (M4).

    Smugglers on the country's route face extra detection and a per-unit cost; the route loses
    trade to the others, whose congestion and risk then rise.
    """

    name = "transit.permit_requirement"
    record = ("M4",)

    country: TransitCountry = Field(
        description=f"transit country, one of: {', '.join(TRANSIT_COUNTRIES)}"
    )
    detection: Fraction = Field(description="extra probability a shipment is caught")
    cost: NonNegative = Field(0.0, description="extra cost per unit shipped, USD")

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Put the permit in force."""
        policy.transit_permits[self.country] = TransitPermit(self.detection, self.cost)
