"""The month's metrics, measured from the agents' books: one value per replication and metric.

What each metric means is declared in :mod:`sim.model.metrics`; this module reads it off the
model after a month (flows of the month, stocks at its end), in ``MODEL_METRICS`` order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from sim.model.metrics import BY_FIRM_CHIPS, MODEL_METRICS
from sim.world.actors import BIG_TECH, ROUTES, US_VENDORS
from sim.world.catalogue import US_CHIPS

if TYPE_CHECKING:
    from sim.model.agents.buyers import BuyerBook
    from sim.model.agents.clouds import CloudFleet
    from sim.model.agents.regulators import Regulator
    from sim.model.agents.vendors import Vendor
    from sim.model.market import Market, MonthFlows


class Measured(Protocol):
    """What the measurement reads: the month's flows and the agents' books."""

    replications: int
    flows: MonthFlows
    book: BuyerBook
    vendors: Sequence[Vendor]
    clouds: CloudFleet
    us: Regulator
    market: Market

    def vendor_of(self, chip: str) -> Vendor:
        """The vendor that makes ``chip``."""
        ...


def measure(model: Measured) -> np.ndarray:
    """The month's metrics: (R, MODEL_METRICS)."""
    f, book = model.flows, model.book
    us = [v for v in model.vendors if v.name in US_VENDORS]
    zero = np.zeros((model.replications, 1))

    def us_revenue(kind: str) -> np.ndarray:
        return sum((v.revenue[kind] for v in us), zero)

    new = sum(f.new_h100e.values(), zero)
    domestic = f.new_h100e.get("domestic", zero)
    values = {
        "smuggled_units": f.smuggled,
        "cloud_units": model.clouds.new_units,
        "cloud_capacity_units": model.clouds.china_capacity,
        "subsidiary_units": f.front,
        "diverted_units": f.smuggled + model.clouds.new_units + f.front,
        "legal_export_units": f.legal,
        "domestic_units": f.domestic,
        "seized_units": f.seized,
        "disabled_units": f.disabled,
        "vendor_revenue_usd": sum((v.revenue_usd for v in us), zero),
        "vendor_revenue_china_legal_usd": us_revenue("china_legal"),
        "vendor_revenue_diversion_usd": us_revenue("diversion"),
        "vendor_revenue_overseas_usd": us_revenue("overseas"),
        "us_fees_usd": model.us.fees_usd,
        "licence_cost_usd": f.licence_cost_usd,
        "writedown_usd": sum((v.writedown_usd for v in model.vendors), zero),
        "grey_premium": f.grey_premium,
        "china_compute_h100e": book.compute_h100e(model.market.options.cloud_fit()),
        "domestic_share": np.divide(domestic, new, out=np.zeros_like(new), where=new > 0),
        "grey_sales_usd": f.grey_sales_usd,
        "cancelled_orders_units": f.cancelled_orders,
        "abandoned_h100e": book.abandoned,
        "backlog_h100e": book.backlog.sum(axis=1, keepdims=True),
        "stockpile_h100e": book.stockpile.sum(axis=1, keepdims=True),
        "china_accelerator_spend_usd": f.china_spend_usd,
    }
    by_route = np.broadcast_to(f.smuggled_by_route, (model.replications, len(ROUTES)))
    values |= {f"smuggled_units_{r}": by_route[:, [k]] for k, r in enumerate(ROUTES)}
    values |= {f"legal_export_units_{c}": f.legal_by_chip.get(c, zero) for c in US_CHIPS}
    values |= {f"legal_orders_units_{c}": f.orders_by_chip.get(c, zero) for c in US_CHIPS}
    values |= {f"cancelled_orders_units_{c}": f.cancelled_by_chip.get(c, zero) for c in US_CHIPS}
    values |= {f"legal_export_units_{c}_{firm}": f.legal_by_firm.get((c, firm), zero)
               for c in BY_FIRM_CHIPS for firm in BIG_TECH}
    values |= {f"production_units_{c}": model.vendor_of(c).finished[c] for c in US_CHIPS}
    values |= {f"vendor_revenue_usd_{v.name}": v.revenue_usd for v in model.vendors}
    values |= {f"licence_cost_usd_{v.name}": v.licence_cost_usd for v in us}
    values |= {f"vendor_revenue_china_legal_usd_{v.name}": v.revenue["china_legal"] for v in us}
    values |= {f"writedown_usd_{v.name}": v.writedown_usd for v in us}
    out = np.empty((model.replications, len(MODEL_METRICS)))
    for j, name in enumerate(MODEL_METRICS):
        out[:, j] = np.asarray(values[name]).reshape(-1)  # (R, 1) or (1, 1): broadcast on copy
    return out
