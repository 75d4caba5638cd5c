"""Offshore cloud providers renting GPUs to Chinese firms, in five countries.

Malaysia, Singapore, Thailand, Indonesia and elsewhere. Providers buy GPUs legally and rent
them by the month to Chinese firms (FACTS F7, F8). Each country has its own cost (a factor on
the rent: power, land, margins) and its own data-centre room for China-facing GPUs. Providers
add capacity when rentals are wanted, up to a monthly growth limit and their country's room,
which grows with the Chinese market it serves (F5).
Under a remote-access rule (M16) each provider complies with the rule's probability; a
complying provider stops serving Chinese renters. The providers are one cohort agent with
arrays (replications x providers).

Resolution: the fleet's total starting capacity and its minimum monthly growth are market
totals split over however many providers there are, so the provider count is resolution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.draws import AT_START
from sim.world.actors import CLOUD_COUNTRIES
from sim.world.catalogue import CLOUD_CHIP
from sim.world.parameters import group

if TYPE_CHECKING:
    from sim.model.context import ModelContext


class CloudFleet(mesa.Agent):
    """All offshore cloud providers serving Chinese renters."""

    model: ModelContext

    def __init__(self, model: ModelContext, size: int) -> None:
        super().__init__(model)
        p, draws, r = model.params, model.draws, model.replications
        self.size = size
        self.country = np.arange(size) % len(CLOUD_COUNTRIES)  # (P,): provider -> country
        weight = -np.log(1.0 - draws.uniform("cloud_size", AT_START, size))  # flat Dirichlet
        share = weight / weight.sum(axis=1, keepdims=True)
        self.capacity = p["clouds.initial_capacity_units"] * share  # GPUs serving China (R, P)
        cost = group(p, "clouds.cost_factor")
        room = group(p, "clouds.country_capacity_units")
        self.cost_factor = np.hstack([cost[c] for c in CLOUD_COUNTRIES])  # (R, countries)
        self.country_room = np.hstack([room[c] for c in CLOUD_COUNTRIES])
        self._compliance_draws = draws.uniform("cloud_compliance", AT_START, size)
        self.complies = np.zeros((r, size), dtype=bool)
        zero = np.zeros((r, 1))
        self.new_units = zero  # GPUs newly put into service for China this month
        self.bought_units = zero.copy()  # cumulative, for the ledger
        self.receipts_usd = zero.copy()  # cumulative rent received

    @property
    def china_capacity(self) -> np.ndarray:
        """GPUs serving Chinese renters now (R, 1)."""
        return self.capacity.sum(axis=1, keepdims=True)

    def by_country(self, values: np.ndarray) -> np.ndarray:
        """Per-provider values (R, P) summed by country: (R, countries)."""
        out = np.zeros((values.shape[0], len(CLOUD_COUNTRIES)))
        for k in range(len(CLOUD_COUNTRIES)):
            out[:, k] = values[:, self.country == k].sum(axis=1)
        return out

    def rent_per_gpu_month(self) -> np.ndarray:
        """Each provider's monthly rent: amortised GPU cost, markup, its country's cost (R, P)."""
        p = self.model.params
        base = (self.model.list_price(CLOUD_CHIP) * (1.0 + p["clouds.markup"])
                / p["clouds.amortisation_months"])
        return base * np.take(self.cost_factor, self.country, axis=1)

    def market_rent(self) -> np.ndarray:
        """The rent a new renter expects: open providers' rents weighted by their room (R, 1)."""
        room = self.expansion_room()
        rent = self.rent_per_gpu_month()
        total = room.sum(axis=1, keepdims=True)
        mean = rent.mean(axis=1, keepdims=True)
        weighted = (rent * room).sum(axis=1, keepdims=True)
        return np.divide(weighted, total, out=mean, where=total > 0)

    def open_share(self) -> np.ndarray:
        """Share of providers still renting to Chinese firms (R, 1)."""
        if not self.size:
            return np.zeros((self.model.replications, 1))
        return 1.0 - self.complies.mean(axis=1, keepdims=True)

    def apply_rules(self) -> np.ndarray:
        """Providers that comply with a remote-access rule withdraw; return the share withdrawn."""
        before = self.china_capacity
        self.complies = self._compliance_draws < self.model.policy.remote_access_compliance
        self.capacity = np.where(self.complies, 0.0, self.capacity)
        return np.divide(before - self.china_capacity, before, out=np.zeros_like(before),
                         where=before > 0)

    def room(self) -> np.ndarray:
        """Each country's room for China-facing GPUs now (R, countries).

        Data centres abroad are built for the market they serve: the room set for the period's
        start grows with Chinese demand (``demand.growth_per_year``, FACTS F5), as the
        market's other totals do, rather than standing still for three years.
        """
        growth = (1.0 + self.model.params["demand.growth_per_year"]) ** self.model.years()
        return self.country_room * growth

    def expansion_room(self) -> np.ndarray:
        """Most GPUs each open provider can add this month (R, P).

        A provider grows at most ``clouds.max_expansion_per_month`` of its size, or its share of
        the fleet's ``clouds.min_expansion_units`` (so an empty provider can start), and never
        past its share of its country's room for China-facing GPUs.
        """
        p = self.model.params
        grow = np.maximum(self.capacity * p["clouds.max_expansion_per_month"],
                          p["clouds.min_expansion_units"] / max(self.size, 1))
        used = self.by_country(self.capacity)  # (R, countries)
        providers = np.bincount(self.country, minlength=len(CLOUD_COUNTRIES))
        headroom = np.maximum(self.room() - used, 0.0) / np.maximum(providers, 1)
        room = np.minimum(grow, np.take(headroom, self.country, axis=1))
        return np.where(self.complies, 0.0, room)

    def install(self, units: np.ndarray, price: np.ndarray) -> np.ndarray:
        """Put bought GPUs into service at open providers, in proportion to their room.

        Returns the units each provider installed (R, P).
        """
        self.new_units = units
        room = self.expansion_room()
        total = room.sum(axis=1, keepdims=True)
        added = np.divide(units * room, total, out=np.zeros_like(room), where=total > 0)
        self.capacity = self.capacity + added
        self.bought_units = self.bought_units + units
        self.model.ledger.payment("clouds", units * price)
        return added

    def collect_rent(self, amount: np.ndarray) -> None:
        """Receive rent from Chinese renters."""
        self.receipts_usd = self.receipts_usd + amount
