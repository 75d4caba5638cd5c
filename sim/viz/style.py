"""The look every chipsim figure shares: palette, fonts, panel style, bands, title and source line.

Figures are built with matplotlib's object API on an Agg canvas, never through ``pyplot``:
importing a figure module does not change the user's backend, the figures are not kept alive by a
global figure manager, and rendering is deterministic (fixed size, fixed margins, no automatic
layout). In a notebook a returned :class:`~matplotlib.figure.Figure` displays inline as usual.

The run figures (:mod:`sim.viz.run_figures`), the story and comparison figures
(:mod:`sim.viz.story`, :mod:`sim.viz.comparison`), the attribution waterfalls
(:mod:`sim.viz.attribution`), the discovery figures (:mod:`sim.viz.discovery`) and the
dashboard's live figures build on
the helpers here, so every chipsim figure shares one palette, panel style, title block
and source line: :data:`OKABE_ITO`, :data:`CHANNEL_COLOURS`, :func:`new_figure`,
:func:`style_panel`, :func:`plot_band`, :func:`band_handle`, :func:`title_block`,
:func:`source_line`, :func:`seeds_text`, :func:`version`. Figures over time are laid out by
:mod:`sim.viz.layout`, with the policy moves in an event strip (:mod:`sim.viz.events`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

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
    ("subsidiary_units", "Front companies (offshore)", CHANNEL_COLOURS["subsidiary"], "-"),
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
#: Margins left and right of the panels, in inches. Fixed so that output is byte-stable and
#: text never collides.
MARGIN_LEFT, MARGIN_RIGHT = 1.0, 0.35
#: Size of event labels, in points (and the default font of :func:`text_width_in`).
EVENT_FONT = 7.5


# --------------------------------------------------------------------------- figures and panels


def new_figure(width_in: float, height_in: float) -> Figure:
    """A white figure of a fixed size on its own Agg canvas (no pyplot, no global state)."""
    fig = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")
    return fig


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


def band_handle() -> Patch:
    """The legend entry that explains the shaded 5–95 % bands."""
    return Patch(facecolor=GREY, alpha=BAND_ALPHA * 1.5, label="5–95 % band")


# --------------------------------------------------------------------------- text


#: Font size of a figure's subtitle lines, points.
SUBTITLE_FONT = 9.5
#: Left and right margins of the title block together, inches.
TITLE_MARGINS_IN = 0.5


def title_block(fig: Figure, heading: str, subtitle: str | Sequence[str]) -> None:
    """The bold heading at the top and grey subtitle line(s) under it, cut to fit the width."""
    width, height = fig.get_figwidth(), fig.get_figheight()
    x = TITLE_MARGINS_IN / 2 / width
    room = width - TITLE_MARGINS_IN
    fig.text(x, 1 - 0.2 / height, fit(heading, room, FontProperties(size=13, weight="bold")),
             fontsize=13, fontweight="bold", va="top")
    lines = [subtitle] if isinstance(subtitle, str) else list(subtitle)
    for i, line in enumerate(lines):
        fig.text(x, 1 - (0.52 + 0.22 * i) / height,
                 fit(line, room, FontProperties(size=SUBTITLE_FONT)),
                 fontsize=SUBTITLE_FONT, color=GREY, va="top")


def fits_subtitle(fig: Figure, text: str) -> bool:
    """Whether ``text`` fits on one subtitle line of ``fig`` without being cut."""
    room = fig.get_figwidth() - TITLE_MARGINS_IN
    return text_width_in(text, FontProperties(size=SUBTITLE_FONT)) <= room


def source_line(fig: Figure, text: str, *, y_in: float = 0.12) -> None:
    """The small grey source line at the bottom left (``text`` as given; see :func:`version`)."""
    fig.text(0.25 / fig.get_figwidth(), y_in / fig.get_figheight(), text, fontsize=7.5,
             color=GREY, va="bottom")


def seeds_text(n_seeds: int, noun: str = "seed") -> str:
    """``"1 seed"``, ``"4 seeds"`` (or ``"4 paired seeds"`` with ``noun="paired seed"``)."""
    return f"{n_seeds} {noun}" + ("" if n_seeds == 1 else "s")


def fit(text: str, width_in: float, font: FontProperties) -> str:
    """Shorten text at a word boundary, with an ellipsis, until it fits the width."""
    text = " ".join(text.split())
    limit = len(text)
    while limit > 10 and text_width_in(text, font) > width_in:
        limit = int(limit * 0.95)
        text = textwrap.shorten(text, width=limit, placeholder="…")
    return text


def text_width_in(text: str, font: FontProperties | None = None) -> float:
    """Width of a text in inches (default font: event labels), measured by the Agg engine."""
    renderer = _measuring_canvas().get_renderer()
    width_px, _, _ = renderer.get_text_width_height_descent(
        text, font or FontProperties(size=EVENT_FONT), ismath=False)
    return width_px / renderer.dpi


_CANVAS: list[FigureCanvasAgg] = []


def _measuring_canvas() -> FigureCanvasAgg:
    """Return a small canvas, reused for measuring text."""
    if not _CANVAS:
        _CANVAS.append(FigureCanvasAgg(Figure(figsize=(1, 1), dpi=100)))
    return _CANVAS[0]


# --------------------------------------------------------------------------- ticks


def thousands(value: float, _pos: int) -> str:
    """Tick label with thousands separators."""
    return f"{value:,.0f}"


def decimals(value: float, _pos: int) -> str:
    """Tick label with up to two decimals, no trailing zeros (e.g. USD billions)."""
    if value == 0:
        return "0"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------- files


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


def version() -> str:
    """Return the installed chipsim version, or ``dev`` when running from a source tree."""
    try:
        return metadata.version("chipsim")
    except metadata.PackageNotFoundError:
        return "dev"
