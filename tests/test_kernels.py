"""The compiled loops (sim.model.kernels) give numpy's numbers bit for bit.

Each kernel replaces a numpy expression in the market's hottest passes; the model's results
may not move by one bit for it, whatever the batch size or the array's layout.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import kernels
from sim.model.draws import _GOLDEN, Draws, mix64, replication_key

R_SIZES = (1, 7, 64)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("r", R_SIZES)
def test_keyed_uniform_is_the_numpy_splitmix_scheme(r):
    keys = np.array([replication_key(np.random.SeedSequence(s)) for s in range(r)],
                    dtype=np.uint64)
    draws = Draws(keys)
    month, start, n = 123, 5, 300
    base = mix64(draws._stream("route.pick") + np.array([month], np.uint64) * _GOLDEN)
    index = (np.arange(start + 1, start + n + 1, dtype=np.uint64)
             * np.uint64(0xD1B54A32D192ED03))[None, :]
    expected = (mix64(base + index) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    assert np.array_equal(draws.uniform("route.pick", month, n, start=start), expected)


@pytest.mark.parametrize("r", R_SIZES)
def test_spread_to_needs_is_the_numpy_expression(r):
    g = rng(r)
    p, k, n, dom = 8, 13, 301, slice(5, 8)
    share = g.random((r, p, k))
    dom_share = g.random((r, p, dom.stop - dom.start))
    free, mandated = g.random((r, n)), g.random((r, n))
    of = np.sort(g.integers(0, p, n))
    upu = g.random((r, p, k))
    h = np.take(share.transpose(0, 2, 1), of, axis=2) * free[:, None, :]
    h[:, dom, :] += mandated[:, None, :] * np.take(dom_share.transpose(0, 2, 1), of, axis=2)
    expected = h * np.take(upu.transpose(0, 2, 1), of, axis=2)
    got = kernels.spread_to_needs(share, dom_share, free, mandated, of, upu, dom.start)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("r", R_SIZES)
def test_spend_per_need_is_numpys_sum_over_options(r):
    g = rng(10 + r)
    units, price = g.random((r, 13, 301)) * 1e4, g.random((r, 13)) * 3e4
    expected = (units * price[:, :, None]).sum(axis=1)
    assert np.array_equal(kernels.spend_per_need(units, price), expected)


@pytest.mark.parametrize("r", R_SIZES)
def test_blend_into_is_numpys_exponential_average_even_on_a_view(r):
    g = rng(20 + r)
    average, table = g.random((r, 6, 301)), g.random((r, 13, 301))
    latest = table[:, 2:8, :]  # a slice of a larger table, as the model passes it
    weight = g.random((r, 1))
    expected = average * (1 - weight[..., None])
    expected += weight[..., None] * latest
    kernels.blend_into(average, latest, weight)
    assert np.array_equal(average, expected)
