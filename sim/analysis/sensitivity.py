"""Global sensitivity analysis: which uncertain parameters drive an output, by Sobol indices.

What ``chipsim sensitivity FILE`` does. The uncertain parameters are those the scenario file
gives a distribution (``smuggling.markup: {uniform: [0.3, 0.8]}``). Each is sampled over its
distribution - truncated to :meth:`~sim.world.parameters.Distribution.bounds` for the unbounded
normal and lognormal, and to the parameter's allowed range - in the Saltelli design of
:mod:`sim.analysis.sobol`, so ``n * (d + 2)`` parameter points in all. At each point the model
runs with those values fixed (the counterfactual too, so revenue loss stays a paired difference)
on the same ``seeds`` replications (common random numbers), and each output is the period total
(flows) or final value (stocks, rates), averaged over the seeds. The first-order and total Sobol
indices, with bootstrap intervals, are estimated by :func:`~sim.analysis.sobol.sobol_analysis`.

:func:`analyse_scenario` plugs the model into that analysis (as a :class:`ModelFunction`);
:func:`sensitivity_command` is the command line's entry point.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.analysis.sobol import (
    CONFIDENCE,
    RESAMPLES,
    SobolResult,
    saltelli_design,
    sobol_analysis,
    sobol_indices,
)
from sim.scenario.errors import ScenarioError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.scenario.scenario import Scenario
    from sim.world.parameters import Distribution

#: Outputs analysed when none are chosen.
DEFAULT_OUTPUTS: tuple[str, ...] = (
    "diverted_units", "revenue_loss_usd", "smuggled_units", "domestic_share",
)
DEFAULT_SAMPLES = 64
DEFAULT_SEEDS = 2
#: Most model evaluations (points x seeds) one analysis may ask for.
MAX_EVALUATIONS = 2_000_000
SOBOL_FILE = "sobol.csv"
EVALUATIONS_FILE = "evaluations.csv"
MANIFEST_FILE = "manifest.json"
FIGURES_DIR = "figures"
#: Total indices from single seeds further than this from the pooled ones earn a warning.
SEED_WARNING = 0.1


# --------------------------------------------------------------------------- the model


class TruncatedDistribution:
    """A scenario :class:`~sim.world.parameters.Distribution` as a quantile function.

    Uniform and triangular distributions are used as they are; normal and lognormal ones are
    truncated to :meth:`~sim.world.parameters.Distribution.bounds` (mean +- 2 sd of the underlying
    normal), so that no sample lands in the far tails where a parameter stops making sense, and
    to ``within``, the parameter's allowed range (the scenario loader refuses values outside it).
    """

    def __init__(self, dist: Distribution,
                 within: tuple[float, float] = (-math.inf, math.inf)) -> None:
        from scipy import stats

        self.dist = dist
        a = dist.args
        low, high = dist.bounds()
        low, high = max(low, within[0]), min(high, within[1])
        self.low, self.high = low, high
        self.q_low, self.q_high = 0.0, 1.0
        match dist.kind:
            case "uniform":
                self._frozen = stats.uniform(loc=a[0], scale=a[1] - a[0])
            case "triangular":
                c = (a[1] - a[0]) / (a[2] - a[0])
                self._frozen = stats.triang(c=c, loc=a[0], scale=a[2] - a[0])
            case "normal":
                self._frozen = stats.norm(loc=a[0], scale=a[1])
            case _:
                self._frozen = stats.lognorm(s=a[1], scale=math.exp(a[0]))
        if dist.kind in ("normal", "lognormal"):
            self.q_low, self.q_high = (float(q) for q in self._frozen.cdf([low, high]))

    @property
    def degenerate(self) -> bool:
        """True when the distribution is a single value (nothing to analyse)."""
        return not self.high > self.low

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantile function of the (truncated) distribution."""
        q = self.q_low + np.asarray(q, dtype=float) * (self.q_high - self.q_low)
        return np.clip(self._frozen.ppf(q), self.low, self.high)


def uncertain_parameters(scenario: Scenario) -> dict[str, Distribution]:
    """The parameters the scenario gives a (non-degenerate) distribution, in name order."""
    from sim.world.parameters import DEFAULTS, Distribution

    return {
        name: value for name, value in sorted(scenario.parameters.items())
        if isinstance(value, Distribution)
        and not TruncatedDistribution(value, DEFAULTS[name].limits).degenerate
    }


