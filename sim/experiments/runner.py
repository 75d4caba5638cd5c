"""Run a scenario as a Monte Carlo ensemble and collect its results.

``run(scenario, seeds=...)`` returns a :class:`Results` with the tables as pandas DataFrames;
``run_command`` is what ``chipsim run`` calls: it streams finished replications to a work folder
beside the results folder (so a long run can ``--resume``), then writes the results folder
atomically. ``rerun_command`` (``chipsim rerun``) repeats a run from its ``manifest.json`` alone.

Three things are kept apart: *what* is simulated (:mod:`sim.experiments.replication`), *where* it runs
(:mod:`sim.experiments.executors`: serial, local processes, Dask) and *where finished replications go*
(:mod:`sim.experiments.store`: memory or a work folder). Replication ``i`` always uses
``SeedSequence(root_seed, spawn_key=(i,))`` and the table is assembled in index order, so the
results are bit-identical whatever the executor, the worker count, the completion order, or how
many times the run was interrupted and resumed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.experiments.replication import SEED_DERIVATION, ReplicationResult
from sim.model.metrics import METRIC_NAMES
from sim.scenario.errors import ScenarioError
from sim.scenario.scenario import (
    NO_EVENTS,
    Scenario,
    load_counterfactual,
    load_scenario,
    scenario_from_dict,
)
from sim.world.months import format_month

if TYPE_CHECKING:
    from sim.experiments.executors import Executor
    from sim.experiments.store import DiskStore, MemoryStore

#: Most replications one run may ask for (keeps memory bounded; see docs/scenarios.md).
MAX_SEEDS = 100_000

OnDone = Callable[[ReplicationResult], None]


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
        """One of the figures a results folder holds (:data:`sim.experiments.output.FIGURES`), by name."""
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

    def write(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write tables, figures and manifest to ``out_dir`` atomically."""
        from sim.experiments.output import write_results

        return write_results(
            out_dir, timeseries=self.timeseries, manifest=self.manifest, events=self.events,
            scenario=self.scenario.name, title=self.scenario.title, n_seeds=len(self.seeds),
            force=force,
        )


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
        executor: an executor from :mod:`sim.experiments.executors` (overrides ``workers``/``scheduler``).
        work_dir: stream finished replications to this folder (removed when the run completes);
            with ``resume``, reuse the replications an interrupted run left there.
        resume: see ``work_dir``.
        progress: show a progress bar on stderr (default: only if stderr is a terminal).
        on_done: called with each replication once it is finished (and saved).

    Raises:
        ValueError: ``seeds`` is out of range.
        sim.experiments.executors.ExecutorError: the executor cannot be used (e.g. dask not installed).
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
                             progress=progress, on_done=on_done)
    with DiskStore(work_dir, _identity(scenario, counterfactual), resume=resume) as store:
        n = seeds or store.count or scenario.seeds
        store.set_count(n)
        results = _ensemble(scenario, counterfactual, n, chosen, store, check=check_conservation,
                            progress=progress, on_done=on_done)
        store.remove()
    return results


# --------------------------------------------------------------------------- the commands


def run_command(path: str, seeds: int | None = None, out: str | None = None,
                workers: int | None = None, force: bool = False, *, scheduler: str | None = None,
                resume: bool = False, progress: bool | None = None,
                on_done: OnDone | None = None) -> int:
    """``chipsim run``: run a scenario file and write its results folder. Returns an exit code.

    Finished replications stream to ``.<name>.partial/`` beside the results folder; after an
    interruption, the same command with ``resume=True`` reuses them. The exit code is 1 if a
    replication failed (the folder then holds the others; the manifest lists the failures).
    """
    scenario = load_scenario(path)
    _check_count(seeds, lambda text: ScenarioError(text, file=path, key="--seeds"))
    target = Path(out) if out else Path("results") / scenario.name
    counterfactual = load_counterfactual(scenario)
    return _run_to_folder(scenario, counterfactual, seeds, target, label=path, workers=workers,
                          scheduler=scheduler, force=force, resume=resume, progress=progress,
                          on_done=on_done)


