"""The dashboard: its levers and model wrapper, and the page in a real browser.

The browser test starts `chipsim app`, and drives it with Playwright in headless Chromium. It
needs the `app` and `browser` extras and Debian's chromium (``apt-get install -y chromium``);
set ``CHIPSIM_CHROMIUM`` to use another Chromium binary. It fails, rather than skips, when the
browser is missing: CI must run it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.app.dashboard import model_params, status_html
from sim.app.levers import DashboardModel, Levers, with_levers
from sim.world.months import parse_month

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: Where the screenshot of a passing run is kept for a human to look at.
SCREENSHOT = ROOT / "results" / "app-screenshot.png"


TIMELINE = ROOT / "scenarios" / "timeline-2024-2026.yaml"


# --------------------------------------------------------------------------- levers


def test_neutral_levers_leave_the_scenario_as_written():
    scenario = sim.load_scenario(TIMELINE)
    assert with_levers(scenario, Levers(start="2025-04")) is scenario
    assert Levers().describe() == "none"


def test_a_lever_replaces_the_scenarios_moves_of_its_kind_from_its_month_on():
    scenario = sim.load_scenario(TIMELINE)
    changed = with_levers(scenario, Levers(revenue_share=0.3, enforcement=2.5,
                                           start="2025-08"))
    assert changed.name == "timeline-2024-2026-levers"
    month = parse_month("2025-08")
    shares = [e for e in changed.events if e.move.name == "us.revenue_share"]
    assert [(e.date, e.move.share) for e in shares] == [(month, 0.3)]  # M7, M11, M13 replaced
    enforcement = [e for e in changed.events if e.move.name == "us.enforcement"]
    assert [e.date for e in enforcement] == [parse_month("2025-07"), month]  # M3 kept: before
    assert enforcement[-1].move.intensity == 2.5
    assert enforcement[-1].note == "Lever: enforcement ×2.5"
    untouched = [e for e in scenario.events
                 if e.move.name not in ("us.revenue_share", "us.enforcement")]
    assert all(e in changed.events for e in untouched)


def test_every_lever_becomes_a_valid_move_and_the_month_is_clipped_to_the_period():
    scenario = sim.load_scenario(TIMELINE)
    levers = Levers(revenue_share=0.5, enforcement=0.5, import_block=True, subsidy=6.0,
                    remote_access=1.0, start="2019-01")
    changed = with_levers(scenario, levers)
    added = [e for e in changed.events if e.note.startswith("Lever:")]
    assert {e.move.name for e in added} == {
        "us.revenue_share", "us.enforcement", "cn.import_block", "cn.domestic_subsidy",
        "us.remote_access_rule"}
    assert {e.date for e in added} == {scenario.start}
    block = next(e.move for e in added if e.move.name == "cn.import_block")
    assert block.allowed == ("research_labs",) and "H20" in block.chips


# --------------------------------------------------------------------------- the model


def test_model_params_are_the_dashboard_models_keyword_arguments():
    import inspect

    accepted = set(inspect.signature(DashboardModel.__init__).parameters) - {"self"}
    params = model_params()
    assert set(params) == accepted
    assert "timeline-2024-2026" in params["scenario_name"]["values"]
    for name, spec in params.items():
        assert spec["value"] == inspect.signature(DashboardModel.__init__).parameters[
            name].default, name


def test_dashboard_model_starts_at_the_period_and_pairs_with_its_counterfactual():
    scenario = sim.load_scenario(TIMELINE)
    model = DashboardModel(replication=1)
    assert model.month == scenario.start and model.months_done == 0 and model.steps == 0
    while model.running:
        model.step()
    assert model.months_done == len(scenario.months)
    model.step()  # past the end: nothing happens
    assert model.months_done == len(scenario.months)
    table = model.history()
    assert list(table["date"])[:2] == ["2024-01", "2024-02"]
    # the same numbers as replication 1 of an ensemble run, revenue loss included
    reference = sim.run(scenario, seeds=2).timeseries.query("seed == 1")
    for column in ("smuggled_units", "legal_export_units", "revenue_loss_usd"):
        np.testing.assert_allclose(table[column].to_numpy(), reference[column].to_numpy(),
                                   rtol=1e-9, err_msg=column)


def test_status_lists_the_moves_applied_so_far_newest_first():
    model = DashboardModel(import_block=True, levers_from="2025-04")
    assert "Ready to start at <b>2024-01</b>" in status_html(model)
    assert "Next, 2025-04:" in status_html(model)
    for _ in range(19):  # to 2025-07
        model.step()
    html = status_html(model)
    assert "Simulated <b>2025-07</b> (19 of 36 months)" in html
    assert html.index("2025-07 · M3: enforcement crackdown") < html.index(
        "2025-04 · Lever: China blocks US chips")
    assert "Levers: China blocks US chips" in html


def test_live_figures_label_their_axes_and_mark_the_moves_applied():
    from sim.app.figures import channels_figure, market_figure, revenue_figure
    from sim.viz.style import CHANNEL_COLOURS, EVENT_LINE

    model = DashboardModel()
    for _ in range(19):  # to 2025-07: M2 (2025-04) and M3 (2025-07) applied
        model.step()
    applied = {e.date for e in model.applied_events()}
    assert len(applied) >= 2
    expected = {
        channels_figure: ("Chips reaching China, by channel", ["units / month"] * 2),
        revenue_figure: ("US vendors' revenue (same seed, counterfactual)",
                         ["USD bn / month", "USD bn, cumulative"]),
        market_figure: ("China's market: grey premium and domestic share",
                        ["% over list", "% of H100e"]),
    }
    for draw, (title, ylabels) in expected.items():
        fig = draw(model)
        assert fig.get_suptitle() == title
        texts = [t.get_text() for t in fig.texts]
        assert "timeline-2024-2026 · replication 0 · 19 of 36 months" in texts
        panels = fig.axes
        assert [ax.get_ylabel() for ax in panels] == ylabels
        for ax in panels:
            dotted = [ln for ln in ax.get_lines()
                      if ln.get_linestyle() == ":" and ln.get_color() == EVENT_LINE]
            assert len(dotted) == len(applied), draw.__name__  # one line per month with moves
            assert not ax.spines["top"].get_visible() and ax.get_legend() is not None
        # the moves are numbered at their dates, with a key under the plot
        numbers = [t.get_text() for t in panels[0].texts]
        assert numbers == ["1", "2"]
        key = " ".join(t.get_text() for t in fig.texts if t.get_gid() == "event-key")
        assert "1 M2: H20/MI308 licence rule" in key and "2 M3: enforcement crackdown" in key
    top, bottom = channels_figure(model).axes
    colours = {ln.get_label(): ln.get_color() for ln in top.get_lines() + bottom.get_lines()}
    assert colours["Legal exports"] == CHANNEL_COLOURS["legal"]
    assert colours["Smuggled"] == CHANNEL_COLOURS["smuggled"]
    (seized,) = [ln for ln in bottom.get_lines() if ln.get_label() == "Seized"]
    assert seized.get_linestyle() == "--"
    (legal,) = [ln for ln in top.get_lines() if ln.get_label() == "Legal exports"]
    np.testing.assert_allclose(legal.get_ydata(), model.history()["legal_export_units"])


def test_the_plot_keeps_most_of_a_live_figure_with_many_moves():
    from sim.app.figures import channels_figure

    def plot_height_in(fig):
        top, bottom = fig.axes
        return (top.get_position().y1 - bottom.get_position().y0) * fig.get_figheight()

    model = DashboardModel()
    empty = plot_height_in(channels_figure(model))
    while model.running:
        model.step()
    assert len(model.applied_events()) > 15
    fig = channels_figure(model)
    top, _ = fig.axes
    # the key adds room under the plot rather than taking it: the plot keeps its size
    assert plot_height_in(fig) == pytest.approx(empty)
    assert plot_height_in(fig) / fig.get_figheight() > 0.55  # with every move of the record
    numbers = [t.get_text() for t in top.texts]
    assert numbers[0] == "1" and len(numbers) == len({e.date for e in model.applied_events()})


def test_the_live_sankey_counts_the_chips_of_each_channel_so_far():
    from sim.app.figures import flows_figure

    model = DashboardModel()
    assert model.chip_flows() is None
    assert "no chips delivered yet" in flows_figure(model).texts[0].get_text()
    for _ in range(8):
        model.step()
    flows = model.chip_flows()
    assert (flows.start, flows.end, flows.n_seeds) == ("2024-01", "2024-08", 1)
    by_channel = flows.mean_links()[0].groupby(level="channel").sum()
    history = model.history()
    for channel, metric in (("legal", "legal_export_units"), ("domestic", "domestic_units"),
                            ("smuggled", "smuggled_units"), ("seized", "seized_units")):
        assert by_channel.get(channel, 0.0) == pytest.approx(history[metric].sum(), rel=1e-9)
    fig = flows_figure(model)
    assert any("Where the chips went, 2024-01 to 2024-08" in t.get_text() for t in fig.texts)


def test_the_page_is_a_solara_component():
    from sim.app.dashboard import Page

    assert callable(Page)


# --------------------------------------------------------------------------- in a browser


def _chromium() -> str:
    path = os.environ.get("CHIPSIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("no Chromium: apt-get install -y chromium (or set CHIPSIM_CHROMIUM)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"chipsim app exited with {proc.returncode}:\n{out}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    pytest.fail(f"chipsim app did not listen on port {port} within {timeout:.0f} s")


@pytest.fixture
def app_url(tmp_path):
    port = _free_port()
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--host", "127.0.0.1", "--port", str(port),
         "--scenarios", str(ROOT / "scenarios")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_dashboard_steps_the_model_and_redraws_without_console_errors(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=_chromium(), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1600, "height": 1100},
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(app_url)

            # the page loads: title, controls, the status panel and three live figures
            page.get_by_text("Ready to start at").wait_for(timeout=60_000)
            assert page.get_by_text("The record, 2024-2026").first.is_visible()
            channels = page.locator(".chipsim-channels img")
            channels.wait_for(timeout=30_000)
            assert page.locator(".chipsim-revenue img").count() == 1
            assert page.locator(".chipsim-market img").count() == 1
            assert page.locator(".chipsim-flows img").count() == 1
            before = channels.screenshot()

            # move a lever: the revenue-share slider, two steps of 5 % to the right
            thumb = page.get_by_role("slider", name="US revenue share")
            assert thumb.get_attribute("aria-valuenow") == "0"
            thumb.focus()
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowRight")
            _eventually(lambda: thumb.get_attribute("aria-valuenow") == "0.1",
                        "the slider did not move")
            # every slider shows its value, also once the pointer has left it
            page.get_by_role("button", name="Reset").focus()
            label = page.locator(".v-slider__thumb-label", has_text="0.1").first
            _eventually(label.is_visible, "the slider's value is not shown")

            # reset applies the lever; then step a few months
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("Levers: 10% revenue share").wait_for(timeout=30_000)
            step = page.get_by_role("button", name="Step")
            for month in range(1, 17):  # 2024-01 .. 2025-04, when M2 and the lever apply
                step.click()
                page.get_by_text(f"({month} of 36 months)").wait_for(timeout=30_000)
            moves = page.locator(".chipsim-moves")
            _eventually(lambda: "Lever: 10% revenue share" in moves.inner_text(),
                        "the lever is not listed among the moves applied")
            assert "M2: H20/MI308 licence rule" in moves.inner_text()

            # the plots changed
            _eventually(lambda: channels.screenshot() != before, "the channel plot did not change")
            page.wait_for_timeout(500)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert not problems, "\n".join(problems)


def _eventually(check, message: str, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(message)
