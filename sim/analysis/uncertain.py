"""A scenario as a function of its uncertain inputs: which they are, how to sample them, one point.

Exploratory and sensitivity studies treat the model as ``f(x)``: ``x`` fixes the parameters the
scenario file gives a distribution (``smuggling.markup: {uniform: [0.3, 0.8]}``) and sets its
levers (:mod:`sim.scenario.levers`); ``f`` runs the scenario's replications at that point and
reports each metric per seed. This module holds what :mod:`sim.analysis.sensitivity` (SALib)
and :mod:`sim.analysis.ema` (EMA Workbench) share:

* :class:`TruncatedDistribution` - a parameter's distribution as a quantile function, truncated
  where sampling it unbounded would leave the parameter's meaning (and as a frozen
  :mod:`scipy.stats` distribution, which EMA Workbench samples);
* :func:`uncertain_parameters` - the parameters a scenario gives a distribution;
* :func:`at_point` - the scenario at one point, with its counterfactual in the same world;
* :func:`run_point` - its replications, through chipsim's executors, as per-seed period totals.

A point's replication ``i`` uses the seed of replication ``i`` of ``chipsim run`` (common random
numbers across points), so the numbers equal those of ``chipsim run`` of a file that fixes the
same values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.model.metrics import METRIC_NAMES

if TYPE_CHECKING:
    from sim.experiments.executors import Executor
    from sim.experiments.replication import ReplicationResult
    from sim.scenario.scenario import Scenario
    from sim.world.parameters import Distribution


class TruncatedDistribution:
    """A scenario :class:`~sim.world.parameters.Distribution` as a quantile function.

    Uniform and triangular distributions are used as they are; normal and lognormal ones are
    truncated to :meth:`~sim.world.parameters.Distribution.bounds` (mean +- 2 sd of the underlying
    normal), so that no sample lands in the far tails where a parameter stops making sense, and
    to ``within``, the parameter's allowed range (the scenario loader refuses values outside it).
    """

    def __init__(self, dist: Distribution,
                 within: tuple[float, float] = (-math.inf, math.inf)) -> None:
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

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Distribution function of the (truncated) distribution."""
        raw = self._frozen.cdf(np.clip(np.asarray(x, dtype=float), self.low, self.high))
        return np.clip((raw - self.q_low) / (self.q_high - self.q_low), 0.0, 1.0)

    def frozen(self) -> Any:
        """The distribution as a frozen :mod:`scipy.stats` one (EMA Workbench samples those)."""
        return _Truncated(a=self.low, b=self.high, name="truncated", sampler=self)()


