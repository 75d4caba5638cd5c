"""Keyed draws (sim.model.draws): uniform, independent across their keys, batch-free.

The pairing of a scenario with its counterfactual and the equality of results across batch
sizes, executors and resolutions rest on these properties, so they are checked directly here.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.model.draws import Draws, replication_key

N = 20_000


def keys(seeds: range) -> np.ndarray:
    return np.array([replication_key(np.random.SeedSequence(s)) for s in seeds], dtype=np.uint64)


@pytest.fixture(scope="module")
def draws() -> Draws:
    return Draws(keys(range(4)))


def test_uniform_draws_are_uniform_on_the_unit_interval(draws: Draws) -> None:
    u = draws.uniform("smuggling.seizure", 7, N)
    assert u.shape == (4, N)
    assert u.min() >= 0.0 and u.max() < 1.0
    for row in u:
        assert stats.kstest(row, "uniform").pvalue > 1e-3


@pytest.mark.parametrize("other", [
    ("smuggling.seizure", 8),   # the next month
    ("customs.inspection", 7),  # another purpose, same month
])
def test_draws_under_different_keys_are_uncorrelated(draws: Draws, other: tuple[str, int]) -> None:
    u = draws.uniform("smuggling.seizure", 7, N)
    v = draws.uniform(*other, N)
    for a, b in zip(u, v, strict=True):
        assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(N)  # 4 standard errors


def test_neighbouring_agents_and_replications_are_uncorrelated(draws: Draws) -> None:
    u = draws.uniform("smuggling.seizure", 7, N)
    assert abs(np.corrcoef(u[0, :-1], u[0, 1:])[0, 1]) < 4 / np.sqrt(N)
    assert abs(np.corrcoef(u[0], u[1])[0, 1]) < 4 / np.sqrt(N)


def test_a_replication_draws_the_same_numbers_alone_or_in_any_batch() -> None:
    batch = Draws(keys(range(10))).uniform("licence.approval", 3, 50)
    alone = Draws(keys(range(6, 7))).uniform("licence.approval", 3, 50)
    reordered = Draws(keys(range(9, 3, -1))).uniform("licence.approval", 3, 50)
    assert np.array_equal(batch[6], alone[0])
    assert np.array_equal(batch[6], reordered[3])


def test_more_agents_leave_the_first_agents_draws_unchanged(draws: Draws) -> None:
    few = draws.uniform("buyers.trait", 0, 10)
    many = draws.uniform("buyers.trait", 0, 1000)
    assert np.array_equal(few, many[:, :10])
    tail = draws.uniform("buyers.trait", 0, 990, start=10)
    assert np.array_equal(tail, many[:, 10:])


def test_log_normal_draws_keep_their_mean_at_one(draws: Draws) -> None:
    x = draws.lognormal_mean_one("demand.shock", 2, N, np.full((4, 1), 0.5))
    assert abs(x.mean() - 1.0) < 0.02
    assert (x > 0).all()


def test_choice_draws_categories_in_their_probabilities(draws: Draws) -> None:
    p = np.broadcast_to(np.array([0.2, 0.5, 0.3]), (4, N, 3))
    picks = draws.choice("route.pick", 5, p)
    shares = np.bincount(picks.ravel(), minlength=3) / picks.size
    assert np.allclose(shares, [0.2, 0.5, 0.3], atol=0.01)
