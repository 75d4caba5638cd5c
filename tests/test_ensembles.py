"""Ensembles (SPEC §5): the same bytes whatever runs them, failures recorded, results streamed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import make

import sim
from sim import cli
from sim.experiments import replication, runner
from sim.experiments.executors import (
    ExecutorError,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
    plan_batches,
)
from sim.experiments.output import timeseries_bytes
from sim.experiments.store import work_folder

SEEDS = 5
EVENTS = ({"date": "2024-08", "announced": "2024-07", "move": "us.licence_requirement",
           "chips": ["H20", "MI308"], "approval": 0.0},
          {"date": "2024-09", "move": "us.enforcement", "intensity": 2.0})
PARAMETERS = {"smuggling.markup": {"uniform": [0.3, 0.8]}}

TINY = """\
name: tiny-ensemble
period: {start: 2024-06, end: 2024-11}
seeds: 4
seed: 11
population: {small_buyers: 20, smugglers: 20, cloud_providers: 4}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-09, move: us.licence_requirement, chips: [H20, MI308], approval: 0.0}
"""


@pytest.fixture(scope="module")
def scenario():
    return make(events=EVENTS, parameters=PARAMETERS, period=("2024-06", "2024-12"),
                name="ensemble", seed=4242, seeds=SEEDS)


@pytest.fixture(scope="module")
def serial_bytes(scenario):
    results = sim.run(scenario, executor=SerialExecutor())
    assert results.failures == {}
    return timeseries_bytes(results.timeseries)


class ReverseOrder(SerialExecutor):
    """An executor that hands batches back last first: completion order must not matter."""

    def map(self, fn, shared, batches, on_lost=None):
        yield from reversed([fn(*shared, batch) for batch in batches])


def test_serial_and_one_or_two_processes_give_identical_timeseries_bytes(scenario,
                                                                        serial_bytes):
    assert serial_bytes.count(b"\n") == SEEDS * 7 + 1
    for executor in (ProcessExecutor(1), ProcessExecutor(2)):
        results = sim.run(scenario, executor=executor)
        assert timeseries_bytes(results.timeseries) == serial_bytes, executor.describe()


def test_completion_order_does_not_change_the_bytes(scenario, serial_bytes):
    assert timeseries_bytes(sim.run(scenario, executor=ReverseOrder()).timeseries) \
        == serial_bytes


def test_a_dask_cluster_gives_identical_timeseries_bytes(scenario, serial_bytes):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        results = sim.run(scenario, scheduler=cluster.scheduler_address)
    assert results.manifest["executor"]["kind"] == "dask"
    assert results.manifest["executor"]["workers"] == 2
    assert timeseries_bytes(results.timeseries) == serial_bytes


def test_written_timeseries_is_what_timeseries_bytes_says(scenario, serial_bytes, tmp_path):
    folder = sim.run(scenario).write(tmp_path / "out")
    assert (folder / "timeseries.csv").read_bytes() == serial_bytes


def test_batches_cover_every_index_once_in_order():
    for n, slots, limit in ((1, 4, 8), (7, 1, 1), (200, 2, 8), (1000, 32, 16), (5, 8, 8)):
        batches = plan_batches(list(range(n)), slots, limit)
        assert [i for b in batches for i in b] == list(range(n))
        assert max(len(b) for b in batches) <= limit


def test_one_slot_steps_a_small_ensemble_as_one_batch():
    """Nothing is gained by cutting work for a single worker: 4 seeds are one model of R = 4."""
    assert plan_batches(list(range(4)), 1, 64) == [[0, 1, 2, 3]]
    assert [len(b) for b in plan_batches(list(range(100)), 1, 64)] == [50, 50]
    assert [len(b) for b in plan_batches(list(range(8)), 2, 64)] == [2, 2, 2, 2]


def test_one_worker_runs_in_this_process_and_several_in_a_pool():
    assert make_executor(1).kind == make_executor(None).kind == "serial"
    assert make_executor(3).kind == "processes" and make_executor(3).slots == 3


def _fail_replication(monkeypatch, index):
    real = replication.simulate

    def flaky(scenario, seeds, check=False, parameter_sets=None):
        if any(seed.spawn_key == (index,) for seed in seeds):
            raise RuntimeError(f"boom in replication {index}")
        return real(scenario, seeds, check, parameter_sets)

    monkeypatch.setattr(replication, "simulate", flaky)


def test_a_failing_replication_is_recorded_and_the_others_complete(scenario, monkeypatch):
    _fail_replication(monkeypatch, 2)
    results = sim.run(scenario, workers=1)
    assert list(results.failures) == [2] and "boom in replication 2" in results.failures[2]
    assert sorted(results.timeseries.seed.unique()) == [0, 1, 3, 4]
    entry = results.manifest["failed_replications"]["2"]
    assert entry["seed"] == {"root_seed": 4242, "spawn_key": [2]}
    assert "RuntimeError: boom" in entry["error"] and "test_ensembles.py" in entry["error"]
    assert results.manifest["replications"]["failed"] == 1


def test_a_failing_replication_exits_1_and_still_writes_the_folder(tmp_path, monkeypatch,
                                                                   capsys):
    _fail_replication(monkeypatch, 1)
    (tmp_path / "tiny.yaml").write_text(TINY)
    out = tmp_path / "out"
    code = runner.run_command(str(tmp_path / "tiny.yaml"), out=str(out), workers=1)
    assert code == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["failed_replications"]) == ["1"]
    assert manifest["replications"] == {"count": 4, "succeeded": 3, "failed": 1,
                                        "reused_from_interrupted_run": 0}
    assert (out / "timeseries.csv").read_text().count("\n") == 3 * 6 + 1
    assert "replication 1 failed: RuntimeError: boom" in capsys.readouterr().err
    assert not work_folder(out).exists()


def test_replications_are_on_disk_as_soon_as_they_are_reported(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    out = tmp_path / "out"
    seen = []

    def check_saved(result):
        saved = work_folder(out) / "replications" / f"{result.index:06d}.npy"
        assert saved.is_file(), f"replication {result.index} reported before it was saved"
        seen.append(result.index)

    assert runner.run_command(str(tmp_path / "tiny.yaml"), out=str(out), workers=1,
                              on_done=check_saved) == 0
    assert sorted(seen) == [0, 1, 2, 3]
    assert not work_folder(out).exists()  # removed once the results folder is in place


def test_progress_bar_only_when_asked_or_on_a_terminal(scenario, capsys):
    sim.run(scenario, seeds=2)  # pytest's stderr is not a terminal
    assert capsys.readouterr().err == ""
    sim.run(scenario, seeds=2, progress=True)
    assert "2/2" in capsys.readouterr().err


def test_scheduler_without_dask_installed_exits_2_with_how_to_install(tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import now fails
    (tmp_path / "tiny.yaml").write_text(TINY)
    code = cli.main(["run", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "o"),
                     "--scheduler", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and "dask" in err and "pip install" in err
    assert len(err.strip().splitlines()) == 1
    assert not Path(tmp_path / "o").exists() and not work_folder(tmp_path / "o").exists()


def test_unreachable_scheduler_exits_2(tmp_path, monkeypatch, capsys):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr("sim.experiments.dask_executor.DASK_TIMEOUT_S", 1)
    (tmp_path / "tiny.yaml").write_text(TINY)
    code = cli.main(["run", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "o"),
                     "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler" in err
    assert not work_folder(tmp_path / "o").exists()


def test_workers_and_scheduler_together_are_refused():
    with pytest.raises(ExecutorError, match="--workers"):
        make_executor(2, "tcp://127.0.0.1:8786")


def test_processes_started_beside_other_threads_give_identical_bytes(scenario):
    """With other threads about (a notebook kernel), workers come from a fork server."""
    import threading

    from sim.experiments.executors import _mp_context

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert _mp_context("sim.experiments.replication").get_start_method() == "forkserver"
        results = sim.run(scenario, seeds=2, executor=ProcessExecutor(2))
    finally:
        stop.set()
        thread.join()
    assert timeseries_bytes(results.timeseries) == \
        timeseries_bytes(sim.run(scenario, seeds=2).timeseries)