@contextmanager
def fixed_parameters(scenario: Scenario, values: dict[str, float]) -> Iterator[Scenario]:
    """Yield the scenario with ``values`` fixed, in it and in its counterfactual.

    A ``no-events`` counterfactual carries the scenario's parameters already. A counterfactual
    file gets the same values in a temporary copy (kept while the context is open), so that
    revenue loss compares the two policies in the same world.
    """
    point = scenario.replace(parameters={**scenario.parameters, **values})
    if scenario.counterfactual == "no-events":
        yield point
        return
    import yaml

    from sim.scenario.scenario import load_scenario

    other = load_scenario(scenario.counterfactual)
    doc = dict(other.resolved)
    doc["parameters"] = {**doc.get("parameters", {}), **{k: float(v) for k, v in values.items()}}
    doc["counterfactual"] = "no-events"  # only its runs matter here, not its own baseline
    with tempfile.TemporaryDirectory(prefix="chipsim-cf-") as folder:
        path = Path(folder) / "counterfactual.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        yield point.replace(counterfactual=str(path))


def evaluate_point(task: tuple[Scenario, tuple[str, ...], tuple[float, ...], tuple[str, ...],
                               int]) -> np.ndarray:
    """Run the scenario at one parameter point.

    Args:
        task: ``(scenario, parameter names, values, outputs, seeds)``.

    Returns:
        Per seed (rows) each output's period total or final value (columns).

    Raises:
        RuntimeError: a replication failed (its error is quoted).

    """
    from sim.experiments.runner import run
    from sim.experiments.summary import per_seed

    scenario, names, values, outputs, seeds = task
    with fixed_parameters(scenario, dict(zip(names, values, strict=True))) as point:
        results = run(point, seeds=seeds, workers=1, progress=False)  # one bar, the caller's
    failures = getattr(results, "failures", {}) or {}
    if failures:
        index, error = sorted(failures.items())[0]
        shown = ", ".join(f"{n}={v:.6g}" for n, v in zip(names, values, strict=True))
        raise RuntimeError(f"replication {index} failed at {shown}: {error}")
    return per_seed(results.timeseries, list(outputs)).to_numpy(dtype=float)


@dataclass
class ModelFunction:
    """The model as ``f(X) -> Y``: each row of ``X`` fixes the named parameters of a scenario.

    Rows are evaluated in a process pool (``workers`` > 1) or here. ``Y`` is the mean over the
    seeds; the values of each seed are kept in :attr:`by_seed` (points x seeds x outputs).
    """

    scenario: Scenario
    parameters: tuple[str, ...]
    outputs: tuple[str, ...]
    seeds: int = DEFAULT_SEEDS
    workers: int = 1
    progress: bool = False
    by_seed: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate every row of ``x``."""
        tasks = [(self.scenario, self.parameters, tuple(float(v) for v in row), self.outputs,
                  self.seeds) for row in np.atleast_2d(x)]
        bar = _progress(len(tasks), self.progress)
        results = []
        try:
            if self.workers <= 1 or len(tasks) <= 1:
                for task in tasks:
                    results.append(evaluate_point(task))
                    bar.update()
            else:
                from concurrent.futures import ProcessPoolExecutor

                chunk = max(1, len(tasks) // (self.workers * 16))
                with ProcessPoolExecutor(max_workers=self.workers) as pool:
                    for result in pool.map(evaluate_point, tasks, chunksize=chunk):
                        results.append(result)
                        bar.update()
        finally:
            bar.close()
        self.by_seed = np.array(results)
        return self.by_seed.mean(axis=1)


def _progress(total: int, show: bool) -> Any:
    """A tqdm bar on stderr when asked and on a terminal (tqdm comes with Mesa)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a Mesa dependency
        show = False
    if not show:
        class _Silent:
            def update(self, *_: Any) -> None: ...
            def close(self) -> None: ...
        return _Silent()
    return tqdm(total=total, desc="model runs", unit="point", file=sys.stderr, disable=None,
                leave=False)


