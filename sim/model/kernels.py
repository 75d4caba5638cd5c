"""Compiled loops for the model's hottest passes, bit for bit what the numpy they replace does.

A month's market works on tables of (replications, options, needs) - about a million numbers
at the runner's batch of 64 - and numpy passes over them several times (a temporary per
operation). These loops pass once. Each does the same floating-point operations in the same
order as the numpy expression quoted in its docstring (numba's default: no fast-math, so no
reassociation and no fused multiply-add), so the model's numbers do not change; the tests
compare both ways on random tables and the runs' bytes.

numba is imported and the loops compiled (or loaded from the cache next to this file) on first
use: importing numba costs ~60 MB and ~0.15 s, which processes that never step the model - the
command line, a run's main process while worker processes simulate - should not pay.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_AGENT = np.uint64(0xD1B54A32D192ED03)
_UNIT = 2.0**-53


def keyed_uniform(stream: np.ndarray, month_key: np.uint64, start: int, n: int) -> np.ndarray:
    """Keyed uniform draws (R, n): ``mix64(mix64(stream + month_key) + (i + 1) * G2) >> 11``.

    ``stream`` is each replication's purpose key (R,); :meth:`sim.model.draws.Draws.uniform`
    documents the scheme.
    """
    return _compiled().keyed_uniform(stream, month_key, start, n)


def spread_to_needs(share: np.ndarray, dom_share: np.ndarray, free: np.ndarray,
                    mandated: np.ndarray, profile_of: np.ndarray, units_per_h100e: np.ndarray,
                    dom_start: int) -> np.ndarray:
    """Units of each option each need plans, (R, K, n), from per-profile shares.

    As numpy: ``h = take(share^T, profile_of) * free``; on the domestic columns
    ``h += mandated * take(dom_share^T, profile_of)``; then ``h * take(units_per_h100e^T,
    profile_of)``. ``share``, ``units_per_h100e`` (R, P, K) and ``dom_share`` (R, P, domestic)
    are per profile; ``free``, ``mandated`` (R, n) per need.
    """
    return _compiled().spread_to_needs(share, dom_share, free, mandated, profile_of,
                                       units_per_h100e, dom_start)


def spend_per_need(units: np.ndarray, price: np.ndarray) -> np.ndarray:
    """What each need's plan costs, (R, n): ``(units * price[:, :, None]).sum(axis=1)``.

    Summed over options in order, starting from the first option's term, as numpy's reduction
    over a middle axis does.
    """
    return _compiled().spend_per_need(units, price)


def blend_into(average: np.ndarray, latest: np.ndarray, weight: np.ndarray) -> None:
    """Exponential average in place, (R, m, n): ``average *= 1 - w; average += w * latest``."""
    _compiled().blend_into(average, latest, weight)


@functools.cache
def _compiled() -> SimpleNamespace:
    """The loops below, compiled by numba (cached on disk after the first compilation)."""
    import numba

    jit = numba.njit(cache=True, nogil=True, error_model="numpy")
    return SimpleNamespace(keyed_uniform=jit(_keyed_uniform),
                           spread_to_needs=jit(_spread_to_needs),
                           spend_per_need=jit(_spend_per_need), blend_into=jit(_blend_into))


# --- the loops, as plain Python (numba compiles them; they also run, slowly, without it) ---

def _keyed_uniform(stream: np.ndarray, month_key: np.uint64, start: int, n: int) -> np.ndarray:
    out = np.empty((stream.shape[0], n))
    for r in range(stream.shape[0]):
        z = stream[r] + month_key  # SplitMix64's output mix, written out (twice)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        month_base = z ^ (z >> np.uint64(31))
        for i in range(n):
            z = month_base + np.uint64(start + i + 1) * _AGENT
            z = (z ^ (z >> np.uint64(30))) * _M1
            z = (z ^ (z >> np.uint64(27))) * _M2
            bits = (z ^ (z >> np.uint64(31))) >> np.uint64(11)
            out[r, i] = np.float64(bits) * _UNIT
    return out


def _spread_to_needs(share: np.ndarray, dom_share: np.ndarray, free: np.ndarray,
                     mandated: np.ndarray, profile_of: np.ndarray, units_per_h100e: np.ndarray,
                     dom_start: int) -> np.ndarray:
    replications, _, options = share.shape
    n = profile_of.shape[0]
    dom_stop = dom_start + dom_share.shape[2]
    units = np.empty((replications, options, n))
    for r in range(replications):
        for k in range(options):
            domestic = dom_start <= k < dom_stop
            for i in range(n):
                h = share[r, profile_of[i], k] * free[r, i]
                if domestic:
                    h = h + mandated[r, i] * dom_share[r, profile_of[i], k - dom_start]
                units[r, k, i] = h * units_per_h100e[r, profile_of[i], k]
    return units


def _spend_per_need(units: np.ndarray, price: np.ndarray) -> np.ndarray:
    replications, options, n = units.shape
    spend = np.empty((replications, n))
    for r in range(replications):
        for i in range(n):
            spend[r, i] = units[r, 0, i] * price[r, 0]
        for k in range(1, options):
            for i in range(n):
                spend[r, i] = spend[r, i] + units[r, k, i] * price[r, k]
    return spend


def _blend_into(average: np.ndarray, latest: np.ndarray, weight: np.ndarray) -> None:
    replications, m, n = average.shape
    for r in range(replications):
        keep = 1 - weight[r, 0]
        w = weight[r, 0]
        for j in range(m):
            for i in range(n):
                average[r, j, i] = average[r, j, i] * keep + w * latest[r, j, i]
