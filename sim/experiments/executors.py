"""Where replications run: in this process, in a pool of local processes, or on a Dask cluster.

Executors only decide *where*. Each runs a function over batches of replication indices and
yields every batch's result as soon as it is finished; what the function simulates is none of
its business (``sim.experiments.replication``), and neither is what happens to the results
(``sim.experiments.store``).
Every replication is a pure function of its index and results are put back in index order, so
the numbers are identical whatever the executor, the number of workers or the completion order.

* :class:`SerialExecutor` - one batch after another, in this process (``workers=1``).
* :class:`ProcessExecutor` - a pool of local processes (the CLI's default: all cores).
* :class:`~sim.experiments.dask_executor.DaskExecutor` - the workers of a running
  ``dask.distributed`` scheduler (``--scheduler tcp://HOST:PORT``); needs the ``dask`` extra,
  imported only when used.

Several replications go in one task (a batch) to cut per-task overhead, and only a few batches
per worker are in flight at a time, so memory stays flat however many replications a run has.
Interrupting a run (Ctrl-C, SIGTERM, SIGHUP) stops the workers at once; finished batches are kept
by the caller.

A worker that dies (the out-of-memory killer, a crash) does not stop the run. The batches it and
its neighbours had in flight are lost; each of their replications is then run again *alone*, one
at a time, so that a second death can be pinned on it. A replication whose worker dies twice
(once in a batch, once alone) is handed to ``on_lost``, which the runner records as a failed
replication with its seed; everything else completes with the same numbers as an undisturbed
run. On a Dask cluster the scheduler itself reruns the tasks of a lost worker, up to its
``distributed.scheduler.allowed-failures``; a batch that exceeds them (``KilledWorker``) is
likewise run again one replication at a time, and a replication lost again is handed to
``on_lost``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sim.experiments.executor import (
    BATCH_LIMIT,
    IN_FLIGHT_PER_SLOT,
    Batch,
    Executor,
    ExecutorError,
    OnLost,
    WorkerLost,
    note,
)
from sim.experiments.replication import ReplicationResult, lost_batch, run_batch
from sim.scenario.scenario import Scenario

__all__ = ["BATCH_LIMIT", "Executor", "ExecutorError", "OnLost", "ProcessExecutor",
           "SerialExecutor", "WorkerLost", "check_workers", "default_workers", "make_executor",
           "plan_batches", "run_replications"]

def check_workers(executor: Executor) -> None:
    """Refuse remote workers whose chipsim code or numpy differ (so would numbers); in ``with``."""
    from sim.experiments.store import runtime

    here = runtime()
    for worker, there in executor.probe(runtime).items():
        for key, what in (("code_fingerprint", "chipsim code"), ("numpy", "numpy version")):
            if there.get(key) != here[key]:
                raise ExecutorError(
                    f"Dask worker {worker} has a different {what} than this machine, so its "
                    "results would not be reproducible; install the same chipsim and numpy on "
                    "every worker")


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
        from sim.experiments.dask_executor import DaskExecutor

        return DaskExecutor(scheduler)
    if workers is None or workers <= 1:
        return SerialExecutor()
    return ProcessExecutor(workers)


def plan_batches(indices: Sequence[int], slots: int, limit: int) -> list[list[int]]:
    """Cut ``indices`` into consecutive batches: about two per slot, at most ``limit`` long.

    Several workers get about two batches each, so none waits long at the end; one slot gets
    as few batches as ``limit`` allows (no other worker to keep busy). Large batches are stepped
    together as one array program and cost much less per replication. The plan changes nothing
    in the results.
    """
    per_slot = 1 if slots <= 1 else 2
    count = max(slots * per_slot, -(-len(indices) // max(1, limit)))  # batches, even in size
    size = max(1, -(-len(indices) // count))
    return [list(indices[i:i + size]) for i in range(0, len(indices), size)]


# --------------------------------------------------------------------------- serial


class SerialExecutor:
    """Run batches one after another in this process (what ``workers=1`` means)."""

    kind = "serial"
    slots = 1
    batch_limit = BATCH_LIMIT

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable[..., Any], shared: tuple, batches: Iterable[Batch],
            on_lost: OnLost | None = None) -> Iterator[Any]:
        """Yield ``fn(*shared, batch)`` for each batch in turn (no worker to lose)."""
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
    starts, so a task carries only its indices. Workers ignore SIGINT and SIGHUP: a Ctrl-C or a
    hang-up reaches this process, which then cancels what is queued and terminates the workers.
    If a worker dies, the pool is rebuilt and the lost batches run again (see the module
    docstring).

    Args:
        workers: processes in the pool.
        start_method: ``"fork"``, ``"forkserver"`` or ``"spawn"``; default: ``fork`` when this
            process runs a single thread, else ``forkserver`` (see :func:`_mp_context`).

    """

    kind = "processes"
    batch_limit = BATCH_LIMIT

    def __init__(self, workers: int, start_method: str | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be 1 or more (got {workers})")
        self.slots = workers
        self.start_method = start_method
        self.deaths = 0

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable[..., Any], shared: tuple, batches: Iterable[Batch],
            on_lost: OnLost | None = None) -> Iterator[Any]:
        """Yield ``fn(*shared, batch)`` for each batch, in completion order.

        When a worker dies, the batches in flight are run again one replication at a time in a
        pool of one (so that a second death names its replication), then the rest goes on in
        a new pool.
        """
        queue = iter(batches)
        while True:
            lost: list[Batch] = []
            with self._pool(fn, shared, self.slots) as pool:
                yield from _windowed(pool, queue, self.slots * IN_FLIGHT_PER_SLOT, lost)
            if not lost:
                return
            self.deaths += 1
            alone = [[index] for batch in lost for index in batch]
            note(f"a worker process died ({pool.death}); its {len(alone)} replication"
                  f"{'s' if len(alone) != 1 else ''} in flight run again, one at a time")
            yield from self._one_by_one(fn, shared, alone, on_lost)

    def _one_by_one(self, fn: Callable[..., Any], shared: tuple, batches: list[Batch],
                    on_lost: OnLost | None) -> Iterator[Any]:
        """Run each batch alone; a batch whose worker dies now has killed it twice."""
        queue = iter(batches)
        while True:
            lost: list[Batch] = []
            with self._pool(fn, shared, 1) as pool:
                yield from _windowed(pool, queue, 1, lost)
            if not lost:
                return
            self.deaths += 1
            (batch,) = lost
            why = f"its worker process died twice ({pool.death})"
            note(f"replication {', '.join(map(str, batch))} recorded as failed: {why}")
            if on_lost is None:
                raise WorkerLost(f"batch {list(batch)}: {why}")
            yield on_lost(batch, why)

    def _pool(self, fn: Callable[..., Any], shared: tuple, workers: int) -> _Pool:
        context = (multiprocessing.get_context(self.start_method) if self.start_method
                   else _mp_context(fn.__module__))
        return _Pool(ProcessPoolExecutor(workers, mp_context=context, initializer=_install,
                                         initargs=(fn, shared)))

    def probe(self, fn: Callable[[], Any]) -> dict[str, Any]:
        """Local workers run this very code: nothing to check."""
        return {}

    def describe(self) -> dict[str, Any]:
        """``{"kind": "processes", "workers": N}``, plus ``worker_deaths`` if any died."""
        out: dict[str, Any] = {"kind": self.kind, "workers": self.slots}
        if self.deaths:
            out["worker_deaths"] = self.deaths
        return out


