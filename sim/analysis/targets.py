"""The record's figures as targets: what the model is fitted to and what it is checked against.

``sim/world/data/targets.yaml`` declares, for every figure F1-F18 of FACTS, its role
(calibration, validation, input, not modelled) and, for the targets, a statistic of the model, a
comparison and a tolerance taken from the source's own uncertainty. This module reads and checks
that file (:func:`load_targets`) and evaluates its statistics on simulated months
(:class:`Runs`): one value per replication, whether the replication holds the target, and - for
calibration - how far it is from the target in units of the tolerance (:meth:`Target.deviation`).

A statistic is a *series* (one metric, or the sum of several, over a window of months, summed,
averaged or read at the last month, in one scenario) or the ratio or difference of two
statistics. Every scenario of a run uses the same replications, so a ratio between a what-if and
the timeline is paired seed by seed, parameter draws included.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.model.metrics import BY_NAME, MODEL_METRICS
from sim.world.months import format_month, parse_month

#: The roles a figure of the record can have.
ROLES = ("calibration", "validation", "input", "not_modelled")
#: Roles of targets (the other two are for figures that are not targets).
TARGET_ROLES = ("calibration", "validation")
#: The widest relative tolerance a ``near`` target may have (issue 13: +-50 %).
MAX_TOLERANCE = 0.5
#: The scenario a series is taken from when it names none.
TIMELINE = "timeline"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Series(_Strict):
    """One metric (or the sum of several) over a window of months, in one scenario."""

    scenario: str = TIMELINE
    metric: str | None = None
    metrics: tuple[str, ...] | None = None
    window: str
    aggregate: Literal["sum", "mean", "last"]

    @model_validator(mode="after")
    def _one_metric_field(self) -> Series:
        if (self.metric is None) == (self.metrics is None):
            raise ValueError("give exactly one of metric or metrics")
        for name in self.columns:
            if name not in MODEL_METRICS:
                raise ValueError(f"unknown metric {name!r} (a column of timeseries.csv that the"
                                 " model computes; revenue losses need a counterfactual)")
        self.months  # noqa: B018 - parse the window now, so a bad one fails on load
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """The metric columns summed."""
        return (self.metric,) if self.metric is not None else tuple(self.metrics or ())

    @property
    def months(self) -> tuple[int, int]:
        """First and last month of the window (month indices, inclusive)."""
        parts = self.window.split("..")
        if len(parts) != 2:
            raise ValueError(f"window must be YYYY-MM..YYYY-MM (got {self.window!r})")
        first, last = (parse_month(p) for p in parts)
        if last < first:
            raise ValueError(f"window {self.window} ends before it starts")
        return first, last

    def scenarios(self) -> set[str]:
        """The scenarios this statistic reads."""
        return {self.scenario}

    def describe(self) -> str:
        """One line: ``sum of legal_export_units_H20, 2025-01..2025-03 (timeline)``."""
        what = " + ".join(self.columns)
        return f"{self.aggregate} of {what}, {self.window} ({self.scenario})"


class Ratio(_Strict):
    """The first statistic over the second (x/0 is +inf for x > 0 and NaN for 0/0)."""

    ratio: tuple[Statistic, Statistic]

    def scenarios(self) -> set[str]:
        """The scenarios this statistic reads."""
        return self.ratio[0].scenarios() | self.ratio[1].scenarios()

    def describe(self) -> str:
        """One line."""
        return f"[{self.ratio[0].describe()}] / [{self.ratio[1].describe()}]"


class Difference(_Strict):
    """The first statistic minus the second."""

    difference: tuple[Statistic, Statistic]

    def scenarios(self) -> set[str]:
        """The scenarios this statistic reads."""
        return self.difference[0].scenarios() | self.difference[1].scenarios()

    def describe(self) -> str:
        """One line."""
        return f"[{self.difference[0].describe()}] - [{self.difference[1].describe()}]"


Statistic = Annotated[Series | Ratio | Difference, Field(union_mode="left_to_right")]
Ratio.model_rebuild()
Difference.model_rebuild()


class Target(_Strict):
    """One target: a statistic of the model, the source's value and how a run is judged."""

    id: str
    facts: tuple[str, ...]
    role: Literal["calibration", "validation"]
    title: str
    unit: Literal["units", "USD", "ratio", "share", "H100e"]
    statistic: Statistic
    compare: Literal["near", "at_least", "at_most", "above", "below", "between"]
    value: float | tuple[float, float]
    tolerance: float | None = None
    distance_unit: float | None = None
    source: str

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        between = self.compare == "between"
        if between != isinstance(self.value, tuple):
            raise ValueError("between takes value: [low, high]; the other comparisons one number")
        if between and not self.value[0] < self.value[1]:
            raise ValueError(f"between needs low < high (got {list(self.value)})")
        if self.compare == "near":
            if self.tolerance is None or not 0 < self.tolerance <= MAX_TOLERANCE:
                raise ValueError(f"near needs a tolerance in (0, {MAX_TOLERANCE}] (a relative band"
                                 " from the source's own uncertainty)")
            if self.value == 0:
                raise ValueError("near needs a non-zero value (its tolerance is relative)")
        elif self.tolerance is not None:
            raise ValueError(f"{self.compare} takes no tolerance: the bound is the source's")
        if self.role == "calibration":
            if self.compare not in ("near", "at_least", "at_most"):
                raise ValueError("a calibration target is near, at_least or at_most")
            if self.compare != "near" and not (self.distance_unit or 0) > 0:
                raise ValueError("a calibration bound needs a positive distance_unit")
            if self.statistic.scenarios() != {TIMELINE}:
                raise ValueError("a calibration target reads the timeline only")
        elif self.distance_unit is not None:
            raise ValueError("distance_unit is for calibration targets")
        return self

    # --- judging runs ---------------------------------------------------------------------
    def holds(self, values: np.ndarray) -> np.ndarray:
        """Whether each value holds the target (NaN never does; +inf is above any bound)."""
        x = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            match self.compare:
                case "near":
                    v = float(self.value)  # type: ignore[arg-type]
                    ok = np.abs(x / v - 1.0) <= float(self.tolerance or 0) * (1 + 1e-12)
                case "at_least":
                    ok = x >= self.value
                case "at_most":
                    ok = x <= self.value
                case "above":
                    ok = x > self.value
                case "below":
                    ok = x < self.value
                case _:
                    low, high = self.value  # type: ignore[misc]
                    ok = (x >= low) & (x <= high)
        return np.asarray(ok, dtype=bool)  # NaN compares False: a run without a value fails

    def deviation(self, values: np.ndarray) -> np.ndarray:
        """How far each value is from the target, in units of its tolerance (calibration).

        ``near``: ``(x / value - 1) / tolerance`` (signed; inside the band is within +-1).
        ``at_least``/``at_most``: 0 at or past the bound, else the shortfall as a share of
        the bound in units of ``distance_unit``.
        """
        x = np.asarray(values, dtype=float)
        v = float(self.value)  # type: ignore[arg-type]
        if self.compare == "near":
            return (x / v - 1.0) / float(self.tolerance or 1.0)
        unit = float(self.distance_unit or 1.0) * abs(v)
        gap = (v - x) if self.compare == "at_least" else (x - v)
        return np.maximum(gap, 0.0) / unit

    @property
    def scenarios(self) -> set[str]:
        """The scenario keys its statistic reads."""
        return self.statistic.scenarios()

    def target_text(self) -> str:
        """The source value and tolerance as text, e.g. ``1e+06 +-25 %`` or ``>= 2,300``."""
        fmt = functools.partial(format_value, unit=self.unit)
        match self.compare:
            case "near":
                return f"{fmt(self.value)} ±{(self.tolerance or 0) * 100:.0f} %"
            case "between":
                low, high = self.value  # type: ignore[misc]
                return f"{fmt(low)} .. {fmt(high)}"
            case _:
                sign = {"at_least": "≥", "at_most": "≤", "above": ">", "below": "<"}
                return f"{sign[self.compare]} {fmt(self.value)}"


