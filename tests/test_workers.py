"""Worker death (issue 16): a run survives a dead worker with the numbers of an undisturbed run.

A worker killed under a replication (as the out-of-memory killer does) breaks the process pool;
the pool is rebuilt, the lost replications run again one at a time, and the results are the
same to the byte. A replication that kills its worker twice is recorded as failed, with its seed.
The same holds for a Dask worker lost mid-run (a LocalCluster on 127.0.0.1).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import CancelledError
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import make

import sim
from sim.experiments import replication
from sim.experiments.executors import ProcessExecutor, SerialExecutor, WorkerLost
from sim.experiments.output import timeseries_bytes

REPO = Path(__file__).resolve().parents[1]

# The tests that kill workers force the fork start method, so that the monkeypatched simulate
# reaches the workers. Their workers are forked while a process pool's manager thread runs (the
# pool started after a worker died, beside the broken one's), which Python 3.12 warns about for
# any fork in a threaded process (CPython gh-100228). Without a forced method chipsim picks
# fork only in a single-threaded process and forkserver otherwise (executors._mp_context, per
# pool), so this is the tests' choice, not the tool's behaviour.
pytestmark = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
EVENTS = ({"date": "2024-08", "move": "us.licence_requirement", "chips": ["H20", "MI308"],
           "approval": 0.0},)
SEEDS = 6

TINY = """\
name: tiny-workers
period: {start: 2024-06, end: 2024-12}
seeds: 8
seed: 808
population: {small_buyers: 20, smugglers: 20, cloud_providers: 4}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-09, move: us.licence_requirement, chips: [H20, MI308], approval: 0.0}
"""

#: Runs ``chipsim ARGS...`` with replication 3 stuck in its worker the first time, after writing
#: the worker's pid to FLAG (so that the test can kill that very worker mid-replication).
STUCK_THIRD = """\
import os, sys, time
from pathlib import Path
from sim.experiments import replication
real, flag = replication.simulate, Path(sys.argv[1])
def simulate(scenario, seeds, check=False, parameter_sets=None):
    if any(s.spawn_key == (3,) for s in seeds) and not flag.exists():
        Path(str(flag) + ".tmp").write_text(str(os.getpid()))
        os.replace(str(flag) + ".tmp", flag)
        time.sleep(600)
    return real(scenario, seeds, check, parameter_sets)
replication.simulate = simulate
from sim.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def scenario():
    return make(events=EVENTS, period=("2024-06", "2024-12"), name="workers", seed=9090,
                seeds=SEEDS)


@pytest.fixture(scope="module")
def undisturbed(scenario):
    results = sim.run(scenario, executor=SerialExecutor())
    assert results.failures == {}
    return results


def _kill_worker_on(monkeypatch, index: int, times: str, marker: Path) -> None:
    """Replication ``index`` SIGKILLs the worker process running it: ``once`` or ``always``."""
    real, parent = replication.simulate, os.getpid()

    def simulate(scenario, seeds, check=False, parameter_sets=None):
        if any(s.spawn_key == (index,) for s in seeds) and os.getpid() != parent:
            if times == "always" or not marker.exists():
                marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)
        return real(scenario, seeds, check, parameter_sets)

    monkeypatch.setattr(replication, "simulate", simulate)


def test_a_killed_worker_is_replaced_and_the_numbers_are_unchanged(scenario, undisturbed,
                                                                   monkeypatch, tmp_path,
                                                                   capsys):
    _kill_worker_on(monkeypatch, 2, "once", tmp_path / "killed")
    executor = ProcessExecutor(2, start_method="fork")
    results = sim.run(scenario, executor=executor)
    assert (tmp_path / "killed").exists()  # the worker did die
    assert results.failures == {}
    assert timeseries_bytes(results.timeseries) == timeseries_bytes(undisturbed.timeseries)
    assert results.manifest["executor"]["worker_deaths"] == 1
    assert "a worker process died (killed by SIGKILL" in capsys.readouterr().err


def test_a_replication_that_kills_its_worker_twice_is_recorded_with_its_seed(
        scenario, undisturbed, monkeypatch, tmp_path):
    _kill_worker_on(monkeypatch, 2, "always", tmp_path / "killed")
    results = sim.run(scenario, executor=ProcessExecutor(2, start_method="fork"))
    assert list(results.failures) == [2]
    assert results.failures[2].startswith("WorkerLost: its worker process died twice")
    assert "SIGKILL" in results.failures[2]
    entry = results.manifest["failed_replications"]["2"]
    assert entry["seed"] == {"root_seed": 9090, "spawn_key": [2]}
    assert results.manifest["executor"]["worker_deaths"] == 2
    others = undisturbed.timeseries[undisturbed.timeseries.seed != 2]
    assert timeseries_bytes(results.timeseries) == timeseries_bytes(others)


