"""Where a run's chips went: who shipped what to whom, measured by running the model again.

``timeseries.csv`` has the chips of each channel per month but not who sent or received them.
:func:`measure_chip_flows` reruns replications of a scenario (on the seeds of ``chipsim run``)
and reads the model's ledger of shipments (vendor -> channel) and its buyer book (channel ->
Chinese buyer class) over a period, into a :class:`~sim.viz.story.ChipFlows` that
:func:`sim.viz.story.chip_flows` draws as an alluvial diagram.

For a finished run (a :class:`~sim.experiments.runner.Results`) :func:`plot_chip_flows` and
:func:`plot_market_response` draw the story figures and :func:`write_story_figures` saves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.experiments.replication import replication_seed
from sim.model.model import ChipTradeModel
from sim.viz.story import CHANNELS, ChipFlows, chip_flows, market_response
from sim.viz.style import save
from sim.world.actors import BUYER_CLASSES
from sim.world.catalogue import CHIPS
from sim.world.months import format_month, parse_month

if TYPE_CHECKING:
    from sim.experiments.runner import Results
    from sim.scenario.scenario import Scenario

#: The model's name of each channel of the figure, where they differ: the figure's
#: "subsidiary" channel (the ``subsidiary_units`` column) is the model's front companies.
_MODEL_NAME = {"subsidiary": "front"}
#: Destinations of the ledger that are Chinese-bound channels (``overseas`` is not).
_CHINA_BOUND = tuple(_MODEL_NAME.get(c, c) for c in CHANNELS)
#: Channels whose receivers the buyer book records (seized chips reach nobody).
_BOOKED = ("legal", "domestic", "cloud", "front", "smuggled")
#: The figure's name of each model channel.
_FIGURE_NAME = {model: figure for figure, model in _MODEL_NAME.items()}


def measure_chip_flows(scenario: Scenario, seeds: int | None = None, *,
                       start: str | None = None, end: str | None = None) -> ChipFlows:
    """Run replications of a scenario and measure who shipped what to whom over a period.

    Vendor -> channel comes from the ledger of shipments (units per chip and destination).
    Channel -> buyer class: each month, a channel's units are split across buyer classes in
    proportion to the compute (H100e) each class received through that channel. Chips shipped
    to buyers outside China (the ``overseas`` destination) are left out.

    Args:
        scenario: The scenario (replication ``i`` uses the same seed as in ``chipsim run``).
        seeds: Number of replications (default: the scenario's ``seeds``).
        start: First month counted, ``YYYY-MM`` (default: the period's start).
        end: Last month counted, ``YYYY-MM`` (default: the period's end).

    Returns:
        The flows, one row per seed and link.

    Raises:
        ValueError: if the months are outside the scenario's period or in the wrong order.

    """
    first = scenario.start if start is None else parse_month(start)
    last = scenario.end if end is None else parse_month(end)
    if not scenario.start <= first <= last <= scenario.end:
        raise ValueError(f"months {format_month(first)}..{format_month(last)} must lie in the"
                         f" period {format_month(scenario.start)}..{format_month(scenario.end)}"
                         " and be in order")
    n = scenario.seeds if seeds is None else seeds
    vendor_rows: list[tuple[int, str, str, float]] = []
    receiver_rows: list[tuple[int, str, str, float]] = []
    for index in range(n):
        model = ChipTradeModel(scenario, seed=replication_seed(scenario.seed, index))
        while model.month < first:
            model.step()
        meter = FlowMeter(model)
        while model.month <= last:
            before = meter.shipped_so_far(model)
            model.step()
            meter.add_month(model, before)
        vendors, receivers = meter.rows(model, index)
        vendor_rows += vendors
        receiver_rows += receivers
    return flows_of(vendor_rows, receiver_rows, scenario, first, last, n)


def flows_of(vendor_rows: list[tuple[int, str, str, float]],
             receiver_rows: list[tuple[int, str, str, float]], scenario: Scenario, first: int,
             last: int, n: int) -> ChipFlows:
    """The :class:`~sim.viz.story.ChipFlows` of measured rows (see :class:`FlowMeter`)."""
    by_vendor = pd.DataFrame(vendor_rows, columns=["seed", "vendor", "channel", "units"])
    by_vendor = by_vendor.groupby(["seed", "vendor", "channel"], as_index=False)["units"].sum()
    by_receiver = pd.DataFrame(receiver_rows, columns=["seed", "channel", "receiver", "units"])
    return ChipFlows(by_vendor, by_receiver, scenario.name, scenario.title,
                     format_month(first), format_month(last), n)


class FlowMeter:
    """Who shipped what to whom in one model run, from the month it is made on.

    Call :meth:`shipped_so_far` before each step and :meth:`add_month` after it; :meth:`rows`
    gives the flows measured so far. The dashboard keeps one beside its live model.
    """

    def __init__(self, model: ChipTradeModel) -> None:
        self.start = {key: float(units[0, 0]) for key, units in model.ledger.shipped.items()}
        self.by_class = {ch: np.zeros(len(BUYER_CLASSES)) for ch in _BOOKED}

    @staticmethod
    def shipped_so_far(model: ChipTradeModel) -> dict[str, float]:
        """Units shipped so far to each destination (take it just before a step)."""
        return _by_destination(model.ledger.shipped)

    def add_month(self, model: ChipTradeModel, before: dict[str, float]) -> None:
        """Split the month just simulated's chips of each channel across buyer classes."""
        moved = _by_destination(model.ledger.shipped)
        for channel in _BOOKED:
            units = moved.get(channel, 0.0) - before.get(channel, 0.0)
            if units > 0:
                self.by_class[channel] += units * _class_shares(model, channel, BUYER_CLASSES)

    def rows(self, model: ChipTradeModel, index: int
             ) -> tuple[list[tuple[int, str, str, float]], list[tuple[int, str, str, float]]]:
        """``(seed, vendor, channel, units)`` and ``(seed, channel, receiver, units)`` rows."""
        vendor_rows: list[tuple[int, str, str, float]] = []
        for (chip, destination), total in model.ledger.shipped.items():
            units = float(total[0, 0]) - self.start.get((chip, destination), 0.0)
            if destination in _CHINA_BOUND and units > 0:
                vendor_rows.append((index, CHIPS[chip].vendor,
                                    _FIGURE_NAME.get(destination, destination), units))
        receiver_rows: list[tuple[int, str, str, float]] = []
        for channel, split in self.by_class.items():
            receiver_rows += [(index, _FIGURE_NAME.get(channel, channel), cls, float(u))
                              for cls, u in zip(BUYER_CLASSES, split, strict=True) if u > 0]
        seized = _seized(vendor_rows, index)
        if seized > 0:
            receiver_rows.append((index, "seized", "nobody", seized))
        return vendor_rows, receiver_rows


def _by_destination(shipped: dict[tuple[str, str], np.ndarray]) -> dict[str, float]:
    """Total units shipped so far to each destination (the one replication run here)."""
    out: dict[str, float] = {}
    for (_, destination), units in shipped.items():
        out[destination] = out.get(destination, 0.0) + float(units[0, 0])
    return out


def _class_shares(model: ChipTradeModel, channel: str,
                  classes: Sequence[str]) -> np.ndarray:
    """Share of this month's compute through ``channel`` that each buyer class received."""
    book = model.book
    h100e = np.bincount(book.buyer_class, weights=book.received[channel][0],
                        minlength=len(classes))
    total = h100e.sum()
    if total <= 0:  # no compute booked: attribute by demand, so no chip goes unaccounted
        h100e = np.bincount(book.buyer_class, weights=book.base_demand[0],
                            minlength=len(classes))
        total = h100e.sum()
    return h100e / total


def _seized(rows: list[tuple[int, str, str, float]], index: int) -> float:
    """Units seized in replication ``index``."""
    return sum(u for i, _, channel, u in rows if i == index and channel == "seized")


# --------------------------------------------------------------------------- figures of a run


def plot_market_response(results: Results) -> Figure:
    """:func:`~sim.viz.story.market_response` of a :class:`~sim.experiments.runner.Results`."""
    return market_response(results.timeseries, results.events, scenario=results.scenario.name,
                           title=results.scenario.title, n_seeds=len(results.seeds))


def plot_chip_flows(results: Results, *, start: str | None = None,
                    end: str | None = None) -> Figure:
    """:func:`~sim.viz.story.chip_flows` of a run's scenario, measured on the run's seeds."""
    flows = measure_chip_flows(results.scenario, len(results.seeds), start=start, end=end)
    return chip_flows(flows)


def write_story_figures(results: Results, folder: str | Path) -> list[Path]:
    """Save the market-response and chip-flow figures of a run as PNG and SVG.

    Args:
        results: A run.
        folder: Target folder (created if needed), e.g. ``results/<name>/figures``.

    Returns:
        The files written.

    """
    folder = Path(folder)
    written = save(plot_market_response(results), folder / "market_response")
    written += save(plot_chip_flows(results), folder / "chip_flows")
    return written
