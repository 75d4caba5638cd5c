"""The layout of a figure over time: event strip on top, panels sharing the dates, legend below.

Every chipsim figure over months - the run, story and comparison figures - is built on one fixed
layout (:func:`make_layout`): the title block, the event strip with the policy moves' labels
(:mod:`sim.viz.events`), the panels top to bottom sharing the date axis, then the legend and the
source line. Sizes are in inches and fixed, so output is byte-stable and text never collides;
only the strip's height varies, with the number of label rows it needs. A scenario with many
moves (the timeline has 22) would need a strip taller than the plot: past
:data:`MAX_STRIP_ROWS` rows the moves are numbered in a low strip and explained in a key
between the legend and the source line, so the data keeps the room.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import (
    AutoDateLocator,
    ConciseDateFormatter,
    DateFormatter,
    MonthLocator,
    date2num,
)
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.viz.events import (
    Event,
    EventLabel,
    NumberedMove,
    draw_labels,
    draw_numbers,
    event_key,
    event_line,
    number_events,
    number_strip_height,
    place_labels,
    strip_height,
    visible_events,
)
from sim.viz.style import (
    FIG_WIDTH,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    TEXT,
    new_figure,
    seeds_text,
    source_line,
    style_panel,
    title_block,
    version,
)

# In inches, like the margins of :mod:`sim.viz.style`.
_TOP_TEXT = 0.85  # title and subtitle
_BOTTOM_TEXT = 1.05  # tick labels, legend, source line
_PANEL_GAP = 0.35
_LEGEND_ROW = 0.22  # one more row of the legend
_KEY_LINE = 0.15  # one line of the numbered moves' key
_KEY_FONT = 7.0
#: Most rows of labels the event strip takes; with more, moves are numbered and keyed.
MAX_STRIP_ROWS = 6


@dataclass(frozen=True)
class Layout:
    """A built figure and its axes: the event strip on top, then the panels."""

    figure: Figure
    strip: Axes
    panels: list[Axes]
    labels: list[tuple[EventLabel, int]]  # event labels and their rows in the strip
    moves: list[NumberedMove]  # or, with too many for the strip: the moves, numbered
    key: list[str]  # the numbered moves' key, lines under the legend
    bottom: float  # inches under the lowest panel: tick labels, legend, key, source line


def make_layout(dates: pd.DatetimeIndex, events: Sequence[Event], *,
                panel_heights: Sequence[float], legend_rows: int = 1) -> Layout:
    """Create the figure: event strip on top, then the panels, sharing the date axis.

    Args:
        dates: The months plotted (see :func:`dates`).
        events: Policy moves as ``(date "YYYY-MM", label)``; those outside the months are
            left out.
        panel_heights: Height of each panel, top to bottom, in inches.
        legend_rows: Rows the legend will take (:func:`legend`), so that the room under the
            panels holds them above the key and the source line.

    """
    x_min, x_max = _x_limits(dates)
    placed = place_labels(visible_events(events, x_min, x_max), x_min, x_max)
    strip_h = strip_height(placed)
    moves: list[NumberedMove] = []
    key: list[str] = []
    if max((row + 1 for _, row in placed), default=0) > MAX_STRIP_ROWS:
        moves = number_events(events, x_min, x_max)
        key = event_key(moves, FIG_WIDTH - 0.9, fontsize=_KEY_FONT)
        placed, strip_h = [], number_strip_height()
    bottom = _BOTTOM_TEXT + _LEGEND_ROW * (legend_rows - 1) + _KEY_LINE * len(key)
    panels_h = sum(panel_heights) + _PANEL_GAP * (len(panel_heights) - 1)
    height = _TOP_TEXT + strip_h + panels_h + bottom
    fig = new_figure(FIG_WIDTH, height)

    def rect(top_in: float, h_in: float) -> list[float]:
        return [MARGIN_LEFT / FIG_WIDTH, 1 - (top_in + h_in) / height,
                (FIG_WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / FIG_WIDTH, h_in / height]

    top = _TOP_TEXT
    strip = fig.add_axes(rect(top, strip_h))
    top += strip_h
    panels: list[Axes] = []
    for h in panel_heights:
        panels.append(fig.add_axes(rect(top, h), sharex=strip))
        top += h + _PANEL_GAP
    _style_strip(strip, x_min, x_max, strip_h)
    for ax in panels:
        style_panel(ax)
    _date_ticks(panels[-1], len(dates))
    for i, line in enumerate(key):
        fig.text(0.25 / FIG_WIDTH, (0.34 + _KEY_LINE * (len(key) - 1 - i)) / height, line,
                 fontsize=_KEY_FONT, color=TEXT, va="bottom", gid="event-key")
    return Layout(fig, strip, panels, placed, moves, key, bottom)


def dates(timeseries: pd.DataFrame) -> pd.DatetimeIndex:
    """Return the months of the table, as timestamps at the first of each month."""
    months = sorted(set(timeseries["date"].astype(str)))
    if not months:
        raise ValueError("timeseries has no rows to plot")
    return pd.DatetimeIndex(pd.to_datetime(months, format="%Y-%m"))


def _x_limits(dates: pd.DatetimeIndex) -> tuple[float, float]:
    """Return the plotted x range: the period plus half a month either side."""
    nums = date2num(dates.to_pydatetime())
    return float(nums[0] - 15), float(nums[-1] + 15)


def _date_ticks(ax: Axes, n_months: int) -> None:
    """Month ticks for short periods, automatic (months, quarters, years) otherwise."""
    if n_months < 6:
        ax.xaxis.set_major_locator(MonthLocator())
        ax.xaxis.set_major_formatter(DateFormatter("%Y-%m"))
        return
    locator = AutoDateLocator(minticks=5, maxticks=14)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _style_strip(strip: Axes, x_min: float, x_max: float, height_in: float) -> None:
    """Hide the strip's axes; its y runs in inches from the bottom of the strip."""
    strip.set_xlim(x_min, x_max)
    strip.set_ylim(0, height_in)
    strip.set_axis_off()


