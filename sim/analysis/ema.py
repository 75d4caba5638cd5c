"""chipsim as an EMA Workbench model: uncertainties, levers and outcomes from a scenario file.

`EMA Workbench <https://emaworkbench.readthedocs.io>`_ is the standard toolkit for exploratory
modelling under deep uncertainty. :func:`ema_model` turns a scenario file into an
``ema_workbench.Model``, with no glue code::

    from ema_workbench import perform_experiments
    import sim

    model = sim.ema_model("scenarios/sensitivity-timeline.yaml", seeds=2)
    experiments, outcomes = perform_experiments(model, scenarios=50)

EMA names must be Python identifiers, so ``smuggling.markup`` is ``smuggling_markup`` there
(and ``crackdown-2026.intensity`` is ``crackdown_2026_intensity``); the chipsim name is each
parameter's ``variable_name``.

* **uncertainties** - the parameters the file gives a distribution, sampled from that
  distribution (uniform ones as ``RealParameter``; triangular, normal and lognormal ones through
  ``RealParameter.from_dist``, normal and lognormal truncated as in ``chipsim sensitivity``);
* **levers** - the event fields named in the file's ``levers:`` section
  (:mod:`sim.scenario.levers`), ``RealParameter`` or, for whole-number fields,
  ``IntegerParameter``, named ``<event id>.<field>``;
* **outcomes** - every metric of ``summary.csv`` as a ``ScalarOutcome`` (the median over the
  seeds of its period total; final value for stocks and rates) and as a ``TimeSeriesOutcome``
  called ``<metric>_series`` (the median over the seeds, month by month).

Each experiment runs replications ``0..seeds-1`` of the scenario with the uncertainties fixed
and the levers set, each paired with its counterfactual, on chipsim's own executors
(:mod:`sim.experiments.executors`): replication ``i`` has the seed of replication ``i`` of
``chipsim run``, so the numbers are those of ``chipsim run`` of a file fixing the same values.
Parallelise across experiments with EMA's ``MultiprocessingEvaluator`` (or ``chipsim
explore``).

Needs the ``ema`` extra: ``pip install 'chipsim[ema]'``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.analysis.uncertain import at_point, run_point, samplers
from sim.model.metrics import METRIC_NAMES
from sim.scenario.errors import ScenarioError

if TYPE_CHECKING:
    from sim.scenario.scenario import Scenario

#: Replications per experiment unless told (as in ``chipsim sensitivity``).
DEFAULT_SEEDS = 2
#: Suffix of the time-series outcome of each metric.
SERIES = "_series"
INSTALL_HINT = "needs EMA Workbench: pip install 'chipsim[ema]'"


def workbench() -> Any:
    """Import ``ema_workbench`` (quietly), or raise ImportError saying how to install it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "ipyparallel not installed": not an evaluator we use
            import ema_workbench
    except ImportError as exc:  # pragma: no cover - the ema extra is in the test extra
        raise ImportError(f"chipsim's EMA Workbench connection {INSTALL_HINT}") from exc
    return ema_workbench


def model_name(scenario: Scenario) -> str:
    """A scenario name as an EMA model name, which must be a Python identifier."""
    return identifier(scenario.name)


def identifier(name: str) -> str:
    """A chipsim name as an EMA name, which must be a Python identifier.

    ``smuggling.markup`` -> ``smuggling_markup``, ``crackdown-2026.intensity`` ->
    ``crackdown_2026_intensity``. The chipsim name stays the parameter's ``variable_name``,
    which is what the model function receives.
    """
    text = re.sub(r"\W", "_", name)
    return text if text.isidentifier() else f"x_{text}"


# --------------------------------------------------------------------------- the function


@dataclass(frozen=True)
class ChipsimFunction:
    """The scenario as a function of its uncertainties and levers (what an EMA model calls).

    Attributes:
        scenario: The scenario (uncertainties with distributions, levers declared).
        seeds: Replications per experiment (``0..seeds-1``).
        workers: Local processes per experiment (1: in this process).

    """

    scenario: Scenario
    seeds: int
    workers: int = 1

    def __call__(self, **values: float) -> dict[str, Any]:
        """Run one experiment: ``values`` by uncertainty and lever name; outcomes by name."""
        from sim.experiments.executors import make_executor

        point = self.point(values)
        result = run_point(*point, self.seeds, make_executor(self.workers))
        if len(result.failures) == self.seeds:
            index, error = sorted(result.failures.items())[0]
            raise RuntimeError(f"every replication failed; replication {index}: {error}")
        return outcome_values(result.median(), result.median_series())

    def point(self, values: Mapping[str, float]) -> tuple[Scenario, Scenario]:
        """The scenario at these values and its counterfactual (:func:`at_point`)."""
        levers = {lever.name for lever in self.scenario.levers}
        return at_point(self.scenario,
                        {k: float(v) for k, v in values.items() if k not in levers},
                        {k: v for k, v in values.items() if k in levers})


