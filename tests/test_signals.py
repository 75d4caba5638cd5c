"""SIGTERM and SIGHUP stop ``chipsim run`` like Ctrl-C (issue 16).

What SLURM, Kubernetes and systemd send before they kill a job: the work is saved, one line names
the exact ``--resume`` command, the exit code is 128 + the signal's number, and the command from
that line finishes the run with the bytes of an uninterrupted one.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.experiments.store import work_folder

REPO = Path(__file__).resolve().parents[1]
SEEDS = 8

TINY = """\
name: tiny-signals
period: {start: 2024-06, end: 2024-12}
seeds: 8
seed: 4711
population: {small_buyers: 20, smugglers: 20, cloud_providers: 4}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-09, move: us.licence_requirement, chips: [H20, MI308], approval: 0.0}
"""

#: ``chipsim ARGS...`` in which replication 5 never finishes (so the run is surely under way
#: when the signal comes): the stand-in for a long cluster job.
STUCK_FIFTH = """\
import sys, time
from sim.experiments import replication
real = replication.simulate
def simulate(scenario, seeds, check=False, parameter_sets=None):
    if any(s.spawn_key == (5,) for s in seeds):
        time.sleep(600)
    return real(scenario, seeds, check, parameter_sets)
replication.simulate = simulate
from sim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reference")
    (folder / "tiny.yaml").write_text(TINY)
    done = subprocess.run([sys.executable, "-m", "sim", "run", "tiny.yaml", "--out", "ref",
                           "--workers", "1"], cwd=folder, env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return folder / "ref"


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_saves_the_work_names_the_resume_command_and_resume_finishes(
        tmp_path, reference, signum, code):
    (tmp_path / "tiny.yaml").write_text(TINY)
    target = tmp_path / "out"
    saved = work_folder(target) / "replications"
    run = subprocess.Popen([sys.executable, "-c", STUCK_FIFTH, "run", "tiny.yaml", "--out",
                            "out", "--workers", "2"], cwd=tmp_path, env=_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list(saved.glob("*.npy"))) < 2 and time.monotonic() < deadline:
        assert run.poll() is None, run.communicate()
        time.sleep(0.01)
    run.send_signal(signum)
    out, err = run.communicate(timeout=60)
    assert run.returncode == code, err
    (line,) = err.strip().splitlines()  # one line, no traceback
    name = signal.Signals(signum).name
    assert line.startswith(f"chipsim: stopped by {name}; ")
    kept = len(list(saved.glob("*.npy")))
    assert 2 <= kept < SEEDS and f"{kept} of {SEEDS} replications are saved in " in line
    command = line.split("to finish, run: ", 1)[1]
    assert command == "chipsim run tiny.yaml --out out --workers 2 --resume"
    assert not target.exists()
    words = shlex.split(command)
    done = subprocess.run([sys.executable, "-m", "sim", *words[1:]], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"({kept} reused from an interrupted run)" in done.stdout
    for table in ("timeseries.csv", "summary.csv"):
        assert (target / table).read_bytes() == (reference / table).read_bytes()
    assert not work_folder(target).exists()


def test_stopped_is_a_keyboard_interrupt_with_the_shell_exit_code():
    from sim.experiments.interrupts import Stopped, stop_on_signals

    assert issubclass(Stopped, KeyboardInterrupt)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Stopped) as caught, stop_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert caught.value.exit_code == 143 and caught.value.name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == before  # restored on leaving
