"""Overseas buyers: US hyperscalers and the rest of the world.

They want each US vendor's global parts in proportion to the vendor's overseas demand (FACTS F4)
and pay list price. Their claims come first when the US-demand-first rule is in force (M12, F16).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.world.catalogue import CHIPS, chip_parameter

if TYPE_CHECKING:
    from sim.model.context import ModelContext


class OverseasBuyers(mesa.Agent):
    """All non-Chinese demand for US vendors' global parts, as one agent."""

    model: ModelContext

    def __init__(self, model: ModelContext) -> None:
        super().__init__(model)
        self.chips = tuple(c for c, chip in CHIPS.items() if chip.segment == "global")
        zero = np.zeros((model.replications, 1))
        self.wanted = dict.fromkeys(self.chips, zero)
        self.received_units = zero.copy()  # cumulative, for the ledger

    def form_demand(self) -> None:
        """Units of each global part wanted this month."""
        p, model = self.model.params, self.model
        growth = (1.0 + p["demand.overseas_growth_per_year"]) ** model.years()
        for c in self.chips:
            share = p[chip_parameter(c, "overseas_share")]
            usd = p[f"demand.overseas_usd_per_month.{CHIPS[c].vendor}"] * growth * share
            self.wanted[c] = usd / model.list_price(c)

    def take(self, units: np.ndarray, price: np.ndarray) -> None:
        """Receive and pay for shipped units."""
        self.received_units = self.received_units + units
        self.model.ledger.payment("overseas_buyers", units * price)
