"""Global sensitivity analysis: which uncertain parameters drive an output (SALib).

What ``chipsim sensitivity FILE`` does. The uncertain parameters are those the scenario file
gives a distribution (``smuggling.markup: {uniform: [0.3, 0.8]}``). Each is sampled over its
distribution - truncated to :meth:`~sim.world.parameters.Distribution.bounds` for the unbounded
normal and lognormal, and to the parameter's allowed range (:mod:`sim.analysis.uncertain`) - in
a design drawn by SALib (:mod:`sim.analysis.salib`). At each point the model runs with those
values fixed (the counterfactual too, so revenue loss stays a paired difference) on the same
``seeds`` replications (common random numbers), and each output is the period total (flows) or
final value (stocks, rates), averaged over the seeds. Two methods:

* ``sobol`` (default) - Saltelli's design, ``n * (d + 2)`` points; first-order and total Sobol
  indices with bootstrap confidence intervals (``sobol.csv``);
* ``morris`` - Morris screening, ``n * (d + 1)`` points; the mean absolute elementary effect
  ``mu_star`` of each parameter with a bootstrap interval (``morris.csv``): a cheap first pass to
  find the parameters worth a Sobol analysis.

:func:`analyse_scenario` plugs the model into SALib (as a :class:`ModelFunction`);
:func:`sensitivity_command` is the command line's entry point.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.analysis.salib import (
    CONFIDENCE,
    MORRIS_LEVELS,
    RESAMPLES,
    MorrisResult,
    SobolResult,
    morris_analysis,
    sobol_analysis,
    sobol_indices,
)
from sim.analysis.uncertain import (
    TruncatedDistribution,
    at_point,
    fixed_parameters,
    run_point,
    samplers,
    uncertain_parameters,
)
from sim.scenario.errors import ScenarioError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.scenario.scenario import Scenario

#: Outputs analysed when none are chosen.
DEFAULT_OUTPUTS: tuple[str, ...] = (
    "diverted_units", "revenue_loss_usd", "smuggled_units", "domestic_share",
)
DEFAULT_SAMPLES = 64
#: Morris trajectories when none are chosen.
DEFAULT_TRAJECTORIES = 16
METHODS = ("sobol", "morris")
DEFAULT_SEEDS = 2
#: Most model evaluations (points x seeds) one analysis may ask for.
MAX_EVALUATIONS = 2_000_000
SOBOL_FILE = "sobol.csv"
MORRIS_FILE = "morris.csv"
EVALUATIONS_FILE = "evaluations.csv"
MANIFEST_FILE = "manifest.json"
FIGURES_DIR = "figures"
#: Total indices from single seeds further than this from the pooled ones earn a warning.
SEED_WARNING = 0.1


# --------------------------------------------------------------------------- the model


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
    scenario, names, values, outputs, seeds = task
    point = run_point(*at_point(scenario, dict(zip(names, values, strict=True))), seeds)
    if point.failures:
        index, error = sorted(point.failures.items())[0]
        shown = ", ".join(f"{n}={v:.6g}" for n, v in zip(names, values, strict=True))
        raise RuntimeError(f"replication {index} failed at {shown}: {error}")
    return point.totals[list(outputs)].to_numpy(dtype=float)


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
    result: SobolResult | MorrisResult
    seeds: int
    manifest: dict[str, Any]

    @property
    def method(self) -> str:
        """``sobol`` or ``morris``."""
        return "morris" if isinstance(self.result, MorrisResult) else "sobol"

    def table(self) -> pd.DataFrame:
        """``sobol.csv`` or ``morris.csv``: one row per (output, parameter), ranked."""
        return self.result.table()

    def plot(self, output: str) -> Figure:
        """Ranked bars of the indices (or Morris effects) of one output."""
        from sim.model.metrics import BY_NAME
        from sim.viz.comparison import morris_bars, sobol_bars
        from sim.viz.style import version as _version

        table = self.table().query("output == @output")
        r = self.result
        meaning = BY_NAME[output].meaning if output in BY_NAME else output
        seeds = f"{self.seeds} seed" + ("" if self.seeds == 1 else "s")
        heading = f"What drives {output}? — {self.scenario.title}"
        footer_end = (f"whiskers: {r.confidence * 100:.0f} % bootstrap intervals (SALib);"
                      f" scenario {self.scenario.name}")
        if isinstance(r, MorrisResult):
            return morris_bars(
                table, output, heading=heading,
                subtitle=(f"{output}: {meaning}\nMorris screening of {len(r.parameters)}"
                          f" uncertain parameters: {len(r.X)} parameter points x {seeds}"),
                footer=f"chipsim {_version()}; {r.n} trajectories; {footer_end}")
        spread = r.notes.get("by_seed", {}).get(output, {}).get("max_deviation")
        spread_text = "" if spread is None else f" (ST from single seeds within ±{spread:.2f})"
        return sobol_bars(
            table, output, heading=heading,
            subtitle=(f"{output}: {meaning}\nSobol indices over {len(r.parameters)} uncertain"
                      f" parameters: {len(r.X)} parameter points x {seeds}{spread_text}"),
            footer=f"chipsim {_version()}; Saltelli design, n = {r.n}; {footer_end}")

    def write(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write the table, ``evaluations.csv``, ``manifest.json`` and figures atomically."""
        from sim.experiments.folders import atomic_folder, write_csv, write_json
        from sim.viz.style import save

        name = MORRIS_FILE if self.method == "morris" else SOBOL_FILE
        with atomic_folder(Path(out_dir), force) as tmp:
            write_csv(self.table(), tmp / name)
            write_csv(self.result.evaluations(), tmp / EVALUATIONS_FILE)
            write_json(tmp / MANIFEST_FILE, self.manifest)
            for output in self.result.outputs:
                save(self.plot(output), tmp / FIGURES_DIR / f"{self.method}_{output}")
        return Path(out_dir)


