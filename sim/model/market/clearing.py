"""The month's clearing: buyers choose among their options, channels clear, chips ship.

The order of one month's clearing:

1. offers: each option's price, effective-cost multiplier and availability for each buyer;
2. choice: CES weights; the grey-market premium that balances buyers' demand for smuggled chips
   with smugglers' expected deliveries; each buyer's planned units, its stockpiling ahead of
   restrictions it expects, and its budget;
3. orders: licence applications for legal orders, which join the order book;
4. shipping: claims on each US part, allocation from inventory, delivery and payment, smuggling
   and seizures, domestic deliveries, and the month's cloud rent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from sim.model.market.choice import (
    budget_scale,
    planned_units,
    reprice_grey,
    stockpile_units,
    weights,
)
from sim.model.market.flows import MonthFlows
from sim.model.market.grey import GreyMarket
from sim.model.market.offers import offers
from sim.model.market.options import Options
from sim.model.market.orders import OrderBook
from sim.model.market.shipping import Shipping
from sim.world.actors import BUYER_CLASSES

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.model.market.participants import Participants


class Market:
    """Channel choice and clearing for all Chinese buyers at once.

    Args:
        ctx: the model as the market sees it (parameters, rules, random stream, month, ledger,
            prices).
        who: the agents that trade.

    """

    def __init__(self, ctx: ModelContext, who: Participants) -> None:
        self.ctx = ctx
        self.who = who
        p, book = ctx.params, who.book
        self.options = Options(book.train_weight, book.memory_need, who.smugglers.mix,
                               p["buyers.memory_preference"])
        self.orders = OrderBook(ctx, who, self.options)
        self.grey = GreyMarket(who.smugglers, self.options, p["smuggling.max_premium"],
                               p["buyers.price_elasticity"])
        self.shipping = Shipping(ctx, who, self.options, self.orders)

    def clear(self, coming: Mapping[str, tuple[int, float]]) -> MonthFlows:
        """Buyers choose, channels clear, chips ship and money moves. Return the month's flows.

        Args:
            coming: the restrictions buyers expect: chip -> (month it takes effect, credence).

        """
        ctx, book, k = self.ctx, self.who.book, self.options
        p = ctx.params
        elasticity = p["buyers.price_elasticity"]
        price, mult, avail = offers(ctx, self.who, k, self.orders.queue_months)
        price[k.k_grey] = self.who.smugglers.mix_list_price()  # until the grey market clears
        table = weights(price, mult, avail, k.perf_floor, elasticity)
        state = book.buyer_class == BUYER_CLASSES.index("state_dcs")
        floor = ctx.policy.min_domestic_share(state, 1 - book.train_weight) * book.compliance
        free = book.demand * (1 - floor)
        premium = self.grey.clear(free, table, mult[:, k.k_grey], avail[:, k.k_grey])
        grey_price = self.who.smugglers.mix_list_price() * (1 + premium)
        price[k.k_grey] = grey_price
        reprice_grey(table, price, mult, avail, k, elasticity)
        units = planned_units(table, free, book.demand * floor, k)
        legal = units[:, k.legal_cols]
        book.note_usual_purchases(legal, p["buyers.usual_purchase_weight"])
        legal += stockpile_units(book.usual_units, legal, avail, ctx.month, coming,
                                        p["buyers.stockpile_months"])
        units *= budget_scale(units, price, book, p["buyers.budget_multiple"])[:, None]

        flows = MonthFlows(grey_premium=premium)
        received = {ch: np.zeros(book.n) for ch in book.received}
        self.orders.apply(units, avail)
        claims = self.shipping.claims(units, grey_price)
        self.shipping.ship_all(claims, units, grey_price, flows, received)
        book.receive(received)
        flows.new_h100e = {ch: float(arr.sum()) for ch, arr in received.items()}
        self.shipping.collect_rent()
        return flows