def rerun_command(manifest: str, out: str | None = None, workers: int | None = None,
                  force: bool = False, *, scheduler: str | None = None, resume: bool = False,
                  progress: bool | None = None) -> int:
    """``chipsim rerun``: repeat a run from its ``manifest.json`` alone. Returns an exit code.

    The scenario and its counterfactual are rebuilt from the resolved documents the manifest
    holds (no scenario file is read) and checked against the manifest's hashes; the same seeds
    are run. If the original ``timeseries.csv`` sits beside the manifest, the new one is compared
    with it byte for byte: exit 1 if they differ.
    """
    from sim.experiments.output import MANIFEST_FILE, TIMESERIES_FILE
    from sim.experiments.store import runtime

    path = Path(manifest)
    if path.is_dir():
        path = path / MANIFEST_FILE
    label = str(path)
    document = _read_manifest(path)
    scenario, counterfactual, n = scenario_from_manifest(document, label=label)
    recorded = {"code_fingerprint": document.get("code_fingerprint"),
                "numpy": document.get("versions", {}).get("numpy")}
    here = runtime()
    for key, value in recorded.items():
        if value is not None and value != here[key]:
            what = "chipsim's code" if key == "code_fingerprint" else "numpy"
            print(f"chipsim rerun: note: {what} differs from the original run's; the numbers "
                  "may differ", file=sys.stderr)
    original = path.parent / TIMESERIES_FILE
    before = _digest(original) if original.is_file() else None  # even if --out replaces it
    folder = path.parent if path.parent.name else path.parent.resolve()
    target = Path(out) if out else folder.with_name(folder.name + "-rerun")
    code = _run_to_folder(scenario, counterfactual, n, target, label=label, workers=workers,
                          scheduler=scheduler, force=force, resume=resume, progress=progress,
                          extra={"rerun_of": label})
    if before is not None:
        if _digest(target / TIMESERIES_FILE) == before:
            print(f"{TIMESERIES_FILE} is byte-identical to {original}")
        else:
            print(f"chipsim rerun: {target / TIMESERIES_FILE} differs from {original}",
                  file=sys.stderr)
            return 1
    return code


def scenario_from_manifest(manifest: dict[str, Any], label: str = "<manifest>"
                           ) -> tuple[Scenario, Scenario, int]:
    """Rebuild a run's scenario, counterfactual and seed count from its manifest.

    Both scenarios come from the resolved documents stored in the manifest (no file is read,
    so a counterfactual given by path is reproduced too) and must hash to the recorded hashes.

    Raises:
        ScenarioError: the manifest lacks what is needed, or does not match its hashes.

    """
    def fail(problem: str, key: str | None = None) -> ScenarioError:
        return ScenarioError(problem, file=label, key=key)

    try:
        resolved = manifest["resolved_scenario"]
        n = manifest["seeds"]["count"]
        root = manifest["seeds"]["root_seed"]
    except (KeyError, TypeError) as exc:
        raise fail(f"not a chipsim run manifest (no {exc})") from None
    if not isinstance(n, int) or not 1 <= n <= MAX_SEEDS:
        raise fail(f"must be between 1 and {MAX_SEEDS} (got {n!r})", "seeds.count")
    scenario = _rebuild(resolved, manifest.get("scenario_hash"), label, "resolved_scenario")
    if root != scenario.seed:
        raise fail(f"root seed {root!r} differs from the resolved scenario's {scenario.seed}",
                   "seeds.root_seed")
    entry = manifest.get("counterfactual") or {}
    if isinstance(entry, dict) and isinstance(entry.get("resolved"), dict):
        counterfactual = _rebuild(entry["resolved"], entry.get("hash"), label,
                                  "counterfactual.resolved")
    elif resolved.get("counterfactual", NO_EVENTS) == NO_EVENTS:
        counterfactual = scenario.without_events()
    else:
        raise fail("the counterfactual is a file and this manifest does not hold its resolved "
                   "document (written by an older chipsim); run the scenario file instead",
                   "counterfactual")
    return scenario, counterfactual, n


