"""`chipsim compare`: scenarios run on the same seeds, side by side, with paired differences."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.compare import compare, comparison_table, default_out, unique_labels
from sim.metrics import METRIC_NAMES
from sim.scenario import scenario_from_dict

REPO = Path(__file__).resolve().parents[1]

TINY = """\
name: {name}
title: {title}
period: {{start: 2024-06, end: 2025-03}}
seeds: 2
seed: {seed}
population: {{small_buyers: 20, smugglers: 20, cloud_providers: 4}}
initial_policy:
  - {{move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}}
events:
{events}
"""
BAN = ("  - {date: 2024-12, announced: 2024-10, move: us.licence_requirement, chips: [H20, MI308],"
       "\n     approval: 0.0, note: H20 ban}")


def tiny(folder: Path, name: str, events: str = "  []", seed: int = 7,
         title: str = "A tiny world") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(TINY.format(name=name, title=title, seed=seed, events=events).replace(
        "events:\n  []", "events: []"))
    return path


def chipsim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_a_scenario_compared_with_itself_differs_by_exactly_zero(tmp_path):
    path = tiny(tmp_path, "tiny-ban", BAN)
    result = compare([path, path], seeds=2, workers=1)
    assert result.labels == ["tiny-ban", "tiny-ban-2"]
    table = result.table().set_index("metric")
    diffs = table[[c for c in table.columns if "_minus_" in c]]
    assert diffs.shape == (len(METRIC_NAMES), 3)
    assert (diffs.to_numpy() == 0.0).all()
    # and the scenario's own columns are real numbers, not an empty table
    assert table.loc["diverted_units", "tiny-ban_p50"] > 0


def test_differences_are_paired_seed_by_seed():
    seeds = pd.Index([0, 1, 2, 3], name="seed")
    spread = np.array([10.0, 1000.0, 50.0, 400.0])  # large seed-to-seed spread...
    a = pd.DataFrame({"diverted_units": spread, "domestic_share": spread / 2000}, index=seeds)
    b = a + 5.0  # ...but B is always exactly 5 more
    b = b.drop(index=3)  # a seed missing from B is left out of the differences
    table = comparison_table({"a": a, "b": b}).set_index("metric")
    for q in ("p05", "p50", "p95"):
        assert table.loc["diverted_units", f"b_minus_a_{q}"] == pytest.approx(5.0)
    assert table.loc["diverted_units", "a_p50"] == pytest.approx(np.percentile(spread, 50))
    assert list(table.columns[:4]) == ["unit", "a_p50", "a_p05", "a_p95"]
    assert table.loc["diverted_units", "unit"] == "units"


def test_compare_writes_its_table_figures_and_manifest(tmp_path):
    tiny(tmp_path, "tiny-open")
    tiny(tmp_path, "tiny-ban", BAN, seed=99, title="A tiny H20 ban")
    done = chipsim("compare", "tiny-open.yaml", "tiny-ban.yaml", "--seeds", "2", "--workers", "1",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "root seed 7" in done.stderr  # the second file's own seed is replaced, and it says so
    out = tmp_path / "results" / "compare-tiny-open-vs-tiny-ban"
    table = pd.read_csv(out / "compare.csv")
    assert list(table.columns) == [
        "metric", "unit", "tiny-open_p50", "tiny-open_p05", "tiny-open_p95",
        "tiny-ban_p50", "tiny-ban_p05", "tiny-ban_p95",
        "tiny-ban_minus_tiny-open_p50", "tiny-ban_minus_tiny-open_p05",
        "tiny-ban_minus_tiny-open_p95",
    ]
    assert table["metric"].tolist() == list(METRIC_NAMES)
    legal = table.set_index("metric").loc["legal_export_units"]
    assert legal["tiny-ban_minus_tiny-open_p50"] != 0  # the ban changes legal exports
    per_seed = pd.read_csv(out / "per_seed.csv")
    assert sorted(per_seed["scenario"].unique()) == ["tiny-ban", "tiny-open"]
    assert len(per_seed) == 4
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["name"] for s in manifest["scenarios"]] == ["tiny-open", "tiny-ban"]
    assert all(len(s["scenario_hash"]) == 64 for s in manifest["scenarios"])
    assert manifest["seeds"]["count"] == 2 and manifest["seeds"]["root_seed"] == 7
    assert "mesa" in manifest["versions"]
    for name in ("diverted_volumes", "revenue_loss"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp left
    again = chipsim("compare", "tiny-open.yaml", "tiny-ban.yaml", "--seeds", "1", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr


def test_compare_refuses_scenarios_over_different_periods(tmp_path):
    tiny(tmp_path, "tiny-open")
    other = tiny(tmp_path, "tiny-long")
    other.write_text(other.read_text().replace("end: 2025-03", "end: 2025-06"))
    done = chipsim("compare", "tiny-open.yaml", "tiny-long.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "same period" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "results").exists()


def test_default_folder_names_are_bounded_and_distinct():
    assert default_out(["a", "b"]) == Path("results/compare-a-vs-b")
    many = [f"scenario-number-{i}" for i in range(12)]
    long = default_out(many)
    assert len(long.name) <= 80
    assert long != default_out([*many[:-1], "another"])


def test_repeated_names_get_distinct_labels():
    assert unique_labels(["a", "b", "a", "a-2", "a"]) == ["a", "b", "a-3", "a-2", "a-4"]


def test_compare_runs_scenarios_built_in_code():
    doc = {"name": "coded", "period": {"start": "2024-06", "end": "2024-09"}, "seeds": 1,
           "population": {"small_buyers": 10, "smugglers": 10, "cloud_providers": 2}}
    result = compare([scenario_from_dict(doc)], seeds=1)
    assert result.labels == ["coded"] and len(result.table()) == len(METRIC_NAMES)