class Figure(_Strict):
    """A figure of the record (F1-F18) and what the model does with it."""

    role: Literal["calibration", "validation", "input", "not_modelled"]
    targets: tuple[str, ...] = ()
    used_by: tuple[str, ...] = ()
    reason: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _explained(self) -> Figure:
        if self.role in TARGET_ROLES and not self.targets:
            raise ValueError(f"a {self.role} figure names its targets")
        if self.role not in TARGET_ROLES and not self.reason:
            raise ValueError(f"a figure that is {self.role} says why (reason)")
        if self.role == "input" and not self.used_by:
            raise ValueError("an input figure names what uses it (used_by)")
        return self


class TargetsFile(_Strict):
    """The whole targets file."""

    scenarios: dict[str, str]
    figures: dict[str, Figure]
    targets: tuple[Target, ...]

    @field_validator("figures")
    @classmethod
    def _figure_ids(cls, figures: dict[str, Figure]) -> dict[str, Figure]:
        bad = [f for f in figures if not (f.startswith("F") and f[1:].isdigit())]
        if bad:
            raise ValueError(f"figures are FACTS ids F1, F2, ... (got {bad})")
        return figures

    @model_validator(mode="after")
    def _cross_checks(self) -> TargetsFile:
        ids = [t.id for t in self.targets]
        if len(set(ids)) != len(ids):
            raise ValueError("target ids must be unique")
        if TIMELINE not in self.scenarios:
            raise ValueError(f"scenarios must name the {TIMELINE!r}")
        by_id = {t.id: t for t in self.targets}
        for target in self.targets:
            unknown = target.scenarios - set(self.scenarios)
            if unknown:
                raise ValueError(f"target {target.id}: unknown scenario {sorted(unknown)[0]!r}")
            for fact in target.facts:
                if fact.startswith("F") and fact not in self.figures:
                    raise ValueError(f"target {target.id} cites {fact}, which has no figure entry")
        for name, figure in self.figures.items():
            for tid in figure.targets:
                if tid not in by_id:
                    raise ValueError(f"figure {name} names an unknown target {tid!r}")
                if by_id[tid].role != figure.role:
                    raise ValueError(f"figure {name} is {figure.role} but target {tid} is"
                                     f" {by_id[tid].role}")
        return self


