"""What moved through each channel in a month: the market's report to the model."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MonthFlows:
    """What moved through each channel this month (units unless named otherwise)."""

    legal: float = 0.0
    domestic: float = 0.0
    cloud: float = 0.0
    subsidiary: float = 0.0
    smuggled: float = 0.0
    seized: float = 0.0
    cancelled_orders: float = 0.0
    grey_premium: float = 0.0
    grey_sales_usd: float = 0.0
    legal_by_chip: dict[str, float] = field(default_factory=dict)
    new_h100e: dict[str, float] = field(default_factory=dict)
