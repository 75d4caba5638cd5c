"""Outputs that cannot be written (issue 16): one clear line, exit 1, nothing that looks complete.

Tests may run as root, for whom ``chmod`` does not stop writes, so a parent folder that cannot
hold the output is a path under a regular file, and a full disk is a file-size limit
(``RLIMIT_FSIZE``: writes past it fail with EFBIG, as they fail with ENOSPC on a full disk) or a
save that raises ENOSPC. In every case the replications already saved stay resumable.
"""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from sim import cli
from sim.experiments import runner, store
from sim.experiments.store import work_folder

REPO = Path(__file__).resolve().parents[1]

TINY = """\
name: tiny-disk
period: {start: 2024-06, end: 2024-12}
seeds: 6
seed: 66
population: {small_buyers: 20, smugglers: 20, cloud_providers: 4}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-09, move: us.licence_requirement, chips: [H20, MI308], approval: 0.0}
"""


@pytest.fixture
def scenario_file(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_an_output_folder_under_a_regular_file_is_one_line_and_exit_1(scenario_file, capsys):
    blocker = scenario_file.parent / "blocker"
    blocker.write_text("a file, not a folder")
    code = cli.main(["run", str(scenario_file), "--out", str(blocker / "out"), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith(f"chipsim: cannot write the work folder {blocker}/.out.partial: ")
    assert "Not a directory" in line and "nothing was run" in line
    assert blocker.read_text() == "a file, not a folder"


def test_a_full_disk_while_writing_the_results_leaves_them_resumable(scenario_file):
    """A file-size limit below the timeseries' size: the replications are saved (each file is
    small), then writing timeseries.csv fails as on a full disk."""
    folder = scenario_file.parent
    target = folder / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "sim", "run", "tiny.yaml", "--out", "out", "--workers", "1"]

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    full = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300, preexec_fn=small_files)
    assert full.returncode == 1, full.stderr
    (line,) = full.stderr.strip().splitlines()
    assert line.startswith("chipsim: cannot write the results folder out: File too large; ")
    assert "6 of 6 replications are saved in .out.partial; to finish, run: chipsim run " \
        "tiny.yaml --out out --workers 1 --resume" in line
    assert not target.exists() and not list(folder.glob(".out.tmp-*"))
    assert len(list((work_folder(target) / "replications").glob("*.npy"))) == 6
    again = subprocess.run([*args, "--resume"], cwd=folder, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "(6 reused from an interrupted run)" in again.stdout
    reference = folder / "reference"
    assert runner.run_command(str(scenario_file), out=str(reference), workers=1) == 0
    for name in ("timeseries.csv", "summary.csv"):
        assert (target / name).read_bytes() == (reference / name).read_bytes()


def test_a_full_disk_while_saving_replications_stops_with_what_is_saved(scenario_file,
                                                                        monkeypatch, capsys):
    real = store.DiskStore._save

    def save(self, result):
        if result.index == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, result)

    monkeypatch.setattr(store.DiskStore, "_save", save)
    target = scenario_file.parent / "out"
    assert runner.run_command(str(scenario_file), out=str(target), workers=1) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "cannot write replication 3 to " in line and "No space left on device" in line
    assert "3 of 6 replications are saved" in line and line.endswith("--resume")
    assert not target.exists()
    monkeypatch.undo()
    assert runner.run_command(str(scenario_file), out=str(target), workers=1, resume=True) == 0
    assert "(3 reused from an interrupted run)" in capsys.readouterr().out