@dataclass(frozen=True)
class Targets:
    """The checked targets file: figures, targets and the scenario files they read."""

    figures: dict[str, Figure]
    targets: tuple[Target, ...]
    scenario_files: dict[str, str]
    path: str

    def by_role(self, role: str) -> tuple[Target, ...]:
        """The targets of one role, in file order."""
        return tuple(t for t in self.targets if t.role == role)

    @property
    def calibration(self) -> tuple[Target, ...]:
        """The targets the calibration fits."""
        return self.by_role("calibration")

    @property
    def validation(self) -> tuple[Target, ...]:
        """The held-out targets."""
        return self.by_role("validation")

    def __getitem__(self, target_id: str) -> Target:
        """The target with this id."""
        for target in self.targets:
            if target.id == target_id:
                return target
        raise KeyError(target_id)

    def scenarios_needed(self, targets: Sequence[Target] | None = None) -> list[str]:
        """Scenario keys the targets read, the timeline first."""
        keys = set().union(*(t.scenarios for t in (targets or self.targets)))
        return [TIMELINE, *sorted(keys - {TIMELINE})]


#: The shipped targets file.
TARGETS_FILE = "data/targets.yaml"


def load_targets(path: str | Path | None = None) -> Targets:
    """Read and check a targets file (default: the shipped ``sim/world/data/targets.yaml``).

    Raises:
        ValueError: the file breaks a rule (pydantic's message names the entry).

    """
    if path is None:
        text = resources.files("sim.world").joinpath(TARGETS_FILE).read_text(encoding="utf-8")
        label = f"sim/world/{TARGETS_FILE}"
    else:
        text, label = Path(path).read_text(encoding="utf-8"), str(path)
    raw = yaml.safe_load(text)
    checked = TargetsFile.model_validate(raw)
    return Targets(dict(checked.figures), checked.targets, dict(checked.scenarios), label)


@functools.cache
def shipped_targets() -> Targets:
    """The shipped targets file, read once."""
    return load_targets()


# --- evaluating statistics on simulated months ------------------------------------------------


@dataclass(frozen=True)
class Runs:
    """Simulated months of several scenarios on the same replications.

    Attributes:
        values: scenario key -> array (replications x months x :data:`MODEL_METRICS`).
        start: the month index of the first month (every scenario shares the period).

    """

    values: Mapping[str, np.ndarray]
    start: int

    @property
    def replications(self) -> int:
        """Number of replications."""
        return next(iter(self.values.values())).shape[0]

    def evaluate(self, statistic: Series | Ratio | Difference) -> np.ndarray:
        """The statistic for each replication."""
        if isinstance(statistic, Ratio):
            a, b = (self.evaluate(s) for s in statistic.ratio)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(b == 0, np.where(a > 0, np.inf, np.nan), a / np.where(b == 0, 1, b))
        if isinstance(statistic, Difference):
            a, b = (self.evaluate(s) for s in statistic.difference)
            return a - b
        return self._series(statistic)

    def _series(self, s: Series) -> np.ndarray:
        table = self.values[s.scenario]
        first, last = s.months
        i, j = first - self.start, last - self.start
        if i < 0 or j >= table.shape[1]:
            period = f"{format_month(self.start)}..{format_month(self.start + table.shape[1] - 1)}"
            raise ValueError(f"window {s.window} lies outside the simulated period {period}")
        cols = [_COLUMN[c] for c in s.columns]
        window = table[:, i:j + 1, :][:, :, cols].sum(axis=2)
        match s.aggregate:
            case "sum":
                return window.sum(axis=1)
            case "mean":
                return window.mean(axis=1)
            case _:
                return window[:, -1]


_COLUMN: dict[str, int] = {name: i for i, name in enumerate(MODEL_METRICS)}


def format_value(value: Any, unit: str) -> str:
    """A value as the report shows it: ``$5.50 B``, ``1,000,000``, ``0.83``."""
    x = float(value)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if unit == "USD":
        return f"${x / 1e9:.2f} B" if abs(x) >= 1e8 else f"${x / 1e6:.1f} M"
    if unit in ("units", "H100e"):
        return f"{x:,.0f}"
    return f"{x:.3g}"


def metric_unit(name: str) -> str:
    """A metric's unit (for reports)."""
    return BY_NAME[name].unit
