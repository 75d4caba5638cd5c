"""Rationing: options their suppliers cannot serve this month, and the demand that spills over.

Every option with a limit on what it can supply in a month is rationed the same way: a US part
when its vendor's order book is full (``OrderBook.room``), a domestic part when its makers'
inventory runs short (HBM and foundry limits, FACTS F12 and F17), renting offshore when the
clouds cannot add the GPUs (their room to expand), buying through front companies when their
capacity is taken. Each need's planned units of a rationed option are cut by the option's share
taken (its room over all that is wanted), and the compute the cut units were to bring spills
over to the need's other options in the same month (Benassy's effective demand): the buyer
chooses again with each short option's weight scaled by its share taken, the chance that
waiting for it is served (:meth:`Rationing.chances`), and the short options' shares of that
choice wait - that part of the need stays unmet. The spill reaches the grey market too, whose
premium is set with it (:mod:`~.grey`). Domestic-mandate floors do not spill: a state data
centre refused a domestic part waits (its need stays unmet), it does not buy smuggled chips
instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.model.market.choice import planned_units

if TYPE_CHECKING:
    from sim.model.market.options import Options


def share_taken(room: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Share of ``wanted`` that ``room`` covers, in [0, 1] (1 where nothing is wanted).

    A room a hair below 0 (an inventory shipped to the last unit, by rounding) takes nothing:
    a negative share would turn the weights :meth:`Rationing.chances` scales by it negative.
    """
    return np.minimum(1.0, np.divide(np.maximum(room, 0.0), wanted, out=np.ones_like(room),
                                     where=wanted > 0))


@dataclass(frozen=True)
class Rationing:
    """How much of each option with a supply limit its suppliers can take this month.

    Attributes:
        cols: the options with a supply limit, as option indices (limited,).
        taken: per such option, the share of what buyers want that its suppliers take
            (R, limited), 1 where nothing is short.

    """

    cols: np.ndarray
    taken: np.ndarray

    @classmethod
    def of(cls, cols: np.ndarray, room: np.ndarray, units: np.ndarray) -> Rationing:
        """The shares taken when buyers plan ``units`` (R, K, n) and suppliers have ``room``."""
        return cls(cols, share_taken(room, units[:, cols, :].sum(axis=2)))

    @property
    def any(self) -> bool:
        """Whether any option is short this month."""
        return bool((self.taken < 1.0).any())

    def chances(self, raw: np.ndarray) -> np.ndarray:
        """The CES weights (R, P, K) a buyer turned away chooses again by.

        Each short option's weight now stands for waiting for it, and is scaled by its share
        taken: the chance that waiting is served. A buyer does not wait for a part its makers
        can supply a tenth of what is wanted as it would for one short by a tenth; the options
        with room keep their weights. (Before December 2026's fourth session the short options
        kept their full weights, so a cheap part made in small numbers - the SV1 - held much of
        the demand turned away by the H20 rule in waiting.)
        """
        out = raw.copy()
        out[:, :, self.cols] *= self.taken[:, None, :]
        return out

    def spill(self, table: np.ndarray, lost: np.ndarray, options: Options,
              profile_of: np.ndarray) -> np.ndarray:
        """Units (R, K, n) the H100e ``lost`` (R, n) to short options buy elsewhere.

        A buyer turned away chooses again by the nested weights ``table`` (R, P, K) of
        :meth:`chances`, in which the short options' weights stand for waiting for them: each
        other option gets its share, and the short options' shares wait (unmet need, which
        returns as backlog or is abandoned). So an option buyers hardly wanted - smuggled chips
        for a state data centre - is not forced on them because their first choices ran short.
        """
        others = table.copy()
        others[:, :, self.cols] *= (self.taken >= 1.0)[:, None, :]
        total = table.sum(axis=2)
        found = np.divide(others.sum(axis=2), total, out=np.zeros_like(total), where=total > 0)
        placed = lost * np.take(found, profile_of, axis=1)
        return planned_units(others, placed, np.zeros_like(placed), options, profile_of)

    def cut(self, units: np.ndarray, perf: np.ndarray) -> np.ndarray:
        """Cut ``units`` (R, K, n) in place to what suppliers take; return the H100e cut (R, n).

        ``perf``: H100e per unit of each option for each need (R, K, n).
        """
        refused = units[:, self.cols, :] * (1.0 - self.taken)[:, :, None]
        units[:, self.cols, :] -= refused
        return (refused * perf[:, self.cols, :]).sum(axis=1)
