"""The interactive dashboard: one scenario, five policy levers, the trade month by month.

A Mesa SolaraViz page for teaching and exploring. Pick a scenario file, set the levers
(:mod:`sim.app.levers`), press Reset, then Step or Play: the model advances one month at a time
and the page shows

* the chips reaching China by channel (legal, domestic, smuggled, offshore cloud, front companies,
  seized),
* US vendors' revenue against the counterfactual run on the same seed, and the running loss,
* the grey-market premium and the domestic share of new compute (:mod:`sim.app.figures`),
* where the chips went so far, vendor -> channel -> Chinese buyer, as a live Sankey diagram,
* the policy moves applied so far, and the next one coming.

Every slider shows its value (:data:`SLIDER_CSS`), and the figures number the moves at their
dates with a compact key under the plot.

Run it with ``chipsim app`` (a browser page), or in a notebook::

    from sim.app.dashboard import Page
    Page()

``Page`` is built on first use, so importing this module does not import Solara.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from sim.app.figures import channels_figure, flows_figure, market_figure, revenue_figure
from sim.app.levers import (
    DEFAULT_LEVER_MONTH,
    DEFAULT_SCENARIO,
    DashboardModel,
    scenario_dir,
    scenario_names,
)
from sim.scenario.errors import ScenarioError
from sim.scenario.library import SCENARIO_DIR_ENV
from sim.scenario.scenario import Event
from sim.world.months import format_month, parse_month

# --------------------------------------------------------------------------- the status card


def status_html(model: DashboardModel) -> str:
    """Where the model is, the levers in force, and the moves applied so far (newest first).

    Plain HTML, not Markdown: Solara's Markdown component loads KaTeX from a CDN, which an
    offline machine does not have.
    """
    exp = model.experiment
    done, total = model.months_done, exp.end - exp.start + 1
    if done == 0:
        where = f"Ready to start at <b>{format_month(exp.start)}</b>."
    elif done < total:
        where = (f"Simulated <b>{format_month(exp.start + done - 1)}</b>"
                 f" ({done} of {total} months).")
    else:
        where = (f"Finished: <b>{format_month(exp.end)}</b> ({total} months)."
                 " Press Reset to run again.")
    parts = [f"<h3 style='margin:0 0 6px 0'>{escape(exp.title)}</h3>",
             f"<p style='margin:0 0 6px 0' class='chipsim-where'>{where}</p>",
             f"<p style='margin:0 0 6px 0'>Levers: {escape(model.levers.describe())}"
             " <i>(set them under Model Parameters, then press Reset)</i></p>"]
    coming = model.next_events()
    if coming:
        parts.append(f"<p style='margin:0 0 6px 0'><b>Next, {format_month(coming[0].date)}:</b> "
                     + escape("; ".join(_event_text(e) for e in coming)) + "</p>")
    applied = model.applied_events()
    parts.append(f"<p style='margin:0'><b>Moves applied so far ({len(applied)}):</b></p>")
    items = [f"<li>{format_month(e.date)} · {escape(_event_text(e))}</li>"
             for e in reversed(applied)] or ["<li>none yet</li>"]
    parts.append("<ul class='chipsim-moves' style='margin:2px 0 0 0; max-height:230px;"
                 " overflow-y:auto'>" + "".join(items) + "</ul>")
    return "\n".join(parts)


def _event_text(event: Event) -> str:
    """The event's note, or its move name."""
    return " ".join(event.note.split()) or event.move.name


# --------------------------------------------------------------------------- the page


def model_params() -> dict:
    """The SolaraViz inputs: scenario choice, the five levers, their month, the replication.

    Labels are short because the sidebar is narrow; :data:`LEVER_HELP` explains them.
    """
    names = scenario_names()
    default = DEFAULT_SCENARIO if DEFAULT_SCENARIO in names else (names[0] if names else "")
    months = [format_month(m) for m in range(parse_month("2024-01"), parse_month("2026-12") + 1)]
    return {
        "scenario_name": {"type": "Select", "value": default, "values": names,
                          "label": "Scenario"},
        "revenue_share": {"type": "SliderFloat", "value": 0.0, "min": 0.0, "max": 0.5,
                          "step": 0.05, "label": "US revenue share"},
        "enforcement": {"type": "SliderFloat", "value": 1.0, "min": 0.5, "max": 5.0,
                        "step": 0.25, "label": "Enforcement ×"},
        "import_block": {"type": "Checkbox", "value": False,
                         "label": "China blocks US chips"},
        "subsidy": {"type": "SliderFloat", "value": 1.0, "min": 1.0, "max": 8.0, "step": 0.5,
                    "label": "Subsidy × cost"},
        "remote_access": {"type": "SliderFloat", "value": 0.0, "min": 0.0, "max": 1.0,
                          "step": 0.1, "label": "Cloud compliance"},
        "levers_from": {"type": "Select", "value": DEFAULT_LEVER_MONTH, "values": months,
                        "label": "Levers take effect from"},
        "replication": {"type": "SliderInt", "value": 0, "min": 0, "max": 19, "step": 1,
                        "label": "Replication"},
    }


