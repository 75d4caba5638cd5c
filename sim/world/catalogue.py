"""The chip catalogue: every accelerator in the model, from ``data/chips.yaml``.

Chips are data, not classes: vendors, buyers and moves all refer to them by name. A chip's
vendor, segment and launch month are fixed; its numbers (speeds, memory, price, cost, capacity,
overseas share) are the defaults of ordinary model parameters named ``chips.<CHIP>.<field>``
(:data:`CHIP_FIELDS`), which scenarios may override and calibration may fit; the model reads them
from each replication's parameters, this catalogue only for their defaults.
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


#: The numeric fields of a chip, each a parameter ``chips.<CHIP>.<field>``.
CHIP_FIELDS: tuple[str, ...] = ("train_h100e", "infer_h100e", "memory_gb", "list_price_usd",
                                "unit_cost_usd", "capacity_per_month", "overseas_share")


def catalogue_data() -> dict:
    """The data file as read: ``fields`` (unit, range, meaning) and ``chips``."""
    text = resources.files("sim.world").joinpath("data/chips.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _load() -> dict[str, Chip]:
    chips = {}
    for name, row in catalogue_data()["chips"].items():
        fixed = {k: v for k, v in row.items() if k not in CHIP_FIELDS}
        if "available_from" in fixed:
            fixed["available_from"] = parse_month(fixed["available_from"])
        numbers = {k: float(row[k]["value"]) for k in CHIP_FIELDS}
        chips[name] = Chip(name=name, **fixed, **numbers)
    return chips


#: name -> Chip (with its default numbers), in catalogue order.
CHIPS: dict[str, Chip] = _load()


def chip_parameter(chip: str, field: str) -> str:
    """The parameter name of one of a chip's numbers, e.g. ``chips.H20.list_price_usd``."""
    return f"chips.{chip}.{field}"

#: US vendors' parts (subject to US export rules), in catalogue order.
US_CHIPS: tuple[str, ...] = tuple(c for c, chip in CHIPS.items() if chip.is_us)
#: Chinese vendors' parts, in catalogue order.
DOMESTIC_CHIPS: tuple[str, ...] = tuple(c for c, chip in CHIPS.items() if not chip.is_us)
#: The part offshore clouds buy and rent to Chinese firms (assumption: the H200 generation,
#: FACTS F7, F9).
CLOUD_CHIP = "H200"
#: The part offshore subsidiaries buy (assumption: the H200 generation).
SUBSIDIARY_CHIP = "H200"
