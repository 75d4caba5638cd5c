"""The dashboard's live figures: the trade month by month, redrawn after every step.

Three small two-panel figures of one replication as it runs (a
:class:`~sim.app.levers.DashboardModel`): the chips reaching China by channel, US vendors'
revenue against the counterfactual twin on the same seed, and China's market (grey-market
premium, domestic share); and the chip flow so far, vendor -> channel -> Chinese buyer, as a
Sankey diagram (:func:`flows_figure`).
They share the palette, panel style and event lines of every chipsim figure (:mod:`sim.viz`),
at the dashboard's card size. The moves applied so far are numbered at their dates, with a
compact key under the plot (:func:`sim.viz.events.numbered_ticks`), so the data keeps the room.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.app.levers import DashboardModel
from sim.viz.events import event_key, month_x, number_events, numbered_ticks
from sim.viz.story import chip_flows
from sim.viz.style import (
    CHANNEL_COLOURS,
    CHANNEL_SERIES,
    FIG_WIDTH,
    GREY,
    OKABE_ITO,
    TEXT,
    new_figure,
    style_panel,
)
from sim.world.months import format_month, parse_month

#: (metric, label, colour, line style) of the channels drawn in the top and bottom panels.
_CHANNELS_BIG = (("legal_export_units", "Legal exports", CHANNEL_COLOURS["legal"], "-"),
                 ("domestic_units", "Domestic chips", CHANNEL_COLOURS["domestic"], "-"))
_CHANNELS_SMALL = CHANNEL_SERIES
_FIG_SIZE = (5.2, 3.6)
#: Inches above and below the panels (title, subtitle; dates), and per line of the key.
_TOP_IN, _BOTTOM_IN, _KEY_LINE_IN = 0.72, 0.36, 0.12


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
    start, end = model.experiment.start, model.experiment.end
    lo, hi = _month_x(start) - 15, _month_x(end) + 15
    moves = number_events(((format_month(e.date), _label(e)) for e in model.applied_events()),
                          lo, hi)
    width, base_h = _FIG_SIZE
    key = event_key(moves, width - 0.3)
    height = base_h + _KEY_LINE_IN * len(key)
    fig = new_figure(width, height)
    top, bottom = fig.subplots(2, 1, sharex=True)
    fig.subplots_adjust(left=0.13, right=0.97, top=1 - _TOP_IN / height,
                        bottom=(_BOTTOM_IN + _KEY_LINE_IN * len(key)) / height, hspace=0.12)
    fig.suptitle(title, fontsize=10.5, fontweight="bold", x=0.02, ha="left",
                 y=1 - 0.09 / height)
    done = model.months_done
    total = end - start + 1
    fig.text(0.02, 1 - 0.34 / height, f"{model.experiment.name} · replication"
                                      f" {model.replication} · {done} of {total} months",
             fontsize=8, color=GREY)
    for ax in (top, bottom):
        ax.set_xlim(lo, hi)
        style_panel(ax, size=8, label_size=8.5)
    numbered_ticks([top, bottom], moves)
    for i, line in enumerate(key):
        fig.text(0.15 / width, (0.08 + _KEY_LINE_IN * (len(key) - 1 - i)) / height, line,
                 fontsize=6.5, color=TEXT, va="bottom", gid="event-key")
    locator = AutoDateLocator(minticks=4, maxticks=9)
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return fig, (top, bottom)


def _label(event) -> str:  # noqa: ANN001 - a sim.scenario.events.Event
    return " ".join(event.note.split()) or event.move.name


def flows_figure(model: DashboardModel) -> Figure:
    """Where the chips went so far: vendor -> channel -> Chinese buyer class (Sankey).

    Before the first month (or while no chip has reached a Chinese buyer) it says so.
    """
    flows = model.chip_flows()
    if flows is not None:
        try:
            return chip_flows(flows)
        except ValueError:  # no chips reached Chinese buyers yet
            pass
    fig = new_figure(FIG_WIDTH, 1.2)
    fig.text(0.02, 0.6, "Where the chips went: no chips delivered yet — press Step.",
             fontsize=11, color=GREY, va="center")
    return fig


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
