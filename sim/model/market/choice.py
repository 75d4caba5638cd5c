"""How buyers split their demand across options: CES shares of effective cost per H100e.

Each buyer weighs an option by ``availability x (price x multiplier / fit)^-elasticity``: cheaper
options per H100-equivalent win most but not all of the demand (a CES, logit-in-log-cost form).
Domestic-mandate floors are placed on the domestic parts alone. Buyers then order ahead of
restrictions they know or hear of (stockpiling), and no buyer spends more in a month than its
budget allows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.world.catalogue import CHIPS, US_CHIPS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sim.model.agents.buyers import BuyerBook
    from sim.model.market.options import Options

#: USD per unit of effective cost in the CES power (numerical scaling only: it keeps
#: cost**-elasticity within floating-point range; the shares do not depend on it).
COST_SCALE = 1e4


def weights(price: np.ndarray, mult: np.ndarray, avail: np.ndarray, perf_floor: np.ndarray,
            elasticity: float) -> np.ndarray:
    """CES weight of each buyer's options: availability x effective cost^-elasticity.

    ``perf_floor`` holds the fit of the same columns as ``mult`` and ``avail`` (all options, or
    a run of them when only those need working out); each cell is the same expression either way.
    """
    cost = price[None, :] * mult / perf_floor / COST_SCALE
    return avail * cost ** -elasticity


def reprice_grey(table: np.ndarray, price: np.ndarray, mult: np.ndarray, avail: np.ndarray,
                 options: Options, elasticity: float) -> None:
    """Update the weights ``table`` in place for a new grey price in ``price``.

    Only the grey column depends on it, and the power is most of the cost of the whole table,
    so only that column is worked out again (with the same expression: same bits).
    """
    k = slice(options.k_grey, options.k_grey + 1)
    table[:, k] = weights(price[k], mult[:, k], avail[:, k], options.perf_floor[:, k], elasticity)


def planned_units(table: np.ndarray, free: np.ndarray, mandated: np.ndarray, options: Options
                  ) -> np.ndarray:
    """Units of each option each buyer plans to get (before stockpiling and budget).

    ``free`` H100e are split by the CES shares, ``mandated`` H100e (domestic-mandate floors)
    across the domestic parts alone. The (buyers x options) tables are worked on in place and
    through column slices (views) rather than copies: the arithmetic per cell is the same, the
    memory traffic much smaller with many buyers.
    """
    total = table.sum(axis=1, keepdims=True)
    h100e = np.divide(table, total, out=np.zeros_like(table), where=total > 0)
    h100e *= free[:, None]  # the shares, times what each buyer is free to place
    dom_w = table[:, options.domestic_cols]
    dom_share = dom_w / np.maximum(dom_w.sum(axis=1, keepdims=True), 1e-300)
    h100e[:, options.domestic_cols] += mandated[:, None] * dom_share
    return np.divide(h100e, options.perf_floor, out=h100e)  # H100e -> units


def budget_scale(units: np.ndarray, price: np.ndarray, book: BuyerBook, budget_multiple: float
                 ) -> np.ndarray:
    """Share of planned purchases each buyer can afford this month (normal spend: the trend)."""
    spend = (units * price[None, :]).sum(axis=1)
    cap = budget_multiple * book.trend * CHIPS["H100"].list_price_usd
    return np.minimum(1.0, np.divide(cap, spend, out=np.ones_like(cap), where=spend > 0))


def stockpile_units(usual: np.ndarray, now: np.ndarray, avail: np.ndarray, month: int,
                    coming: Mapping[str, tuple[int, float]], stockpile_months: float
                    ) -> np.ndarray:
    """Extra legal units buyers order ahead of restrictions they know or hear of.

    The size is a number of months of the buyer's usual purchases of the chip - or of this
    month's, for a chip that has only just become available (pent-up orders, FACTS F10).

    Args:
        usual: per buyer and US part, usual monthly purchases (units).
        now: per buyer and US part, this month's planned purchases (units).
        avail: per buyer and option, this month's chance of access.
        month: the current month.
        coming: chip -> (month its restriction takes effect, credence buyers give it).
        stockpile_months: months of usual purchases bought ahead of a certain restriction.

    """
    basis = np.maximum(usual, now)
    extra = np.zeros_like(usual)
    for chip, (effective, credence) in coming.items():
        if chip not in US_CHIPS:
            continue
        i = US_CHIPS.index(chip)
        months_left = max(effective - month, 1)
        extra[:, i] = credence * stockpile_months * basis[:, i] / months_left * avail[:, i]
    return extra
