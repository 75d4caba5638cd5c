"""Which move cost what (issue 12): Shapley values of a scenario's moves, on the same seeds.

The estimator on games with known answers; then the model: the parts add up to the scenario's
own paired difference (efficiency), two identical moves get equal shares (symmetry), a move
that changes nothing gets zero (null player), and the numbers do not depend on the executor.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import TIMELINE, make

import sim
from sim.analysis import shapley
from sim.analysis.attribution import (
    TOTAL,
    WITHOUT_EVENTS,
    attribute,
    players,
    variant,
)
from sim.experiments.executors import ExecutorError, ProcessExecutor, SerialExecutor
from sim.experiments.summary import per_seed
from sim.model.metrics import METRIC_NAMES
from sim.scenario.scenario import load_scenario

H20_BAN = {"date": "2024-09", "move": "us.licence_requirement", "chips": ["H20", "MI308"],
           "approval": 0.0}
#: Four events: the H20 ban twice (identical but for the id), a supply "shock" that changes
#: nothing, and a crackdown.
TOY_EVENTS = (
    {**H20_BAN, "id": "ban-a"},
    {**H20_BAN, "id": "ban-b"},
    {"date": "2024-10", "move": "supply.shock", "component": "hbm", "price_change": 0.0,
     "id": "nothing"},
    {"date": "2025-01", "move": "us.enforcement", "intensity": 3.0, "id": "crackdown"},
)


def toy(**kw):
    return make(events=TOY_EVENTS, **{"name": "toy", "seeds": 2, **kw})


@pytest.fixture(scope="module")
def by_event():
    return attribute(toy(), by="event")


def values_of(result, group: str) -> pd.DataFrame:
    rows = result.per_seed[result.per_seed["group"] == group]
    return rows.set_index("seed")[list(METRIC_NAMES)]


# --------------------------------------------------------------------------- the estimator


def glove_game(mask: int) -> np.ndarray:
    """Player 0 holds a left glove, players 1 and 2 a right one: a pair is worth 1."""
    return np.array([1.0 if mask & 1 and mask & 6 else 0.0])


def test_exact_shapley_values_of_the_glove_game():
    value = {m: glove_game(m) for m in shapley.coalitions_exact(3)}
    np.testing.assert_allclose(shapley.exact(value, 3)[:, 0], [2 / 3, 1 / 6, 1 / 6])


def random_game(k: int, seed: int = 1) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    value = {m: rng.normal(size=(5, 2)) for m in shapley.coalitions_exact(k)}
    value[0] = np.zeros((5, 2))
    return value


def test_exact_values_add_up_and_treat_twins_and_dummies_as_they_should():
    k = 4
    base = random_game(k)
    # player 1 is player 0's twin, player 3 changes nothing: rebuild v accordingly
    def canonical(mask: int) -> int:
        mask &= ~(1 << 3)
        if mask & 2 and not mask & 1:
            mask = (mask & ~2) | 1
        return mask

    value = {m: base[canonical(m)] for m in shapley.coalitions_exact(k)}
    phi = shapley.exact(value, k)
    np.testing.assert_allclose(phi.sum(axis=0), value[shapley.full(k)] - value[0])
    np.testing.assert_allclose(phi[0], phi[1])
    assert (phi[3] == 0.0).all()


def test_sampled_values_add_up_exactly_and_approach_the_exact_ones():
    k = 5
    value = random_game(k, seed=2)
    orders = shapley.sample_orders(k, 4000, seed=7)
    assert set(shapley.coalitions_of(orders)) == set(shapley.coalitions_exact(k))
    phi, each = shapley.sampled(value, orders)
    np.testing.assert_allclose(each.sum(axis=1), np.broadcast_to(
        value[shapley.full(k)] - value[0], each.sum(axis=1).shape), atol=1e-12)
    se = shapley.standard_error(each)
    assert (np.abs(phi - shapley.exact(value, k)) < 5 * se + 1e-12).all()
    np.testing.assert_array_equal(shapley.sample_orders(k, 4000, seed=7), orders)


# --------------------------------------------------------------------------- players and variants


def test_the_timeline_splits_into_us_controls_chinas_measures_and_market_shocks():
    timeline = load_scenario(TIMELINE)
    team = players(timeline)
    assert [p.name for p in team] == ["US controls", "China's measures", "market shocks"]
    us, china, market = ({timeline.events[i].move.name.split(".")[0] for i in p.events}
                         for p in team)
    assert us == {"us", "transit", "trade"} and china == {"cn"} and market == {"supply"}
    assert sum(len(p.events) for p in team) == len(timeline.events)
    by_event = players(timeline, "event")
    assert [p.name for p in by_event] == [e.id for e in timeline.events]


def test_a_variant_keeps_the_world_and_a_truce_only_with_something_to_suspend():
    timeline = load_scenario(TIMELINE)
    ids = [e.id for e in timeline.events]
    keep = [ids.index("m10-truce"), ids.index("m02-h20-ban")]
    alone = variant(timeline, keep)
    assert [e.id for e in alone.events] == ["m02-h20-ban"]  # the truce suspends nothing here
    with_rule = variant(timeline, [*keep, ids.index("m18-affiliates")])
    assert [e.id for e in with_rule.events] == ["m02-h20-ban", "m18-affiliates", "m10-truce"]
    for key in ("period", "seed", "seeds", "parameters", "population", "initial_policy"):
        assert alone.resolved[key] == timeline.resolved[key]
    everything = variant(timeline, range(len(ids)))
    assert everything.resolved["events"] == timeline.resolved["events"]


def test_a_scenario_without_events_has_nothing_to_attribute():
    with pytest.raises(sim.scenario.errors.ScenarioError, match="nothing to attribute"):
        attribute(make(events=[]), seeds=1)


# --------------------------------------------------------------------------- on the model


def test_the_parts_add_up_to_the_scenarios_own_paired_difference(by_event):
    total = values_of(by_event, TOTAL)
    parts = sum(values_of(by_event, p.name) for p in by_event.players)
    np.testing.assert_allclose(parts.to_numpy(), total.to_numpy(), rtol=1e-9, atol=1e-6)
    losses = ["revenue_loss_usd", "revenue_loss_legal_usd", "revenue_loss_diversion_usd"]
    own = per_seed(sim.run(toy()).timeseries, losses)
    np.testing.assert_allclose(total[losses].to_numpy(), own.to_numpy(), rtol=1e-12)
    table = by_event.table[by_event.table["metric"] == "revenue_loss_usd"].set_index("group")
    assert math.isclose(table.drop(TOTAL)["mean"].sum(), table.loc[TOTAL, "mean"], rel_tol=1e-9)
    assert table.loc[TOTAL, "mean"] == pytest.approx(own["revenue_loss_usd"].mean(), rel=1e-12)


def test_two_identical_moves_get_equal_shares(by_event):
    a, b = values_of(by_event, "ban-a"), values_of(by_event, "ban-b")
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=1e-9)
    assert (a["revenue_loss_usd"] != 0).all()


def test_a_move_that_changes_nothing_gets_zero(by_event):
    assert (values_of(by_event, "nothing").to_numpy() == 0.0).all()
    rows = by_event.table[by_event.table["group"] == "nothing"]
    assert (rows[["mean", "p05", "p50", "p95"]] == 0.0).all().all()


def test_the_table_has_one_row_per_group_and_metric_then_the_total(by_event):
    table = by_event.table
    assert list(table.columns) == ["group", "metric", "unit", "mean", "p05", "p50", "p95"]
    names = ["ban-a", "ban-b", "nothing", "crackdown", TOTAL]
    assert list(table["group"]) == names * len(METRIC_NAMES)
    assert list(table["metric"]) == [m for m in METRIC_NAMES for _ in names]
    assert by_event.manifest["method"]["shapley"] == "exact"
    assert by_event.manifest["pairing"]["seeds"] == 2


def test_results_are_identical_across_executors_and_worker_counts():
    # in-process all seeds of a variant are stepped together; in processes one per task
    serial = attribute(toy(seeds=3), executor=SerialExecutor())
    for executor in (ProcessExecutor(2), ProcessExecutor(3)):
        again = attribute(toy(seeds=3), executor=executor)
        pd.testing.assert_frame_equal(again.table, serial.table, check_exact=True)
        pd.testing.assert_frame_equal(again.per_seed, serial.per_seed, check_exact=True)


def test_results_are_identical_on_a_dask_cluster(by_event):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        again = attribute(toy(), by="event", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(again.table, by_event.table, check_exact=True)
    assert again.manifest["executor"]["kind"] == "dask"


class _StaleWorkers(SerialExecutor):
    """An executor whose (pretend) remote worker runs other chipsim code."""

    def probe(self, fn):  # noqa: ANN001, ANN201
        return {"tcp://stale:1": fn() | {"code_fingerprint": "an older chipsim"}}


def test_workers_running_other_code_are_refused_before_anything_runs():
    with pytest.raises(ExecutorError, match="different chipsim code"):
        attribute(toy(), by="event", executor=_StaleWorkers())
    with pytest.raises(ExecutorError, match="different chipsim code"):
        sim.run(toy(), 2, executor=_StaleWorkers())


def test_sampled_permutations_still_add_up_and_say_their_error(by_event):
    sampled = attribute(toy(), by="event", permutations=3, exact_up_to=0)
    again = attribute(toy(), by="event", permutations=3, exact_up_to=0)
    pd.testing.assert_frame_equal(sampled.table, again.table, check_exact=True)
    assert sampled.manifest["method"]["shapley"] == "sampled permutations"
    assert "se" in sampled.table.columns and (sampled.table["se"] >= 0).all()
    parts = sum(values_of(sampled, p.name) for p in sampled.players)
    np.testing.assert_allclose(parts.to_numpy(), values_of(by_event, TOTAL).to_numpy(),
                               rtol=1e-9, atol=1e-6)
    assert (values_of(sampled, "nothing").to_numpy() == 0.0).all()


def test_against_a_counterfactual_file_the_rest_is_the_without_events_row(tmp_path):
    other = tmp_path / "other.yaml"
    doc = make(events=[{"date": "2024-06", "move": "us.enforcement", "intensity": 2.0}],
               name="other").resolved
    other.write_text(json.dumps(doc))
    scenario = make(events=TOY_EVENTS[2:], name="toy", seeds=2, counterfactual=str(other))
    result = attribute(scenario, by="event")
    names = list(dict.fromkeys(result.table["group"]))
    assert names == ["nothing", "crackdown", WITHOUT_EVENTS, TOTAL]
    total = values_of(result, TOTAL)
    parts = values_of(result, WITHOUT_EVENTS) + sum(values_of(result, p.name)
                                                     for p in result.players)
    np.testing.assert_allclose(parts.to_numpy(), total.to_numpy(), rtol=1e-9, atol=1e-6)
    assert (values_of(result, WITHOUT_EVENTS)["revenue_loss_usd"] != 0).all()
    own = per_seed(sim.run(scenario).timeseries, ["revenue_loss_usd"])
    # The loss is a difference of revenues near 1e11 USD: equal to their rounding (~1e-5 USD).
    np.testing.assert_allclose(total["revenue_loss_usd"], own["revenue_loss_usd"], rtol=0,
                               atol=1e-3)


# --------------------------------------------------------------------------- the command


def test_attribute_writes_the_table_figures_and_manifest(tmp_path, capsys):
    from sim.cli.main import main

    path = tmp_path / "toy.yaml"
    path.write_text(json.dumps(toy().resolved))
    out = tmp_path / "out"
    assert main(["attribute", str(path), "--workers", "1", "--out", str(out)]) == 0
    table = pd.read_csv(out / "attribution.csv")
    assert list(table.columns) == ["group", "metric", "unit", "mean", "p05", "p50", "p95"]
    assert set(table["group"]) == {"US controls", "market shocks", TOTAL}
    for name in ("revenue_loss_waterfall", "diverted_units_waterfall"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "attribute" and manifest["by"] == "group"
    assert manifest["players"][0] == {"name": "US controls",
                                      "events": ["ban-a", "ban-b", "crackdown"]}
    printed = capsys.readouterr().out
    assert "sum of the parts" in printed and "revenue_loss_usd" in printed
    assert main(["attribute", str(path), "--workers", "1", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


def test_attribute_of_a_file_without_events_is_one_line_and_exit_2(tmp_path, capsys):
    from sim.cli.main import main

    path = tmp_path / "bare.yaml"
    path.write_text(json.dumps(make(events=[], name="bare").resolved))
    assert main(["attribute", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "nothing to attribute" in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_the_command_line_knows_the_analysis_choices():
    from sim.analysis import attribution
    from sim.cli import attribute as command

    assert command.BY_CHOICES == attribution.BY_CHOICES
    assert command.DEFAULT_PERMUTATIONS == attribution.DEFAULT_PERMUTATIONS
