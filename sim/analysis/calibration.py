"""Calibration: fit the few most uncertain parameters to the record's figures.

The procedure is deliberately small and re-runnable: three parameters that the record does not
give directly, three reported figures they mainly govern, and a Nelder-Mead search (scipy) on
the log of each parameter that minimises the squared log-error of the model's median over a fixed
set of seeds (common random numbers, so the objective is smooth enough to optimise).

=========================================  =====================================================
parameter                                  mainly moves
=========================================  =====================================================
``buyers.stockpile_months``                 H20 bought ahead of the rule in Q1 2025 (FACTS F1)
``vendors.safety_stock_months``             inventory stranded by the rule: the charge (F2)
``smuggling.capacity_units``                grey-market sales after the tightening (F6)
=========================================  =====================================================

``chipsim calibrate`` prints the fit and the values to put in ``sim/data/parameters.yaml``; it
does not edit the data file, so every change of a default stays a reviewed commit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.validation import F1_UNITS, F2_USD, F6_USD, TIMELINE
from sim.model.metrics import MODEL_METRICS
from sim.scenario.scenario import Scenario, load_scenario
from sim.world.parameters import DEFAULTS


@dataclass(frozen=True)
class Target:
    """A reported figure and how to read the model's counterpart from one run's table."""

    source: str
    meaning: str
    value: float
    tolerance: float  # accepted ratio model/target (either way)
    measure: Callable[[pd.DataFrame], float]


def _window(t: pd.DataFrame, column: str, start: str, end: str) -> float:
    return float(t.loc[(t.index >= start) & (t.index <= end), column].sum())


TARGETS: tuple[Target, ...] = (
    Target("F1", "legal H20 units bought in Q1 2025", F1_UNITS, 1.5,
           lambda t: _window(t, "legal_export_units_H20", "2025-01", "2025-03")),
    Target("F2", "write-down when the H20 rule lands (USD)", F2_USD, 1.5,
           lambda t: _window(t, "writedown_usd", "2025-04", "2025-04")),
    Target("F6", "grey-market sales May-Jul 2025 (USD, at least)", 1.2 * F6_USD, 1.5,
           lambda t: _window(t, "grey_sales_usd", "2025-05", "2025-07")),
)

#: The parameters calibrated, with the search bounds (the data file holds the result).
FREE: dict[str, tuple[float, float]] = {
    "buyers.stockpile_months": (2.0, 24.0),
    "vendors.safety_stock_months": (0.25, 4.0),
    "smuggling.capacity_units": (50.0, 2000.0),
}


@dataclass(frozen=True)
class Fit:
    """The result of a calibration."""

    start: dict[str, float]
    best: dict[str, float]
    loss_start: float
    loss_best: float
    model: dict[str, float]  # target source -> model median at the best values
    evaluations: int


def measure(scenario: Scenario, values: dict[str, float], seeds: int) -> dict[str, float]:
    """Model medians of every target with the given parameter values, over fixed seeds."""
    from sim.experiments.replication import replication_seed, simulate
    from sim.world.months import format_month

    varied = scenario.replace(parameters={**scenario.parameters, **values})
    index = [format_month(m) for m in scenario.months]
    per_seed: dict[str, list[float]] = {t.source: [] for t in TARGETS}
    for i in range(seeds):
        table = pd.DataFrame(simulate(varied, replication_seed(scenario.seed, i)),
                             columns=MODEL_METRICS, index=index)
        for t in TARGETS:
            per_seed[t.source].append(t.measure(table))
    return {k: float(np.median(v)) for k, v in per_seed.items()}


def loss(model: dict[str, float]) -> float:
    """Sum of squared log-errors against the targets."""
    return sum(math.log(max(model[t.source], 1.0) / t.value) ** 2 for t in TARGETS)


def calibrate(seeds: int = 6, max_evaluations: int = 60,
              scenario: Scenario | None = None) -> Fit:
    """Fit :data:`FREE` to :data:`TARGETS` by Nelder-Mead on log-parameters."""
    from scipy.optimize import minimize

    base = scenario or load_scenario(TIMELINE)
    names = list(FREE)
    start = {n: _point(n) for n in names}
    lows = np.log([FREE[n][0] for n in names])
    highs = np.log([FREE[n][1] for n in names])
    count = 0

    def objective(x: np.ndarray) -> float:
        nonlocal count
        count += 1
        values = dict(zip(names, np.exp(np.clip(x, lows, highs)), strict=True))
        return loss(measure(base, values, seeds))

    x0 = np.log([start[n] for n in names])
    result = minimize(objective, x0, method="Nelder-Mead",
                      options={"maxfev": max_evaluations, "xatol": 0.02, "fatol": 1e-3})
    best = dict(zip(names, np.exp(np.clip(result.x, lows, highs)), strict=True))
    return Fit(start, best, objective(x0), float(result.fun), measure(base, best, seeds), count)


def _point(name: str) -> float:
    value = DEFAULTS[name].value
    if not isinstance(value, float):
        raise ValueError(f"{name} is calibrated and must be a number in the data file")
    return value


def report(fit: Fit) -> str:
    """The calibration as text: targets against model, and the parameter values."""
    lines = ["target                                              reported      model   ok?"]
    for t in TARGETS:
        got = fit.model[t.source]
        ok = 1 / t.tolerance <= got / t.value <= t.tolerance
        lines.append(f"{t.source:4} {t.meaning:45} {t.value:10.3g} {got:10.3g}   "
                     f"{'yes' if ok else 'no'}")
    lines.append(f"loss {fit.loss_start:.4f} -> {fit.loss_best:.4f} "
                 f"after {fit.evaluations} evaluations")
    lines.append("parameter                          data file   calibrated")
    for name in FREE:
        lines.append(f"{name:34} {fit.start[name]:9.3g}   {fit.best[name]:9.3g}")
    return "\n".join(lines)
