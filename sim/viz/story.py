"""Figures that tell the story of a run: where the chips went, and how China's market answered.

Three figures, in the style of :mod:`sim.viz.style` (matplotlib object API on an Agg canvas,
Okabe-Ito colours, fixed layout, scenario name and seed count in the subtitle, a source line):

* :func:`chip_flows` — an alluvial (Sankey) diagram of the chips delivered over a period:
  vendor -> channel (legal, domestic, offshore cloud, front companies, smuggled, seized) ->
  Chinese buyer class. The vendor and buyer detail is not in ``timeseries.csv``; it is measured
  from model runs (by the analysis layer) into a :class:`ChipFlows`.
* :func:`market_response` — the domestic share of new Chinese compute and the grey-market
  premium over time, median and 5–95 % band, with the policy moves marked.
* :func:`metric_bands` — any metrics of the timeseries over time, with bands and moves: the
  building block the notebooks use for single-chip stories (e.g. legal H20 exports).

Save any of them as PNG and SVG with :func:`sim.viz.style.save`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter

from sim.viz.bands import band
from sim.viz.events import Event
from sim.viz.layout import annotate, dates, legend, make_layout, mark_events
from sim.viz.style import (
    CHANNEL_COLOURS,
    FIG_WIDTH,
    GREY,
    OKABE_ITO,
    TEXT,
    VENDOR_LABELS,
    band_handle,
    decimals,
    new_figure,
    plot_band,
    seeds_text,
    source_line,
    thousands,
    title_block,
    version,
)

#: Channels of the flow diagram, top to bottom, with their labels and colours (the colours of
#: :data:`sim.viz.style.CHANNEL_COLOURS`, as in every other figure).
CHANNELS: dict[str, tuple[str, str]] = {
    channel: (label, CHANNEL_COLOURS[channel]) for channel, label in (
        ("legal", "Legal exports"),
        ("subsidiary", "Front companies (offshore)"),
        ("cloud", "Offshore cloud (GPUs rented)"),
        ("smuggled", "Smuggled"),
        ("seized", "Seized"),
        ("domestic", "Domestic chips"),
    )
}
#: Vendors, top to bottom (US first, then domestic).
VENDORS: dict[str, str] = {**VENDOR_LABELS, "huawei": "Huawei", "cambricon": "Cambricon"}
#: Receivers, top to bottom: the buyer classes of :data:`sim.world.actors.BUYER_CLASSES`, and
#: nobody for seized chips.
RECEIVERS: dict[str, str] = {
    "big_tech": "Big tech\n(ByteDance, Alibaba,\nTencent, Baidu)",
    "small_firms": "Smaller firms",
    "research_labs": "Research labs",
    "state_dcs": "State-funded\ndata centres",
    "nobody": "Nobody (seized)",
}


# --------------------------------------------------------------------------- the flows


@dataclass(frozen=True)
class ChipFlows:
    """Chips delivered over a period, by vendor and channel and by channel and buyer class.

    Attributes:
        by_vendor: One row per (seed, vendor, channel): ``units`` shipped.
        by_receiver: One row per (seed, channel, receiver): ``units`` received; receivers are
            the buyer classes and ``nobody`` for seized chips.
        scenario: Scenario name.
        title: Scenario title.
        start: First month counted, ``YYYY-MM``.
        end: Last month counted, ``YYYY-MM``.
        n_seeds: Number of replications measured.

    """

    by_vendor: pd.DataFrame
    by_receiver: pd.DataFrame
    scenario: str
    title: str
    start: str
    end: str
    n_seeds: int

    def mean_links(self) -> tuple[pd.Series, pd.Series]:
        """Mean over seeds of each link: (vendor, channel) and (channel, receiver) -> units."""
        left = self.by_vendor.groupby(["vendor", "channel"])["units"].sum() / self.n_seeds
        right = self.by_receiver.groupby(["channel", "receiver"])["units"].sum() / self.n_seeds
        return left, right

    def node_spread(self, level: str) -> pd.DataFrame:
        """Mean and 5/95 % over seeds of each node's total at ``level``.

        Args:
            level: ``vendor``, ``channel`` or ``receiver``.
        """
        table = self.by_receiver if level == "receiver" else self.by_vendor
        per_seed = table.groupby([level, "seed"])["units"].sum().unstack(fill_value=0.0)
        values = per_seed.to_numpy()
        return pd.DataFrame({"mean": values.mean(axis=1),
                             "p05": np.percentile(values, 5, axis=1),
                             "p95": np.percentile(values, 95, axis=1)}, index=per_seed.index)


# --------------------------------------------------------------------------- the flow diagram

_NODE_W = 0.014  # node width, axes fraction
_COLUMNS = (0.16, 0.50, 0.80)  # x of the vendor, channel and receiver columns
_GAP = 0.035  # vertical gap between nodes, axes fraction
_MIN_LABEL_GAP = 0.062  # smallest distance between label centres in one column
_FLOW_ALPHA = 0.45


def chip_flows(flows: ChipFlows) -> Figure:
    """Alluvial diagram: vendor -> channel -> buyer class, mean units over seeds.

    Band widths are proportional to units. Node labels give the mean total and its 5–95 %
    range over seeds.

    Args:
        flows: The chips delivered, measured from model runs.

    Returns:
        The figure (not yet saved; see :func:`sim.viz.style.save`).

    """
    left, right = flows.mean_links()
    if left.sum() <= 0:
        raise ValueError("no chips reached Chinese buyers in this period: nothing to draw")
    columns = [
        _nodes(left.groupby(level="vendor").sum(), VENDORS),
        _nodes(left.groupby(level="channel").sum(), {k: v[0] for k, v in CHANNELS.items()}),
        _nodes(right.groupby(level="receiver").sum(), RECEIVERS),
    ]
    height = 7.6
    fig = new_figure(FIG_WIDTH, height)
    top, bottom = 0.95 / height, 0.75 / height  # room for title and source line (fraction)
    ax = fig.add_axes((0.0, bottom, 1.0, 1.0 - top - bottom - 0.35 / height))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()

    total = float(left.sum())
    most = max(len(c) for c in columns)
    scale = (1.0 - _GAP * (most - 1)) / total
    spans = [_stack(col, scale) for col in columns]
    _draw_links(ax, left, spans[0], spans[1], _COLUMNS[0], _COLUMNS[1], colour_by="channel",
                source_level="vendor", target_level="channel", scale=scale)
    _draw_links(ax, right, spans[1], spans[2], _COLUMNS[1], _COLUMNS[2], colour_by="channel",
                source_level="channel", target_level="receiver", scale=scale)
    spreads = [flows.node_spread("vendor"), flows.node_spread("channel"),
               flows.node_spread("receiver")]
    sides = ("left", "right", "right")
    for x, col, span, spread, side in zip(_COLUMNS, columns, spans, spreads, sides,
                                          strict=True):
        _draw_nodes(ax, x, col, span, spread, side)
    for x, heading in zip(_COLUMNS, ("Vendor", "Channel", "Chinese buyer"), strict=True):
        ax.text(x + _NODE_W / 2, 1.025, heading, ha="center", va="bottom", fontsize=11,
                fontweight="bold", color=TEXT)

    seeds = seeds_text(flows.n_seeds)
    title_block(fig, f"Where the chips went, {flows.start} to {flows.end} — {flows.title}",
                f"Scenario: {flows.scenario} · {seeds} · chips delivered in the period, band"
                " width proportional to units (mean over seeds; 5–95 % range in brackets)")
    fig.text(0.25 / FIG_WIDTH, 0.30 / height,
             "Buyer classes: each month a channel's chips are split in proportion to the compute"
             " (H100e) each class received through it.\nOffshore cloud: GPUs put into service for"
             " Chinese renters. Chips for buyers outside China are not shown.",
             fontsize=7.5, color=GREY, va="bottom", linespacing=1.3)
    source_line(fig, f"chipsim {version()}; mean over {seeds}")
    return fig


def _nodes(totals: pd.Series, order: dict[str, str]) -> pd.Series:
    """Non-empty nodes of a column in display order (unknown names last, alphabetically)."""
    totals = totals[totals > 0]
    known = [k for k in order if k in totals.index]
    rest = sorted(k for k in totals.index if k not in order)
    return totals.reindex(known + rest)


def _stack(nodes: pd.Series, scale: float) -> dict[str, tuple[float, float]]:
    """(bottom, top) of each node, top to bottom, centred in the column."""
    heights = nodes.to_numpy() * scale
    used = heights.sum() + _GAP * (len(heights) - 1)
    y = 0.5 + used / 2
    spans = {}
    for name, h in zip(nodes.index, heights, strict=True):
        spans[name] = (y - h, y)
        y -= h + _GAP
    return spans


def _draw_links(ax, links: pd.Series, sources: dict, targets: dict, x0: float,  # noqa: ANN001
                x1: float, *, colour_by: str, source_level: str, target_level: str,
                scale: float) -> None:
    """Bands from each source node to each target node, stacked in node order."""
    out_used = dict.fromkeys(sources, 0.0)
    frame = links.reset_index(name="units")
    frame = frame[frame["units"] > 0]
    s_rank = {k: i for i, k in enumerate(sources)}
    t_rank = {k: i for i, k in enumerate(targets)}
    # Outgoing bands leave a node in the order of their targets, incoming ones arrive in the
    # order of their sources: bands of one node never cross each other.
    frame = frame.assign(s=frame[source_level].map(s_rank), t=frame[target_level].map(t_rank))
    for row in frame.sort_values(["s", "t"]).itertuples(index=False):
        source, target = getattr(row, source_level), getattr(row, target_level)
        h = row.units * scale
        s_top = sources[source][1] - out_used[source]
        out_used[source] += h
        t_top = targets[target][1] - _incoming_offset(frame, target, source, target_level,
                                                      source_level, s_rank, scale)
        colour = CHANNELS.get(getattr(row, colour_by), ("", GREY))[1]
        ax.add_patch(_band(x0 + _NODE_W, s_top, x1, t_top, h, colour))


def _incoming_offset(frame: pd.DataFrame, target: str, source: str, target_level: str,
                     source_level: str, s_rank: dict, scale: float) -> float:
    """Height of the bands entering ``target`` from sources above ``source``."""
    into = frame[frame[target_level] == target]
    above = into[into[source_level].map(s_rank) < s_rank[source]]
    return float(above["units"].sum()) * scale


def _band(x0: float, y0_top: float, x1: float, y1_top: float, h: float,
          colour: str) -> PathPatch:
    """A smooth band of height ``h`` from (x0, y0_top) to (x1, y1_top)."""
    xm = (x0 + x1) / 2
    verts = [
        (x0, y0_top), (xm, y0_top), (xm, y1_top), (x1, y1_top),
        (x1, y1_top - h),
        (xm, y1_top - h), (xm, y0_top - h), (x0, y0_top - h),
        (x0, y0_top),
    ]
    codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.LINETO,
             MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
    return PathPatch(MplPath(verts, codes), facecolor=colour, edgecolor="none",
                     alpha=_FLOW_ALPHA, zorder=1)


def _draw_nodes(ax, x: float, nodes: pd.Series, spans: dict, spread: pd.DataFrame,  # noqa: ANN001
                side: str) -> None:
    """Node bars with labels (name, mean units, 5–95 % range), kept apart vertically."""
    names = list(nodes.index)
    centres = [(spans[n][0] + spans[n][1]) / 2 for n in names]
    placed = _spread_labels(centres)
    for name, centre, y in zip(names, centres, placed, strict=True):
        bottom, top = spans[name]
        colour = CHANNELS[name][1] if name in CHANNELS else "#4d4d4d"
        ax.add_patch(Rectangle((x, bottom), _NODE_W, max(top - bottom, 0.002), facecolor=colour,
                               edgecolor="none", zorder=3))
        label = {**VENDORS, **{k: v[0] for k, v in CHANNELS.items()}, **RECEIVERS}.get(name, name)
        stats = spread.loc[name] if name in spread.index else None
        amount = _units(nodes[name])
        if stats is not None and flows_vary(stats):
            amount += f" ({_units(stats['p05'])}–{_units(stats['p95'])})"
        text = f"{label}\n{amount}"
        if side == "left":
            tx, ha = x - 0.012, "right"
        else:
            tx, ha = x + _NODE_W + 0.012, "left"
        ax.text(tx, y, text, ha=ha, va="center", fontsize=9, color=TEXT, zorder=5,
                linespacing=1.15,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0})
        if abs(y - centre) > 0.004:
            edge = x if side == "left" else x + _NODE_W
            ax.add_line(Line2D([edge, tx], [centre, y], color=GREY, linewidth=0.6, zorder=4))


def flows_vary(stats: pd.Series) -> bool:
    """Tell whether a node's 5–95 % range is worth printing (it differs from the mean)."""
    return bool(abs(stats["p95"] - stats["p05"]) > 0.005 * max(abs(stats["mean"]), 1.0))


