"""Every policy move acts once, through the mechanism the record reports, in the right direction.

One or more tests per move (FACTS §A): the direction of its effect against the same world without
it, on the same seeds (common random numbers), and the stage at which it acts. Order-of-magnitude
checks against the record's figures are in test_record.py; each probability applying once is
checked on a tiny market in test_each_rule_once.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import AMPLE_INPUTS, ensemble, first, make, month_index, track, window

from sim.model.metrics import MODEL_METRICS
from sim.model.model import ChipTradeModel
from sim.moves import MOVES
from sim.world.actors import BIG_TECH, BUYER_CLASSES, CLOUD_COUNTRIES, ROUTES, US_VENDORS
from sim.world.catalogue import CHIPS, US_CHIPS

DATE = "2024-10"  # when the move under test takes effect
AFTER = ("2024-10", "2025-06")  # the months after it, to the end of the test period
SEEDS = 4


def pair(event: dict, seeds: int = SEEDS, events_before: tuple = (), **kw):  # noqa: ANN003
    """(with, without): the same world with and without ``event``, on the same seeds."""
    with_ = make(events=[*events_before, event], **kw)
    without = make(events=list(events_before), **kw)
    return (with_, ensemble(with_, seeds)), (without, ensemble(without, seeds))


def total(run, metric: str, span: tuple[str, str] = AFTER) -> float:  # noqa: ANN001
    """Mean over seeds of a metric's total over ``span``."""
    scenario, records = run
    return float(window(scenario, records, metric, *span).mean())


def test_a_test_below_covers_every_move():
    covered = {
        "us.licence_requirement", "us.revenue_share", "us.tariff", "us.enforcement",
        "us.remote_access_rule", "us.location_verification", "us.affiliates_rule",
        "cn.import_block", "cn.purchase_guidance", "cn.domestic_mandate", "cn.domestic_subsidy",
        "transit.permit_requirement", "supply.shock", "trade.truce",
    }
    assert covered == set(MOVES)


# --- us.licence_requirement (M1, M2, M5, M12, M14) ---------------------------------------------

H20_BAN = {"date": DATE, "move": "us.licence_requirement", "chips": ["H20", "MI308"],
           "approval": 0.0}


def test_licence_requirement_without_approvals_stops_legal_exports_of_its_chips():
    with_, without = pair(H20_BAN)
    assert total(with_, "legal_export_units_H20") == 0.0
    assert total(without, "legal_export_units_H20") > 1e5
    assert total(with_, "legal_export_units") < 0.5 * total(without, "legal_export_units")


def test_licence_ban_pushes_buyers_into_domestic_chips_and_diversion():
    with_, without = pair(H20_BAN)
    for metric in ("domestic_units", "diverted_units", "smuggled_units"):
        assert total(with_, metric) > total(without, metric), metric


def test_announced_licence_rule_raises_legal_purchases_before_it_takes_effect():
    announced = dict(H20_BAN, announced="2024-07")
    with_, without = pair(announced)
    before = ("2024-07", "2024-09")
    assert total(with_, "legal_export_units_H20", before) > 1.5 * total(
        without, "legal_export_units_H20", before)


def test_a_faster_growing_smuggling_network_answers_a_ban_with_a_larger_rise_at_a_lower_premium():
    """C3b: the network's capacity growth is how fast smuggling answers a ban.

    Without growth the network ships at its fixed capacity and a ban mostly raises the grey
    price; with it, capacity follows the margin, so the ban adds more smuggled units and the
    premium rises less. Without a ban the growing network does not drift upward: it grows in
    answer to the margin a closed legal channel opens.
    """
    before, after = ("2024-07", "2024-09"), ("2024-12", "2025-02")
    added, premium = {}, {}
    for growth in (0.0, 0.4):
        with_, without = pair(H20_BAN,
                              parameters={"smuggling.capacity_growth_per_month": growth})
        added[growth] = (total(with_, "smuggled_units", after)
                         - total(without, "smuggled_units", after))
        premium[growth] = total(with_, "grey_premium", after)
        assert total(without, "smuggled_units", after) < 1.05 * total(
            without, "smuggled_units", before)
    assert added[0.0] > 0
    assert added[0.4] > 3 * added[0.0]
    assert premium[0.4] < 0.8 * premium[0.0]


