"""Shipping: vendors allocate inventory to claims; chips move and money is paid.

Each month every claimant of a US part files a claim: overseas buyers, offshore clouds (up to
their room to grow), front companies (up to their capacity), smugglers (through resellers) and
the Chinese orders that fall due. A vendor serves the claims pro rata from inventory - overseas
and other non-China claims first when the US-demand-first rule is in force (M12, F16) - and what
Chinese orders do not get waits in the order book. Smugglers then ship what they bought and
enforcement seizes some; front companies deliver what screening does not stop; domestic vendors
ship to Chinese buyers, the state paying its subsidy share.

Money: a legal China sale pays the vendor the price less the revenue share collected (M7, M11)
and less the tariff levied at import on the list price (M13); both go to the US government.
Sales to clouds, front companies and smugglers' resellers are at list price.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from sim.model.market.offers import domestic_price, legal_price
from sim.model.metrics import BY_FIRM_CHIPS
from sim.world.actors import BIG_TECH
from sim.world.catalogue import CLOUD_CHIP, DOMESTIC_CHIPS, US_CHIPS

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.model.market.flows import MonthFlows
    from sim.model.market.options import Options
    from sim.model.market.orders import OrderBook
    from sim.model.market.participants import Participants

#: chip -> claimant ("overseas", "cloud", "front", "smugglers", "china") -> units (R, 1) or,
#: for "china", per buyer (R, n)
Claims = dict[str, dict[str, np.ndarray]]
#: what each buyer received this month through each channel, H100e (R, n)
Received = dict[str, np.ndarray]


def pro_rata(want: np.ndarray, total: np.ndarray) -> np.ndarray:
    """``total`` units (R, 1) shared among buyers in proportion to what each wants (R, n)."""
    asked = want.sum(axis=1, keepdims=True)
    share = np.divide(total, asked, out=np.zeros_like(asked), where=asked > 0)
    return want * share


def _served(available: np.ndarray, claimed: np.ndarray) -> np.ndarray:
    """Share of ``claimed`` that ``available`` covers, in [0, 1] (R, 1).

    0 also where rounding left ``available`` a hair below zero (an inventory sold out exactly).
    """
    return np.clip(np.divide(available, claimed, out=np.ones_like(claimed), where=claimed > 0),
                   0.0, 1.0)


class Shipping:
    """Allocation and delivery of a month's claims."""

    def __init__(self, ctx: ModelContext, who: Participants, options: Options,
                 orders: OrderBook) -> None:
        self.ctx = ctx
        self.who = who
        self.options = options
        self.orders = orders

    def claims(self, units: np.ndarray, grey_price: np.ndarray,
               terms: tuple[np.ndarray, np.ndarray]) -> Claims:
        """Who wants how many units of each US part this month."""
        who, k = self.who, self.options
        claims: Claims = defaultdict(dict)
        for chip in who.overseas.chips:
            claims[chip]["overseas"] = who.overseas.wanted[chip]
        # The choice has rationed the clouds and the fronts to their room (Market._room); these
        # minimums hold only what another short option's spill-over adds past it (rationing acts
        # once a month; that remainder stays unmet).
        cloud_req = units[:, k.k_cloud, :].sum(axis=1, keepdims=True)
        room = who.clouds.expansion_room().sum(axis=1, keepdims=True)
        claims[CLOUD_CHIP]["cloud"] = np.minimum(cloud_req, room)
        front_req = units[:, k.k_front, :].sum(axis=1, keepdims=True)
        front = np.minimum(front_req, who.fronts.capacity(who.smugglers.total_capacity()))
        bought = who.smugglers.plan_shipments(grey_price, terms)
        for chip, share in who.smugglers.mix.items():
            claims[chip]["front"] = front * share
            claims[chip]["smugglers"] = bought * share
        for chip in US_CHIPS:
            due = self.orders.due(chip)
            if due is not None:
                claims[chip]["china"] = due
        return claims

    def ship_all(self, claims: Claims, units: np.ndarray, grey_price: np.ndarray,
                 terms: tuple[np.ndarray, np.ndarray], flows: MonthFlows,
                 received: Received) -> None:
        """Vendors allocate their inventory to claims; chips ship, money moves."""
        front_bought: dict[str, np.ndarray] = {}
        smuggled_bought: dict[str, np.ndarray] = {}
        for chip in US_CHIPS:
            if chip in claims:
                front_bought[chip], smuggled_bought[chip] = self._ship_us_part(
                    chip, claims[chip], units, flows, received)
        self._deliver_fronts(front_bought, units, flows, received)
        self._run_smuggling(smuggled_bought, units, grey_price, terms, flows, received)
        for i, chip in zip(self.options.k_domestic, DOMESTIC_CHIPS, strict=True):
            self._ship_domestic(i, chip, units, flows, received)
        (flows.cancelled_orders, flows.cancelled_by_chip,
         flows.licence_cost_usd) = self.orders.take_month()

    def collect_rent(self) -> None:
        """Chinese renters pay this month's rent on every GPU they rent offshore."""
        clouds = self.who.clouds
        rent = (clouds.capacity * clouds.rent_per_gpu_month()).sum(axis=1, keepdims=True)
        clouds.collect_rent(rent)
        self.ctx.ledger.payment("china_buyers", rent)

    def _allocate(self, chip: str, claim: dict[str, np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shares of non-China and China claims a vendor can serve from inventory.

        Returns (share of the non-China claims served, share of the China claims served,
        non-China units claimed), each (R, 1).
        """
        available = self.who.vendor_of[chip].available(chip)
        zero = np.zeros_like(available)
        china = claim["china"].sum(axis=1, keepdims=True) if "china" in claim else zero
        rest = sum((v for k, v in claim.items() if k != "china"), zero)
        rule = self.ctx.policy.licences.get(chip)
        if rule is not None and rule.us_supply_first:
            f_rest = _served(available, rest)
            room = available - rest * f_rest
            if rule.max_share_of_us is not None:
                overseas = claim.get("overseas", zero) * f_rest
                room = np.minimum(room, rule.max_share_of_us * overseas)
            return f_rest, np.maximum(_served(room, china), 0.0), rest
        f = _served(available, china + rest)
        return f, f, rest

    def _ship_us_part(self, chip: str, claim: dict[str, np.ndarray], units: np.ndarray,
                      flows: MonthFlows, received: Received) -> tuple[np.ndarray, np.ndarray]:
        """Ship one US part to every claimant; return units bought by fronts and smugglers."""
        ctx, who, k = self.ctx, self.who, self.options
        vendor = who.vendor_of[chip]
        list_price = ctx.list_price(chip)
        f_rest, f_china, rest = self._allocate(chip, claim)
        vendor.note_orders(chip, rest)

        def ship(u: np.ndarray, destination: str, kind: str) -> np.ndarray:
            vendor.ship(chip, u)
            vendor.receive(u * list_price, kind)
            ctx.ledger.shipment(chip, destination, u)
            return u

        zero = np.zeros_like(list_price)
        if "overseas" in claim:
            u = ship(claim["overseas"] * f_rest, "overseas", "overseas")
            who.overseas.take(u, list_price)
        if "cloud" in claim:
            u = ship(claim["cloud"] * f_rest, "cloud", "diversion")
            who.clouds.install(u, list_price)
            got = pro_rata(units[:, k.k_cloud, :], u)
            who.book.rent(got)
            received["cloud"] += got * k.cloud_fit()
            flows.cloud = flows.cloud + u
        if "china" in claim:
            self._ship_to_china(chip, claim["china"], f_china, flows, received)
        front = claim.get("front", zero) * f_rest
        smuggled = claim.get("smugglers", zero) * f_rest
        vendor.ship(chip, front + smuggled)
        vendor.receive((front + smuggled) * list_price, "diversion")
        return front, smuggled

    def _ship_to_china(self, chip: str, due: np.ndarray, f_china: np.ndarray,
                       flows: MonthFlows, received: Received) -> None:
        """Deliver the served share of the Chinese orders due; the rest waits a month."""
        ctx, who = self.ctx, self.who
        vendor, book, policy = who.vendor_of[chip], who.book, ctx.policy
        got = due * f_china
        if (f_china < 1.0).any():  # what the vendor cannot serve yet waits a month
            # it has met the rules in force now: it is not checked against them again
            checked = (ctx.month + 1, chip, chip in policy.licences, ctx.month)
            self.orders.add(checked, due * (1 - f_china))
        u = got.sum(axis=1, keepdims=True)
        price = legal_price(ctx, chip)
        share = u * price * policy.collected_share(chip)
        tariff = u * ctx.list_price(chip) * policy.tariff.get(chip, 0.0)
        self.orders.delivered(chip, got)
        vendor.ship(chip, u)
        ctx.ledger.shipment(chip, "legal", u)
        vendor.receive(u * price - share - tariff, "china_legal")
        who.us.collect(share + tariff)
        ctx.ledger.payment("china_buyers", u * price)
        flows.china_spend_usd = flows.china_spend_usd + u * price
        book.count_units("legal", u)
        h100e = got * self.options.legal_fit(chip)
        received["legal"] += h100e
        book.take_delivery(h100e, h100e * self.orders.arriving_share[chip])
        flows.legal = flows.legal + u
        flows.legal_by_chip[chip] = flows.legal_by_chip.get(chip, 0.0) + u
        if chip in BY_FIRM_CHIPS:
            for firm in BIG_TECH:
                key = (chip, firm)
                flows.legal_by_firm[key] = (flows.legal_by_firm.get(key, 0.0)
                                            + got[:, book.slices[firm]].sum(axis=1, keepdims=True))

    def _deliver_fronts(self, bought: dict[str, np.ndarray], units: np.ndarray,
                        flows: MonthFlows, received: Received) -> None:
        """Front companies pass on what they bought; ownership screening stops some buyers'."""
        ctx, who, k = self.ctx, self.who, self.options
        fronts = who.fronts
        zero = np.zeros((ctx.replications, 1))
        total = sum(bought.values(), zero)
        fronts.pay_for(sum((u * ctx.list_price(c) for c, u in bought.items()), zero))
        got = pro_rata(units[:, k.k_front, :], total)
        stopped = fronts.stopped(who.book.n)
        seized = np.where(stopped, got, 0.0).sum(axis=1, keepdims=True)
        got = np.where(stopped, 0.0, got)
        delivered = total - seized
        price = fronts.price(who.smugglers.mix_list_price())
        for chip, u in bought.items():
            share = np.divide(u, total, out=np.zeros_like(u), where=total > 0)
            ctx.ledger.shipment(chip, "front", delivered * share)
            ctx.ledger.shipment(chip, "seized", seized * share)
        fronts.sell(delivered, seized, price)
        ctx.ledger.payment("china_buyers", delivered * price)
        flows.china_spend_usd = flows.china_spend_usd + delivered * price
        who.book.count_units("front", delivered)
        received["front"] += got * k.fit(k.k_front)
        flows.front, flows.seized = flows.front + delivered, flows.seized + seized

    def _run_smuggling(self, bought: dict[str, np.ndarray], units: np.ndarray,
                       grey_price: np.ndarray, terms: tuple[np.ndarray, np.ndarray],
                       flows: MonthFlows, received: Received) -> None:
        """Smugglers ship what they could buy; some is seized; the rest is sold in China."""
        ctx, who = self.ctx, self.who
        s = who.smugglers
        zero = np.zeros((ctx.replications, 1))
        planned = s.shipped.sum(axis=1, keepdims=True)
        total = sum(bought.values(), zero)
        at_list = sum((u * ctx.list_price(c) for c, u in bought.items()), zero)
        delivered, seized = s.run_shipments(
            np.divide(total, planned, out=np.zeros_like(total), where=planned > 0), terms)
        fees = s.permit_fees()
        s.pay_for(at_list, fees)
        who.transit.collect(fees)
        for chip, u in bought.items():
            share = np.divide(u, total, out=np.zeros_like(u), where=total > 0)
            ctx.ledger.shipment(chip, "smuggled", delivered * share)
            ctx.ledger.shipment(chip, "seized", seized * share)
        got = pro_rata(units[:, self.options.k_grey, :], delivered)
        s.sell(delivered, grey_price)
        ctx.ledger.payment("china_buyers", delivered * grey_price)
        flows.china_spend_usd = flows.china_spend_usd + delivered * grey_price
        who.book.count_units("smuggled", delivered)
        received["smuggled"] += got * self.options.fit(self.options.k_grey)
        flows.smuggled, flows.seized = delivered, flows.seized + seized
        flows.smuggled_by_route = s.delivered_by_route
        flows.disabled = delivered * ctx.policy.location_detection
        flows.grey_sales_usd = delivered * grey_price

    def _ship_domestic(self, k: int, chip: str, units: np.ndarray, flows: MonthFlows,
                       received: Received) -> None:
        """Domestic vendors ship to Chinese buyers; the state pays its subsidy share."""
        ctx, who = self.ctx, self.who
        vendor = who.vendor_of[chip]
        want = units[:, k, :]
        asked = want.sum(axis=1, keepdims=True)  # rationed to inventory already
        got = want * _served(vendor.available(chip), asked)
        u = got.sum(axis=1, keepdims=True)
        list_price = ctx.list_price(chip)
        buyer_price = domestic_price(ctx, chip)
        vendor.ship(chip, u)
        vendor.receive(u * list_price, "domestic")
        ctx.ledger.shipment(chip, "domestic", u)
        ctx.ledger.payment("china_buyers", u * buyer_price)
        ctx.ledger.payment("china_state", u * (list_price - buyer_price))
        flows.china_spend_usd = flows.china_spend_usd + u * list_price
        who.book.count_units("domestic", u)
        received["domestic"] += got * self.options.fit(k)
        flows.domestic = flows.domestic + u
