"""The standard figures of a run: diverted volumes by channel, and revenue loss by US vendor.

Both figures show the median over seeds with a 5–95 % band, mark every policy move of the
scenario at its date, and carry their context (scenario, seed count, package version) so a
PNG that travels alone still says what it is.

Figures are built with matplotlib's object API on an Agg canvas, never through ``pyplot``:
importing this module does not change the user's backend, the figures are not kept alive by a
global figure manager, and rendering is deterministic (fixed size, fixed margins, no automatic
layout). In a notebook a returned :class:`~matplotlib.figure.Figure` displays inline as usual.

Event labels sit in a strip above the plot, one row per label as needed: a label is written
horizontally from its date and moved to the next row up when it would overlap the previous one,
so many moves in the same month or quarter stay readable.

The other figure modules (:mod:`sim.viz.story`, :mod:`sim.viz.comparison`) and the
dashboard (:mod:`sim.app.dashboard`) build on the public helpers here, so every chipsim figure shares one
palette, panel style, event marking, title block and source line: :data:`OKABE_ITO`,
:data:`CHANNEL_COLOURS`, :func:`new_figure`, :func:`make_layout`, :func:`style_panel`,
:func:`plot_band`, :func:`band_handle`, :func:`mark_events`, :func:`event_line`,
:func:`legend`, :func:`title_block`, :func:`source_line`, :func:`seeds_text`, :func:`version`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import (
    AutoDateLocator,
    ConciseDateFormatter,
    DateFormatter,
    MonthLocator,
    date2num,
)
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from sim.viz.bands import band
from sim.world.actors import US_VENDORS

Event = tuple[str, str]

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Colour of each channel chips reach China through, in every figure and the dashboard.
CHANNEL_COLOURS: dict[str, str] = {
    "legal": OKABE_ITO["orange"],
    "domestic": OKABE_ITO["reddish_purple"],
    "subsidiary": OKABE_ITO["bluish_green"],
    "cloud": OKABE_ITO["blue"],
    "smuggled": OKABE_ITO["vermillion"],
    "seized": OKABE_ITO["black"],
}

#: (metric, legend label, colour, line style) of the diversion figure, in drawing order.
CHANNEL_SERIES: tuple[tuple[str, str, str, str], ...] = (
    ("smuggled_units", "Smuggled", CHANNEL_COLOURS["smuggled"], "-"),
    ("cloud_units", "Offshore cloud (new GPUs)", CHANNEL_COLOURS["cloud"], "-"),
    ("subsidiary_units", "Offshore subsidiaries", CHANNEL_COLOURS["subsidiary"], "-"),
    ("seized_units", "Seized", CHANNEL_COLOURS["seized"], "--"),
)

VENDOR_LABELS: dict[str, str] = {"nvidia": "Nvidia", "amd": "AMD", "small_us": "Small US vendor"}
VENDOR_COLOURS: dict[str, str] = {
    "nvidia": OKABE_ITO["bluish_green"],
    "amd": OKABE_ITO["vermillion"],
    "small_us": OKABE_ITO["blue"],
}

#: Secondary text (subtitles, source lines), event markers.
GREY = "#555555"
#: Dotted event lines and leaders.
EVENT_LINE = "#8c8c8c"
#: Labels and annotations.
TEXT = "#222222"
#: Horizontal grid lines of the panels.
GRID = "#e3e3e3"
#: Opacity of a 5–95 % band drawn with a solid median line.
BAND_ALPHA = 0.18

#: Width of the standard figures, in inches.
FIG_WIDTH = 11.0
# Layout, in inches and points. Fixed so that output is byte-stable and text never collides.
_LEFT, _RIGHT = 1.0, 0.35
_TOP_TEXT = 0.85  # title and subtitle
_BOTTOM_TEXT = 1.05  # tick labels, legend, source line
_PANEL_GAP = 0.35
_STRIP_ROW = 0.17  # height of one row of event labels
_STRIP_PAD = 0.12
_EVENT_FONT = 7.5
_EVENT_MAX_CHARS = 48


@dataclass(frozen=True)
class Layout:
    """A built figure and its axes: the event strip on top, then the panels."""

    figure: Figure
    strip: Axes
    panels: list[Axes]
    labels: list[tuple[_Label, int]]  # event labels and their rows in the strip


# --------------------------------------------------------------------------- public figures


def diverted_volumes(timeseries: pd.DataFrame, events: Sequence[Event], *, scenario: str,
                     title: str, n_seeds: int) -> Figure:
    """Diverted chips per month by channel, with seizures, median and 5–95 % band.

    Args:
        timeseries: One row per (seed, month) with ``seed``, ``date`` and the metric columns.
        events: Policy moves as ``(date "YYYY-MM", label)``, marked at their dates.
        scenario: Scenario name, shown in the subtitle.
        title: Scenario title, shown in the heading.
        n_seeds: Number of replications, shown in the subtitle and source line.

    Returns:
        The figure (not yet saved; see :func:`save`).

    """
    layout = make_layout(dates(timeseries), events, panel_heights=[4.4])
    ax = layout.panels[0]
    handles: list[Line2D | Patch] = []
    for metric, label, colour, style in CHANNEL_SERIES:
        handles.append(plot_band(ax, band(timeseries, metric), label, colour, style))
    ax.set_ylabel("chips per month (units)")
    ax.yaxis.set_major_formatter(FuncFormatter(thousands))
    ax.set_ylim(bottom=0)
    mark_events(layout)
    legend(layout, [*handles, band_handle()])
    annotate(layout, heading=f"Chips diverted around export controls, by channel — {title}",
             scenario=scenario, n_seeds=n_seeds)
    return layout.figure


def revenue_loss(timeseries: pd.DataFrame, events: Sequence[Event], *, scenario: str,
                 title: str, n_seeds: int) -> Figure:
    """US vendors' revenue loss against the counterfactual: monthly and cumulative panels.

    Loss is counterfactual minus scenario revenue for the same seed, so a positive value is
    revenue lost to the policy and a negative one revenue gained.

    Args:
        timeseries: One row per (seed, month) with ``seed``, ``date`` and the metric columns.
        events: Policy moves as ``(date "YYYY-MM", label)``, marked at their dates.
        scenario: Scenario name, shown in the subtitle.
        title: Scenario title, shown in the heading.
        n_seeds: Number of replications, shown in the subtitle and source line.

    Returns:
        The figure (not yet saved; see :func:`save`).

    """
    layout = make_layout(dates(timeseries), events, panel_heights=[2.9, 2.9])
    monthly, cumulative = layout.panels
    handles: list[Line2D | Patch] = []
    for vendor in US_VENDORS:
        metric = f"revenue_loss_usd_{vendor}"
        colour, label = VENDOR_COLOURS[vendor], VENDOR_LABELS[vendor]
        handles.append(plot_band(monthly, band(timeseries, metric) / 1e9, label, colour, "-"))
        plot_band(cumulative, band(timeseries, metric, cumulative=True) / 1e9, label, colour,
                  "-")
    monthly.set_ylabel("monthly loss\n(USD billions per month)")
    # Say what a negative loss means where it shows: stockpiling ahead of a rule is a gain.
    monthly.text(0.005, 0.02, "below 0: sold more than without the moves (e.g. stockpiling"
                 " ahead of a ban)", transform=monthly.transAxes, fontsize=9,
                 color=OKABE_ITO["black"], alpha=0.7, va="bottom")
    cumulative.set_ylabel("cumulative loss since start\n(USD billions)")
    for ax in (monthly, cumulative):
        ax.axhline(0.0, color=OKABE_ITO["black"], linewidth=0.8, zorder=1)
        ax.yaxis.set_major_formatter(FuncFormatter(decimals))
    monthly.tick_params(labelbottom=False)
    mark_events(layout)
    legend(layout, [*handles, band_handle()])
    annotate(layout, heading=f"US vendors' revenue loss against the counterfactual — {title}",
             scenario=scenario, n_seeds=n_seeds)
    return layout.figure


def save(fig: Figure, path_without_suffix: Path | str, *, dpi: int = 150) -> list[Path]:
    """Write a figure as PNG and SVG next to each other.

    Metadata that would change from run to run (the SVG date, random SVG ids) is fixed, so the
    same figure gives the same files.

    Args:
        fig: The figure.
        path_without_suffix: Target path without extension, e.g. ``out/figures/revenue_loss``.
        dpi: Resolution of the PNG.

    Returns:
        The paths written: ``[<path>.png, <path>.svg]``.

    """
    base = Path(path_without_suffix)
    base.parent.mkdir(parents=True, exist_ok=True)
    png, svg = base.with_name(base.name + ".png"), base.with_name(base.name + ".svg")
    with mpl.rc_context({"svg.hashsalt": "chipsim", "svg.fonttype": "path"}):
        fig.savefig(png, dpi=dpi, format="png", facecolor="white")
        fig.savefig(svg, format="svg", facecolor="white", metadata={"Date": None})
    return [png, svg]


# --------------------------------------------------------------------------- shared helpers


def new_figure(width_in: float, height_in: float) -> Figure:
    """A white figure of a fixed size on its own Agg canvas (no pyplot, no global state)."""
    fig = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")
    return fig


def make_layout(dates: pd.DatetimeIndex, events: Sequence[Event], *,
                panel_heights: Sequence[float]) -> Layout:
    """Create the figure: event strip on top, then the panels, sharing the date axis.

    Args:
        dates: The months plotted (see :func:`dates`).
        events: Policy moves as ``(date "YYYY-MM", label)``; those outside the months are
            left out.
        panel_heights: Height of each panel, top to bottom, in inches.

    """
    x_min, x_max = _x_limits(dates)
    placed = _layout_labels(_visible_events(events, x_min, x_max), x_min, x_max)
    n_rows = max((row + 1 for _, row in placed), default=0)
    strip_h = _STRIP_PAD * 2 + _STRIP_ROW * n_rows
    panels_h = sum(panel_heights) + _PANEL_GAP * (len(panel_heights) - 1)
    height = _TOP_TEXT + strip_h + panels_h + _BOTTOM_TEXT
    fig = new_figure(FIG_WIDTH, height)

    def rect(top_in: float, h_in: float) -> list[float]:
        return [_LEFT / FIG_WIDTH, 1 - (top_in + h_in) / height,
                (FIG_WIDTH - _LEFT - _RIGHT) / FIG_WIDTH, h_in / height]

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
    return Layout(fig, strip, panels, placed)


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


def style_panel(ax: Axes, *, size: float = 9, label_size: float = 10,
                grid: str = "y") -> None:
    """The panel style of every chipsim figure: light grid, no top/right spines.

    Args:
        ax: The panel.
        size: Tick label size, in points.
        label_size: Axis label size, in points (of the axis across the grid lines).
        grid: ``"y"`` for horizontal grid lines (time series), ``"x"`` for vertical ones
            (horizontal bars).

    """
    ax.grid(axis=grid, color=GRID, linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=size)
    (ax.yaxis if grid == "y" else ax.xaxis).label.set_size(label_size)


def band_handle() -> Patch:
    """The legend entry that explains the shaded 5–95 % bands."""
    return Patch(facecolor=GREY, alpha=BAND_ALPHA * 1.5, label="5–95 % band")


def legend(layout: Layout, handles: Sequence[Line2D | Patch], *,
           ncol: int | None = None) -> None:
    """The legend below the lowest panel: one row (``ncol`` entries a row if given)."""
    fig = layout.figure
    height = fig.get_figheight()
    fig.legend(handles=list(handles), loc="upper center", ncol=ncol or len(handles),
               frameon=False, fontsize=9,
               bbox_to_anchor=(0.5 + (_LEFT - _RIGHT) / 2 / FIG_WIDTH,
                               (_BOTTOM_TEXT - 0.38) / height))


def title_block(fig: Figure, heading: str, subtitle: str | Sequence[str]) -> None:
    """The bold heading at the top and grey subtitle line(s) under it, cut to fit the width."""
    width, height = fig.get_figwidth(), fig.get_figheight()
    x = 0.25 / width
    fig.text(x, 1 - 0.2 / height, fit(heading, width - 0.5, FontProperties(size=13,
                                                                          weight="bold")),
             fontsize=13, fontweight="bold", va="top")
    lines = [subtitle] if isinstance(subtitle, str) else list(subtitle)
    for i, line in enumerate(lines):
        fig.text(x, 1 - (0.52 + 0.22 * i) / height,
                 fit(line, width - 0.5, FontProperties(size=9.5)), fontsize=9.5, color=GREY,
                 va="top")


def source_line(fig: Figure, text: str, *, y_in: float = 0.12) -> None:
    """The small grey source line at the bottom left (``text`` as given; see :func:`version`)."""
    fig.text(0.25 / fig.get_figwidth(), y_in / fig.get_figheight(), text, fontsize=7.5,
             color=GREY, va="bottom")


def seeds_text(n_seeds: int, noun: str = "seed") -> str:
    """``"1 seed"``, ``"4 seeds"`` (or ``"4 paired seeds"`` with ``noun="paired seed"``)."""
    return f"{n_seeds} {noun}" + ("" if n_seeds == 1 else "s")


def annotate(layout: Layout, *, heading: str, scenario: str, n_seeds: int) -> None:
    """Title, subtitle (scenario and seeds) and the source line of a single-scenario figure."""
    seeds = seeds_text(n_seeds)
    subtitle = f"Scenario: {scenario} · {seeds}"
    if layout.labels:
        subtitle += " · dotted lines: policy moves"
    title_block(layout.figure, heading, subtitle)
    source_line(layout.figure, f"chipsim {version()}; median and 5–95 % band over {seeds}")


def fit(text: str, width_in: float, font: FontProperties) -> str:
    """Shorten text at a word boundary, with an ellipsis, until it fits the width."""
    text = " ".join(text.split())
    limit = len(text)
    while limit > 10 and text_width_in(text, font) > width_in:
        limit = int(limit * 0.95)
        text = textwrap.shorten(text, width=limit, placeholder="…")
    return text


# --------------------------------------------------------------------------- data and series


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


def plot_band(ax: Axes, stats: pd.DataFrame, label: str, colour: str, style: str) -> Line2D:
    """Draw a median line and its 5–95 % band; return the line for the legend.

    Args:
        ax: The panel.
        stats: ``p05``, ``p50``, ``p95`` by month ``YYYY-MM`` (see :func:`sim.viz.bands.band`).
        label: Legend label.
        colour: Line and band colour.
        style: Line style; bands of dashed or dotted lines are lighter.

    """
    x = date2num(pd.to_datetime(stats.index, format="%Y-%m").to_pydatetime())
    alpha = BAND_ALPHA if style == "-" else BAND_ALPHA * 0.6
    ax.fill_between(x, stats["p05"].to_numpy(), stats["p95"].to_numpy(), color=colour,
                    alpha=alpha, linewidth=0, zorder=2)
    marker = "o" if len(x) < 3 else None  # a line needs two points; show lone months
    (line,) = ax.plot(x, stats["p50"].to_numpy(), color=colour, linestyle=style, linewidth=1.8,
                      marker=marker, markersize=4, label=label, zorder=3)
    return line


def thousands(value: float, _pos: int) -> str:
    """Tick label with thousands separators."""
    return f"{value:,.0f}"


def decimals(value: float, _pos: int) -> str:
    """Tick label with up to two decimals, no trailing zeros (e.g. USD billions)."""
    if value == 0:
        return "0"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def version() -> str:
    """Return the installed chipsim version, or ``dev`` when running from a source tree."""
    try:
        return metadata.version("chipsim")
    except metadata.PackageNotFoundError:
        return "dev"


# --------------------------------------------------------------------------- events


def month_x(date: str) -> float:
    """Matplotlib date number of the first of a month ``YYYY-MM`` (an event's date)."""
    return float(date2num(pd.to_datetime(str(date), format="%Y-%m").to_pydatetime()))


def _visible_events(events: Iterable[Event], x_min: float,
                    x_max: float) -> list[tuple[float, str]]:
    """Events inside the plotted range as ``(x, label)``, sorted by date then given order."""
    out = [(month_x(date), _short(label)) for date, label in events]
    out = [(x, label) for x, label in out if x_min <= x <= x_max]
    return sorted(out, key=lambda item: item[0])  # stable: same-month events keep their order


def _short(label: str) -> str:
    """One line, at most :data:`_EVENT_MAX_CHARS` characters."""
    return textwrap.shorten(" ".join(str(label).split()), width=_EVENT_MAX_CHARS, placeholder="…")


def text_width_in(text: str, font: FontProperties | None = None) -> float:
    """Width of a text in inches (default font: event labels), measured by the Agg engine."""
    renderer = _measuring_canvas().get_renderer()
    width_px, _, _ = renderer.get_text_width_height_descent(
        text, font or FontProperties(size=_EVENT_FONT), ismath=False)
    return width_px / renderer.dpi


_CANVAS: list[FigureCanvasAgg] = []


def _measuring_canvas() -> FigureCanvasAgg:
    """Return a small canvas, reused for measuring text."""
    if not _CANVAS:
        _CANVAS.append(FigureCanvasAgg(Figure(figsize=(1, 1), dpi=100)))
    return _CANVAS[0]


@dataclass(frozen=True)
class _Label:
    """An event label placed in the strip; positions in inches from the strip's left edge."""

    x: float  # the event's date (matplotlib date number)
    text: str
    at: float  # the event's date, in inches from the strip's left edge
    start: float
    end: float
    right_aligned: bool  # ends at its date instead of starting there (near the right edge)


def _make_label(x: float, text: str, x_min: float, x_max: float) -> _Label:
    """Measure a label: it starts just right of its date; near the right edge it ends there."""
    axis_w = FIG_WIDTH - _LEFT - _RIGHT
    at = (x - x_min) / (x_max - x_min) * axis_w
    width = text_width_in(text) + 0.08
    if at + width <= axis_w + _RIGHT * 0.8:
        return _Label(x, text, at, at, at + width, False)
    return _Label(x, text, at, at - width, at, True)


def _crosses(line: _Label, label: _Label, gap: float = 0.06) -> bool:
    """Tell whether ``line``'s leader (at its date) would run through ``label``'s text."""
    if line is label or line.at == label.at:
        return False
    return label.start - gap < line.at < label.end + gap


def _placing_order(label: _Label, index: int) -> tuple[bool, float, int]:
    """Left-aligned labels right to left (same date: last first), then right-aligned ones."""
    if label.right_aligned:
        return True, label.at, index
    return False, -label.at, -index


def _layout_labels(events: Sequence[tuple[float, str]], x_min: float,
                   x_max: float) -> list[tuple[_Label, int]]:
    """Give each event label a row of the strip (0 = nearest the plot).

    Labels in one row never overlap, and a leader line (from the plot up to its label) never
    runs through another label: where a label covers a later event's date, the later event
    goes lower. Labels are placed right to left, each in the lowest row allowed, which builds
    a descending staircase for a cluster of close events. Right-aligned labels at the right
    edge are placed last.

    Returns:
        ``(label, row)`` pairs, in the order of ``events``.

    """
    gap = 0.08
    labels = [_make_label(x, text, x_min, x_max) for x, text in events]
    order = sorted(range(len(labels)), key=lambda i: _placing_order(labels[i], i))
    rows: dict[int, int] = {}
    for i in order:
        me = labels[i]
        lowest = 1 + max((rows[j] for j in rows if _crosses(labels[j], me)), default=-1)
        row = lowest
        while any(rows[j] == row and labels[j].start < me.end + gap
                  and me.start < labels[j].end + gap for j in rows):
            row += 1
        rows[i] = row
    return [(labels[i], rows[i]) for i in range(len(labels))]


def event_line(ax: Axes, x: float, *, colour: str = EVENT_LINE, linewidth: float = 1.0,
               zorder: float = 1.5) -> None:
    """A dotted vertical line marking a policy move at date number ``x``."""
    ax.axvline(x, color=colour, linestyle=":", linewidth=linewidth, zorder=zorder)


def mark_events(layout: Layout, colours: Mapping[Event, str] | None = None) -> None:
    """Dotted vertical lines in every panel, and labelled leaders in the strip.

    Args:
        layout: The figure, from :func:`make_layout`.
        colours: Colour of some events' leaders, dots and labels, by ``(date, label)`` as
            given to :func:`make_layout`; the others are grey. A label in :data:`EVENT_LINE`
            grey is written in :data:`TEXT` colour, like an uncoloured one.

    """
    by_place = {(month_x(date), _short(text)): colour
                for (date, text), colour in (colours or {}).items()}
    strip, placed = layout.strip, layout.labels
    for x in sorted({label.x for label, _ in placed}):
        for ax in layout.panels:
            event_line(ax, x)
    for label, row in placed:
        colour = by_place.get((label.x, label.text))
        y = _STRIP_PAD + (row + 0.5) * _STRIP_ROW
        strip.plot([label.x, label.x], [0, y], color=colour or EVENT_LINE, linestyle=":",
                   linewidth=1.0, zorder=1)
        strip.plot([label.x], [y], marker="o", markersize=2.5, color=colour or GREY, zorder=3)
        offset = -3 if label.right_aligned else 3
        text = colour if colour not in (None, EVENT_LINE) else TEXT
        strip.annotate(label.text, (label.x, y), xytext=(offset, 0), textcoords="offset points",
                       ha="right" if label.right_aligned else "left", va="center",
                       fontsize=_EVENT_FONT, color=text, zorder=4)
