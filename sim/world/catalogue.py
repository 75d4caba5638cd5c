"""The chip catalogue: every accelerator in the model, from ``data/chips.yaml``.

Chips are data, not classes: vendors, buyers and moves all refer to them by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Literal

import yaml

from sim.world.months import parse_month

#: Where a chip is sold: worldwide, only in China (a part cut down for the US rules), or a
#: Chinese vendor's part sold at home.
Segment = Literal["global", "china_only", "domestic"]


@dataclass(frozen=True)
class Chip:
    """One accelerator product."""

    name: str
    vendor: str
    segment: Segment
    train_h100e: float
    infer_h100e: float
    memory_gb: float
    list_price_usd: float
    unit_cost_usd: float
    capacity_per_month: float
    overseas_share: float
    available_from: int | None = None  # month index (sim.world.months); None: always

    @property
    def is_us(self) -> bool:
        """Made by a US vendor (subject to US export rules)."""
        return self.segment != "domestic"


def _load() -> dict[str, Chip]:
    text = resources.files("sim.world").joinpath("data/chips.yaml").read_text(encoding="utf-8")
    chips = {}
    for name, row in yaml.safe_load(text).items():
        if "available_from" in row:
            row["available_from"] = parse_month(row["available_from"])
        chips[name] = Chip(name=name, **row)
    return chips


#: name -> Chip, in catalogue order.
CHIPS: dict[str, Chip] = _load()

#: US vendors' parts (subject to US export rules), in catalogue order.
US_CHIPS: tuple[str, ...] = tuple(c for c, chip in CHIPS.items() if chip.is_us)
#: Chinese vendors' parts, in catalogue order.
DOMESTIC_CHIPS: tuple[str, ...] = tuple(c for c, chip in CHIPS.items() if not chip.is_us)
#: The part offshore clouds buy and rent to Chinese firms (assumption: the H200 generation,
#: FACTS F7, F9).
CLOUD_CHIP = "H200"
#: The part offshore subsidiaries buy (assumption: the H200 generation).
SUBSIDIARY_CHIP = "H200"
