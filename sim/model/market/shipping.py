"""Shipping: vendors allocate inventory to claims; chips move and money is paid.

Each month every claimant of a US part files a claim: overseas buyers, offshore clouds (up to
their room to grow), offshore subsidiaries, smugglers (through resellers) and the Chinese orders
that fall due. A vendor serves the claims pro rata from inventory - overseas and other non-China
claims first when the US-demand-first rule is in force (M12, F16) - and what Chinese orders do
not get waits in the order book. Smugglers then ship what they bought and enforcement seizes
some; domestic vendors ship to Chinese buyers, the state paying its subsidy share.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from sim.model.market.offers import domestic_price, legal_price
from sim.world.catalogue import CLOUD_CHIP, DOMESTIC_CHIPS, SUBSIDIARY_CHIP, US_CHIPS

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.model.market.flows import MonthFlows
    from sim.model.market.options import Options
    from sim.model.market.orders import OrderBook
    from sim.model.market.participants import Participants

#: chip -> claimant ("overseas", "cloud", "subsidiary", "smugglers", "china") -> units claimed
Claims = dict[str, dict[str, object]]


def _units(claim: object) -> float:
    """Units in one claim: a number, or the total of an array of units per buyer.

    ``float(np.sum(claim))`` gives the same, but numpy's dispatch on a plain number costs
    more than the rest of a vendor's allocation (thousands of calls per replication).
    """
    return float(claim.sum()) if isinstance(claim, np.ndarray) else float(claim)  # type: ignore[arg-type]


def pro_rata(want: np.ndarray, total: float) -> np.ndarray:
    """``total`` units shared among buyers in proportion to what each wants."""
    asked = want.sum()
    return want * (total / asked) if asked > 0 else want * 0


class Shipping:
    """Allocation and delivery of a month's claims."""

    def __init__(self, ctx: ModelContext, who: Participants, options: Options,
                 orders: OrderBook) -> None:
        self.ctx = ctx
        self.who = who
        self.options = options
        self.orders = orders

    def claims(self, units: np.ndarray, grey_price: float) -> Claims:
        """Who wants how many units of each US part this month."""
        who, k = self.who, self.options
        claims: Claims = defaultdict(dict)
        for chip in who.overseas.chips:
            claims[chip]["overseas"] = who.overseas.wanted[chip]
        cloud_req = float(units[:, k.k_cloud].sum())
        claims[CLOUD_CHIP]["cloud"] = min(cloud_req, who.clouds.expansion_room())
        claims[SUBSIDIARY_CHIP]["subsidiary"] = units[:, k.k_sub].copy()
        bought = who.smugglers.plan_shipments(grey_price)
        for chip, share in who.smugglers.mix.items():
            claims[chip]["smugglers"] = bought * share
        for chip in US_CHIPS:
            due = self.orders.due(chip)
            if due is not None:
                claims[chip]["china"] = due
        return claims

    def ship_all(self, claims: Claims, units: np.ndarray, grey_price: float, flows: MonthFlows,
                 received: dict[str, np.ndarray]) -> None:
        """Vendors allocate their inventory to claims; chips ship, money moves."""
        smuggled_bought: dict[str, float] = {}
        for chip in US_CHIPS:
            if chip in claims:
                smuggled_bought[chip] = self._ship_us_part(chip, claims[chip], units, flows,
                                                           received)
        self._run_smuggling(smuggled_bought, units, grey_price, flows, received)
        for i, chip in zip(self.options.k_domestic, DOMESTIC_CHIPS, strict=True):
            self._ship_domestic(i, chip, units, flows, received)
        flows.cancelled_orders = self.orders.take_cancelled()

    def collect_rent(self) -> None:
        """Chinese renters pay this month's rent on every GPU they rent offshore."""
        book, clouds = self.who.book, self.who.clouds
        rent = float(book.rented_gpus.sum()) * clouds.rent_per_gpu_month()
        clouds.collect_rent(rent)
        self.ctx.ledger.payment("china_buyers", rent)

    def _allocate(self, chip: str, claim: dict[str, object]) -> tuple[float, float, float]:
        """Shares of non-China and China claims a vendor can serve from inventory.

        Returns (share of the non-China claims served, share of the China claims served,
        non-China units claimed).
        """
        available = self.who.vendor_of[chip].available(chip)
        china = sum(float(a.sum()) for a in claim.get("china", ()))
        rest = sum(_units(v) for k, v in claim.items() if k != "china")
        rule = self.ctx.policy.licences.get(chip)
        if rule is not None and rule.us_supply_first:
            f_rest = min(1.0, available / rest) if rest > 0 else 1.0
            room = available - rest * f_rest
            if rule.max_share_of_us is not None:
                overseas = float(claim.get("overseas", 0.0)) * f_rest  # type: ignore[arg-type]
                room = min(room, rule.max_share_of_us * overseas)
            f_china = min(1.0, room / china) if china > 0 else 1.0
            return f_rest, max(f_china, 0.0), rest
        total = china + rest
        f = min(1.0, available / total) if total > 0 else 1.0
        return f, f, rest

    def _ship_us_part(self, chip, claim, units, flows, received) -> float:  # noqa: ANN001
        """Ship one US part to every claimant; return units bought by smugglers."""
        ctx, who, k = self.ctx, self.who, self.options
        book, ledger = who.book, ctx.ledger
        vendor = who.vendor_of[chip]
        list_price = ctx.list_price(chip)
        f_rest, f_china, rest = self._allocate(chip, claim)
        vendor.note_orders(chip, rest)

        def ship(units_: float, destination: str) -> None:
            vendor.ship(chip, units_)
            vendor.receive(units_ * list_price)
            ledger.shipment(chip, destination, units_)

        if "overseas" in claim:
            u = float(claim["overseas"]) * f_rest
            ship(u, "overseas")
            who.overseas.take(chip, u, list_price)
        if "cloud" in claim:
            u = float(claim["cloud"]) * f_rest
            ship(u, "cloud")
            who.clouds.install(u, list_price)
            got = pro_rata(units[:, k.k_cloud], u)
            book.rent(got)
            received["cloud"] += got * k.perf[:, k.k_cloud]
            flows.cloud += u
        if "subsidiary" in claim:
            got = claim["subsidiary"] * f_rest
            u = float(got.sum())
            ship(u, "subsidiary")
            ledger.payment("china_buyers", u * list_price)
            book.count_units("subsidiary", u)
            received["subsidiary"] += got * k.perf[:, k.k_sub]
            flows.subsidiary += u
        if "china" in claim:
            self._ship_to_china(chip, claim["china"], f_china, flows, received)
        bought = float(claim.get("smugglers", 0.0)) * f_rest  # type: ignore[arg-type]
        if bought > 0:
            vendor.ship(chip, bought)
            vendor.receive(bought * list_price)
        return bought

    def _ship_to_china(self, chip: str, due: tuple[np.ndarray, np.ndarray], f_china: float,
                       flows: MonthFlows, received: dict[str, np.ndarray]) -> None:
        """Deliver the served share of the Chinese orders due; the rest waits a month."""
        ctx, who = self.ctx, self.who
        vendor, book = who.vendor_of[chip], who.book
        licensed, free = due
        got = (licensed + free) * f_china
        if f_china < 1.0:  # what the vendor cannot serve yet waits in the order book
            self.orders.add(ctx.month + 1, chip, True, licensed * (1 - f_china))
            self.orders.add(ctx.month + 1, chip, False, free * (1 - f_china))
        u = float(got.sum())
        fee = ctx.policy.fee_rate(chip)
        buyer_price = legal_price(ctx, chip)
        vendor.ship(chip, u)
        ctx.ledger.shipment(chip, "legal", u)
        vendor.receive(u * buyer_price * (1 - fee))
        who.us.collect(u * buyer_price * fee)
        ctx.ledger.payment("china_buyers", u * buyer_price)
        book.count_units("legal", u)
        fit = self.options.legal_fit(chip)
        received["legal"] += got * fit
        book.take_delivery(got * fit)
        flows.legal += u
        flows.legal_by_chip[chip] = flows.legal_by_chip.get(chip, 0.0) + u

    def _run_smuggling(self, bought, units, grey_price, flows, received) -> None:  # noqa: ANN001
        """Smugglers ship what they could buy; some is seized; the rest is sold in China."""
        ctx, who = self.ctx, self.who
        s = who.smugglers
        planned = float(s.shipped.sum())
        total = sum(bought.values())
        at_list = sum(u * ctx.list_price(c) for c, u in bought.items())
        delivered, seized = s.run_shipments(total / planned if planned > 0 else 0.0)
        fees = s.permit_fees()
        s.pay_for(at_list, fees)
        who.transit.collect(fees)
        for chip, u in bought.items():
            share = u / total if total > 0 else 0.0
            ctx.ledger.shipment(chip, "smuggled", delivered * share)
            ctx.ledger.shipment(chip, "seized", seized * share)
        got = pro_rata(units[:, self.options.k_grey], delivered)
        s.sell(delivered, grey_price)
        ctx.ledger.payment("china_buyers", delivered * grey_price)
        who.book.count_units("smuggled", delivered)
        received["smuggled"] += got * self.options.perf[:, self.options.k_grey]
        flows.smuggled, flows.seized = delivered, seized
        flows.grey_sales_usd = delivered * grey_price

    def _ship_domestic(self, k, chip, units, flows, received) -> None:  # noqa: ANN001
        """Domestic vendors ship to Chinese buyers; the state pays its subsidy share."""
        ctx, who = self.ctx, self.who
        vendor = who.vendor_of[chip]
        want = units[:, k]
        asked = float(want.sum())
        vendor.note_orders(chip, asked)
        if asked <= 0:
            return
        got = want * min(1.0, vendor.available(chip) / asked)
        u = float(got.sum())
        list_price = ctx.list_price(chip)
        buyer_price = domestic_price(ctx, chip)
        vendor.ship(chip, u)
        vendor.receive(u * list_price)
        ctx.ledger.shipment(chip, "domestic", u)
        ctx.ledger.payment("china_buyers", u * buyer_price)
        ctx.ledger.payment("china_state", u * (list_price - buyer_price))
        who.book.count_units("domestic", u)
        received["domestic"] += got * self.options.perf[:, k]
        flows.domestic += u
