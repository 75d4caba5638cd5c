"""`chipsim compare`: scenarios run on the same seeds, side by side, with paired differences."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.compare import compare, comparison_table, default_out, unique_labels
from sim.model.metrics import METRIC_NAMES
from sim.scenario.scenario import scenario_from_dict

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


# --------------------------------------------------------------------------- figures


def _series_table(seed_values: dict[int, float], months=("2024-06", "2024-07", "2024-08")):
    rows = [{"seed": seed, "date": month, **dict.fromkeys(METRIC_NAMES, value * (i + 1))}
            for seed, value in seed_values.items() for i, month in enumerate(months)]
    return pd.DataFrame(rows)


def _figure_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.texts] + [t.get_text() for ax in fig.axes for t in ax.texts]


def test_many_scenarios_and_moves_keep_the_legend_clear_of_the_moves_key():
    """Six scenarios put the legend on two rows; with twenty moves keyed under it, the figure
    makes room for both (the second row covered the key's first line)."""
    from sim.viz.comparison import compare_diverted_volumes

    moves = [(("2024-06", "2024-07", "2024-08")[i % 3], f"Move {i + 1}: a fairly long rule")
             for i in range(20)]
    table = _series_table({0: 1e3, 1: 2e3, 2: 3e3})
    fig = compare_diverted_volumes([(f"s{i}", table, moves) for i in range(6)], n_seeds=3)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (legend,) = fig.legends
    key = [t for t in fig.texts if t.get_gid() == "event-key"]
    assert key and len(legend.get_texts()) == 7  # six scenarios and the band: two rows of five
    top_of_key = max(t.get_window_extent(renderer).y1 for t in key)
    assert legend.get_window_extent(renderer).y0 > top_of_key


def test_many_long_scenario_names_leave_the_subtitle_whole():
    """Names too long for one line are left to the legend, not cut with an ellipsis (which
    fell on the moves' note)."""
    from sim.viz.comparison import compare_diverted_volumes

    table = _series_table({0: 1e3, 1: 2e3})
    names = [f"whatif-a-rather-long-scenario-name-{i}" for i in range(6)]
    fig = compare_diverted_volumes([(n, table, [("2024-07", "A move")]) for n in names],
                                   n_seeds=2)
    subtitle = [t for t in _figure_texts(fig) if t.startswith("6 scenarios")]
    assert subtitle == ["6 scenarios, named in the legend · 2 paired seeds · dotted lines:"
                        " policy moves (grey: in every scenario)"]
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= set(names)


def test_comparison_figures_colour_moves_by_scenario_and_pair_the_seeds():
    from matplotlib.colors import to_hex

    from sim.viz.comparison import compare_revenue_loss, scenario_style
    from sim.viz.style import EVENT_LINE, TEXT, version

    shared, own = ("2024-07", "Shared move"), ("2024-08", "Only in B")
    a = _series_table({0: 1e9, 1: 3e9, 2: 2e9})
    b = _series_table({0: 2e9, 1: 4e9, 2: 3e9})  # B loses 1e9 more per month, seed by seed
    fig = compare_revenue_loss([("a", a, [shared]), ("b", b, [shared, own])], n_seeds=3)
    texts = _figure_texts(fig)
    assert "US vendors' revenue loss: scenarios compared" in texts
    assert ("2 scenarios: a, b · 3 paired seeds · dotted lines: policy moves (grey: in every"
            " scenario)") in texts
    assert (f"chipsim {version()}; median and 5–95 % band over 3 paired seeds (the same seeds"
            " in every scenario)") in texts
    strip = fig.axes[0]
    colour = {t.get_text(): to_hex(t.get_color()) for t in strip.texts}
    assert colour == {"Shared move": TEXT, "Only in B": scenario_style(1)[0].lower()}
    leaders = {to_hex(ln.get_color()) for ln in strip.get_lines() if ln.get_linestyle() == ":"}
    assert leaders == {EVENT_LINE, scenario_style(1)[0].lower()}
    top, low = [ax for ax in fig.axes[1:] if ax.get_ylabel()]
    assert top.get_ylabel() == low.get_ylabel() == "USD billions"
    (diff,) = [ln for ln in low.get_lines() if ln.get_label() == "b"]
    np.testing.assert_allclose(diff.get_ydata(), [1.0, 3.0, 6.0])  # paired, cumulative
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_texts == ["a", "b", "5–95 % band"]


def test_comparison_of_one_scenario_has_no_difference_panel_and_grey_is_not_used():
    from sim.viz.comparison import compare_diverted_volumes, scenario_style

    table = _series_table({0: 10.0, 1: 20.0})
    fig = compare_diverted_volumes([("only", table, [("2024-07", "A move")])], n_seeds=2)
    panels = [ax for ax in fig.axes if ax.get_ylabel()]
    assert len(panels) == 4 and {ax.get_ylabel() for ax in panels} == {"chips per month"}
    (label,) = fig.axes[0].texts
    assert label.get_color() == scenario_style(0)[0]  # not "every scenario": its own colour


def test_sobol_bars_rank_parameters_by_total_effect():
    from sim.viz.comparison import sobol_bars

    table = pd.DataFrame({"parameter": ["small", "big", "middle"], "S1": [0.01, 0.5, 0.2],
                          "ST": [0.02, 0.7, 0.3]})
    fig = sobol_bars(table, "smuggled_units", heading="What drives it?",
                     subtitle="line one\nline two", footer="chipsim x; source")
    (ax,) = [a for a in fig.axes if a.get_xlabel()]
    assert ax.get_xlabel() == "share of the variance of smuggled_units"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["big", "middle", "small"]
    texts = _figure_texts(fig)
    for text in ("What drives it?", "line one", "line two", "chipsim x; source"):
        assert text in texts, text


def test_the_terminal_shows_figures_compactly_and_signed():
    from sim.analysis.terminal import compact

    assert [compact(x) for x in (1.234e9, -4.5e4, 2.5e6, 0.1234, 0.0)] == \
        ["1.23G", "-45k", "2.5M", "0.123", "0"]
