"""Run a scenario as a Monte Carlo ensemble and collect its results.

``run(scenario, seeds=...)`` returns a :class:`Results` with the tables as pandas DataFrames;
``run_command`` is what ``chipsim run`` calls: it streams finished replications to a work folder
beside the results folder (so a long run can ``--resume``), then writes the results folder
atomically, reading the replications back a block at a time (memory stays flat in the seed
count). ``rerun_command`` (``chipsim rerun``) repeats a run from its ``manifest.json`` alone
(:mod:`sim.experiments.manifest`).

Three things are kept apart: *what* is simulated (:mod:`sim.experiments.replication`), *where* it
runs (:mod:`sim.experiments.executors`: serial, local processes, Dask) and *where finished
replications go* (:mod:`sim.experiments.store`: memory or a work folder). Replication ``i``
always uses ``SeedSequence(root_seed, spawn_key=(i,))`` and the table is assembled in index
order, so the results are bit-identical whatever the executor, the worker count, the completion
order, how many workers died on the way, or how many times the run was interrupted and resumed.

A command stops cleanly, with one line naming the exact ``--resume`` command, on Ctrl-C, SIGTERM
or SIGHUP (exit 130, 143, 129; :mod:`sim.experiments.interrupts`) and when its files cannot be
written (exit 1: a full disk, a parent folder that is not writable).
"""

from __future__ import annotations

import functools
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.experiments.manifest import (
    MAX_SEEDS,
    file_digest,
    make_manifest,
    package_versions,
    read_manifest,
    scenario_from_manifest,
)
from sim.experiments.pairing import METRICS as PAIRING_METRICS
from sim.experiments.pairing import pairing_strength
from sim.experiments.replication import ReplicationResult
from sim.model.metrics import METRIC_NAMES
from sim.scenario.errors import ScenarioError
from sim.scenario.scenario import Scenario, load_counterfactual, load_scenario
from sim.world.months import format_month

if TYPE_CHECKING:
    from sim.experiments.executors import Executor
    from sim.experiments.store import DiskStore, MemoryStore
    from sim.experiments.tables import StoreTable

OnDone = Callable[[ReplicationResult], None]
EXIT_FAILURE = 1

__all__ = ["MAX_SEEDS", "Results", "package_versions", "rerun_command", "run", "run_command",
           "scenario_from_manifest"]


@dataclass
class Results:
    """An ensemble's outputs: one row per (seed, month), plus what is needed to reproduce it."""

    scenario: Scenario
    counterfactual: Scenario
    timeseries: pd.DataFrame
    seeds: list[int]
    failures: dict[int, str] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per metric: mean and 5/50/95 % over seeds of the period total or final value."""
        from sim.experiments.summary import summarise

        return summarise(self.timeseries)

    @property
    def events(self) -> list[tuple[str, str]]:
        """The scenario's moves as (YYYY-MM, label), for marking figures."""
        return [(format_month(e.date), e.label) for e in self.scenario.events]

    def plot(self, name: str):  # noqa: ANN201 - matplotlib Figure, imported lazily
        """One of the figures of a results folder (``sim.experiments.output.FIGURES``), by name."""
        from sim.experiments.output import draw_figure

        return draw_figure(name, self.timeseries, self.events, scenario=self.scenario.name,
                           title=self.scenario.title, n_seeds=len(self.seeds))

    def plot_diverted_volumes(self):  # noqa: ANN201
        """Figure: diverted units by channel over time, median and 5-95 % band."""
        return self.plot("diverted_volumes")

    def plot_revenue_loss(self):  # noqa: ANN201
        """Figure: US vendors' revenue loss against the counterfactual, with bands."""
        return self.plot("revenue_loss")

    def plot_market_response(self):  # noqa: ANN201
        """Figure: domestic share of new compute and the grey-market premium, with bands."""
        return self.plot("market_response")

    def write(self, out_dir: str | Path, force: bool = False, format: str = "auto") -> Path:
        """Write tables, figures and manifest to ``out_dir`` atomically.

        ``format``: ``csv``, ``parquet`` or ``auto`` (Parquet above 1,000,000 rows; see
        :mod:`sim.experiments.tables`).
        """
        from sim.experiments.output import folder_notes, write_results
        from sim.experiments.tables import choose_format

        chosen = choose_format(format, len(self.seeds) * len(self.scenario.months))
        seeds = len(self.seeds) - len(self.failures)
        return write_results(
            out_dir, timeseries=self.timeseries, manifest={**self.manifest,
                                                          **folder_notes(chosen, seeds)},
            events=self.events, scenario=self.scenario.name, title=self.scenario.title,
            n_seeds=len(self.seeds), force=force, format=chosen,
        )


