"""Memory of large ensembles (issue 16): peak RSS of ``chipsim run`` as the seed count grows.

Called by ``benchmarks/run.py``; each measurement runs in a fresh subprocess (this file, in child
mode), so that its peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``) is that run's alone:

* ``run N OUT``: ``chipsim run`` of the timeline with N seeds on 2 workers, simulation included.
  The main process is reported (the largest worker apart, ``RUSAGE_CHILDREN``); the target is
  a peak that grows at most x1.3 from 60 to 600 seeds.
* ``finish N OUT``: the end of an N-seed run, i.e. ``chipsim run ... --seeds N --resume`` on a work
  folder that already holds all N replications: what grows with the seed count (reading the
  replications back, the timeseries file, the summary, the figures). Simulating 100,000 timeline
  replications would take hours, so the parent fills the work folder with copies of 20 real
  replications (replication i holds the numbers of replication i mod 20): the sizes and the
  memory are those of real numbers, but the Parquet file compresses the repeats, so its size here
  says nothing (see the 600-seed row for bytes per seed). Target: at most 500 MB at 100,000.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TIMELINE = ROOT / "scenarios" / "timeline-2024-2026.yaml"
TARGET_GROWTH = 1.3  # peak RSS at 600 seeds / at 60 seeds
TARGET_PEAK_MB = 500.0  # peak RSS of a 100,000-seed run
COPIED = 20  # real replications copied into the large work folder

sys.path.insert(0, str(ROOT))  # run from a checkout without installing

Row = tuple[str, str, str, str, str, str]  # measure, value, x yardstick, target, met, off


def _peaks() -> dict[str, float]:
    return {"self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}


def _child(mode: str, seeds: int, out: str) -> None:
    from sim.experiments.runner import run_command

    start = time.perf_counter()
    code = run_command(str(TIMELINE), seeds=seeds, out=out, workers=2 if mode == "run" else 1,
                       resume=mode == "finish", progress=False)
    wall = time.perf_counter() - start
    files = {p.name: p.stat().st_size for p in Path(out).glob("timeseries.*")}
    print(json.dumps({"code": code, "wall": wall, "files": files, **_peaks()}))


def _in_child(mode: str, seeds: int, out: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), mode, str(seeds),
                           str(out)], capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} {seeds} failed:\n{proc.stderr[-2000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    if data["code"] != 0:
        raise RuntimeError(f"{mode} {seeds}: chipsim run exited {data['code']}")
    return data


def _fill_work_folder(out: Path, seeds: int) -> None:
    """A work folder beside ``out`` holding ``seeds`` replications, copies of 20 real ones."""
    from sim.experiments.executors import run_replications
    from sim.experiments.replication import ReplicationResult
    from sim.experiments.runner import _identity
    from sim.experiments.store import DiskStore, work_folder
    from sim.scenario.scenario import load_counterfactual, load_scenario

    scenario = load_scenario(TIMELINE)
    counterfactual = load_counterfactual(scenario)
    real = [r.values for r in run_replications(scenario, counterfactual, range(COPIED))]
    with DiskStore(work_folder(out), _identity(scenario, counterfactual)) as store:
        store.set_count(seeds)
        for index in range(seeds):
            store.save(ReplicationResult(index, real[index % COPIED]))


def _mib(kib: float) -> str:
    return f"{kib / 1024:,.0f} MiB ({kib * 1024 / 1e6:,.0f} MB)"


def measure(small: int = 60, large: int = 600, huge: int = 100_000,
            log: Any = print) -> list[Row]:
    """Rows of the benchmark table: real runs of ``small`` and ``large`` seeds, the end of a
    ``huge``-seed run."""
    rows: list[Row] = []
    folder = Path(tempfile.mkdtemp(prefix="chipsim-bench-memory-"))
    try:
        runs = {}
        for seeds in (small, large):
            log(f"chipsim run timeline --seeds {seeds} --workers 2 (subprocess) ...")
            runs[seeds] = data = _in_child("run", seeds, folder / f"run{seeds}")
            log(f"  peak RSS {data['self_kib'] / 1024:.0f} MiB, {data['wall']:.1f} s")
            per_seed = ", ".join(f"{name} {size / seeds / 1024:.1f} KB/seed"
                                 for name, size in data["files"].items())
            rows.append((f"Peak memory of `chipsim run` on the timeline, {seeds} seeds, "
                         "2 workers, main process (subprocess)",
                         f"{_mib(data['self_kib'])}; largest worker "
                         f"{data['children_kib'] / 1024:,.0f} MiB; {data['wall']:.1f} s; "
                         f"{per_seed}", "-", "-", "-", "-"))
        growth = runs[large]["self_kib"] / runs[small]["self_kib"]
        rows.append((f"Peak memory growth {small} -> {large} seeds (main process)",
                     f"x{growth:.2f}", "-", f"<= x{TARGET_GROWTH}",
                     "yes" if growth <= TARGET_GROWTH else "NO",
                     "flat" if growth <= TARGET_GROWTH else f"x{growth:.2f}"))
        out = folder / f"finish{huge}"
        log(f"filling a work folder with {huge:,} replications (copies of {COPIED} real ones)")
        start = time.perf_counter()
        _fill_work_folder(out, huge)
        log(f"  {time.perf_counter() - start:.0f} s; chipsim run --seeds {huge} --resume "
            "(subprocess) ...")
        data = _in_child("finish", huge, out)
        peak_mb = data["self_kib"] * 1024 / 1e6
        log(f"  peak RSS {data['self_kib'] / 1024:.0f} MiB, {data['wall']:.1f} s")
        files = ", ".join(data["files"])
        met = peak_mb <= TARGET_PEAK_MB
        target, verdict, off = "-", "-", "-"
        if huge >= 100_000:  # the target is set for 100,000 seeds
            target, verdict = f"<= {TARGET_PEAK_MB:.0f} MB", "yes" if met else "NO"
            off = (f"{TARGET_PEAK_MB - peak_mb:.0f} MB headroom" if met
                   else f"{peak_mb - TARGET_PEAK_MB:.0f} MB over")
        rows.append((f"Peak memory at the end of a {huge:,}-seed timeline run: --resume with "
                     f"all {huge:,} replications saved ({files}, summary.csv, figures), main "
                     "process (subprocess)", f"{_mib(data['self_kib'])}; {data['wall']:.1f} s",
                     "-", target, verdict, off))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3])
