"""Run a scenario as a Monte Carlo ensemble and collect its results.

``run(scenario, seeds=...)`` returns a :class:`Results` with the tables as pandas DataFrames;
``run_command`` is what ``chipsim run`` calls: it also writes the results folder.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.metrics import METRIC_NAMES
from sim.months import format_month
from sim.scenario import Scenario, load_counterfactual, load_scenario

#: Most replications one run may ask for (keeps memory bounded; see docs/scenarios.md).
MAX_SEEDS = 100_000


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
        from sim.summary import summarise

        return summarise(self.timeseries)

    @property
    def events(self) -> list[tuple[str, str]]:
        """The scenario's moves as (YYYY-MM, label), for marking figures."""
        return [(format_month(e.date), e.label) for e in self.scenario.events]

    def plot_diverted_volumes(self):  # noqa: ANN201 - matplotlib Figure, imported lazily
        """Figure: diverted units by channel over time, median and 5-95 % band."""
        from sim.figures import diverted_volumes

        return diverted_volumes(self.timeseries, self.events, scenario=self.scenario.name,
                                title=self.scenario.title, n_seeds=len(self.seeds))

    def plot_revenue_loss(self):  # noqa: ANN201
        """Figure: US vendors' revenue loss against the counterfactual, with bands."""
        from sim.figures import revenue_loss

        return revenue_loss(self.timeseries, self.events, scenario=self.scenario.name,
                            title=self.scenario.title, n_seeds=len(self.seeds))

    def write(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write tables, figures and manifest to ``out_dir`` atomically."""
        from sim.output import write_results

        return write_results(
            out_dir, timeseries=self.timeseries, manifest=self.manifest, events=self.events,
            scenario=self.scenario.name, title=self.scenario.title, n_seeds=len(self.seeds),
            force=force,
        )


def run(
    scenario: Scenario | str | Path,
    seeds: int | None = None,
    workers: int | None = None,
    check_conservation: bool = False,
) -> Results:
    """Run ``seeds`` replications of the scenario, each paired with its counterfactual.

    Args:
        scenario: a loaded scenario or a path to a scenario file.
        seeds: number of replications (default: the scenario's ``seeds``).
        workers: processes to use (default 1 here; the CLI defaults to all cores).
        check_conservation: assert conservation of chips and money every month.
    """
    from sim.executors import run_replications

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    n = scenario.seeds if seeds is None else seeds
    if not 1 <= n <= MAX_SEEDS:
        raise ValueError(f"seeds must be between 1 and {MAX_SEEDS} (got {n})")
    counterfactual = load_counterfactual(scenario)
    started, clock = datetime.now(UTC), time.perf_counter()
    done = {}
    for result in run_replications(scenario, counterfactual, range(n), workers or 1,
                                   check_conservation=check_conservation):
        done[result.index] = result
    ordered = [done[i] for i in range(n)]
    failures = {r.index: r.error or "" for r in ordered if r.error is not None}
    table = _table(scenario, [r for r in ordered if r.values is not None])
    results = Results(scenario, counterfactual, table, list(range(n)), failures)
    results.manifest = _manifest(scenario, counterfactual, n, failures, started,
                                 time.perf_counter() - clock)
    return results


def _table(scenario: Scenario, results: list) -> pd.DataFrame:  # noqa: ANN001
    dates = [format_month(m) for m in scenario.months]
    if not results:
        return pd.DataFrame(columns=["seed", "date", *METRIC_NAMES])
    values = np.concatenate([r.values for r in results])
    frame = pd.DataFrame(values, columns=list(METRIC_NAMES))
    frame.insert(0, "date", dates * len(results))
    frame.insert(0, "seed", np.repeat([r.index for r in results], len(dates)))
    return frame


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for dist in ("chipsim", "mesa", "numpy", "scipy", "pandas", "matplotlib", "pyyaml",
                 "pydantic", "networkx"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _manifest(scenario: Scenario, counterfactual: Scenario, n: int, failures: dict[int, str],
              started: datetime, wall: float) -> dict[str, Any]:
    return {
        "scenario": scenario.name,
        "title": scenario.title,
        "scenario_file": str(scenario.path) if scenario.path else None,
        "scenario_hash": scenario.content_hash(),
        "resolved_scenario": scenario.resolved,
        "counterfactual": {"name": counterfactual.name, "hash": counterfactual.content_hash()},
        "seeds": {
            "root_seed": scenario.seed,
            "count": n,
            "derivation": "numpy.random.SeedSequence(root_seed, spawn_key=(index,)), "
                          "index = 0..count-1; the counterfactual uses the same seed",
        },
        "failed_replications": {str(k): v for k, v in failures.items()},
        "versions": _versions(),
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_time_s": round(wall, 3),
        "command_line": sys.argv,
    }


def run_command(path: str, seeds: int | None = None, out: str | None = None,
                workers: int | None = None, force: bool = False) -> int:
    """``chipsim run``: run a scenario file and write its results folder. Returns an exit code."""
    from sim.errors import ScenarioError
    from sim.executors import default_workers

    scenario = load_scenario(path)
    if seeds is not None and not 1 <= seeds <= MAX_SEEDS:
        raise ScenarioError(f"must be between 1 and {MAX_SEEDS} (got {seeds})", file=path,
                            key="--seeds")
    target = Path(out) if out else Path("results") / scenario.name
    if target.exists() and not force:
        raise ScenarioError(f"{target} exists; use --force to replace it or --out elsewhere",
                            file=path, key="--out")
    results = run(scenario, seeds=seeds, workers=workers or default_workers())
    folder = results.write(target, force=force)
    n = len(results.seeds)
    print(f"{scenario.name}: {n - len(results.failures)} of {n} replications -> {folder}")
    for index, error in sorted(results.failures.items()):
        print(f"  replication {index} failed: {error}", file=sys.stderr)
    return 1 if results.failures else 0
