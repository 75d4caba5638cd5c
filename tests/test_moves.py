"""Each policy move moves what it should: the same world and seeds, with and without the move.

Every test compares a scenario WITH one event against the same scenario WITHOUT it (the late-2023
rules, a small population, fixed seeds) and asserts the direction of the effect after the event
takes effect. Chip-level quantities are read from the ledger (``ledger.shipped[chip, channel]``,
cumulative units) and from the smugglers' and buyers' arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BASELINE, added, make, run_metrics, total, track

from sim.moves import MOVES
from sim.world.actors import BUYER_CLASSES, ROUTES

DATE = "2024-10"  # when the move under test takes effect
SEEDS = (0, 1, 2)
NOISY_SEEDS = (0, 1, 2, 3, 4)  # for effects on seizures, which are a few lumpy shipments a month


def with_and_without(event: dict, seeds=SEEDS, **kw):  # noqa: ANN001, ANN003
    """Monthly metrics per seed, for the scenario with ``event`` and the one without."""
    with_ = make(events=[{"date": DATE, **event}], **kw)
    without = make(**kw)
    return ([run_metrics(with_, s) for s in seeds], [run_metrics(without, s) for s in seeds])


def shipped(chip: str, destination: str = "legal"):  # noqa: ANN201
    """Probe: cumulative units of ``chip`` shipped to ``destination``."""
    return lambda model: model.ledger.shipped[chip, destination]


def chip_shipments(scenario, chip, seeds=SEEDS, destination="legal"):  # noqa: ANN001, ANN201
    """Cumulative shipments of a chip through a channel, one Series (YYYY-MM) per seed."""
    return [track(scenario, s, units=shipped(chip, destination))[1]["units"] for s in seeds]


def test_a_test_below_covers_every_move():
    covered = {
        "us.licence_requirement", "us.revenue_share", "us.tariff", "us.enforcement",
        "us.remote_access_rule", "us.location_verification", "cn.import_block",
        "cn.purchase_guidance", "cn.domestic_mandate", "cn.domestic_subsidy",
        "transit.permit_requirement", "supply.shock", "trade.truce",
    }
    assert covered == set(MOVES)


# --- us.licence_requirement ---------------------------------------------------------------------

H20_BAN = {"move": "us.licence_requirement", "chips": ["H20", "MI308"], "approval": 0.0}
#: Buyers hear rumours this many months before an announcement (pinned: some tests use it).
RUMOURS = {"buyers.anticipation_months": 3}


def test_licence_requirement_without_approvals_stops_legal_exports_of_its_chips():
    ban = make(events=[{"date": DATE, **H20_BAN}])
    free = make()
    for chip in ("H20", "MI308"):
        for seed in SEEDS:
            after_ban = chip_shipments(ban, chip, [seed])[0]
            without = chip_shipments(free, chip, [seed])[0]
            # nothing ships once the rule has been in force for a month...
            assert added(after_ban, "2024-11") == 0.0, (chip, seed)
            # ...while without the rule the chip keeps selling
            assert added(without, "2024-11") > 10_000, (chip, seed)


def test_licence_requirement_without_approvals_lowers_legal_export_units():
    with_, without = with_and_without(H20_BAN, parameters=RUMOURS)
    assert total(with_, "legal_export_units", DATE) < 0.6 * total(without, "legal_export_units",
                                                                  DATE)
    # before the rumours of the rule (from 2024-07) the two worlds are the same
    for a, b in zip(with_, without, strict=True):
        assert np.array_equal(a.loc[:"2024-06"].to_numpy(), b.loc[:"2024-06"].to_numpy())


def test_licence_requirement_does_not_affect_unnamed_chips_directly():
    ban = make(events=[{"date": DATE, **H20_BAN}])
    assert all(added(s, "2024-11") > 0 for s in chip_shipments(ban, "SV1"))


def test_licence_requirement_also_stops_back_orders_placed_before_it():
    # Buyers stockpile ahead of the rumoured rule beyond what vendors hold; the orders still
    # waiting when the rule takes effect need a licence too (FACTS M2: the stuck H20 orders).
    ban = make(events=[{"date": DATE, **H20_BAN}])
    for seed in SEEDS:
        # there were back-orders waiting, and they were cancelled rather than shipped
        assert run_metrics(ban, seed).loc[DATE, "cancelled_orders_units"] > 0.0
        for chip in ("H20", "MI308"):
            assert added(chip_shipments(ban, chip, [seed])[0], DATE) == 0.0, (chip, seed)


def test_licence_cap_bounds_units_approved_for_china():
    cap = 30_000
    capped = make(events=[{"date": "2024-04", "move": "us.licence_requirement", "chips": ["H20"],
                           "approval": 1.0, "cap_units": cap}])
    free = make()
    for seed in SEEDS:
        assert added(chip_shipments(capped, "H20", [seed])[0], "2024-05") <= cap * 1.000001
        assert added(chip_shipments(free, "H20", [seed])[0], "2024-05") > 3 * cap


def test_unfilled_legal_orders_are_not_also_reordered():
    def pending_h100e(model) -> float:  # noqa: ANN001
        market = model.market
        return sum(float((units * market.options.legal_fit(chip)).sum())
                   for (_, chip, _), units in market.orders.waiting.items())

    scenario = make()
    for seed in SEEDS:
        _, probed = track(scenario, seed, pending=pending_h100e,
                          demand=lambda model: float(model.book.base_demand.sum()),
                          backlog=lambda model: float(model.book.backlog.sum()))
        # orders do wait in the book all along (else there is nothing to reorder)...
        assert (probed["pending"] > 0.0).all(), seed
        # ...and the need they cover is not carried to the backlog to be ordered again: in this
        # world every shortfall is on order (a buyer settling without counting its waiting
        # orders carries over about 12,000 H100e a month)
        assert (probed["backlog"] == 0.0).all(), seed
        # back-orders never exceed a year of Chinese buyers' base demand
        assert (probed["pending"] <= 12 * probed["demand"]).all(), seed


# --- stockpiling ahead of a rule, write-downs when it strands a part ----------------------------


def test_announced_licence_rule_raises_legal_purchases_before_it_takes_effect():
    date = "2025-01"
    rule = {"date": date, "move": "us.licence_requirement", "chips": ["H20"], "approval": 0.0}
    none = chip_shipments(make(parameters=RUMOURS), "H20")
    late = chip_shipments(make(events=[{**rule, "announced": date}], parameters=RUMOURS), "H20")
    early = chip_shipments(make(events=[{**rule, "announced": "2024-06"}], parameters=RUMOURS),
                           "H20")
    window = ("2024-02", "2024-12")  # the months before the rule takes effect
    for n, lt, e in zip(none, late, early, strict=True):
        assert added(lt, *window) > 1.1 * added(n, *window)  # rumours: buy ahead
        assert added(e, *window) > 1.1 * added(lt, *window)  # earlier announcement: buy more


def test_stranded_china_only_chip_is_written_down_in_the_effective_month():
    with_, without = with_and_without(
        {"move": "us.licence_requirement", "chips": ["H20"], "approval": 0.0})
    for a, b in zip(with_, without, strict=True):
        assert a.loc[DATE, "writedown_usd"] > 0.0
        assert a.loc[:"2024-09", "writedown_usd"].sum() == 0.0
        assert b["writedown_usd"].sum() == 0.0


def test_china_only_chip_blocked_for_everyone_by_china_is_written_down():
    with_, _ = with_and_without({"move": "cn.import_block", "chips": ["MI308"]})
    for a in with_:
        assert a.loc[DATE, "writedown_usd"] > 0.0


def test_global_chip_under_a_licence_rule_is_not_written_down():
    with_, _ = with_and_without(
        {"move": "us.licence_requirement", "chips": ["SV1"], "approval": 0.0})
    for a in with_:
        assert a["writedown_usd"].sum() == 0.0


# --- us.revenue_share and us.tariff ---------------------------------------------------------------


def test_revenue_share_raises_us_fees():
    with_, without = with_and_without(
        {"move": "us.revenue_share", "chips": ["H20"], "share": 0.15})
    for a, b in zip(with_, without, strict=True):
        assert (a.loc[DATE:, "us_fees_usd"] > 0).all()
        assert a.loc[:"2024-09", "us_fees_usd"].sum() == 0.0
        assert b["us_fees_usd"].sum() == 0.0


def test_larger_revenue_share_collects_more():
    small, _ = with_and_without({"move": "us.revenue_share", "chips": ["H20"], "share": 0.1})
    large, _ = with_and_without({"move": "us.revenue_share", "chips": ["H20"], "share": 0.3})
    assert total(large, "us_fees_usd") > total(small, "us_fees_usd")


def test_tariff_raises_us_fees_from_its_date():
    tariff = {"move": "us.tariff", "chips": ["H20"], "rate": 0.5}
    with_, without = with_and_without(tariff)
    assert all((a.loc[DATE:, "us_fees_usd"] > 0).all() for a in with_)
    assert total(without, "us_fees_usd") == 0.0
    assert total(with_, "us_fees_usd", end="2024-09") == 0.0
    # (its cut to the chip's legal sales: test_move_cuts_legal_sales_of_the_chip_it_names)


# --- us.enforcement, us.location_verification, transit.permit_requirement -----------------------


#: Moves that catch smugglers: (event, most of the smuggled units left, least rise in seizures),
#: totals over NOISY_SEEDS from the move's date, against the same world without it.
SMUGGLING_CUTS = {
    "us.enforcement": ({"move": "us.enforcement", "intensity": 4.0}, 0.9, 1.5),
    "us.location_verification": ({"move": "us.location_verification", "detection": 0.5},
                                 0.5, 1.5),
    "transit.permit_requirement": ({"move": "transit.permit_requirement", "country": "malaysia",
                                    "detection": 0.2}, 0.95, 1.1),
}


@pytest.fixture(scope="module")
def noisy_without_moves():
    return [run_metrics(make(), s) for s in NOISY_SEEDS]


@pytest.mark.parametrize("case", list(SMUGGLING_CUTS), ids=list(SMUGGLING_CUTS))
def test_move_lowers_smuggling_and_raises_seizures(case, noisy_without_moves):
    event, most_smuggled, least_seized = SMUGGLING_CUTS[case]
    with_ = [run_metrics(make(events=[{"date": DATE, **event}]), s) for s in NOISY_SEEDS]
    without = noisy_without_moves
    assert total(with_, "smuggled_units", DATE) < most_smuggled * total(without,
                                                                        "smuggled_units", DATE)
    assert total(with_, "seized_units", DATE) > least_seized * total(without, "seized_units",
                                                                     DATE)


def test_stronger_enforcement_seizes_more():
    mild = [run_metrics(make(events=[{"date": DATE, "move": "us.enforcement",
                                      "intensity": 2.0}]), s) for s in NOISY_SEEDS]
    hard = [run_metrics(make(events=[{"date": DATE, "move": "us.enforcement",
                                      "intensity": 6.0}]), s) for s in NOISY_SEEDS]
    assert total(hard, "seized_units", DATE) > 1.5 * total(mild, "seized_units", DATE)
    assert total(hard, "smuggled_units", DATE) < 0.9 * total(mild, "smuggled_units", DATE)


def test_transit_permit_drives_smugglers_off_the_route():
    malaysia = ROUTES.index("malaysia")
    probes = {
        "shipped": lambda m: float(m.smugglers.shipped[m.smugglers.route == malaysia].sum()),
        "active": lambda m: float((m.smugglers.active
                                   & (m.smugglers.route == malaysia)).sum()),
        "risk": lambda m: float(m.smugglers.detection()[malaysia]),
    }
    permit = make(events=[{"date": DATE, "move": "transit.permit_requirement",
                           "country": "malaysia", "detection": 0.5, "cost": 500}])
    for seed in SEEDS:
        _, with_ = track(permit, seed, **probes)
        _, without = track(make(), seed, **probes)
        assert (with_.loc[DATE:, "risk"] > without.loc[DATE:, "risk"]).all()
        assert with_.loc[DATE:, "shipped"].sum() < 0.5 * without.loc[DATE:, "shipped"].sum()
        assert with_.loc["2025-06", "active"] < without.loc["2025-06", "active"]


# --- us.remote_access_rule ------------------------------------------------------------------------


def test_remote_access_rule_lowers_offshore_cloud_capacity():
    with_, without = with_and_without({"move": "us.remote_access_rule", "compliance": 0.8})
    for a, b in zip(with_, without, strict=True):
        assert (a.loc[DATE:, "cloud_capacity_units"] < b.loc[DATE:, "cloud_capacity_units"]).all()
        assert a.loc[DATE:, "cloud_units"].sum() < b.loc[DATE:, "cloud_units"].sum()


def test_full_remote_access_compliance_closes_the_cloud_channel():
    with_, _ = with_and_without({"move": "us.remote_access_rule", "compliance": 1.0})
    for a in with_:
        assert (a.loc[DATE:, "cloud_capacity_units"] == 0.0).all()
        assert (a.loc[DATE:, "cloud_units"] == 0.0).all()


# --- cn.import_block ------------------------------------------------------------------------------


def test_import_block_stops_legal_imports_except_for_allowed_buyers():
    # Only H20 is legal here (every other US part needs a licence that is never granted), so a
    # buyer's legal receipts are its H20 receipts. The block lets research labs import H20.
    only_h20 = [BASELINE[0] | {"chips": ["H100", "H200", "B200", "MI325X", "MI308", "SV1",
                                         "RTXPRO6000D"]}]
    block = {"date": DATE, "move": "cn.import_block", "chips": ["H20"],
             "allowed": ["research_labs"]}
    labs = BUYER_CLASSES.index("research_labs")

    def legal_h100e(allowed: bool):  # noqa: ANN202
        def probe(model) -> float:  # noqa: ANN001
            rows = (model.book.buyer_class == labs) == allowed
            return float(model.book.received["legal"][rows].sum())
        return probe

    for seed in SEEDS:
        probes = {"others": legal_h100e(False), "labs": legal_h100e(True)}
        _, blocked = track(make(events=[block], initial_policy=only_h20), seed, **probes)
        _, open_ = track(make(initial_policy=only_h20), seed, **probes)
        assert (blocked.loc[DATE:, "others"] == 0.0).all()
        assert (blocked.loc[:"2024-09", "others"] > 0.0).all()
        assert (open_.loc[DATE:, "others"] > 0.0).all()
        assert blocked.loc[DATE:, "labs"].sum() > 0.0  # the allowed class still imports


# --- cn.purchase_guidance -------------------------------------------------------------------------


def test_purchase_guidance_lowers_legal_export_units():
    # (its cut to the chip's own sales: test_move_cuts_legal_sales_of_the_chip_it_names)
    with_, without = with_and_without(
        {"move": "cn.purchase_guidance", "chips": ["H20"], "pressure": 0.8})
    assert total(with_, "legal_export_units", DATE) < total(without, "legal_export_units", DATE)
    assert total(with_, "legal_export_units", end="2024-09") == \
        total(without, "legal_export_units", end="2024-09")


# --- cn.domestic_mandate and cn.domestic_subsidy ------------------------------------------------


def test_domestic_mandate_raises_domestic_share():
    with_, without = with_and_without(
        {"move": "cn.domestic_mandate", "share": 0.8, "applies_to": "all"})
    for a, b in zip(with_, without, strict=True):
        assert (a.loc[DATE:, "domestic_share"] > b.loc[DATE:, "domestic_share"] + 0.05).all()
        assert a.loc[DATE:, "domestic_units"].sum() > b.loc[DATE:, "domestic_units"].sum()


@pytest.mark.parametrize("applies_to", ["state_funded", "public_dc", "inference"])
def test_narrower_domestic_mandates_also_raise_domestic_share(applies_to):
    with_, without = with_and_without(
        {"move": "cn.domestic_mandate", "share": 1.0, "applies_to": applies_to})
    assert total(with_, "domestic_units", DATE) > total(without, "domestic_units", DATE)


def test_domestic_subsidy_raises_domestic_share_more_with_a_larger_cost_multiple():
    low, without = with_and_without({"move": "cn.domestic_subsidy", "cost_multiple": 2.0})
    high, _ = with_and_without({"move": "cn.domestic_subsidy", "cost_multiple": 4.0})
    for lo, hi, b in zip(low, high, without, strict=True):
        share = {name: f.loc[DATE:, "domestic_share"].mean()
                 for name, f in (("none", b), ("low", lo), ("high", hi))}
        assert share["none"] < share["low"] < share["high"], share


# --- supply.shock -------------------------------------------------------------------------------


def test_supply_shock_cutting_capacity_lowers_output_and_revenue_of_the_chip():
    # H200 output is HBM-limited (FACTS F12): its capacity binds, so a capacity cut bites.
    shock = {"move": "supply.shock", "component": "hbm", "capacity_change": -0.5,
             "chips": ["H200"]}
    with_ = make(events=[{"date": DATE, **shock}])
    without = make()
    probe = {"produced": lambda m: m.vendor_of("H200").produced["H200"]}
    for seed in SEEDS:
        a_metrics, a = track(with_, seed, **probe)
        b_metrics, b = track(without, seed, **probe)
        assert added(a["produced"], "2024-11") < 0.9 * added(b["produced"], "2024-11")
        revenue = "vendor_revenue_usd_nvidia"
        assert a_metrics.loc[DATE:, revenue].sum() < b_metrics.loc[DATE:, revenue].sum()


def test_supply_shock_price_change_raises_the_chips_price():
    # (its cut to the chip's legal sales: test_move_cuts_legal_sales_of_the_chip_it_names)
    shock = {"date": DATE, "move": "supply.shock", "component": "hbm", "price_change": 0.6,
             "chips": ["H20"]}
    probes = {chip: (lambda m, c=chip: m.vendor_of(c).list_price(c)) for chip in ("H20", "H200")}
    _, dearer = track(make(events=[shock]), 0, **probes)
    _, free = track(make(), 0, **probes)
    assert (dearer.loc[DATE:, "H20"] > 1.1 * free.loc[DATE:, "H20"]).all()
    assert dearer.loc[:"2024-09"].equals(free.loc[:"2024-09"])
    assert dearer["H200"].equals(free["H200"])  # a chip the shock does not name


#: Moves that cut Chinese buyers' legal purchases of H20, and the most of the sales without the
#: move that may remain in the month after the move (the effect is several times larger).
H20_CUTS = {
    "cn.import_block": ({"move": "cn.import_block", "chips": ["H20"],
                         "allowed": ["research_labs"]}, 0.1),
    "cn.purchase_guidance": ({"move": "cn.purchase_guidance", "chips": ["H20"],
                              "pressure": 0.8}, 0.5),
    "supply.shock-price": ({"move": "supply.shock", "component": "hbm", "price_change": 0.6,
                            "chips": ["H20"]}, 0.6),
    "us.tariff": ({"move": "us.tariff", "chips": ["H20"], "rate": 0.5}, 0.9),
}


@pytest.fixture(scope="module")
def h20_without_moves():
    return chip_shipments(make(parameters=RUMOURS), "H20")


@pytest.mark.parametrize("case", list(H20_CUTS), ids=list(H20_CUTS))
def test_move_cuts_legal_sales_of_the_chip_it_names(case, h20_without_moves):
    event, most = H20_CUTS[case]
    moved = chip_shipments(make(events=[{"date": DATE, **event}], parameters=RUMOURS), "H20")
    for m, f in zip(moved, h20_without_moves, strict=True):
        assert added(m, "2024-11") < most * added(f, "2024-11")
        # nothing changes before buyers hear rumours of the move (3 months ahead)
        assert m.loc[:"2024-06"].equals(f.loc[:"2024-06"])


# --- trade.truce ----------------------------------------------------------------------------------


def test_trade_truce_removes_the_tariff_in_force():
    tariff = {"date": "2024-06", "move": "us.tariff", "chips": ["H20", "MI308"], "rate": 0.25}
    truce = {"date": "2024-12", "move": "trade.truce"}
    for seed in SEEDS:
        tariffs_only = run_metrics(make(events=[tariff]), seed)
        with_truce = run_metrics(make(events=[tariff, truce]), seed)
        fees = "us_fees_usd"
        assert tariffs_only.loc["2024-12":, fees].sum() > 0.0
        assert with_truce.loc["2024-12":, fees].sum() == 0.0
        assert np.array_equal(with_truce.loc[:"2024-11"].to_numpy(),
                              tariffs_only.loc[:"2024-11"].to_numpy())
        assert (with_truce.loc["2024-12":, "legal_export_units"].sum()
                > tariffs_only.loc["2024-12":, "legal_export_units"].sum())


def test_trade_truce_on_named_chips_keeps_other_tariffs():
    tariff = {"date": "2024-06", "move": "us.tariff", "chips": ["H20", "MI308"], "rate": 0.25}
    truce = {"date": "2024-12", "move": "trade.truce", "chips": ["H20"]}
    rates = {chip: (lambda m, c=chip: m.policy.tariff.get(c, 0.0)) for chip in ("H20", "MI308")}
    for seed in SEEDS:
        partial, in_force = track(make(events=[tariff, truce]), seed, **rates)
        full = run_metrics(make(events=[tariff, {"date": "2024-12", "move": "trade.truce"}]),
                           seed)
        tariffs_only = run_metrics(make(events=[tariff]), seed)
        fees = "us_fees_usd"
        assert 0.0 < partial.loc["2024-12":, fees].sum() < tariffs_only.loc["2024-12":, fees].sum()
        assert full.loc["2024-12":, fees].sum() == 0.0
        # the named chip's tariff is lifted, the other one's stays
        assert (in_force.loc["2024-12":, "H20"] == 0.0).all()
        assert (in_force.loc["2024-12":, "MI308"] == 0.25).all()
        assert (in_force.loc["2024-06":"2024-11", "H20"] == 0.25).all()


def test_trade_truce_leaves_revenue_shares_alone():
    share = {"date": "2024-06", "move": "us.revenue_share", "chips": ["H20"], "share": 0.15}
    truce = {"date": "2024-12", "move": "trade.truce"}
    for seed in SEEDS:
        metrics = run_metrics(make(events=[share, truce]), seed)
        assert (metrics.loc["2024-12":, "us_fees_usd"] > 0.0).all()