def analyse_scenario(
    scenario: Scenario,
    *,
    outputs: Sequence[str] = DEFAULT_OUTPUTS,
    samples: int | None = None,
    seeds: int = DEFAULT_SEEDS,
    workers: int = 1,
    progress: bool = False,
    method: str = "sobol",
) -> Sensitivity:
    """Sensitivity of the chosen outputs to the scenario's uncertain parameters (SALib).

    Args:
        scenario: a scenario with at least one parameter given a distribution.
        outputs: metric names (period totals for flows, final values for stocks and rates).
        samples: ``sobol``: base sample size ``n``, a power of two (default 64); the model
            runs at ``n * (d + 2)`` points. ``morris``: trajectories (default 16), ``n * (d + 1)``
            points. Each point runs on ``seeds`` replications.
        seeds: replications per point (the same at every point), averaged.
        workers: processes.
        progress: show a progress bar on a terminal.
        method: ``sobol`` (first-order and total indices) or ``morris`` (screening).

    Raises:
        ScenarioError: no parameter has a distribution, an unknown output or method.

    """
    from sim.experiments.manifest import package_versions, scenario_record
    from sim.model.metrics import METRIC_NAMES

    label = str(scenario.path) if scenario.path is not None else scenario.name
    unknown = [o for o in outputs if o not in METRIC_NAMES]
    if unknown:
        raise ScenarioError(f"unknown output {unknown[0]!r}; outputs are metric names such as"
                            f" {', '.join(DEFAULT_OUTPUTS)} (see summary.csv)",
                            file=label, key="--outputs")
    if method not in METHODS:
        raise ScenarioError(f"unknown method {method!r}; methods: {', '.join(METHODS)}",
                            file=label, key="--method")
    params = uncertain_parameters(scenario)
    if not params:
        raise ScenarioError(
            "no parameter has a distribution, so there is nothing to analyse; give the"
            " uncertain ones a range, e.g. `smuggling.markup: {uniform: [0.3, 0.8]}`",
            file=label, key="parameters")
    names = tuple(params)
    n = samples or (DEFAULT_TRAJECTORIES if method == "morris" else DEFAULT_SAMPLES)
    f = ModelFunction(scenario, names, tuple(outputs), seeds=seeds, workers=workers,
                      progress=progress)
    started, clock = datetime.now(UTC), time.perf_counter()
    dists = list(samplers(scenario).values())
    design_seed = scenario.seed % 2**32
    analysis = morris_analysis if method == "morris" else sobol_analysis
    result = analysis(f, dists, n, parameters=names, outputs=outputs, seed=design_seed)
    if isinstance(result, SobolResult):
        result.notes["by_seed"] = _by_seed(result, f.by_seed)
    manifest = {
        "kind": "sensitivity",
        **scenario_record(scenario),
        "parameters": {name: dist.to_yaml() for name, dist in params.items()},
        "sampling": "normal and lognormal truncated to mean +- 2 sd of the underlying normal"
                    " and to the parameter's allowed range; SALib samples the unit cube, each"
                    " column mapped through the parameter's quantile function",
        "outputs": list(outputs),
        "method": _method_record(method, n, len(result.X), design_seed),
        "seeds": {
            "root_seed": scenario.seed,
            "count": seeds,
            "derivation": "numpy.random.SeedSequence(root_seed, spawn_key=(index,)), index ="
                          " 0..count-1, the same at every parameter point; outputs averaged",
        },
        "indices_by_seed": result.notes.get("by_seed", {}),
        "versions": {**package_versions(), "SALib": _salib_version()},
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - clock, 3),
        "command_line": sys.argv,
    }
    return Sensitivity(scenario, result, seeds, manifest)


