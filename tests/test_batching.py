"""Replications stepped together (issue 14): a replication's numbers do not depend on R.

``ChipTradeModel(scenario, seeds=[...])`` steps R replications as one array program, with keyed
random draws (``sim.model.draws``). Each replication must come out bit for bit as it does alone
(R = 1, the ordinary Mesa model), whatever R is, where it sits in the batch, which other seeds
run beside it, how the executors cut a run into batches, and how many workers run them.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TIMELINE, make
from test_conservation import EVERY_MOVE

from sim.cli.main import main as chipsim
from sim.experiments import executors
from sim.experiments.replication import replication_seed, run_batch, simulate
from sim.model.model import ChipTradeModel
from sim.scenario.scenario import load_counterfactual, load_scenario

#: Replications compared with their R = 1 runs (kept small: each R = 1 run costs a full model).
SEEN = 7
#: Parameters drawn per replication, so that batches mix different parameter values.
PARAMETERS = {"smuggling.markup": {"uniform": [0.3, 0.8]},
              "buyers.stockpile_months.big_tech": {"triangular": [3, 6, 12]}}


def seeds_of(scenario, indices):  # noqa: ANN001, ANN201
    return [replication_seed(scenario.seed, i) for i in indices]


def alone(scenario, indices):  # noqa: ANN001, ANN201
    """Each replication run by itself (R = 1): (len(indices), months, MODEL_METRICS)."""
    return np.stack([simulate(scenario, seeds_of(scenario, [i]))[0] for i in indices])


#: Where to look when a replication's numbers depend on R.
HINT = ("a replication's numbers depend on what runs beside it. Usual cause: a sum over agents of"
        " an (R, ...) array that is not C-contiguous (e.g. the result of x[:, index], whose"
        " memory puts R innermost): numpy adds an axis pairwise only when it is the innermost"
        " of its loop, and a length-1 R axis changes which axis that is. np.take(x, index,"
        " axis=...) or np.ascontiguousarray keep R outermost.")


def assert_same(together: np.ndarray, single: np.ndarray) -> None:
    assert np.isfinite(single).all()
    np.testing.assert_array_equal(together, single, err_msg=HINT, strict=True)


# --- the timeline ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def timeline():
    return load_scenario(TIMELINE)


#: Timeline seeds that once came out differently in a batch than alone (the clouds' rents and
#: room, indexed per provider by country, summed in an R-dependent order): kept as a check.
ONCE_DIFFERENT = (20, 28, 30, 40)


@pytest.fixture(scope="module")
def timeline_alone(timeline):
    return alone(timeline, [*range(SEEN), *ONCE_DIFFERENT])


def test_timeline_seven_together_are_each_as_alone(timeline, timeline_alone):
    assert_same(simulate(timeline, seeds_of(timeline, range(SEEN))), timeline_alone[:SEEN])


def test_timeline_in_a_batch_of_64_is_as_alone(timeline, timeline_alone):
    batch = simulate(timeline, seeds_of(timeline, range(64)))
    assert batch.shape[0] == 64
    assert_same(batch[[*range(SEEN), *ONCE_DIFFERENT]], timeline_alone)
    assert not np.array_equal(batch[0], batch[1])  # the replications do differ


# --- every move, with parameters drawn per replication ---------------------------------------


@pytest.fixture(scope="module")
def every_move():
    return make(events=EVERY_MOVE, parameters=PARAMETERS, name="every-move-batched", seed=31)


@pytest.fixture(scope="module")
def every_move_alone(every_move):
    """All 64 replications alone (the small world runs fast): a whole batch is checked."""
    return alone(every_move, range(64))


@pytest.mark.parametrize("size", [7, 64])
def test_every_move_together_is_each_as_alone(every_move, every_move_alone, size):
    batch = simulate(every_move, seeds_of(every_move, range(size)))
    assert_same(batch, every_move_alone[:size])


def test_place_in_the_batch_and_neighbours_do_not_matter(every_move, every_move_alone):
    """Replications 63, 6, 0 and 3 together, in that order: each as alone."""
    order = [63, 6, 0, 3]
    assert_same(simulate(every_move, seeds_of(every_move, order)), every_move_alone[order])


def test_fixed_parameter_values_per_replication_do_not_mix(every_move):
    """A batch whose replications each have their own fixed values (a design, a posterior)."""
    sets = [{"smuggling.markup": 0.35, "buyers.rumour_credence": 0.2},
            {"smuggling.markup": 0.75, "buyers.rumour_credence": 0.9},
            {"smuggling.markup": 0.5, "buyers.rumour_credence": 0.5}]
    seeds = seeds_of(every_move, [0, 1, 2])
    together = simulate(every_move, seeds, parameter_sets=sets)
    single = np.stack([simulate(every_move, [seed], parameter_sets=[values])[0]
                       for seed, values in zip(seeds, sets, strict=True)])
    assert_same(together, single)
    assert not np.array_equal(together[0], simulate(every_move, seeds[:1])[0])  # the set acts


def test_a_replication_with_its_counterfactual_is_the_same_in_any_batch(every_move):
    counterfactual = load_counterfactual(every_move)
    batch = run_batch(every_move, counterfactual, False, range(SEEN))
    for result in batch:
        (single,) = run_batch(every_move, counterfactual, False, [result.index])
        assert result.error is None and single.error is None
        np.testing.assert_array_equal(result.values, single.values, strict=True)


def test_checking_conservation_changes_no_number(every_move):
    seeds = seeds_of(every_move, range(3))
    assert_same(simulate(every_move, seeds, check=True), simulate(every_move, seeds))


def _r_not_outermost(value: object, r: int) -> bool:
    """An (R, ...) array whose R axis is not the outermost in memory (a larger stride elsewhere)."""
    if not isinstance(value, np.ndarray) or value.ndim < 2 or value.shape[0] != r:
        return False
    outer = abs(value.strides[0])
    return outer > 0 and any(abs(stride) > outer and size > 1
                             for stride, size in zip(value.strides[1:], value.shape[1:],
                                                     strict=True))


def test_model_functions_keep_the_replication_axis_outermost(every_move):
    """Every (R, ...) array a model function returns has R outermost in memory.

    ``x[:, index]`` (fancy indexing after a slice) returns a new array with the indexed axis
    outermost and R inside it; a later sum over agents then adds in an order that depends on R
    (pairwise at R = 1, sequential above), which is how results came to differ with the batch.
    Catching the layout finds such places before a seed happens to show it.
    """
    import sys

    r = 3
    model = ChipTradeModel(every_move, seeds=seeds_of(every_move, range(r)))
    found: dict[str, tuple] = {}

    def watch(frame, event, arg):  # noqa: ANN001, ANN202
        if event == "return" and "/sim/" in frame.f_code.co_filename.replace("\\", "/"):
            for value in arg if isinstance(arg, tuple) else (arg,):
                if _r_not_outermost(value, r):
                    where = frame.f_code.co_filename.replace("\\", "/").split("/sim/")[-1]
                    found[f"sim/{where}:{frame.f_lineno} {frame.f_code.co_name}"] = (
                        value.shape, value.strides)

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        model.run()
    finally:
        sys.setprofile(previous)
    assert found == {}, HINT


# --- chipsim run: the same bytes for any worker count and batch plan ----------------------------


RUN = """\
name: batching-run
period: {start: 2024-03, end: 2024-12}
seeds: 9
seed: 2718
population: {small_buyers: 30, smugglers: 20, cloud_providers: 4}
parameters:
  smuggling.markup: {uniform: [0.3, 0.8]}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-06, announced: 2024-04, move: us.licence_requirement, chips: [H20, MI308],
     approval: 0.0}
  - {date: 2024-08, move: us.enforcement, intensity: 2.0}
  - {date: 2024-10, move: cn.purchase_guidance, chips: [H20], pressure: 0.5}