def outcome_values(totals: Any, series: np.ndarray) -> dict[str, Any]:
    """Outcomes by name: each metric's period total, and ``<metric>_series`` month by month."""
    out: dict[str, Any] = {name: float(totals[name]) for name in METRIC_NAMES}
    for j, name in enumerate(METRIC_NAMES):
        out[name + SERIES] = series[:, j]
    return out


# --------------------------------------------------------------------------- the model


def uncertainties(scenario: Scenario) -> list[Any]:
    """EMA parameters of the scenario's distributions (uniform ones as plain ranges)."""
    ema = workbench()
    out = []
    for name, sampler in samplers(scenario).items():
        if sampler.dist.kind == "uniform":
            out.append(ema.RealParameter(identifier(name), sampler.low, sampler.high,
                                         variable_name=name))
        else:
            out.append(ema.RealParameter.from_dist(identifier(name), sampler.frozen(),
                                                   variable_name=name))
    return _unique(out)


def levers(scenario: Scenario) -> list[Any]:
    """EMA parameters of the scenario's levers: whole-number fields as ``IntegerParameter``."""
    ema = workbench()
    return _unique([
        ema.IntegerParameter(identifier(lever.name), int(lever.low), int(lever.high),
                             variable_name=lever.name) if lever.integer
        else ema.RealParameter(identifier(lever.name), lever.low, lever.high,
                               variable_name=lever.name)
        for lever in scenario.levers])


def chipsim_name(parameter: Any) -> str:
    """The chipsim name of an EMA parameter (its ``variable_name``)."""
    return parameter.variable_name[0]


def _unique(parameters: list[Any]) -> list[Any]:
    seen: dict[str, str] = {}
    for p in parameters:
        if p.name in seen:
            raise ScenarioError(f"{chipsim_name(p)} and {seen[p.name]} both become {p.name!r} as"
                                " EMA Workbench names; rename an event id", key="levers")
        seen[p.name] = chipsim_name(p)
    return parameters


def outcomes(metrics: Sequence[str] = METRIC_NAMES, series: bool = True) -> list[Any]:
    """``ScalarOutcome`` per metric (period total) and ``TimeSeriesOutcome`` ``<metric>_series``."""
    ema = workbench()
    out: list[Any] = [ema.ScalarOutcome(name) for name in metrics]
    if series:
        out += [ema.TimeSeriesOutcome(name + SERIES) for name in metrics]
    return out


def ema_model(scenario: Scenario | str | Path, *, seeds: int | None = None, workers: int = 1,
              metrics: Sequence[str] | None = None, series: bool = True) -> Any:
    """An ``ema_workbench.Model`` of a scenario file: its distributions, levers and metrics.

    Args:
        scenario: A scenario file (or a loaded scenario).
        seeds: Replications per experiment (default 2).
        workers: Local processes per experiment (default 1, in the calling process).
        metrics: Metrics to report (default: all of ``summary.csv``).
        series: Also report each metric month by month (``<metric>_series``).

    Returns:
        The model, ready for ``ema_workbench.perform_experiments``.

    Raises:
        ScenarioError: an invalid file, an unknown metric, or nothing to vary (no distribution
            and no lever).
        ImportError: EMA Workbench is not installed (the ``ema`` extra).

    """
    from sim.scenario.scenario import Scenario, load_scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    check_variable(scenario)
    chosen = tuple(metrics) if metrics is not None else METRIC_NAMES
    unknown = [m for m in chosen if m not in METRIC_NAMES]
    if unknown:
        raise ScenarioError(f"unknown metric {unknown[0]!r} (see summary.csv)", key="metrics")
    ema = workbench()
    function = ChipsimFunction(scenario, seeds or DEFAULT_SEEDS, workers)
    model = ema.Model(model_name(scenario), function=function)
    model.uncertainties = uncertainties(scenario)
    model.levers = levers(scenario)
    model.outcomes = outcomes(chosen, series)
    return model


def check_variable(scenario: Scenario) -> None:
    """Refuse a scenario with nothing to explore: no parameter distribution and no lever."""
    if samplers(scenario) or scenario.levers:
        return
    label = str(scenario.path) if scenario.path is not None else scenario.name
    raise ScenarioError(
        "nothing to explore: give uncertain parameters a distribution (`smuggling.markup:"
        " {uniform: [0.3, 0.8]}`) or name levers (`levers: [{event: ID, field: NAME, range:"
        " [LOW, HIGH]}]`)", file=label, key="parameters")
