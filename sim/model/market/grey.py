"""The grey market: the premium at which buyers' demand for smuggled chips meets supply.

Buyers' demand for the grey option at a candidate price is their nested CES share of it at that
price (:func:`~sim.model.market.choice.nest`, the same shares the choice then places);
smugglers' supply is the units they expect to deliver at that price
(:meth:`~sim.model.agents.smugglers.SmugglerNetwork.supply`). Demand falls and supply rises with
the price, so the clearing premium over the mix's list price is the root of demand minus supply
on ``[0, smuggling.max_premium]``, found for every replication at once: 0 when supply at list
price already covers demand, the top when demand exceeds supply even there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.model.market.choice import COST_SCALE

if TYPE_CHECKING:
    from sim.model.agents.smugglers import SmugglerNetwork
    from sim.model.market.options import Options

#: Most steps of the root search for the clearing premium (Illinois regula falsi, see _root).
ROOT_STEPS = 100
#: A replication's root search stops when its step is below this, relative to the premium.
ROOT_TOLERANCE = 1e-12


class GreyMarket:
    """Clears the grey market each month against the smugglers' supply.

    Args:
        smugglers: the smugglers, whose supply and chip mix set the price.
        options: the column layout and fit of buyers' options.
        max_premium: highest premium considered, per replication (R, 1).
        elasticity: buyers' CES exponent, per replication (R, 1).
        similarity: the nests' dissimilarity parameter lambda (:func:`~.choice.nest`), (R, 1).

    """

    def __init__(self, smugglers: SmugglerNetwork, options: Options, max_premium: np.ndarray,
                 elasticity: np.ndarray, similarity: np.ndarray) -> None:
        self.smugglers = smugglers
        self.options = options
        self.max_premium = max_premium
        self.elasticity = elasticity
        self.similarity = similarity
        self.premium = np.zeros_like(max_premium, dtype=float)  # last month's (R, 1)

    def clear(self, free: np.ndarray, table: np.ndarray, mult_grey: np.ndarray,
              open_grey: np.ndarray, terms: tuple[np.ndarray, np.ndarray],
              spill: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Premium (R, 1) at which buyers' demand for smuggled chips meets expected deliveries.

        Args:
            free: per profile, the H100e its needs are free to place (beyond mandated domestic
                floors), (R, P).
            table: per profile, the CES raw weights of every option (the grey column is not
                read: its price is what is sought), (R, P, K).
            mult_grey: per profile, the grey option's effective-cost multiplier (R, P).
            open_grey: per profile, whether it may buy smuggled chips (R, P).
            terms: this month's detection and unit cost each smuggler faces (its route terms).
            spill: the compute buyers turned away by short options place elsewhere
                (:mod:`~.rationing`): per profile, H100e (R, P), and the raw weights it is
                placed by (R, P, K): the short options' weights scaled by their shares taken,
                standing for waiting (``Rationing.chances``).

        """
        base = self.smugglers.mix_list_price()
        parts = [self._demand(free, table, mult_grey, open_grey)]
        if spill is not None:
            parts.append(self._demand(*spill, mult_grey, open_grey))

        def excess(premium: np.ndarray) -> np.ndarray:
            price = base * (1.0 + premium)
            demand = sum(part(price) for part in parts)
            return demand - self.smugglers.supply(price, terms)

        self.premium = _root(excess, np.zeros_like(base),
                             np.broadcast_to(self.max_premium, base.shape).astype(float))
        return self.premium

    def _demand(self, free: np.ndarray, table: np.ndarray, mult_grey: np.ndarray,
                open_grey: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """Smuggled units (R, 1) buyers want at a price, placing ``free`` H100e by ``table``."""
        theta, lam = self.elasticity, self.similarity
        k = self.options.k_grey
        domestic = table[:, :, self.options.domestic_cols].sum(axis=2)
        # the rest of the US nest (at least 0: the subtraction can round a hair below it)
        other = np.maximum(table.sum(axis=2) - table[:, :, k] - domestic, 0.0)
        perf = self.options.profile_perf_floor[:, :, k]
        # The grey weight is (price x mult / perf)^-theta = b x, with a buyer part b and a price
        # part x = (price / COST_SCALE)^-theta. Its nested share (choice.nest) is
        # b x (o + b x)^(lambda-1) / ((o + b x)^lambda + d^lambda), o the other US options'
        # weights and d the domestic parts'; a profile's smuggled units are free / perf times it.
        buyer = open_grey * (mult_grey / perf) ** -theta
        w = np.where(buyer > 0, free / perf, 0.0)
        d_lam = domestic ** lam

        def demand(price: np.ndarray) -> np.ndarray:
            bx = buyer * (price / COST_SCALE) ** -theta
            us = other + bx
            share = np.divide(bx * us ** (lam - 1.0), us ** lam + d_lam,
                              out=np.zeros_like(us), where=us > 0)
            return (w * share).sum(axis=1, keepdims=True)

        return demand


def _root(f: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray
          ) -> np.ndarray:
    """Where the falling function ``f`` crosses 0 on ``[low, high]``, per replication.

    ``low`` where ``f(low) <= 0`` (supply covers demand already), ``high`` where
    ``f(high) > 0``; in between, the Illinois variant of regula falsi (Dowell and Jarratt
    1971): it keeps the root bracketed like bisection but converges superlinearly. A
    replication stops moving once its step falls below ``ROOT_TOLERANCE`` (relative), so its
    answer depends on its own numbers only, not on the others stepped beside it.
    """
    f_low, f_high = f(low), f(high)
    inside = (f_low > 0) & (f_high <= 0)
    a, fa, b, fb = low, f_low, high, f_high
    done = ~inside
    for _ in range(ROOT_STEPS):
        span = np.where(done | (fb == fa), 1.0, fb - fa)
        m = np.where(done, b, np.clip(b - fb * (b - a) / span, low, high))
        fm = f(m)
        crossed = (fm > 0) != (fb > 0)  # the root lies between b and m: keep b as the end
        a = np.where(done, a, np.where(crossed, b, a))
        fa = np.where(done, fa, np.where(crossed, fb, 0.5 * fa))
        done = done | (np.abs(m - b) <= ROOT_TOLERANCE * (1.0 + np.abs(b))) | (fm == 0)
        b, fb = m, np.where(done, fb, fm)
        if done.all():
            break
    return np.where(f_low <= 0, low, np.where(f_high > 0, high, b))