def test_licence_ban_strands_china_only_inventory_and_writes_it_down():
    with_, without = pair(H20_BAN)
    assert total(with_, "writedown_usd", (DATE, DATE)) > 1e8
    assert total(without, "writedown_usd") == 0.0


def test_licence_cap_bounds_units_approved_for_china():
    cap = 20000.0
    rule = {"date": DATE, "move": "us.licence_requirement", "chips": ["H20"], "approval": 1.0,
            "cap_units": cap}
    (_, records), _ = pair(rule, seeds=2)
    scenario = make(events=[rule])
    assert (window(scenario, records, "legal_export_units_H20", *AFTER) <= cap * 1.000001).all()


def test_us_demand_first_caps_china_at_a_share_of_overseas_shipments():
    opened = {"date": DATE, "move": "us.licence_requirement", "chips": ["H200"], "approval": 1.0,
              "us_supply_first": True, "max_share_of_us": 0.1}
    scenario = make(events=[opened])
    model = ChipTradeModel(scenario, seed=0)
    china, overseas = [], []
    orig = model.ledger.shipment

    def watch(chip, destination, units):  # noqa: ANN001, ANN202
        if chip == "H200" and model.month >= month_index(scenario, DATE) + scenario.start:
            (china if destination == "legal" else overseas if destination == "overseas"
             else []).append(first(units))
        orig(chip, destination, units)

    model.ledger.shipment = watch
    model.run()
    assert sum(china) > 0
    assert sum(china) <= 0.1 * sum(overseas) * 1.000001


def test_licence_rule_books_the_fixed_compliance_cost_of_each_application():
    rule = {"date": DATE, "move": "us.licence_requirement", "chips": ["H20"], "approval": 1.0}
    with_, without = pair(rule)
    assert total(with_, "licence_cost_usd") > 0
    assert total(without, "licence_cost_usd") == 0


def test_licence_cost_falls_hardest_on_the_small_vendor():
    """F15: a fixed cost per licence weighs most, per chip sold, on the vendor with small orders."""
    rule = {"date": DATE, "move": "us.licence_requirement", "chips": ["SV1", "H20"],
            "approval": 1.0}
    (scenario, records), _ = pair(rule)

    def per_unit(vendor: str, chip: str) -> float:
        cost = window(scenario, records, f"licence_cost_usd_{vendor}", *AFTER).sum()
        return float(cost / window(scenario, records, f"legal_export_units_{chip}", *AFTER).sum())

    assert per_unit("small_us", "SV1") > 2 * per_unit("nvidia", "H20")


def test_a_vendor_files_no_licence_whose_margin_does_not_cover_its_cost():
    rule = {"date": DATE, "move": "us.licence_requirement", "chips": ["SV1"], "approval": 1.0}
    prohibitive = make(events=[rule], parameters={"vendors.licence_cost_usd": 1.0e9})
    records = ensemble(prohibitive, 2)
    assert window(prohibitive, records, "legal_export_units_SV1", *AFTER).sum() == 0.0
    assert window(prohibitive, records, "licence_cost_usd", *AFTER).sum() == 0.0


def test_orders_placed_licence_free_are_refused_when_a_rule_arrives_first():
    """M2: H20 orders waiting when the rule came in were stuck (refused on arrival)."""
    short = {"date": "2024-08", "move": "supply.shock", "component": "hbm",
             "capacity_change": -0.95, "chips": ["H20"]}
    with_, without = pair(H20_BAN, events_before=(short,))
    assert total(with_, "cancelled_orders_units", (DATE, DATE)) > 0
    assert total(without, "cancelled_orders_units") == 0


# --- us.revenue_share (M7, M11) and us.tariff (M13) --------------------------------------------

SHARE = {"date": DATE, "move": "us.revenue_share", "chips": ["H20"], "share": 0.25}


def test_collected_revenue_share_goes_to_the_us_government():
    with_, without = pair(SHARE)
    assert total(with_, "us_fees_usd") > 0 and total(without, "us_fees_usd") == 0
    assert total(with_, "legal_export_units_H20") < total(without, "legal_export_units_H20")


def test_each_us_vendors_legal_china_revenue_adds_up_to_the_total():
    """F4 compares Nvidia's own China revenue: the per-vendor columns split the total."""
    with_, _ = pair(SHARE)
    per_vendor = {v: total(with_, f"vendor_revenue_china_legal_usd_{v}") for v in US_VENDORS}
    assert sum(per_vendor.values()) == pytest.approx(
        total(with_, "vendor_revenue_china_legal_usd"), rel=1e-12)
    assert per_vendor["nvidia"] > 0 and per_vendor["amd"] > 0