def _spread_labels(centres: list[float]) -> list[float]:
    """Label heights near the node centres, at least :data:`_MIN_LABEL_GAP` apart, in [0, 1]."""
    if not centres:
        return []
    ys = list(centres)  # top to bottom: centres decrease
    for i in range(1, len(ys)):
        ys[i] = min(ys[i], ys[i - 1] - _MIN_LABEL_GAP)
    low = min(ys)
    if low < 0.03:  # pushed below the axes: shift the stack up, keep the gaps
        shift = 0.03 - low
        ys = [y + shift for y in ys]
        for i in range(len(ys) - 2, -1, -1):
            ys[i] = max(ys[i], ys[i + 1] + _MIN_LABEL_GAP)
    return ys


def _units(value: float) -> str:
    """Compact unit count: 950, 12.3k, 1.25M."""
    value = float(value)
    if abs(value) >= 999_500:
        return f"{value / 1e6:.2f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


# --------------------------------------------------------------------------- bands over time


def market_response(timeseries: pd.DataFrame, events: Sequence[Event], *, scenario: str,
                    title: str, n_seeds: int) -> Figure:
    """China's market over time: domestic share of new compute, and the grey-market premium.

    Args:
        timeseries: One row per (seed, month) with ``seed``, ``date`` and the metric columns.
        events: Policy moves as ``(date "YYYY-MM", label)``, marked at their dates.
        scenario: Scenario name, shown in the subtitle.
        title: Scenario title, shown in the heading.
        n_seeds: Number of replications, shown in the subtitle and source line.

    Returns:
        The figure (not yet saved; see :func:`sim.viz.style.save`).

    """
    layout = make_layout(dates(timeseries), events, panel_heights=[2.9, 2.9])
    share, premium = layout.panels
    handles: list[Line2D | Patch] = [
        plot_band(share, band(timeseries, "domestic_share") * 100, "Domestic share",
                  CHANNEL_COLOURS["domestic"], "-"),
        plot_band(premium, band(timeseries, "grey_premium") * 100, "Grey-market premium",
                  CHANNEL_COLOURS["smuggled"], "-"),
    ]
    share.set_ylabel("domestic share of new\nChinese compute (% of H100e)")
    premium.set_ylabel("grey-market price over\nlist price (% premium)")
    share.set_ylim(0, 100)
    premium.set_ylim(bottom=0)
    for ax in (share, premium):
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f} %"))
    share.tick_params(labelbottom=False)
    mark_events(layout)
    legend(layout, [*handles, band_handle()])
    annotate(layout, heading=f"China's answer: domestic chips and the grey market — {title}",
             scenario=scenario, n_seeds=n_seeds)
    return layout.figure


