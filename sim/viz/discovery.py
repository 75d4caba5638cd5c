"""Figures of scenario discovery (``chipsim discover``): PRIM's peeling trade-off and its box.

Drawn from tables alone (the peeling trajectory and the rows of ``boxes.csv``), with the object
API on an Agg canvas like every chipsim figure; EMA Workbench's own plots draw through
``pyplot`` and are not used.

* :func:`peeling_tradeoff` - density against coverage of every box on the peeling trajectory,
  coloured by the number of inputs the box restricts, the chosen box circled;
* :func:`box_limits` - the chosen box: for each input it restricts, the range explored (grey)
  and the box's range (coloured), with the quasi-p value of the restriction.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.viz.style import (
    GREY,
    OKABE_ITO,
    TEXT,
    new_figure,
    source_line,
    style_panel,
    title_block,
    version,
)

#: Colours of boxes by the number of inputs they restrict (0, 1, 2, ... then repeating).
_DIMENSION_COLOURS = (OKABE_ITO["black"], OKABE_ITO["sky_blue"], OKABE_ITO["orange"],
                      OKABE_ITO["bluish_green"], OKABE_ITO["reddish_purple"],
                      OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["yellow"])
_WIDTH = 8.0


def peeling_tradeoff(trajectory: pd.DataFrame, chosen: int, *, heading: str,
                     subtitle: str) -> Figure:
    """Density against coverage along the peeling trajectory.

    Args:
        trajectory: One row per box: ``coverage``, ``density``, ``res_dim``.
        chosen: Index of the chosen box.
        heading: The figure's title.
        subtitle: The line under it.

    """
    height = 6.2
    fig = new_figure(_WIDTH, height)
    ax = fig.add_axes((0.9 / _WIDTH, 1.0 / height, 5.2 / _WIDTH, 4.2 / height))
    style_panel(ax, grid="both")
    coverage, density = trajectory["coverage"], trajectory["density"]
    ax.plot(coverage, density, color=GREY, linewidth=0.8, zorder=2)
    dims = trajectory["res_dim"].astype(int)
    colours = [_DIMENSION_COLOURS[d % len(_DIMENSION_COLOURS)] for d in dims]
    ax.scatter(coverage, density, c=colours, s=28, zorder=3, edgecolors="white",
               linewidths=0.5)
    row = trajectory.iloc[chosen]
    ax.scatter([row["coverage"]], [row["density"]], s=170, facecolors="none",
               edgecolors=OKABE_ITO["vermillion"], linewidths=1.8, zorder=4)
    ax.annotate(f"chosen: box {chosen}\ncoverage {row['coverage']:.2f},"
                f" density {row['density']:.2f}", (row["coverage"], row["density"]),
                xytext=(-12, -26), textcoords="offset points", ha="right", fontsize=8.5,
                color=TEXT)
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("coverage: share of the cases of interest inside the box")
    ax.set_ylabel("density: share of the box that are cases of interest")
    ax.xaxis.label.set_size(9.5)
    handles = [Line2D([], [], marker="o", linestyle="", color=_DIMENSION_COLOURS[
        d % len(_DIMENSION_COLOURS)], label=f"{d} input{'' if d == 1 else 's'} restricted")
               for d in sorted(set(dims))]
    fig.legend(handles=handles, loc="upper left", frameon=False, fontsize=8.5,
               bbox_to_anchor=(6.3 / _WIDTH, 3.2 / height))
    title_block(fig, heading, [subtitle, "Each point is a box on PRIM's peeling trajectory,"
                                         " from the whole space (right) to the smallest box"])
    source_line(fig, f"chipsim {version()}; PRIM (EMA Workbench)")
    return fig


def box_limits(rows: pd.DataFrame, *, heading: str, subtitle: str) -> Figure:
    """The chosen box: each restricted input's range in the box against the range explored.

    Args:
        rows: The chosen box's rows of ``boxes.csv`` (``input``, ``low``, ``high``,
            ``restricted``, ``qp_low``, ``qp_high``) with the range explored of each input
            (box 0's limits) as ``space_low`` and ``space_high``.
        heading: The figure's title.
        subtitle: The line under it.

    """
    restricted = rows[rows["restricted"]].reset_index(drop=True)
    n = max(1, len(restricted))
    height = 1.9 + 0.55 * n
    fig = new_figure(_WIDTH, height)
    ax = fig.add_axes((2.9 / _WIDTH, 0.75 / height, 4.0 / _WIDTH, (0.55 * n) / height))
    style_panel(ax, grid="x")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_yticks(range(n))
    ax.set_xticks([0, 0.5, 1])
    ax.set_xticklabels(["lowest explored", "", "highest explored"], fontsize=8)
    for label, align in zip(ax.get_xticklabels(), ("left", "center", "right"), strict=True):
        label.set_horizontalalignment(align)
    if restricted.empty:
        ax.set_yticklabels([""])
        ax.text(0.5, 0, "no input restricted: the box is the whole space", ha="center",
                va="center", fontsize=9, color=GREY)
    else:
        ax.set_yticklabels(restricted["input"], fontsize=8.5)
        for i, row in restricted.iterrows():
            lo, hi = float(row["space_low"]), float(row["space_high"])
            span = (hi - lo) or 1.0
            a, b = (float(row["low"]) - lo) / span, (float(row["high"]) - lo) / span
            ax.barh(i, 1.0, left=0.0, height=0.5, color="#e6e6e6", zorder=2)
            ax.barh(i, b - a, left=a, height=0.5, color=OKABE_ITO["blue"], zorder=3)
            ax.text(a, i - 0.34, f"{float(row['low']):.3g}", ha="center", va="bottom",
                    fontsize=7.5, color=TEXT)
            ax.text(b, i - 0.34, f"{float(row['high']):.3g}", ha="center", va="bottom",
                    fontsize=7.5, color=TEXT)
            ax.text(1.05, i, _qp_text(row), ha="left", va="center", fontsize=7.5,
                    color=GREY)
    title_block(fig, heading, subtitle)
    source_line(fig, f"chipsim {version()}; blue: the box's range of each input it restricts;"
                     " grey: the range explored; qp: quasi-p value (Bryant & Lempert 2010)")
    return fig


def _qp_text(row: pd.Series) -> str:
    values = [float(v) for v in (row["qp_low"], row["qp_high"]) if pd.notna(v)]
    return f"qp {max(values):.2g}" if values else ""
