"""What moved through each channel in a month: the market's report to the model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _zero() -> np.ndarray:
    return np.zeros((1, 1))


@dataclass
class MonthFlows:
    """What moved through each channel this month, per replication: columns (R, 1).

    Units unless named otherwise. Fields start as a (1, 1) zero that broadcasts against any R.
    """

    legal: np.ndarray = field(default_factory=_zero)
    domestic: np.ndarray = field(default_factory=_zero)
    cloud: np.ndarray = field(default_factory=_zero)
    front: np.ndarray = field(default_factory=_zero)
    smuggled: np.ndarray = field(default_factory=_zero)
    seized: np.ndarray = field(default_factory=_zero)
    disabled: np.ndarray = field(default_factory=_zero)
    cancelled_orders: np.ndarray = field(default_factory=_zero)
    grey_premium: np.ndarray = field(default_factory=_zero)
    grey_sales_usd: np.ndarray = field(default_factory=_zero)
    licence_cost_usd: np.ndarray = field(default_factory=_zero)
    china_spend_usd: np.ndarray = field(default_factory=_zero)
    legal_by_chip: dict[str, np.ndarray] = field(default_factory=dict)
    orders_by_chip: dict[str, np.ndarray] = field(default_factory=dict)
    cancelled_by_chip: dict[str, np.ndarray] = field(default_factory=dict)
    legal_by_firm: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    smuggled_by_route: np.ndarray = field(default_factory=_zero)
    new_h100e: dict[str, np.ndarray] = field(default_factory=dict)
