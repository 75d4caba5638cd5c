"""Chips and money are conserved in every month (SPEC §2, §7), and the check can catch a leak.

Every chip produced is in a vendor's inventory, delivered through exactly one channel, or seized;
every dollar a buyer pays reaches a vendor, a government or an intermediary.
:meth:`sim.model.ledger.Ledger.check` compares the payers' side with the payees' side.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TIMELINE, make, run_model

from sim.experiments.replication import replication_seed
from sim.model.ledger import ConservationError
from sim.model.model import ChipTradeModel
from sim.moves import MOVES
from sim.scenario.scenario import load_counterfactual, load_scenario
from sim.world.parameters import DEFAULTS

SEEDS = (0, 1, 2)

#: One event of every move, so conservation is checked with every rule in force.
EVERY_MOVE: tuple[dict, ...] = (
    {"date": "2024-03", "move": "us.licence_requirement", "chips": ["H20"], "approval": 0.5,
     "delay_months": 1, "cap_units": 200000},
    {"date": "2024-03", "move": "us.revenue_share", "chips": ["H20", "MI308"], "share": 0.15},
    {"date": "2024-04", "move": "us.tariff", "chips": ["MI308", "SV1"], "rate": 0.25},
    {"date": "2024-04", "move": "us.enforcement", "intensity": 2.0, "routes": ["malaysia"]},
    {"date": "2024-05", "move": "us.remote_access_rule", "compliance": 0.5},
    {"date": "2024-05", "move": "us.location_verification", "detection": 0.2},
    {"date": "2024-06", "move": "cn.import_block", "chips": ["MI308"],
     "allowed": ["research_labs", "big_tech"], "justification_pass": 0.5},
    {"date": "2024-06", "move": "cn.purchase_guidance", "chips": ["H20"], "pressure": 0.5},
    {"date": "2024-07", "move": "cn.domestic_mandate", "share": 0.5, "applies_to": "inference"},
    {"date": "2024-07", "move": "cn.domestic_subsidy", "cost_multiple": 3.0,
     "power_discount": 0.3},
    {"date": "2024-08", "move": "transit.permit_requirement", "country": "malaysia",
     "detection": 0.3, "cost": 500},
    {"date": "2024-08", "move": "supply.shock", "component": "hbm", "price_change": 0.2,
     "capacity_change": -0.3, "chips": ["H200", "H20"]},
    {"id": "affiliates", "date": "2024-09", "move": "us.affiliates_rule", "screening": 0.5},
    {"date": "2024-10", "move": "trade.truce", "suspends": ["affiliates", "us.tariff"],
     "months": 2},
    {"date": "2024-10", "move": "us.licence_requirement", "chips": ["H200"], "approval": 0.8,
     "delay_months": 2, "us_supply_first": True, "max_share_of_us": 0.5},
    {"date": "2024-11", "move": "cn.import_block", "chips": ["H20"]},
)


def checked_run(scenario, seed) -> ChipTradeModel:  # noqa: ANN001
    """Run with the model's own per-month check on, and check again after every step.

    The run must reach the end of the period: a model that stopped early would be checked on
    only the months it ran.
    """
    checked: list[int] = []

    def check(model: ChipTradeModel) -> None:
        model.ledger.check(model)
        checked.append(model.month - 1)

    model = run_model(scenario, seed, check, check_conservation=True)
    assert model.month == scenario.end + 1, "the run stopped before the end of its period"
    assert checked[-len(scenario.months):] == list(scenario.months)
    return model


def test_every_move_is_in_the_conservation_scenario():
    assert {event["move"] for event in EVERY_MOVE} == set(MOVES)


@pytest.mark.parametrize("index", SEEDS)
def test_timeline_conserves_chips_and_money_every_month(index):
    scenario = load_scenario(TIMELINE)
    model = checked_run(scenario, replication_seed(scenario.seed, index))
    assert model.month == scenario.end + 1  # ran the whole period
    assert model.policy.import_blocks  # the timeline's moves took effect


@pytest.mark.parametrize("index", SEEDS)
def test_timeline_counterfactual_conserves_chips_and_money_every_month(index):
    scenario = load_scenario(TIMELINE)
    checked_run(load_counterfactual(scenario), replication_seed(scenario.seed, index))


@pytest.mark.parametrize("seed", (0, 1))
def test_every_move_conserves_chips_and_money_every_month(seed):
    checked_run(make(events=EVERY_MOVE), seed)


def test_replications_stepped_together_each_conserve():
    scenario = make(events=EVERY_MOVE)
    seeds = [replication_seed(scenario.seed, i) for i in range(3)]
    model = ChipTradeModel(scenario, seeds=seeds, check_conservation=True)
    model.run()
    assert model.replications == 3 and model.month == scenario.end + 1


#: Each parameter alone at either end of its allowed range (sim/data/parameters.yaml); cohorts
#: at most 40 buyers (the top of their range is slow to run, not different).
RANGE_ENDS = [(name, min(end, 40.0) if name.startswith("buyers.cohort_size.") else end)
              for name, spec in DEFAULTS.items() for end in spec.limits]


@pytest.mark.parametrize(("name", "value"),
                         [pytest.param(n, v, id=f"{n}={v:g}") for n, v in RANGE_ENDS])
def test_every_parameter_at_either_end_of_its_range_conserves(name, value):
    scenario = make(events=EVERY_MOVE, parameters={name: value}, period=("2024-01", "2024-12"))
    model = checked_run(scenario, 0)
    assert np.isfinite(model.records).all()


def test_runner_checks_conservation_in_every_replication(monkeypatch):
    from sim.experiments import runner
    from sim.model.ledger import Ledger

    real, checked = Ledger.check, []

    def counting(self, model) -> None:  # noqa: ANN001
        checked.extend([model.experiment.name] * model.replications)  # all of a batch at once
        real(self, model)

    monkeypatch.setattr(Ledger, "check", counting)
    scenario = load_scenario(TIMELINE)
    results = runner.run(scenario, seeds=2, check_conservation=True)
    assert results.failures == {}
    # every month (burn-in included) of both replications, scenario and counterfactual, whether
    # they are stepped one by one or together
    burn_in = scenario.parameters.get("model.burn_in_months",
                                      DEFAULTS["model.burn_in_months"].value)
    months = len(scenario.months) + int(burn_in)
    assert checked.count(scenario.name) == 2 * months
    assert checked.count(load_counterfactual(scenario).name) == 2 * months


def test_runner_records_a_replication_whose_books_do_not_balance(monkeypatch):
    from sim.experiments import runner
    from sim.model.ledger import Ledger

    def leak(self, model) -> None:  # noqa: ANN001
        raise ConservationError("chips: 1 unit unaccounted for")

    monkeypatch.setattr(Ledger, "check", leak)
    results = runner.run(make(name="leaky"), seeds=2, check_conservation=True)
    assert sorted(results.failures) == [0, 1]
    assert all("ConservationError" in f and "unaccounted" in f
               for f in results.failures.values())
    assert runner.run(make(name="leaky"), seeds=1).failures == {}  # no check asked, none made


# --- the check is not vacuous ------------------------------------------------------------------


def running_model(months: int = 4) -> ChipTradeModel:
    """A model some months into the shipped timeline, balanced so far."""
    scenario = load_scenario(TIMELINE)
    model = ChipTradeModel(scenario, seed=replication_seed(scenario.seed, 0))
    for _ in range(months + int(model.params["model.burn_in_months"][0, 0])):
        model.step()
    model.ledger.check(model)
    return model


def test_check_fails_when_chips_appear_in_a_vendor_inventory():
    model = running_model()
    nvidia = model.vendor_of("H100")
    nvidia.inventory["H100"] += 100.0
    with pytest.raises(ConservationError, match="H100"):
        model.ledger.check(model)


def test_check_fails_when_chips_vanish_from_a_vendor_inventory():
    model = running_model()
    model.vendor_of("MI308").inventory["MI308"] -= 1.0
    with pytest.raises(ConservationError, match="MI308"):
        model.ledger.check(model)


def test_check_fails_when_a_receiver_books_chips_nobody_shipped():
    model = running_model()
    model.smugglers.delivered_units = model.smugglers.delivered_units + 10.0
    with pytest.raises(ConservationError, match="smuggled"):
        model.ledger.check(model)


def test_check_fails_on_a_payment_nobody_received():
    model = running_model()
    model.ledger.payment("china_buyers", np.array([[1.0e6]]))
    with pytest.raises(ConservationError, match="money"):
        model.ledger.check(model)


def test_check_fails_on_money_received_but_never_paid():
    model = running_model()
    model.vendor_of("H20").receive(np.array([[5.0e5]]), "china_legal")
    with pytest.raises(ConservationError, match="money"):
        model.ledger.check(model)


def test_step_raises_when_the_books_are_corrupted_and_checking_is_on():
    scenario = load_scenario(TIMELINE)
    model = ChipTradeModel(scenario, seed=replication_seed(scenario.seed, 0),
                           check_conservation=True)
    model.step()
    model.ledger.payment("clouds", np.array([[2.5e6]]))  # a fake payment, booked by no payee
    with pytest.raises(ConservationError):
        model.step()
