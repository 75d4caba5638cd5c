"""Offshore cloud providers (Malaysia, Singapore, Indonesia, Thailand) renting GPUs to China.

Providers buy GPUs legally and rent them by the month to Chinese firms (FACTS F7, F8). They add
capacity when rentals are wanted, up to a growth limit. Under a remote-access rule (M16) each
provider complies with the rule's probability; a complying provider stops serving Chinese renters.
The providers are one cohort agent with an array per attribute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.world.actors import CLOUD_COUNTRIES
from sim.world.catalogue import CLOUD_CHIP

if TYPE_CHECKING:
    from sim.model.context import ModelContext



class CloudFleet(mesa.Agent):
    """All offshore cloud providers serving Chinese renters."""

    model: ModelContext

    def __init__(self, model: ModelContext, size: int) -> None:
        super().__init__(model)
        p = model.params
        self.size = size
        self.country = np.array([CLOUD_COUNTRIES[i % len(CLOUD_COUNTRIES)] for i in range(size)])
        share = model.rng.dirichlet(np.ones(size))
        self.capacity = p["clouds.initial_capacity_units"] * share  # GPUs serving China
        self.complies = np.zeros(size, dtype=bool)
        self._compliance_draws = model.rng.random(size)  # fixed per provider: who would comply
        self.new_units = 0.0  # GPUs newly put into service for China this month
        self.bought_units = 0.0  # cumulative, for the ledger
        self.receipts_usd = 0.0  # cumulative rent received

    @property
    def china_capacity(self) -> float:
        """GPUs serving Chinese renters now."""
        return float(self.capacity.sum())

    def rent_per_gpu_month(self) -> float:
        """Market rental rate: amortised cost of the GPU plus the providers' markup."""
        p = self.model.params
        price = self.model.list_price(CLOUD_CHIP)
        return price * (1.0 + p["clouds.markup"]) / p["clouds.amortisation_months"]

    def open_share(self) -> float:
        """Share of providers still renting to Chinese firms."""
        return 1.0 - float(self.complies.mean()) if self.size else 0.0

    def apply_rules(self) -> float:
        """Providers that comply with a remote-access rule withdraw; return the share withdrawn."""
        before = self.capacity.sum()
        self.complies = self._compliance_draws < self.model.policy.remote_access_compliance
        self.capacity[self.complies] = 0.0
        return 0.0 if before <= 0 else float(1.0 - self.capacity.sum() / before)

    def expansion_room(self) -> float:
        """Most GPUs the open providers can add this month."""
        p = self.model.params
        room = np.maximum(
            self.capacity * p["clouds.max_expansion_per_month"],
            p["clouds.min_expansion_units"],
        )
        return float(room[~self.complies].sum())

    def install(self, units: float, price: float) -> None:
        """Put bought GPUs into service at open providers, in proportion to their capacity.

        A provider with less than one GPU counts as one, so an emptied provider can restart.
        """
        self.new_units = units
        if units <= 0:
            return
        open_ = ~self.complies
        room = np.where(open_, np.maximum(self.capacity, 1.0), 0.0)
        self.capacity += units * room / room.sum()
        self.bought_units += units
        self.model.ledger.payment("clouds", units * price)

    def collect_rent(self, amount: float) -> None:
        """Receive rent from Chinese renters."""
        self.receipts_usd += amount