# --------------------------------------------------------------------------- running


def _run_to_folder(scenario: Scenario, counterfactual: Scenario, seeds: int | None,
                   target: Path, *, label: str, workers: int | None, scheduler: str | None,
                   force: bool, resume: bool, progress: bool | None,
                   on_done: OnDone | None = None, extra: dict[str, Any] | None = None) -> int:
    """Run through a work folder beside ``target``, then write ``target`` atomically."""
    from sim.experiments.executors import ExecutorError, default_workers
    from sim.experiments.folders import refuse_to_overwrite
    from sim.experiments.store import DiskStore, StoreError, work_folder

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
    with store:
        n = seeds or store.count or scenario.seeds
        store.set_count(n)
        try:
            results = _ensemble(scenario, counterfactual, n, executor, store, check=False,
                                progress=progress, on_done=on_done, extra=extra)
            folder = results.write(target, force=force)
        except ExecutorError as exc:
            raise ScenarioError(str(exc), file=label, key="--scheduler") from None
        except (KeyboardInterrupt, Exception) as exc:  # a worker died, the disk is full...
            saved = len(store.finished() & set(range(n)))
            where = f" are saved in {work}; run the same command with --resume to finish" \
                if saved else " finished; nothing saved"
            stopped = "interrupted" if isinstance(exc, KeyboardInterrupt) else "stopped"
            print(f"{stopped}: {saved} of {n} replications{where}", file=sys.stderr)
            raise
        store.remove()
    failed = len(results.failures)
    count = results.manifest["replications"]["reused_from_interrupted_run"]
    reused = f" ({count} reused from an interrupted run)" if count else ""
    print(f"{scenario.name}: {n - failed} of {n} replications{reused} -> {folder}")
    for index, error in sorted(results.failures.items()):
        print(f"  replication {index} failed: {error}", file=sys.stderr)
    if failed:
        held = f"holds the other {n - failed}" if failed < n else "has empty tables, no figures,"
        print(f"  {failed} of {n} replications failed; {folder} {held} and lists the failures "
              "under failed_replications in manifest.json", file=sys.stderr)
    return 1 if failed else 0


def _ensemble(scenario: Scenario, counterfactual: Scenario, n: int, executor: Executor,
              store: MemoryStore | DiskStore, *, check: bool, progress: bool | None,
              on_done: OnDone | None, extra: dict[str, Any] | None = None) -> Results:
    """Run the replications ``store`` does not have yet; assemble the results in index order."""
    from sim.experiments.executors import plan_batches
    from sim.experiments.replication import lost_batch, run_batch

    started, clock = datetime.now(UTC), time.perf_counter()
    finished = store.finished()
    todo = [i for i in range(n) if i not in finished]
    reused = n - len(todo)
    with executor:
        _check_workers(executor)
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
    table = _table(scenario, store, [i for i in range(n) if i not in failures])
    results = Results(scenario, counterfactual, table, list(range(n)), failures)
    results.manifest = _manifest(
        scenario, counterfactual, n, failures, started, time.perf_counter() - clock,
        executor=executor.describe(), reused=reused, extra=extra)
    return results


def _executor(workers: int | None, scheduler: str | None) -> Executor:
    from sim.experiments.executors import make_executor

    return make_executor(workers, scheduler)


def _check_workers(executor: Executor) -> None:
    """Refuse remote workers whose chipsim code or numpy differ from ours (numbers would too)."""
    from sim.experiments.executors import ExecutorError
    from sim.experiments.store import runtime

    here = runtime()
    for worker, there in executor.probe(runtime).items():
        for key, what in (("code_fingerprint", "chipsim code"), ("numpy", "numpy version")):
            if there.get(key) != here[key]:
                raise ExecutorError(
                    f"Dask worker {worker} has a different {what} than this machine, so its "
                    "results would not be reproducible; install the same chipsim and numpy on "
                    "every worker")


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


