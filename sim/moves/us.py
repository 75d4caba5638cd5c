"""US moves: licence rules, revenue shares, tariffs, enforcement, remote access, location checks."""

from __future__ import annotations

from pydantic import Field

from sim.moves.base import Chips, Fraction, Move, NonNegative, Routes, register
from sim.world.actors import ROUTES
from sim.world.policy import LicenceRule, PolicyState


@register
class LicenceRequirement(Move):
    """US licence requirement on exports of the named chips to China.

    Each China order needs a licence; a licence is granted with probability ``approval`` after
    ``delay_months``. ``cap_units`` bounds the total approved for China; with ``us_supply_first``
    the vendor serves overseas (US) demand before China, and ``max_share_of_us`` caps China's
    monthly volume at that share of the vendor's overseas shipments of the chip (FACTS M12, F16).
    Every licence application costs the vendor a fixed compliance fee (FACTS F15).
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

    def apply(self, policy: PolicyState) -> None:
        """Put (or replace) the licence rule on each chip."""
        for chip in self.chips:
            policy.licences[chip] = LicenceRule(
                approval=self.approval,
                delay_months=self.delay_months,
                cap_units=self.cap_units,
                us_supply_first=self.us_supply_first,
                max_share_of_us=self.max_share_of_us,
            )

    def restricted_chips(self) -> frozenset[str]:
        """A rule that grants fewer than all licences restricts its chips."""
        return frozenset(self.chips) if self.approval < 1.0 else frozenset()


@register
class RevenueShare(Move):
    """A share of vendors' China revenue on the named chips goes to the US government (M7, M11)."""

    name = "us.revenue_share"
    record = ("M7", "M11")

    chips: Chips = Field(description="chips whose China sales pay the share")
    share: Fraction = Field(description="share of the sale price paid to the US government")

    def apply(self, policy: PolicyState) -> None:
        """Set the share on each chip (0 lifts it)."""
        for chip in self.chips:
            policy.revenue_share[chip] = self.share


@register
class Tariff(Move):
    """A US tariff on the named chips when they are sold to China (M13)."""

    name = "us.tariff"
    record = ("M13",)

    chips: Chips = Field(description="chips the tariff applies to")
    rate: Fraction = Field(description="tariff as a share of the sale price")

    def apply(self, policy: PolicyState) -> None:
        """Set the tariff rate on each chip (0 lifts it)."""
        for chip in self.chips:
            policy.tariff[chip] = self.rate


@register
class Enforcement(Move):
    """US enforcement against diversion: multiplies the seizure odds on the routes (M3)."""

    name = "us.enforcement"
    record = ("M3",)

    intensity: NonNegative = Field(description="multiplier on the base detection rate")
    routes: Routes | None = Field(None, description="routes affected (default: all)")

    def apply(self, policy: PolicyState) -> None:
        """Scale the detection on each route."""
        for route in self.routes or ROUTES:
            policy.enforcement[route] = self.intensity


@register
class RemoteAccessRule(Move):
    """Offshore clouds must stop renting to Chinese-controlled firms (M16).

    Each cloud provider complies with probability ``compliance``; a complying provider withdraws
    its capacity from Chinese renters and sells no more to Chinese subsidiaries.
    """

    name = "us.remote_access_rule"
    record = ("M16",)

    compliance: Fraction = Field(description="share of offshore providers that comply")

    def apply(self, policy: PolicyState) -> None:
        """Set the compliance share."""
        policy.remote_access_compliance = self.compliance


@register
class LocationVerification(Move):
    """Exported chips report their location; those that turn up in China are caught (M17)."""

    name = "us.location_verification"
    record = ("M17",)

    detection: Fraction = Field(description="probability a diverted chip in China is detected")

    def apply(self, policy: PolicyState) -> None:
        """Set the detection probability."""
        policy.location_detection = self.detection
