"""Where replications run: in this process, in a pool of local processes, or on a Dask cluster.

Executors only decide *where*. Each runs a function over batches of replication indices and
yields every batch's result as soon as it is finished; what the function simulates is none of
its business (``sim.experiments.replication``), and neither is what happens to the results (``sim.experiments.store``).
Every replication is a pure function of its index and results are put back in index order, so
the numbers are identical whatever the executor, the number of workers or the completion order.

* :class:`SerialExecutor` - one batch after another, in this process (``workers=1``).
* :class:`ProcessExecutor` - a pool of local processes (the CLI's default: all cores).
* :class:`DaskExecutor` - the workers of a running ``dask.distributed`` scheduler
  (``--scheduler tcp://HOST:PORT``); needs the ``dask`` extra, imported only when used.

Several replications go in one task (a batch) to cut per-task overhead, and only a few batches
per worker are in flight at a time, so memory stays flat however many replications a run has.
Interrupting a run (Ctrl-C) stops the workers at once; finished batches are kept by the caller.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from sim.experiments.replication import ReplicationResult, run_batch
from sim.scenario.scenario import Scenario

#: Batches each worker may have queued or running at a time.
IN_FLIGHT_PER_SLOT = 2
#: Seconds to wait for a Dask scheduler to answer, and for it to have a worker.
DASK_TIMEOUT_S = 30

Batch = Sequence[int]


class ExecutorError(Exception):
    """An executor cannot be used as asked: a missing extra, an unreachable scheduler..."""


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

    def map(self, fn: Callable[..., Any], shared: tuple, batches: Iterable[Batch]
            ) -> Iterator[Any]:
        """Yield ``fn(*shared, batch)`` for each batch, in completion order."""
        ...

    def probe(self, fn: Callable[[], Any]) -> dict[str, Any]:
        """Return ``fn()`` as run on each remote worker (empty for local executors)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What ran the replications, for manifests."""
        ...


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """Pick the executor for a run.

    Args:
        workers: local processes; 1 (or None) runs serially in this process.
        scheduler: address of a Dask scheduler (``tcp://HOST:PORT``); replaces ``workers``.

    Raises:
        ExecutorError: both were given, or ``scheduler`` was given without dask installed.

    """
    if scheduler is not None:
        if workers is not None:
            raise ExecutorError("--workers does not apply with --scheduler: the cluster's "
                                "workers run the replications")
        return DaskExecutor(scheduler)
    if workers is None or workers <= 1:
        return SerialExecutor()
    return ProcessExecutor(workers)


def plan_batches(indices: Sequence[int], slots: int, limit: int) -> list[list[int]]:
    """Cut ``indices`` into consecutive batches: about four per slot, at most ``limit`` long.

    Small batches keep every worker busy to the end and stream results often; large ones cut
    per-task overhead. The plan changes nothing in the results.
    """
    size = max(1, min(limit, len(indices) // (max(1, slots) * 4)))
    return [list(indices[i:i + size]) for i in range(0, len(indices), size)]


# --------------------------------------------------------------------------- serial


class SerialExecutor:
    """Run batches one after another in this process (what ``workers=1`` means)."""

    kind = "serial"
    slots = 1
    batch_limit = 1

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable[..., Any], shared: tuple, batches: Iterable[Batch]
            ) -> Iterator[Any]:
        """Yield ``fn(*shared, batch)`` for each batch in turn."""
        for batch in batches:
            yield fn(*shared, batch)

    def probe(self, fn: Callable[[], Any]) -> dict[str, Any]:
        """No remote workers."""
        return {}

    def describe(self) -> dict[str, Any]:
        """``{"kind": "serial", "workers": 1}``."""
        return {"kind": self.kind, "workers": 1}


# --------------------------------------------------------------------------- local processes


class ProcessExecutor:
    """Run batches in a pool of ``workers`` local processes.

    The shared arguments (scenario and counterfactual) are handed to each worker once, when it
    starts, so a task carries only its indices. Workers ignore SIGINT: a Ctrl-C reaches this
    process, which then cancels what is queued and terminates the workers.
    """

    kind = "processes"
    batch_limit = 4

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be 1 or more (got {workers})")
        self.slots = workers

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable[..., Any], shared: tuple, batches: Iterable[Batch]
            ) -> Iterator[Any]:
        """Yield ``fn(*shared, batch)`` for each batch, in completion order."""
        pool = ProcessPoolExecutor(self.slots, mp_context=_mp_context(fn.__module__),
                                   initializer=_install, initargs=(fn, shared))
        finished = False
        try:
            yield from _windowed(pool.submit, _call, batches, self.slots * IN_FLIGHT_PER_SLOT)
            finished = True
        finally:
            if finished:
                pool.shutdown(wait=True)
            else:
                _terminate(pool)

    def probe(self, fn: Callable[[], Any]) -> dict[str, Any]:
        """Local workers run this very code: nothing to check."""
        return {}

    def describe(self) -> dict[str, Any]:
        """``{"kind": "processes", "workers": N}``."""
        return {"kind": self.kind, "workers": self.slots}


def _windowed(submit: Callable[..., Future], call: Callable[[Batch], Any],
              batches: Iterable[Batch], window: int) -> Iterator[Any]:
    """Keep at most ``window`` batches submitted; yield results as they come back."""
    queue = iter(batches)
    pending: set[Future] = set()

    def top_up() -> None:
        while len(pending) < window:
            batch = next(queue, None)
            if batch is None:
                return
            pending.add(submit(call, batch))

    top_up()
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield future.result()
        top_up()


def _mp_context(module: str) -> multiprocessing.context.BaseContext:
    """``fork`` when it is safe (one thread: fast, nothing to re-import); else ``forkserver``.

    Forking a process that runs other threads (a Jupyter kernel, say) can deadlock the child.
    The fork server imports ``module`` (the job's) once, so its workers start warm.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([module])
        return context
    return multiprocessing.get_context("spawn")  # pragma: no cover - not POSIX


_JOB: tuple[Callable[..., Any], tuple] | None = None


def _install(fn: Callable[..., Any], shared: tuple) -> None:
    """Worker start-up: remember the job; leave Ctrl-C to the parent process."""
    global _JOB
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _JOB = (fn, shared)


def _call(batch: Batch) -> Any:
    """Worker task: run the installed job on one batch."""
    assert _JOB is not None, "worker started without a job"
    fn, shared = _JOB
    return fn(*shared, batch)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop at once: drop queued batches and end the running ones (on interrupt or error)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API < 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


# --------------------------------------------------------------------------- Dask


class DaskExecutor:
    """Run batches on the workers of a ``dask.distributed`` scheduler.

    The workers must be able to import this version of chipsim (same code, same numpy) for the
    results to be identical to a local run; :meth:`probe` lets the caller check.
    """

    kind = "dask"
    batch_limit = 8

    def __init__(self, address: str) -> None:
        try:
            import dask.distributed  # noqa: F401 - only checking that the extra is installed
        except ImportError:
            raise ExecutorError(
                "--scheduler needs dask.distributed, which is not installed; install it with "
                "pip install 'chipsim[dask]' (or pip install 'dask[distributed]')") from None
        self.address = address
        self.slots = 1
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

    def map(self, fn: Callable[..., Any], shared: tuple, batches: Iterable[Batch]
            ) -> Iterator[Any]:
        """Yield ``fn(*shared, batch)`` for each batch, in completion order."""
        from dask.distributed import as_completed

        client = self._client
        if client is None:
            raise RuntimeError("use the DaskExecutor in a with-block")
        remote = client.scatter(list(shared), broadcast=True, hash=False)
        queue = iter(batches)
        running = as_completed(loop=client.loop)
        window = self.slots * IN_FLIGHT_PER_SLOT
        finished = False

        def submit() -> bool:
            batch = next(queue, None)
            if batch is None:
                return False
            running.add(client.submit(fn, *remote, list(batch), pure=False))
            return True

        try:
            for _ in range(window):
                if not submit():
                    break
            for future in running:
                result = future.result()
                future.release()
                submit()
                yield result
            finished = True
        finally:
            if not finished:
                client.cancel(list(running.futures), force=True)
            client.cancel(remote, force=True)

    def probe(self, fn: Callable[[], Any]) -> dict[str, Any]:
        """Return ``fn()`` as run on every worker (worker address -> value)."""
        try:
            return dict(self._client.run(fn))
        except Exception as exc:  # noqa: BLE001 - a worker that cannot import chipsim
            raise ExecutorError(
                f"the Dask workers at {self.address} cannot run chipsim ({type(exc).__name__}: "
                f"{exc}); install this version of chipsim on every worker") from None

    def describe(self) -> dict[str, Any]:
        """``{"kind": "dask", "scheduler": ADDRESS, "workers": threads}``."""
        return {"kind": self.kind, "scheduler": self.address, "workers": self.slots}


# --------------------------------------------------------------------------- compatibility


def run_replications(
    scenario: Scenario,
    counterfactual: Scenario,
    indices: Iterable[int],
    workers: int = 1,
    on_done: Callable[[ReplicationResult], None] | None = None,
    check_conservation: bool = False,
    executor: Executor | None = None,
) -> Iterator[ReplicationResult]:
    """Run replications on ``executor`` (default: by ``workers``); yield them as they finish."""
    chosen = executor if executor is not None else make_executor(workers)
    indices = list(indices)
    with chosen:
        batches = plan_batches(indices, chosen.slots, chosen.batch_limit)
        for batch in chosen.map(run_batch, (scenario, counterfactual, check_conservation), batches):
            for result in batch:
                if on_done:
                    on_done(result)
                yield result