#: What each lever does, shown on the page.
LEVER_HELP: tuple[tuple[str, str], ...] = (
    ("US revenue share", "share of every legal sale of a US chip to China paid to the US"
                         " government (0–50 %; M7, M11)"),
    ("Enforcement ×", "multiplier on the odds that a smuggled shipment is seized (M3)"),
    ("China blocks US chips", "Chinese customs refuse US chips; research labs excepted (M15)"),
    ("Subsidy × cost", "the state funds domestic chips up to this multiple of their cost,"
                       " with a 50 % power discount (M9, F13)"),
    ("Cloud compliance", "share of offshore clouds that stop renting to Chinese firms (M16)"),
    ("Replication", "the seed: replication i of `chipsim run`"),
)


def help_html() -> str:
    """How to use the page, and what each lever means."""
    items = "".join(f"<li><b>{escape(name)}</b>: {escape(text)}</li>" for name, text in LEVER_HELP)
    return ("<p style='margin:0 0 4px 0'>Move the levers under <i>Model Parameters</i> (drag a"
            " slider to see its value), press <b>Reset</b> to rebuild the model with them, then"
            " <b>Step</b> one month or <b>▶</b> play. A lever left at its default keeps the"
            " scenario as written; moved, it replaces the scenario's own moves of its kind from"
            " the chosen month on.</p><ul style='margin:0'>" + items + "</ul>")


#: Every slider shows its value, not only while dragged: Vuetify's thumb label, kept open,
#: and room above the slider for it.
SLIDER_CSS = """
.v-slider__thumb-label-container { display: block !important; }
.v-slider__thumb-label { transform: translateY(-20%) translateY(-12px) translateX(-50%)
                         rotate(45deg) !important; }
.v-input__slider { margin-top: 22px; }
"""


def _solara():  # noqa: ANN202 - the solara module, imported on first use
    import solara
    import solara.server.settings

    if "SOLARA_TELEMETRY_MIXPANEL_ENABLE" not in os.environ:
        solara.server.settings.telemetry.mixpanel_enable = False  # no usage data leaves
    return solara


def _build_page():  # noqa: ANN202 - a solara component
    solara = _solara()
    from mesa.visualization import SolaraViz
    from mesa.visualization.utils import update_counter

    @solara.component
    def LivePanels(model: DashboardModel) -> None:
        update_counter.get()  # redraw after every step or reset
        key = [id(model), model.months_done]
        card = {"width": "548px"}
        solara.Style(SLIDER_CSS)
        with solara.Row(style={"flex-wrap": "wrap", "gap": "12px", "padding": "8px 12px"}):
            with solara.Card(style=card, classes=["chipsim-status"]):
                solara.HTML(tag="div", unsafe_innerHTML=status_html(model))
            for name, draw in (("channels", channels_figure), ("revenue", revenue_figure),
                               ("market", market_figure)):
                with solara.Card(style=card, classes=[f"chipsim-{name}"]):
                    solara.FigureMatplotlib(draw(model), dependencies=key, format="png")
            with solara.Card(style={"width": "1108px"}, classes=["chipsim-flows"]):
                solara.FigureMatplotlib(flows_figure(model), dependencies=key, format="png")
            with solara.Card("How to use", style=card, classes=["chipsim-help"]):
                solara.HTML(tag="div", unsafe_innerHTML=help_html())

    @solara.component
    def Page() -> None:
        initial = solara.use_memo(DashboardModel, [])
        model = solara.use_reactive(initial)
        SolaraViz(model, components=[], model_params=model_params(), play_interval=300,
                  name="chipsim — the AI-chip trade under export controls")
        LivePanels(model.value)

    return Page


def __getattr__(name: str):  # noqa: ANN202 - ``Page`` is built on first use (imports solara)
    if name == "Page":
        page = _build_page()
        globals()["Page"] = page
        return page
    raise AttributeError(f"module 'sim.app.dashboard' has no attribute {name!r}")


def serve(host: str = "127.0.0.1", port: int = 8765, scenarios: str | None = None) -> int:
    """Serve the dashboard with Solara until interrupted (what ``chipsim app`` runs).

    Args:
        host: Interface to listen on.
        port: TCP port.
        scenarios: Folder of scenario files to offer (default: :func:`scenario_dir`).

    Returns:
        The exit code.

    Raises:
        ScenarioError: the folder has no valid scenario file.

    """
    if scenarios is not None:
        os.environ[SCENARIO_DIR_ENV] = str(Path(scenarios).resolve())
    if not scenario_names():
        raise ScenarioError(f"no valid scenario files (*.yaml) in {scenario_dir()}",
                            key="--scenarios")
    _solara()
    from solara.__main__ import run

    print(f"chipsim app: serving on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    run.main(args=["sim.app.dashboard:Page", "--host", host, "--port", str(port), "--production",
                   "--no-open", "--no-check-version", "--log-level", "warning"],
             standalone_mode=False)
    return 0
