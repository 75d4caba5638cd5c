"""pyabc's ABC-SMC on the batched model: many particles stepped together, deterministically.

pyabc proposes and judges one particle at a time (``simulate_one``: draw a parameter from the
proposal, run the model, compute the distance, accept or not, weigh). The chip-trade model is
five times faster per replication when it steps 64 replications together, so
:class:`BatchSampler` runs each batch of particles in two passes:

1. a *recording* pass calls ``simulate_one`` ``B`` times while :class:`BatchModel` only notes the
   proposed parameters (and answers with a placeholder);
2. the proposals are simulated together (:func:`sim.analysis.batch.simulate_many`, in worker
   processes if asked) and their summary statistics cached;
3. numpy's global random state - the only randomness pyabc uses - is put back as it was before
   the recording pass, and ``simulate_one`` is called again: it proposes the same parameters,
   finds their results in the cache, and accepts or rejects them for real. The pass stops at the
   ``n``-th acceptance, leaving the random state where a one-at-a-time sampler would leave it.

The particles, their order and the random state are therefore those of pyabc's
``SingleCoreSampler``, whatever the batch size or the number of workers: a calibration is
reproducible from its seed. What a particle consumes from the random stream does not depend on
its results (a uniform acceptor and a fixed distance draw nothing), which the replay needs.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyabc

#: Smallest and largest batch of particles simulated together.
MIN_BATCH, MAX_BATCH = 32, 4096


class BatchModel(pyabc.Model):
    """A pyabc model whose evaluations are batched by :class:`BatchSampler`.

    Args:
        evaluate: the batch function: a list of parameter dicts -> a list of summary-statistic
            dicts (the same order).
        keys: the summary statistics' names (the placeholder of the recording pass has them).

    """

    def __init__(self, evaluate: Callable[[list[dict[str, float]]], list[dict[str, float]]],
                 keys: Sequence[str]) -> None:
        super().__init__("chipsim")
        self.evaluate = evaluate
        self.keys = tuple(keys)
        self.recording: list[dict[str, float]] | None = None
        self.cache: dict[bytes, dict[str, float]] = {}
        self.simulated = 0

    def sample(self, pars: Any) -> dict[str, float]:
        """The summary statistics of one particle (cached), or a placeholder while recording."""
        values = {k: float(pars[k]) for k in sorted(pars.keys())}
        if self.recording is not None:
            self.recording.append(values)
            return dict.fromkeys(self.keys, 0.0)
        key = _key(values)
        if key not in self.cache:  # a proposal not seen while recording: run it alone
            self.cache[key] = self.evaluate([values])[0]
            self.simulated += 1
        return self.cache[key]

    def record(self) -> None:
        """Start noting proposals instead of simulating them."""
        self.recording = []

    def run_recorded(self) -> None:
        """Simulate the recorded proposals together and cache their statistics."""
        proposals, self.recording = self.recording or [], None
        new = {_key(p): p for p in proposals if _key(p) not in self.cache}
        if new:
            results = self.evaluate(list(new.values()))
            self.cache.update(zip(new, results, strict=True))
            self.simulated += len(new)

    def forget(self) -> None:
        """Empty the cache (between batches)."""
        self.cache.clear()


def _key(values: dict[str, float]) -> bytes:
    return np.array(list(values.values()), dtype=float).tobytes() + "|".join(values).encode()


def parameter_key(values: Sequence[float]) -> int:
    """A 64-bit key of a parameter vector (keys the seeds its replications use)."""
    digest = hashlib.sha256(np.asarray(values, dtype=float).tobytes()).digest()
    return int.from_bytes(digest[:8], "little")


class BatchSampler(pyabc.sampler.Sampler):
    """Sample particles in batches on :class:`BatchModel` (see the module docstring)."""

    def __init__(self, model: BatchModel) -> None:
        super().__init__()
        self.model = model
        self.rate = 0.5  # acceptance expected, to size the first batch of a generation
        self.history: list[dict[str, Any]] = []

    def sample_until_n_accepted(self, n: int, simulate_one: Callable, t: int, *,
                                max_eval: float = np.inf, all_accepted: bool = False,
                                ana_vars: Any = None) -> Any:
        """Sample until ``n`` particles are accepted (or ``max_eval`` evaluations)."""
        sample = self._create_empty_sample()
        used = simulated = 0
        rate = 1.0 if all_accepted else self.rate
        while sample.n_accepted < n and used < max_eval:
            size = self._batch(n - sample.n_accepted, rate, max_eval - used)
            state = np.random.get_state()
            self.model.record()
            for _ in range(size):
                simulate_one()
            before = self.model.simulated
            self.model.run_recorded()
            simulated += self.model.simulated - before
            np.random.set_state(state)
            accepted_before, used_before = sample.n_accepted, used
            for _ in range(size):
                particle = simulate_one()
                sample.append(particle)
                used += 1
                if sample.n_accepted >= n:
                    break
            self.model.forget()
            got = sample.n_accepted - accepted_before
            rate = max(got / (used - used_before), 1.0 / MAX_BATCH)
        self.nr_evaluations_ = used
        if not all_accepted:
            self.rate = max(sample.n_accepted / max(used, 1) / 2, 1.0 / MAX_BATCH)
        self.history.append({"t": t, "accepted": sample.n_accepted, "evaluations": used,
                             "simulated": simulated})
        if sample.n_accepted < n:
            sample.ok = False
        return sample

    @staticmethod
    def _batch(missing: int, rate: float, left: float) -> int:
        size = math.ceil(missing / rate * 1.1)
        return int(max(1, min(max(size, MIN_BATCH), MAX_BATCH, left)))
