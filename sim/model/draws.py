"""Random numbers keyed by purpose, agent and month: common random numbers that survive policy.

Every random number the model uses is a pure function of four things: the replication, the
purpose of the draw (``"seizure"``, ``"licence:H20"``, ...), the month, and the agent's index.
There is no stream whose position depends on how many draws came before, so:

* a draw's value does not depend on which rules are in force, or on whether another draw was
  taken at all: the scenario and its counterfactual share every draw both make, and the paired
  revenue loss differs only by what the policy changed (FACTS-scale losses are not drowned in
  noise from drifting streams);
* replication ``r`` gets the same numbers whether it runs alone or stepped together with 63
  others, so results do not depend on batch size, executor or worker count;
* adding agents (a finer resolution) leaves the draws of the first agents unchanged.

The function is SplitMix64's output mix (Steele, Lea and Flood 2014) applied to a key built from
the four parts, one mix per part: ``u = mix(mix(mix(replication ^ purpose) + month * G) + (i + 1)
* G2) / 2**64`` (top 53 bits). SplitMix64 passes BigCrush as a counter-based generator;
``tests/test_draws.py`` checks uniformity, independence across agents, months and purposes, and
that values do not depend on the batch.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.special import ndtri

from sim.model.kernels import keyed_uniform

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_UNIT = 2.0**-53
#: The month key of draws made when the model is built (agents' fixed traits).
AT_START = -(2**40)


def mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function: a bijective avalanche mix of unsigned 64-bit integers."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def purpose_key(purpose: str) -> np.uint64:
    """A stable 64-bit key for a purpose name (the same on every machine and Python)."""
    digest = hashlib.blake2b(purpose.encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def _month_key(month: int) -> np.ndarray:
    # a one-element array, not a scalar: numpy warns on scalar overflow, wraps arrays silently
    return np.array([month % 2**64], dtype=np.uint64) * _GOLDEN


class Draws:
    """Keyed uniform (and derived) draws for a batch of replications.

    Args:
        keys: one 64-bit key per replication (from its seed; :func:`replication_key`).

    """

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = np.asarray(keys, dtype=np.uint64).reshape(-1, 1)  # (R, 1)
        self._purposes: dict[str, np.ndarray] = {}

    @property
    def replications(self) -> int:
        """Number of replications R."""
        return len(self.keys)

    def _stream(self, purpose: str) -> np.ndarray:
        base = self._purposes.get(purpose)
        if base is None:
            base = mix64(self.keys ^ purpose_key(purpose))
            self._purposes[purpose] = base
        return base

    def uniform(self, purpose: str, month: int, n: int, start: int = 0) -> np.ndarray:
        """Uniform [0, 1) draws for agents ``start .. start + n - 1``: shape (R, n)."""
        return keyed_uniform(self._stream(purpose)[:, 0], _month_key(month)[0], start, n)

    def normal(self, purpose: str, month: int, n: int) -> np.ndarray:
        """Standard normal draws (inverse CDF of the uniform draws), shape (R, n)."""
        u = self.uniform(purpose, month, n)
        return ndtri(np.maximum(u, _UNIT))  # u = 0 would give -inf

    def lognormal_mean_one(self, purpose: str, month: int, n: int,
                           sigma: np.ndarray | float) -> np.ndarray:
        """Log-normal draws with mean 1 and log-sd ``sigma`` (per replication): shape (R, n).

        Heterogeneity that keeps a parameter as the mean of what it spreads.
        """
        return np.exp(sigma * self.normal(purpose, month, n) - 0.5 * np.square(sigma))

    def choice(self, purpose: str, month: int, probabilities: np.ndarray) -> np.ndarray:
        """One category per agent, drawn with ``probabilities`` (R, n, K) rows: indices (R, n)."""
        r, n, _ = probabilities.shape
        u = self.uniform(purpose, month, n)
        cumulative = np.cumsum(probabilities, axis=-1)
        cumulative /= cumulative[..., -1:]
        return (u[..., None] >= cumulative[..., :-1]).sum(axis=-1)


def replication_key(seed: np.random.SeedSequence) -> int:
    """The 64-bit key of a replication: the first word its seed sequence generates."""
    return int(seed.generate_state(1, np.uint64)[0])