@dataclass
class Ensemble:
    """A finished ensemble whose replications are still in their store (nothing loaded)."""

    scenario: Scenario
    counterfactual: Scenario
    count: int
    failures: dict[int, str]
    manifest: dict[str, Any]
    store: MemoryStore | DiskStore

    @property
    def succeeded(self) -> list[int]:
        """Indices of the replications that succeeded, ascending."""
        return [i for i in range(self.count) if i not in self.failures]

    def table(self) -> StoreTable:
        """The timeseries, to be read from the store a block at a time."""
        from sim.experiments.tables import StoreTable

        return StoreTable(self.store, self.succeeded, _dates(self.scenario))

    def per_seed(self, metrics: Sequence[str] = METRIC_NAMES) -> pd.DataFrame:
        """Each seed's period total (flows) or final value (stocks, rates), one row per seed.

        Streamed from the store (:func:`sim.experiments.summary.per_seed_streamed`): the memory
        of one block of seeds plus one number per seed and metric (of ``metrics``).
        """
        from sim.experiments.summary import per_seed_streamed

        return per_seed_streamed(self.table().blocks(), metrics)

    def results(self) -> Results:
        """Everything in memory: the :class:`Results` of the Python API."""
        from sim.experiments.tables import frame_of

        table = frame_of(self.store, self.succeeded, _dates(self.scenario))
        return Results(self.scenario, self.counterfactual, table, list(range(self.count)),
                       self.failures, self.manifest)


# --------------------------------------------------------------------------- the Python API


def run(
    scenario: Scenario | str | Path,
    seeds: int | None = None,
    workers: int | None = None,
    check_conservation: bool = False,
    *,
    scheduler: str | None = None,
    executor: Executor | None = None,
    work_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
    on_done: OnDone | None = None,
) -> Results:
    """Run ``seeds`` replications of the scenario, each paired with its counterfactual.

    Args:
        scenario: a loaded scenario or a path to a scenario file.
        seeds: number of replications (default: the scenario's ``seeds``).
        workers: local processes to use (default 1: serially, in this process).
        check_conservation: assert conservation of chips and money every month.
        scheduler: address of a Dask scheduler to run on instead (needs the ``dask`` extra).
        executor: an executor from :mod:`sim.experiments.executors` (overrides ``workers``
            and ``scheduler``).
        work_dir: stream finished replications to this folder (removed when the run completes);
            with ``resume``, reuse the replications an interrupted run left there.
        resume: see ``work_dir``.
        progress: show a progress bar on stderr (default: only if stderr is a terminal).
        on_done: called with each replication once it is finished (and saved).

    Raises:
        ValueError: ``seeds`` is out of range.
        sim.experiments.executors.ExecutorError: the executor cannot be used (e.g. dask not
            installed).
        sim.experiments.store.StoreError: ``work_dir`` holds another run, or is in use.

    """
    from sim.experiments.store import DiskStore, MemoryStore

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    _check_count(seeds, ValueError)
    counterfactual = load_counterfactual(scenario)
    chosen = executor or _executor(workers if scheduler else (workers or 1), scheduler)
    if work_dir is None:
        with MemoryStore() as store:
            n = scenario.seeds if seeds is None else seeds
            return _ensemble(scenario, counterfactual, n, chosen, store, check=check_conservation,
                             progress=progress, on_done=on_done).results()
    with DiskStore(work_dir, _identity(scenario, counterfactual), resume=resume) as store:
        n = seeds or store.count or scenario.seeds
        store.set_count(n)
        results = _ensemble(scenario, counterfactual, n, chosen, store, check=check_conservation,
                            progress=progress, on_done=on_done).results()
        store.remove()
    return results


