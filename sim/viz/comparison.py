"""Figures that put scenarios side by side, and the ranked bars of a sensitivity analysis.

The comparison figures follow the single-run figures of :mod:`sim.viz.run_figures` (same layout,
event strip, fonts and Okabe-Ito palette) with one colour per scenario instead of one per channel:

* :func:`compare_diverted_volumes` - one panel per diversion channel (and their sum), one median
  line with a 5-95 % band per scenario;
* :func:`compare_revenue_loss` - cumulative US-vendor revenue loss per scenario, and the paired
  (seed by seed) difference from the first scenario.

Policy moves are marked in the colour of the scenario that has them; moves every scenario shares
are grey. :func:`sobol_bars` draws the first-order and total Sobol indices of one output as
horizontal bars, parameters ranked by total effect.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from sim.viz.bands import band
from sim.viz.layout import Layout, dates, legend, make_layout, mark_events
from sim.viz.style import (
    EVENT_LINE,
    GREY,
    OKABE_ITO,
    TEXT,
    band_handle,
    decimals,
    fits_subtitle,
    new_figure,
    plot_band,
    seeds_text,
    source_line,
    style_panel,
    text_width_in,
    thousands,
    title_block,
    version,
)

#: (timeseries label, table, events) of one compared scenario.
Series = tuple[str, pd.DataFrame, Sequence[tuple[str, str]]]

#: Scenario colours, in order (yellow last: weakest on white).
SCENARIO_COLOURS: tuple[str, ...] = (
    OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["bluish_green"], OKABE_ITO["vermillion"],
    OKABE_ITO["reddish_purple"], OKABE_ITO["sky_blue"], OKABE_ITO["black"], OKABE_ITO["yellow"],
)
#: Line styles cycled once the colours run out.
_STYLES = ("-", "--", ":")
#: Colour of the moves every compared scenario has.
_COMMON_EVENT = EVENT_LINE
#: Legend entries in a row (a scenario each, and the band); more go to further rows.
_LEGEND_COLUMNS = 5

#: (metric, panel title) of the diversion figure.
CHANNEL_PANELS: tuple[tuple[str, str], ...] = (
    ("smuggled_units", "Smuggled"),
    ("cloud_units", "Offshore cloud (new GPUs for Chinese renters)"),
    ("subsidiary_units", "Offshore subsidiaries"),
    ("diverted_units", "All diverted (sum of the three channels)"),
)


def scenario_style(index: int) -> tuple[str, str]:
    """Colour and line style of the ``index``-th scenario."""
    colour = SCENARIO_COLOURS[index % len(SCENARIO_COLOURS)]
    return colour, _STYLES[(index // len(SCENARIO_COLOURS)) % len(_STYLES)]


# --------------------------------------------------------------------------- comparisons


def compare_diverted_volumes(series: Sequence[Series], *, n_seeds: int) -> Figure:
    """Diverted chips per month, one panel per channel, one line and band per scenario.

    Args:
        series: ``(label, timeseries, events)`` per scenario, the reference first.
        n_seeds: replications per scenario (the same seeds for all).

    Returns:
        The figure (save it with :func:`sim.viz.style.save`).

    """
    layout, colour_of = _layout(series, [2.15] * len(CHANNEL_PANELS))
    for ax, (metric, title) in zip(layout.panels, CHANNEL_PANELS, strict=True):
        for i, (label, table, _) in enumerate(series):
            colour, style = scenario_style(i)
            plot_band(ax, band(table, metric), label, colour, style)
        _panel_title(ax, title)
        ax.set_ylabel("chips per month")
        ax.yaxis.set_major_formatter(FuncFormatter(thousands))
        ax.set_ylim(bottom=0)
    for ax in layout.panels[:-1]:
        ax.tick_params(labelbottom=False)
    mark_events(layout, colour_of)
    _finish(layout, series, n_seeds,
            heading="Chips diverted around export controls, by channel: scenarios compared")
    return layout.figure


def compare_revenue_loss(series: Sequence[Series], *, n_seeds: int) -> Figure:
    """Cumulative US-vendor revenue loss per scenario, and the paired difference from the first.

    Loss is counterfactual minus scenario revenue for the same seed (each scenario against its
    own counterfactual). The lower panel, drawn when there are two scenarios or more, is each
    scenario's loss minus the first scenario's, seed by seed, accumulated over time.

    Args:
        series: ``(label, timeseries, events)`` per scenario, the reference first.
        n_seeds: replications per scenario (the same seeds for all).

    Returns:
        The figure (save it with :func:`sim.viz.style.save`).

    """
    paired = len(series) > 1
    layout, colour_of = _layout(series, [3.3, 2.6] if paired else [3.6])
    top = layout.panels[0]
    for i, (label, table, _) in enumerate(series):
        colour, style = scenario_style(i)
        plot_band(top, band(table, "revenue_loss_usd", cumulative=True) / 1e9, label,
                        colour, style)
    _panel_title(top, "Cumulative revenue loss of US vendors against each scenario's"
                      " counterfactual")
    top.set_ylabel("USD billions")
    if paired:
        first_label, first, _ = series[0]
        low = layout.panels[1]
        for i, (label, table, _) in enumerate(series[1:], start=1):
            colour, style = scenario_style(i)
            diff = _paired_difference(table, first, "revenue_loss_usd")
            plot_band(low, band(diff, "revenue_loss_usd", cumulative=True) / 1e9, label,
                            colour, style)
        _panel_title(low, f"Difference from {first_label}, seed by seed, cumulative"
                          " (above 0: the scenario loses more)")
        low.set_ylabel("USD billions")
        top.tick_params(labelbottom=False)
    for ax in layout.panels:
        ax.axhline(0.0, color=OKABE_ITO["black"], linewidth=0.8, zorder=1)
        ax.yaxis.set_major_formatter(FuncFormatter(decimals))
    mark_events(layout, colour_of)
    _finish(layout, series, n_seeds,
            heading="US vendors' revenue loss: scenarios compared")
    return layout.figure


def _paired_difference(table: pd.DataFrame, reference: pd.DataFrame,
                       metric: str) -> pd.DataFrame:
    """``table[metric] - reference[metric]`` matched on (seed, date); unmatched rows dropped."""
    keys = ["seed", "date"]
    merged = table[[*keys, metric]].merge(reference[[*keys, metric]], on=keys,
                                          suffixes=("", "_ref"))
    merged[metric] = merged[metric] - merged[f"{metric}_ref"]
    return merged[[*keys, metric]]


# --------------------------------------------------------------------------- layout helpers


def _layout(series: Sequence[Series],
            heights: Sequence[float]) -> tuple[Layout, dict[tuple[str, str], str]]:
    """Build the figure with the union of all scenarios' events in the strip.

    Returns the layout and the colour of each event ``(date, label)``: the colour of the
    first scenario that has it, or grey when every scenario has it.
    """
    if not series:
        raise ValueError("nothing to compare: no scenarios given")
    owners: dict[tuple[str, str], list[int]] = {}
    for i, (_, _, events) in enumerate(series):
        for event in dict.fromkeys((str(d), str(t)) for d, t in events):
            owners.setdefault(event, []).append(i)
    colour_of = {
        event: _COMMON_EVENT if len(who) == len(series) > 1 else scenario_style(who[0])[0]
        for event, who in owners.items()
    }
    months = dates(pd.concat([t[["date"]] for _, t, _ in series]))
    # an empty first panel, removed again, leaves a gap under the strip for the panel title
    layout = make_layout(months, list(owners), panel_heights=[0.01, *heights],
                         legend_rows=-(-(len(series) + 1) // _LEGEND_COLUMNS))
    layout.figure.delaxes(layout.panels[0])
    return dataclasses.replace(layout, panels=layout.panels[1:]), colour_of


def _panel_title(ax: Axes, text: str) -> None:
    ax.text(0.005, 1.02, text, transform=ax.transAxes, fontsize=9.5, fontweight="bold",
            color=TEXT, ha="left", va="bottom", zorder=5,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})


def _finish(layout: Layout, series: Sequence[Series], n_seeds: int, *,
            heading: str) -> None:
    """Legend (one entry per scenario), heading, subtitle and source line."""
    handles: list[Line2D | Patch] = []
    for i, (label, _, _) in enumerate(series):
        colour, style = scenario_style(i)
        handles.append(Line2D([], [], color=colour, linestyle=style, linewidth=1.8,
                              label=label))
    handles.append(band_handle())
    legend(layout, handles, ncol=min(len(handles), _LEGEND_COLUMNS))
    seeds = seeds_text(n_seeds, "paired seed")
    moves = (" · dotted lines: policy moves (grey: in every scenario)" if layout.labels else
             " · dotted lines: policy moves, keyed below (grey: in every scenario)"
             if layout.moves else "")
    subtitle = f"{len(series)} scenarios: {', '.join(s[0] for s in series)} · {seeds}{moves}"
    if not fits_subtitle(layout.figure, subtitle):  # the legend names them all
        subtitle = f"{len(series)} scenarios, named in the legend · {seeds}{moves}"
    title_block(layout.figure, heading, subtitle)
    source_line(layout.figure, f"chipsim {version()}; median and 5–95 % band over {seeds} (the"
                " same seeds in every scenario)")


# --------------------------------------------------------------------------- sensitivity


def sobol_bars(table: pd.DataFrame, output: str, *, heading: str, subtitle: str,
               footer: str = "") -> Figure:
    """Ranked horizontal bars of the Sobol indices of one output.

    Args:
        table: rows of ``sobol.csv`` for this output: ``parameter``, ``S1``, ``ST`` and,
            optionally, ``S1_low``, ``S1_high``, ``ST_low``, ``ST_high`` (confidence interval).
        output: the output's name, for the axis label.
        heading: bold title line.
        subtitle: grey line(s) under the title, one per line of the text.
        footer: small source line at the bottom.

    Returns:
        The figure: parameters ranked by total index (largest on top), a dark bar for the
        first-order index S1 and a light one for the total index ST, whiskers for intervals.

    """
    rows = table.sort_values(["ST", "S1"], ascending=False, kind="mergesort",
                             na_position="last").reset_index(drop=True)
    names = rows["parameter"].astype(str).tolist()
    label_w = max((text_width_in(n, FontProperties(size=9.5)) for n in names),
                  default=1.0)
    left = min(max(label_w + 0.35, 1.4), 5.0)
    width, bar_h = 9.0, 0.55
    sub_lines = [line for line in subtitle.splitlines() if line.strip()]
    plot_h = max(1.6, bar_h * len(names) + 0.4)
    top = 0.75 + 0.22 * len(sub_lines)
    bottom = 1.25
    height = top + plot_h + bottom
    fig = new_figure(width, height)
    ax = fig.add_axes([left / width, bottom / height, (width - left - 0.4) / width,
                       plot_h / height])
    y = np.arange(len(names), dtype=float)
    dark, light = OKABE_ITO["blue"], OKABE_ITO["sky_blue"]
    h = 0.36
    for key, offset, colour in (("ST", -h / 2, light), ("S1", h / 2, dark)):
        values = rows[key].to_numpy(dtype=float)
        ax.barh(y + offset, np.nan_to_num(values), height=h, color=colour, zorder=2,
                label={"S1": "first order S1 (alone)",
                       "ST": "total ST (alone and in interactions)"}[key])
        lo, hi = f"{key}_low", f"{key}_high"
        if lo in rows and hi in rows:
            low, high = rows[lo].to_numpy(dtype=float), rows[hi].to_numpy(dtype=float)
            ok = np.isfinite(low) & np.isfinite(high) & np.isfinite(values)
            err = np.vstack([np.clip(values - low, 0, None), np.clip(high - values, 0, None)])
            ax.errorbar(values[ok], (y + offset)[ok], xerr=err[:, ok], fmt="none",
                        ecolor="#333333", elinewidth=0.9, capsize=2.5, zorder=3)
    ax.set_yticks(y, names, fontsize=9.5)
    ax.invert_yaxis()
    finite = rows[[c for c in ("S1", "ST", "S1_low", "S1_high", "ST_low", "ST_high")
                   if c in rows]].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    x_lo = min(0.0, float(finite.min()) if finite.size else 0.0)
    x_hi = max(1.0, float(finite.max()) if finite.size else 1.0)
    ax.set_xlim(math.floor(x_lo * 10) / 10, math.ceil(x_hi * 10) / 10 + 0.001)
    ax.axvline(0, color=OKABE_ITO["black"], linewidth=0.8, zorder=1)
    style_panel(ax, grid="x")
    ax.set_xlabel(f"share of the variance of {output}", fontsize=10)
    missing = rows["ST"].isna().all()
    if missing:
        ax.text(0.5, 0.5, f"{output} does not vary across the samples: no indices",
                transform=ax.transAxes, ha="center", va="center", fontsize=10,
                color=GREY)
    fig.legend(*ax.get_legend_handles_labels(), loc="upper center", ncol=2, frameon=False,
               fontsize=9, bbox_to_anchor=(0.5, 0.52 / height))
    title_block(fig, heading, sub_lines)
    if footer:
        source_line(fig, footer, y_in=0.1)
    return fig


def morris_bars(table: pd.DataFrame, output: str, *, heading: str, subtitle: str,
                footer: str = "") -> Figure:
    """Ranked horizontal bars of the Morris effects ``mu_star`` of one output.

    Args:
        table: rows of ``morris.csv`` for this output: ``parameter``, ``mu_star`` and,
            optionally, ``mu_star_conf`` (half-width of its confidence interval), ``sigma``.
        output: the output's name, for the axis label.
        heading: bold title line.
        subtitle: grey line(s) under the title, one per line of the text.
        footer: small source line at the bottom.

    Returns:
        The figure: parameters ranked by ``mu_star`` (largest on top), with whiskers for the
        intervals and ``sigma`` (how much the effect varies: interactions, curvature) as dots.

    """
    rows = table.sort_values("mu_star", ascending=False, kind="mergesort",
                             na_position="last").reset_index(drop=True)
    names = rows["parameter"].astype(str).tolist()
    label_w = max((text_width_in(n, FontProperties(size=9.5)) for n in names), default=1.0)
    left = min(max(label_w + 0.35, 1.4), 5.0)
    width = 9.0
    sub_lines = [line for line in subtitle.splitlines() if line.strip()]
    plot_h = max(1.6, 0.42 * len(names) + 0.4)
    top, bottom = 0.75 + 0.22 * len(sub_lines), 1.25
    height = top + plot_h + bottom
    fig = new_figure(width, height)
    ax = fig.add_axes([left / width, bottom / height, (width - left - 0.4) / width,
                       plot_h / height])
    y = np.arange(len(names), dtype=float)
    values = rows["mu_star"].to_numpy(dtype=float)
    ax.barh(y, np.nan_to_num(values), height=0.5, color=OKABE_ITO["blue"], zorder=2,
            label="mu* (mean absolute effect of moving the parameter across its range)")
    if "mu_star_conf" in rows:
        conf = rows["mu_star_conf"].to_numpy(dtype=float)
        ok = np.isfinite(conf) & np.isfinite(values)
        ax.errorbar(values[ok], y[ok], xerr=conf[ok], fmt="none", ecolor="#333333",
                    elinewidth=0.9, capsize=2.5, zorder=3)
    if "sigma" in rows:
        ax.plot(rows["sigma"].to_numpy(dtype=float), y, "o", color=OKABE_ITO["orange"],
                markersize=5, zorder=4, label="sigma (spread of the effects)")
    ax.set_yticks(y, names, fontsize=9.5)
    ax.invert_yaxis()
    ax.axvline(0, color=OKABE_ITO["black"], linewidth=0.8, zorder=1)
    style_panel(ax, grid="x")
    ax.set_xlabel(f"effect on {output} (its unit)", fontsize=10)
    ax.set_xlim(left=0)
    if rows["mu_star"].isna().all():
        ax.text(0.5, 0.5, f"{output} does not vary across the samples: no effects",
                transform=ax.transAxes, ha="center", va="center", fontsize=10, color=GREY)
    fig.legend(*ax.get_legend_handles_labels(), loc="upper center", ncol=2, frameon=False,
               fontsize=9, bbox_to_anchor=(0.5, 0.52 / height))
    title_block(fig, heading, sub_lines)
    if footer:
        source_line(fig, footer, y_in=0.1)
    return fig
