from pathlib import Path

import numpy as np
import pytest

import sim
from sim.analysis import chip_flows as run_flows
from sim.viz import story as story_figures
from sim.viz.bands import band
from sim.viz.style import CHANNEL_COLOURS, save, version

ROOT = Path(__file__).resolve().parent.parent
TIMELINE = ROOT / "scenarios" / "timeline-2024-2026.yaml"
SEEDS = 3


@pytest.fixture(scope="module")
def timeline():
    return sim.load_scenario(TIMELINE)


@pytest.fixture(scope="module")
def results(timeline):
    return sim.run(timeline, seeds=SEEDS)


@pytest.fixture(scope="module")
def flows(timeline):
    return run_flows.measure_chip_flows(timeline, SEEDS)


def _texts(fig):
    return [t.get_text() for t in fig.texts] + [
        t.get_text() for ax in fig.axes for t in ax.texts]


def test_flows_agree_with_the_channels_of_the_timeseries(flows, results):
    """Each channel's chips, measured from the ledger, equal the run's channel totals."""
    channel_metric = {
        "legal": "legal_export_units", "domestic": "domestic_units", "cloud": "cloud_units",
        "subsidiary": "subsidiary_units", "smuggled": "smuggled_units", "seized": "seized_units",
    }
    by_channel = flows.by_vendor.groupby(["seed", "channel"])["units"].sum().unstack(fill_value=0)
    totals = results.timeseries.groupby("seed")[list(channel_metric.values())].sum()
    for channel, metric in channel_metric.items():
        np.testing.assert_allclose(by_channel[channel].to_numpy(), totals[metric].to_numpy(),
                                   rtol=1e-9, err_msg=channel)


def test_every_chip_that_leaves_a_vendor_for_china_reaches_a_buyer_class_or_is_seized(flows):
    shipped = flows.by_vendor.groupby(["seed", "channel"])["units"].sum()
    received = flows.by_receiver.groupby(["seed", "channel"])["units"].sum()
    np.testing.assert_allclose(received.sort_index().to_numpy(), shipped.sort_index().to_numpy(),
                               rtol=1e-9)
    seized = flows.by_receiver.query("channel == 'seized'")
    assert set(seized["receiver"]) == {"nobody"}
    assert set(flows.by_receiver["receiver"]) <= set(story_figures.RECEIVERS)


def test_domestic_chips_come_from_domestic_vendors_only(flows):
    vendors = set(flows.by_vendor.query("channel == 'domestic'")["vendor"])
    assert vendors <= {"huawei", "cambricon"}
    assert "domestic" not in set(flows.by_vendor.query("vendor == 'nvidia'")["channel"])


def test_flows_over_a_window_are_smaller_than_over_the_period(timeline, flows):
    window = run_flows.measure_chip_flows(timeline, 1, start="2025-04", end="2025-06")
    assert (window.start, window.end) == ("2025-04", "2025-06")
    whole = flows.by_vendor.query("seed == 0")["units"].sum()
    assert 0 < window.by_vendor["units"].sum() < whole


def test_flows_reject_months_outside_the_period(timeline):
    with pytest.raises(ValueError, match="must lie in the period"):
        run_flows.measure_chip_flows(timeline, 1, start="2023-01")
    with pytest.raises(ValueError, match="in order"):
        run_flows.measure_chip_flows(timeline, 1, start="2025-06", end="2025-01")


def test_chip_flow_figure_names_scenario_seeds_and_nodes(flows, tmp_path):
    fig = story_figures.chip_flows(flows)
    texts = " ".join(_texts(fig))
    assert "Where the chips went, 2024-01 to 2026-12" in texts
    assert f"Scenario: timeline-2024-2026 · {SEEDS} seeds" in texts
    for label in ("Nvidia", "Huawei", "Legal exports", "Smuggled", "Seized", "Nobody (seized)",
                  "Research labs", "Vendor", "Channel", "Chinese buyer"):
        assert label in texts, label
    assert f"chipsim {version()}; mean over {SEEDS} seeds" in texts  # source line
    # node labels carry the mean units of the node: the legal channel's mean over seeds
    legal = flows.by_vendor.query("channel == 'legal'")["units"].sum() / SEEDS
    assert f"Legal exports\n{story_figures._units(legal)}" in " ".join(_texts(fig))
    written = save(fig, tmp_path / "chip_flows")
    assert [p.suffix for p in written] == [".png", ".svg"]
    assert all(p.stat().st_size > 10_000 for p in written)


def test_market_response_has_labelled_axes_with_units_and_events(results):
    fig = run_flows.plot_market_response(results)
    share, premium = [ax for ax in fig.axes if ax.get_ylabel()]
    assert "domestic share" in share.get_ylabel() and "(% of H100e)" in share.get_ylabel()
    assert "premium" in premium.get_ylabel() and "(% premium)" in premium.get_ylabel()
    texts = _texts(fig)
    assert any(t.startswith("1 M2: H20/MI308 licence rule · 2 M3:") for t in texts)  # the key
    assert ("China's answer: domestic chips and the grey market — The record, 2024-2026"
            in texts)
    assert (f"Scenario: timeline-2024-2026 · {SEEDS} seeds · dotted lines: policy moves,"
            " numbered (key below)" in texts)
    assert f"chipsim {version()}; median and 5–95 % band over {SEEDS} seeds" in texts
    # the lines are the medians in percent, in the channel colours of every other figure
    (line,) = [ln for ln in share.get_lines() if ln.get_label() == "Domestic share"]
    np.testing.assert_allclose(line.get_ydata(),
                               band(results.timeseries, "domestic_share")["p50"] * 100)
    assert line.get_color() == CHANNEL_COLOURS["domestic"]


def test_metric_bands_draws_the_named_metrics(results):
    fig = story_figures.metric_bands(
        results.timeseries, results.events, [("legal_export_units_H20", "H20")],
        ylabel="units per month", heading="Legal H20", scenario="timeline-2024-2026",
        n_seeds=SEEDS)
    panel = [ax for ax in fig.axes if ax.get_ylabel() == "units per month"][0]
    (line,) = [ln for ln in panel.get_lines() if ln.get_label() == "H20"]
    assert max(line.get_ydata()) > 0
    assert "Legal H20" in _texts(fig)
    # scale and cumulative are applied to the band, seed by seed
    fig = story_figures.metric_bands(
        results.timeseries, [], [("legal_export_units_H20", "H20")], ylabel="thousands",
        heading="Legal H20, cumulative", scenario="timeline-2024-2026", n_seeds=SEEDS,
        scale=1e-3, cumulative=True)
    panel = [ax for ax in fig.axes if ax.get_ylabel() == "thousands"][0]
    (line,) = [ln for ln in panel.get_lines() if ln.get_label() == "H20"]
    expected = band(results.timeseries, "legal_export_units_H20", cumulative=True)["p50"] * 1e-3
    np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
    with pytest.raises(ValueError, match="series is empty"):
        story_figures.metric_bands(results.timeseries, [], [], ylabel="", heading="",
                                   scenario="x", n_seeds=1)


def test_write_story_figures_writes_png_and_svg(results, tmp_path):
    written = run_flows.write_story_figures(results, tmp_path / "figures")
    assert sorted(p.name for p in written) == [
        "chip_flows.png", "chip_flows.svg", "market_response.png", "market_response.svg"]
