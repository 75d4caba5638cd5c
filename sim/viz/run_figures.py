"""The standard figures of a run: diverted volumes by channel, and revenue loss by US vendor.

Both figures show the median over seeds with a 5–95 % band, mark every policy move of the
scenario at its date, and carry their context (scenario, seed count, package version) so a
PNG that travels alone still says what it is. Every run draws them into its results folder,
with :func:`sim.viz.story.market_response`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from sim.viz.bands import band
from sim.viz.events import Event
from sim.viz.layout import annotate, dates, legend, make_layout, mark_events
from sim.viz.style import (
    CHANNEL_SERIES,
    OKABE_ITO,
    VENDOR_COLOURS,
    VENDOR_LABELS,
    band_handle,
    decimals,
    plot_band,
    thousands,
)
from sim.world.actors import US_VENDORS


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
        The figure (not yet saved; see :func:`sim.viz.style.save`).

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
        The figure (not yet saved; see :func:`sim.viz.style.save`).

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
