"""What every executor is: the protocol the runner calls, its errors, and its batch limits.

The executors themselves are in :mod:`sim.experiments.executors` (serial, local processes)
and :mod:`sim.experiments.dask_executor` (a Dask cluster).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

#: Batches each worker may have queued or running at a time.
IN_FLIGHT_PER_SLOT = 2

Batch = Sequence[int]
#: ``on_lost(batch, why)``: what to yield instead of ``fn(*shared, batch)`` for a batch (of one
#: replication) whose worker died twice; ``why`` says how the worker died.
OnLost = Callable[[Batch, str], Any]


class ExecutorError(Exception):
    """An executor cannot be used as asked: a missing extra, an unreachable scheduler..."""


class WorkerLost(ExecutorError):
    """A batch's worker died twice and no ``on_lost`` was given to record it."""


class Executor(Protocol):
    """Runs ``fn(*shared, batch)`` for every batch and yields the results as they finish.

    Attributes:
        kind: ``"serial"``, ``"processes"`` or ``"dask"``.
        slots: how many batches can run at the same time (known after ``__enter__``).
        batch_limit: most replications per batch worth grouping for this executor.

    """

    kind: str
    slots: int
    batch_limit: int

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def map(self, fn: Callable[..., Any], shared: tuple, batches: Iterable[Batch],
            on_lost: OnLost | None = None) -> Iterator[Any]:
        """Yield ``fn(*shared, batch)`` for each batch, in completion order.

        A batch lost with a dead worker is run again; one whose worker dies twice yields
        ``on_lost(batch, why)`` instead (or raises :class:`WorkerLost` without ``on_lost``).
        """
        ...

    def probe(self, fn: Callable[[], Any]) -> dict[str, Any]:
        """Return ``fn()`` as run on each remote worker (empty for local executors)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What ran the replications, for manifests."""
        ...


#: Most replications stepped together in one batch: the model steps a batch as one array
#: program, so larger batches cost less per replication (about x8 from 1 to 64 on the timeline);
#: beyond 64 the arrays outgrow the cache and nothing more is gained.
BATCH_LIMIT = 64


def note(text: str) -> None:
    """One line on stderr about the run's machinery (a worker lost), beside the progress bar."""
    print(f"chipsim: {text}", file=sys.stderr, flush=True)