"""
OUTPUTS = ("timeseries.csv", "summary.csv")


def run_bytes(tmp_path, name: str, *options: str) -> dict[str, bytes]:  # noqa: ANN001
    """``chipsim run`` in this process (so that patched batch plans apply); the output bytes."""
    path = tmp_path / "batching.yaml"
    if not path.exists():
        path.write_text(RUN)
    out = tmp_path / name
    assert chipsim(["run", str(path), "--out", str(out), "--format", "csv", *options]) == 0
    return {file: (out / file).read_bytes() for file in OUTPUTS}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The default plan on one worker (serial: at most BATCH_LIMIT per batch, one batch here)."""
    return run_bytes(tmp_path_factory.mktemp("reference"), "out", "--workers", "1")


def test_two_workers_write_the_same_bytes_as_one(tmp_path, reference):
    assert run_bytes(tmp_path, "two", "--workers", "2") == reference


@pytest.mark.parametrize("limit", [1, 4])
def test_batch_limit_does_not_change_the_bytes(tmp_path, reference, monkeypatch, limit):
    sizes: list[list[int]] = []
    plan = executors.plan_batches

    def recording(indices, slots, cap):  # noqa: ANN001, ANN202
        batches = plan(indices, slots, cap)
        sizes.append([len(b) for b in batches])
        return batches

    monkeypatch.setattr(executors, "plan_batches", recording)
    for kind in (executors.SerialExecutor, executors.ProcessExecutor):
        monkeypatch.setattr(kind, "batch_limit", limit)
    workers = "1" if limit == 1 else "2"
    assert run_bytes(tmp_path, f"limit{limit}", "--workers", workers) == reference
    assert sizes and max(max(s) for s in sizes) <= limit  # the patched plan was the one used


