"""The grey market: the premium at which buyers' demand for smuggled chips meets supply.

Buyers' demand for the grey option at a candidate price is their CES share of it at that price;
smugglers' supply is the units they expect to deliver at that price
(:meth:`~sim.model.agents.smugglers.SmugglerNetwork.supply_curve`). The clearing premium is
found on a grid of premiums over the mix's list price (dense near zero), interpolated between
the last grid point with excess demand and the first without.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.market.choice import COST_SCALE

if TYPE_CHECKING:
    from sim.model.agents.smugglers import SmugglerNetwork
    from sim.model.market.options import Options

#: Premium grid on which the grey market is cleared: dense near zero.
GRID_POINTS = 64
#: Buyers per block when grey-market demand is tabulated over the grid (see grey_demand).
GREY_BLOCK_ROWS = 1024


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


class GreyMarket:
    """Clears the grey market each month against the smugglers' supply curve.

    Args:
        smugglers: the smugglers, whose supply curve and chip mix set the price.
        options: the column layout and fit of buyers' options.
        max_premium: highest premium considered (``smuggling.max_premium``).
        elasticity: buyers' CES exponent (``buyers.price_elasticity``).

    """

    def __init__(self, smugglers: SmugglerNetwork, options: Options, max_premium: float,
                 elasticity: float) -> None:
        self.smugglers = smugglers
        self.options = options
        self.elasticity = elasticity
        self.grid = max_premium * np.linspace(0.0, 1.0, GRID_POINTS) ** 2

    def clear(self, free: np.ndarray, table: np.ndarray, mult_grey: np.ndarray,
              avail_grey: np.ndarray) -> float:
        """Premium at which buyers' demand for smuggled chips meets smugglers' deliveries.

        Args:
            free: per buyer, H100e it is free to place (beyond mandated domestic floors).
            table: the CES weights of every option (the grey column at list price).
            mult_grey: per buyer, the grey option's effective-cost multiplier.
            avail_grey: per buyer, the grey option's availability.

        """
        theta = self.elasticity
        base = self.smugglers.mix_list_price()
        prices = base * (1.0 + self.grid)
        k = self.options.k_grey
        other = table.sum(axis=1) - table[:, k]
        perf = self.options.perf_floor[:, k]
        # (price x mult / perf)^-theta splits into a buyer part and a price part: no (n, G) power
        buyer = avail_grey * (mult_grey / perf) ** -theta
        demand = grey_demand(free, other, buyer, (prices / COST_SCALE) ** -theta, perf)
        supply = self.smugglers.supply_curve(prices)
        excess = demand - supply
        if excess[0] <= 0:
            return 0.0
        above = np.nonzero(excess <= 0)[0]
        if above.size == 0:
            return float(self.grid[-1])
        j = int(above[0])
        t = excess[j - 1] / (excess[j - 1] - excess[j])
        return float(self.grid[j - 1] + t * (self.grid[j] - self.grid[j - 1]))
