"""The interactive dashboard: one scenario, five policy levers, the trade month by month.

A Mesa SolaraViz page for teaching and exploring. Pick a scenario file, set the levers, press
Reset, then Step or Play: the model advances one month at a time and the page shows

* the chips reaching China by channel (legal, domestic, smuggled, offshore cloud, subsidiaries,
  seized),
* US vendors' revenue against the counterfactual run on the same seed, and the running loss,
* the grey-market premium and the domestic share of new compute,
* the policy moves applied so far, and the next one coming.

**Levers.** Each lever is neutral at its default (no revenue share, enforcement ×1, no Chinese
import block, no subsidy, no remote-access rule) and then leaves the scenario as written. Moved
away from neutral, a lever *replaces* the scenario's own moves of its kind from the month chosen
in "Levers take effect" onwards (:func:`with_levers`). Lever settings apply when the model is
(re)built: press Reset after moving them.

Run it with ``chipsim app`` (a browser page), or in a notebook::

    from sim.app.dashboard import Page
    Page()

The model class SolaraViz rebuilds on Reset is :class:`DashboardModel`, a thin subclass of
:class:`~sim.model.model.ChipTradeModel` whose constructor takes the scenario name and lever values
as keyword arguments (SolaraViz needs that) and which steps a counterfactual twin alongside.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.experiments.replication import replication_seed
from sim.model.metrics import MODEL_METRICS
from sim.model.model import ChipTradeModel
from sim.moves import MOVES
from sim.scenario.errors import ScenarioError
from sim.scenario.library import SCENARIO_DIR_ENV, SOURCE_LIBRARY
from sim.scenario.scenario import Event, Scenario, load_counterfactual, load_scenario
from sim.viz.events import event_line, month_x
from sim.viz.style import (
    CHANNEL_COLOURS,
    CHANNEL_SERIES,
    GREY,
    OKABE_ITO,
    new_figure,
    style_panel,
)
from sim.world.catalogue import CHIPS
from sim.world.months import format_month, parse_month

#: Environment variable naming the folder of scenario files the dashboard offers.
#: Scenario shown first, if present.
DEFAULT_SCENARIO = "timeline-2024-2026"
#: Default month the levers take effect: the H20 licence rule (FACTS M2).
DEFAULT_LEVER_MONTH = "2025-04"
#: US chips a lever's revenue share or import block applies to.
US_CHIPS: tuple[str, ...] = tuple(name for name, chip in CHIPS.items() if chip.is_us)
#: Power discount that comes with a subsidy lever (FACTS M9: power subsidies up to 50 %).
SUBSIDY_POWER_DISCOUNT = 0.5


# --------------------------------------------------------------------------- levers


@dataclass(frozen=True)
class Levers:
    """The dashboard's policy levers. At their defaults they change nothing.

    Attributes:
        revenue_share: US government's share of legal sales of US chips to China (0-1).
        enforcement: Multiplier on smugglers' detection on every route (1: as in the scenario).
        import_block: China blocks imports of US chips; research labs excepted.
        subsidy: The Chinese state funds domestic chips up to this multiple of production cost
            (1: no subsidy), with the 50 % power discount of FACTS M9.
        remote_access: Share of offshore clouds complying with a US remote-access rule (0-1).
        start: Month the levers take effect, ``YYYY-MM`` (default: the period's start; clipped
            to the period).

    """

    revenue_share: float = 0.0
    enforcement: float = 1.0
    import_block: bool = False
    subsidy: float = 1.0
    remote_access: float = 0.0
    start: str | None = None

    def moves(self) -> list[tuple[str, dict, str]]:
        """The moves of the levers that are not neutral: ``(move name, parameters, note)``."""
        out: list[tuple[str, dict, str]] = []
        if self.revenue_share > 0:
            out.append(("us.revenue_share", {"chips": US_CHIPS, "share": self.revenue_share},
                        f"Lever: {self.revenue_share:.0%} revenue share"))
        if self.enforcement != 1.0:
            out.append(("us.enforcement", {"intensity": self.enforcement},
                        f"Lever: enforcement ×{self.enforcement:g}"))
        if self.import_block:
            out.append(("cn.import_block", {"chips": US_CHIPS, "allowed": ("research_labs",)},
                        "Lever: China blocks US chips"))
        if self.subsidy > 1.0:
            out.append(("cn.domestic_subsidy", {"cost_multiple": self.subsidy,
                                                "power_discount": SUBSIDY_POWER_DISCOUNT},
                        f"Lever: subsidy up to {self.subsidy:g}× cost"))
        if self.remote_access > 0:
            out.append(("us.remote_access_rule", {"compliance": self.remote_access},
                        f"Lever: {self.remote_access:.0%} of clouds comply"))
        return out

    def describe(self) -> str:
        """One line naming the levers that are set, or ``"none"``."""
        notes = [note.removeprefix("Lever: ") for _, _, note in self.moves()]
        return ", ".join(notes) if notes else "none"


def with_levers(scenario: Scenario, levers: Levers) -> Scenario:
    """Return the scenario with the levers applied.

    Each lever that is not neutral becomes an event on the levers' month; the scenario's own
    events of the same move from that month on are dropped, so the lever's setting holds for
    the rest of the period. Earlier events of that move still apply until then. Neutral levers
    change nothing (the scenario itself is returned if all are neutral).

    Args:
        scenario: A loaded scenario.
        levers: The lever settings.

    Returns:
        A validated scenario named ``<name>-levers`` (or ``scenario`` unchanged).

    """
    moves = levers.moves()
    if not moves:
        return scenario
    month = scenario.start if levers.start is None else parse_month(levers.start)
    month = min(max(month, scenario.start), scenario.end)
    replaced = {name for name, _, _ in moves}
    kept = [e for e in scenario.events if not (e.move.name in replaced and e.date >= month)]
    added = [Event(date=month, announced=month, note=note,
                   move=MOVES[name].model_validate(params))
             for name, params, note in moves]
    name = f"{scenario.name[:57]}-levers"
    title = f"{scenario.title} + levers from {format_month(month)}"
    return scenario.replace(name=name, title=title, events=tuple(kept + added))


# --------------------------------------------------------------------------- scenario files


def scenario_dir() -> Path:
    """The folder of scenario files: ``$CHIPSIM_SCENARIOS``, ``./scenarios`` or the repo's."""
    env = os.environ.get(SCENARIO_DIR_ENV)
    if env:
        return Path(env)
    for candidate in (Path.cwd() / "scenarios", SOURCE_LIBRARY):
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "scenarios"


