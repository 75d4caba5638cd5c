"""Large ensembles (issues 15 and 16): flat memory, Parquet, tidy summary numbers.

A results folder is written from the store a block of seeds at a time: the summary comes from the
streamed per-seed period totals and final values, never from the whole timeseries. The
timeseries can be Parquet (chosen by ``--format``, or by size), written so that two writes give
the same bytes and ``chipsim rerun`` reproduces them. ``summary.csv`` shows 6 significant digits.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import make

import sim
from sim.experiments import output, runner, tables
from sim.experiments.output import timeseries_bytes, write_summary
from sim.experiments.replication import ReplicationResult
from sim.experiments.store import DiskStore, MemoryStore
from sim.experiments.summary import per_seed, per_seed_streamed, summarise
from sim.experiments.tables import FrameTable, StoreTable, write_timeseries
from sim.model.metrics import METRIC_NAMES

EVENTS = ({"date": "2024-09", "move": "us.licence_requirement", "chips": ["H20", "MI308"],
           "approval": 0.0},)
DATES = ["2024-01", "2024-02", "2024-03"]

TINY = """\
name: tiny-large
period: {start: 2024-06, end: 2024-11}
seeds: 5
seed: 1234
population: {small_buyers: 20, smugglers: 20, cloud_providers: 4}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-09, move: us.licence_requirement, chips: [H20, MI308], approval: 0.0}
"""


@pytest.fixture(scope="module")
def results():
    scenario = make(events=EVENTS, period=("2024-06", "2024-12"), name="large", seed=77,
                    seeds=5)
    return sim.run(scenario)


class CountingStore(MemoryStore):
    """A memory store that remembers how many replications each read asked for."""

    def __init__(self, n: int) -> None:
        super().__init__()
        rng = np.random.default_rng(3)
        for index in range(n):
            self.save(ReplicationResult(index, rng.gamma(2.0, 1e3, (len(DATES),
                                                                    len(METRIC_NAMES)))))
        self.loads = 0

    def load(self, index: int) -> np.ndarray:
        self.loads += 1
        return super().load(index)


# --------------------------------------------------------------------------- flat memory


def test_the_summary_path_reads_the_store_a_block_at_a_time(monkeypatch):
    monkeypatch.setattr(tables, "BLOCK_SEEDS", 3)
    store = CountingStore(8)
    table = StoreTable(store, range(8), DATES)
    largest = 0
    blocks = []
    for block in table.blocks():
        largest = max(largest, block["seed"].nunique())
        blocks.append(block)
    assert largest == 3 and store.loads == 8  # never more than one block, each seed read once
    streamed = per_seed_streamed(iter(blocks))
    pd.testing.assert_frame_equal(streamed, per_seed(pd.concat(blocks)), check_exact=True)


def test_per_seed_streamed_is_per_seed_to_the_bit(results):
    table = FrameTable(results.timeseries.sample(frac=1.0, random_state=1))
    expected = per_seed(results.timeseries)
    for size in (1, 2, 1000):
        blocks = [table.frame.iloc[i * 7 * size:(i + 1) * 7 * size] for i in range(6)]
        pd.testing.assert_frame_equal(per_seed_streamed(b for b in blocks if len(b)), expected,
                                      check_exact=True)


def test_a_run_to_a_folder_never_loads_the_whole_timeseries(tmp_path, monkeypatch):
    """Blocks of 2 seeds, figures from the first 3 of 5: no read of more than 3 replications."""
    monkeypatch.setattr(tables, "BLOCK_SEEDS", 2)
    monkeypatch.setattr(output, "FIGURE_SEEDS", 3)
    monkeypatch.setattr(runner.Ensemble, "results", None)  # the in-memory path is not taken
    sizes: list[int] = []
    real = tables.frame_of

    def frame_of_spy(store, indices, dates):
        sizes.append(len(indices))
        return real(store, indices, dates)

    monkeypatch.setattr(tables, "frame_of", frame_of_spy)
    drawn: list[tuple[int, int]] = []
    real_draw = output.draw_figure

    def draw_spy(name, timeseries, events, **kw):
        drawn.append((timeseries["seed"].nunique(), kw["n_seeds"]))
        return real_draw(name, timeseries, events, **kw)

    monkeypatch.setattr(output, "draw_figure", draw_spy)
    (tmp_path / "tiny.yaml").write_text(TINY)
    out = tmp_path / "out"
    assert runner.run_command(str(tmp_path / "tiny.yaml"), out=str(out), workers=1) == 0
    assert max(sizes) == 3 and sizes.count(2) >= 3  # 3 blocks (timeseries) + 3 (summary)
    assert set(drawn) == {(3, 3)}  # the figures show the first 3 seeds and say "3 seeds"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["figures_drawn_from"] == "the first 3 successful replications"
    monkeypatch.undo()
    whole = sim.run(str(tmp_path / "tiny.yaml"))
    assert (out / "timeseries.csv").read_bytes() == timeseries_bytes(whole.timeseries)
    summary = pd.read_csv(out / "summary.csv")
    np.testing.assert_allclose(summary["mean"], whole.summary["mean"], rtol=5e-6)


def test_the_work_folder_store_streams_the_same_table_as_memory(tmp_path, results):
    with DiskStore(tmp_path / "w", {"scenario_hash": "x"}) as disk:
        for index in (4, 0, 2, 1, 3):
            disk.save(ReplicationResult(index, results.timeseries.loc[
                results.timeseries.seed == index, list(METRIC_NAMES)].to_numpy()))
        dates = sorted(results.timeseries.date.unique())
        table = StoreTable(disk, range(5), dates)
        assert timeseries_bytes(pd.concat(table.blocks())) == \
            timeseries_bytes(results.timeseries)


# --------------------------------------------------------------------------- Parquet


def test_parquet_is_the_same_bytes_every_time_and_the_exact_numbers(tmp_path, results,
                                                                    monkeypatch):
    monkeypatch.setattr(tables, "BLOCK_SEEDS", 2)  # three row groups
    table = FrameTable(results.timeseries)
    write_timeseries(table, tmp_path / "a.parquet", "parquet")
    write_timeseries(FrameTable(results.timeseries.iloc[::-1]), tmp_path / "b.parquet",
                     "parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    back = pd.read_parquet(tmp_path / "a.parquet")
    assert list(back.columns) == ["seed", "date", *METRIC_NAMES]
    assert back["seed"].dtype == np.int64 and list(back["date"][:2]) == ["2024-06", "2024-07"]
    np.testing.assert_array_equal(back[list(METRIC_NAMES)].to_numpy(),
                                  table.frame[list(METRIC_NAMES)].to_numpy())
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert meta.num_row_groups == 3 and meta.row_group(0).num_rows == 2 * 7
    assert b"pandas" not in (meta.metadata or {})


def test_chipsim_run_format_parquet_and_rerun_reproduce_it_byte_for_byte(tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY)
    first = tmp_path / "first"
    assert runner.run_command(str(tmp_path / "tiny.yaml"), out=str(first), workers=1,
                              format="parquet") == 0
    assert sorted(p.name for p in first.iterdir()) == ["figures", "manifest.json",
                                                       "summary.csv", "timeseries.parquet"]
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["timeseries_file"] == "timeseries.parquet"
    assert manifest["versions"]["pyarrow"] != "not installed"
    csv = sim.run(str(tmp_path / "tiny.yaml")).timeseries
    pd.testing.assert_frame_equal(pd.read_parquet(first / "timeseries.parquet"), csv,
                                  check_exact=True, check_dtype=False)
    capsys.readouterr()
    assert runner.rerun_command(str(first), out=str(tmp_path / "again"), workers=2) == 0
    assert "timeseries.parquet is byte-identical" in capsys.readouterr().out
    assert (tmp_path / "again" / "timeseries.parquet").read_bytes() == \
        (first / "timeseries.parquet").read_bytes()


def test_the_format_option_of_chipsim_run(tmp_path):
    from sim import cli

    (tmp_path / "tiny.yaml").write_text(TINY)
    assert cli.main(["run", str(tmp_path / "tiny.yaml"), "--seeds", "2", "--out",
                     str(tmp_path / "p"), "--workers", "1", "--format", "parquet"]) == 0
    assert sorted(p.name for p in (tmp_path / "p").glob("timeseries.*")) == \
        ["timeseries.parquet"]


def test_auto_writes_parquet_above_the_threshold_and_csv_below(tmp_path, monkeypatch):
    (tmp_path / "tiny.yaml").write_text(TINY)
    monkeypatch.setattr(tables, "PARQUET_ABOVE_ROWS", 5 * 6 - 1)  # 5 seeds x 6 months
    assert runner.run_command(str(tmp_path / "tiny.yaml"), out=str(tmp_path / "big"),
                              workers=1) == 0
    assert (tmp_path / "big" / "timeseries.parquet").is_file()
    assert runner.run_command(str(tmp_path / "tiny.yaml"), seeds=4, out=str(tmp_path / "small"),
                              workers=1) == 0
    assert (tmp_path / "small" / "timeseries.csv").is_file()
    assert tables.choose_format("csv", 10**9) == "csv"
    with pytest.raises(ValueError, match="format"):
        tables.choose_format("xlsx", 1)


# --------------------------------------------------------------------------- tidy numbers


def test_summary_csv_has_six_significant_digits_and_exact_zeros(tmp_path):
    frame = pd.DataFrame({"metric": ["a", "b", "c"], "unit": ["USD", "units", "ratio"],
                          "mean": [600603818864.2125, 8.940696716308593e-09, 0.0],
                          "p05": [-0.0, 1234567.0, np.nan], "p50": [0.1, 2.0, 1 / 3],
                          "p95": [123456.7, -5e-300, 1e300]})
    write_summary(frame, tmp_path / "summary.csv")
    assert (tmp_path / "summary.csv").read_text() == (
        "metric,unit,mean,p05,p50,p95\n"
        "a,USD,6.00604e+11,0,0.1,123457\n"
        "b,units,8.9407e-09,1.23457e+06,2,-5e-300\n"
        "c,ratio,0,,0.333333,1e+300\n")


def _significant_digits(cell: str) -> int:
    """Digits of the mantissa without leading or trailing zeros: ``6.00604e+11`` has 6."""
    return len(re.split("[eE]", cell.lstrip("-"))[0].replace(".", "").strip("0"))


def test_every_summary_value_of_a_run_has_at_most_seven_significant_digits(tmp_path, results):
    folder = results.write(tmp_path / "out")
    lines = (folder / "summary.csv").read_text().splitlines()[1:]
    cells = [cell for line in lines for cell in line.split(",")[2:] if cell]
    assert cells and max(_significant_digits(c) for c in cells) <= 7
    numbers = pd.read_csv(folder / "summary.csv").set_index("metric")
    exact = summarise(results.timeseries).set_index("metric")
    np.testing.assert_allclose(numbers["mean"], exact["mean"], rtol=5e-6)
    assert (numbers["mean"][exact["mean"] == 0] == 0).all()
