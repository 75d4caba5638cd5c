"""Validation: the model against the record's targets, calibration and held-out ones apart.

``chipsim validate`` runs the scenarios the targets read (``sim/world/data/targets.yaml``: the
timeline and the what-ifs the patterns compare it with) on the same replications - so every
comparison between scenarios is paired, parameter draws included - with the shipped scenario
files' parameters, which draw from the posterior (``parameters: {from: posterior}`` in
``scenarios/baseline.yaml``). For each target it reports its role, FACTS ids, the source value
and tolerance, the model's median and 5-95 % range over the runs, and the share of runs that hold
it. Calibration targets show the fit; validation targets were never used to calibrate, so they
show how the model generalises. The command fails (exit 1) when a validation target holds in
fewer than ``threshold`` (80 %) of the runs.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.analysis.batch import simulate_many
from sim.analysis.targets import (
    TIMELINE,
    Runs,
    Target,
    Targets,
    format_value,
    shipped_targets,
)

if TYPE_CHECKING:
    from sim.scenario.scenario import Scenario

#: Share of runs a validation target must hold in.
THRESHOLD = 0.8
DEFAULT_SEEDS = 20
#: Level of the interval reported around each share of runs that hold a target.
SHARE_LEVEL = 0.9
VALIDATION_FILE = "validation.csv"
RUNS_FILE = "runs.csv"


@dataclass(frozen=True)
class TargetResult:
    """One target over the runs: the statistic per run and whether each run holds it."""

    target: Target
    values: np.ndarray

    @property
    def held(self) -> np.ndarray:
        """Whether each run holds the target."""
        return self.target.holds(self.values)

    @property
    def share(self) -> float:
        """Share of runs that hold it."""
        return float(self.held.mean()) if len(self.values) else 0.0

    def share_interval(self, level: float = SHARE_LEVEL) -> tuple[float, float]:
        """Wilson interval of the share of runs that hold it, at ``level`` (scipy's binomtest).

        With 20 runs a share of 80 % is known to about +-9 points: the interval says whether a
        miss of the 80 % bar is more than the runs' own noise.
        """
        from scipy.stats import binomtest

        n = len(self.values)
        if not n:
            return (0.0, 1.0)
        ci = binomtest(int(self.held.sum()), n).proportion_ci(level, method="wilson")
        return float(ci.low), float(ci.high)

    def share_text(self) -> str:
        """The share with its interval, e.g. ``70% (52-84)``."""
        low, high = self.share_interval()
        return f"{self.share:.0%} ({low * 100:.0f}-{high * 100:.0f})"

    def percentiles(self) -> tuple[float, float, float]:
        """5th, 50th and 95th percentiles of the statistic (NaN runs left out)."""
        finite = self.values[~np.isnan(self.values)]
        if not len(finite):
            return (np.nan, np.nan, np.nan)
        with np.errstate(invalid="ignore"):
            p05, p50, p95 = np.percentile(finite, [5, 50, 95])
        return float(p05), float(p50), float(p95)

    def passed(self, threshold: float = THRESHOLD) -> bool:
        """Whether it held in at least ``threshold`` of the runs."""
        return self.share >= threshold


@dataclass(frozen=True)
class Validation:
    """Every target over the same runs."""

    results: tuple[TargetResult, ...]
    seeds: int
    root_seed: int
    posterior: str | None
    notes: dict[str, Any] = field(default_factory=dict)

    def role(self, role: str) -> tuple[TargetResult, ...]:
        """The results of one role's targets."""
        return tuple(r for r in self.results if r.target.role == role)

    def together(self, role: str = "validation") -> float:
        """Share of runs that hold every target of ``role`` at once (FACTS section C)."""
        rows = [r.held for r in self.role(role)]
        return float(np.logical_and.reduce(rows).mean()) if rows else 1.0

    def failures(self, threshold: float = THRESHOLD) -> list[TargetResult]:
        """Validation targets that hold in fewer than ``threshold`` of the runs."""
        return [r for r in self.role("validation") if not r.passed(threshold)]

    def table(self, threshold: float = THRESHOLD) -> pd.DataFrame:
        """``validation.csv``: one row per target."""
        rows = []
        for r in self.results:
            t = r.target
            p05, p50, p95 = r.percentiles()
            share_low, share_high = r.share_interval()
            value = t.value if not isinstance(t.value, tuple) else list(t.value)
            rows.append({"role": t.role, "id": t.id, "facts": " ".join(t.facts),
                         "title": t.title, "unit": t.unit, "compare": t.compare,
                         "value": value, "tolerance": t.tolerance,
                         "statistic": t.statistic.describe(), "p05": p05, "p50": p50,
                         "p95": p95, "share_inside": r.share,
                         "share_inside_p05": share_low, "share_inside_p95": share_high,
                         "runs": len(r.values),
                         "passed": r.passed(threshold)})
        return pd.DataFrame(rows)

    def runs(self) -> pd.DataFrame:
        """``runs.csv``: each target's statistic per run (replication index as ``run``)."""
        frame = pd.DataFrame({r.target.id: r.values for r in self.results})
        frame.insert(0, "run", np.arange(len(frame)))
        return frame


# --- the scenarios and the runs ---------------------------------------------------------------


def target_scenarios(targets: Targets, keys: Sequence[str] | None = None,
                     parameters: Mapping[str, float] | None = None) -> dict[str, Scenario]:
    """The scenario files the targets read (the shipped library), with ``parameters`` on top."""
    from sim.scenario.library import library_file
    from sim.scenario.scenario import load_scenario

    out = {}
    for key in keys or targets.scenarios_needed():
        scenario = load_scenario(library_file(targets.scenario_files[key]))
        if parameters:
            scenario = scenario.replace(parameters={**scenario.parameters, **parameters})
        out[key] = scenario
    return out


def simulate_scenarios(scenarios: Mapping[str, Scenario], seeds: int, workers: int = 1) -> Runs:
    """Replications ``0..seeds-1`` of every scenario, all on the timeline's seeds."""
    from sim.experiments.replication import replication_seed

    timeline = scenarios[TIMELINE]
    seed_list = [replication_seed(timeline.seed, i) for i in range(seeds)]
    for key, s in scenarios.items():
        if (s.start, s.end) != (timeline.start, timeline.end):
            raise ValueError(f"scenario {key} covers another period than the timeline")
    values = {key: simulate_many(s, seed_list, workers=workers) for key, s in scenarios.items()}
    return Runs(values, timeline.start)


def measure(targets: Sequence[Target], runs: Runs) -> tuple[TargetResult, ...]:
    """Each target's statistic over the runs."""
    return tuple(TargetResult(t, runs.evaluate(t.statistic)) for t in targets)


def validate(seeds: int = DEFAULT_SEEDS, workers: int = 1,
             parameters: Mapping[str, float] | None = None,
             targets: Targets | None = None,
             scenarios: Mapping[str, Scenario] | None = None) -> Validation:
    """Run the targets' scenarios on ``seeds`` replications and measure every target.

    Args:
        seeds: replications (runs); each draws its parameters as the scenario files say (the
            posterior, for the shipped library).
        workers: worker processes.
        parameters: values fixed on top of every scenario's (e.g. a broken parameter).
        targets: the targets (default: the shipped file).
        scenarios: scenario key -> scenario (default: the shipped library's files).

    """
    targets = targets or shipped_targets()
    chosen = dict(scenarios) if scenarios is not None else target_scenarios(
        targets, parameters=parameters)
    runs = simulate_scenarios(chosen, seeds, workers)
    source = chosen[TIMELINE].parameters.get("from")
    posterior = getattr(source, "sha256", None)
    return Validation(measure(targets.targets, runs), seeds, chosen[TIMELINE].seed, posterior)


# --- the report --------------------------------------------------------------------------------

_HEADINGS = {
    "calibration": "Calibration targets (fitted by chipsim calibrate: the fit)",
    "validation": "Validation targets (held out, never used to calibrate: out of sample)",
}


def report(v: Validation, threshold: float = THRESHOLD) -> str:
    """The validation report as text: a table per role, then the verdict."""
    where = f"from the posterior {v.posterior[:12]}" if v.posterior else "from the data file"
    lines = [f"{v.seeds} runs (replications 0..{v.seeds - 1} of root seed {v.root_seed}),"
             f" parameters {where}"]
    for role in ("calibration", "validation"):
        results = v.role(role)
        if not results:
            continue
        lines += ["", _HEADINGS[role], _row("id", "facts", "target", "model median",
                                           "model 5-95 %", "inside (90 %)", "")]
        for r in results:
            t = r.target
            p05, p50, p95 = r.percentiles()
            verdict = "" if role == "calibration" else ("ok" if r.passed(threshold) else "FAIL")
            lines.append(_row(t.id, ",".join(f for f in t.facts[:2]), t.target_text(),
                              format_value(p50, t.unit),
                              f"{format_value(p05, t.unit)} .. {format_value(p95, t.unit)}",
                              r.share_text(), verdict))
        lines.append(f"all {role} targets at once: {v.together(role):.0%} of runs")
    failed = v.failures(threshold)
    held = len(v.role("validation")) - len(failed)
    lines += ["", f"{held} of {len(v.role('validation'))} validation targets hold in at least"
              f" {threshold:.0%} of runs"]
    if failed:
        lines.append("failing: " + ", ".join(f"{r.target.id} ({r.share:.0%})" for r in failed))
    return "\n".join(lines)


def _row(*cells: str) -> str:
    widths = (5, 12, 22, 14, 28, 14, 4)
    return "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)).rstrip()


def validate_command(seeds: int = DEFAULT_SEEDS, workers: int | None = None,
                     out: str | None = None, threshold: float = THRESHOLD,
                     force: bool = False, parameters: Mapping[str, float] | None = None) -> int:
    """``chipsim validate``: print the report; write ``validation.csv`` to ``out`` if given.

    Args:
        seeds: runs per scenario.
        workers: worker processes (default: all cores).
        out: folder for ``validation.csv`` and ``runs.csv``.
        threshold: share of runs a validation target must hold in.
        force: replace ``out``.
        parameters: values fixed in every scenario (``--set``).

    Returns:
        0 when every validation target holds in at least ``threshold`` of the runs, else 1.

    Raises:
        ScenarioError: an unknown parameter or a value outside its range (exit 2).

    """
    from sim.experiments.executors import default_workers
    from sim.scenario.errors import ScenarioError
    from sim.world.parameters import DEFAULTS

    for name in parameters or {}:
        if name not in DEFAULTS:
            raise ScenarioError(f"unknown parameter {name!r} (`chipsim list parameters`)",
                                key="--set")
    if out is not None:
        from sim.experiments.folders import refuse_to_overwrite

        refuse_to_overwrite(Path(out), force, file="validate")
    result = validate(seeds=seeds, workers=workers or default_workers(), parameters=parameters)
    print(report(result, threshold))
    if out is not None:
        write(result, Path(out), threshold, force)
        print(f"-> {out}", file=sys.stderr)
    return 0 if not result.failures(threshold) else 1


def write(v: Validation, out: Path, threshold: float = THRESHOLD, force: bool = False) -> Path:
    """Write ``validation.csv`` and ``runs.csv`` to ``out`` (atomically)."""
    from sim.experiments.folders import atomic_folder, write_csv

    with atomic_folder(out, force) as tmp:
        write_csv(v.table(threshold), tmp / VALIDATION_FILE)
        write_csv(v.runs(), tmp / RUNS_FILE)
    return out