def _table(scenario: Scenario, store: MemoryStore | DiskStore, indices: list[int]
           ) -> pd.DataFrame:
    """One row per (replication, month), replications in index order, read from the store."""
    dates = [format_month(m) for m in scenario.months]
    if not indices:
        return pd.DataFrame(columns=["seed", "date", *METRIC_NAMES])
    months = len(dates)
    values = np.empty((len(indices) * months, len(METRIC_NAMES)))
    for k, index in enumerate(indices):
        values[k * months:(k + 1) * months] = store.load(index)
    frame = pd.DataFrame(values, columns=list(METRIC_NAMES), copy=False)
    frame.insert(0, "date", dates * len(indices))
    frame.insert(0, "seed", np.repeat(np.asarray(indices, dtype=np.int64), months))
    return frame


# --------------------------------------------------------------------------- manifests


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on, for manifests."""
    out = {"python": sys.version.split()[0]}
    for dist in ("chipsim", "mesa", "numpy", "scipy", "pandas", "matplotlib", "pyyaml",
                 "pydantic", "networkx", "tqdm"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _manifest(scenario: Scenario, counterfactual: Scenario, n: int, failures: dict[int, str],
              started: datetime, wall: float, *, executor: dict[str, Any] | None = None,
              reused: int = 0, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    from sim.experiments.store import code_fingerprint

    return {
        "scenario": scenario.name,
        "title": scenario.title,
        "scenario_file": str(scenario.path) if scenario.path else None,
        "scenario_hash": scenario.content_hash(),
        "resolved_scenario": scenario.resolved,
        "counterfactual": {
            "name": counterfactual.name,
            "hash": counterfactual.content_hash(),
            "given_as": scenario.resolved.get("counterfactual", NO_EVENTS),
            "resolved": counterfactual.resolved,
        },
        "seeds": {"root_seed": scenario.seed, "count": n, "derivation": SEED_DERIVATION},
        "replications": {"count": n, "succeeded": n - len(failures), "failed": len(failures),
                         "reused_from_interrupted_run": reused},
        "failed_replications": {
            str(i): {"error": error, "seed": {"root_seed": scenario.seed, "spawn_key": [i]}}
            for i, error in failures.items()
        },
        "executor": executor or {"kind": "serial", "workers": 1},
        "versions": package_versions(),
        "code_fingerprint": code_fingerprint(),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_s": round(wall, 3),
        "command_line": sys.argv,
        **(extra or {}),
    }


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError("no such manifest", file=str(path)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ScenarioError(f"not a readable JSON manifest ({exc})", file=str(path)) from None
    if not isinstance(document, dict):
        raise ScenarioError("not a chipsim run manifest (not a JSON object)", file=str(path))
    return document


def _rebuild(resolved: Any, expected_hash: Any, label: str, key: str) -> Scenario:
    """A scenario from its resolved document, without reading any file; hash-checked."""
    if not isinstance(resolved, dict):
        raise ScenarioError("must be a resolved scenario (a JSON object)", file=label, key=key)
    given = resolved.get("counterfactual", NO_EVENTS)
    standalone = {**resolved, "counterfactual": NO_EVENTS}  # the counterfactual is rebuilt apart
    try:
        built = scenario_from_dict(standalone, file=f"<{label}: {key}>")
    except ScenarioError as exc:
        raise ScenarioError(f"cannot rebuild the scenario: {exc}", file=label, key=key) from None
    if built.resolved != standalone:
        raise ScenarioError("the resolved scenario does not rebuild to itself (written by "
                            "another chipsim version?)", file=label, key=key)
    scenario = dataclasses.replace(built, counterfactual=given, resolved=dict(resolved))
    if expected_hash is not None and scenario.content_hash() != expected_hash:
        raise ScenarioError(f"the scenario hashes to {scenario.content_hash()[:12]}, not to the "
                            f"recorded {str(expected_hash)[:12]} (was the manifest edited?)",
                            file=label, key=key)
    return scenario