def metric_bands(timeseries: pd.DataFrame, events: Sequence[Event],
                 series: Sequence[tuple[str, str]], *, ylabel: str, heading: str,
                 scenario: str, n_seeds: int, scale: float = 1.0,
                 cumulative: bool = False) -> Figure:
    """Any metrics over time, median and 5–95 % band, with the policy moves marked.

    Args:
        timeseries: One row per (seed, month) with ``seed``, ``date`` and the metric columns.
        events: Policy moves as ``(date "YYYY-MM", label)``.
        series: ``(metric, legend label)`` pairs, drawn in Okabe-Ito colours in this order.
        ylabel: Y-axis label, with the unit (after ``scale``).
        heading: Figure title.
        scenario: Scenario name, shown in the subtitle.
        n_seeds: Number of replications.
        scale: Values are multiplied by this (e.g. ``1e-9`` for USD billions, ``100`` for %).
        cumulative: Plot each seed's running total (the band of the running total).

    Returns:
        The figure (not yet saved; see :func:`sim.viz.style.save`).

    """
    if not series:
        raise ValueError("series is empty: name at least one metric to plot")
    layout = make_layout(dates(timeseries), events, panel_heights=[4.4])
    ax = layout.panels[0]
    colours = [OKABE_ITO[c] for c in ("blue", "vermillion", "bluish_green", "orange",
                                      "reddish_purple", "sky_blue", "black")]
    handles: list[Line2D | Patch] = []
    for (metric, label), colour in zip(series, colours * len(series), strict=False):
        stats = band(timeseries, metric, cumulative=cumulative) * scale
        handles.append(plot_band(ax, stats, label, colour, "-"))
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(FuncFormatter(thousands if scale >= 1 else decimals))
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    mark_events(layout)
    legend(layout, [*handles, band_handle()])
    annotate(layout, heading=heading, scenario=scenario, n_seeds=n_seeds)
    return layout.figure