def test_without_on_lost_a_twice_lost_batch_raises(scenario, monkeypatch, tmp_path):
    _kill_worker_on(monkeypatch, 0, "always", tmp_path / "killed")
    executor = ProcessExecutor(1, start_method="fork")
    shared = (scenario, scenario.without_events(), False)
    with executor, pytest.raises(WorkerLost, match="died twice"):
        list(executor.map(replication.run_batch, shared, [[0]]))


def test_killing_a_worker_of_chipsim_run_still_exits_0_with_identical_results(tmp_path):
    """The CLI end to end: SIGKILL the worker that is running replication 3 of a 2-worker run."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    reference = subprocess.run([sys.executable, "-m", "sim", "run", "tiny.yaml", "--out", "ref",
                                "--workers", "1"], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr
    flag = tmp_path / "worker.pid"
    run = subprocess.Popen([sys.executable, "-c", STUCK_THIRD, str(flag), "run", "tiny.yaml",
                            "--out", "out", "--workers", "2"], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not flag.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert flag.exists(), "replication 3 never started"
    os.kill(int(flag.read_text()), signal.SIGKILL)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert "8 of 8 replications" in out and "a worker process died (killed by SIGKILL" in err
    for name in ("timeseries.csv", "summary.csv"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()



@contextlib.contextmanager
def two_dask_workers():
    """A local Dask cluster of two worker processes, and a client to it (to kill them)."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield cluster, client


def test_a_dask_worker_lost_mid_run_changes_nothing(scenario, undisturbed):
    with two_dask_workers() as (cluster, client):
        killed: list[int] = []

        def kill_a_busy_worker(_result) -> None:
            if killed:
                return
            pids = client.run(os.getpid)
            busy = [w for w, tasks in client.processing().items() if tasks] or list(pids)
            killed.append(pids[busy[0]])
            os.kill(killed[0], signal.SIGKILL)

        results = sim.run(scenario, scheduler=cluster.scheduler_address,
                          on_done=kill_a_busy_worker)
    assert killed and results.failures == {}
    assert timeseries_bytes(results.timeseries) == timeseries_bytes(undisturbed.timeseries)


def test_a_dask_run_survives_losing_every_worker_at_once(scenario, undisturbed):
    """The scenarios every task needs must outlive the workers that hold them.

    Data sent with ``Client.scatter`` lives only on workers: when they all die the scheduler
    cannot rebuild it and cancels the run's tasks ("already forgotten"), which once failed CI.
    """
    with two_dask_workers() as (cluster, client):
        killed: list[int] = []

        def kill_every_worker(_result) -> None:
            if not killed:
                killed.extend(client.run(os.getpid).values())
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)

        results = sim.run(scenario, scheduler=cluster.scheduler_address,
                          on_done=kill_every_worker)
    assert len(killed) == 2 and results.failures == {}
    assert timeseries_bytes(results.timeseries) == timeseries_bytes(undisturbed.timeseries)


@pytest.mark.parametrize(("lost", "why"), [
    ("KilledWorker", "its Dask worker died repeatedly"),
    ("CancelledError", "the Dask scheduler cancelled it again"),
])
def test_a_batch_the_dask_scheduler_gives_up_on_runs_again_one_by_one(scenario, undisturbed,
                                                                      monkeypatch, capsys,
                                                                      lost, why):
    """``KilledWorker`` is how the scheduler reports a task whose workers kept dying, a
    cancellation how it reports one whose inputs were lost: here replication 4 always gets it,
    so it is recorded as failed and the others are unchanged."""
    distributed = pytest.importorskip("dask.distributed")
    from distributed.scheduler import KilledWorker

    real = replication.run_batch

    def run_batch(scenario, counterfactual, check, indices):
        if 4 in indices:
            if lost == "KilledWorker":
                raise KilledWorker(f"run_batch-{indices}", SimpleNamespace(address="tcp://x:1"), 3)
            raise CancelledError(f"run_batch-{indices}")
        return real(scenario, counterfactual, check, indices)

    monkeypatch.setattr(replication, "run_batch", run_batch)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        results = sim.run(scenario, scheduler=cluster.scheduler_address)
    assert list(results.failures) == [4]
    assert results.failures[4].startswith(f"WorkerLost: {why} ({lost}")
    others = undisturbed.timeseries[undisturbed.timeseries.seed != 4]
    assert timeseries_bytes(results.timeseries) == timeseries_bytes(others)
    assert "run again, one per task" in capsys.readouterr().err
