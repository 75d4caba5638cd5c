"""The month's clearing: buyers choose among their options, channels clear, chips ship.

The order of one month's clearing:

1. offers: each option's price, effective-cost multiplier, openness and clearance chance;
2. choice: nested CES weights; the grey-market premium that balances buyers' demand for
   smuggled chips with smugglers' expected deliveries; each buyer's planned units, the options
   short this month rationed and the demand they turn away spilled over to the others
   (:mod:`~.rationing`); its budget
   (which caps ordinary purchases) and its stockpiling ahead of restrictions it expects (paid
   on delivery, so not capped by the month's budget);
3. orders: licence applications and clearance of legal orders, which join the order book;
4. shipping: claims on each US part, allocation from inventory, delivery and payment, front
   companies and smuggling (with screening and seizures), domestic deliveries, and the month's
   cloud rent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from sim.model.market.choice import (
    budget_scale,
    nest,
    planned_units,
    stockpile_units,
    weights,
)
from sim.model.market.flows import MonthFlows
from sim.model.market.grey import GreyMarket
from sim.model.market.offers import Offers, legal_terms, offers
from sim.model.market.options import Options
from sim.model.market.orders import OrderBook
from sim.model.market.rationing import Rationing
from sim.model.market.shipping import Shipping
from sim.world.actors import BUYER_CLASSES, CHANNELS
from sim.world.catalogue import DOMESTIC_CHIPS, US_CHIPS

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.model.market.participants import Participants


class Market:
    """Channel choice and clearing for all Chinese buyers at once.

    Args:
        ctx: the model as the market sees it (parameters, rules, draws, month, ledger, prices).
        who: the agents that trade.

    """

    def __init__(self, ctx: ModelContext, who: Participants) -> None:
        self.ctx = ctx
        self.who = who
        p, book = ctx.params, who.book
        prof = book.profiles
        self.options = Options(prof.train_weight, prof.memory_need, prof.of, who.smugglers.mix,
                               p["buyers.memory_preference"], p)
        self.orders = OrderBook(ctx, who, self.options)
        self.grey = GreyMarket(who.smugglers, self.options, p["smuggling.max_premium"],
                               p["buyers.price_elasticity"], p["buyers.ecosystem_similarity"])
        self.shipping = Shipping(ctx, who, self.options, self.orders)
        k = self.options  # the options with a supply limit (each with a room in _room)
        self._limited = np.r_[k.legal_cols.start:k.domestic_cols.stop, k.k_cloud, k.k_front]

    def offers_now(self) -> Offers:
        """The month's terms of every option for every buyer (for inspection)."""
        return offers(self.ctx, self.who, self.options, self.orders.queue_months)

    def hedging(self, coming: Mapping[str, tuple[int, np.ndarray | float]]) -> np.ndarray:
        """Needs holding their stockpile as a hedge this month, (R, n) booleans.

        A need hedges while it has bought ahead of a restriction still to come (``coming``, as
        for ``clear``) on a US part it may still order: once the rule bites - or the part is
        closed to it for any other reason - it draws on what it bought.
        """
        book = self.who.book
        held = np.zeros((self.ctx.replications, book.n), dtype=bool)
        for chip in coming:
            if chip not in US_CHIPS:
                continue
            is_open, _ = legal_terms(self.ctx, self.who, chip)
            may_order = np.take(is_open, book.profiles.of, axis=1) > 0
            held |= may_order & (book.ordered_ahead[:, US_CHIPS.index(chip), :] > 0)
        return held

    def _room(self) -> np.ndarray:
        """What the suppliers of each option with a supply limit can take this month (R, limited).

        A US part's vendor: the room left in its order book; a domestic part's: its inventory;
        the offshore clouds: the GPUs they can add; the front companies: their capacity. Keyed
        by option, then put in the order of ``_limited``, so the two cannot disagree.
        """
        who, k = self.who, self.options
        room = {col: self.orders.room(chip) for col, chip in zip(k.k_legal, US_CHIPS, strict=True)}
        room |= {col: who.vendor_of[chip].available(chip)
                 for col, chip in zip(k.k_domestic, DOMESTIC_CHIPS, strict=True)}
        room[k.k_cloud] = who.clouds.expansion_room().sum(axis=1, keepdims=True)
        room[k.k_front] = who.fronts.capacity(who.smugglers.total_capacity())
        return np.hstack([room[col] for col in self._limited])

    def _price_grey(self, raw: np.ndarray, o: Offers, price: np.ndarray) -> None:
        """Set the grey column of the raw weights ``raw`` (R, P, K) at ``price`` (R, 1)."""
        k = self.options
        g = slice(k.k_grey, k.k_grey + 1)
        raw[:, :, g] = weights(price, o.mult[:, :, g], o.open[:, :, g],
                               k.profile_perf_floor[:, :, g],
                               self.ctx.params["buyers.price_elasticity"])

    def _clear_grey(self, o: Offers, raw: np.ndarray, free: np.ndarray, mandated: np.ndarray,
                    room: np.ndarray, terms: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The month's grey premium (R, 1), the compute turned away by short options included.

        Which options run short, and what spills, is judged at last month's premium: a first
        look, whose planned units are also what the domestic makers see as orders.
        """
        k, prof = self.options, self.who.book.profiles
        self._price_grey(raw, o, o.price[:, k.k_grey:k.k_grey + 1] * (1 + self.grey.premium))
        table = nest(raw, k.domestic_cols, self.ctx.params["buyers.ecosystem_similarity"])
        first = planned_units(table, free, mandated, k, prof.of)
        self._note_demand(first)
        short = Rationing.of(self._limited, room, first)
        lost = short.cut(planned_units(table, free, np.zeros_like(free), k, prof.of), k.perf)
        return self.grey.clear(prof.total(free), raw, o.mult[:, :, k.k_grey],
                               o.open[:, :, k.k_grey], terms,
                               spill=(prof.total(lost), short.chances(raw)))

    def _plan(self, raw: np.ndarray, free: np.ndarray, mandated: np.ndarray,
              room: np.ndarray) -> np.ndarray:
        """Each need's planned units (R, K, n), short options cut and the cut compute spilled.

        ``raw``: the CES weights before nesting; ``room``: what the suppliers of each option
        with a supply limit can take (R, limited). Mandated domestic units are cut, not spilled.
        """
        k, prof = self.options, self.who.book.profiles
        table = nest(raw, k.domestic_cols, self.ctx.params["buyers.ecosystem_similarity"])
        rationing = Rationing.of(self._limited, room,
                                 planned_units(table, free, mandated, k, prof.of))
        units = planned_units(table, free, np.zeros_like(free), k, prof.of)
        floors = planned_units(table, np.zeros_like(free), mandated, k, prof.of)
        if not rationing.any:
            return units + floors
        lost = rationing.cut(units, k.perf)
        rationing.cut(floors, k.perf)
        again = nest(rationing.chances(raw), k.domestic_cols,
                     self.ctx.params["buyers.ecosystem_similarity"])
        return units + floors + rationing.spill(again, lost, k, prof.of)

    def _note_demand(self, units: np.ndarray) -> None:
        """Domestic makers see every unit buyers want of their parts (short or not)."""
        for k, chip in zip(self.options.k_domestic, DOMESTIC_CHIPS, strict=True):
            self.who.vendor_of[chip].note_orders(chip, units[:, k, :].sum(axis=1, keepdims=True))

    def clear(self, coming: Mapping[str, tuple[int, np.ndarray | float]]) -> MonthFlows:
        """Buyers choose, channels clear, chips ship and money moves. Return the month's flows.

        Args:
            coming: the restrictions buyers expect: chip -> (month it takes effect, credence).

        """
        ctx, book, k = self.ctx, self.who.book, self.options
        p, prof = ctx.params, book.profiles
        terms = self.who.smugglers.route_terms()
        o = offers(ctx, self.who, k, self.orders.queue_months)  # per profile
        raw = weights(o.price, o.mult, o.open, k.profile_perf_floor, p["buyers.price_elasticity"])
        state = prof.buyer_class == BUYER_CLASSES.index("state_dcs")
        floor = np.take(ctx.policy.min_domestic_share(state, 1 - prof.train_weight)
                        * prof.compliance, prof.of, axis=1)
        free, mandated = book.demand * (1 - floor), book.demand * floor
        room = self._room()
        premium = self._clear_grey(o, raw, free, mandated, room, terms)
        grey_price = self.who.smugglers.mix_list_price() * (1 + premium)
        o.price[:, k.k_grey] = grey_price[:, 0]
        self._price_grey(raw, o, o.price[:, k.k_grey:k.k_grey + 1])
        units = self._plan(raw, free, mandated, room)
        legal = units[:, k.legal_cols, :]  # (R, chips, n)
        book.note_usual_purchases(legal, p["buyers.usual_purchase_weight"])
        ahead = stockpile_units(book.usual_units, legal, o.open[:, :, k.legal_cols], prof.of,
                                ctx.month, coming, book.stockpile_months, book.ordered_ahead)
        afford = budget_scale(units, o.price, book.trend, p["buyers.budget_multiple"],
                              ctx.list_price("H100"))
        units *= afford[:, None, :]
        for i, extra in ahead.items():
            legal[:, i, :] += extra

        flows = MonthFlows(grey_premium=premium)
        received = {ch: np.zeros((ctx.replications, book.n)) for ch in CHANNELS}
        flows.orders_by_chip = self.orders.place(units[:, k.legal_cols, :], o.clearance, prof.of,
                                                 ahead)
        claims = self.shipping.claims(units, grey_price, terms)
        self.shipping.ship_all(claims, units, grey_price, terms, flows, received)
        book.receive(received)
        flows.new_h100e = {ch: arr.sum(axis=1, keepdims=True) for ch, arr in received.items()}
        self.shipping.collect_rent()
        return flows
