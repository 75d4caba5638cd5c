"""Many replications of one scenario at many parameter points, stepped together.

Calibration, validation and the drivers screening all ask the same thing: the months of a
scenario for a list of (seed, parameter values) pairs. The model steps up to :data:`CHUNK`
replications at once (``ChipTradeModel(scenario, seeds, parameter_sets)``, ~25 ms a timeline
replication instead of ~120 ms alone), and chunks run in worker processes when asked. A
replication's numbers do not depend on its chunk or its worker (keyed draws), so the result is
the same for any ``workers``. The model is imported before the workers fork, so a long run (a
calibration) uses one version of the code throughout, even if files change meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.scenario.scenario import Scenario

#: Replications stepped together in one model (the model's sweet spot on one core).
CHUNK = 64

Point = Mapping[str, float]


def simulate_many(scenario: Scenario, seeds: Sequence[np.random.SeedSequence],
                  parameter_sets: Sequence[Point] | None = None, *, workers: int = 1,
                  chunk: int = CHUNK) -> np.ndarray:
    """Replications of ``scenario``, one per seed, with ``parameter_sets[r]`` fixed on top.

    Returns:
        replications x months x :data:`~sim.model.metrics.MODEL_METRICS`.

    """
    import sim.experiments.replication  # noqa: F401 - workers fork with the model as loaded here

    sets = list(parameter_sets) if parameter_sets is not None else [{}] * len(seeds)
    if len(sets) != len(seeds):
        raise ValueError("one parameter set per seed")
    starts = list(range(0, len(seeds), chunk))
    tasks = [(scenario, list(seeds[i:i + chunk]), sets[i:i + chunk]) for i in starts]
    if workers <= 1 or len(tasks) <= 1:
        parts = [_simulate_chunk(task) for task in tasks]
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
            parts = list(pool.map(_simulate_chunk, tasks))
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, 0, 0))


def _simulate_chunk(task: tuple[Scenario, list[np.random.SeedSequence], list[Point]]
                    ) -> np.ndarray:
    from sim.experiments.replication import simulate

    scenario, seeds, sets = task
    fixed = sets if any(sets) else None
    return simulate(scenario, seeds, parameter_sets=fixed)


def evaluation_seeds(root: int, key: int, count: int) -> list[np.random.SeedSequence]:
    """``count`` seeds of one evaluation: ``SeedSequence(root, spawn_key=(key, k))``."""
    return [np.random.SeedSequence(root, spawn_key=(key, k)) for k in range(count)]