def _method_record(method: str, n: int, points: int, seed: int) -> dict[str, Any]:
    common = {"samples": n, "points": points, "confidence": CONFIDENCE,
              "bootstrap_resamples": RESAMPLES, "design_seed": seed,
              "bootstrap_seed": seed + 1, "library": "SALib"}
    if method == "morris":
        return {"name": "morris", "design": f"Morris (1991) trajectories on a {MORRIS_LEVELS}"
                f"-level grid, SALib.sample.morris", "measures": "mu_star (Campolongo et al."
                " 2007), mu, sigma; SALib.analyze.morris", **common}
    return {"name": "sobol", "design": "Saltelli (2010), scrambled Sobol' sequence,"
            " SALib.sample.sobol (calc_second_order=False)",
            "first_order": "Saltelli et al. (2010), SALib.analyze.sobol",
            "total": "Jansen (1999), SALib.analyze.sobol",
            "intervals": "S1_conf, ST_conf: half-width of the bootstrap interval (normal"
                         " approximation); S1_low = S1 - S1_conf, S1_high = S1 + S1_conf",
            **common}


def _salib_version() -> str:
    from importlib import metadata

    return metadata.version("SALib")


def _by_seed(result: SobolResult, by_seed: np.ndarray | None) -> dict[str, Any]:
    """Total indices computed from each seed alone, and their largest distance from ``ST``.

    The seeds are common to every point, so luck that moves all points together does not bias
    the indices; what matters is whether another set of seeds would rank the parameters
    differently. With one seed there is nothing to compare (empty).
    """
    if by_seed is None or by_seed.shape[1] < 2:
        return {}
    d = len(result.parameters)
    per = [sobol_indices(by_seed[:, j, :], d, resamples=10)[2] for j in range(by_seed.shape[1])]
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
                        workers: int | None = None, force: bool = False,
                        method: str = "sobol") -> int:
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
    d = len(uncertain_parameters(scenario))
    k = seeds or DEFAULT_SEEDS
    if method == "morris":
        n = samples or DEFAULT_TRAJECTORIES
        if n < 2:
            raise ScenarioError("Morris screening needs 2 trajectories or more", file=path,
                                key="--samples")
        points = n * (d + 1)
    else:
        n = samples or DEFAULT_SAMPLES
        if n & (n - 1) or n < 2:
            rounded = max(2, 1 << (n - 1).bit_length())
            print(f"note: --samples {n} rounded up to {rounded} (Sobol' designs need a power"
                  " of two)", file=sys.stderr)
            n = rounded
        points = n * (d + 2)
    if points * k > MAX_EVALUATIONS:
        raise ScenarioError(f"{points} parameter points x {k} seeds = {points * k} model runs;"
                            f" at most {MAX_EVALUATIONS:,}", file=path, key="--samples")
    target = Path(out) if out else Path("results") / f"sensitivity-{scenario.name}"
    refuse_to_overwrite(target, force, file=path)
    analysis = analyse_scenario(scenario, outputs=chosen, samples=n, seeds=k,
                                workers=workers or default_workers(), progress=True,
                                method=method)
    folder = analysis.write(target, force=force)
    _report(analysis, folder)
    return 0


def _report(analysis: Sensitivity, folder: Path) -> None:
    r = analysis.result
    by_seed = r.notes.get("by_seed", {})
    what = "Morris effects" if analysis.method == "morris" else "Sobol indices"
    print(f"{analysis.scenario.name}: {what} from {len(r.X)} parameter points x"
          f" {analysis.seeds} seeds")
    table = analysis.table()
    width = max(len(p) for p in r.parameters)
    key = "mu_star" if analysis.method == "morris" else "ST"
    for output in r.outputs:
        print(f"  {output}")
        rows = table[table["output"] == output]
        if rows[key].isna().all():
            print("    does not vary across the samples")
            continue
        for row in rows.itertuples():
            if analysis.method == "morris":
                print(f"    {row.parameter:<{width}}  mu* {row.mu_star:10.4g} "
                      f" ± {row.mu_star_conf:.2g}  sigma {row.sigma:10.4g}")
            else:
                print(f"    {row.parameter:<{width}}  S1 {row.S1:6.3f} ± {row.S1_conf:.3f}"
                      f"  ST {row.ST:6.3f} ± {row.ST_conf:.3f}")
        spread = by_seed.get(output, {}).get("max_deviation")
        if spread is not None and spread > SEED_WARNING:
            print(f"    note: total indices from single seeds differ by up to {spread:.2f};"
                  " more --seeds would make them firmer")
    print(f"-> {folder}")


__all__ = [
    "DEFAULT_OUTPUTS", "METHODS", "ModelFunction", "MorrisResult", "Sensitivity", "SobolResult",
    "TruncatedDistribution", "analyse_scenario", "fixed_parameters", "morris_analysis",
    "sobol_analysis", "uncertain_parameters",
]
