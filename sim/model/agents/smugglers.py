"""Smugglers: a population moving US chips into China through transit routes.

Each smuggler works one route (Malaysia, Singapore, Thailand, other), buys through shell
companies or server resellers at a markup over list price (FACTS F6), and ships as much as the
grey-market margin justifies: nothing below cost, full capacity once the margin reaches its own
required markup. A shipment is seized with the route's detection probability, which US
enforcement (M3), transit permits (M4) and location verification (M17) raise. Smugglers enter
when smuggling pays, may quit after a seizure, and move to a better route when theirs is
policed (displacement).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.world.actors import ROUTES
from sim.world.parameters import group

if TYPE_CHECKING:
    from sim.model.context import ModelContext


#: Cells of the (prices x smugglers) table worked out at a time (see supply_curve).
SUPPLY_BLOCK_CELLS = 1 << 17


def _mean_one(rng: np.random.Generator, sigma: float, size: int) -> np.ndarray:
    """Log-normal draws with mean 1: heterogeneity that keeps the parameter as the mean."""
    return rng.lognormal(-0.5 * sigma**2, sigma, size)


class SmugglerNetwork(mesa.Agent):
    """All smugglers, as arrays indexed by smuggler."""

    model: ModelContext

    def __init__(self, model: ModelContext, size: int) -> None:
        super().__init__(model)
        p, rng = model.params, model.rng
        self.size = size
        self.route = rng.integers(0, len(ROUTES), size)
        capacity_spread = _mean_one(rng, p["smuggling.capacity_sigma"], size)
        self.capacity = p["smuggling.capacity_units"] * capacity_spread
        markup = p["smuggling.markup"] * _mean_one(rng, p["smuggling.markup_sigma"], size)
        self.markup = np.maximum(markup, 1e-6)  # numerical guard: margins are divided by it
        self.active = rng.random(size) < p["smuggling.initial_active_share"]
        base = group(p, "smuggling.base_detection")
        self.base_detection = np.array([base[r] for r in ROUTES])
        mix = group(p, "smuggling.chip_mix")  # chip -> share of smuggled units, summing to 1
        total = sum(mix.values())  # > 0: the scenario loader refuses a mix that can be all 0
        self.mix = {chip: share / total for chip, share in mix.items()}
        self.shipped = np.zeros(size)  # units bought and sent this month
        self.seized = np.zeros(size, dtype=bool)  # whether this month's shipment was seized
        self.receipts_usd = 0.0  # cumulative grey-market sales
        self.reseller_receipts_usd = 0.0  # cumulative reseller markups
        self.delivered_units = 0.0  # cumulative, for the ledger
        self.seized_units = 0.0  # cumulative, for the ledger

    def mix_list_price(self) -> float:
        """List price of the smuggled chip mix (the grey premium is measured against it)."""
        return sum(w * self.model.list_price(c) for c, w in self.mix.items())

    # --- risk and cost per route --------------------------------------------------------------
    def detection(self) -> np.ndarray:
        """Seizure probability of a shipment on each route under the rules in force."""
        policy = self.model.policy
        enforced = np.array([policy.enforcement.get(r, 1.0) for r in ROUTES])
        escape = (
            (1.0 - np.minimum(self.base_detection * enforced, 1.0))
            * (1.0 - self._permits("detection"))
            * (1.0 - policy.location_detection)
        )
        return np.minimum(1.0 - escape, self.model.params["smuggling.max_detection"])

    def _permits(self, what: str) -> np.ndarray:
        """Each route's transit-permit ``detection`` or ``cost_usd`` (0 where none is in force)."""
        permits = self.model.policy.transit_permits
        return np.array([getattr(permits[r], what) if r in permits else 0.0 for r in ROUTES])

    def unit_cost(self) -> np.ndarray:
        """Cost of buying and moving one unit, per route (USD)."""
        p = self.model.params
        buy = self.mix_list_price() * (1.0 + p["smuggling.reseller_markup"])
        return buy + p["smuggling.route_cost_usd"] + self._permits("cost_usd")

    def supply_curve(self, prices: np.ndarray) -> np.ndarray:
        """Expected units delivered into China at each candidate grey-market price.

        Smuggler i ships ``clip((price * (1 - q_i) / cost_i - 1) / markup_i, 0, 1)`` of its
        capacity at a price and delivers the share ``1 - q_i`` of it. The (prices x smugglers)
        table is worked out a block of prices at a time, in place in one buffer: with a million
        smugglers each whole-table temporary would be half a gigabyte. Each price's total is the
        same sum over the same row as in one table, so the result is unchanged to the bit.
        """
        q = self.detection()[self.route]
        cost = self.unit_cost()[self.route]
        keep = 1.0 - q
        delivers = self.capacity * self.active * keep  # units delivered at full capacity
        rows = max(1, min(len(prices), SUPPLY_BLOCK_CELLS // max(self.size, 1)))
        block = np.empty((rows, self.size))
        supply = np.empty(len(prices))
        for start in range(0, len(prices), rows):
            part = slice(start, min(start + rows, len(prices)))
            share = block[:part.stop - start]
            np.multiply(prices[part, None], keep, out=share)
            np.divide(share, cost, out=share)
            np.subtract(share, 1.0, out=share)  # the margin
            np.divide(share, self.markup, out=share)
            np.clip(share, 0.0, 1.0, out=share)
            np.multiply(share, delivers, out=share)
            supply[part] = share.sum(axis=1)
        return supply

    def plan_shipments(self, price: float) -> float:
        """Decide this month's shipments at the clearing price; return units to buy."""
        q = self.detection()[self.route]
        cost = self.unit_cost()[self.route]
        margin = price * (1.0 - q) / cost - 1.0
        self.shipped = np.clip(margin / self.markup, 0.0, 1.0) * self.capacity * self.active
        return float(self.shipped.sum())

    def run_shipments(self, bought_share: float) -> tuple[float, float]:
        """Ship what was bought; enforcement seizes some. Return (delivered, seized) units."""
        self.shipped *= bought_share
        q = self.detection()[self.route]
        self.seized = (self.model.rng.random(self.size) < q) & (self.shipped > 0)
        seized = float(self.shipped[self.seized].sum())
        delivered = float(self.shipped.sum()) - seized
        self.delivered_units += delivered
        self.seized_units += seized
        return delivered, seized

    def pay_for(self, cost_at_list_usd: float, permit_fees_usd: float) -> None:
        """Pay vendors (through resellers, who keep a markup) and transit permit fees."""
        markup = self.model.params["smuggling.reseller_markup"]
        self.reseller_receipts_usd += cost_at_list_usd * markup
        self.model.ledger.payment(
            "smugglers", cost_at_list_usd * (1 + markup) + permit_fees_usd
        )

    def permit_fees(self) -> float:
        """Permit costs on this month's shipments (paid to transit governments)."""
        return float((self.shipped * self._permits("cost_usd")[self.route]).sum())

    def sell(self, units: float, price: float) -> None:
        """Receive grey-market payment for delivered units."""
        self.receipts_usd += units * price

    # --- adaptation ---------------------------------------------------------------------------
    def adapt(self, price: float) -> None:
        """Exit after seizures, enter when smuggling pays, move off policed routes."""
        p, rng = self.model.params, self.model.rng
        u = rng.random((3, self.size))
        quit_ = self.seized & (u[0] < p["smuggling.exit_after_seizure"])
        self.active &= ~quit_
        route_margin = price * (1.0 - self.detection()) / self.unit_cost() - 1.0
        own = route_margin[self.route]
        pays = own > self.markup * p["smuggling.entry_margin"]
        enter = ~self.active & ~quit_ & pays & (u[1] < p["smuggling.entry_rate"])
        self.active |= enter
        best = int(np.argmax(route_margin))
        better = own < route_margin[best] - p["smuggling.switch_margin"]
        move = better & (u[2] < p["smuggling.route_switch_rate"])
        self.route = np.where(move, best, self.route)
