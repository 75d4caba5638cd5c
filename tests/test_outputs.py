"""Tests of sim.experiments.summary, sim.viz.run_figures and sim.experiments.output on synthetic
ensembles."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments import folders
from sim.experiments.output import write_results
from sim.experiments.summary import per_seed, summarise
from sim.model.metrics import BY_NAME, METRIC_NAMES
from sim.viz import events as event_strip
from sim.viz import run_figures, style
from sim.viz.bands import band

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]
EVENTS = [("2024-02", "Licence requirement on H20"), ("2024-02", "Malaysia permits"),
          ("2024-03", "Tariff 145 %"), ("2024-04", "Location verification of exported chips")]


def synthetic(n_seeds: int = 5, months: list[str] = MONTHS, rng_seed: int = 1) -> pd.DataFrame:
    """Random but reproducible ensemble with the production column layout."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for seed in range(n_seeds):
        values = rng.gamma(2.0, 1000.0, size=(len(months), len(METRIC_NAMES)))
        for i, date in enumerate(months):
            rows.append({"seed": seed, "date": date,
                         **dict(zip(METRIC_NAMES, values[i].tolist(), strict=True))})
    return pd.DataFrame(rows, columns=["seed", "date", *METRIC_NAMES])


def write(out: Path, ts: pd.DataFrame | None = None, **kwargs) -> Path:
    return write_results(out, timeseries=synthetic() if ts is None else ts,
                         manifest={"scenario": "test", "seeds": 5, "b": [1, 2], "a": None},
                         events=EVENTS, scenario="test", title="Test scenario", n_seeds=5,
                         **kwargs)


# --------------------------------------------------------------------------- summary


def test_summary_flows_summed_stocks_final_with_percentiles():
    ts = synthetic(n_seeds=7)
    summary = summarise(ts).set_index("metric")
    assert list(summary.index) == list(METRIC_NAMES)
    assert list(summarise(ts).columns) == ["metric", "unit", "mean", "p05", "p50", "p95"]
    for name in ("smuggled_units", "cloud_capacity_units", "grey_premium", "china_compute_h100e"):
        by_seed = ts.groupby("seed")[name]
        expected = (by_seed.sum() if BY_NAME[name].kind == "flow" else by_seed.last()).to_numpy()
        row = summary.loc[name]
        assert row["unit"] == BY_NAME[name].unit
        assert row["mean"] == pytest.approx(expected.mean(), rel=1e-12)
        for col, q in (("p05", 5), ("p50", 50), ("p95", 95)):
            assert row[col] == pytest.approx(np.percentile(expected, q), rel=1e-12)


def test_summary_hand_computed():
    ts = synthetic(n_seeds=3, months=["2024-01", "2024-02"])
    ts["smuggled_units"] = [1.0, 2.0, 10.0, 20.0, 100.0, 200.0]  # flow: totals 3, 30, 300
    ts["cloud_capacity_units"] = [5.0, 6.0, 7.0, 8.0, 9.0, 11.0]  # stock: finals 6, 8, 11
    summary = summarise(ts).set_index("metric")
    assert summary.loc["smuggled_units", "mean"] == pytest.approx(111.0)
    assert summary.loc["smuggled_units", "p50"] == pytest.approx(30.0)
    assert summary.loc["smuggled_units", "p05"] == pytest.approx(3.0 + 0.1 * 27.0)
    assert summary.loc["smuggled_units", "p95"] == pytest.approx(30.0 + 0.9 * 270.0)
    assert summary.loc["cloud_capacity_units", "mean"] == pytest.approx(25.0 / 3)
    assert summary.loc["cloud_capacity_units", "p50"] == pytest.approx(8.0)


def test_summary_ignores_row_order_and_failed_seeds():
    ts = synthetic(n_seeds=4)
    shuffled = ts.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(summarise(ts), summarise(shuffled))
    ts.loc[(ts.seed == 2) & (ts.date == "2024-02"), "smuggled_units"] = np.nan
    values = per_seed(ts)["smuggled_units"]
    assert np.isnan(values.loc[2]) and values.drop(2).notna().all()
    mean = summarise(ts).set_index("metric").loc["smuggled_units", "mean"]
    assert mean == pytest.approx(values.drop(2).mean())


def test_band_monthly_and_cumulative():
    ts = synthetic(n_seeds=6)
    b = band(ts, "seized_units")
    assert list(b.index) == MONTHS and list(b.columns) == ["p05", "p50", "p95"]
    march = ts.loc[ts.date == "2024-03", "seized_units"].to_numpy()
    assert b.loc["2024-03", "p50"] == pytest.approx(np.median(march))
    assert (b["p05"] <= b["p50"]).all() and (b["p50"] <= b["p95"]).all()
    cum = band(ts, "seized_units", cumulative=True)
    totals = ts.groupby("seed")["seized_units"].sum().to_numpy()
    assert cum.loc["2024-04", "p95"] == pytest.approx(np.percentile(totals, 95))


def test_missing_column_is_a_clear_error():
    with pytest.raises(ValueError, match="smuggled_units"):
        summarise(synthetic().drop(columns="smuggled_units"))