def scenario_names(folder: Path | None = None) -> list[str]:
    """Names (file stems) of the valid scenario files in the folder, sorted."""
    folder = scenario_dir() if folder is None else folder
    files = sorted(folder.glob("*.yaml"))
    return list(_valid_names(tuple((str(f), f.stat().st_mtime_ns) for f in files)))


@functools.lru_cache(maxsize=8)
def _valid_names(files: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    names = []
    for path, _ in files:
        try:
            load_scenario(path)
        except ScenarioError:
            continue  # `chipsim check` reports it; the dashboard just does not offer it
        names.append(Path(path).stem)
    return tuple(names)


def scenario_path(name: str) -> Path:
    """Path of the scenario file called ``name`` (a stem) in :func:`scenario_dir`."""
    path = scenario_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ScenarioError(f"no scenario file {name}.yaml in {scenario_dir()}")
    return path


# --------------------------------------------------------------------------- the model


class DashboardModel(ChipTradeModel):
    """A :class:`~sim.model.model.ChipTradeModel` built from a scenario name and lever values.

    The constructor takes only keyword arguments with defaults, as SolaraViz requires. The
    burn-in months run at construction, so the first step is the period's first month. A
    counterfactual twin (the scenario's counterfactual, same seed) steps alongside, so revenue
    loss is measured live as in ``chipsim run``.

    Args:
        scenario_name: Stem of a file in :func:`scenario_dir`.
        revenue_share: See :class:`Levers`.
        enforcement: See :class:`Levers`.
        import_block: See :class:`Levers`.
        subsidy: See :class:`Levers`.
        remote_access: See :class:`Levers`.
        levers_from: Month the levers take effect, ``YYYY-MM``.
        replication: Replication index: the same seed as replication ``i`` of ``chipsim run``.

    """

    def __init__(self, scenario_name: str = DEFAULT_SCENARIO, revenue_share: float = 0.0,
                 enforcement: float = 1.0, import_block: bool = False, subsidy: float = 1.0,
                 remote_access: float = 0.0, levers_from: str = DEFAULT_LEVER_MONTH,
                 replication: int = 0) -> None:
        self.levers = Levers(revenue_share=float(revenue_share), enforcement=float(enforcement),
                             import_block=bool(import_block), subsidy=float(subsidy),
                             remote_access=float(remote_access), start=levers_from)
        scenario = with_levers(load_scenario(scenario_path(scenario_name)), self.levers)
        seed = replication_seed(scenario.seed, int(replication))
        super().__init__(scenario, seed=seed)
        self.scenario_name = scenario_name
        self.replication = int(replication)
        self.twin = ChipTradeModel(load_counterfactual(scenario), seed=seed)
        while self.month < scenario.start:  # burn-in, not shown and not counted as steps
            ChipTradeModel.step(self)
            ChipTradeModel.step(self.twin)

    def step(self) -> None:
        """Advance the model and its counterfactual twin one month."""
        if self.month > self.experiment.end:
            self.running = False
            return
        super().step()
        ChipTradeModel.step(self.twin)

    @property
    def months_done(self) -> int:
        """Months of the period simulated so far."""
        return max(0, min(self.month, self.experiment.end + 1) - self.experiment.start)

    def history(self) -> pd.DataFrame:
        """The months simulated so far, one row each.

        Columns: ``date``, every model metric, the counterfactual's US-vendor revenue
        (``counterfactual_revenue_usd``) and the revenue loss (counterfactual minus scenario).
        """
        n = self.months_done
        frame = pd.DataFrame(self.records[:n], columns=list(MODEL_METRICS))
        twin = pd.DataFrame(self.twin.records[:n], columns=list(MODEL_METRICS))
        frame.insert(0, "date", [format_month(m) for m in range(self.experiment.start,
                                                                self.experiment.start + n)])
        frame["counterfactual_revenue_usd"] = twin["vendor_revenue_usd"]
        frame["revenue_loss_usd"] = twin["vendor_revenue_usd"] - frame["vendor_revenue_usd"]
        return frame

    def applied_events(self) -> list[Event]:
        """Moves applied so far, by date (the regulators' ``applied`` lists)."""
        events = [e for r in self.regulators.values() for e in r.applied]
        return sorted(events, key=lambda e: e.date)

    def next_events(self) -> list[Event]:
        """Moves of the next month that has any still to come."""
        coming = sorted((e for e in self.experiment.events if e.date >= self.month),
                        key=lambda e: e.date)
        return [e for e in coming if e.date == coming[0].date] if coming else []


# --------------------------------------------------------------------------- live figures

#: (metric, label, colour, line style) of the channels drawn in the top and bottom panels.
_CHANNELS_BIG = (("legal_export_units", "Legal exports", CHANNEL_COLOURS["legal"], "-"),
                 ("domestic_units", "Domestic chips", CHANNEL_COLOURS["domestic"], "-"))
_CHANNELS_SMALL = CHANNEL_SERIES
_FIG_SIZE = (5.2, 3.6)


def channels_figure(model: DashboardModel) -> Figure:
    """Chips reaching China per month: legal and domestic (top), diverted and seized (bottom)."""
    fig, (top, bottom) = _two_panels(model, "Chips reaching China, by channel")
    table = model.history()
    _lines(top, table, _CHANNELS_BIG)
    _lines(bottom, table, _CHANNELS_SMALL)
    top.set_ylabel("units / month")
    bottom.set_ylabel("units / month")
    for ax in (top, bottom):
        ax.yaxis.set_major_formatter(FuncFormatter(_compact))
        _legend(ax, ncol=2)
    return fig


def revenue_figure(model: DashboardModel) -> Figure:
    """US vendors' revenue per month against the counterfactual, and the cumulative loss."""
    fig, (top, bottom) = _two_panels(model, "US vendors' revenue (same seed, counterfactual)")
    table = model.history()
    x = _x(table)
    top.plot(x, table["vendor_revenue_usd"] / 1e9, color=OKABE_ITO["blue"], linewidth=1.8,
             label="this scenario")
    top.plot(x, table["counterfactual_revenue_usd"] / 1e9, color=GREY, linewidth=1.4,
             linestyle="--", label="counterfactual")
    bottom.fill_between(x, np.cumsum(table["revenue_loss_usd"].to_numpy()) / 1e9,
                        color=OKABE_ITO["vermillion"], alpha=0.35, linewidth=0, step=None)
    bottom.plot(x, np.cumsum(table["revenue_loss_usd"].to_numpy()) / 1e9,
                color=OKABE_ITO["vermillion"], linewidth=1.8,
                label="cumulative loss (below 0: a gain)")
    bottom.axhline(0, color="black", linewidth=0.7)
    top.set_ylabel("USD bn / month")
    bottom.set_ylabel("USD bn, cumulative")
    _legend(top, ncol=2)
    _legend(bottom)
    return fig


def market_figure(model: DashboardModel) -> Figure:
    """Grey-market premium over list price, and the domestic share of new compute."""
    fig, (top, bottom) = _two_panels(model, "China's market: grey premium and domestic share")
    table = model.history()
    x = _x(table)
    top.plot(x, table["grey_premium"] * 100, color=OKABE_ITO["vermillion"], linewidth=1.8,
             label="grey-market premium")
    bottom.plot(x, table["domestic_share"] * 100, color=OKABE_ITO["reddish_purple"],
                linewidth=1.8, label="domestic share of new compute")
    top.set_ylabel("% over list")
    bottom.set_ylabel("% of H100e")
    bottom.set_ylim(0, 100)
    top.set_ylim(bottom=0)
    for ax in (top, bottom):
        _legend(ax)
    return fig


def _two_panels(model: DashboardModel, title: str) -> tuple[Figure, Sequence]:
    fig = new_figure(*_FIG_SIZE)
    top, bottom = fig.subplots(2, 1, sharex=True)
    fig.subplots_adjust(left=0.13, right=0.97, top=0.86, bottom=0.1, hspace=0.12)
    fig.suptitle(title, fontsize=10.5, fontweight="bold", x=0.02, ha="left", y=0.975)
    done = model.months_done
    total = model.experiment.end - model.experiment.start + 1
    fig.text(0.02, 0.905, f"{model.experiment.name} · replication {model.replication} · "
                          f"{done} of {total} months", fontsize=8, color=GREY)
    start, end = model.experiment.start, model.experiment.end
    lo, hi = _month_x(start) - 15, _month_x(end) + 15
    for ax in (top, bottom):
        ax.set_xlim(lo, hi)
        style_panel(ax, size=8, label_size=8.5)
        for event in model.applied_events():
            event_line(ax, _month_x(event.date), linewidth=0.9, zorder=2)
    locator = AutoDateLocator(minticks=4, maxticks=9)
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return fig, (top, bottom)


def _lines(ax, table: pd.DataFrame, series) -> None:  # noqa: ANN001
    x = _x(table)
    for metric, label, colour, style in series:
        ax.plot(x, table[metric], color=colour, linewidth=1.8, linestyle=style, label=label,
                marker="o" if len(x) == 1 else None, markersize=3)
    ax.set_ylim(bottom=0)


def _legend(ax, ncol: int = 1) -> None:  # noqa: ANN001
    """A small legend where it hides the least data, on a translucent white box."""
    ax.legend(loc="best", fontsize=7.5, ncol=ncol, frameon=True, facecolor="white",
              edgecolor="none", framealpha=0.85)


def _x(table: pd.DataFrame) -> np.ndarray:
    return np.array([_month_x(parse_month(d)) for d in table["date"]])


def _month_x(month: int) -> float:
    return month_x(format_month(month))


def _compact(value: float, _pos: int) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


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
        with solara.Row(style={"flex-wrap": "wrap", "gap": "12px", "padding": "8px 12px"}):
            with solara.Card(style=card, classes=["chipsim-status"]):
                solara.HTML(tag="div", unsafe_innerHTML=status_html(model))
            for name, draw in (("channels", channels_figure), ("revenue", revenue_figure),
                               ("market", market_figure)):
                with solara.Card(style=card, classes=[f"chipsim-{name}"]):
                    solara.FigureMatplotlib(draw(model), dependencies=key, format="png")
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
