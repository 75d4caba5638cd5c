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

#: Places offshore: the transit countries of smuggling routes (FACTS F6: Thailand, Malaysia) and
#: the hosts of offshore clouds (F7: Indonesia; F8: Southeast Asia), plus everywhere else.
PLACES: tuple[str, ...] = ("malaysia", "singapore", "thailand", "indonesia", "other")
#: Smuggling routes, named by their transit country.
ROUTES: tuple[str, ...] = PLACES
#: Countries hosting offshore clouds that rent to Chinese firms.
CLOUD_COUNTRIES: tuple[str, ...] = PLACES
#: Countries that can require a transit permit (M4): every named place.
TRANSIT_COUNTRIES: tuple[str, ...] = PLACES[:-1]

#: Channels through which a Chinese buyer can receive compute. ``front`` is the purchase of US
#: chips through an offshore front company that hides the Chinese buyer (evasion; reported as
#: ``subsidiary_units``, FACTS M1 note, M18).
CHANNELS: tuple[str, ...] = ("legal", "domestic", "cloud", "front", "smuggled")
#: Where a chip can end up once it leaves a vendor's inventory.
DESTINATIONS: tuple[str, ...] = (
    "overseas", "legal", "domestic", "cloud", "front", "smuggled", "seized",
)
