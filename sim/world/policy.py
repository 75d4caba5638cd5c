"""The rules in force: what regulators' moves change and what agents read.

Moves (``sim.moves``) write here; agents only read. Keeping the rules in one plain object makes a
month's policy inspectable in a notebook (``model.policy``) and keeps every move's effect local to
its own class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.world.actors import ROUTES

if TYPE_CHECKING:
    import numpy as np



@dataclass
class LicenceRule:
    """A US licence requirement on one chip for China."""

    approval: float
    delay_months: int = 0
    cap_units: float | None = None
    us_supply_first: bool = False
    max_share_of_us: float | None = None
    approved_units: float = 0.0  # running count against cap_units


@dataclass
class ImportBlock:
    """A Chinese customs block on one chip, with the classes that may still import it."""

    allowed: frozenset[str] = frozenset()
    justification_pass: float = 1.0


@dataclass
class TransitPermit:
    """A transit country's permit requirement for re-exporting US AI chips."""

    detection: float
    cost_usd: float


@dataclass
class DomesticMandate:
    """A minimum share of domestic chips in new compute for some buyers."""

    share: float
    applies_to: str


@dataclass
class PolicyState:
    """Every rule in force in the current month. Defaults are 'no rule'."""

    licences: dict[str, LicenceRule] = field(default_factory=dict)
    revenue_share: dict[str, float] = field(default_factory=dict)
    tariff: dict[str, float] = field(default_factory=dict)
    enforcement: dict[str, float] = field(default_factory=lambda: {r: 1.0 for r in ROUTES})
    remote_access_compliance: float = 0.0
    location_detection: float = 0.0
    import_blocks: dict[str, ImportBlock] = field(default_factory=dict)
    guidance_pressure: dict[str, float] = field(default_factory=dict)
    mandates: list[DomesticMandate] = field(default_factory=list)
    subsidy_cost_multiple: float = 1.0
    power_discount: float = 0.0
    transit_permits: dict[str, TransitPermit] = field(default_factory=dict)
    capacity_multiplier: dict[str, float] = field(default_factory=dict)
    cost_multiplier: dict[str, float] = field(default_factory=dict)

    def fee_rate(self, chip: str) -> float:
        """US government take on a China sale of ``chip``: revenue share plus tariff."""
        return self.revenue_share.get(chip, 0.0) + self.tariff.get(chip, 0.0)

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
