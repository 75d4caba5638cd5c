"""The grey market: the premium at which buyers' demand for smuggled chips meets supply.

Buyers' demand for the grey option at a candidate price is their CES share of it at that price;
smugglers' supply is the units they expect to deliver at that price
(:meth:`~sim.model.agents.smugglers.SmugglerNetwork.supply`). Demand falls and supply rises with
the price, so the clearing premium over the mix's list price is found by bisection on
``[0, smuggling.max_premium]``, every replication at once: 0 when supply at list price already
covers demand, the top when demand exceeds supply even there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.market.choice import COST_SCALE

if TYPE_CHECKING:
    from sim.model.agents.smugglers import SmugglerNetwork
    from sim.model.market.options import Options

#: Bisection steps: the premium is found to within ``max_premium / 2**BISECTIONS``.
BISECTIONS = 30


class GreyMarket:
    """Clears the grey market each month against the smugglers' supply.

    Args:
        smugglers: the smugglers, whose supply and chip mix set the price.
        options: the column layout and fit of buyers' options.
        max_premium: highest premium considered, per replication (R, 1).
        elasticity: buyers' CES exponent, per replication (R, 1).

    """

    def __init__(self, smugglers: SmugglerNetwork, options: Options, max_premium: np.ndarray,
                 elasticity: np.ndarray) -> None:
        self.smugglers = smugglers
        self.options = options
        self.max_premium = max_premium
        self.elasticity = elasticity

    def clear(self, free: np.ndarray, table: np.ndarray, mult_grey: np.ndarray,
              open_grey: np.ndarray, terms: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Premium (R, 1) at which buyers' demand for smuggled chips meets expected deliveries.

        Args:
            free: per buyer, H100e it is free to place (beyond mandated domestic floors), (R, n).
            table: the CES weights of every option (the grey column at list price), (R, n, K).
            mult_grey: per buyer, the grey option's effective-cost multiplier (R, n).
            open_grey: per buyer, whether it may buy smuggled chips (R, n).
            terms: this month's detection and unit cost per route (smugglers' route terms).

        """
        theta = self.elasticity
        k = self.options.k_grey
        other = table.sum(axis=2) - table[:, :, k]
        perf = self.options.perf_floor[:, :, k]
        # (price x mult / perf)^-theta splits into a buyer part and a price part
        buyer = open_grey * (mult_grey / perf) ** -theta
        base = self.smugglers.mix_list_price()

        def excess(premium: np.ndarray) -> np.ndarray:
            price = base * (1.0 + premium)
            g = buyer * (price / COST_SCALE) ** -theta
            both = other + g
            share = np.divide(g, both, out=np.zeros_like(g), where=both > 0)
            demand = (free * share / perf).sum(axis=1, keepdims=True)
            return demand - self.smugglers.supply(price, terms)

        low = np.zeros_like(base)
        high = np.broadcast_to(self.max_premium, base.shape).astype(float)
        at_list = excess(low) > 0
        at_top = excess(high) > 0
        for _ in range(BISECTIONS):
            mid = 0.5 * (low + high)
            above = excess(mid) > 0
            low = np.where(above, mid, low)
            high = np.where(above, high, mid)
        return np.where(~at_list, 0.0, np.where(at_top, self.max_premium, 0.5 * (low + high)))