def test_uneven_batches_write_the_same_bytes(tmp_path, reference, monkeypatch):
    """Batches of 5, 1, 2 and 1 replications (no plan the executors would make)."""

    def uneven(indices, slots, cap):  # noqa: ANN001, ANN202, ARG001
        indices = list(indices)
        return [indices[:5], indices[5:6], indices[6:8], indices[8:]]

    monkeypatch.setattr(executors, "plan_batches", uneven)
    assert run_bytes(tmp_path, "uneven", "--workers", "1") == reference


def test_the_default_plan_steps_many_replications_together():
    """What the runner does by default: large batches (that is where the speed comes from)."""
    for kind in (executors.SerialExecutor, executors.ProcessExecutor):
        batches = executors.plan_batches(list(range(128)), 1, kind.batch_limit)
        assert min(len(b) for b in batches) >= 16, kind.__name__


def test_the_counterfactual_reuses_the_drawn_parameters_only_when_they_would_be_equal():
    """draw_many keeps the last table: same overrides, seeds and fixed values give it back."""
    from sim.world.parameters import Distribution, draw_many

    seeds = [replication_seed(1, i) for i in range(4)]
    wide = {"smuggling.markup": Distribution("uniform", (0.3, 0.8))}
    first = draw_many(wide, seeds)
    assert draw_many(wide, seeds)["smuggling.markup"] is first["smuggling.markup"]
    with pytest.raises(ValueError, match="read-only"):
        first["smuggling.markup"][0, 0] = 1.0  # shared, so nobody may change it
    narrow = {"smuggling.markup": Distribution("uniform", (0.3, 0.31))}
    assert (draw_many(narrow, seeds)["smuggling.markup"] < 0.31).all()
    assert draw_many(wide, seeds[1:])["smuggling.markup"][:, 0].tolist() == \
        first["smuggling.markup"][1:, 0].tolist()
    fixed = draw_many(wide, seeds, [{"smuggling.markup": 0.5}] * 4)
    assert (fixed["smuggling.markup"] == 0.5).all()
