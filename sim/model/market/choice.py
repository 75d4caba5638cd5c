"""How buyers split their demand across options: nested CES shares of effective cost per H100e.

Each buyer weighs an option by ``open x (price x multiplier / fit)^-elasticity``: cheaper
options per H100-equivalent win most but not all of the demand (a CES, logit-in-log-cost form).
The options built on US chips form one nest and the domestic parts another, so demand that
loses one option stays more within its nest than in proportion (:func:`nest`).
Domestic-mandate floors are placed on the domestic parts alone. Buyers then order ahead of
restrictions they know or hear of (stockpiling), and no buyer spends more in a month on its
ordinary purchases than its budget allows (a stockpile is paid when it is delivered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.kernels import spend_per_need, spread_to_needs
from sim.world.catalogue import US_CHIPS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sim.model.market.options import Options

#: USD per unit of effective cost in the CES power (numerical scaling only: it keeps
#: cost**-elasticity within floating-point range; the shares do not depend on it).
COST_SCALE = 1e4


def weights(price: np.ndarray, mult: np.ndarray, is_open: np.ndarray, perf_floor: np.ndarray,
            elasticity: np.ndarray) -> np.ndarray:
    """CES weight of each buyer's options: open x effective cost^-elasticity, (R, n, K).

    ``price`` (R, K); ``mult``, ``is_open``, ``perf_floor`` (R, P, K) per profile (or any
    second axis); ``elasticity`` (R, 1).
    """
    cost = price[:, None, :] * mult / perf_floor / COST_SCALE
    return is_open * cost ** -elasticity[:, :, None]


def nest(table: np.ndarray, domestic_cols: slice, similarity: np.ndarray) -> np.ndarray:
    """Nested CES: raw weights (R, P, K) to weights whose shares are the nested shares.

    Two nests: the domestic parts, and everything built on US chips (legal imports, cloud,
    front companies, the grey market), which share one software ecosystem. Within a nest,
    options compete by the CES weights; between the nests, by the nests' sums raised to
    ``similarity`` (lambda, (R, 1), 0 < lambda <= 1; McFadden's dissimilarity parameter). An
    option's share is then ``w W^(lambda-1) / sum_nests W^lambda``: so its weight is
    multiplied by its nest's ``W^(lambda-1)``. At lambda = 1 this is the plain CES; below 1,
    demand that loses a US option stays more within the US ecosystem than the plain CES's
    proportional substitution (independence of irrelevant alternatives) allows.
    """
    out = table.copy()
    lam = similarity[:, :, None]
    us = np.ones(table.shape[2], dtype=bool)
    us[domestic_cols] = False
    for cols in (us, ~us):
        total = table[:, :, cols].sum(axis=2, keepdims=True)
        scale = np.power(total, lam - 1.0, out=np.zeros_like(total), where=total > 0)
        out[:, :, cols] *= scale
    return out


def planned_units(table: np.ndarray, free: np.ndarray, mandated: np.ndarray, options: Options,
                  profile_of: np.ndarray) -> np.ndarray:
    """Units of each option each need plans to get (before stockpiling and budget), (R, K, n).

    ``free`` H100e (R, n) are split by their profile's CES shares (``table``: weights per
    profile, (R, P, K)), ``mandated`` H100e (domestic-mandate floors) across the domestic parts
    alone, by the domestic parts' weights.
    """
    total = table.sum(axis=2, keepdims=True)
    share = np.divide(table, total, out=np.zeros_like(table), where=total > 0)
    dom_w = table[:, :, options.domestic_cols]
    dom_share = dom_w / np.maximum(dom_w.sum(axis=2, keepdims=True), 1e-300)
    return spread_to_needs(share, dom_share, free, mandated, profile_of,
                           options.units_per_h100e, options.domestic_cols.start)


def budget_scale(units: np.ndarray, price: np.ndarray, trend: np.ndarray,
                 budget_multiple: np.ndarray, h100_price: np.ndarray) -> np.ndarray:
    """Share of planned purchases each need can afford this month (R, n).

    ``units`` (R, K, n), ``price`` (R, K). Spending is capped at ``buyers.budget_multiple``
    times the need's normal spend (its trend demand at the H100's price). Pass the ordinary
    purchases: a stockpile ordered ahead is paid on delivery, bounded by its own aim.
    """
    spend = spend_per_need(units, price)
    cap = budget_multiple * trend * h100_price
    return np.minimum(1.0, np.divide(cap, spend, out=np.ones_like(cap), where=spend > 0))


def stockpile_units(usual: np.ndarray, now: np.ndarray, is_open: np.ndarray,
                    profile_of: np.ndarray, month: int,
                    coming: Mapping[str, tuple[int, np.ndarray | float]],
                    stockpile_months: np.ndarray, ordered: np.ndarray) -> dict[int, np.ndarray]:
    """Extra legal units buyers order ahead of restrictions they know or hear of.

    Returns, per US part (its index in ``US_CHIPS``) with a restriction coming, the extra units
    of each need (R, n); most months no restriction is coming and nothing is returned.

    The stockpile a buyer aims at is a number of months of its usual purchases of the chip - or
    of this month's, for a chip that has only just become available (pent-up orders, FACTS F10)
    - times its credence. What it has already ordered ahead of this restriction counts against
    that aim, and the rest is spread over the months left, so the whole stockpile is ordered
    once, not once a month.

    Args:
        usual: per US part and need, usual monthly purchases (units), (R, chips, n).
        now: per US part and need, this month's planned purchases (units).
        is_open: per buyer profile and US part, whether it may order the part now
            (R, profiles, chips).
        profile_of: each need's profile (n,).
        month: the current month.
        coming: chip -> (month its restriction takes effect, credence buyers give it).
        stockpile_months: per need, months of usual purchases bought ahead of a certain
            restriction.
        ordered: per US part and need, units already ordered ahead of its coming restriction
            (R, chips, n).

    """
    extra: dict[int, np.ndarray] = {}
    for chip, (effective, credence) in coming.items():
        if chip not in US_CHIPS:
            continue
        i = US_CHIPS.index(chip)
        aim = credence * stockpile_months * np.maximum(usual[:, i, :], now[:, i, :])
        months_left = max(effective - month, 1)
        extra[i] = (np.maximum(aim - ordered[:, i, :], 0.0) / months_left
                    * np.take(is_open[:, :, i], profile_of, axis=1))
    return extra