def test_h20_deliveries_to_each_big_tech_firm_are_part_of_the_total():
    """F1 reads the H20 of the firms it names: each firm's column is its own, inside the total."""
    with_, _ = pair(SHARE)
    firms = {f: total(with_, f"legal_export_units_H20_{f}") for f in BIG_TECH}
    assert all(units > 0 for units in firms.values())
    assert len(set(firms.values())) == len(firms)  # each firm's own deliveries, not a copy
    assert sum(firms.values()) < total(with_, "legal_export_units_H20")  # others buy H20 too


def test_announced_share_never_collected_is_priced_in_but_not_paid():
    """M7: announced, never codified, nothing paid; vendors priced it in."""
    announced = dict(SHARE, collected=False)
    with_, without = pair(announced)
    assert total(with_, "us_fees_usd") == 0
    assert total(with_, "legal_export_units_H20") < total(without, "legal_export_units_H20")


def test_tariff_is_levied_at_import_on_the_list_price():
    tariff = {"date": DATE, "move": "us.tariff", "chips": ["H20"], "rate": 0.25}
    (scenario, records), _ = pair(tariff, seeds=1)
    units = window(scenario, records, "legal_export_units_H20", DATE, DATE)
    fees = window(scenario, records, "us_fees_usd", DATE, DATE)
    assert units[0] > 0
    assert fees[0] == pytest.approx(0.25 * CHIPS["H20"].list_price_usd * units[0], rel=1e-9)


def test_share_and_tariff_are_separate_mechanisms():
    """The share is a cut of the sale price; the tariff is levied on the list price."""
    share = make(events=[dict(SHARE, share=0.2)])
    tariff = make(events=[{"date": DATE, "move": "us.tariff", "chips": ["H20"], "rate": 0.2}])
    a, b = ensemble(share, 1), ensemble(tariff, 1)
    fee_a = window(share, a, "us_fees_usd", DATE, DATE)[0]
    fee_b = window(tariff, b, "us_fees_usd", DATE, DATE)[0]
    units = window(share, a, "legal_export_units_H20", DATE, DATE)[0]
    assert fee_a > 0.2 * CHIPS["H20"].list_price_usd * units * 1.0001  # share of a marked-up price
    assert fee_b > 0 and fee_a != pytest.approx(fee_b)


# --- us.enforcement (M3), transit.permit_requirement (M4), routes -------------------------------


def test_enforcement_raises_seizures_and_lowers_smuggling():
    crackdown = {"date": DATE, "move": "us.enforcement", "intensity": 4.0}
    with_, without = pair(crackdown, seeds=6)
    assert total(with_, "smuggled_units") < total(without, "smuggled_units")
    assert total(with_, "seized_units") > total(without, "seized_units")


def test_enforcement_raises_the_risk_buyers_of_smuggled_chips_perceive():
    crackdown = {"date": DATE, "move": "us.enforcement", "intensity": 4.0}
    before = {}
    for name, scenario in (("with", make(events=[crackdown])), ("without", make())):
        model = ChipTradeModel(scenario, seed=0)
        while model.month <= scenario.start + month_index(scenario, DATE):
            model.step()
        offers = model.market.offers_now()
        before[name] = float(offers.mult[0, :, model.market.options.k_grey].mean())
    assert before["with"] > before["without"]


PERMIT = {"date": DATE, "move": "transit.permit_requirement", "country": "malaysia",
          "detection": 0.3, "cost": 800}


def test_transit_permit_diverts_trade_to_other_routes_and_raises_cost():
    with_, without = pair(PERMIT, seeds=6)
    late = ("2025-01", "2025-06")
    assert total(with_, "smuggled_units_malaysia", late) < 0.7 * total(
        without, "smuggled_units_malaysia", late)
    others = [f"smuggled_units_{r}" for r in ROUTES if r != "malaysia"]
    assert sum(total(with_, m, late) for m in others) > sum(total(without, m, late)
                                                            for m in others)
    assert total(with_, "smuggled_units", late) < total(without, "smuggled_units", late)


def test_smugglers_leave_a_policed_route_gradually_not_all_at_once():
    scenario = make(events=[PERMIT])
    _, probed = track(scenario, 0, on_malaysia=lambda m: float(
        (m.smugglers.route == ROUTES.index("malaysia")).mean()))
    share = probed["on_malaysia"]
    assert share.loc["2025-06"] < share.loc["2024-09"]
    assert share.loc["2024-11"] > share.loc["2025-06"]  # still leaving months later


