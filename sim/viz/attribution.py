"""The waterfall of an attribution (``chipsim attribute``): who moved a metric by how much.

Drawn from the rows of ``attribution.csv`` for one metric, with the object API on an Agg canvas
like every chipsim figure. Each player (a group of moves, or one move) is a horizontal step
that starts where the previous one ended, by its mean Shapley value over seeds - the means add
up, so the last step ends at the total, drawn from 0 under them. The whisker on a step is the
5-95 % range of that player's value over seeds (where the step would end in a seed at the 5th
and 95th percentiles), the dot its median; percentiles do not add up, only means do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from sim.viz.style import (
    EVENT_LINE,
    OKABE_ITO,
    TEXT,
    decimals,
    new_figure,
    seeds_text,
    source_line,
    style_panel,
    text_width_in,
    thousands,
    title_block,
    version,
)

#: The row that all steps lead to.
TOTAL = "total"
UP, DOWN, WHOLE = OKABE_ITO["blue"], OKABE_ITO["orange"], "#4d4d4d"
#: Heading of the figures ``chipsim attribute`` draws.
HEADINGS: dict[str, str] = {
    "revenue_loss_usd": "Which moves cost US vendors what: revenue loss shared among the moves",
    "diverted_units": "Which moves drove diversion: chips diverted, shared among the moves",
}
_WIDTH = 9.0
_ROW = 0.5


def waterfall(table: pd.DataFrame, metric: str, *, title: str, n_seeds: int,
              method: str) -> Figure:
    """The waterfall of one metric.

    Args:
        table: ``attribution.csv``: ``group``, ``metric``, ``unit``, ``mean``, ``p05``,
            ``p50``, ``p95``; the rows of ``metric``, the ``total`` row last.
        metric: the metric to draw.
        title: the scenario's title (subtitle).
        n_seeds: paired seeds the values are over.
        method: how the values were computed, in words (subtitle).

    Returns:
        The figure (save it with :func:`sim.viz.style.save`).

    Raises:
        ValueError: the table has no rows of ``metric``, or no ``total`` row.

    """
    rows = table[table["metric"] == metric].reset_index(drop=True)
    if rows.empty or TOTAL not in set(rows["group"]):
        raise ValueError(f"the attribution table has no total of {metric!r}")
    steps = rows[rows["group"] != TOTAL].reset_index(drop=True)
    total = rows[rows["group"] == TOTAL].iloc[0]
    scale, axis_label, formatter = _scale(str(total["unit"]))
    names = [*steps["group"].astype(str), "total"]
    label_w = max(text_width_in(n, FontProperties(size=9.5)) for n in names)
    left = min(max(label_w + 0.35, 1.4), 4.0)
    plot_h = _ROW * (len(names) + 0.6)
    top, bottom = 1.0, 1.35
    height = top + plot_h + bottom
    fig = new_figure(_WIDTH, height)
    ax = fig.add_axes([left / _WIDTH, bottom / height, (_WIDTH - left - 1.2) / _WIDTH,
                       plot_h / height])
    start = 0.0
    for y, row in steps.iterrows():
        mean = float(row["mean"]) / scale
        _step(ax, float(y), start, mean, row, scale, UP if mean >= 0 else DOWN)
        ax.plot([start + mean] * 2, [y, y + 1], color=EVENT_LINE, linestyle=":",
                linewidth=0.9, zorder=1)
        start += mean
    _step(ax, float(len(steps)), 0.0, float(total["mean"]) / scale, total, scale, WHOLE)
    ax.set_yticks(np.arange(len(names)), names, fontsize=9.5)
    ax.get_yticklabels()[-1].set_fontweight("bold")
    ax.set_ylim(len(names) - 0.4, -0.6)
    ax.axvline(0.0, color=OKABE_ITO["black"], linewidth=0.8, zorder=1)
    style_panel(ax, grid="x")
    ax.xaxis.set_major_formatter(FuncFormatter(formatter))
    ax.set_xlabel(f"{metric}, {axis_label} (difference from the counterfactual)", fontsize=10)
    handles = [Patch(color=UP, label="raises it"), Patch(color=DOWN, label="lowers it"),
               Patch(color=WHOLE, label="total"),
               Line2D([], [], color=TEXT, marker="o", markersize=4, linewidth=1,
                      label="median and 5–95 % over seeds")]
    fig.legend(handles=handles, loc="upper center", ncol=4, frameon=False, fontsize=9,
               bbox_to_anchor=(0.5, 0.62 / height))
    heading = HEADINGS.get(metric, f"{metric} shared among the moves")
    title_block(fig, heading, [f"{title} · {seeds_text(n_seeds, 'paired seed')}", method])
    source_line(fig, f"chipsim {version()}; bars: mean over seeds of each Shapley value (the"
                     " means add up to the total); whiskers: 5–95 % over seeds; dots: medians")
    return fig


def _step(ax, y: float, start: float, mean: float, row: pd.Series, scale: float,
          colour: str) -> None:
    """One bar from ``start`` by ``mean``, its whisker and median dot, and its value."""
    ax.barh(y, mean, left=start, height=0.56, color=colour, zorder=2)
    low, mid, high = (start + float(row[c]) / scale for c in ("p05", "p50", "p95"))
    if np.isfinite([low, mid, high]).all():
        ax.plot([low, high], [y, y], color=TEXT, linewidth=1.0, zorder=3)
        ax.plot([mid], [y], "o", color=TEXT, markersize=3.5, zorder=4)
    right = max(start, start + mean, high if np.isfinite(high) else start)
    ax.annotate(_number(mean), (right, y),
                xytext=(5, 0), textcoords="offset points", va="center", ha="left",
                fontsize=8.5, color=TEXT, zorder=5)


def _scale(unit: str) -> tuple[float, str, object]:
    """Divisor, axis words and tick formatter of a unit."""
    if unit == "USD":
        return 1e9, "USD billions", decimals
    if unit == "units":
        return 1.0, "chips", thousands
    return 1.0, unit, decimals


def _number(value: float) -> str:
    """A step's value: signed; three significant digits, or whole numbers from 100 to 9,999."""
    if not np.isfinite(value):
        return ""
    size = abs(value)
    if size >= 1e4:
        text = f"{value / 1e3:+,.3g}k"
    else:
        text = f"{value:+,.0f}" if size >= 100 else f"{value:+.3g}"
    return text.replace("-", "−")
