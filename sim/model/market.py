"""The monthly market: how Chinese buyers meet demand, and how the channels clear.

Each buyer compares its options - a legal import of each US part, each domestic part, renting
offshore cloud GPUs, buying through an offshore subsidiary, and the grey market - by effective
cost per H100-equivalent (price with fees and tariffs, risk, delay, guidance pressure, software
ecosystem) adjusted for how well the part fits its work (training vs inference, memory). Demand
splits across options in a CES (logit-in-log-cost) form, so cheaper options win most but not all
of it. Domestic mandates set a floor under the domestic part.

The grey-market price is the one at which buyers' demand for smuggled chips equals the smugglers'
expected deliveries. Legal, domestic, cloud and subsidiary channels are rationed by vendors'
inventory and cloud providers' room to grow; what a buyer does not receive becomes backlog.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.model.agents.clouds import CLOUD_CHIP
from sim.world.actors import BUYER_CLASSES
from sim.world.catalogue import CHIPS

if TYPE_CHECKING:
    from sim.model.model import ChipTradeModel
    from sim.world.policy import ImportBlock

LEGAL_CHIPS: tuple[str, ...] = tuple(c for c, chip in CHIPS.items() if chip.is_us)
DOMESTIC_CHIPS: tuple[str, ...] = tuple(c for c, chip in CHIPS.items() if not chip.is_us)
#: The part offshore subsidiaries buy (assumption: the H200 generation).
SUBSIDIARY_CHIP = "H200"
#: Premium grid on which the grey market is cleared: dense near zero.
GRID_POINTS = 64
#: Buyers per block when grey-market demand is tabulated over the grid (see grey_demand).
GREY_BLOCK_ROWS = 1024
#: USD per unit of effective cost in the CES power (numerical scaling only: it keeps
#: cost**-elasticity within floating-point range; the shares do not depend on it).
COST_SCALE = 1e4


@dataclass
class MonthFlows:
    """What moved through each channel this month (units unless named otherwise)."""

    legal: float = 0.0
    domestic: float = 0.0
    cloud: float = 0.0
    subsidiary: float = 0.0
    smuggled: float = 0.0
    seized: float = 0.0
    cancelled_orders: float = 0.0
    grey_premium: float = 0.0
    grey_sales_usd: float = 0.0
    legal_by_chip: dict[str, float] = field(default_factory=dict)
    new_h100e: dict[str, float] = field(default_factory=dict)


def grey_demand(free: np.ndarray, other: np.ndarray, buyer: np.ndarray, price_part: np.ndarray,
                perf: np.ndarray, block_rows: int = GREY_BLOCK_ROWS) -> np.ndarray:
    """Units of smuggled chips all buyers want at each grid price (one value per price).

    Buyer i wants ``free_i * g_ij / (other_i + g_ij) / perf_i`` units at price j (its CES share
    of the grey option, 0 when it has no option at all), where ``g_ij = buyer_i * price_part_j``.
    The (buyers x prices) table is filled ``block_rows`` buyers at a time in buffers reused from
    block to block: whole-table temporaries cost more in memory traffic and page faults than in
    arithmetic once there are 100k buyers, and hold gigabytes at a million.

    Bit for bit the same as summing the whole table with ``.sum(axis=0)``: every cell goes through
    the same operations, and numpy sums axis 0 of a C-ordered table of two or more columns row by
    row, so a block whose first row is the running total of the blocks before it continues the
    very same sequence of additions (the first block has no such row: 0 + x is not always x).
    """
    n, cols = len(free), len(price_part)
    if n == 0:
        return np.zeros(cols)
    rows = min(n, block_rows)
    table = np.empty((rows + 1, cols))  # row 0: running total of the earlier blocks
    g, both = np.empty((rows, cols)), np.empty((rows, cols))
    positive = np.empty((rows, cols), dtype=bool)
    total = table[0]
    for start in range(0, n, rows):
        k = min(rows, n - start)
        part = slice(start, start + k)
        share = table[1:k + 1]
        np.multiply(buyer[part, None], price_part[None, :], out=g[:k])
        np.add(other[part, None], g[:k], out=both[:k])
        np.greater(both[:k], 0, out=positive[:k])
        share.fill(0.0)
        np.divide(g[:k], both[:k], out=share, where=positive[:k])
        np.multiply(free[part, None], share, out=share)
        np.divide(share, perf[part, None], out=share)
        total = np.add.reduce(table[1 if start == 0 else 0:k + 1], axis=0)
        table[0] = total
    return total


def _units(claim: object) -> float:
    """Units in one claim: a number, or the total of an array of units per buyer.

    ``float(np.sum(claim))`` gives the same, but numpy's dispatch on a plain number costs
    more than the rest of a vendor's allocation (thousands of calls per replication).
    """
    return float(claim.sum()) if isinstance(claim, np.ndarray) else float(claim)  # type: ignore[arg-type]


def _pro_rata(want: np.ndarray, total: float) -> np.ndarray:
    """``total`` units shared among buyers in proportion to what each wants."""
    asked = want.sum()
    return want * (total / asked) if asked > 0 else want * 0


class Market:
    """Channel choice and clearing for all Chinese buyers at once."""

    def __init__(self, model: ChipTradeModel) -> None:
        self.model = model
        book = model.book
        self.options: list[tuple[str, str | None]] = (
            [("legal", c) for c in LEGAL_CHIPS]
            + [("domestic", c) for c in DOMESTIC_CHIPS]
            + [("cloud", CLOUD_CHIP), ("subsidiary", SUBSIDIARY_CHIP), ("grey", None)]
        )
        self.k_legal = range(len(LEGAL_CHIPS))
        self.k_domestic = range(len(LEGAL_CHIPS), len(LEGAL_CHIPS) + len(DOMESTIC_CHIPS))
        self.legal_cols = slice(self.k_legal.start, self.k_legal.stop)
        self.domestic_cols = slice(self.k_domestic.start, self.k_domestic.stop)
        self.k_cloud, self.k_sub, self.k_grey = (len(self.options) - 3, len(self.options) - 2,
                                                 len(self.options) - 1)
        self.perf = self._fit(book)
        self.perf_floor = np.maximum(self.perf, 1e-9)  # what costs are divided by
        # (due month, chip, cleared under a licence rule) -> units per buyer
        self.order_book: dict[tuple[int, str, bool], np.ndarray] = {}
        self.usual_units = np.zeros((book.n, len(LEGAL_CHIPS)))
        self.cancelled = 0.0  # licensed orders refused at customs this month (units)
        top = model.params["smuggling.max_premium"]
        self.grid = top * np.linspace(0.0, 1.0, GRID_POINTS) ** 2

    # --- static fit ---------------------------------------------------------------------------
    def _spec(self, chip: str | None) -> tuple[float, float, float]:
        if chip is not None:
            c = CHIPS[chip]
            return c.train_h100e, c.infer_h100e, c.memory_gb
        mix = self.model.smugglers.mix
        return tuple(  # type: ignore[return-value]
            sum(w * getattr(CHIPS[c], a) for c, w in mix.items())
            for a in ("train_h100e", "infer_h100e", "memory_gb")
        )

    def _fit(self, book) -> np.ndarray:  # noqa: ANN001
        """H100e each buyer gets from one unit of each option (training/inference mix, memory)."""
        specs = np.array([self._spec(chip) for _, chip in self.options])  # (K, 3)
        w = book.train_weight[:, None]
        perf = w * specs[None, :, 0] + (1 - w) * specs[None, :, 1]
        fit = np.minimum(1.0, specs[None, :, 2] / book.memory_need[:, None])
        return perf * fit ** self.model.params["buyers.memory_preference"]

    # --- prices and availability this month ---------------------------------------------------
    def _offers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit price to the buyer (K), effective-cost multiplier (n, K), availability (n, K)."""
        m, p, policy, book = self.model, self.model.params, self.model.policy, self.model.book
        n, k = book.n, len(self.options)
        price = np.zeros(k)
        mult = np.ones((n, k))
        avail = np.zeros((n, k))
        for i, chip in enumerate(LEGAL_CHIPS):
            price[i] = self._legal_price(chip, m.vendor_of(chip).list_price(chip))
            rule = policy.licences.get(chip)
            delay = (rule.delay_months if rule else 0) + self._queue_months(chip)
            mult[:, i] += (p["buyers.guidance_cost"] * policy.guidance_pressure.get(chip, 0.0)
                           * book.compliance + p["buyers.licence_delay_cost"] * delay)
            avail[:, i] = self._legal_access(chip)
        for i, chip in zip(self.k_domestic, DOMESTIC_CHIPS, strict=True):
            price[i] = self._domestic_price(m.vendor_of(chip).list_price(chip))
            mult[:, i] = (1 + p["buyers.domestic_ecosystem_penalty"]
                          + p["vendors.domestic_power_penalty"] * (1 - policy.power_discount))
            avail[:, i] = 1.0
        price[self.k_cloud] = m.clouds.rent_per_gpu_month() * p["buyers.useful_life_months"]
        mult[:, self.k_cloud] += p["buyers.cloud_penalty"]
        avail[:, self.k_cloud] = book.offshore_access * m.clouds.open_share()
        price[self.k_sub] = m.vendor_of(SUBSIDIARY_CHIP).list_price(SUBSIDIARY_CHIP)
        mult[:, self.k_sub] += (p["buyers.subsidiary_overhead"]
                                + p["buyers.subsidiary_risk_share"] * p["buyers.grey_risk_penalty"]
                                * book.risk_aversion)
        avail[:, self.k_sub] = book.offshore_access * (1 - policy.remote_access_compliance)
        mult[:, self.k_grey] += p["buyers.grey_risk_penalty"] * book.risk_aversion
        avail[:, self.k_grey] = 1.0
        return price, mult, avail

    def _legal_price(self, chip: str, list_price: float) -> float:
        """What a Chinese buyer pays for a legal import: list price plus the fees passed on."""
        fee = self.model.policy.fee_rate(chip)
        return list_price * (1 + self.model.params["vendors.fee_passthrough"] * fee)

    def _domestic_price(self, list_price: float) -> float:
        """What a Chinese buyer pays for a domestic part: list price less its subsidy share."""
        subsidy = 1.0 - 1.0 / self.model.policy.subsidy_cost_multiple
        return list_price * (1 - self.model.params["vendors.subsidy_price_passthrough"] * subsidy)

    def _allowed(self, block: ImportBlock) -> np.ndarray:
        """Per buyer, whether its class may still import under ``block``."""
        allowed = [BUYER_CLASSES.index(c) for c in block.allowed]
        return np.isin(self.model.book.buyer_class, allowed)

    def _queue_months(self, chip: str) -> float:
        """Months a new order would wait behind the orders already queued for ``chip``."""
        queued = sum(float(u.sum()) for (_, c, _), u in self.order_book.items() if c == chip)
        if queued <= 0:
            return 0.0
        vendor = self.model.vendor_of(chip)
        rate = vendor.capacity[chip] * self.model.policy.capacity_multiplier.get(chip, 1.0)
        return queued / max(rate, 1.0)

    def _legal_access(self, chip: str) -> np.ndarray:
        """Chance each buyer can legally import ``chip`` now (licence and customs)."""
        policy, n = self.model.policy, self.model.book.n
        launch = CHIPS[chip].available_from
        if launch is not None and self.model.month < launch:
            return np.zeros(n)
        rule = policy.licences.get(chip)
        access = np.ones(n)
        if rule is not None:
            capped = rule.cap_units is not None and rule.approved_units >= rule.cap_units
            access *= 0.0 if capped else rule.approval
        block = policy.import_blocks.get(chip)
        if block is not None:
            access *= self._allowed(block) * block.justification_pass
        return access

    # --- choice -------------------------------------------------------------------------------
    def _weights(self, price: np.ndarray, mult: np.ndarray, avail: np.ndarray,
                 options: slice = slice(None)) -> np.ndarray:
        """CES weight of each buyer's options: availability x effective cost^-elasticity.

        ``options`` picks a run of columns (of ``mult``, ``avail`` and the fit) when only
        those need working out; each cell is the same expression either way.
        """
        cost = price[None, :] * mult / self.perf_floor[:, options] / COST_SCALE
        return avail * cost ** -self.model.params["buyers.price_elasticity"]

    def _reprice_grey(self, weights: np.ndarray, price: np.ndarray, mult: np.ndarray,
                      avail: np.ndarray) -> None:
        """Update ``weights`` in place for a new grey price in ``price``.

        Only the grey column depends on it, and the power is most of the cost of the whole
        table, so only that column is worked out again (with the same expression: same bits).
        """
        k = slice(self.k_grey, self.k_grey + 1)
        weights[:, k] = self._weights(price[k], mult[:, k], avail[:, k], k)

    def _clear_grey(self, free: np.ndarray, weights: np.ndarray, mult_grey: np.ndarray,
                    avail_grey: np.ndarray) -> float:
        """Premium at which buyers' demand for smuggled chips meets smugglers' deliveries."""
        theta = self.model.params["buyers.price_elasticity"]
        base = self.model.grey_list_price()
        prices = base * (1.0 + self.grid)
        other = weights.sum(axis=1) - weights[:, self.k_grey]
        perf = self.perf_floor[:, self.k_grey]
        # (price x mult / perf)^-theta splits into a buyer part and a price part: no (n, G) power
        buyer = avail_grey * (mult_grey / perf) ** -theta
        demand = grey_demand(free, other, buyer, (prices / COST_SCALE) ** -theta, perf)
        supply = self.model.smugglers.supply_curve(prices)
        excess = demand - supply
        if excess[0] <= 0:
            return 0.0
        above = np.nonzero(excess <= 0)[0]
        if above.size == 0:
            return float(self.grid[-1])
        j = int(above[0])
        t = excess[j - 1] / (excess[j - 1] - excess[j])
        return float(self.grid[j - 1] + t * (self.grid[j] - self.grid[j - 1]))

    def _stockpile_units(self, avail: np.ndarray, now: np.ndarray) -> np.ndarray:
        """Extra legal units buyers order ahead of restrictions they know or hear of.

        The size is a number of months of the buyer's usual purchases of the chip - or of this
        month's, for a chip that has only just become available (pent-up orders, FACTS F10).
        """
        m, p = self.model, self.model.params
        basis = np.maximum(self.usual_units, now)
        extra = np.zeros_like(self.usual_units)
        for chip, (effective, credence) in m.coming_restrictions().items():
            if chip not in LEGAL_CHIPS:
                continue
            i = LEGAL_CHIPS.index(chip)
            months_left = max(effective - m.month, 1)
            extra[:, i] = (credence * p["buyers.stockpile_months"] * basis[:, i]
                           / months_left * avail[:, i])
        return extra

    # --- the month ----------------------------------------------------------------------------
    def clear(self) -> MonthFlows:
        """Buyers choose, channels clear, chips ship and money moves. Return the month's flows."""
        m, book = self.model, self.model.book
        price, mult, avail = self._offers()
        price[self.k_grey] = m.grey_list_price()  # placeholder until the grey market clears
        weights = self._weights(price, mult, avail)
        state = book.buyer_class == BUYER_CLASSES.index("state_dcs")
        floor = m.policy.min_domestic_share(state, 1 - book.train_weight) * book.compliance
        free = book.demand * (1 - floor)
        premium = self._clear_grey(free, weights, mult[:, self.k_grey], avail[:, self.k_grey])
        grey_price = m.grey_list_price() * (1 + premium)
        price[self.k_grey] = grey_price
        self._reprice_grey(weights, price, mult, avail)
        units = self._planned_units(weights, free, book.demand * floor)
        legal = units[:, self.legal_cols]
        w = m.params["buyers.usual_purchase_weight"]
        self.usual_units = (1 - w) * self.usual_units + w * legal
        legal += self._stockpile_units(avail, legal)
        units *= self._budget_scale(units, price)[:, None]

        flows = MonthFlows(grey_premium=premium)
        received = {ch: np.zeros(book.n) for ch in book.received}
        self._order_legal(units, avail)
        claims = self._claims(units, grey_price)
        self._ship_all(claims, units, grey_price, flows, received)
        book.receive(received)
        flows.new_h100e = {ch: float(arr.sum()) for ch, arr in received.items()}
        self._collect_rent()
        return flows

    def _planned_units(self, weights: np.ndarray, free: np.ndarray, mandated: np.ndarray
                       ) -> np.ndarray:
        """Units of each option each buyer plans to get (before stockpiling and budget).

        ``free`` H100e are split by the CES shares, ``mandated`` H100e (domestic-mandate floors)
        across the domestic parts alone. The (buyers x options) tables are worked on in place
        and through column slices (views) rather than copies: the arithmetic per cell is the
        same, the memory traffic much smaller with many buyers.
        """
        total = weights.sum(axis=1, keepdims=True)
        h100e = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
        h100e *= free[:, None]  # the shares, times what each buyer is free to place
        dom_w = weights[:, self.domestic_cols]
        dom_share = dom_w / np.maximum(dom_w.sum(axis=1, keepdims=True), 1e-300)
        h100e[:, self.domestic_cols] += mandated[:, None] * dom_share
        return np.divide(h100e, self.perf_floor, out=h100e)  # H100e -> units

    def _budget_scale(self, units: np.ndarray, price: np.ndarray) -> np.ndarray:
        """Share of planned purchases each buyer can afford this month (normal spend: the trend)."""
        p, book = self.model.params, self.model.book
        spend = (units * price[None, :]).sum(axis=1)
        cap = p["buyers.budget_multiple"] * book.trend * CHIPS["H100"].list_price_usd
        return np.minimum(1.0, np.divide(cap, spend, out=np.ones_like(cap), where=spend > 0))

    def _order_legal(self, units: np.ndarray, avail: np.ndarray) -> None:
        """Licence applications for this month's legal orders; granted ones join the order book.

        ``avail`` is this month's chance of access (from :meth:`_offers`): each buyer's
        application is granted with it (nothing between the two changes the rules).
        """
        m, policy = self.model, self.model.policy
        for i, chip in enumerate(LEGAL_CHIPS):
            wanted = units[:, i]
            if not wanted.any():
                continue
            vendor = m.vendor_of(chip)
            granted = wanted * (m.rng.random(m.book.n) < avail[:, i])
            rule = policy.licences.get(chip)
            delay = 0
            if rule is not None:
                vendor.pay_licence_fees(int(np.count_nonzero(wanted)))
                delay = rule.delay_months
                if rule.cap_units is not None:
                    room = max(rule.cap_units - rule.approved_units, 0.0)
                    if granted.sum() > room:
                        granted *= room / granted.sum()
                rule.approved_units += float(granted.sum())
            vendor.note_orders(chip, float(granted.sum()))
            m.book.on_order += granted * self.perf[:, i]
            self._book(m.month + delay, chip, rule is not None, granted)

    def _book(self, due: int, chip: str, licensed: bool, units: np.ndarray) -> None:
        """Add orders to the order book."""
        key = (due, chip, licensed)
        self.order_book[key] = self.order_book.get(key, 0.0) + units

    def _claims(self, units: np.ndarray, grey_price: float) -> dict[str, dict[str, object]]:
        """Who wants how many units of each US part this month."""
        m = self.model
        claims: dict[str, dict[str, object]] = defaultdict(dict)
        for chip in m.overseas.chips:
            claims[chip]["overseas"] = m.overseas.wanted[chip]
        cloud_req = float(units[:, self.k_cloud].sum())
        claims[CLOUD_CHIP]["cloud"] = min(cloud_req, m.clouds.expansion_room())
        claims[SUBSIDIARY_CHIP]["subsidiary"] = units[:, self.k_sub].copy()
        bought = m.smugglers.plan_shipments(grey_price)
        for chip, share in m.smugglers.mix.items():
            claims[chip]["smugglers"] = bought * share
        for chip in LEGAL_CHIPS:
            due = self._due(chip)
            if due is not None:
                claims[chip]["china"] = due
        return claims

    def _due(self, chip: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Chinese orders of ``chip`` that may still ship: (licensed, licence-free).

        Orders placed licence-free need a licence if a rule has come in since (the H20 orders
        stuck by M2); orders arriving at a border that has closed since are refused (M15, F11).
        Refused orders are cancelled.
        """
        m = self.model
        licensed = self.order_book.pop((m.month, chip, True), None)
        free = self.order_book.pop((m.month, chip, False), None)
        if licensed is None and free is None:
            return None
        n = m.book.n
        licensed = np.zeros(n) if licensed is None else licensed
        free = np.zeros(n) if free is None else free
        if chip in m.policy.licences and free.any():
            rule = m.policy.licences[chip]
            granted = m.rng.random(n) < rule.approval
            self._cancel(chip, free * ~granted)
            licensed, free = licensed + free * granted, np.zeros(n)
        block = m.policy.import_blocks.get(chip)
        if block is not None:
            ok = self._allowed(block) & (m.rng.random(n) < block.justification_pass)
            self._cancel(chip, (licensed + free) * ~ok)
            licensed, free = licensed * ok, free * ok
        return licensed, free

    def _cancel(self, chip: str, units: np.ndarray) -> None:
        """Cancel waiting orders: the buyers' need goes back to their backlog."""
        h100e = units * self.perf[:, LEGAL_CHIPS.index(chip)]
        book = self.model.book
        book.on_order -= h100e
        book.backlog += self.model.params["demand.backlog_carry"] * h100e
        self.cancelled += float(units.sum())

    def _ship_all(self, claims, units, grey_price, flows, received) -> None:  # noqa: ANN001
        """Vendors allocate their inventory to claims; chips ship, money moves."""
        smuggled_bought: dict[str, float] = {}
        for chip in LEGAL_CHIPS:
            if chip in claims:
                smuggled_bought[chip] = self._ship_us_part(chip, claims[chip], units, flows,
                                                           received)
        self._run_smuggling(smuggled_bought, units, grey_price, flows, received)
        for i, chip in zip(self.k_domestic, DOMESTIC_CHIPS, strict=True):
            self._ship_domestic(i, chip, units, flows, received)
        flows.cancelled_orders, self.cancelled = self.cancelled, 0.0

    def _allocate(self, chip: str, claim: dict[str, object]) -> tuple[float, float, float]:
        """Shares of non-China and China claims a vendor can serve from inventory.

        Returns (share of the non-China claims served, share of the China claims served,
        non-China units claimed).
        """
        m = self.model
        available = m.vendor_of(chip).available(chip)
        china = sum(float(a.sum()) for a in claim.get("china", ()))
        rest = sum(_units(v) for k, v in claim.items() if k != "china")
        rule = m.policy.licences.get(chip)
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
        m, policy, book = self.model, self.model.policy, self.model.book
        vendor = m.vendor_of(chip)
        list_price = vendor.list_price(chip)
        f_rest, f_china, rest = self._allocate(chip, claim)
        vendor.note_orders(chip, rest)

        def ship(units_: float, destination: str) -> None:
            vendor.ship(chip, units_)
            vendor.receive(units_ * list_price)
            m.ledger.shipment(chip, destination, units_)

        if "overseas" in claim:
            u = float(claim["overseas"]) * f_rest
            ship(u, "overseas")
            m.overseas.take(chip, u, list_price)
        if "cloud" in claim:
            u = float(claim["cloud"]) * f_rest
            ship(u, "cloud")
            m.clouds.install(u, list_price)
            got = _pro_rata(units[:, self.k_cloud], u)
            book.rented_gpus += got
            received["cloud"] += got * self.perf[:, self.k_cloud]
            flows.cloud += u
        if "subsidiary" in claim:
            got = claim["subsidiary"] * f_rest
            u = float(got.sum())
            ship(u, "subsidiary")
            m.ledger.payment("china_buyers", u * list_price)
            book.received_units["subsidiary"] += u
            received["subsidiary"] += got * self.perf[:, self.k_sub]
            flows.subsidiary += u
        if "china" in claim:
            licensed, free = claim["china"]
            got = (licensed + free) * f_china
            if f_china < 1.0:  # what the vendor cannot serve yet waits in the order book
                self._book(m.month + 1, chip, True, licensed * (1 - f_china))
                self._book(m.month + 1, chip, False, free * (1 - f_china))
            u = float(got.sum())
            fee = policy.fee_rate(chip)
            buyer_price = self._legal_price(chip, list_price)
            vendor.ship(chip, u)
            m.ledger.shipment(chip, "legal", u)
            vendor.receive(u * buyer_price * (1 - fee))
            m.us.collect(u * buyer_price * fee)
            m.ledger.payment("china_buyers", u * buyer_price)
            book.received_units["legal"] += u
            received["legal"] += got * self.perf[:, LEGAL_CHIPS.index(chip)]
            book.on_order -= got * self.perf[:, LEGAL_CHIPS.index(chip)]
            flows.legal += u
            flows.legal_by_chip[chip] = flows.legal_by_chip.get(chip, 0.0) + u
        bought = float(claim.get("smugglers", 0.0)) * f_rest  # type: ignore[arg-type]
        if bought > 0:
            vendor.ship(chip, bought)
            vendor.receive(bought * list_price)
        return bought

    def _run_smuggling(self, bought, units, grey_price, flows, received) -> None:  # noqa: ANN001
        """Smugglers ship what they could buy; some is seized; the rest is sold in China."""
        m, book = self.model, self.model.book
        s = m.smugglers
        planned = float(s.shipped.sum())
        total = sum(bought.values())
        at_list = sum(u * m.vendor_of(c).list_price(c) for c, u in bought.items())
        delivered, seized = s.run_shipments(total / planned if planned > 0 else 0.0)
        fees = s.permit_fees()
        s.pay_for(at_list, fees)
        m.transit.collect(fees)
        for chip, u in bought.items():
            share = u / total if total > 0 else 0.0
            m.ledger.shipment(chip, "smuggled", delivered * share)
            m.ledger.shipment(chip, "seized", seized * share)
        got = _pro_rata(units[:, self.k_grey], delivered)
        s.sell(delivered, grey_price)
        m.ledger.payment("china_buyers", delivered * grey_price)
        book.received_units["smuggled"] += delivered
        received["smuggled"] += got * self.perf[:, self.k_grey]
        flows.smuggled, flows.seized = delivered, seized
        flows.grey_sales_usd = delivered * grey_price

    def _ship_domestic(self, k, chip, units, flows, received) -> None:  # noqa: ANN001
        """Domestic vendors ship to Chinese buyers; the state pays its subsidy share."""
        m, book = self.model, self.model.book
        vendor = m.vendor_of(chip)
        want = units[:, k]
        asked = float(want.sum())
        vendor.note_orders(chip, asked)
        if asked <= 0:
            return
        got = want * min(1.0, vendor.available(chip) / asked)
        u = float(got.sum())
        list_price = vendor.list_price(chip)
        buyer_price = self._domestic_price(list_price)
        vendor.ship(chip, u)
        vendor.receive(u * list_price)
        m.ledger.shipment(chip, "domestic", u)
        m.ledger.payment("china_buyers", u * buyer_price)
        m.ledger.payment("china_state", u * (list_price - buyer_price))
        book.received_units["domestic"] += u
        received["domestic"] += got * self.perf[:, k]
        flows.domestic += u

    def _collect_rent(self) -> None:
        """Chinese renters pay this month's rent on every GPU they rent offshore."""
        m = self.model
        rent = float(m.book.rented_gpus.sum()) * m.clouds.rent_per_gpu_month()
        m.clouds.collect_rent(rent)
        m.ledger.payment("china_buyers", rent)
