"""Where replications run: in this process, or in a pool of local processes.

Executors only decide *where*; every replication is a pure function of its index, and results
are put back in index order, so the numbers are identical whatever the executor or worker count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial

from sim.replication import ReplicationResult, run_replication
from sim.scenario import Scenario


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_replications(
    scenario: Scenario,
    counterfactual: Scenario,
    indices: Iterable[int],
    workers: int = 1,
    on_done: Callable[[ReplicationResult], None] | None = None,
    check_conservation: bool = False,
) -> Iterator[ReplicationResult]:
    """Run replications serially (``workers == 1``) or in a process pool; yield as they finish."""
    job = partial(run_replication, scenario, counterfactual, check=check_conservation)
    indices = list(indices)
    if workers <= 1 or len(indices) <= 1:
        for i in indices:
            result = job(i)
            if on_done:
                on_done(result)
            yield result
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(job, i) for i in indices]
        for future in as_completed(futures):
            result = future.result()
            if on_done:
                on_done(result)
            yield result