def mark_events(layout: Layout, colours: Mapping[Event, str] | None = None) -> None:
    """Dotted vertical lines in every panel, and labelled (or numbered) leaders in the strip.

    Args:
        layout: The figure, from :func:`make_layout`.
        colours: Colour of some events' leaders, dots and labels, by ``(date, label)`` as
            given to :func:`make_layout`; the others are grey. A label in
            :data:`~sim.viz.style.EVENT_LINE` grey is written in :data:`~sim.viz.style.TEXT`
            colour, like an uncoloured one.

    """
    for x in sorted({label.x for label, _ in layout.labels} | {m.x for m in layout.moves}):
        for ax in layout.panels:
            event_line(ax, x)
    draw_labels(layout.strip, layout.labels, colours)
    draw_numbers(layout.strip, layout.moves, colours)


def legend(layout: Layout, handles: Sequence[Line2D | Patch], *,
           ncol: int | None = None) -> None:
    """The legend below the lowest panel: one row (``ncol`` entries a row if given)."""
    fig = layout.figure
    height = fig.get_figheight()
    fig.legend(handles=list(handles), loc="upper center", ncol=ncol or len(handles),
               frameon=False, fontsize=9,
               bbox_to_anchor=(0.5 + (MARGIN_LEFT - MARGIN_RIGHT) / 2 / FIG_WIDTH,
                               (layout.bottom - 0.38) / height))


def annotate(layout: Layout, *, heading: str, scenario: str, n_seeds: int) -> None:
    """Title, subtitle (scenario and seeds) and the source line of a single-scenario figure."""
    seeds = seeds_text(n_seeds)
    subtitle = f"Scenario: {scenario} · {seeds}"
    if layout.labels:
        subtitle += " · dotted lines: policy moves"
    elif layout.moves:
        subtitle += " · dotted lines: policy moves, numbered (key below)"
    title_block(layout.figure, heading, subtitle)
    source_line(layout.figure, f"chipsim {version()}; median and 5–95 % band over {seeds}")
