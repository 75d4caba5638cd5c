"""Chinese buyers' legal orders of US parts: licences, the order book, customs and cancellations.

An order of a US part meets each rule once, at its own stage:

1. **Placing.** Under a licence rule the vendor files an application for each buyer group's
   orders of the part in a month, if the order's margin covers the licence's fixed cost (F15).
   One draw per buyer then clears the order with the chance the buyer saw when choosing (the
   licence approval, times the justification pass under a Chinese import block). Approvals count
   against the rule's cap (M14). Cleared orders join the book for delivery ``delay_months``
   later; the rest of the buyer's need stays unmet (it returns to the next month's choice).
2. **Waiting.** Orders the vendor cannot serve yet wait a month at a time. Guidance that comes
   in or tightens makes buyers cancel waiting orders (M6).
3. **Arrival.** An order placed licence-free meets a licence rule that has come in since (the
   H20 orders stuck by M2): the vendor must file for it, and one draw with the rule's approval
   decides. An order placed before an import
   block that arrives after it meets customs: one draw with the block's justification pass for
   allowed classes, refusal for the others (M15, F11). Orders placed under the block passed its
   exceptions when placed and are not checked again.

Refused and cancelled orders return to the buyer as unmet need - except the part of them that
was a stockpile bought ahead of a restriction: that was never need, and the need it was bought
for comes in its own months, so it is not counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from sim.model.market.offers import allowed, legal_price
from sim.model.market.rationing import share_taken
from sim.world.catalogue import US_CHIPS

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.model.market.options import Options
    from sim.model.market.participants import Participants

#: (due month, chip, placed under a licence rule, month placed) -> units per buyer (R, n)
Key = tuple[int, str, bool, int]


class OrderBook:
    """Legal China orders of US parts waiting to ship."""

    def __init__(self, ctx: ModelContext, who: Participants, options: Options) -> None:
        self.ctx = ctx
        self.who = who
        self.options = options
        self.waiting: dict[Key, np.ndarray] = {}
        book = who.book
        self.group_starts = np.array([sl.start for sl in book.slices.values()])
        self.group_of = np.repeat(np.arange(len(self.group_starts)),
                                  [sl.stop - sl.start for sl in book.slices.values()])
        zero = np.zeros((ctx.replications, 1))
        self.cancelled = zero  # units refused or cancelled this month
        self.cancelled_by_chip: dict[str, np.ndarray] = {}  # the same, per chip
        self.licence_cost = zero  # licence costs paid this month
        #: per US part, units of it waiting in the book that are stockpile bought ahead (R, n)
        self.ahead: dict[str, np.ndarray] = {}
        #: per US part due this month, the stockpile share of each need's arriving orders (R, n)
        self.arriving_share: dict[str, np.ndarray] = {}

    def queued(self, chip: str) -> np.ndarray:
        """Units of ``chip`` waiting in the book (R, 1)."""
        return sum((u.sum(axis=1, keepdims=True) for (_, c, _, _), u in self.waiting.items()
                    if c == chip), np.zeros((self.ctx.replications, 1)))

    def _rate(self, chip: str) -> np.ndarray:
        """Units of ``chip`` its vendor makes a month, under the rules in force (R, 1)."""
        vendor = self.who.vendor_of[chip]
        return vendor.capacity[chip] * self.ctx.policy.capacity_multiplier.get(chip, 1.0)

    def queue_months(self, chip: str) -> np.ndarray:
        """Months a new order would wait behind the orders already queued for ``chip`` (R, 1)."""
        return self.queued(chip) / np.maximum(self._rate(chip), 1.0)

    def room(self, chip: str) -> np.ndarray:
        """Units of ``chip`` its vendor can still book this month (R, 1).

        A vendor books orders it can ship within ``vendors.max_queue_months`` of its output;
        it does not take orders it could only ship years later, and buyers do not wait for
        them (the market sends what it cannot book to the buyers' other options).
        """
        limit = self._rate(chip) * self.ctx.params["vendors.max_queue_months"]
        return np.maximum(limit - self.queued(chip), 0.0)

    def _taken(self, chip: str, granted: np.ndarray) -> np.ndarray:
        """The granted orders the vendor books: no more than its ``room``."""
        return granted * share_taken(self.room(chip), granted.sum(axis=1, keepdims=True))

    def add(self, key: Key, units: np.ndarray) -> None:
        """Add orders to the book."""
        self.waiting[key] = self.waiting.get(key, 0.0) + units

    def place(self, units: np.ndarray, clearance: np.ndarray, profile_of: np.ndarray,
              ahead: Mapping[int, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The month's legal orders: applications filed, one clearance draw, the book.

        Args:
            units: per US part and need, units ordered (R, chips, n).
            clearance: per buyer profile and US part, the chance an order is cleared
                (R, profiles, chips).
            profile_of: each need's profile (n,).
            ahead: per US part (index in ``US_CHIPS``), the units of ``units`` that are a
                stockpile ordered ahead of a restriction, per need (R, n).

        Returns:
            Per US part with orders, the units ordered (R, 1), before licences and customs.

        Only the stockpile booked (granted and taken into the book) counts as bought ahead
        (``BuyerBook.note_ordered_ahead``): one a licence refused or a full book turned away is
        ordered again next month, as unmet ordinary need is.
        """
        ctx, who = self.ctx, self.who
        ordered: dict[str, np.ndarray] = {}
        zero = np.zeros((ctx.replications, who.book.n))
        booked_ahead = dict.fromkeys(ahead or {}, zero)
        for i, chip in enumerate(US_CHIPS):
            wanted = asked = units[:, i, :]
            if not wanted.any():
                continue
            ordered[chip] = wanted.sum(axis=1, keepdims=True)
            rule = ctx.policy.licences.get(chip)
            if rule is not None:
                wanted = wanted * self._filed(chip, wanted)
            u = ctx.draws.uniform(f"licence:{chip}", ctx.month, who.book.n)
            granted = wanted * (u < np.take(clearance[:, :, i], profile_of, axis=1))
            if rule is not None and rule.cap_units is not None:
                room = np.maximum(rule.cap_units - who.us.approved_units(rule.key, chip), 0.0)
                granted = granted * share_taken(room, granted.sum(axis=1, keepdims=True))
            granted = self._taken(chip, granted)
            if rule is not None:
                who.us.approve(rule.key, chip, granted.sum(axis=1, keepdims=True))
            who.vendor_of[chip].note_orders(chip, granted.sum(axis=1, keepdims=True))
            stock = np.zeros_like(granted)
            if ahead and i in ahead:
                share = np.divide(ahead[i], asked, out=np.zeros_like(asked), where=asked > 0)
                stock = granted * np.clip(share, 0.0, 1.0)
                self.ahead[chip] = self.ahead.get(chip, 0.0) + stock
                booked_ahead[i] = stock
            fit = self.options.legal_fit(chip)
            who.book.place_orders(granted * fit, stock * fit)
            delay = rule.delay_months if rule is not None else 0
            self.add((ctx.month + delay, chip, rule is not None, ctx.month), granted)
        who.book.note_ordered_ahead(booked_ahead)
        return ordered

    def _filed(self, chip: str, wanted: np.ndarray) -> np.ndarray:
        """Per buyer, whether the vendor files a licence application for its group's order.

        One application covers one buyer group's orders of the part in a month; the vendor pays
        its fixed cost only when the order's margin covers it (FACTS F15).
        """
        vendor = self.who.vendor_of[chip]
        per_group = np.add.reduceat(wanted, self.group_starts, axis=1)  # (R, groups)
        files = vendor.files_licence(chip, per_group, legal_price(self.ctx, chip))
        cost = vendor.pay_licence_costs(files.sum(axis=1, keepdims=True))
        self.licence_cost = self.licence_cost + cost
        return np.take(files, self.group_of, axis=1)

    def due(self, chip: str) -> np.ndarray | None:
        """Orders of ``chip`` arriving this month that may ship (R, n); refused ones cancelled."""
        ctx = self.ctx
        keys = [k for k in self.waiting if k[0] == ctx.month and k[1] == chip]
        if not keys:
            return None
        self.arriving_share[chip] = self.ahead_share(chip)
        total = np.zeros((ctx.replications, self.who.book.n))
        for key in keys:
            total += self._arrive(key, self.waiting.pop(key))
        return total

    def _arrive(self, key: Key, units: np.ndarray) -> np.ndarray:
        """Check one batch of arriving orders against rules that came in after it was placed."""
        ctx, book = self.ctx, self.who.book
        _, chip, licensed, placed = key
        rule = ctx.policy.licences.get(chip)
        if rule is not None and not licensed:
            u = ctx.draws.uniform(f"late_licence:{chip}", ctx.month, book.n)
            units = self._refuse(chip, units, self._filed(chip, units) & (u < rule.approval))
        block = ctx.policy.import_blocks.get(chip)
        if block is not None and block.since > placed:
            u = ctx.draws.uniform(f"customs:{chip}", ctx.month, book.n)
            ok = allowed(block, book.buyer_class) & (u < block.justification_pass)
            units = self._refuse(chip, units, ok)
        return units

    def _refuse(self, chip: str, units: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Cancel the orders of buyers not ``ok``; return those that go on."""
        self.cancel(chip, units * ~ok, self.arriving_share[chip])
        return units * ok

    def ahead_share(self, chip: str) -> np.ndarray:
        """Per need, the share of its waiting orders of ``chip`` that is stockpile (R, n).

        A vendor does not tell a buyer's orders apart, so a delivery or a cancellation takes
        stockpile and ordinary units in proportion.
        """
        zero = np.zeros((self.ctx.replications, self.who.book.n))
        if chip not in self.ahead:
            return zero
        waiting = sum((u for (_, c, _, _), u in self.waiting.items() if c == chip), zero)
        share = np.divide(self.ahead[chip], waiting, out=zero.copy(), where=waiting > 0)
        return np.clip(share, 0.0, 1.0)

    def delivered(self, chip: str, units: np.ndarray) -> None:
        """Orders of ``chip`` due this month were delivered: their stockpile part leaves."""
        if chip in self.ahead:
            self.ahead[chip] = np.maximum(
                self.ahead[chip] - units * self.arriving_share[chip], 0.0)

    def cancel(self, chip: str, units: np.ndarray, ahead_share: np.ndarray) -> None:
        """Cancel waiting orders: the buyers' need returns as unmet need.

        ``ahead_share``: per need, the share of the cancelled units that was a stockpile bought
        ahead of a restriction; it leaves what the buyer has on order but is not unmet need.
        """
        fit = self.options.legal_fit(chip)
        stock = units * ahead_share
        if chip in self.ahead:
            self.ahead[chip] = np.maximum(self.ahead[chip] - stock, 0.0)
        self.who.book.cancel_orders(units * fit, stock * fit)
        total = units.sum(axis=1, keepdims=True)
        self.cancelled = self.cancelled + total
        self.cancelled_by_chip[chip] = self.cancelled_by_chip.get(chip, 0.0) + total

    def cancel_under_guidance(self, chip: str, cancels: np.ndarray) -> None:
        """Buyers who follow new guidance cancel all their waiting orders of ``chip`` (M6)."""
        share = self.ahead_share(chip)
        for key in [k for k in self.waiting if k[1] == chip]:
            units = self.waiting[key]
            self.cancel(chip, units * cancels, share)
            self.waiting[key] = units * ~cancels

    def take_month(self) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Units cancelled (all, and per chip) and licence costs paid this month; start again."""
        out = (self.cancelled, self.cancelled_by_chip, self.licence_cost)
        zero = np.zeros((self.ctx.replications, 1))
        self.cancelled, self.cancelled_by_chip, self.licence_cost = zero, {}, zero
        return out
