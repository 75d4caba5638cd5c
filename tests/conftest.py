"""Shared helpers for the model tests: small scenarios built in code, and one-seed runs.

``make(...)`` builds a validated :class:`~sim.scenario.scenario.Scenario` from the same dict a
YAML file would hold, on top of the late-2023 rules (:data:`BASELINE`), with a small population
and a short period so that every test runs in well under a second per model run.
``run_metrics(scenario, seed)`` runs one model and returns its monthly metrics as a DataFrame
indexed by ``YYYY-MM``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.model.metrics import MODEL_METRICS
from sim.model.model import ChipTradeModel
from sim.scenario.scenario import Scenario, scenario_from_dict
from sim.world.months import format_month, parse_month

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
TIMELINE = SCENARIOS / "timeline-2024-2026.yaml"

#: The rules of late 2023 (FACTS M1): flagship parts need a licence, none granted for China.
BASELINE: tuple[dict[str, Any], ...] = (
    {"move": "us.licence_requirement", "chips": ["H100", "H200", "B200", "MI325X"],
     "approval": 0.0},
)
#: A small world: fast, but with enough buyers and smugglers for every channel to be used.
SMALL_POPULATION: dict[str, int] = {"small_buyers": 50, "smugglers": 30, "cloud_providers": 8}
PERIOD: tuple[str, str] = ("2024-01", "2025-06")
#: HBM and foundry supply to spare (FACTS F12, F17 lifted): the domestic makers' own capacity,
#: which a subsidy speeds, binds, so domestic chips can sell more when demand turns to them.
AMPLE_INPUTS = {"domestic.hbm_units_per_month": 1e6, "domestic.foundry_units_per_month": 1e6}
ROOT_SEED = 20240101


def make(
    events: Iterable[Mapping[str, Any]] = (),
    initial_policy: Iterable[Mapping[str, Any]] = BASELINE,
    parameters: Mapping[str, Any] | None = None,
    period: tuple[str, str] = PERIOD,
    **kw: Any,
) -> Scenario:
    """Build a validated scenario from scenario-file data (events in YAML form).

    Extra keyword arguments are top-level scenario keys (``name``, ``seeds``, ``seed``,
    ``population``, ``counterfactual``...); they override the small defaults used here.
    """
    doc: dict[str, Any] = {
        "name": "test",
        "period": {"start": period[0], "end": period[1]},
        "seeds": 1,
        "seed": ROOT_SEED,
        "population": dict(SMALL_POPULATION),
        "parameters": dict(parameters or {}),
        "initial_policy": [dict(m) for m in initial_policy],
        "events": [dict(e) for e in events],
    }
    doc.update(kw)
    return scenario_from_dict(doc)


def month_index(scenario: Scenario, date: str) -> int:
    """Row of ``date`` (YYYY-MM) in a model's records."""
    return parse_month(date) - scenario.start


def frame(scenario: Scenario, records: np.ndarray) -> pd.DataFrame:
    """Model records (months x MODEL_METRICS) as a DataFrame indexed by YYYY-MM."""
    dates = [format_month(m) for m in scenario.months]
    return pd.DataFrame(records, columns=list(MODEL_METRICS), index=pd.Index(dates, name="date"))


def run_metrics(scenario: Scenario, seed: int | np.random.SeedSequence = 0,
                check_conservation: bool = False) -> pd.DataFrame:
    """Run one model on ``seed``; return its monthly metrics (rows YYYY-MM, MODEL_METRICS)."""
    model = ChipTradeModel(scenario, seed=seed, check_conservation=check_conservation)
    return frame(scenario, model.run()[0])


def run_model(scenario: Scenario, seed: int | np.random.SeedSequence = 0,
              each_month: Callable[[ChipTradeModel], None] | None = None,
              check_conservation: bool = False) -> ChipTradeModel:
    """Run a model to the end, calling ``each_month(model)`` after every step; return it."""
    model = ChipTradeModel(scenario, seed=seed, check_conservation=check_conservation)
    while model.running and model.month <= scenario.end:
        model.step()
        if each_month is not None:
            each_month(model)
    return model


def track(scenario: Scenario, seed: int | np.random.SeedSequence = 0,
          check_conservation: bool = False,
          **probes: Callable[[ChipTradeModel], float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run one model, reading each probe at the end of every month of the period.

    Returns ``(metrics, probed)``: the model metrics and a DataFrame with one column per probe,
    both indexed by YYYY-MM (burn-in months are not included).
    """
    rows: dict[str, dict[str, float]] = {}

    def read(model: ChipTradeModel) -> None:
        done = model.month - 1  # step() has advanced the clock past the month just simulated
        if done >= scenario.start:
            rows[format_month(done)] = {name: first(probe(model)) for name, probe in
                                        probes.items()}

    model = run_model(scenario, seed, read, check_conservation=check_conservation)
    probed = pd.DataFrame.from_dict(rows, orient="index", columns=list(probes))
    probed.index.name = "date"
    return frame(scenario, model.records[0]), probed


def first(value: Any) -> float:
    """A probe's value for the first (here: only) replication, as a float."""
    return float(np.asarray(value, dtype=float).ravel()[0])


def ensemble(scenario: Scenario, seeds: int = 3) -> np.ndarray:
    """Replications 0..seeds-1 of ``scenario`` stepped together: (seeds, months, MODEL_METRICS)."""
    from sim.experiments.replication import replication_seed

    return ChipTradeModel(scenario, seeds=[replication_seed(scenario.seed, i)
                                           for i in range(seeds)]).run()


def window(scenario: Scenario, records: np.ndarray, metric: str, start: str | None = None,
           end: str | None = None) -> np.ndarray:
    """Each replication's total of ``metric`` over start..end (inclusive): shape (seeds,)."""
    j = MODEL_METRICS.index(metric)
    a = 0 if start is None else month_index(scenario, start)
    b = records.shape[1] if end is None else month_index(scenario, end) + 1
    return records[:, a:b, j].sum(axis=1)


def added(cumulative: pd.Series, start: str, end: str | None = None) -> float:
    """How much a cumulative series (indexed YYYY-MM) grew over the months start..end."""
    before = format_month(parse_month(start) - 1)
    if before not in cumulative.index:
        raise ValueError(f"{start} must be after the first month of the series")
    last = cumulative.index[-1] if end is None else end
    return float(cumulative.loc[last] - cumulative.loc[before])


def total(frames: Sequence[pd.DataFrame], column: str, start: str | None = None,
          end: str | None = None) -> float:
    """Sum of ``column`` over the months start..end (inclusive) of every frame."""
    return float(sum(f.loc[start:end, column].sum() for f in frames))


@pytest.fixture
def scenario_factory() -> Callable[..., Scenario]:
    """The :func:`make` helper as a fixture, for tests that prefer fixtures to imports."""
    return make
