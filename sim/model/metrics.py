"""The outputs the model reports each month: names, units and meaning.

One table (:data:`METRICS`) drives the CSV columns, the summary statistics and the docs, so a
metric is declared once. ``kind`` says how a metric aggregates over a run: a ``flow`` is summed
over the period, a ``stock`` or ``rate`` is read at the final month.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sim.world.actors import BIG_TECH, ROUTES, US_VENDORS, VENDORS
from sim.world.catalogue import US_CHIPS

Kind = Literal["flow", "stock", "rate"]


#: The spread over seeds reported for every metric (summary.csv and figure bands), as
#: (column, percent).
PERCENTILES: tuple[tuple[str, float], ...] = (("p05", 5.0), ("p50", 50.0), ("p95", 95.0))

#: Chips whose legal deliveries to each big-tech firm are reported: the record gives named
#: firms' purchases of the H20 (FACTS F1: ByteDance, Alibaba, Tencent).
BY_FIRM_CHIPS: tuple[str, ...] = ("H20",)

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
           "chips bought for Chinese buyers through offshore front companies (evasion: a Chinese"
           " firm's own subsidiary needs a licence, FACTS M1 note; screened under M18)"),
    Metric("diverted_units", "units", "flow",
           "smuggled_units + cloud_units + subsidiary_units"),
    Metric("legal_export_units", "units", "flow",
           "licensed (or licence-free) US-vendor chips delivered to China"),
    Metric("domestic_units", "units", "flow", "Chinese domestic chips delivered"),
    Metric("seized_units", "units", "flow",
           "chips seized: smuggled shipments caught on their route, front-company purchases"
           " stopped by screening"),
    Metric("disabled_units", "units", "flow",
           "smuggled chips found in China by location verification and disabled (M17)"),
    Metric("vendor_revenue_usd", "USD", "flow",
           "US vendors' revenue, all markets, net of revenue shares and tariffs paid"),
    Metric("vendor_revenue_china_legal_usd", "USD", "flow",
           "US vendors' revenue from legal sales to China, net of shares and tariffs"),
    Metric("vendor_revenue_diversion_usd", "USD", "flow",
           "US vendors' gross sales that feed diversion: to clouds renting to China, front"
           " companies and smugglers' resellers"),
    Metric("vendor_revenue_overseas_usd", "USD", "flow",
           "US vendors' revenue from overseas buyers"),
    Metric("revenue_loss_usd", "USD", "flow",
           "counterfactual minus scenario US-vendor revenue, same seed"),
    Metric("revenue_loss_legal_usd", "USD", "flow",
           "part of the loss from legal China sales (counterfactual minus scenario)"),
    Metric("revenue_loss_diversion_usd", "USD", "flow",
           "part of the loss from sales feeding diversion (negative: diversion made up sales;"
           " its negative is the net gain from diversion)"),
    Metric("revenue_loss_overseas_usd", "USD", "flow",
           "part of the loss from overseas sales (e.g. US demand served first)"),
    Metric("us_fees_usd", "USD", "flow",
           "revenue shares and tariffs collected by the US government"),
    Metric("licence_cost_usd", "USD", "flow",
           "fixed compliance cost of the licence applications US vendors filed (F15)"),
    Metric("writedown_usd", "USD", "flow",
           "inventory and purchase commitments written down (a charge, not lost revenue)"),
    Metric("grey_premium", "ratio", "rate", "grey-market price over list price, minus 1"),
    Metric("china_compute_h100e", "H100e", "stock",
           "compute installed by Chinese buyers, H100-equivalents (month end)"),
    Metric("domestic_share", "ratio", "rate",
           "share of this month's new Chinese compute (H100e) that is domestic"),
    Metric("grey_sales_usd", "USD", "flow", "paid by Chinese buyers to smugglers"),
    Metric("cancelled_orders_units", "units", "flow",
           "legal China orders cancelled: refused at a border or a licence rule that came in"
           " after they were placed, or cancelled under Chinese guidance"),
    Metric("abandoned_h100e", "H100e", "flow",
           "unmet Chinese compute need given up this month"),
    Metric("backlog_h100e", "H100e", "stock",
           "unmet Chinese compute need waiting for next month's choice: not received, not on"
           " order, not given up (month end)"),
    Metric("stockpile_h100e", "H100e", "stock",
           "compute Chinese buyers bought ahead of need and still hold, e.g. the H20 of FACTS F1"
           " (month end)"),
    Metric("china_accelerator_spend_usd", "USD", "flow",
           "paid for accelerators delivered to Chinese buyers: legal imports, domestic chips"
           " (the state's subsidy share included), smuggled and front-company chips"),
)


def _per_route() -> tuple[Metric, ...]:
    return tuple(
        Metric(f"smuggled_units_{r}", "units", "flow", f"chips smuggled into China via {r}")
        for r in ROUTES
    )


def _per_chip() -> tuple[Metric, ...]:
    return tuple(
        Metric(f"legal_export_units_{c}", "units", "flow", f"{c} delivered legally to China")
        for c in US_CHIPS
    ) + tuple(
        Metric(f"legal_orders_units_{c}", "units", "flow",
               f"{c} ordered legally by Chinese buyers (before licences and customs)")
        for c in US_CHIPS
    ) + tuple(
        Metric(f"cancelled_orders_units_{c}", "units", "flow",
               f"legal China orders of {c} cancelled (refused or under guidance)")
        for c in US_CHIPS
    ) + tuple(
        Metric(f"production_units_{c}", "units", "flow", f"{c} finished by its vendor")
        for c in US_CHIPS
    ) + tuple(
        Metric(f"legal_export_units_{c}_{firm}", "units", "flow",
               f"{c} delivered legally to {firm} (FACTS F1 names firms' H20 purchases)")
        for c in BY_FIRM_CHIPS for firm in BIG_TECH
    )


def _per_vendor() -> tuple[Metric, ...]:
    out: list[Metric] = []
    for vendor in VENDORS:
        out.append(Metric(f"vendor_revenue_usd_{vendor}", "USD", "flow",
                          f"{vendor} revenue, all markets"))
    for vendor in US_VENDORS:
        out.append(Metric(f"licence_cost_usd_{vendor}", "USD", "flow",
                          f"{vendor}'s licence compliance costs (F15)"))
    for vendor in US_VENDORS:
        out.append(Metric(f"vendor_revenue_china_legal_usd_{vendor}", "USD", "flow",
                          f"{vendor} revenue from legal sales to China"))
    for vendor in US_VENDORS:
        out.append(Metric(f"writedown_usd_{vendor}", "USD", "flow",
                          f"{vendor}'s write-down of stranded China-only parts (F2 is Nvidia's)"))
    for vendor in VENDORS:
        out.append(Metric(f"revenue_loss_usd_{vendor}", "USD", "flow",
                          f"{vendor} counterfactual minus scenario revenue, same seed"))
    return tuple(out)


METRICS: tuple[Metric, ...] = _BASE + _per_route() + _per_chip() + _per_vendor()
METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)
BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}

#: Metrics the model itself computes; the loss columns come from pairing with the counterfactual.
MODEL_METRICS: tuple[str, ...] = tuple(n for n in METRIC_NAMES if not n.startswith("revenue_loss"))
