"""The rules in force: what regulators' moves set and what agents read.

Moves (``sim.moves``) write here; agents only read. The rules of a month are rebuilt from the
events in force that month (``sim.model.agents.regulators``), so a truce that suspends a move
and its end that restores it need no undo: a suspended move is simply not applied. Keeping the
rules in one plain object makes a month's policy inspectable in a notebook (``model.policy``)
and keeps every move's effect local to its own class. Nothing here changes during a month, and
nothing here is state that accumulates: counts such as licences approved against a cap belong
to the regulator that keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.world.actors import ROUTES

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class LicenceRule:
    """A US licence requirement on one chip for China.

    ``key`` names the event that set the rule, so that approvals under one rule count against
    that rule's cap and a new rule starts a new count.
    """

    approval: float
    delay_months: int = 0
    cap_units: float | None = None
    us_supply_first: bool = False
    max_share_of_us: float | None = None
    key: str = ""


@dataclass(frozen=True)
class RevenueShare:
    """A share of the sale price of China sales owed to the US government (M7, M11).

    ``collected`` false: announced, priced in by the vendor, never paid (FACTS M7).
    """

    share: float
    collected: bool = True


@dataclass(frozen=True)
class ImportBlock:
    """A Chinese customs block on one chip, with the classes that may still import it.

    ``since`` is the first month a block on the chip has been in force without a break: orders
    placed before it and arriving after it meet customs; orders placed under it passed its
    exceptions when they were placed.
    """

    allowed: frozenset[str] = frozenset()
    justification_pass: float = 1.0
    since: int = 0


@dataclass(frozen=True)
class TransitPermit:
    """A transit country's permit requirement for re-exporting US AI chips."""

    detection: float
    cost_usd: float


@dataclass(frozen=True)
class DomesticMandate:
    """A minimum share of domestic chips in new compute for some buyers."""

    share: float
    applies_to: str


@dataclass
class PolicyState:
    """Every rule in force in the current month. Defaults are 'no rule'."""

    licences: dict[str, LicenceRule] = field(default_factory=dict)
    revenue_share: dict[str, RevenueShare] = field(default_factory=dict)
    tariff: dict[str, float] = field(default_factory=dict)
    enforcement: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROUTES, 1.0))
    remote_access_compliance: float = 0.0
    location_detection: float = 0.0
    affiliates_screening: float = 0.0
    import_blocks: dict[str, ImportBlock] = field(default_factory=dict)
    guidance_pressure: dict[str, float] = field(default_factory=dict)
    mandates: list[DomesticMandate] = field(default_factory=list)
    subsidy_cost_multiple: float = 1.0
    power_discount: float = 0.0
    transit_permits: dict[str, TransitPermit] = field(default_factory=dict)
    capacity_multiplier: dict[str, float] = field(default_factory=dict)
    cost_multiplier: dict[str, float] = field(default_factory=dict)

    def announced_fee_rate(self, chip: str) -> float:
        """Government take on a China sale of ``chip`` as announced: revenue share plus tariff.

        What vendors price in, whether or not the share is ever collected.
        """
        share = self.revenue_share.get(chip)
        return (share.share if share else 0.0) + self.tariff.get(chip, 0.0)

    def collected_share(self, chip: str) -> float:
        """Share of the sale price of a China sale the US government actually collects."""
        share = self.revenue_share.get(chip)
        return share.share if share is not None and share.collected else 0.0

    def enforcement_level(self) -> float:
        """Mean enforcement intensity over the routes (1: as before any crackdown)."""
        return sum(self.enforcement.get(r, 1.0) for r in ROUTES) / len(ROUTES)

    def min_domestic_share(self, state_funded: np.ndarray, inference_weight: np.ndarray
                           ) -> np.ndarray:
        """Smallest domestic share of new compute the mandates in force require of each buyer.

        Args:
            state_funded: per buyer, whether it is a state-funded / public data centre.
            inference_weight: per buyer, the inference share of its compute demand.
        """
        import numpy as np  # here, not at the top: `chipsim check` loads this module, not numpy

        best = np.zeros(np.shape(inference_weight))
        for m in self.mandates:
            if m.applies_to == "all":
                best = np.maximum(best, m.share)
            elif m.applies_to == "inference":
                best = np.maximum(best, m.share * inference_weight)
            else:  # state_funded, public_dc
                best = np.maximum(best, np.where(state_funded, m.share, 0.0))
        return best
