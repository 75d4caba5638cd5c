"""Chinese buyers' legal orders of US parts: licences, the order book, customs and cancellations.

An order of a US part goes through three stages, each once: a licence application (granted with
the chance of access the buyer saw when choosing), a wait in the order book (the licence delay,
and the vendor's queue when it cannot serve everyone), and customs on arrival. Orders placed
licence-free need a licence if a rule has come in since (the H20 orders stuck by M2); orders
arriving at a border that has closed since are refused (M15, F11). Refused orders are cancelled:
the buyer's need goes back to its backlog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.market.offers import allowed
from sim.world.catalogue import US_CHIPS

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.model.market.options import Options
    from sim.model.market.participants import Participants

#: (due month, chip, cleared under a licence rule) -> units per buyer
Key = tuple[int, str, bool]


class OrderBook:
    """Legal China orders of US parts waiting to ship, by due month, chip and licence status."""

    def __init__(self, ctx: ModelContext, who: Participants, options: Options) -> None:
        self.ctx = ctx
        self.who = who
        self.options = options
        self.waiting: dict[Key, np.ndarray] = {}
        self.cancelled = 0.0  # units refused this month (reset when the month's flows are read)

    def queue_months(self, chip: str) -> float:
        """Months a new order would wait behind the orders already queued for ``chip``."""
        queued = sum(float(u.sum()) for (_, c, _), u in self.waiting.items() if c == chip)
        if queued <= 0:
            return 0.0
        vendor = self.who.vendor_of[chip]
        rate = vendor.capacity[chip] * self.ctx.policy.capacity_multiplier.get(chip, 1.0)
        return queued / max(rate, 1.0)

    def add(self, due: int, chip: str, licensed: bool, units: np.ndarray) -> None:
        """Add orders to the book."""
        key = (due, chip, licensed)
        self.waiting[key] = self.waiting.get(key, 0.0) + units

    def apply(self, units: np.ndarray, avail: np.ndarray) -> None:
        """Licence applications for this month's legal orders; granted ones join the book.

        ``avail`` is this month's chance of access (from the offers): each buyer's application
        is granted with it (nothing between the two changes the rules).
        """
        ctx, policy, book = self.ctx, self.ctx.policy, self.who.book
        for i, chip in enumerate(US_CHIPS):
            wanted = units[:, i]
            if not wanted.any():
                continue
            vendor = self.who.vendor_of[chip]
            granted = wanted * (ctx.rng.random(book.n) < avail[:, i])
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
            book.place_orders(granted * self.options.perf[:, i])
            self.add(ctx.month + delay, chip, rule is not None, granted)

    def due(self, chip: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Chinese orders of ``chip`` that may ship this month: (licensed, licence-free).

        Orders placed licence-free need a licence if a rule has come in since; orders arriving at
        a border that has closed since are refused. Refused orders are cancelled.
        """
        ctx = self.ctx
        licensed = self.waiting.pop((ctx.month, chip, True), None)
        free = self.waiting.pop((ctx.month, chip, False), None)
        if licensed is None and free is None:
            return None
        book = self.who.book
        n = book.n
        licensed = np.zeros(n) if licensed is None else licensed
        free = np.zeros(n) if free is None else free
        if chip in ctx.policy.licences and free.any():
            rule = ctx.policy.licences[chip]
            granted = ctx.rng.random(n) < rule.approval
            self.cancel(chip, free * ~granted)
            licensed, free = licensed + free * granted, np.zeros(n)
        block = ctx.policy.import_blocks.get(chip)
        if block is not None:
            ok = allowed(block, book.buyer_class) & (ctx.rng.random(n) < block.justification_pass)
            self.cancel(chip, (licensed + free) * ~ok)
            licensed, free = licensed * ok, free * ok
        return licensed, free

    def cancel(self, chip: str, units: np.ndarray) -> None:
        """Cancel waiting orders: the buyers' need goes back to their backlog."""
        h100e = units * self.options.perf[:, US_CHIPS.index(chip)]
        self.who.book.cancel_orders(h100e, self.ctx.params["demand.backlog_carry"])
        self.cancelled += float(units.sum())

    def take_cancelled(self) -> float:
        """Units cancelled since the last call (this month's), and start counting again."""
        cancelled, self.cancelled = self.cancelled, 0.0
        return cancelled
