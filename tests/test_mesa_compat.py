"""ChipTradeModel under Mesa's own tools: batch_run, the DataCollector, SolaraViz's rebuild."""

import multiprocessing
import warnings
from pathlib import Path

import mesa
import numpy as np
import pytest

from sim.experiments.replication import replication_seed, simulate
from sim.model.mesa_adapter import ChipScenario, baseline_path
from sim.model.metrics import MODEL_METRICS
from sim.model.model import ChipTradeModel
from sim.scenario.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "scenarios" / "baseline.yaml"

SHORT = """\
name: short
period: {start: 2024-01, end: 2024-06}
population: {small_buyers: 10, smugglers: 10, cloud_providers: 2}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
"""

#: Moves, parameters drawn per replication, and a grey market: every kind of random draw.
DRAWN = """\
name: drawn
period: {start: 2024-03, end: 2024-10}
seed: 606
population: {small_buyers: 20, smugglers: 15, cloud_providers: 3}
parameters:
  smuggling.markup: {uniform: [0.3, 0.8]}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-05, announced: 2024-04, move: us.licence_requirement, chips: [H20], approval: 0.3}
  - {date: 2024-06, move: us.enforcement, intensity: 2.0}
  - {date: 2024-07, move: cn.purchase_guidance, chips: [H20], pressure: 0.5}
"""


@pytest.fixture
def start_method():
    """batch_run switches multiprocessing to "spawn" for the whole process; switch it back."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def test_batch_run_returns_a_row_of_metrics_per_iteration(start_method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # `iterations` is deprecated
        rows = mesa.batch_run(ChipTradeModel, parameters={"scenario": str(BASELINE)},
                              iterations=2, max_steps=100, number_processes=1,
                              display_progress=False)
    assert len(rows) == 2
    for row in rows:
        assert row["scenario"] == str(BASELINE)
        assert row["date"] == "2026-12"  # the last month of the period
        assert set(MODEL_METRICS) <= set(row)
        assert all(np.isfinite(row[m]) for m in MODEL_METRICS)
        assert row["diverted_units"] > 0


def test_batch_run_with_seeds_is_reproducible_and_collects_every_month(tmp_path, start_method):
    path = tmp_path / "short.yaml"
    path.write_text(SHORT)
    rows = mesa.batch_run(ChipTradeModel, parameters={"scenario": str(path)}, rng=[5, 5, 6],
                          max_steps=100, number_processes=1, data_collection_period=1,
                          display_progress=False)
    by_run = {}
    for row in rows:
        by_run.setdefault(row["RunId"], []).append(row)
    assert [len(r) for r in by_run.values()] == [6, 6, 6]  # months, not burn-in steps
    assert [r["date"] for r in by_run[0]] == [f"2024-0{m}" for m in range(1, 7)]
    same = [[r["smuggled_units"] for r in by_run[i]] for i in range(3)]
    assert same[0] == same[1] != same[2]


def test_the_collector_shows_exactly_the_model_records():
    scenario = load_scenario(BASELINE)
    model = ChipTradeModel(scenario, seed=3)
    records = model.run()[0]
    frame = model.datacollector.get_model_vars_dataframe()
    assert list(frame.columns) == ["date", *MODEL_METRICS]
    assert frame["date"].iloc[0] == "2024-01" and len(frame) == len(scenario.months)
    assert np.array_equal(frame[list(MODEL_METRICS)].to_numpy(), records)


def test_collecting_does_not_change_the_run():
    scenario = load_scenario(BASELINE)
    plain = ChipTradeModel(scenario, seed=11).run()
    stepped = ChipTradeModel(scenario, seed=11)
    while stepped.running:
        stepped.step()
    assert np.array_equal(plain, stepped.records)


def test_the_model_takes_its_scenario_as_a_keyword_a_path_or_nothing():
    assert ChipTradeModel().experiment.name == "baseline"
    assert baseline_path().resolve() == BASELINE.resolve()
    assert ChipTradeModel(scenario=str(BASELINE), seed=1).experiment.name == "baseline"
    assert ChipTradeModel(scenario=ChipScenario(file=str(BASELINE))).experiment.name == "baseline"
    model = ChipTradeModel(BASELINE)
    assert isinstance(model.scenario, ChipScenario)
    assert Path(model.scenario.file) == BASELINE.resolve()


def test_solara_reset_rebuilds_the_model_from_the_chosen_file(tmp_path):
    solara_viz = pytest.importorskip("mesa.visualization.solara_viz")
    path = tmp_path / "short.yaml"
    path.write_text(SHORT)
    model = ChipTradeModel(BASELINE, seed=1)
    params = {"file": str(path), "seed": 2}
    solara_viz._check_model_params(model, params)
    kwargs = solara_viz._build_model_init_kwargs(model, params, add_scenario_when_empty=True,
                                                  require_model_accepts_scenario=True)
    rebuilt = type(model)(**kwargs)
    assert rebuilt.experiment.name == "short"


def test_batch_run_gives_the_runners_numbers_on_the_same_seeds(tmp_path, start_method):
    """Mesa's batch_run (one model per seed, R = 1) against chipsim's runner (the seeds stepped
    together in one model, R = 3): every metric of every month, bit for bit."""
    path = tmp_path / "drawn.yaml"
    path.write_text(DRAWN)
    scenario = load_scenario(path)
    seeds = [replication_seed(scenario.seed, i) for i in range(3)]
    rows = mesa.batch_run(ChipTradeModel, parameters={"scenario": str(path)}, rng=seeds,
                          max_steps=100, number_processes=1, data_collection_period=1,
                          display_progress=False)
    records = simulate(scenario, seeds)  # what chipsim run's replications 0..2 are made of
    assert records.shape[:2] == (3, len(scenario.months))
    for run in range(3):
        collected = [row for row in rows if row["RunId"] == run]
        assert [row["date"] for row in collected] == [
            f"2024-{m:02d}" for m in range(3, 11)]
        table = np.array([[row[name] for name in MODEL_METRICS] for row in collected])
        np.testing.assert_array_equal(table, records[run], strict=True)
    assert not np.array_equal(records[0], records[1])
