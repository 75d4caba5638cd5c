"""Run replications on the workers of a running ``dask.distributed`` scheduler.

Chosen with ``--scheduler tcp://HOST:PORT`` (:func:`sim.experiments.executors.make_executor`);
needs the ``dask`` extra, imported only when used. The workers must be able to import this
version of chipsim (same code, same numpy) for the results to be identical to a local run.

A worker lost mid-run costs nothing but time. The scheduler reruns its tasks elsewhere, up to
its ``distributed.scheduler.allowed-failures``; a batch that exceeds them (``KilledWorker``), or
that the scheduler cancels because something it needs was lost, runs again one replication per
task, and a replication lost again is handed to ``on_lost``.

The two scenarios and the conservation flag every task needs go to the cluster once, as tasks
that return them - not with ``Client.scatter``. Scattered data lives only on the workers that
hold it: if they die, the scheduler cannot rebuild it and cancels every task that depends on it
("already forgotten"). A task's result it can compute again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from typing import Any

from sim.experiments.executor import (
    BATCH_LIMIT,
    IN_FLIGHT_PER_SLOT,
    Batch,
    ExecutorError,
    OnLost,
    WorkerLost,
    note,
)

#: Seconds to wait for a Dask scheduler to answer, and for it to have a worker.
DASK_TIMEOUT_S = 30


def _hold(value: Any) -> Any:
    """Return ``value``: a task whose result the scheduler can recompute when a worker dies."""
    return value


class DaskExecutor:
    """Run batches on the workers of a ``dask.distributed`` scheduler.

    The workers must be able to import this version of chipsim (same code, same numpy) for the
    results to be identical to a local run; :meth:`probe` lets the caller check. A worker lost
    mid-run costs nothing but time (see the module docstring).
    """

    kind = "dask"
    batch_limit = BATCH_LIMIT

    def __init__(self, address: str) -> None:
        try:
            import dask.distributed  # noqa: F401 - only checking that the extra is installed
        except ImportError:
            raise ExecutorError(
                "--scheduler needs dask.distributed, which is not installed; install it with "
                "pip install 'chipsim[dask]' (or pip install 'dask[distributed]')") from None
        self.address = address
        self.slots = 1
        self.deaths = 0
        self._client: Any = None

    def __enter__(self) -> DaskExecutor:
        from dask.distributed import Client

        try:
            self._client = Client(self.address, timeout=DASK_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExecutorError(f"cannot reach the Dask scheduler at {self.address}: "
                                f"{exc}") from None
        try:
            self._client.wait_for_workers(1, timeout=DASK_TIMEOUT_S)
        except TimeoutError:
            self._client.close()
            raise ExecutorError(f"the Dask scheduler at {self.address} has no workers "
                                f"(waited {DASK_TIMEOUT_S} s)") from None
        self.slots = max(1, sum(self._client.nthreads().values()))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def map(self, fn: Callable[..., Any], shared: tuple, batches: Iterable[Batch],
            on_lost: OnLost | None = None) -> Iterator[Any]:
        """Yield ``fn(*shared, batch)`` for each batch, in completion order.

        The scheduler reruns the tasks of a worker that dies; a batch it gives up on
        (``KilledWorker``) or cancels is resubmitted one replication per task, and a
        replication it gives up on again yields ``on_lost(batch, why)``.
        """
        from dask.distributed import as_completed
        from distributed.scheduler import KilledWorker

        client = self._client
        if client is None:
            raise RuntimeError("use the DaskExecutor in a with-block")
        remote = [client.submit(_hold, value, pure=False) for value in shared]
        queue = iter(batches)
        running = as_completed(loop=client.loop)
        tasks: dict[str, tuple[list[int], bool]] = {}  # key -> (batch, resubmitted alone)
        finished = False

        def submit(batch: Batch, alone: bool = False) -> None:
            future = client.submit(fn, *remote, list(batch), pure=False)
            tasks[future.key] = (list(batch), alone)
            running.add(future)

        def top_up() -> None:
            batch = next(queue, None)
            if batch is not None:
                submit(batch)

        try:
            for _ in range(self.slots * IN_FLIGHT_PER_SLOT):
                top_up()
            for future in running:
                batch, alone = tasks.pop(future.key)
                try:
                    result = future.result()
                except (KilledWorker, CancelledError) as exc:
                    result = self._lost(batch, alone, exc, submit, on_lost)
                future.release()
                if not alone:
                    top_up()
                if result is not None:
                    yield result
            finished = True
        finally:
            if not finished:
                client.cancel(list(running.futures), force=True)
            client.cancel(remote, force=True)

    def _lost(self, batch: list[int], alone: bool, exc: Exception,
              submit: Callable[[Batch, bool], None], on_lost: OnLost | None) -> Any:
        """A task the scheduler gave up on: run its replications alone, or give one up."""
        self.deaths += 1
        kind = type(exc).__name__
        if not alone:
            note(f"the Dask scheduler gave up on a batch of {len(batch)} replication"
                 f"{'s' if len(batch) != 1 else ''} ({kind}); they run again, one per task")
            for index in batch:
                submit([index], True)
            return None
        lost = ("its Dask worker died repeatedly" if kind == "KilledWorker"
                else "the Dask scheduler cancelled it again")
        why = f"{lost} ({kind}: {exc})"
        note(f"replication {batch[0]} recorded as failed: {why}")
        if on_lost is None:
            raise WorkerLost(f"batch {batch}: {why}")
        return on_lost(batch, why)

    def probe(self, fn: Callable[[], Any]) -> dict[str, Any]:
        """Return ``fn()`` as run on every worker (worker address -> value)."""
        try:
            return dict(self._client.run(fn))
        except Exception as exc:  # noqa: BLE001 - a worker that cannot import chipsim
            raise ExecutorError(
                f"the Dask workers at {self.address} cannot run chipsim ({type(exc).__name__}: "
                f"{exc}); install this version of chipsim on every worker") from None

    def describe(self) -> dict[str, Any]:
        """``{"kind": "dask", "scheduler": ADDRESS, "workers": threads}`` (+ ``worker_deaths``)."""
        out: dict[str, Any] = {"kind": self.kind, "scheduler": self.address,
                               "workers": self.slots}
        if self.deaths:
            out["worker_deaths"] = self.deaths
        return out
