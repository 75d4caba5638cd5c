"""US moves: licences, revenue shares, tariffs, enforcement, remote access, location, affiliates."""

from __future__ import annotations

from pydantic import Field

from sim.moves.base import Chips, Enactment, Fraction, Move, NonNegative, Routes, register
from sim.world.actors import ROUTES
from sim.world.policy import LicenceRule, PolicyState
from sim.world.policy import RevenueShare as ShareRule


@register
class LicenceRequirement(Move):
    """US licence requirement on exports of the named chips to China (M1, M2, M5, M12, M14).

    Each China order needs a licence. Buyers see the rule when they choose (an approval below 1
    makes them expect to wait for a retry); then one draw per order grants it with probability
    ``approval``, and a granted order is delivered ``delay_months`` later. ``cap_units`` bounds
    the units approved under this rule; with ``us_supply_first`` the vendor serves overseas (US)
    demand before China, and ``max_share_of_us`` caps China's monthly volume at that share of the
    vendor's overseas shipments of the chip (FACTS M12, F16). Every licence application costs
    the vendor a fixed compliance fee (FACTS F15).
    """

    name = "us.licence_requirement"
    record = ("M1", "M2", "M5", "M12", "M14")

    chips: Chips = Field(description="chips that need a licence for China")
    approval: Fraction = Field(description="probability that a licence application is granted")
    delay_months: int = Field(0, ge=0, le=24, description="months from order to licensed delivery")
    cap_units: NonNegative | None = Field(None, description="total units approvable for China")
    us_supply_first: bool = Field(False, description="serve US/overseas demand before China")
    max_share_of_us: Fraction | None = Field(
        None, description="China volume at most this share of overseas shipments of the chip"
    )

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Put (or replace) the licence rule on each chip."""
        for chip in self.chips:
            policy.licences[chip] = LicenceRule(
                approval=self.approval,
                delay_months=self.delay_months,
                cap_units=self.cap_units,
                us_supply_first=self.us_supply_first,
                max_share_of_us=self.max_share_of_us,
                key=enactment.key,
            )

    def restricted_chips(self) -> frozenset[str]:
        """A rule that grants fewer than all licences restricts its chips."""
        return frozenset(self.chips) if self.approval < 1.0 else frozenset()

    def tightens(self, chip: str, policy: PolicyState) -> bool:
        """Stricter than the chip's rule in force on some term (FACTS M5 eases: no stockpile).

        Any term counts: a lower approval, a longer delay, a cap or a smaller one, serving US
        demand first, a share of US shipments or a smaller one. No rule in force: it tightens.
        """
        now = policy.licences.get(chip)
        if now is None:
            return True
        return (self.approval < now.approval or self.delay_months > now.delay_months
                or _tighter_limit(self.cap_units, now.cap_units)
                or (self.us_supply_first and not now.us_supply_first)
                or _tighter_limit(self.max_share_of_us, now.max_share_of_us))


@register
class RevenueShare(Move):
    """A share of vendors' China revenue on the named chips goes to the US government (M7, M11).

    Vendors price the announced share in (``vendors.fee_passthrough``). With ``collected: false``
    the share is announced but never paid: FACTS M7 (15 %, never codified, nothing paid).
    """

    name = "us.revenue_share"
    record = ("M7", "M11")

    chips: Chips = Field(description="chips whose China sales pay the share")
    share: Fraction = Field(description="share of the sale price paid to the US government")
    collected: bool = Field(True, description="whether the share is actually paid (M7: no)")

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Set the share on each chip (0 lifts it)."""
        for chip in self.chips:
            policy.revenue_share[chip] = ShareRule(self.share, self.collected)


@register
class Tariff(Move):
    """A US tariff on the named chips bound for China, collected at import (M13).

    Unlike a revenue share, the tariff is levied on the customs value (the list price) when the
    chips enter the US for the third-party testing the January-2026 rules require, whoever buys
    them; the vendor pays it and passes part of it on (``vendors.fee_passthrough``).
    """

    name = "us.tariff"
    record = ("M13",)

    chips: Chips = Field(description="chips the tariff applies to")
    rate: Fraction = Field(description="tariff as a share of the customs value (list price)")

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Set the tariff rate on each chip (0 lifts it)."""
        for chip in self.chips:
            policy.tariff[chip] = self.rate


@register
class Enforcement(Move):
    """US enforcement against diversion (M3).

    Multiplies the seizure odds on the routes, the chance that a front company is caught, and
    the risk buyers of diverted chips perceive.
    """

    name = "us.enforcement"
    record = ("M3",)

    intensity: NonNegative = Field(description="multiplier on the base detection rate")
    routes: Routes | None = Field(None, description="routes affected (default: all)")

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Scale the detection on each route."""
        for route in self.routes or ROUTES:
            policy.enforcement[route] = self.intensity


@register
class RemoteAccessRule(Move):
    """Offshore clouds must stop renting to Chinese-controlled firms (M16).

    Each cloud provider complies with probability ``compliance``; a complying provider withdraws
    its capacity from Chinese renters. Remote use of front-company servers becomes a violation
    too, which raises the chance a front company is caught.
    """

    name = "us.remote_access_rule"
    record = ("M16",)

    compliance: Fraction = Field(description="share of offshore providers that comply")

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Set the compliance share."""
        policy.remote_access_compliance = self.compliance


@register
class LocationVerification(Move):
    """Exported chips report where they are; those that turn up in China are disabled (M17).

    The check acts after delivery, not at the border: a smuggled chip found in China is disabled
    or traced, so a diverted chip is worth less to a buyer (``detection`` of its value is lost).
    Chips that stay offshore (clouds, front companies) are where they say they are.
    """

    name = "us.location_verification"
    record = ("M17",)

    detection: Fraction = Field(description="probability a smuggled chip in China is found")

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Set the detection probability."""
        policy.location_detection = self.detection


@register
class AffiliatesRule(Move):
    """Export restrictions reach every firm 50 % or more owned by a listed party (M18).

    Closes the route through foreign affiliates of listed Chinese firms: exporters and resellers
    must screen ownership, and a front-company purchase is stopped with probability
    ``screening`` on top of enforcement.
    """

    name = "us.affiliates_rule"
    record = ("M18",)

    screening: Fraction = Field(
        description="probability the ownership screen stops a front-company purchase"
    )

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Set the screening probability."""
        policy.affiliates_screening = self.screening


def _tighter_limit(new: float | None, now: float | None) -> bool:
    """Whether an optional upper limit (None: none) is stricter than the one in force."""
    return new is not None and (now is None or new < now)
