"""Chip vendors: capacity, production pipeline, inventory, write-downs and revenue.

A vendor commits production ``lead_months`` ahead (an order-up-to rule on its expected orders),
ships what buyers, clouds, resellers and licensed Chinese orders claim, and books revenue. When
a China-only part loses its only market, the vendor writes down the inventory and cancels the
purchase commitments in its pipeline (the H20 charge, FACTS F2) and stops making it; when orders
for any part vanish, expected orders fall and output is cut (FACTS F11).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import mesa

from sim.world.actors import DOMESTIC_VENDORS
from sim.world.catalogue import CHIPS, Chip

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.world.policy import PolicyState


class Vendor(mesa.Agent):
    """One chip vendor (Nvidia, AMD, the small US vendor, Huawei, Cambricon)."""

    model: ModelContext

    def __init__(self, model: ModelContext, name: str) -> None:
        super().__init__(model)
        p = model.params
        self.name = name
        self.domestic = name in DOMESTIC_VENDORS
        self.chips: tuple[str, ...] = tuple(c for c, chip in CHIPS.items() if chip.vendor == name)
        self.lead = max(1, int(round(p["vendors.lead_months"])))
        self.capacity = {c: CHIPS[c].capacity_per_month for c in self.chips}
        self.inventory = dict.fromkeys(self.chips, 0.0)
        self.book_units = dict.fromkeys(self.chips, 0.0)  # units still carried at cost
        start = p["vendors.initial_utilisation"]
        self.expected_orders = {c: start * self.capacity[c] for c in self.chips}
        self.pipeline = {c: deque([self.expected_orders[c]] * self.lead) for c in self.chips}
        self.produced = dict.fromkeys(self.chips, 0.0)
        self.orders_this_month = dict.fromkeys(self.chips, 0.0)
        self.finished = dict.fromkeys(self.chips, 0.0)  # units finished this month
        self.revenue_usd = 0.0  # this month
        self.revenue_total_usd = 0.0
        self.writedown_usd = 0.0  # this month
        self.licence_cost_usd = 0.0  # this month
        self.stranded = dict.fromkeys(self.chips, False)

    # --- prices -----------------------------------------------------------------------------
    def unit_cost(self, chip: str) -> float:
        """Cost of making one unit now (supply shocks move it)."""
        return CHIPS[chip].unit_cost_usd * self.model.policy.cost_multiplier.get(chip, 1.0)

    def list_price(self, chip: str) -> float:
        """List price now: scarce components raise prices with costs (FACTS F12)."""
        return CHIPS[chip].list_price_usd * self.model.policy.cost_multiplier.get(chip, 1.0)

    # --- the month ----------------------------------------------------------------------------
    def start_month(self) -> None:
        """Receive finished production and reset this month's accounts."""
        self.revenue_usd = self.writedown_usd = self.licence_cost_usd = 0.0
        for c in self.chips:
            arriving = self.pipeline[c].popleft()
            self.inventory[c] += arriving
            self.book_units[c] += arriving
            self.produced[c] += arriving
            self.finished[c] = arriving
            self.orders_this_month[c] = 0.0

    def available(self, chip: str) -> float:
        """Units that can ship this month."""
        return self.inventory[chip]

    def ship(self, chip: str, units: float) -> None:
        """Take shipped units out of inventory (written-down units go first)."""
        self.inventory[chip] -= units
        self.book_units[chip] = min(self.book_units[chip], self.inventory[chip])

    def receive(self, amount_usd: float) -> None:
        """Book revenue."""
        self.revenue_usd += amount_usd
        self.revenue_total_usd += amount_usd

    def note_orders(self, chip: str, units: float) -> None:
        """Record orders (served or not): the vendor's demand signal."""
        self.orders_this_month[chip] += units

    def pay_licence_fees(self, applications: int) -> None:
        """Fixed compliance cost per licence application (FACTS F15)."""
        self.licence_cost_usd += applications * self.model.params["vendors.licence_cost_usd"]

    def end_month(self) -> None:
        """Write down stranded parts, grow capacity, and commit next production."""
        policy = self.model.policy
        for c in self.chips:
            self._review_market(c, policy)
            self._grow_capacity(c, policy)
            self._commit_production(c, policy)

    # --- rules --------------------------------------------------------------------------------
    def _review_market(self, chip: str, policy: PolicyState) -> None:
        """A China-only part with no legal way into China is stranded: write it down."""
        spec: Chip = CHIPS[chip]
        if spec.segment != "china_only":
            return
        rule = policy.licences.get(chip)
        block = policy.import_blocks.get(chip)
        closed = (rule is not None and rule.approval == 0.0) or (
            block is not None and not block.allowed
        )
        self.stranded[chip] = closed
        if not closed:
            return
        cost = self.unit_cost(chip)
        committed = sum(self.pipeline[chip])
        self.writedown_usd += (self.book_units[chip] + committed) * cost
        self.book_units[chip] = 0.0
        self.pipeline[chip] = deque([0.0] * self.lead)  # purchase commitments cancelled

    def _grow_capacity(self, chip: str, policy: PolicyState) -> None:
        p = self.model.params
        if self.domestic:
            per_year = (1.0 + p["vendors.domestic_capacity_growth_per_year"]) * (
                policy.subsidy_cost_multiple ** p["vendors.subsidy_capacity_elasticity"]
            )
        else:
            per_year = 1.0 + p["vendors.us_capacity_growth_per_year"]
        self.capacity[chip] *= per_year ** (1.0 / 12.0)

    def _commit_production(self, chip: str, policy: PolicyState) -> None:
        """Order-up-to rule: keep inventory + pipeline at expected orders over the lead time."""
        p = self.model.params
        alpha = p["vendors.order_smoothing"]
        expected = (1 - alpha) * self.expected_orders[chip] + alpha * self.orders_this_month[chip]
        self.expected_orders[chip] = expected
        if self.stranded[chip]:
            self.pipeline[chip].append(0.0)
            return
        position = self.inventory[chip] + sum(self.pipeline[chip])
        target = expected * (self.lead + 1 + p["vendors.safety_stock_months"])
        limit = self.capacity[chip] * policy.capacity_multiplier.get(chip, 1.0)
        self.pipeline[chip].append(min(max(target - position, 0.0), limit))
