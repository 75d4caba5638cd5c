"""Overseas buyers: US hyperscalers and the rest of the world.

They want each US vendor's global parts in proportion to the vendor's overseas demand (FACTS F4)
and pay list price. Their claims come first when the US-demand-first rule is in force (M12, F16).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.world.catalogue import CHIPS

if TYPE_CHECKING:
    from sim.model.context import ModelContext


class OverseasBuyers(mesa.Agent):
    """All non-Chinese demand for US vendors' global parts, as one agent."""

    model: ModelContext

    def __init__(self, model: ModelContext) -> None:
        super().__init__(model)
        self.chips = tuple(c for c, chip in CHIPS.items() if chip.segment == "global")
        self.wanted = dict.fromkeys(self.chips, 0.0)
        self.received_units = 0.0  # cumulative, for the ledger

    def form_demand(self) -> None:
        """Units of each global part wanted this month."""
        p, model = self.model.params, self.model
        growth = (1.0 + p["demand.overseas_growth_per_year"]) ** model.years()
        for c in self.chips:
            chip = CHIPS[c]
            usd = p[f"demand.overseas_usd_per_month.{chip.vendor}"] * growth * chip.overseas_share
            self.wanted[c] = usd / model.list_price(c)

    def take(self, chip: str, units: float, price: float) -> None:
        """Receive and pay for shipped units."""
        self.received_units += units
        self.model.ledger.payment("overseas_buyers", units * price)
