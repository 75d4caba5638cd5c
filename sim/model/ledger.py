"""Conservation of chips and money, checked every month.

Agents book their own accounts (a vendor its production, inventory and receipts; a buyer what it
received; a regulator its fees). The ledger keeps the *other side* of every transaction: what
was paid, by whom, and which channel each chip left through. :meth:`Ledger.check` compares the two
sides, replication by replication, so a bookkeeping error anywhere in the model shows up as a
failed check in the month it happens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from sim.world.actors import DESTINATIONS


class ConservationError(AssertionError):
    """Chips or money were created or lost by the model's bookkeeping."""


class Producer(Protocol):
    """A vendor's own books, as the check reads them (per chip, per replication)."""

    chips: tuple[str, ...]
    produced: Mapping[str, np.ndarray]
    inventory: Mapping[str, np.ndarray]


class Accounts(Protocol):
    """The receivers' side of every transaction: what the check compares the ledger with."""

    vendors: Sequence[Producer]

    def received_by_destination(self) -> dict[str, np.ndarray]:
        """Units each kind of receiver has booked, per replication."""
        ...

    def total_received_usd(self) -> np.ndarray:
        """Money every payee has booked, per replication."""
        ...


class Ledger:
    """Running totals of payments and chip movements, from the payer's side, per replication."""

    def __init__(self, replications: int) -> None:
        self.replications = replications
        self.paid_usd: defaultdict[str, np.ndarray] = defaultdict(self._zeros)
        self.shipped: defaultdict[tuple[str, str], np.ndarray] = defaultdict(self._zeros)

    def _zeros(self) -> np.ndarray:
        return np.zeros((self.replications, 1))

    def payment(self, payer: str, amount: np.ndarray) -> None:
        """Record that ``payer`` (a class of agent) paid ``amount`` USD (per replication)."""
        self.paid_usd[payer] = self.paid_usd[payer] + amount

    def shipment(self, chip: str, destination: str, units: np.ndarray) -> None:
        """Record ``units`` of ``chip`` leaving a vendor towards ``destination``."""
        self.shipped[chip, destination] = self.shipped[chip, destination] + units

    def total_paid(self) -> np.ndarray:
        """All money paid so far by every payer, per replication."""
        return sum(self.paid_usd.values(), self._zeros())

    def check(self, model: Accounts, rel_tol: float = 1e-9) -> None:
        """Raise :class:`ConservationError` if chips or money do not balance in any replication.

        Chips: for every chip, units produced = units in inventory + units shipped to exactly one
        destination (and the destinations agree with what the receivers booked).
        Money: everything paid = vendors' receipts + governments' fees + intermediaries' receipts.
        """
        for vendor in model.vendors:
            for chip in vendor.chips:
                shipped = sum((self.shipped[chip, d] for d in DESTINATIONS), self._zeros())
                produced, held = vendor.produced[chip], vendor.inventory[chip]
                _balance(f"{chip}: produced", produced, held + shipped, rel_tol,
                         f"inventory + shipped ({held.ravel()} + {shipped.ravel()})")
        received = model.received_by_destination()
        for dest, units in received.items():
            shipped = sum((v for (c, d), v in self.shipped.items() if d == dest), self._zeros())
            _balance(f"{dest}: receivers booked", units, shipped, rel_tol, "units vendors shipped")
        _balance("money: paid", self.total_paid(), model.total_received_usd(), rel_tol,
                 "USD received")


def _balance(what: str, left: np.ndarray, right: np.ndarray, rel_tol: float, other: str) -> None:
    left, right = np.broadcast_arrays(np.asarray(left, float), np.asarray(right, float))
    scale = np.maximum(1.0, np.maximum(np.abs(left), np.abs(right)))
    bad = np.abs(left - right) > rel_tol * scale
    if bad.any():
        r = int(np.flatnonzero(bad.ravel())[0])
        raise ConservationError(f"replication {r}: {what} {left.ravel()[r]:.6g} !="
                                f" {other} {right.ravel()[r]:.6g}")
