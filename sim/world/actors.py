"""Who acts in the model: vendors, buyer groups and classes, routes, countries and channels.

Names only, in the order tables, figures and scenario files use them. Each is declared once here
and imported wherever it is needed.
"""

from __future__ import annotations

US_VENDORS: tuple[str, ...] = ("nvidia", "amd", "small_us")
DOMESTIC_VENDORS: tuple[str, ...] = ("huawei", "cambricon")
VENDORS: tuple[str, ...] = US_VENDORS + DOMESTIC_VENDORS

#: The four big Chinese buyers, one agent each.
BIG_TECH: tuple[str, ...] = ("bytedance", "alibaba", "tencent", "baidu")
#: Chinese buyer cohorts: one agent holding arrays for many buyers.
COHORTS: tuple[str, ...] = ("small_firms", "research_labs", "state_dcs")
#: Buyer classes as named in scenario files.
BUYER_CLASSES: tuple[str, ...] = ("big_tech", "small_firms", "research_labs", "state_dcs")

#: Smuggling routes (transit countries).
ROUTES: tuple[str, ...] = ("malaysia", "singapore", "thailand", "other")
#: Countries hosting offshore clouds.
CLOUD_COUNTRIES: tuple[str, ...] = ("malaysia", "singapore", "indonesia", "thailand")

#: Channels through which a Chinese buyer can receive compute.
CHANNELS: tuple[str, ...] = ("legal", "domestic", "cloud", "subsidiary", "smuggled")
#: Where a chip can end up once it leaves a vendor's inventory.
DESTINATIONS: tuple[str, ...] = (
    "overseas", "legal", "domestic", "cloud", "subsidiary", "smuggled", "seized",
)