class _Truncated(stats.rv_continuous):
    """A :class:`scipy.stats.rv_continuous` of one :class:`TruncatedDistribution`."""

    def __init__(self, *args: Any, sampler: TruncatedDistribution, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sampler = sampler

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        return self.sampler.ppf(q)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return self.sampler.cdf(x)

    def _updated_ctor_param(self) -> dict[str, Any]:  # freezing copies the generator with these
        return {**super()._updated_ctor_param(), "sampler": self.sampler}


def uncertain_parameters(scenario: Scenario) -> dict[str, Distribution]:
    """The parameters the scenario gives a (non-degenerate) distribution, in name order."""
    from sim.world.parameters import DEFAULTS, Distribution

    return {
        name: value for name, value in sorted(scenario.parameters.items())
        if isinstance(value, Distribution)
        and not TruncatedDistribution(value, DEFAULTS[name].limits).degenerate
    }


def samplers(scenario: Scenario) -> dict[str, TruncatedDistribution]:
    """Each uncertain parameter's :class:`TruncatedDistribution`, within its allowed range."""
    from sim.world.parameters import DEFAULTS

    return {name: TruncatedDistribution(dist, DEFAULTS[name].limits)
            for name, dist in uncertain_parameters(scenario).items()}


# --------------------------------------------------------------------------- one point


def at_point(scenario: Scenario, parameters: Mapping[str, float],
             levers: Mapping[str, float] | None = None) -> tuple[Scenario, Scenario]:
    """The scenario with parameters fixed and levers set, and its counterfactual.

    The counterfactual lives in the same world: a ``no-events`` one is this point without its
    events; a counterfactual file gets the same parameter values. Levers change this scenario's
    events only.

    Raises:
        ScenarioError: a value is not allowed (outside a parameter's range or a lever's).

    """
    from sim.scenario.scenario import NO_EVENTS

    values = {name: float(v) for name, v in parameters.items()}
    point = scenario.replace(parameters={**scenario.parameters, **values}) if values else scenario
    point = point.set_levers(dict(levers or {}))
    if point.counterfactual == NO_EVENTS:
        return point, point.without_events()
    other = _counterfactual_file(point.counterfactual)
    return point, other.replace(parameters={**other.parameters, **values}) if values else other


@functools.lru_cache(maxsize=4)
def _counterfactual_file(path: str) -> Scenario:
    from sim.scenario.scenario import load_scenario

    return load_scenario(path)


@contextmanager
def fixed_parameters(scenario: Scenario, values: Mapping[str, float]) -> Iterator[Scenario]:
    """Yield the scenario with ``values`` fixed, in it and in its counterfactual.

    A ``no-events`` counterfactual carries the scenario's parameters already. A counterfactual
    file gets the same values in a temporary copy (kept while the context is open), so that
    ``sim.run`` of the yielded scenario compares the two policies in the same world.
    """
    import tempfile
    from pathlib import Path

    import yaml

    point = scenario.replace(parameters={**scenario.parameters, **values})
    if scenario.counterfactual == "no-events":
        yield point
        return
    doc = dict(_counterfactual_file(scenario.counterfactual).resolved)
    doc["parameters"] = {**doc.get("parameters", {}), **{k: float(v) for k, v in values.items()}}
    doc["counterfactual"] = "no-events"  # only its runs matter here, not its own baseline
    with tempfile.TemporaryDirectory(prefix="chipsim-cf-") as folder:
        path = Path(folder) / "counterfactual.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        yield point.replace(counterfactual=str(path))


@dataclass(frozen=True)
class PointResult:
    """A point's replications: per-seed period totals and the months of each seed.

    Attributes:
        totals: One row per seed that succeeded (index: replication index), one column per
            metric: the period total of a flow, the final value of a stock or rate
            (:func:`sim.experiments.summary.per_seed`).
        months: seeds x months x metrics, the monthly values (seeds that succeeded).
        failures: replication index -> error, for the seeds that failed.

    """

    totals: pd.DataFrame
    months: np.ndarray
    failures: dict[int, str]

    def median(self) -> pd.Series:
        """Median over seeds of each metric's period total (NaN if every seed failed)."""
        return self.totals.median() if len(self.totals) else pd.Series(
            np.nan, index=list(METRIC_NAMES))

    def median_series(self) -> np.ndarray:
        """Median over seeds, month by month: months x metrics."""
        if not len(self.months):
            return np.full(self.months.shape[1:], np.nan)
        return np.median(self.months, axis=0)


def collect(results: Iterable[ReplicationResult], months: Sequence[str]) -> PointResult:
    """Per-seed period totals of a point's replications (any order; sorted by index)."""
    from sim.experiments.summary import per_seed

    done = sorted(results, key=lambda r: r.index)
    good = [r for r in done if not r.failed]
    failures = {r.index: r.error or "failed" for r in done if r.failed}
    stack = np.array([r.values for r in good]).reshape(len(good), len(months),
                                                       len(METRIC_NAMES))
    frame = pd.DataFrame(stack.reshape(-1, len(METRIC_NAMES)), columns=list(METRIC_NAMES))
    frame.insert(0, "date", list(months) * len(good))
    frame.insert(0, "seed", np.repeat([r.index for r in good], len(months)))
    totals = per_seed(frame) if good else pd.DataFrame(columns=list(METRIC_NAMES), dtype=float)
    return PointResult(totals, stack, failures)


def run_point(scenario: Scenario, counterfactual: Scenario, seeds: int,
              executor: Executor | None = None) -> PointResult:
    """Run replications ``0..seeds-1`` of a point on a chipsim executor (default: serially)."""
    from sim.experiments.executors import run_replications
    from sim.world.months import format_month

    results = run_replications(scenario, counterfactual, range(seeds), executor=executor)
    return collect(results, [format_month(m) for m in scenario.months])
