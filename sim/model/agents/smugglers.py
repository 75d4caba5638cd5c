"""Smugglers: a population moving US chips physically into China through transit routes.

Each smuggler works one route (Malaysia, Singapore, Thailand, Indonesia, other; FACTS F6: racks
shipped to Thailand or Malaysia, then on to China), buys through shell companies or server
resellers at a markup over list price (F6), and ships as much as the grey-market margin
justifies: nothing below cost, full capacity once the margin reaches its own required markup.

**Routes** differ in cost, in base detection and in how much they carry: detection and cost
rise with last month's volume on the route against its capacity (a busy route draws attention
and bids up handlers). US enforcement (M3) and a transit permit (M4) raise a route's detection;
a permit adds its cost. A shipment is seized whole with its route's detection probability.

**Adaptation.** Smugglers may quit after a seizure, enter when their route pays, grow their
capacity while the margin beats what they need (and shrink it while it does not), and move
routes gradually: a smuggler reconsiders with probability ``smuggling.route_switch_rate`` a
month and then picks a route with logit probabilities in the routes' margins, so a policed route
loses trade to the others over months, not all at once (displacement).

**Resolution.** ``smuggling.capacity_units_per_month`` is the capacity of the whole network,
shared among however many smuggler agents there are: the agent count is resolution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.draws import AT_START
from sim.world.actors import ROUTES
from sim.world.parameters import group

if TYPE_CHECKING:
    from sim.model.context import ModelContext


class SmugglerNetwork(mesa.Agent):
    """All smugglers, as arrays (replications x smugglers)."""

    model: ModelContext

    def __init__(self, model: ModelContext, size: int) -> None:
        super().__init__(model)
        p, draws, r = model.params, model.draws, model.replications
        self.size = size
        self.route = np.minimum(
            (draws.uniform("smuggler_route", AT_START, size) * len(ROUTES)).astype(np.int64),
            len(ROUTES) - 1)
        spread = draws.lognormal_mean_one("smuggler_capacity", AT_START, size,
                                          p["smuggling.capacity_sigma"])
        total = np.maximum(spread.sum(axis=1, keepdims=True), 1e-300)
        self.capacity = p["smuggling.capacity_units_per_month"] * spread / total
        markup = p["smuggling.markup"] * draws.lognormal_mean_one(
            "smuggler_markup", AT_START, size, p["smuggling.markup_sigma"])
        self.markup = np.maximum(markup, 1e-6)  # numerical guard: margins are divided by it
        self.active = (draws.uniform("smuggler_active", AT_START, size)
                       < p["smuggling.initial_active_share"])
        self.base_detection = _per_route(p, "smuggling.base_detection")
        self.route_cost = _per_route(p, "smuggling.route_cost_usd")
        self.route_capacity = np.maximum(_per_route(p, "smuggling.route_capacity_units"), 1e-9)
        mix = group(p, "smuggling.chip_mix")  # chip -> share of smuggled units
        total_mix = sum(mix.values())  # > 0: the scenario loader refuses a mix that can be all 0
        self.mix = {chip: share / total_mix for chip, share in mix.items()}
        zero = np.zeros((r, 1))
        self.last_volume = np.zeros((r, len(ROUTES)))  # units shipped per route last month
        self.shipped = np.zeros((r, size))  # units bought and sent this month
        self.seized = np.zeros((r, size), dtype=bool)  # whether this month's shipment was seized
        self.delivered_by_route = np.zeros((r, len(ROUTES)))  # this month
        self.receipts_usd = zero.copy()  # cumulative grey-market sales
        self.reseller_receipts_usd = zero.copy()  # cumulative reseller markups
        self.delivered_units = zero.copy()  # cumulative, for the ledger
        self.seized_units = zero.copy()  # cumulative, for the ledger

    def mix_list_price(self) -> np.ndarray:
        """List price of the smuggled chip mix (R, 1): the grey premium is measured against it."""
        return sum(w * self.model.list_price(c) for c, w in self.mix.items())

    # --- risk and cost per route --------------------------------------------------------------
    def utilisation(self) -> np.ndarray:
        """Last month's volume on each route over its capacity (R, routes)."""
        return self.last_volume / self.route_capacity

    def detection(self) -> np.ndarray:
        """Seizure probability of a shipment on each route under the rules in force (R, routes).

        ``1 - (1 - min(1, base x enforcement x (1 + congestion x utilisation))) x (1 - permit)``,
        capped at ``smuggling.max_detection``.
        """
        p, policy = self.model.params, self.model.policy
        enforced = np.array([policy.enforcement.get(r, 1.0) for r in ROUTES])
        crowded = 1.0 + p["smuggling.congestion"] * self.utilisation()
        border = np.minimum(self.base_detection * enforced * crowded, 1.0)
        escape = (1.0 - border) * (1.0 - self._permits("detection"))
        return np.minimum(1.0 - escape, p["smuggling.max_detection"])

    def _permits(self, what: str) -> np.ndarray:
        """Each route's transit-permit ``detection`` or ``cost_usd`` (0 where none is in force)."""
        permits = self.model.policy.transit_permits
        return np.array([getattr(permits[r], what) if r in permits else 0.0 for r in ROUTES])

    def unit_cost(self) -> np.ndarray:
        """Cost of buying and moving one unit on each route, USD (R, routes)."""
        p = self.model.params
        buy = self.mix_list_price() * (1.0 + p["smuggling.reseller_markup"])
        crowded = 1.0 + p["smuggling.congestion"] * self.utilisation()
        return buy + self.route_cost * crowded + self._permits("cost_usd")

    def route_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """The month's (detection, unit cost) each smuggler faces on its route, each (R, n).

        Worked out once a month: neither changes while the market clears, which asks for the
        supply at a dozen or so trial prices.
        """
        return tuple(np.take_along_axis(t, self.route, axis=1)
                     for t in (self.detection(), self.unit_cost()))

    def mean_detection(self) -> np.ndarray:
        """Detection on the routes, weighted by where smugglers are (R, 1): buyers' risk signal."""
        q = self.detection()
        weight = np.stack([(self.route == k).sum(axis=1) for k in range(len(ROUTES))], axis=1)
        total = weight.sum(axis=1, keepdims=True)
        return np.divide((q * weight).sum(axis=1, keepdims=True), total,
                         out=q.mean(axis=1, keepdims=True), where=total > 0)

    def base_mean_detection(self) -> np.ndarray:
        """Mean detection over the routes before any policy (R, 1): the risk signal's yardstick."""
        return self.base_detection.mean(axis=1, keepdims=True)

    # --- shipping -----------------------------------------------------------------------------
    def supply(self, price: np.ndarray, terms: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Expected units delivered into China at a grey-market price per replication (R, 1).

        Smuggler i ships ``clip((price x (1 - q_i) / cost_i - 1) / markup_i, 0, 1)`` of its
        capacity and delivers the share ``1 - q_i`` of it.
        """
        q, cost = terms
        keep = 1.0 - q
        share = np.clip((price * keep / cost - 1.0) / self.markup, 0.0, 1.0)
        return (share * self.capacity * self.active * keep).sum(axis=1, keepdims=True)

    def plan_shipments(self, price: np.ndarray, terms: tuple[np.ndarray, np.ndarray]
                       ) -> np.ndarray:
        """Decide this month's shipments at the clearing price; return units to buy (R, 1)."""
        q, cost = terms
        margin = price * (1.0 - q) / cost - 1.0
        self.shipped = np.clip(margin / self.markup, 0.0, 1.0) * self.capacity * self.active
        return self.shipped.sum(axis=1, keepdims=True)

    def run_shipments(self, bought_share: np.ndarray, terms: tuple[np.ndarray, np.ndarray]
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Ship what was bought; enforcement seizes some. Return (delivered, seized) units."""
        self.shipped = self.shipped * bought_share
        q = terms[0]
        u = self.model.draws.uniform("seizure", self.model.month, self.size)
        self.seized = (u < q) & (self.shipped > 0)
        seized = np.where(self.seized, self.shipped, 0.0)
        delivered_each = self.shipped - seized
        self.last_volume = self._by_route(self.shipped)
        self.delivered_by_route = self._by_route(delivered_each)
        seized_total = seized.sum(axis=1, keepdims=True)
        delivered = delivered_each.sum(axis=1, keepdims=True)
        self.delivered_units = self.delivered_units + delivered
        self.seized_units = self.seized_units + seized_total
        return delivered, seized_total

    def total_capacity(self) -> np.ndarray:
        """Capacity of the whole network, active or not (R, 1)."""
        return self.capacity.sum(axis=1, keepdims=True)

    def _grow(self, margin: np.ndarray) -> None:
        """Active smugglers grow capacity while their margin beats the markup they need.

        ``capacity x (1 + g x clip(margin / markup - 1, -1, 1))``, ``g`` =
        ``smuggling.capacity_growth_per_month``: new operators and reinvested profit when it
        pays, a shrinking trade when it does not. Congestion on the routes bounds the growth.
        """
        g = self.model.params["smuggling.capacity_growth_per_month"]
        change = np.clip(margin / self.markup - 1.0, -1.0, 1.0)
        self.capacity = np.where(self.active, self.capacity * (1.0 + g * change), self.capacity)

    def _by_route(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros((values.shape[0], len(ROUTES)))
        for k in range(len(ROUTES)):
            out[:, k] = np.where(self.route == k, values, 0.0).sum(axis=1)
        return out

    def pay_for(self, cost_at_list_usd: np.ndarray, permit_fees_usd: np.ndarray) -> None:
        """Pay vendors (through resellers, who keep a markup) and transit permit fees."""
        markup = self.model.params["smuggling.reseller_markup"]
        self.reseller_receipts_usd = self.reseller_receipts_usd + cost_at_list_usd * markup
        self.model.ledger.payment("smugglers",
                                  cost_at_list_usd * (1 + markup) + permit_fees_usd)

    def permit_fees(self) -> np.ndarray:
        """Permit costs on this month's shipments, paid to transit governments (R, 1)."""
        return (self.shipped * self._permits("cost_usd")[self.route]).sum(axis=1, keepdims=True)

    def sell(self, units: np.ndarray, price: np.ndarray) -> None:
        """Receive grey-market payment for delivered units."""
        self.receipts_usd = self.receipts_usd + units * price

    # --- adaptation ---------------------------------------------------------------------------
    def adapt(self, price: np.ndarray) -> None:
        """Exit after seizures, enter when smuggling pays, move gradually off policed routes."""
        p, draws, month = self.model.params, self.model.draws, self.model.month
        quit_ = self.seized & (draws.uniform("exit", month, self.size)
                               < p["smuggling.exit_after_seizure"])
        self.active &= ~quit_
        route_margin = price * (1.0 - self.detection()) / self.unit_cost() - 1.0  # (R, routes)
        own = np.take_along_axis(route_margin, self.route, axis=1)
        pays = own > self.markup * p["smuggling.entry_margin"]
        enter = (~self.active & ~quit_ & pays
                 & (draws.uniform("entry", month, self.size) < p["smuggling.entry_rate"]))
        self.active |= enter
        self._grow(own)
        rate = p["smuggling.route_switch_rate"]
        reconsider = draws.uniform("reconsider", month, self.size) < rate
        spread = p["smuggling.route_choice_spread"]
        logits = (route_margin - route_margin.max(axis=1, keepdims=True)) / spread
        odds = np.broadcast_to(np.exp(logits)[:, None, :],
                               (route_margin.shape[0], self.size, len(ROUTES)))
        chosen = draws.choice("route_choice", month, odds)
        self.route = np.where(reconsider, chosen, self.route)


def _per_route(p: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    values = group(p, prefix)
    return np.hstack([values[r] for r in ROUTES])  # (R, routes)