@dataclass
class Sensitivity:
    """A scenario's sensitivity analysis: the indices, the design, and what it was run with."""

    scenario: Scenario
    result: SobolResult
    seeds: int
    manifest: dict[str, Any]

    def table(self) -> pd.DataFrame:
        """``sobol.csv``: one row per (output, parameter), ranked by total index."""
        return self.result.table()

    def plot(self, output: str) -> Figure:
        """Ranked bars of the indices of one output."""
        from sim.model.metrics import BY_NAME
        from sim.viz.comparison import sobol_bars
        from sim.viz.style import version as _version

        table = self.table().query("output == @output")
        r = self.result
        meaning = BY_NAME[output].meaning if output in BY_NAME else output
        evaluations = len(r.X)
        seeds = f"{self.seeds} seed" + ("" if self.seeds == 1 else "s")
        spread = r.notes.get("by_seed", {}).get(output, {}).get("max_deviation")
        spread_text = "" if spread is None else f" (ST from single seeds within ±{spread:.2f})"
        return sobol_bars(
            table, output,
            heading=f"What drives {output}? — {self.scenario.title}",
            subtitle=(f"{output}: {meaning}\nSobol indices over {len(r.parameters)} uncertain"
                      f" parameters: {evaluations} parameter points x {seeds}{spread_text}"),
            footer=(f"chipsim {_version()}; Saltelli design, n = {r.n}; whiskers:"
                    f" {r.confidence * 100:.0f} % bootstrap intervals; scenario"
                    f" {self.scenario.name}"),
        )

    def write(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write ``sobol.csv``, ``evaluations.csv``, ``manifest.json`` and figures atomically."""
        from sim.experiments.folders import atomic_folder, write_csv, write_json
        from sim.viz.style import save

        with atomic_folder(Path(out_dir), force) as tmp:
            write_csv(self.table(), tmp / SOBOL_FILE)
            write_csv(self.result.evaluations(), tmp / EVALUATIONS_FILE)
            write_json(tmp / MANIFEST_FILE, self.manifest)
            for output in self.result.outputs:
                save(self.plot(output), tmp / FIGURES_DIR / f"sobol_{output}")
        return Path(out_dir)


def analyse_scenario(
    scenario: Scenario,
    *,
    outputs: Sequence[str] = DEFAULT_OUTPUTS,
    samples: int = DEFAULT_SAMPLES,
    seeds: int = DEFAULT_SEEDS,
    workers: int = 1,
    progress: bool = False,
) -> Sensitivity:
    """Sobol indices of the chosen outputs to the scenario's uncertain parameters.

    Args:
        scenario: a scenario with at least one parameter given a distribution.
        outputs: metric names (period totals for flows, final values for stocks and rates).
        samples: base sample size ``n``, a power of two; the model runs at
            ``n * (d + 2)`` parameter points, each on ``seeds`` replications.
        seeds: replications per point (the same at every point), averaged.
        workers: processes.
        progress: show a progress bar on a terminal.

    Raises:
        ScenarioError: no parameter has a distribution, or an unknown output.

    """
    from sim.experiments.runner import package_versions
    from sim.model.metrics import METRIC_NAMES
    from sim.world.parameters import DEFAULTS

    label = str(scenario.path) if scenario.path is not None else scenario.name
    unknown = [o for o in outputs if o not in METRIC_NAMES]
    if unknown:
        raise ScenarioError(f"unknown output {unknown[0]!r}; outputs are metric names such as"
                            f" {', '.join(DEFAULT_OUTPUTS)} (see summary.csv)",
                            file=label, key="--outputs")
    params = uncertain_parameters(scenario)
    if not params:
        raise ScenarioError(
            "no parameter has a distribution, so there is nothing to analyse; give the"
            " uncertain ones a range, e.g. `smuggling.markup: {uniform: [0.3, 0.8]}`",
            file=label, key="parameters")
    names = tuple(params)
    f = ModelFunction(scenario, names, tuple(outputs), seeds=seeds, workers=workers,
                      progress=progress)
    started, clock = datetime.now(UTC), time.perf_counter()
    samplers = [TruncatedDistribution(d, DEFAULTS[n].limits) for n, d in params.items()]
    result = sobol_analysis(f, samplers, samples,
                            parameters=names, outputs=outputs, seed=scenario.seed % 2**32)
    result.notes["by_seed"] = _by_seed(result, f.by_seed)
    manifest = {
        "kind": "sensitivity",
        "scenario": scenario.name,
        "title": scenario.title,
        "scenario_file": str(scenario.path) if scenario.path else None,
        "scenario_hash": scenario.content_hash(),
        "parameters": {name: dist.to_yaml() for name, dist in params.items()},
        "sampling": "normal and lognormal truncated to mean +- 2 sd of the underlying normal"
                    " and to the parameter's allowed range",
        "outputs": list(outputs),
        "method": {
            "design": "Saltelli (2010): scrambled Sobol' sequence, matrices A, B, AB_i",
            "first_order": "Saltelli et al. (2010)",
            "total": "Jansen (1999)",
            "samples": samples,
            "points": len(result.X),
            "confidence": CONFIDENCE,
            "bootstrap_resamples": RESAMPLES,
            "design_seed": scenario.seed % 2**32,
        },
        "seeds": {
            "root_seed": scenario.seed,
            "count": seeds,
            "derivation": "numpy.random.SeedSequence(root_seed, spawn_key=(index,)), index ="
                          " 0..count-1, the same at every parameter point; outputs averaged",
        },
        "indices_by_seed": result.notes["by_seed"],
        "versions": package_versions(),
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - clock, 3),
        "command_line": sys.argv,
    }
    return Sensitivity(scenario, result, seeds, manifest)


def _by_seed(result: SobolResult, by_seed: np.ndarray | None) -> dict[str, Any]:
    """Total indices computed from each seed alone, and their largest distance from ``ST``.

    The seeds are common to every point, so luck that moves all points together does not bias
    the indices; what matters is whether another set of seeds would rank the parameters
    differently. With one seed there is nothing to compare (empty).
    """
    if by_seed is None or by_seed.shape[1] < 2:
        return {}
    d = len(result.parameters)
    per = [sobol_indices(by_seed[:, j, :], result.n, d)[1] for j in range(by_seed.shape[1])]
    totals = np.array(per)  # seeds x outputs x parameters
    out: dict[str, Any] = {}
    for k, output in enumerate(result.outputs):
        values = totals[:, k, :]
        spread = np.abs(values - result.total[k]).max() if np.isfinite(values).all() else None
        out[output] = {
            "ST_by_seed": {p: values[:, i].tolist() for i, p in enumerate(result.parameters)},
            "max_deviation": None if spread is None else float(spread),
        }
    return out


# --------------------------------------------------------------------------- the command


def sensitivity_command(path: str, *, seeds: int | None = None, samples: int | None = None,
                        outputs: str | None = None, out: str | None = None,
                        workers: int | None = None, force: bool = False) -> int:
    """``chipsim sensitivity``: analyse a scenario file and write its results folder.

    Raises:
        ScenarioError: invalid input (exit 2): a bad file, no distributions, an unknown output,
            too many evaluations, an existing folder without ``--force``.

    """
    from sim.experiments.executors import default_workers
    from sim.experiments.folders import refuse_to_overwrite
    from sim.scenario.scenario import load_scenario

    scenario = load_scenario(path)
    chosen = tuple(o.strip() for o in outputs.split(",") if o.strip()) if outputs else \
        DEFAULT_OUTPUTS
    if not chosen:
        raise ScenarioError("give at least one output name", file=path, key="--outputs")
    n = samples or DEFAULT_SAMPLES
    if n & (n - 1) or n < 2:
        rounded = max(2, 1 << (n - 1).bit_length())
        print(f"note: --samples {n} rounded up to {rounded} (Sobol' designs need a power of"
              " two)", file=sys.stderr)
        n = rounded
    k = seeds or DEFAULT_SEEDS
    d = len(uncertain_parameters(scenario))
    if n * (d + 2) * k > MAX_EVALUATIONS:
        raise ScenarioError(f"{n} samples x {d + 2} x {k} seeds = {n * (d + 2) * k} model runs;"
                            f" at most {MAX_EVALUATIONS:,}", file=path, key="--samples")
    target = Path(out) if out else Path("results") / f"sensitivity-{scenario.name}"
    refuse_to_overwrite(target, force, file=path)
    analysis = analyse_scenario(scenario, outputs=chosen, samples=n, seeds=k,
                                workers=workers or default_workers(), progress=True)
    folder = analysis.write(target, force=force)
    _report(analysis, folder)
    return 0


def _report(analysis: Sensitivity, folder: Path) -> None:
    r = analysis.result
    by_seed = r.notes.get("by_seed", {})
    print(f"{analysis.scenario.name}: Sobol indices from {len(r.X)} parameter points x"
          f" {analysis.seeds} seeds")
    table = analysis.table()
    width = max(len(p) for p in r.parameters)
    for output in r.outputs:
        print(f"  {output}")
        rows = table[table["output"] == output]
        if rows["ST"].isna().all():
            print("    does not vary across the samples")
            continue
        for row in rows.itertuples():
            print(f"    {row.parameter:<{width}}  S1 {row.S1:6.3f}  ST {row.ST:6.3f}")
        spread = by_seed.get(output, {}).get("max_deviation")
        if spread is not None and spread > SEED_WARNING:
            print(f"    note: total indices from single seeds differ by up to {spread:.2f};"
                  " more --seeds would make them firmer")
    print(f"-> {folder}")


__all__ = [
    "DEFAULT_OUTPUTS", "ModelFunction", "Sensitivity", "SobolResult", "TruncatedDistribution",
    "analyse_scenario", "fixed_parameters", "saltelli_design", "sobol_analysis", "sobol_indices",
]