def test_detection_on_a_route_rises_with_the_volume_sent_through_it():
    model = ChipTradeModel(make(), seed=0)
    model.step()
    quiet = model.smugglers.detection()
    model.smugglers.last_volume = model.smugglers.last_volume + 10 * model.smugglers.route_capacity
    assert (model.smugglers.detection() > quiet).all()


# --- us.remote_access_rule (M16), us.affiliates_rule (M18), us.location_verification (M17) ------


def test_remote_access_rule_withdraws_offshore_cloud_capacity():
    rule = {"date": DATE, "move": "us.remote_access_rule", "compliance": 0.6}
    with_, without = pair(rule)
    scenario, records = with_
    j, k = month_index(scenario, "2025-06"), MODEL_METRICS.index("cloud_capacity_units")
    assert records[:, j, k].mean() < without[1][:, j, k].mean()
    assert total(with_, "subsidiary_units") < total(without, "subsidiary_units")


def test_full_remote_access_compliance_closes_the_cloud_channel():
    rule = {"date": DATE, "move": "us.remote_access_rule", "compliance": 1.0}
    with_, _ = pair(rule)
    assert total(with_, "cloud_units", ("2024-11", "2025-06")) == 0.0


def test_offshore_cloud_room_grows_with_the_market():
    """Data centres abroad are built for the market they serve: once the countries' rooms for
    China-facing GPUs bind, rented capacity grows as Chinese demand does (F5), not at all when
    demand stands still - the channel is not frozen at its 2024 size for three years (F8)."""
    rooms = {"clouds.initial_capacity_units": 1000.0,
             **{f"clouds.country_capacity_units.{c}": 1000.0 for c in CLOUD_COUNTRIES}}

    def capacity(growth: float) -> np.ndarray:
        scenario = make(parameters={**rooms, "demand.growth_per_year": growth})
        records = ensemble(scenario, seeds=2)
        k = MODEL_METRICS.index("cloud_capacity_units")
        return records[:, [month_index(scenario, "2024-12"), month_index(scenario, "2025-06")], k]

    still, growing = capacity(0.0), capacity(0.5)
    assert still[:, 1] == pytest.approx(still[:, 0])  # bound by the rooms, which stand still
    assert growing[:, 1] / growing[:, 0] == pytest.approx(1.5 ** 0.5, rel=0.01)


AFFILIATES = {"id": "affiliates", "date": DATE, "move": "us.affiliates_rule", "screening": 0.6}


def test_affiliates_rule_stops_front_company_purchases():
    with_, without = pair(AFFILIATES)
    assert total(with_, "subsidiary_units") < 0.8 * total(without, "subsidiary_units")
    assert total(with_, "seized_units") > total(without, "seized_units")


LOCATION = {"date": DATE, "move": "us.location_verification", "detection": 0.3}


def test_location_verification_disables_smuggled_chips_after_delivery_not_at_the_border():
    with_, without = pair(LOCATION, parameters={"smuggling.congestion": 0.0})
    scenario, records = with_
    disabled = window(scenario, records, "disabled_units", *AFTER)
    smuggled = window(scenario, records, "smuggled_units", *AFTER)
    assert disabled == pytest.approx(0.3 * smuggled)
    assert total(without, "disabled_units") == 0
    # it is not a border seizure: the routes' detection is unchanged
    model_with = ChipTradeModel(scenario, seed=0)
    model_without = ChipTradeModel(without[0], seed=0)
    for model in (model_with, model_without):
        while model.month <= scenario.start + month_index(scenario, DATE):
            model.step()
    assert np.array_equal(model_with.smugglers.detection(), model_without.smugglers.detection())


def test_location_verification_lowers_what_a_smuggled_chip_is_worth_to_buyers():
    with_, without = pair(LOCATION)
    assert total(with_, "smuggled_units") < total(without, "smuggled_units")


# --- cn.import_block (M15), cn.purchase_guidance (M6) --------------------------------------------

BLOCK = {"date": DATE, "move": "cn.import_block", "chips": ["H20"], "allowed": ["research_labs"]}


