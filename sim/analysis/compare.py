"""Comparing scenarios side by side: what ``chipsim compare A.yaml B.yaml ...`` does.

Every scenario is run on the same replications: the same number of seeds, derived from the same
root seed (the first scenario's), so replication *i* of A and replication *i* of B share their
random numbers and parameter draws. A difference between two scenarios is then taken seed by
seed (a paired difference) before its spread is summarised, which removes most of the noise the
scenarios have in common. A scenario compared with itself differs by exactly zero.

The results folder (default ``results/compare-<a>-vs-<b>.../``) holds:

* ``compare.csv`` - one row per metric: ``metric``, ``unit``; for each scenario ``<name>_p50``,
  ``<name>_p05``, ``<name>_p95`` of the period total (flows) or final value (stocks, rates) over
  seeds; then for each scenario after the first ``<name>_minus_<first>_p50`` (and ``_p05``,
  ``_p95``): percentiles of the per-seed differences against the first scenario;
* ``per_seed.csv`` - the per-seed values behind the table (``scenario``, ``seed``, metrics);
* ``manifest.json`` - scenario names, files and content hashes, seeds, versions, timing, and
  each scenario's pairing strength (:mod:`sim.experiments.pairing`);
* ``figures/`` - ``diverted_volumes`` (diverted chips by channel, one line per scenario) and
  ``revenue_loss`` (cumulative US revenue loss per scenario, and the paired difference), PNG + SVG.

The folder is written atomically (a hidden temporary sibling renamed into place), so it is never
half written or half overwritten.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.analysis.terminal import compact
from sim.experiments.folders import atomic_folder, refuse_to_overwrite, write_csv, write_json
from sim.scenario.errors import ScenarioError
from sim.world.months import format_month

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.scenario.scenario import Scenario

#: Headline metrics echoed on the terminal after a comparison.
HEADLINE: tuple[str, ...] = (
    "diverted_units", "smuggled_units", "cloud_units", "subsidiary_units", "revenue_loss_usd",
    "domestic_share",
)
#: Longest default folder name; longer lists of names are cut and given a short hash.
MAX_FOLDER_NAME = 80
COMPARE_FILE = "compare.csv"
PER_SEED_FILE = "per_seed.csv"
MANIFEST_FILE = "manifest.json"
FIGURES_DIR = "figures"


@dataclass(frozen=True)
class ComparedRun:
    """One scenario of a comparison, as run.

    Attributes:
        label: unique column label (the scenario name, with ``-2``, ``-3``... for repeats).
        scenario: the scenario as run (root seed aligned with the first scenario's).
        original: the scenario as loaded from its file.
        timeseries: one row per (seed, month): ``seed``, ``date``, the metrics.
        failures: replication index -> error, for replications that raised.

    """

    label: str
    scenario: Scenario
    original: Scenario
    timeseries: pd.DataFrame
    failures: dict[int, str] = field(default_factory=dict)

    @property
    def events(self) -> list[tuple[str, str]]:
        """The scenario's moves as ``(YYYY-MM, label)``, for marking figures."""
        return [(format_month(e.date), e.label) for e in self.scenario.events]


@dataclass
class Comparison:
    """Scenarios run on the same seeds, with their side-by-side table and figures."""

    runs: list[ComparedRun]
    n_seeds: int
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        """Column labels of the scenarios, in the order given."""
        return [run.label for run in self.runs]

    def per_seed(self) -> pd.DataFrame:
        """Long table: ``scenario``, ``seed``, then each metric's period total or final value."""
        import pandas as pd

        from sim.experiments.summary import per_seed

        frames = []
        for run in self.runs:
            values = per_seed(run.timeseries).reset_index()
            values.insert(0, "scenario", run.label)
            frames.append(values)
        return pd.concat(frames, ignore_index=True)

    def table(self) -> pd.DataFrame:
        """The side-by-side table written as ``compare.csv`` (see the module docstring)."""
        from sim.experiments.summary import per_seed

        return comparison_table({run.label: per_seed(run.timeseries) for run in self.runs})

    def plot_diverted_volumes(self) -> Figure:
        """Figure: diverted chips per month by channel, one line and band per scenario."""
        from sim.viz.comparison import compare_diverted_volumes

        return compare_diverted_volumes(self._series(), n_seeds=self.n_seeds)

    def plot_revenue_loss(self) -> Figure:
        """Figure: cumulative US revenue loss per scenario, and the paired difference."""
        from sim.viz.comparison import compare_revenue_loss

        return compare_revenue_loss(self._series(), n_seeds=self.n_seeds)

    def write(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write table, per-seed values, figures and manifest to ``out_dir`` atomically."""
        from sim.viz.style import save

        with atomic_folder(Path(out_dir), force) as tmp:
            write_csv(self.table(), tmp / COMPARE_FILE)
            write_csv(self.per_seed(), tmp / PER_SEED_FILE)
            write_json(tmp / MANIFEST_FILE, self.manifest)
            save(self.plot_diverted_volumes(), tmp / FIGURES_DIR / "diverted_volumes")
            save(self.plot_revenue_loss(), tmp / FIGURES_DIR / "revenue_loss")
        return Path(out_dir)

    def _series(self) -> list[tuple[str, pd.DataFrame, list[tuple[str, str]]]]:
        return [(run.label, run.timeseries, run.events) for run in self.runs]


# --------------------------------------------------------------------------- running


def compare(
    scenarios: Sequence[Scenario | str | os.PathLike[str]],
    seeds: int | None = None,
    workers: int | None = None,
) -> Comparison:
    """Run every scenario on the same seeds.

    Args:
        scenarios: loaded scenarios or paths of scenario files (at least one; the first is
            the reference the others are compared with).
        seeds: number of replications (default: the first scenario's ``seeds``).
        workers: processes per run (default 1).

    Returns:
        The :class:`Comparison`.

    Raises:
        ScenarioError: a file is invalid, or the scenarios cover different periods.

    """
    from sim.experiments.runner import package_versions, run
    from sim.scenario.scenario import Scenario, load_counterfactual, load_scenario

    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    if not loaded:
        raise ValueError("compare needs at least one scenario")
    first = loaded[0]
    for other in loaded[1:]:
        if (other.start, other.end) != (first.start, first.end):
            raise ScenarioError(
                f"covers {format_month(other.start)}..{format_month(other.end)} but"
                f" {first.name} covers {format_month(first.start)}..{format_month(first.end)};"
                " compared scenarios must cover the same period",
                file=_label_of(other), key="period")
    n = first.seeds if seeds is None else seeds
    started, clock = datetime.now(UTC), time.perf_counter()
    runs, pairing = [], {}
    for label, original in zip(unique_labels([s.name for s in loaded]), loaded, strict=True):
        aligned = original if original.seed == first.seed else original.replace(seed=first.seed)
        results = run(aligned, seeds=n, workers=workers or 1)
        runs.append(ComparedRun(label, aligned, original, results.timeseries,
                                dict(getattr(results, "failures", {}) or {})))
        pairing[label] = results.manifest["pairing"]
    wall = time.perf_counter() - clock
    manifest = {
        "kind": "compare",
        "scenarios": [_scenario_entry(r, load_counterfactual(r.scenario)) | {
            "pairing": pairing[r.label]} for r in runs],
        "reference": runs[0].label,
        "seeds": {
            "root_seed": first.seed,
            "count": n,
            "derivation": "numpy.random.SeedSequence(root_seed, spawn_key=(index,)), index ="
                          " 0..count-1, the same for every scenario and its counterfactual;"
                          " root_seed is the first scenario's",
        },
        "failed_replications": {r.label: {str(k): v for k, v in r.failures.items()}
                                for r in runs if r.failures},
        "versions": package_versions(),
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_time_s": round(wall, 3),
        "command_line": sys.argv,
    }
    return Comparison(runs, n, manifest)


def _label_of(scenario: Scenario) -> str:
    return str(scenario.path) if scenario.path is not None else scenario.name


def _scenario_entry(run: ComparedRun, counterfactual: Scenario) -> dict[str, Any]:
    original = run.original
    entry = {
        "label": run.label,
        "name": original.name,
        "title": original.title,
        "file": str(original.path) if original.path else None,
        "scenario_hash": original.content_hash(),
        "root_seed_in_file": original.seed,
        "counterfactual": {"name": counterfactual.name, "hash": counterfactual.content_hash()},
    }
    if run.scenario.seed != original.seed:
        entry["note"] = (f"run with root seed {run.scenario.seed} (the first scenario's) so that"
                         " replications are paired; hash as run "
                         f"{run.scenario.content_hash()}")
    return entry


def unique_labels(names: Sequence[str]) -> list[str]:
    """Scenario names made unique for use as column labels: ``a``, ``a-2``, ``a-3``..."""
    seen: dict[str, int] = {}
    taken = set(names)
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        label = name
        if seen[name] > 1:
            count = seen[name]
            while f"{name}-{count}" in taken:
                count += 1
            label = f"{name}-{count}"
            taken.add(label)
        out.append(label)
    return out


def default_out(names: Sequence[str]) -> Path:
    """Default results folder: ``results/compare-<a>-vs-<b>...``, at most 80 characters."""
    name = "compare-" + "-vs-".join(names)
    if len(name) > MAX_FOLDER_NAME:
        digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:8]
        name = name[:MAX_FOLDER_NAME - 10].rstrip("-") + "--" + digest
    return Path("results") / name


# --------------------------------------------------------------------------- the table


def comparison_table(values: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Side-by-side statistics and paired differences of per-seed values.

    Args:
        values: scenario label -> per-seed values (index: seed; one column per metric, as from
            :func:`sim.experiments.summary.per_seed`), in comparison order. The first is the
            reference.

    Returns:
        One row per metric (in :data:`sim.model.metrics.METRIC_NAMES` order, those present):
        ``metric``, ``unit``; ``<label>_p50``, ``<label>_p05``, ``<label>_p95`` per scenario;
        then ``<label>_minus_<first>_p50`` / ``_p05`` / ``_p95`` per later scenario: the
        percentiles over seeds of the seed-by-seed difference (seeds missing from either
        scenario are left out). Percentiles ignore NaN.

    """
    import numpy as np
    import pandas as pd

    from sim.model.metrics import BY_NAME, METRIC_NAMES

    labels = list(values)
    first = labels[0]
    reference = values[first]
    metrics = [m for m in METRIC_NAMES if m in reference.columns]
    quantiles = (("p50", 50.0), ("p05", 5.0), ("p95", 95.0))

    def stats(column: pd.Series) -> list[float]:
        data = column.to_numpy(dtype=float)
        data = data[~np.isnan(data)]
        if data.size == 0:
            return [float("nan")] * len(quantiles)
        return [float(np.percentile(data, q)) for _, q in quantiles]

    columns: dict[str, list[Any]] = {"metric": metrics,
                                     "unit": [BY_NAME[m].unit for m in metrics]}
    for label in labels:
        per_metric = [stats(values[label][m]) for m in metrics]
        for j, (suffix, _) in enumerate(quantiles):
            columns[f"{label}_{suffix}"] = [row[j] for row in per_metric]
    for label in labels[1:]:
        other = values[label]
        seeds = reference.index.intersection(other.index)
        diff = other.loc[seeds, metrics] - reference.loc[seeds, metrics]
        per_metric = [stats(diff[m]) for m in metrics]
        for j, (suffix, _) in enumerate(quantiles):
            columns[f"{label}_minus_{first}_{suffix}"] = [row[j] for row in per_metric]
    return pd.DataFrame(columns)




# --------------------------------------------------------------------------- the command


def compare_command(files: Sequence[str], *, seeds: int | None = None, out: str | None = None,
                    workers: int | None = None, force: bool = False) -> int:
    """``chipsim compare``: run the files on the same seeds and write the comparison folder.

    Raises:
        ScenarioError: invalid input (exit 2): a bad file, different periods, an existing
            folder without ``--force``.

    """
    from sim.experiments.executors import default_workers
    from sim.scenario.scenario import load_scenario

    loaded = [load_scenario(path) for path in files]
    labels = unique_labels([s.name for s in loaded])
    target = Path(out) if out else default_out(labels)
    refuse_to_overwrite(target, force, file=files[0])
    for path, scenario in zip(files[1:], loaded[1:], strict=True):
        if scenario.seed != loaded[0].seed:
            print(f"note: {path} is run with root seed {loaded[0].seed} (the first file's), not"
                  f" its own {scenario.seed}, so that replications are paired", file=sys.stderr)
    result = compare(loaded, seeds=seeds, workers=workers or default_workers())
    folder = result.write(target, force=force)
    _report(result, folder)
    return 0


def _report(result: Comparison, folder: Path) -> None:
    """Median (5-95 %) of the headline metrics per scenario, and the paired differences.

    A scenario whose loss is weakly paired with its counterfactual gets a line on stderr.
    """
    from sim.experiments.pairing import pairing_warning

    for entry in result.manifest.get("scenarios", []):
        weak = pairing_warning(entry.get("pairing", {}), entry["label"])
        if weak:
            print(weak, file=sys.stderr)
    table = result.table().set_index("metric")
    labels = result.labels
    print(f"{' vs '.join(labels)}: {result.n_seeds} paired seeds")
    width = max(len(m) for m in HEADLINE)
    for metric in HEADLINE:
        row = table.loc[metric]
        cells = [_cell(row, label) for label in labels]
        cells += [_cell(row, f"{label}_minus_{labels[0]}") for label in labels[1:]]
        print(f"  {metric:<{width}}  " + "  |  ".join(cells))
    header = labels + [f"{label} - {labels[0]}" for label in labels[1:]]
    print(f"  {'':<{width}}  columns: " + " | ".join(header))
    print(f"-> {folder}")


def _cell(row: pd.Series, prefix: str) -> str:
    return (f"{compact(row[f'{prefix}_p50'])} ({compact(row[f'{prefix}_p05'])} .."
            f" {compact(row[f'{prefix}_p95'])})")


__all__ = ["ComparedRun", "Comparison", "compare", "compare_command", "comparison_table",
           "default_out", "unique_labels"]
