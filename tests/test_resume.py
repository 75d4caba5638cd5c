"""Interrupted runs (SPEC §5, §7): nothing looks finished, and --resume finishes to the byte."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim import cli
from sim.experiments import runner
from sim.experiments.store import DiskStore, StoreError, work_folder
from sim.model.metrics import METRIC_NAMES

REPO = Path(__file__).resolve().parents[1]
SEEDS = 6

TINY = """\
name: tiny-resume
period: {start: 2024-06, end: 2024-12}
seeds: 6
seed: 31
population: {small_buyers: 20, smugglers: 20, cloud_providers: 4}
parameters:
  smuggling.markup: {uniform: [0.3, 0.8]}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-09, announced: 2024-08, move: us.licence_requirement, chips: [H20, MI308],
     approval: 0.0}
"""


class Interrupt:
    """An ``on_done`` callback that presses Ctrl-C once ``after`` replications are saved."""

    def __init__(self, after: int) -> None:
        self.after, self.seen = after, 0

    def __call__(self, result) -> None:  # noqa: ANN001
        self.seen += 1
        if self.seen == self.after:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run: its folder."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "tiny.yaml").write_text(TINY)
    assert runner.run_command(str(folder / "tiny.yaml"), out=str(folder / "out"), workers=1) == 0
    return folder / "out"


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def saved(target: Path) -> list[Path]:
    return sorted((work_folder(target) / "replications").glob("*.npy"))


def interrupt(scenario_file: Path, target: Path, after: int) -> None:
    with pytest.raises(KeyboardInterrupt):
        runner.run_command(str(scenario_file), out=str(target), workers=1,
                           on_done=Interrupt(after))


def test_resume_after_ctrl_c_gives_identical_bytes(scenario_file, reference, capsys):
    target = scenario_file.parent / "out"
    interrupt(scenario_file, target, after=3)
    assert "3 of 6 replications are saved" in capsys.readouterr().err
    assert not target.exists()
    kept = sorted(int(path.stem) for path in saved(target))
    assert len(kept) == 3
    rerun: list[int] = []
    assert runner.run_command(str(scenario_file), out=str(target), workers=2, resume=True,
                              on_done=lambda result: rerun.append(result.index)) == 0
    assert "3 reused" in capsys.readouterr().out
    # only the replications that were not saved ran again
    assert sorted(rerun + kept) == list(range(SEEDS)) and not set(rerun) & set(kept)
    for name in ("timeseries.csv", "summary.csv"):
        assert (target / name).read_bytes() == (reference / name).read_bytes(), name
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["replications"]["reused_from_interrupted_run"] == 3
    assert not work_folder(target).exists()


def test_a_stop_between_saving_and_counting_a_replication_reports_what_resume_reuses(
        scenario_file, monkeypatch, capsys):
    """A signal can land after a replication's file is written and before the store counts it
    (CI caught SIGTERM there once: '2 of 8 saved' with three files): the message must give the
    number a --resume reuses, which is what is on disk."""
    from sim.experiments.interrupts import Stopped

    class StopOnThirdCount(set):
        def add(self, index: int) -> None:
            if len(self) == 2:
                raise Stopped(signal.SIGTERM)
            super().add(index)

    opened = DiskStore.__init__

    def open_store(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        opened(self, *args, **kwargs)
        self._done = StopOnThirdCount(self._done)

    monkeypatch.setattr(DiskStore, "__init__", open_store)
    target = scenario_file.parent / "out"
    assert runner.run_command(str(scenario_file), out=str(target), workers=1) == 143
    assert len(saved(target)) == 3
    assert "stopped by SIGTERM; 3 of 6 replications are saved" in capsys.readouterr().err  # was 2
    monkeypatch.undo()
    assert runner.run_command(str(scenario_file), out=str(target), workers=1, resume=True) == 0
    assert "(3 reused from an interrupted run)" in capsys.readouterr().out


def test_an_unfinished_run_is_not_silently_restarted(scenario_file, capsys):
    target = scenario_file.parent / "out"
    interrupt(scenario_file, target, after=2)
    capsys.readouterr()
    code = cli.main(["run", str(scenario_file), "--out", str(target), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "--resume" in err and "--force" in err
    assert len(saved(target)) == 2


def test_force_discards_the_unfinished_run(scenario_file, reference):
    target = scenario_file.parent / "out"
    interrupt(scenario_file, target, after=2)
    assert runner.run_command(str(scenario_file), out=str(target), workers=1, force=True) == 0
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["replications"]["reused_from_interrupted_run"] == 0
    assert (target / "timeseries.csv").read_bytes() == \
        (reference / "timeseries.csv").read_bytes()


def test_resume_refuses_a_changed_scenario(scenario_file, capsys):
    target = scenario_file.parent / "out"
    interrupt(scenario_file, target, after=2)
    scenario_file.write_text(TINY.replace("uniform: [0.3, 0.8]", "uniform: [0.3, 0.9]"))
    capsys.readouterr()
    code = cli.main(["run", str(scenario_file), "--out", str(target), "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot resume" in err and "another scenario" in err
    assert len(saved(target)) == 2 and not target.exists()


def test_resume_with_nothing_to_resume_runs_from_scratch(scenario_file, reference):
    target = scenario_file.parent / "out"
    assert runner.run_command(str(scenario_file), out=str(target), workers=1, resume=True) == 0
    assert (target / "timeseries.csv").read_bytes() == \
        (reference / "timeseries.csv").read_bytes()


def test_resume_of_a_finished_run_says_so(scenario_file, reference, capsys):
    code = cli.main(["run", str(scenario_file), "--out", str(reference), "--resume"])
    assert code == 2 and "finished" in capsys.readouterr().err


def test_resume_defaults_to_the_interrupted_runs_seed_count(scenario_file, capsys):
    target = scenario_file.parent / "out"
    with pytest.raises(KeyboardInterrupt):
        runner.run_command(str(scenario_file), seeds=3, out=str(target), workers=1,
                           on_done=Interrupt(1))
    assert runner.run_command(str(scenario_file), out=str(target), workers=1, resume=True) == 0
    assert json.loads((target / "manifest.json").read_text())["seeds"]["count"] == 3


def test_two_runs_cannot_share_a_work_folder(tmp_path):
    record = {"scenario_hash": "x"}
    with DiskStore(tmp_path / "w", record), pytest.raises(StoreError, match="another"):
        DiskStore(tmp_path / "w", record)


def test_python_api_resumes_from_a_work_folder(scenario_file, reference):
    import sim

    work = scenario_file.parent / "work"
    with pytest.raises(KeyboardInterrupt):
        sim.run(str(scenario_file), work_dir=work, on_done=Interrupt(4))
    results = sim.run(str(scenario_file), work_dir=work, resume=True)
    assert results.manifest["replications"]["reused_from_interrupted_run"] == 4
    from sim.experiments.output import timeseries_bytes

    assert timeseries_bytes(results.timeseries) == (reference / "timeseries.csv").read_bytes()
    assert not work.exists()


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped has exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def all_exit(pids: list[int], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(running(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigkill_leaves_nothing_that_looks_finished_and_resume_completes(scenario_file,
                                                                       reference):
    """Kill -9 a real ``chipsim run`` while replications stream in, and again while the results
    folder is being written; each time no results folder appears, its worker processes exit
    (an orphan would hold the folder's lock), and --resume finishes."""
    folder = scenario_file.parent
    target = folder / "results" / "tiny-resume"
    # two workers: the seeds stream in as several batches (one worker steps them as one)
    args = [sys.executable, "-m", "sim", "run", "tiny.yaml", "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def kill_when(ready, *extra: str) -> None:
        process = subprocess.Popen([*args, *extra], cwd=folder, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while not ready() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        workers = children(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.returncode != -signal.SIGKILL:
            pytest.fail(f"the run ended before it could be killed: {process.stderr.read()}")
        assert all_exit(workers), "worker processes outlived the killed run"
        assert not target.exists()  # no results folder that looks complete but is not
        for path in saved(target):  # every streamed replication is whole
            assert np.load(path).shape == (7, len(METRIC_NAMES))

    kill_when(lambda: len(saved(target)) >= 2)
    assert 2 <= len(saved(target)) < SEEDS
    kill_when(lambda: any(target.parent.glob(".tiny-resume.tmp-*")), "--resume")
    assert len(saved(target)) == SEEDS
    done = subprocess.run([*args, "--resume"], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{SEEDS} reused" in done.stdout
    assert (target / "timeseries.csv").read_bytes() == \
        (reference / "timeseries.csv").read_bytes()
    assert not work_folder(target).exists()
    assert not list(target.parent.glob(".tiny-resume.tmp-*"))  # the killed writer's leftovers


def test_the_code_fingerprint_covers_the_model_and_its_data(monkeypatch):
    """A resumed run refuses other code: the fingerprint must see every layer, not one."""
    from sim.experiments import store

    store.code_fingerprint.cache_clear()
    before = store.code_fingerprint()
    real = Path.read_bytes
    changed = {"model/market/choice.py", "world/data/parameters.yaml"}

    def edited(path: Path) -> bytes:
        text = real(path)
        return text + b"# edited" if path.as_posix().endswith(tuple(changed)) else text

    monkeypatch.setattr(Path, "read_bytes", edited)
    store.code_fingerprint.cache_clear()
    try:
        assert store.code_fingerprint() != before
    finally:
        monkeypatch.undo()
        store.code_fingerprint.cache_clear()