def test_import_block_stops_legal_imports_except_for_allowed_buyers():
    with_, without = pair(BLOCK)
    labs_only = total(with_, "legal_export_units_H20")
    assert 0 < labs_only < 0.2 * total(without, "legal_export_units_H20")
    model = ChipTradeModel(make(events=[BLOCK]), seed=0)
    while model.month <= model.experiment.start + month_index(model.experiment, DATE):
        model.step()
    o = model.market.offers_now()
    h20 = model.market.options.kinds.index(("legal", "H20"))
    labs = model.book.profiles.buyer_class == 2  # research_labs (offers are per profile)
    assert (o.open[0, labs, h20] == 1).all() and (o.open[0, ~labs, h20] == 0).all()


def test_import_block_refuses_orders_placed_before_it_that_arrive_after_it():
    early = {"date": "2024-08", "move": "us.licence_requirement", "chips": ["H20"],
             "approval": 1.0, "delay_months": 3}
    with_, without = pair(BLOCK, events_before=(early,))
    assert total(with_, "cancelled_orders_units", (DATE, "2024-12")) > 0
    assert total(without, "cancelled_orders_units") == 0
    _cancellations_are_counted_under_their_chip(with_, "H20")


def _cancellations_are_counted_under_their_chip(run, chip: str) -> None:  # noqa: ANN001
    """The per-chip cancellation columns add up to the total, and ``chip`` holds them all."""
    per_chip = sum(total(run, f"cancelled_orders_units_{c}") for c in US_CHIPS)
    assert per_chip == pytest.approx(total(run, "cancelled_orders_units"), rel=1e-12)
    assert total(run, f"cancelled_orders_units_{chip}") == pytest.approx(per_chip, rel=1e-12)


GUIDANCE = {"date": DATE, "move": "cn.purchase_guidance", "chips": ["H20"], "pressure": 0.8}


def test_purchase_guidance_lowers_legal_purchases_of_its_chip():
    with_, without = pair(GUIDANCE)
    assert total(with_, "legal_export_units_H20") < 0.8 * total(without, "legal_export_units_H20")


def test_purchase_guidance_cancels_waiting_orders_when_it_comes_in():
    waiting = {"date": "2024-08", "move": "us.licence_requirement", "chips": ["H20"],
               "approval": 1.0, "delay_months": 3}
    with_, without = pair(GUIDANCE, events_before=(waiting,))
    assert total(with_, "cancelled_orders_units", (DATE, DATE)) > 0
    assert total(without, "cancelled_orders_units", (DATE, DATE)) == 0
    _cancellations_are_counted_under_their_chip(with_, "H20")


# --- cn.domestic_mandate (M8, M9), cn.domestic_subsidy (M9, F13) ---------------------------------


@pytest.mark.parametrize("applies_to", ["all", "state_funded", "public_dc", "inference"])
def test_domestic_mandate_raises_domestic_units(applies_to):
    mandate = {"date": DATE, "move": "cn.domestic_mandate", "share": 0.8,
               "applies_to": applies_to}
    with_, without = pair(mandate, seeds=2, parameters=AMPLE_INPUTS)
    assert total(with_, "domestic_units") > total(without, "domestic_units")


def test_a_mandate_under_binding_hbm_limits_moves_domestic_chips_to_the_mandated_buyers():
    """At the data files' HBM and foundry supply the makers sell out with or without a mandate
    (F12, F17): the mandate decides who gets their output, not how much there is."""
    def state_share(events: list) -> tuple[float, float]:
        scenario = make(events=events)
        model = ChipTradeModel(scenario, seed=0)
        profiles = model.book.profiles
        state = profiles.buyer_class[profiles.of] == BUYER_CLASSES.index("state_dcs")
        to_state = everyone = 0.0
        while model.month <= scenario.end:
            model.step()
            got = np.asarray(model.book.received["domestic"])[0]
            to_state += float(got[state].sum())
            everyone += float(got.sum())
        return to_state / everyone, everyone

    mandate = {"date": DATE, "move": "cn.domestic_mandate", "share": 0.8,
               "applies_to": "state_funded"}
    with_share, with_total = state_share([mandate])
    without_share, without_total = state_share([])
    assert with_share > without_share
    assert with_total == pytest.approx(without_total, rel=0.02)


