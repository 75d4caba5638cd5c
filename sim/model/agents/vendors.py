"""Chip vendors: capacity, production pipeline, inventory, licences, write-downs and revenue.

A vendor commits production ``lead_months`` ahead (an order-up-to rule on its expected orders),
ships what buyers, clouds, front companies, resellers and licensed Chinese orders claim, and
books revenue by market. When a China-only part loses its only market, the vendor writes down
the inventory and cancels the purchase commitments in its pipeline (the H20 charge, FACTS F2)
and stops making it; when orders for any part vanish, expected orders fall and output is cut
(FACTS F11).

Each licence application costs the vendor a fixed compliance fee (FACTS F15); a vendor files one
only when the order's gross margin covers it, which is why the burden falls hardest on a small
vendor's small orders. Domestic vendors grow capacity faster with the state's subsidy (F13),
but never beyond what China's HBM and foundry supply can feed (F12, F17).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.world.actors import DOMESTIC_VENDORS
from sim.world.catalogue import CHIPS, DOMESTIC_CHIPS, chip_parameter

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.world.policy import PolicyState

#: Markets a vendor's revenue comes from (US vendors: the first three).
REVENUE_KINDS: tuple[str, ...] = ("overseas", "china_legal", "diversion", "domestic")


class Vendor(mesa.Agent):
    """One chip vendor (Nvidia, AMD, the small US vendor, Huawei, Cambricon).

    Every quantity is per replication: a column of shape (R, 1) per chip.
    """

    model: ModelContext

    def __init__(self, model: ModelContext, name: str) -> None:
        super().__init__(model)
        p, r = model.params, model.replications
        self.name = name
        self.domestic = name in DOMESTIC_VENDORS
        self.chips: tuple[str, ...] = tuple(c for c, chip in CHIPS.items() if chip.vendor == name)
        self.lead = max(1, int(round(float(p["vendors.lead_months"][0, 0]))))
        zero = np.zeros((r, 1))
        self.capacity = {c: p[chip_parameter(c, "capacity_per_month")] for c in self.chips}
        self.inventory = {c: zero.copy() for c in self.chips}
        self.book_units = {c: zero.copy() for c in self.chips}  # units still carried at cost
        start = p["vendors.initial_utilisation"]
        self.expected_orders = {c: start * self.capacity[c] for c in self.chips}
        self.pipeline = {c: deque([self.expected_orders[c]] * self.lead) for c in self.chips}
        self.produced = {c: zero.copy() for c in self.chips}
        self.orders_this_month = {c: zero.copy() for c in self.chips}
        self.finished = {c: zero.copy() for c in self.chips}  # units finished this month
        self.revenue = dict.fromkeys(REVENUE_KINDS, zero)  # this month, by market
        self.revenue_total_usd = zero.copy()
        self.writedown_usd = zero.copy()  # this month
        self.licence_cost_usd = zero.copy()  # this month
        self.licence_cost_total_usd = zero.copy()  # paid to compliance providers, cumulative
        self.stranded = dict.fromkeys(self.chips, False)

    @property
    def revenue_usd(self) -> np.ndarray:
        """Revenue this month, all markets (R, 1)."""
        return sum(self.revenue.values(), np.zeros_like(self.revenue_total_usd))

    # --- the month ----------------------------------------------------------------------------
    def start_month(self) -> None:
        """Receive finished production and reset this month's accounts."""
        zero = np.zeros_like(self.revenue_total_usd)
        self.revenue = dict.fromkeys(REVENUE_KINDS, zero)
        self.writedown_usd = self.licence_cost_usd = zero
        for c in self.chips:
            arriving = self.pipeline[c].popleft()
            self.inventory[c] = self.inventory[c] + arriving
            self.book_units[c] = self.book_units[c] + arriving
            self.produced[c] = self.produced[c] + arriving
            self.finished[c] = arriving
            self.orders_this_month[c] = zero

    def available(self, chip: str) -> np.ndarray:
        """Units that can ship this month (R, 1)."""
        return self.inventory[chip]

    def ship(self, chip: str, units: np.ndarray) -> None:
        """Take shipped units out of inventory (written-down units go first)."""
        self.inventory[chip] = self.inventory[chip] - units
        self.book_units[chip] = np.minimum(self.book_units[chip], self.inventory[chip])

    def receive(self, amount_usd: np.ndarray, kind: str) -> None:
        """Book revenue from one market (``REVENUE_KINDS``)."""
        self.revenue[kind] = self.revenue[kind] + amount_usd
        self.revenue_total_usd = self.revenue_total_usd + amount_usd

    def note_orders(self, chip: str, units: np.ndarray) -> None:
        """Record orders (served or not): the vendor's demand signal."""
        self.orders_this_month[chip] = self.orders_this_month[chip] + units

    def files_licence(self, chip: str, units: np.ndarray, price: np.ndarray) -> np.ndarray:
        """Whether an application for ``units`` (per replication and group) is worth filing.

        The vendor files when the order's gross margin covers the fixed compliance cost of one
        licence (FACTS F15): ``units x (price - unit cost) >= vendors.licence_cost_usd``.
        """
        margin = units * (price - self.model.unit_cost(chip))
        return (units > 0) & (margin >= self.model.params["vendors.licence_cost_usd"])

    def pay_licence_costs(self, applications: np.ndarray) -> np.ndarray:
        """Pay the fixed cost of ``applications`` licences (per replication); return the cost."""
        cost = applications * self.model.params["vendors.licence_cost_usd"]
        self.licence_cost_usd = self.licence_cost_usd + cost
        self.licence_cost_total_usd = self.licence_cost_total_usd + cost
        self.model.ledger.payment("vendors", cost)
        return cost

    def end_month(self, domestic_ceiling: np.ndarray | None = None) -> None:
        """Write down stranded parts, grow capacity, and commit next production.

        Args:
            domestic_ceiling: for a domestic vendor, the most units per month China's HBM and
                foundry supply can feed across all domestic parts (R, 1).

        """
        policy = self.model.policy
        for c in self.chips:
            self._review_market(c, policy)
            self._grow_capacity(c, policy, domestic_ceiling)
            self._commit_production(c, policy)

    # --- rules --------------------------------------------------------------------------------
    def _review_market(self, chip: str, policy: PolicyState) -> None:
        """A China-only part with no legal way into China is stranded: write it down."""
        if CHIPS[chip].segment != "china_only":
            return
        rule = policy.licences.get(chip)
        block = policy.import_blocks.get(chip)
        closed = (rule is not None and rule.approval == 0.0) or (
            block is not None and not block.allowed
        )
        self.stranded[chip] = closed
        if not closed:
            return
        committed = sum(self.pipeline[chip])
        self.writedown_usd = (self.writedown_usd
                              + (self.book_units[chip] + committed) * self.model.unit_cost(chip))
        self.book_units[chip] = np.zeros_like(self.book_units[chip])
        zero = np.zeros_like(self.book_units[chip])
        self.pipeline[chip] = deque([zero] * self.lead)  # purchase commitments cancelled

    def _grow_capacity(self, chip: str, policy: PolicyState,
                       domestic_ceiling: np.ndarray | None) -> None:
        p = self.model.params
        if not self.domestic:
            per_year = 1.0 + p["vendors.us_capacity_growth_per_year"]
            self.capacity[chip] = self.capacity[chip] * per_year ** (1.0 / 12.0)
            return
        per_year = (1.0 + p["vendors.domestic_capacity_growth_per_year"]) * (
            policy.subsidy_cost_multiple ** p["vendors.subsidy_capacity_elasticity"])
        grown = self.capacity[chip] * per_year ** (1.0 / 12.0)
        if domestic_ceiling is not None:
            grown = np.minimum(grown, domestic_ceiling * domestic_share(p, chip))
        self.capacity[chip] = grown

    def _commit_production(self, chip: str, policy: PolicyState) -> None:
        """Order-up-to rule: keep inventory + pipeline at expected orders over the lead time."""
        p = self.model.params
        alpha = p["vendors.order_smoothing"]
        expected = (1 - alpha) * self.expected_orders[chip] + alpha * self.orders_this_month[chip]
        self.expected_orders[chip] = expected
        if self.stranded[chip]:
            self.pipeline[chip].append(np.zeros_like(expected))
            return
        position = self.inventory[chip] + sum(self.pipeline[chip])
        target = expected * (self.lead + 1 + p["vendors.safety_stock_months"])
        limit = self.capacity[chip] * policy.capacity_multiplier.get(chip, 1.0)
        self.pipeline[chip].append(np.minimum(np.maximum(target - position, 0.0), limit))


def domestic_share(params: Mapping[str, np.ndarray], chip: str) -> np.ndarray:
    """A domestic part's share of domestic capacity at the start (how the ceiling is split)."""
    def start(c: str) -> np.ndarray:
        return params[chip_parameter(c, "capacity_per_month")]

    total = sum(start(c) for c in DOMESTIC_CHIPS)
    return np.divide(start(chip), total, out=np.zeros_like(total), where=total > 0)


def domestic_ceiling(ctx: ModelContext) -> np.ndarray:
    """Most domestic accelerators per month China's HBM and foundry supply can feed (R, 1).

    Each input grows at its own rate from its start-of-2024 level; an HBM or foundry shock
    (``supply.shock``) multiplies the domestic parts' output like everyone else's (F12, F17).
    """
    p, years = ctx.params, ctx.years()
    hbm = p["domestic.hbm_units_per_month"] * (1 + p["domestic.hbm_growth_per_year"]) ** years
    foundry = (p["domestic.foundry_units_per_month"]
               * (1 + p["domestic.foundry_growth_per_year"]) ** years)
    return np.minimum(hbm, foundry)
