"""Keyed random numbers make the pairing survive policy; every run reports how strong it is.

Issue 12: draws are keyed by (replication, purpose, month, agent), so a rule that comes in
some month cannot shift the random numbers of any other, and a scenario shares every draw
with its counterfactual; ``manifest.json`` reports the variance of the paired loss against
an unpaired difference (``sim.experiments.pairing``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import ensemble, make, month_index

from sim.experiments.pairing import TARGET, pairing_strength, pairing_warning
from sim.experiments.replication import replication_seed, run_batch
from sim.model.draws import Draws, replication_key
from sim.model.metrics import METRIC_NAMES, MODEL_METRICS

CRACKDOWN = {"date": "2025-01", "move": "us.enforcement", "intensity": 3.0, "id": "crackdown"}
#: Rules that change nothing in this world: a tariff on a part China may not buy anyway, a
#: supply "shock" of zero, a permit nobody is caught by and that costs nothing.
NO_OPS = (
    {"date": "2024-03", "move": "us.tariff", "chips": ["B200"], "rate": 0.25},
    {"date": "2024-03", "move": "supply.shock", "component": "hbm"},
    {"date": "2024-03", "move": "transit.permit_requirement", "country": "malaysia",
     "detection": 0.0, "cost": 0},
)


# --------------------------------------------------------------------------- keyed streams


def draws(*indices: int) -> Draws:
    return Draws(np.array([replication_key(replication_seed(7, i)) for i in indices],
                          dtype=np.uint64))


def test_a_draw_is_a_function_of_replication_purpose_month_and_agent_only():
    alone = draws(3).uniform("seizure", 5, 6)
    busy = draws(0, 3, 9)
    busy.uniform("licence:H20", 5, 100)  # other purposes drawn first, in another order
    busy.uniform("seizure", 4, 6)
    np.testing.assert_array_equal(busy.uniform("seizure", 5, 6)[1], alone[0])
    np.testing.assert_array_equal(draws(3).uniform("seizure", 5, 4, start=2), alone[:, 2:])
    assert not np.array_equal(draws(3).uniform("seizure", 6, 6), alone)
    assert not np.array_equal(draws(3).uniform("licence:H20", 5, 6), alone)


@pytest.mark.parametrize("rule", NO_OPS, ids=lambda r: r["move"])
def test_a_rule_that_changes_nothing_leaves_every_number_unchanged(rule):
    before = ensemble(make(events=[CRACKDOWN]), seeds=3)
    after = ensemble(make(events=[CRACKDOWN, rule]), seeds=3)
    np.testing.assert_array_equal(after, before)


def test_a_rule_added_later_leaves_the_months_before_it_unchanged():
    early = make(events=[{"date": "2024-04", "move": "cn.domestic_mandate", "share": 0.5,
                          "applies_to": "public_dc"}])
    both = make(events=[*early.resolved["events"], CRACKDOWN])
    a, b = ensemble(early, seeds=4), ensemble(both, seeds=4)
    cut = month_index(early, CRACKDOWN["date"])
    np.testing.assert_array_equal(b[:, :cut], a[:, :cut])
    smuggled = MODEL_METRICS.index("smuggled_units")
    assert not np.array_equal(b[:, cut:, smuggled], a[:, cut:, smuggled])


def test_the_counterfactual_shares_every_month_before_the_first_event():
    scenario = make(events=[CRACKDOWN])
    pairs = run_batch(scenario, scenario.without_events(), False, range(4))
    cut = month_index(scenario, CRACKDOWN["date"])
    losses = [j for j, name in enumerate(METRIC_NAMES) if name.startswith("revenue_loss")]
    for pair in pairs:
        assert not pair.failed
        assert (pair.values[:cut, losses] == 0.0).all()
        assert (pair.values[cut:, METRIC_NAMES.index("revenue_loss_usd")] != 0.0).any()


# --------------------------------------------------------------------------- pairing strength


def values(revenue, loss) -> pd.DataFrame:
    return pd.DataFrame({"vendor_revenue_usd": revenue, "revenue_loss_usd": loss},
                        index=pd.RangeIndex(len(revenue), name="seed"))


def test_pairing_ratio_is_unpaired_over_paired_variance():
    revenue = np.array([100.0, 110.0, 90.0, 105.0])
    loss = np.array([10.0, 11.0, 9.0, 12.0])
    got = pairing_strength(values(revenue, loss))
    expected = (np.var(revenue, ddof=1) + np.var(revenue + loss, ddof=1)) / np.var(loss, ddof=1)
    assert got["ratio"] == pytest.approx(expected) and got["ratio"] > TARGET
    assert got["status"] == "strong" and got["seeds"] == 4
    assert got["var_loss_usd2"] == pytest.approx(np.var(loss, ddof=1))
    assert pairing_warning(got, "x") is None


def test_weak_pairing_gets_one_line_naming_the_ratio():
    got = pairing_strength(values([100.0, 101.0, 99.0], [5.0, 9.0, 1.0]))
    assert got["status"] == "weak"
    line = pairing_warning(got, "my-scenario")
    assert line.startswith("my-scenario: weak pairing") and "\n" not in line
    assert f"{got['ratio']:.3g}x" in line


@pytest.mark.parametrize(("revenue", "loss", "status"), [
    ([100.0, 120.0, 90.0], [7.0, 7.0, 7.0], "exact"),
    ([100.0], [7.0], "too few seeds"),
])
def test_no_ratio_and_no_warning_without_variance_to_compare(revenue, loss, status):
    got = pairing_strength(values(revenue, loss))
    assert got["status"] == status and got["ratio"] is None
    assert pairing_warning(got, "x") is None
    json.dumps(got, allow_nan=False)


def test_every_run_reports_its_pairing_in_the_manifest(tmp_path):
    import sim

    scenario = make(events=[CRACKDOWN], seeds=3)
    results = sim.run(scenario)
    pairing = results.manifest["pairing"]
    per_seed = results.timeseries.groupby("seed")[["vendor_revenue_usd",
                                                   "revenue_loss_usd"]].sum()
    assert pairing == pairing_strength(per_seed)
    assert pairing["seeds"] == 3 and pairing["ratio"] > 0
    folder = results.write(tmp_path / "out")
    assert json.loads((folder / "manifest.json").read_text())["pairing"]["seeds"] == 3
