"""``chipsim explore``: many experiments over a scenario's uncertainties and levers.

An exploratory study asks how the outcomes behave across everything a scenario leaves open:
the parameters its file gives a distribution (uncertainties) and the event fields it names as
levers. :func:`explore` samples both together in one Latin hypercube of ``N`` points (EMA
Workbench's ``LHSSampler``, each input drawn from its distribution; see :mod:`sim.analysis.ema`),
runs each point on replications ``0..K-1`` (the seeds of ``chipsim run``) with its
counterfactual, and summarises each experiment by the median over its seeds of each metric's
period total (final value for stocks and rates).

All ``N x K`` replications go through chipsim's executors (:mod:`sim.experiments.executors`), so
they spread over every core, and a worker that dies is replaced; the numbers are the same
whatever the number of workers. Within a batch, experiments that share their events (the same
lever values) are stepped together in one model (:func:`run_tasks`). The design is drawn from
the scenario's root seed, so the same file and options give the same tables, byte for byte.

The results folder holds ``experiments.csv`` (one row per experiment: its inputs),
``outcomes.csv`` (one row per experiment: the medians) and ``manifest.json``;
``chipsim discover`` (:mod:`sim.analysis.discover`) finds the conditions under which an
outcome is high or low.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.analysis.ema import (
    DEFAULT_SEEDS,
    check_variable,
    chipsim_name,
    levers,
    uncertainties,
    workbench,
)
from sim.analysis.uncertain import at_point, collect
from sim.model.metrics import METRIC_NAMES
from sim.scenario.errors import ScenarioError
from sim.world.parameters import STRUCTURAL

if TYPE_CHECKING:
    from sim.experiments.replication import ReplicationResult
    from sim.scenario.scenario import Scenario

EXPERIMENTS_FILE = "experiments.csv"
OUTCOMES_FILE = "outcomes.csv"
MANIFEST_FILE = "manifest.json"
#: Most replications (experiments x seeds) one study may ask for.
MAX_RUNS = 2_000_000


@dataclass(frozen=True)
class Plan:
    """What every worker needs: the scenario, the design's inputs, the seeds per experiment."""

    scenario: Scenario
    uncertainties: tuple[str, ...]
    levers: tuple[str, ...]
    rows: tuple[tuple[float, ...], ...]
    seeds: int

    def point(self, experiment: int) -> tuple[Scenario, Scenario]:
        """The scenario of one experiment, and its counterfactual."""
        return at_point(self.scenario, self.parameters(experiment), self.lever_values(experiment))

    def parameters(self, experiment: int) -> dict[str, float]:
        """The uncertainties' values of one experiment."""
        row = self.rows[experiment]
        return dict(zip(self.uncertainties, row[:len(self.uncertainties)], strict=True))

    def lever_values(self, experiment: int) -> dict[str, float]:
        """The levers' values of one experiment."""
        return dict(zip(self.levers, self.rows[experiment][len(self.uncertainties):],
                        strict=True))

    def world(self, experiment: int) -> tuple[Scenario, Scenario]:
        """What experiments must share to be stepped together, as scenario and counterfactual.

        Levers change events, and structural parameters the model's shape; both are set here.
        The other uncertainties are left to ``parameter_sets``, per replication.
        """
        fixed = {k: v for k, v in self.parameters(experiment).items() if k in STRUCTURAL}
        return at_point(self.scenario, fixed, self.lever_values(experiment))

    def world_key(self, experiment: int) -> tuple[float, ...]:
        """Experiments with equal keys share their :meth:`world`."""
        fixed = tuple(v for k, v in self.parameters(experiment).items() if k in STRUCTURAL)
        return fixed + tuple(self.lever_values(experiment).values())