# --------------------------------------------------------------------------- output files


def test_write_results_layout_and_figures(tmp_path):
    out = write(tmp_path / "results" / "test")
    assert out == tmp_path / "results" / "test"
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == ["figures/diverted_volumes.png", "figures/diverted_volumes.svg",
                     "figures/market_response.png", "figures/market_response.svg",
                     "figures/revenue_loss.png", "figures/revenue_loss.svg",
                     "manifest.json", "summary.csv", "timeseries.csv"]
    for name in ("diverted_volumes", "market_response", "revenue_loss"):
        png = (out / "figures" / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 20_000
        svg = (out / "figures" / f"{name}.svg").read_text(encoding="utf-8")
        assert "<svg" in svg and len(svg) > 20_000
    manifest = (out / "manifest.json").read_text(encoding="utf-8")
    assert json.loads(manifest) == {"scenario": "test", "seeds": 5, "b": [1, 2], "a": None}
    assert manifest.index('"a"') < manifest.index('"b"') and manifest.endswith("}\n")
    assert list(tmp_path.joinpath("results").iterdir()) == [out]  # no temp folder left


def test_tables_round_trip_and_are_byte_identical(tmp_path):
    ts = synthetic()
    a, b = write(tmp_path / "a", ts), write(tmp_path / "b", ts.sample(frac=1.0, random_state=5))
    for name in ("timeseries.csv", "summary.csv", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    raw = (a / "timeseries.csv").read_bytes()
    assert b"\r" not in raw
    back = pd.read_csv(a / "timeseries.csv")
    assert list(back.columns) == ["seed", "date", *METRIC_NAMES]
    np.testing.assert_array_equal(back[list(METRIC_NAMES)].to_numpy(),
                                  ts[list(METRIC_NAMES)].to_numpy())  # exact, not approximate
    summary = pd.read_csv(a / "summary.csv")  # 6 significant digits (issue 15)
    np.testing.assert_allclose(summary["mean"].to_numpy(), summarise(ts)["mean"].to_numpy(),
                               rtol=5e-6, atol=0)


def test_figures_are_deterministic(tmp_path):
    ts = synthetic()
    for target in ("one", "two"):
        fig = run_figures.revenue_loss(ts, EVENTS, scenario="t", title="T", n_seeds=5)
        style.save(fig, tmp_path / target)
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "two.png").read_bytes()
    assert (tmp_path / "one.svg").read_bytes() == (tmp_path / "two.svg").read_bytes()


def test_existing_folder_refused_without_force(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(FileExistsError, match="already exists"):
        write(out)
    assert (out / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_existing_folder_replaced_with_force(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    write(out, force=True)
    assert not (out / "keep.txt").exists()
    assert (out / "summary.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # old copy deleted


def test_file_in_the_way_is_not_replaced(tmp_path):
    out = tmp_path / "res"
    out.write_text("not a folder")
    with pytest.raises(NotADirectoryError):
        write(out, force=True)
    assert out.read_text() == "not a folder"


def _boom(*_args, **_kwargs):
    raise RuntimeError("figure failed")


def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(run_figures, "revenue_loss", _boom)
    with pytest.raises(RuntimeError, match="figure failed"):
        write(tmp_path / "res")
    assert list(tmp_path.iterdir()) == []


def test_failure_mid_write_keeps_old_folder_with_force(tmp_path, monkeypatch):
    out = tmp_path / "res"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    monkeypatch.setattr(run_figures, "diverted_volumes", _boom)
    with pytest.raises(RuntimeError):
        write(out, force=True)
    assert (out / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_failed_final_rename_restores_old_folder(tmp_path, monkeypatch):
    out = tmp_path / "res"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name.startswith(".res.tmp-"):
            raise OSError("disk trouble")
        return real_rename(src, dst)

    monkeypatch.setattr(folders.os, "rename", rename)
    with pytest.raises(OSError, match="disk trouble"):
        write(out, force=True)
    assert (out / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_unserialisable_manifest_fails_cleanly(tmp_path):
    with pytest.raises(TypeError, match="object"):
        write_results(tmp_path / "res", timeseries=synthetic(), manifest={"x": object()},
                      events=[], scenario="t", title="T", n_seeds=5)
    assert list(tmp_path.iterdir()) == []


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.texts] + [
        t.get_text() for ax in fig.axes for t in ax.texts]


def _panels(fig) -> list:
    """The data panels: the axes with a y label (the event strip has none)."""
    return [ax for ax in fig.axes if ax.get_ylabel()]


@pytest.mark.parametrize(("make", "heading", "units"), [
    (run_figures.diverted_volumes, "Chips diverted around export controls, by channel — Test",
     ["(units)"]),
    (run_figures.revenue_loss, "US vendors' revenue loss against the counterfactual — Test",
     ["(USD billions per month)", "(USD billions)"]),
])
def test_standard_figures_say_what_they_show(make, heading, units):
    """Title, y axes with units, scenario and seeds, the source line, the moves and a legend."""
    fig = make(synthetic(), EVENTS, scenario="test-scenario", title="Test", n_seeds=5)
    texts = _texts(fig)
    assert heading in texts
    assert "Scenario: test-scenario · 5 seeds · dotted lines: policy moves" in texts
    assert f"chipsim {style.version()}; median and 5–95 % band over 5 seeds" in texts
    panels = _panels(fig)
    assert len(panels) == len(units)
    for ax, unit in zip(panels, units, strict=True):
        assert ax.get_ylabel().endswith(unit), ax.get_ylabel()
    for _, label in EVENTS:
        assert label in texts, label
    (legend,) = fig.legends
    assert "5–95 % band" in [t.get_text() for t in legend.get_texts()]
    for ax in _panels(fig):  # the shared panel style
        assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
        # one dotted line per month with moves (three months in EVENTS)
        assert len([ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]) == 3


def test_one_seed_is_singular():
    fig = run_figures.diverted_volumes(synthetic(n_seeds=1), [], scenario="s", title="T", n_seeds=1)
    texts = _texts(fig)
    assert "Scenario: s · 1 seed" in texts
    assert f"chipsim {style.version()}; median and 5–95 % band over 1 seed" in texts


def test_figure_bands_are_the_median_and_percentiles_of_the_seeds():
    ts = synthetic(n_seeds=6)
    fig = run_figures.diverted_volumes(ts, [], scenario="t", title="T", n_seeds=6)
    (panel,) = _panels(fig)
    (line,) = [ln for ln in panel.get_lines() if ln.get_label() == "Smuggled"]
    expected = band(ts, "smuggled_units")
    np.testing.assert_allclose(line.get_ydata(), expected["p50"].to_numpy())
    fig = run_figures.revenue_loss(ts, [], scenario="t", title="T", n_seeds=6)
    cumulative = _panels(fig)[1]
    (line,) = [ln for ln in cumulative.get_lines() if ln.get_label() == "Nvidia"]
    expected = band(ts, "revenue_loss_usd_nvidia", cumulative=True)["p50"] / 1e9
    np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())


def test_figures_with_no_events_and_events_outside_period(tmp_path):
    ts = synthetic(n_seeds=2)
    for events in ([], [("2020-01", "long before"), ("2030-01", "long after")]):
        fig = run_figures.diverted_volumes(ts, events, scenario="t", title="T", n_seeds=2)
        texts = _texts(fig)
        assert "Scenario: t · 2 seeds" in texts  # no "dotted lines" when no move is shown
        assert not any("long" in t for t in texts)
        (panel,) = _panels(fig)
        assert not [ln for ln in panel.get_lines() if ln.get_linestyle() == ":"]
        # the axis spans the period (half a month either side), not the far-off moves
        x_min, x_max = panel.get_xlim()
        assert (x_min, x_max) == (event_strip.month_x(MONTHS[0]) - 15,
                                  event_strip.month_x(MONTHS[-1]) + 15)
        assert style.save(fig, tmp_path / "f")[0].stat().st_size > 10_000


def test_a_scenario_with_many_moves_numbers_them_so_the_plot_keeps_its_room():
    """Twenty moves in four months would stack twenty labels above the plot (the timeline's
    strip took a third of the figure): past a few rows the moves are numbered at their dates
    and every one is explained, in order, in a key between the legend and the source line."""
    many = [(MONTHS[i % 4], f"Move {i + 1}: a rule with a fairly long description")
            for i in range(20)]
    few = run_figures.diverted_volumes(synthetic(), EVENTS, scenario="t", title="T", n_seeds=5)
    fig = run_figures.diverted_volumes(synthetic(), many, scenario="t", title="T", n_seeds=5)
    texts = _texts(fig)
    assert "Scenario: t · 5 seeds · dotted lines: policy moves, numbered (key below)" in texts
    key = " · ".join(t.get_text() for t in fig.texts if t.get_gid() == "event-key")
    numbered = [f"{n} {label}" for n, (_, label) in
                enumerate(sorted(many, key=lambda event: event[0]), start=1)]
    assert key == " · ".join(numbered)  # every move, numbered by date
    assert not any(label in texts for _, label in many)  # no label above the plot
    strip_in = fig.axes[0].get_position().height * fig.get_figheight()
    assert strip_in < 0.6
    (panel,) = _panels(fig)
    assert len([ln for ln in panel.get_lines() if ln.get_linestyle() == ":"]) == 4
    assert fig.get_figheight() < few.get_figheight() + 1.0  # the key's lines, not 20 rows


def test_event_labels_never_overlap_or_get_crossed():
    many = [(x, f"Move {i} with a fairly long description") for i, x in
            enumerate([10.0, 10.0, 10.0, 40.0, 70.0, 200.0, 200.0, 350.0])]
    placed = event_strip.place_labels(many, 0.0, 365.0)
    assert [(a.x, a.text) for a, _ in placed] == many  # every label, in the given order
    assert len({row for _, row in placed}) >= 3  # the cluster at x = 10 is stacked
    for a, row_a in placed:
        for b, row_b in placed:
            if a is b:
                continue
            if row_a == row_b:
                assert a.end <= b.start or b.end <= a.start
            if event_strip.crosses(a, b):  # a's leader passes b's text span: a must stay lower
                assert row_a < row_b