def test_domestic_subsidy_raises_domestic_units_more_with_a_larger_cost_multiple():
    def subsidy(multiple: float) -> dict:
        return {"date": DATE, "move": "cn.domestic_subsidy", "cost_multiple": multiple}

    small, none = pair(subsidy(1.5), seeds=2, parameters=AMPLE_INPUTS)
    large, _ = pair(subsidy(4.0), seeds=2, parameters=AMPLE_INPUTS)
    assert total(none, "domestic_units") < total(small, "domestic_units") < total(
        large, "domestic_units")


def test_domestic_output_never_exceeds_what_hbm_and_foundries_can_feed():
    from sim.model.agents.vendors import domestic_ceiling

    subsidy = {"date": "2024-02", "move": "cn.domestic_subsidy", "cost_multiple": 20.0}
    scenario = make(events=[subsidy], parameters={"domestic.hbm_units_per_month": 30000})
    model = ChipTradeModel(scenario, seed=0)
    while model.month <= scenario.end:
        model.step()
        capacity = sum(first(v.capacity[c]) for v in model.vendors if v.domestic
                       for c in v.chips)
        assert capacity <= first(domestic_ceiling(model)) * 1.000001


# --- supply.shock (F12) ----------------------------------------------------------------------


def test_supply_shock_cutting_capacity_lowers_output_of_the_chip():
    shock = {"date": DATE, "move": "supply.shock", "component": "hbm", "capacity_change": -0.5,
             "chips": ["H200"]}
    with_, without = pair(shock, seeds=1)
    assert total(with_, "production_units_H200") < total(without, "production_units_H200")


def test_supply_shock_reaches_domestic_chips_too():
    shock = {"date": DATE, "move": "supply.shock", "component": "hbm", "capacity_change": -0.6,
             "chips": ["ASCEND910C", "MLU590"]}
    with_, without = pair(shock, seeds=2)
    assert total(with_, "domestic_units") < total(without, "domestic_units")


def test_supply_shock_price_change_raises_the_chips_list_price():
    shock = {"date": DATE, "move": "supply.shock", "component": "hbm", "price_change": 0.6,
             "chips": ["H200"]}
    scenario = make(events=[shock])
    _, probed = track(scenario, 0, h200=lambda m: m.list_price("H200"),
                      h20=lambda m: m.list_price("H20"))
    assert probed.loc[DATE, "h200"] == pytest.approx(1.6 * CHIPS["H200"].list_price_usd)
    assert probed.loc["2024-09", "h200"] == pytest.approx(CHIPS["H200"].list_price_usd)
    assert probed.loc[DATE, "h20"] == pytest.approx(CHIPS["H20"].list_price_usd)


# --- trade.truce (M10) -----------------------------------------------------------------------


def test_truce_suspends_the_named_event_and_it_resumes_afterwards():
    truce = {"date": "2024-12", "move": "trade.truce", "suspends": ["affiliates"], "months": 3}
    scenario = make(events=[AFFILIATES, truce])
    _, probed = track(scenario, 0, screening=lambda m: m.policy.affiliates_screening)
    s = probed["screening"]
    assert s.loc["2024-11"] == 0.6
    assert (s.loc["2024-12":"2025-02"] == 0.0).all()
    assert (s.loc["2025-03":] == 0.6).all()


def test_truce_gives_front_companies_back_their_trade_while_it_lasts():
    truce = {"date": "2024-12", "move": "trade.truce", "suspends": ["affiliates"], "months": 3}
    with_, without = pair(truce, events_before=(AFFILIATES,))
    during = ("2024-12", "2025-02")
    assert total(with_, "subsidiary_units", during) > total(without, "subsidiary_units", during)


def test_truce_by_move_name_suspends_every_event_of_that_move():
    tariff = {"date": DATE, "move": "us.tariff", "chips": ["H20"], "rate": 0.25}
    truce = {"date": "2024-12", "move": "trade.truce", "suspends": ["us.tariff"], "months": 2}
    scenario = make(events=[tariff, truce])
    _, probed = track(scenario, 0, rate=lambda m: m.policy.tariff.get("H20", 0.0))
    assert probed.loc["2024-11", "rate"] == 0.25
    assert probed.loc["2025-01", "rate"] == 0.0
    assert probed.loc["2025-02", "rate"] == 0.25


def test_truce_naming_an_unknown_event_is_refused():
    from sim.scenario.errors import ScenarioError

    truce = {"date": "2024-12", "move": "trade.truce", "suspends": ["no-such-id"], "months": 2}
    with pytest.raises(ScenarioError, match="suspends: 'no-such-id' is neither a move name"):
        make(events=[truce])