# --------------------------------------------------------------------------- the commands


def run_command(path: str, seeds: int | None = None, out: str | None = None,
                workers: int | None = None, force: bool = False, *, scheduler: str | None = None,
                resume: bool = False, progress: bool | None = None, format: str = "auto",
                on_done: OnDone | None = None) -> int:
    """``chipsim run``: run a scenario file and write its results folder. Returns an exit code.

    Finished replications stream to ``.<name>.partial/`` beside the results folder; after an
    interruption, the same command with ``resume=True`` reuses them. The exit code is 1 if a
    replication failed (the folder then holds the others; the manifest lists the failures) or if
    the files cannot be written; 143 or 129 if SIGTERM or SIGHUP stopped the run.
    """
    scenario = load_scenario(path)
    _check_count(seeds, lambda text: ScenarioError(text, file=path, key="--seeds"))
    target = Path(out) if out else Path("results") / scenario.name
    counterfactual = load_counterfactual(scenario)
    again = _resume_command("run", path, seeds=seeds, out=out, workers=workers,
                            scheduler=scheduler, format=format, force=force)
    return _run_to_folder(scenario, counterfactual, seeds, target, label=path, workers=workers,
                          scheduler=scheduler, force=force, resume=resume, progress=progress,
                          format=format, again=again, on_done=on_done)


def rerun_command(manifest: str, out: str | None = None, workers: int | None = None,
                  force: bool = False, *, scheduler: str | None = None, resume: bool = False,
                  progress: bool | None = None) -> int:
    """``chipsim rerun``: repeat a run from its ``manifest.json`` alone. Returns an exit code.

    The scenario and its counterfactual are rebuilt from the resolved documents the manifest
    holds (no scenario file is read) and checked against the manifest's hashes; the same seeds
    are run, and the timeseries is written in the same format. If the original timeseries file
    sits beside the manifest, the new one is compared with it byte for byte: exit 1 if they
    differ.
    """
    from sim.experiments.output import MANIFEST_FILE, PARQUET_FILE, TIMESERIES_FILE
    from sim.experiments.store import runtime

    path = Path(manifest)
    if path.is_dir():
        path = path / MANIFEST_FILE
    label = str(path)
    document = read_manifest(path)
    scenario, counterfactual, n = scenario_from_manifest(document, label=label)
    name = PARQUET_FILE if document.get("timeseries_file") == PARQUET_FILE else TIMESERIES_FILE
    format = "parquet" if name == PARQUET_FILE else "csv"
    _note_differences(document, runtime(), format)
    original = path.parent / name
    before = file_digest(original) if original.is_file() else None  # even if --out replaces it
    folder = path.parent if path.parent.name else path.parent.resolve()
    target = Path(out) if out else folder.with_name(folder.name + "-rerun")
    again = _resume_command("rerun", manifest, out=out, workers=workers, scheduler=scheduler,
                            force=force)
    code = _run_to_folder(scenario, counterfactual, n, target, label=label, workers=workers,
                          scheduler=scheduler, force=force, resume=resume, progress=progress,
                          format=format, again=again, extra={"rerun_of": label})
    if code != 0 and not (target / name).is_file():
        return code
    if before is not None:
        if file_digest(target / name) == before:
            print(f"{name} is byte-identical to {original}")
        else:
            print(f"chipsim rerun: {target / name} differs from {original}", file=sys.stderr)
            return EXIT_FAILURE
    return code


def _note_differences(document: dict[str, Any], here: dict[str, str], format: str) -> None:
    """Say so when what decides the numbers (or the Parquet bytes) differs from the original's."""
    versions = document.get("versions", {})
    recorded = {"code_fingerprint": ("chipsim's code", document.get("code_fingerprint")),
                "numpy": ("numpy", versions.get("numpy"))}
    if format == "parquet":
        recorded["pyarrow"] = ("pyarrow (which names itself in the Parquet file)",
                               versions.get("pyarrow"))
        here = {**here, "pyarrow": package_versions()["pyarrow"]}
    for key, (what, value) in recorded.items():
        if value is not None and value != here[key]:
            print(f"chipsim rerun: note: {what} differs from the original run's; the bytes "
                  "may differ", file=sys.stderr)