class _Pool:
    """A process pool that is shut down cleanly if all went well, else terminated at once.

    Remembers its worker processes, so that after a break it can tell how one died.
    """

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool
        self.processes: dict[int, multiprocessing.process.BaseProcess] = {}
        self.broken = False

    @property
    def death(self) -> str:
        """How the first dead worker died, in words (``killed by SIGKILL ...``)."""
        for process in self.processes.values():
            process.join(timeout=1)
        codes = [p.exitcode for p in self.processes.values() if p.exitcode not in (None, 0)]
        own = [c for c in codes if c != -signal.SIGTERM] or codes  # the pool SIGTERMs the rest
        return _exit_words(own[0]) if own else "exit status unknown"

    def submit(self, call: Callable[[Batch], Any], batch: Batch) -> Future:
        future = self.pool.submit(call, batch)
        self.processes.update(getattr(self.pool, "_processes", None) or {})  # no public API
        return future

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None and not self.broken:
            self.pool.shutdown(wait=True)
        else:
            _terminate(self.pool)


def _exit_words(code: int) -> str:
    """A worker's exit code in words: ``killed by SIGKILL, as the out-of-memory killer does``."""
    if code >= 0:
        return f"exit status {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    oom = ", as the out-of-memory killer does" if -code == signal.SIGKILL else ""
    return f"killed by {name}{oom}"


def _windowed(pool: _Pool, queue: Iterator[Batch], window: int, lost: list[Batch]
              ) -> Iterator[Any]:
    """Keep at most ``window`` batches submitted; yield results as they come back.

    If the pool breaks (a worker died), the batches it had in flight are appended to ``lost``
    and the generator returns; ``queue`` keeps the batches not yet submitted.
    """
    pending: dict[Future, Batch] = {}

    def top_up() -> None:
        while len(pending) < window and not pool.broken:
            batch = next(queue, None)
            if batch is None:
                return
            try:
                pending[pool.submit(_call, batch)] = batch
            except BrokenProcessPool:
                pool.broken = True
                lost.append(batch)

    top_up()
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        results = []
        for future in sorted(done, key=lambda f: pending[f][0]):
            batch = pending.pop(future)
            try:
                results.append(future.result())
            except BrokenProcessPool:
                pool.broken = True
                lost.append(batch)
        yield from results
        if pool.broken:
            lost.extend(pending.values())  # every other future of a broken pool fails too
            lost.sort(key=lambda batch: batch[0])
            return
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
    """Worker start-up: remember the job; leave Ctrl-C and hang-ups to the parent process.

    SIGTERM gets its default action back (a forked worker inherits the parent's handler): the
    pool ends its workers with SIGTERM when it shuts down or breaks. A watchdog ends the worker
    when its parent dies without a word (``kill -9``): an orphan would run on and keep the
    results folder's lock, which a forked worker shares, so ``--resume`` could not start.
    """
    global _JOB
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _JOB = (fn, shared)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True,
                     name="chipsim-parent-watchdog").start()


#: Seconds between a worker's checks that its parent is alive.
PARENT_CHECK_SECONDS = 0.1


def _exit_with_parent(parent: int) -> None:
    """End this worker process once its parent is gone (it is re-parented: the pid changes)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


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
        shared = (scenario, counterfactual, check_conservation)
        for batch in chosen.map(run_batch, shared, batches, on_lost=lost_batch):
            for result in batch:
                if on_done:
                    on_done(result)
                yield result
