"""The outputs the model reports each month: names, units and meaning.

One table (:data:`METRICS`) drives the CSV columns, the summary statistics and the docs, so a
metric is declared once. ``kind`` says how a metric aggregates over a run: a ``flow`` is summed
over the period, a ``stock`` or ``rate`` is read at the final month.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sim.world.actors import VENDORS

Kind = Literal["flow", "stock", "rate"]


#: The spread over seeds reported for every metric (summary.csv and figure bands), as
#: (column, percent).
PERCENTILES: tuple[tuple[str, float], ...] = (("p05", 5.0), ("p50", 50.0), ("p95", 95.0))

#: The diversion channels, in the order figures stack them.
DIVERSION_CHANNELS: tuple[str, ...] = ("smuggled", "cloud", "subsidiary")


@dataclass(frozen=True)
class Metric:
    """One reported quantity."""

    name: str
    unit: str
    kind: Kind
    meaning: str


_BASE: tuple[Metric, ...] = (
    Metric("smuggled_units", "units", "flow", "chips reaching Chinese buyers through smugglers"),
    Metric("cloud_units", "units", "flow",
           "GPUs newly put into service for Chinese renters in offshore clouds"),
    Metric("cloud_capacity_units", "units", "stock",
           "GPUs in offshore clouds serving Chinese renters (month end)"),
    Metric("subsidiary_units", "units", "flow",
           "chips bought by offshore subsidiaries of Chinese firms"),
    Metric("diverted_units", "units", "flow",
           "smuggled_units + cloud_units + subsidiary_units"),
    Metric("legal_export_units", "units", "flow",
           "licensed (or licence-free) US-vendor chips delivered to China"),
    Metric("domestic_units", "units", "flow", "Chinese domestic chips delivered"),
    Metric("seized_units", "units", "flow", "chips seized by enforcement"),
    Metric("vendor_revenue_usd", "USD", "flow", "US vendors' revenue, all markets"),
    Metric("revenue_loss_usd", "USD", "flow",
           "counterfactual minus scenario US-vendor revenue, same seed"),
    Metric("us_fees_usd", "USD", "flow",
           "revenue share and tariffs collected by the US government"),
    Metric("writedown_usd", "USD", "flow", "inventory and purchase commitments written down"),
    Metric("grey_premium", "ratio", "rate", "grey-market price over list price, minus 1"),
    Metric("china_compute_h100e", "H100e", "stock",
           "compute installed by Chinese buyers, H100-equivalents (month end)"),
    Metric("domestic_share", "ratio", "rate",
           "share of this month's new Chinese compute (H100e) that is domestic"),
    Metric("grey_sales_usd", "USD", "flow", "paid by Chinese buyers to smugglers"),
    Metric("cancelled_orders_units", "units", "flow",
           "licensed China orders cancelled at a border closed after they were placed"),
)


def _per_chip() -> tuple[Metric, ...]:
    from sim.world.catalogue import CHIPS

    us = [c for c, chip in CHIPS.items() if chip.is_us]
    return tuple(
        Metric(f"legal_export_units_{c}", "units", "flow", f"{c} delivered legally to China")
        for c in us
    ) + tuple(
        Metric(f"production_units_{c}", "units", "flow", f"{c} finished by its vendor")
        for c in us
    )


def _per_vendor() -> tuple[Metric, ...]:
    out: list[Metric] = []
    for vendor in VENDORS:
        out.append(Metric(f"vendor_revenue_usd_{vendor}", "USD", "flow",
                          f"{vendor} revenue, all markets"))
    for vendor in VENDORS:
        out.append(Metric(f"revenue_loss_usd_{vendor}", "USD", "flow",
                          f"{vendor} counterfactual minus scenario revenue, same seed"))
    return tuple(out)


METRICS: tuple[Metric, ...] = _BASE + _per_chip() + _per_vendor()
METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)
BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}

#: Metrics the model itself computes; the loss columns come from pairing with the counterfactual.
MODEL_METRICS: tuple[str, ...] = tuple(n for n in METRIC_NAMES if not n.startswith("revenue_loss"))