def _resume_command(verb: str, first: str, *, seeds: int | None = None, out: str | None = None,
                    workers: int | None = None, scheduler: str | None = None,
                    format: str = "auto", force: bool = False) -> str:
    """The command that finishes an interrupted run: the same one, with ``--resume``."""
    words = ["chipsim", verb, first]
    for option, value in (("--seeds", seeds), ("--out", out), ("--workers", workers),
                          ("--scheduler", scheduler)):
        if value is not None:
            words += [option, str(value)]
    if format != "auto":
        words += ["--format", format]
    if force:
        words.append("--force")
    return shlex.join([*words, "--resume"])


# --------------------------------------------------------------------------- running


def _run_to_folder(scenario: Scenario, counterfactual: Scenario, seeds: int | None,
                   target: Path, *, label: str, workers: int | None, scheduler: str | None,
                   force: bool, resume: bool, progress: bool | None, format: str, again: str,
                   on_done: OnDone | None = None, extra: dict[str, Any] | None = None) -> int:
    """Run through a work folder beside ``target``, then write ``target`` atomically."""
    from sim.experiments.executors import ExecutorError, default_workers
    from sim.experiments.folders import OutputError, refuse_to_overwrite
    from sim.experiments.interrupts import Stopped, stop_on_signals
    from sim.experiments.output import folder_notes, write_folder
    from sim.experiments.store import DiskStore, StoreError, work_folder
    from sim.experiments.tables import choose_format

    refuse_to_overwrite(target, force, file=label,
                        note=" (that run is finished)" if resume else "")
    try:
        executor = _executor(workers or (None if scheduler else default_workers()), scheduler)
    except ExecutorError as exc:
        raise ScenarioError(str(exc), file=label, key="--scheduler") from None
    work = work_folder(target)
    try:
        store = DiskStore(work, _identity(scenario, counterfactual), resume=resume,
                          discard=force and not resume)
    except StoreError as exc:
        raise ScenarioError(str(exc), file=label, key="--resume") from None
    except OSError as exc:
        print(f"chipsim: {OutputError(f'the work folder {work}', exc)}; nothing was run",
              file=sys.stderr)
        return EXIT_FAILURE
    with store, stop_on_signals():
        n = seeds or store.count or scenario.seeds

        def say(what: str) -> None:
            saved = len(store.on_disk() & set(range(n)))
            print(f"chipsim: {what}; {saved} of {n} replications are saved in {work}; "
                  f"to finish, run: {again}", file=sys.stderr)

        try:
            store.set_count(n)
            chosen = choose_format(format, n * len(scenario.months))
            ensemble = _ensemble(scenario, counterfactual, n, executor, store, check=False,
                                 progress=progress, on_done=on_done, extra=extra)
            ensemble.manifest.update(folder_notes(chosen, len(ensemble.succeeded)))
            events = [(format_month(e.date), e.label) for e in scenario.events]
            folder = write_folder(target, ensemble.table(), manifest=ensemble.manifest,
                                  events=events, scenario=scenario.name, title=scenario.title,
                                  n_seeds=n, force=force, format=chosen)
        except ExecutorError as exc:
            raise ScenarioError(str(exc), file=label, key="--scheduler") from None
        except Stopped as exc:
            say(f"stopped by {exc.name}")
            return exc.exit_code
        except KeyboardInterrupt:
            say("interrupted")
            raise
        except OutputError as exc:
            say(str(exc))
            return EXIT_FAILURE
        except Exception:  # a bug, a Dask cluster gone...: say what is kept, then report it
            say("stopped by an unexpected error")
            raise
        store.remove()
    return _report(ensemble, folder)


