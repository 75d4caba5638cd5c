"""Same scenario and seed, same results, bit for bit; whatever the number of workers (SPEC §5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make, run_metrics

from sim.experiments import runner
from sim.experiments.replication import replication_seed
from sim.model.model import ChipTradeModel

#: A short scenario with stockpiling, a ban, a crackdown and a permit: every random draw is used.
EVENTS = (
    {"date": "2024-09", "announced": "2024-06", "move": "us.licence_requirement",
     "chips": ["H20", "MI308"], "approval": 0.0},
    {"date": "2024-10", "move": "us.enforcement", "intensity": 2.0},
    {"date": "2024-11", "move": "transit.permit_requirement", "country": "malaysia",
     "detection": 0.3, "cost": 500},
    {"date": "2025-01", "move": "us.remote_access_rule", "compliance": 0.4},
    {"date": "2025-02", "move": "cn.import_block", "chips": ["H200"], "allowed": ["big_tech"],
     "justification_pass": 0.5},
)
PARAMETERS = {"smuggling.markup": {"uniform": [0.3, 0.8]},
              "buyers.stockpile_months.big_tech": {"triangular": [3, 6, 12]}}


@pytest.fixture(scope="module")
def scenario():
    return make(events=EVENTS, parameters=PARAMETERS, name="repro", seed=987654321)


def test_same_seed_gives_identical_model_records(scenario):
    a = ChipTradeModel(scenario, seed=replication_seed(scenario.seed, 3)).run()
    b = ChipTradeModel(scenario, seed=replication_seed(scenario.seed, 3)).run()
    assert np.array_equal(a, b)


def test_same_integer_seed_gives_identical_metrics(scenario):
    pd.testing.assert_frame_equal(run_metrics(scenario, 42), run_metrics(scenario, 42),
                                  check_exact=True)


def test_same_scenario_and_seed_write_byte_identical_timeseries(scenario, tmp_path):
    first = runner.run(scenario, seeds=2).write(tmp_path / "first")
    second = runner.run(scenario, seeds=2).write(tmp_path / "second")
    a = (first / "timeseries.csv").read_bytes()
    b = (second / "timeseries.csv").read_bytes()
    assert len(a) > 0
    assert a == b
    assert (first / "summary.csv").read_bytes() == (second / "summary.csv").read_bytes()


def test_scenario_rebuilt_from_its_resolved_form_gives_identical_results(scenario):
    from sim.scenario.scenario import scenario_from_dict

    again = scenario_from_dict(scenario.resolved)
    assert again.content_hash() == scenario.content_hash()
    pd.testing.assert_frame_equal(run_metrics(again, 7), run_metrics(scenario, 7),
                                  check_exact=True)


def test_different_seeds_give_different_results(scenario):
    table = runner.run(scenario, seeds=2).timeseries
    first = table[table.seed == 0].drop(columns="seed").reset_index(drop=True)
    second = table[table.seed == 1].drop(columns="seed").reset_index(drop=True)
    for column in ("smuggled_units", "seized_units", "legal_export_units",
                   "china_compute_h100e"):
        assert not np.array_equal(first[column], second[column]), column


def test_different_root_seeds_give_different_results(scenario):
    other = make(events=EVENTS, parameters=PARAMETERS, name="repro", seed=123456789)
    a = runner.run(scenario, seeds=1).timeseries
    b = runner.run(other, seeds=1).timeseries
    assert not a.drop(columns="seed").equals(b.drop(columns="seed"))


def test_one_worker_and_two_workers_give_identical_results(scenario):
    serial = runner.run(scenario, seeds=3, workers=1)
    parallel = runner.run(scenario, seeds=3, workers=2)
    assert serial.failures == parallel.failures == {}
    assert serial.manifest["executor"] == {"kind": "serial", "workers": 1}
    assert parallel.manifest["executor"] == {"kind": "processes", "workers": 2}
    pd.testing.assert_frame_equal(serial.timeseries, parallel.timeseries, check_exact=True)


def test_replication_does_not_depend_on_how_many_run_before_it(scenario):
    """Replication i of a 3-seed run is replication i of a 5-seed run."""
    three = runner.run(scenario, seeds=3).timeseries
    five = runner.run(scenario, seeds=5).timeseries
    pd.testing.assert_frame_equal(three, five[five.seed < 3].reset_index(drop=True),
                                  check_exact=True)
