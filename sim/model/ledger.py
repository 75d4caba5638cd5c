"""Conservation of chips and money, checked every month.

Agents book their own accounts (a vendor its production, inventory and receipts; a buyer what it
received; a regulator its fees). The ledger keeps the *other side* of every transaction: what
was paid, by whom, and which channel each chip left through. :meth:`Ledger.check` compares the two
sides, so a bookkeeping error anywhere in the model shows up as a failed check in the month it
happens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol

from sim.world.actors import DESTINATIONS


class ConservationError(AssertionError):
    """Chips or money were created or lost by the model's bookkeeping."""


class Producer(Protocol):
    """A vendor's own books, as the check reads them."""

    chips: tuple[str, ...]
    produced: Mapping[str, float]
    inventory: Mapping[str, float]


class Accounts(Protocol):
    """The receivers' side of every transaction: what the check compares the ledger with."""

    vendors: Sequence[Producer]

    def received_by_destination(self) -> dict[str, float]:
        """Units each kind of receiver has booked."""
        ...

    def total_received_usd(self) -> float:
        """Money every payee has booked."""
        ...


class Ledger:
    """Running totals of payments and chip movements, from the payer's side."""

    def __init__(self) -> None:
        self.paid_usd: defaultdict[str, float] = defaultdict(float)
        self.shipped: defaultdict[tuple[str, str], float] = defaultdict(float)

    def payment(self, payer: str, amount: float) -> None:
        """Record that ``payer`` (a class of agent) paid ``amount`` USD."""
        self.paid_usd[payer] += amount

    def shipment(self, chip: str, destination: str, units: float) -> None:
        """Record ``units`` of ``chip`` leaving a vendor towards ``destination``."""
        self.shipped[chip, destination] += units

    def total_paid(self) -> float:
        """All money paid so far by every payer."""
        return sum(self.paid_usd.values())

    def check(self, model: Accounts, rel_tol: float = 1e-9) -> None:
        """Raise :class:`ConservationError` if chips or money do not balance.

        Chips: for every chip, units produced = units in inventory + units shipped to exactly one
        destination (and the destinations agree with what the receivers booked).
        Money: everything paid = vendors' receipts + governments' fees + intermediaries' receipts.
        """
        for vendor in model.vendors:
            for chip in vendor.chips:
                shipped = sum(self.shipped[chip, d] for d in DESTINATIONS)
                produced = vendor.produced[chip]
                held = vendor.inventory[chip]
                if abs(produced - held - shipped) > rel_tol * max(1.0, produced):
                    raise ConservationError(
                        f"{chip}: produced {produced:.6g} != inventory {held:.6g} "
                        f"+ shipped {shipped:.6g}"
                    )
        received = model.received_by_destination()
        for dest, units in received.items():
            shipped = sum(v for (c, d), v in self.shipped.items() if d == dest)
            if abs(units - shipped) > rel_tol * max(1.0, shipped):
                raise ConservationError(
                    f"{dest}: receivers booked {units:.6g} units, vendors shipped {shipped:.6g}"
                )
        paid = self.total_paid()
        got = model.total_received_usd()
        if abs(paid - got) > rel_tol * max(1.0, paid):
            raise ConservationError(f"money: paid {paid:.6g} USD != received {got:.6g} USD")