def _report(ensemble: Ensemble, folder: Path) -> int:
    """Say what the run left where (and if the pairing is weak); exit 1 if a replication failed."""
    from sim.experiments.pairing import pairing_warning

    n, failures = ensemble.count, ensemble.failures
    failed = len(failures)
    count = ensemble.manifest["replications"]["reused_from_interrupted_run"]
    reused = f" ({count} reused from an interrupted run)" if count else ""
    print(f"{ensemble.scenario.name}: {n - failed} of {n} replications{reused} -> {folder}")
    weak = pairing_warning(ensemble.manifest["pairing"], ensemble.scenario.name)
    if weak:
        print(f"  {weak}", file=sys.stderr)
    for index, error in sorted(failures.items()):
        print(f"  replication {index} failed: {error}", file=sys.stderr)
    if failed:
        held = f"holds the other {n - failed}" if failed < n else "has empty tables, no figures,"
        print(f"  {failed} of {n} replications failed; {folder} {held} and lists the failures "
              "under failed_replications in manifest.json", file=sys.stderr)
    return EXIT_FAILURE if failed else 0


def _ensemble(scenario: Scenario, counterfactual: Scenario, n: int, executor: Executor,
              store: MemoryStore | DiskStore, *, check: bool, progress: bool | None,
              on_done: OnDone | None, extra: dict[str, Any] | None = None) -> Ensemble:
    """Run the replications ``store`` does not have yet; nothing is loaded back."""
    from contextlib import closing

    from sim.experiments.executors import check_workers, plan_batches
    from sim.experiments.replication import lost_batch, run_batch

    started, clock = datetime.now(UTC), time.perf_counter()
    finished = store.finished()
    todo = [i for i in range(n) if i not in finished]
    reused = n - len(todo)
    with executor:
        check_workers(executor)
        bar = _progress_bar(total=n, initial=reused, name=scenario.name, enabled=progress)
        try:
            batches = plan_batches(todo, executor.slots, executor.batch_limit)
            shared = (scenario, counterfactual, check)
            stream = executor.map(run_batch, shared, batches, on_lost=lost_batch)
            with closing(stream):
                for result in (r for batch in stream for r in batch):
                    store.save(result)
                    bar.update(1)
                    if result.failed:
                        bar.set_postfix(failed=len(store.failures))
                    if on_done is not None:
                        on_done(result)
        finally:
            bar.close()
    failures = {i: store.failures[i] for i in sorted(store.failures) if i < n}
    manifest = make_manifest(scenario, counterfactual, n, failures, started,
                             time.perf_counter() - clock, executor=executor.describe(),
                             reused=reused, extra=extra)
    ensemble = Ensemble(scenario, counterfactual, n, failures, manifest, store)
    manifest["pairing"] = pairing_strength(ensemble.per_seed(PAIRING_METRICS))
    return ensemble


def _dates(scenario: Scenario) -> list[str]:
    return [format_month(m) for m in scenario.months]


def _executor(workers: int | None, scheduler: str | None) -> Executor:
    from sim.experiments.executors import make_executor

    return make_executor(workers, scheduler)


def _check_count(seeds: int | None, error: Callable[[str], Exception]) -> None:
    if seeds is not None and not 1 <= seeds <= MAX_SEEDS:
        raise error(f"seeds must be between 1 and {MAX_SEEDS} (got {seeds})")


def _identity(scenario: Scenario, counterfactual: Scenario) -> dict[str, Any]:
    from sim.experiments.store import identity

    return identity(scenario.content_hash(), counterfactual.content_hash(),
                    (format_month(scenario.start), format_month(scenario.end)),
                    list(METRIC_NAMES))


def _progress_bar(total: int, initial: int, name: str, enabled: bool | None) -> Any:
    """A tqdm bar on stderr; a silent one unless ``enabled`` (default: stderr is a terminal)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    sized = _terminal_columns() > 0  # a terminal of unknown size (0 x 0) gets 80 x 24
    return _bar_class()(total=total, initial=initial, desc=name, unit="rep", file=sys.stderr,
                        disable=not enabled, dynamic_ncols=sized, ncols=None if sized else 80,
                        nrows=None if sized else 24)


def _terminal_columns() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        return 0


@functools.cache
def _bar_class() -> type:
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0  # no monitor thread: worker processes may be forked after this

    return Bar
