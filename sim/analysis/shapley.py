"""Shapley values of a cooperative game: exact by subsets, or estimated by sampled permutations.

A game has ``k`` players and a value ``v(S)`` for every coalition ``S`` of them; here a
coalition is a bit mask (player ``i`` is in ``S`` when bit ``i`` is set) and ``v(S)`` an array
of any shape (one number per seed and metric, say), so that one pass gives every seed's and
every metric's values at once. Player ``i``'s Shapley value is its marginal contribution
``v(S + i) - v(S)`` averaged over the orders in which the players can join (Shapley 1953)::

    phi_i = sum over S without i of |S|! (k - |S| - 1)! / k! * (v(S + i) - v(S))

The values add up to ``v(all) - v(none)`` (efficiency), two players that contribute the same to
every coalition get the same value (symmetry), and a player that never changes ``v`` gets zero
(null player).

* :func:`exact` - the sum over all ``2**k`` coalitions (practical up to ``k`` of about 10);
* :func:`sample_orders` and :func:`sampled` - the average over ``m`` orders drawn at random
  (Castro, Gomez and Tejada 2009): each order's contributions add up to ``v(all) - v(none)``,
  so efficiency still holds exactly; the estimate's standard error is the spread of the
  orders' contributions over ``sqrt(m)``;
* :func:`coalitions_exact` and :func:`coalitions_of` - which coalitions each needs evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

Values = Mapping[int, np.ndarray]


def full(k: int) -> int:
    """The coalition of all ``k`` players."""
    return (1 << k) - 1


def coalitions_exact(k: int) -> list[int]:
    """Every coalition of ``k`` players: ``0 .. 2**k - 1``."""
    return list(range(1 << k))


def exact(value: Values, k: int) -> np.ndarray:
    """Exact Shapley values of ``k`` players.

    Args:
        value: coalition (bit mask) -> its value, for every coalition of :func:`coalitions_exact`.
        k: number of players.

    Returns:
        Shape ``(k, *shape of a value)``: player ``i``'s Shapley value in row ``i``.

    """
    weights = [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k)
               for s in range(k)]
    shape = np.shape(value[0])
    phi = np.zeros((k, *shape))
    for mask in range(1 << k):
        size = mask.bit_count()
        for i in range(k):
            if not mask >> i & 1:
                phi[i] += weights[size] * (value[mask | 1 << i] - value[mask])
    return phi


def sample_orders(k: int, count: int, seed: int) -> np.ndarray:
    """``count`` orders of ``k`` players drawn uniformly at random: shape ``(count, k)``."""
    rng = np.random.default_rng(seed)
    return np.array([rng.permutation(k) for _ in range(count)], dtype=np.int64).reshape(count, k)


def coalitions_of(orders: np.ndarray) -> list[int]:
    """The coalitions the orders pass through (every prefix, the empty one included), sorted."""
    seen = {0}
    for order in orders:
        mask = 0
        for player in order:
            mask |= 1 << int(player)
            seen.add(mask)
    return sorted(seen)


def contributions(value: Values, orders: np.ndarray) -> np.ndarray:
    """Each player's marginal contribution in each order: ``(orders, k, *shape of a value)``."""
    count, k = orders.shape
    out = np.zeros((count, k, *np.shape(value[0])))
    for row, order in enumerate(orders):
        mask = 0
        for player in order:
            joined = mask | 1 << int(player)
            out[row, int(player)] = value[joined] - value[mask]
            mask = joined
    return out


def sampled(value: Values, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shapley values estimated from sampled orders, and their contributions.

    Args:
        value: coalition -> value, for every coalition of :func:`coalitions_of` ``(orders)``.
        orders: from :func:`sample_orders`.

    Returns:
        ``(phi, contributions)``: ``phi`` of shape ``(k, *shape of a value)`` is the mean of the
        contributions (``(orders, k, *shape)``) over the orders.

    """
    each = contributions(value, orders)
    return each.mean(axis=0), each


def standard_error(each: np.ndarray) -> np.ndarray:
    """The standard error of the mean of contributions over orders (axis 0); 0 for one order."""
    count = each.shape[0]
    if count < 2:
        return np.zeros(each.shape[1:])
    return each.std(axis=0, ddof=1) / math.sqrt(count)


__all__ = ["coalitions_exact", "coalitions_of", "contributions", "exact", "full",
           "sample_orders", "sampled", "standard_error"]
