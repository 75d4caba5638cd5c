"""`chipsim run` end to end: every SPEC §4 output, and nothing written for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from sim.experiments.output import FIGURES
from sim.model.metrics import METRIC_NAMES

REPO = Path(__file__).resolve().parents[1]

SMALL = """\
name: tiny-run
title: A small H20 ban
period: {start: 2024-06, end: 2025-03}
seeds: 2
seed: 7
population: {small_buyers: 20, smugglers: 20, cloud_providers: 4}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-12, announced: 2024-10, move: us.licence_requirement, chips: [H20, MI308],
     approval: 0.0, note: H20 ban}
"""


def chipsim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_run_writes_every_output(tmp_path):
    (tmp_path / "tiny.yaml").write_text(SMALL)
    done = chipsim("run", "tiny.yaml", "--workers", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "results" / "tiny-run"
    table = pd.read_csv(out / "timeseries.csv")
    assert list(table.columns[:2]) == ["seed", "date"]
    assert set(METRIC_NAMES) <= set(table.columns)
    assert len(table) == 2 * 10  # seeds x months
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["metric", "unit", "mean", "p05", "p50", "p95"]
    assert "revenue_loss_usd" in set(summary.metric)
    assert (summary.p05 <= summary.p50).all() and (summary.p50 <= summary.p95).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"] == "tiny-run" and manifest["seeds"]["count"] == 2
    assert len(manifest["scenario_hash"]) == 64 and "mesa" in manifest["versions"]
    assert set(FIGURES) >= {"diverted_volumes", "revenue_loss"}
    for fig in FIGURES:
        assert (out / "figures" / f"{fig}.png").stat().st_size > 10_000, fig


def test_seeds_option_overrides_the_file(tmp_path):
    (tmp_path / "tiny.yaml").write_text(SMALL)
    done = chipsim("run", "tiny.yaml", "--seeds", "1", "--out", "o", "--workers", "1",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(tmp_path / "o" / "timeseries.csv")["seed"].nunique() == 1


def test_bad_scenario_exits_2_with_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "bad.yaml").write_text(SMALL.replace("approval: 0.0, note", "approval: 1.5, note"))
    done = chipsim("run", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("bad.yaml:11:") and "approval" in lines[0]
    assert not (tmp_path / "results").exists()


def test_existing_results_are_not_overwritten_without_force(tmp_path):
    (tmp_path / "tiny.yaml").write_text(SMALL)
    (tmp_path / "results" / "tiny-run").mkdir(parents=True)
    done = chipsim("run", "tiny.yaml", "--seeds", "1", cwd=tmp_path)
    assert done.returncode == 2 and "--force" in done.stderr
    assert not any((tmp_path / "results" / "tiny-run").iterdir())


def test_the_python_api_draws_each_figure_a_results_folder_holds(tmp_path):
    import pytest
    from matplotlib.text import Text

    import sim
    from sim.experiments.output import FIGURES

    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    results = sim.run(sim.load_scenario(path), seeds=2)
    for name in FIGURES:
        fig = getattr(results, f"plot_{name}")()
        words = " ".join(text.get_text() for text in fig.findobj(Text))
        assert "A small H20 ban" in words and "2 seeds" in words, name
    with pytest.raises(ValueError, match="unknown figure 'pie'"):
        results.plot("pie")