def run_tasks(plan: Plan, batch: Sequence[int]) -> list[tuple[int, ReplicationResult]]:
    """Run tasks ``experiment * seeds + seed`` (one executor batch), each with its pair.

    Tasks whose experiments share their events and structure (:meth:`Plan.world`) - all of
    them when the study has no levers - are stepped together in one model, each with its
    experiment's values fixed on top; a replication's numbers do not depend on what runs beside
    it (keyed draws), so this gives what running each experiment alone gives, faster. The
    values are not checked again here: :func:`sample_design` draws every one inside its
    parameter's or lever's allowed range.
    """
    from sim.experiments.replication import run_batch

    worlds: dict[tuple[float, ...], list[int]] = {}
    for task in batch:
        worlds.setdefault(plan.world_key(task // plan.seeds), []).append(task)
    out: list[tuple[int, ReplicationResult]] = []
    for tasks in worlds.values():
        experiments = [task // plan.seeds for task in tasks]
        scenario, counterfactual = plan.world(experiments[0])
        results = run_batch(scenario, counterfactual, False, [t % plan.seeds for t in tasks],
                            [plan.parameters(e) for e in experiments])
        out.extend(zip(tasks, results, strict=True))
    return out


def lost_tasks(plan: Plan, batch: Sequence[int], why: str) -> list[tuple[int,
                                                                        ReplicationResult]]:
    """Tasks whose worker died twice: failed replications, saying how."""
    from sim.experiments.replication import lost_batch

    return [(task, result) for task, result in
            zip(batch, lost_batch([t % plan.seeds for t in batch], why), strict=True)]


@dataclass
class Exploration:
    """A finished study: the design, the outcomes, and what it was run with."""

    scenario: Scenario
    design: pd.DataFrame
    outcomes: pd.DataFrame
    seeds: int
    failures: dict[int, dict[int, str]] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    def write(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write ``experiments.csv``, ``outcomes.csv`` and ``manifest.json`` atomically."""
        from sim.experiments.folders import atomic_folder, write_csv, write_json

        with atomic_folder(Path(out_dir), force) as tmp:
            write_csv(self.design, tmp / EXPERIMENTS_FILE)
            write_csv(self.outcomes, tmp / OUTCOMES_FILE)
            write_json(tmp / MANIFEST_FILE, self.manifest)
        return Path(out_dir)


def sample_design(scenario: Scenario, experiments: int, seed: int) -> pd.DataFrame:
    """A Latin hypercube over the uncertainties and levers: ``experiment`` and one column each.

    Uncertainties come first (name order), then levers (file order); whole-number levers are
    whole numbers. Every value lies in its parameter's allowed range (a normal or lognormal
    distribution is sampled truncated to it, :func:`~sim.analysis.uncertain.samplers`) or its
    lever's, so a point of the design is a scenario the loader accepts.
    """
    workbench()  # imported quietly first
    from ema_workbench.em_framework.samplers import LHSSampler

    params = uncertainties(scenario) + levers(scenario)
    collection = LHSSampler().generate_samples(params, experiments,
                                               rng=np.random.default_rng(seed))
    names = [chipsim_name(p) for p in collection.parameters.latent_parameters]
    design = pd.DataFrame(collection.samples, columns=names)
    for lever in scenario.levers:
        if lever.integer:
            design[lever.name] = design[lever.name].round().astype(int)
    design.insert(0, "experiment", np.arange(experiments))
    return design


def explore(scenario: Scenario, experiments: int, *, seeds: int = DEFAULT_SEEDS,
            workers: int = 1, progress: bool = False) -> Exploration:
    """Sample the scenario's uncertainties and levers and run every experiment.

    Args:
        scenario: A scenario with parameter distributions or levers.
        experiments: Number of experiments ``N`` (Latin hypercube points).
        seeds: Replications per experiment ``K``, the same at every point.
        workers: Local processes (1: in this process).
        progress: Show a progress bar on a terminal.

    Raises:
        ScenarioError: nothing to explore.

    """
    from sim.experiments.executors import make_executor, plan_batches
    from sim.experiments.runner import package_versions

    check_variable(scenario)
    started, clock = datetime.now(UTC), time.perf_counter()
    design_seed = scenario.seed % 2**32
    design = sample_design(scenario, experiments, design_seed)
    names_u = tuple(chipsim_name(p) for p in uncertainties(scenario))
    names_l = tuple(lever.name for lever in scenario.levers)
    rows = tuple(tuple(float(v) for v in row)
                 for row in design[list(names_u + names_l)].itertuples(index=False))
    plan = Plan(scenario, names_u, names_l, rows, seeds)
    results: dict[int, list[ReplicationResult]] = {e: [] for e in range(experiments)}
    executor = make_executor(workers)
    bar = _progress(experiments * seeds, progress)
    try:
        with executor:
            batches = plan_batches(range(experiments * seeds), executor.slots,
                                   executor.batch_limit)
            lost = _Lost(plan)
            for batch in executor.map(run_tasks, (plan,), batches, on_lost=lost):
                for task, result in batch:
                    results[task // seeds].append(result)
                    bar.update(1)
    finally:
        bar.close()
    outcomes, failures = _outcomes(scenario, results)
    manifest = _manifest(scenario, experiments, seeds, design_seed, names_u, failures, started,
                         time.perf_counter() - clock, package_versions(), executor.describe())
    return Exploration(scenario, design, outcomes, seeds, failures, manifest)


@dataclass(frozen=True)
class _Lost:
    """``on_lost`` of the executor: the plan travels with it (a picklable callable)."""

    plan: Plan

    def __call__(self, batch: Sequence[int], why: str) -> list[tuple[int, ReplicationResult]]:
        return lost_tasks(self.plan, batch, why)


def _outcomes(scenario: Scenario, results: dict[int, list[ReplicationResult]]
              ) -> tuple[pd.DataFrame, dict[int, dict[int, str]]]:
    from sim.world.months import format_month

    months = [format_month(m) for m in scenario.months]
    rows, failures = [], {}
    for experiment in sorted(results):
        point = collect(results[experiment], months)
        rows.append(point.median().reindex(list(METRIC_NAMES)).to_numpy())
        if point.failures:
            failures[experiment] = point.failures
    table = pd.DataFrame(np.array(rows).reshape(len(rows), len(METRIC_NAMES)),
                         columns=list(METRIC_NAMES))
    table.insert(0, "experiment", np.arange(len(rows)))
    return table, failures


def _manifest(scenario: Scenario, experiments: int, seeds: int, design_seed: int,
              names_u: tuple[str, ...], failures: dict[int, dict[int, str]],
              started: datetime, wall: float, versions: dict[str, str],
              executor: dict[str, Any]) -> dict[str, Any]:
    from importlib import metadata

    from sim.analysis.uncertain import samplers
    from sim.experiments.manifest import scenario_record
    from sim.experiments.replication import SEED_DERIVATION

    ranges = samplers(scenario)
    return {
        "kind": "explore",
        **scenario_record(scenario),
        "experiments": experiments,
        "uncertainties": {name: {"distribution": ranges[name].dist.to_yaml(),
                                 "sampled_within": [ranges[name].low, ranges[name].high]}
                          for name in names_u},
        "levers": {lever.name: {"range": [lever.low, lever.high], "integer": lever.integer}
                   for lever in scenario.levers},
        "design": {"sampler": "Latin hypercube over uncertainties and levers together"
                              " (ema_workbench LHSSampler, scipy.stats.qmc.LatinHypercube)",
                   "seed": design_seed,
                   "sampling": "normal and lognormal truncated to mean +- 2 sd of the"
                               " underlying normal and to the parameter's allowed range"},
        "seeds": {"root_seed": scenario.seed, "count": seeds, "derivation": SEED_DERIVATION},
        "outcomes": "median over the seeds of each metric's period total (flows) or final"
                    " value (stocks, rates); failed seeds left out",
        "failed_replications": {str(e): {str(i): err for i, err in f.items()}
                                for e, f in failures.items()},
        "executor": executor,
        "versions": {**versions, "ema_workbench": metadata.version("ema_workbench")},
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_time_s": round(wall, 3),
        "command_line": sys.argv,
    }


def _progress(total: int, show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="experiments x seeds", unit="run", file=sys.stderr,
                disable=not (show and sys.stderr.isatty()), leave=False)


# --------------------------------------------------------------------------- the command


def explore_command(path: str, *, experiments: int, seeds: int | None = None,
                    out: str | None = None, workers: int | None = None,
                    force: bool = False) -> int:
    """``chipsim explore``: sample, run and write the study's folder. Returns an exit code.

    Raises:
        ScenarioError: invalid input (exit 2): a bad file, nothing to explore, too many runs,
            an existing folder without ``--force``.

    """
    from sim.experiments.executors import default_workers
    from sim.experiments.folders import refuse_to_overwrite
    from sim.scenario.scenario import load_scenario

    scenario = load_scenario(path)
    check_variable(scenario)
    k = seeds or DEFAULT_SEEDS
    if experiments * k > MAX_RUNS:
        raise ScenarioError(f"{experiments} experiments x {k} seeds = {experiments * k} runs;"
                            f" at most {MAX_RUNS:,}", file=path, key="--experiments")
    target = Path(out) if out else Path("results") / f"explore-{scenario.name}"
    refuse_to_overwrite(target, force, file=path)
    study = explore(scenario, experiments, seeds=k, workers=workers or default_workers(),
                    progress=True)
    folder = study.write(target, force=force)
    failed = sum(len(f) for f in study.failures.values())
    inputs = len(study.design.columns) - 1
    print(f"{scenario.name}: {experiments} experiments over {inputs} inputs x {k} seeds ->"
          f" {folder}")
    if failed:
        print(f"  {failed} replications failed; manifest.json lists them under"
              " failed_replications", file=sys.stderr)
        return 1
    return 0
