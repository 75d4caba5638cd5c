"""The shipped scenario library: every file is valid, every move of the record has a file, and
every scenario runs.

One file per move of FACTS section A from M2 to M18 (``scenarios/mNN-*.yaml``; M1 is the
baseline), the full timeline, and "what if" variants (``scenarios/whatif-*.yaml``). The M files
reuse the timeline's values; the what-ifs extend the timeline and change one thing of it (an
event replaced by id, or events left out). These tests keep the library in step with the
timeline, check that each what-if's change really acts, and that every move file changes
revenue loss against its counterfactual.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.model.model import ChipTradeModel
from sim.scenario.scenario import Event, Scenario, load_counterfactual, load_scenario
from sim.world.months import parse_month

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))
BASELINE = SCENARIOS / "baseline.yaml"
TIMELINE = SCENARIOS / "timeline-2024-2026.yaml"
#: FACTS section A moves that need a file of their own (M1 is the baseline itself).
MOVE_IDS = range(2, 19)
M_FILES = sorted(SCENARIOS.glob("m[0-9][0-9]-*.yaml"))
WHATIF_FILES = sorted(SCENARIOS.glob("whatif-*.yaml"))


def ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@cache
def scenario(path: Path) -> Scenario:
    return load_scenario(path)


@cache
def run(path: Path) -> tuple[ChipTradeModel, np.ndarray]:
    """One seed over the full period (about 0.1 s); the finished model and its records."""
    model = ChipTradeModel(scenario(path), seed=0)
    return model, model.run()[0]


def key(event: Event) -> tuple:
    """What an event does, without its note."""
    return event.date, event.announced, event.move


def move_number(path: Path) -> int:
    return int(path.stem[1:3])


# --- every file is valid -----------------------------------------------------------------------


def test_library_is_complete():
    assert BASELINE in FILES and TIMELINE in FILES
    numbers = [move_number(p) for p in M_FILES]
    assert sorted(numbers) == list(MOVE_IDS), "one mNN-*.yaml file per move M2..M18"
    assert len(WHATIF_FILES) >= 4


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_file_is_valid(path: Path):
    s = scenario(path)
    assert s.name == path.stem
    assert s.title and s.title != s.name
    assert s.description.strip()
    load_counterfactual(s)


def test_names_are_unique():
    names = [scenario(p).name for p in FILES]
    assert len(names) == len(set(names))


def test_chipsim_check_passes_on_every_file():
    done = subprocess.run(
        [sys.executable, "-m", "sim", "check", *[str(p.relative_to(ROOT)) for p in FILES]],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(FILES)


# --- one file per move of the record -----------------------------------------------------------


@pytest.mark.parametrize("path", M_FILES, ids=ids(M_FILES))
def test_move_file_cites_its_move(path: Path):
    s = scenario(path)
    n = move_number(path)
    assert re.search(rf"\bM{n}\b", s.description), f"description must cite FACTS M{n}"
    assert "assum" in s.description.lower(), "description must say which values are assumptions"
    assert s.events, "a move file has at least the move itself"
    assert any(re.search(rf"\bM{n}\b", e.note) for e in s.events), f"an event note names M{n}"
    base = scenario(BASELINE)
    assert (s.start, s.end, s.initial_policy) == (base.start, base.end, base.initial_policy)


def paired_loss(path: Path, seeds: int = 2) -> np.ndarray:
    """Each seed's total revenue loss of a scenario against its own counterfactual."""
    from sim.experiments.replication import run_batch
    from sim.model.metrics import METRIC_NAMES

    s = scenario(path)
    results = run_batch(s, load_counterfactual(s), False, range(seeds))
    j = METRIC_NAMES.index("revenue_loss_usd")
    return np.array([r.values[:, j].sum() for r in results])


@pytest.mark.parametrize("path", M_FILES, ids=ids(M_FILES))
def test_every_move_file_changes_revenue_loss_against_its_counterfactual(path: Path):
    assert (np.abs(paired_loss(path)) > 1e6).all()


@pytest.mark.parametrize("path", [p for p in M_FILES if move_number(p) != 17],
                         ids=[p.stem for p in M_FILES if move_number(p) != 17])
def test_move_file_uses_the_timeline_values(path: Path):
    """Each event of an M file (the move and its prerequisites) is a timeline event."""
    timeline = {key(e) for e in scenario(TIMELINE).events}
    for event in scenario(path).events:
        expected = key(event)
        if path.stem == "m12-us-demand-first" and event.date == parse_month("2026-01"):
            # M12 without M14's approval cap: the timeline models the two as one event
            expected = (event.date, event.announced,
                        event.move.model_copy(update={"cap_units": 1000000.0}))
        assert expected in timeline, f"{event.note!r} is not the timeline's event"


def test_m17_is_a_labelled_what_if():
    (path,) = [p for p in M_FILES if move_number(p) == 17]
    s = scenario(path)
    assert "what if" in s.title.lower() and "what if" in s.description.lower()
    assert [e.move.name for e in s.events] == ["us.location_verification"]
    assert not any(e.move.name == "us.location_verification" for e in scenario(TIMELINE).events)


# --- what-if variants --------------------------------------------------------------------------


@pytest.mark.parametrize("path", WHATIF_FILES, ids=ids(WHATIF_FILES))
def test_what_if_changes_the_record_and_nothing_else(path: Path):
    """A what-if extends the timeline: its events are the record's but for those it changes."""
    s, timeline = scenario(path), scenario(TIMELINE)
    assert "what if" in s.description.lower()
    assert (s.start, s.end, s.initial_policy) == (timeline.start, timeline.end,
                                                  timeline.initial_policy)
    mine, record = {e.id: e for e in s.events}, {e.id: e for e in timeline.events}
    changed = {i for i in record if mine.get(i) != record[i]} | (set(mine) - set(record))
    assert 1 <= len(changed) <= 3, changed


def test_h20_ban_earlier_only_moves_the_announcement():
    s, timeline = scenario(SCENARIOS / "whatif-h20-ban-earlier.yaml"), scenario(TIMELINE)
    mine = {e.id: e for e in s.events}["m02-h20-ban"]
    record = {e.id: e for e in timeline.events}["m02-h20-ban"]
    assert mine.move == record.move and mine.date == record.date == parse_month("2025-04")
    assert mine.announced == parse_month("2025-01") < record.announced


def test_china_accepts_h200_leaves_out_the_import_blocks():
    s, timeline = scenario(SCENARIOS / "whatif-china-accepts-h200.yaml"), scenario(TIMELINE)
    assert [key(e) for e in s.events] == [key(e) for e in timeline.events
                                          if e.move.name != "cn.import_block"]


#: For each what-if: a check of the rules in force at the end of its run.
FINAL_POLICY = {
    "whatif-no-malaysia-permit": lambda p: "malaysia" not in p.transit_permits,
    "whatif-cloud-loophole-closed-2025": lambda p: p.remote_access_compliance == 0.9,
    "whatif-revenue-share-50": lambda p: p.tariff["H200"] == 0.5 and p.tariff["MI325X"] == 0.25,
    "whatif-subsidy-1x": lambda p: p.subsidy_cost_multiple == 1.0 and p.power_discount == 0.5,
    "whatif-stronger-enforcement": lambda p: set(p.enforcement.values()) == {4.0},
    "whatif-china-accepts-h200": lambda p: "H200" not in p.import_blocks,
    "whatif-h20-ban-earlier": lambda p: p.licences["H20"].approval == 0.8,
}


def test_every_what_if_has_a_check():
    assert set(FINAL_POLICY) == set(ids(WHATIF_FILES))


@pytest.mark.parametrize("name", sorted(FINAL_POLICY))
def test_what_if_override_is_in_force(name: str):
    """The what-if's event replaced the record's (same id), or the record's is left out."""
    model, _ = run(SCENARIOS / f"{name}.yaml")
    assert FINAL_POLICY[name](model.policy)
    if name != "whatif-h20-ban-earlier":  # its change is the announcement, checked above
        timeline, _ = run(TIMELINE)
        assert not FINAL_POLICY[name](timeline.policy)


def _revenue_share_in_december_2025(path: Path) -> dict[str, float]:
    model = ChipTradeModel(scenario(path), seed=0)
    while model.month <= parse_month("2025-12"):
        model.step()
    return model.policy.revenue_share


def test_revenue_share_50_applies_in_december_2025():
    share = _revenue_share_in_december_2025(SCENARIOS / "whatif-revenue-share-50.yaml")["H200"]
    assert share.share == 0.5
    assert _revenue_share_in_december_2025(TIMELINE)["H200"].share == 0.25  # the record's


# --- every scenario runs -----------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_scenario_runs(path: Path):
    _, records = run(path)
    s = scenario(path)
    assert records.shape[0] == len(s.months)
    assert np.isfinite(records).all()
    assert (records >= -1e-6).all(), "counts, money and shares are never negative"


def _weighted_quantiles(posterior, name: str, qs: tuple[float, ...]) -> tuple[float, ...]:
    """Quantiles of one fitted parameter under the posterior's particle weights."""
    values = np.array([row[posterior.names.index(name)] for row in posterior.rows])
    order = np.argsort(values)
    cumulative = np.cumsum(np.array(posterior.weights)[order])
    cumulative /= cumulative[-1]
    return tuple(float(values[order][np.searchsorted(cumulative, q)]) for q in qs)


def test_the_sensitivity_scenario_is_the_timeline_with_its_assumptions_as_ranges():
    from sim.analysis.sensitivity import uncertain_parameters
    from sim.world.parameters import DEFAULTS, Distribution, load_posterior

    s, timeline = scenario(SCENARIOS / "sensitivity-timeline.yaml"), scenario(TIMELINE)
    assert list(map(key, s.events)) == list(map(key, timeline.events))
    uncertain = uncertain_parameters(s)
    assert len(uncertain) >= 6
    posterior = load_posterior()
    for name, distribution in uncertain.items():
        default = DEFAULTS[name].value
        if name in posterior.names:  # fitted: the posterior's 5-95 % range, rounded
            low, high = _weighted_quantiles(posterior, name, (0.05, 0.95))
            assert distribution.kind == "uniform", name
            assert distribution.args == pytest.approx((low, high), rel=0.02), name
        elif isinstance(default, Distribution):  # "the shipped defaults' own distributions"
            assert distribution == default, name
        else:  # a calibrated value: half to one and a half times it
            assert distribution.kind == "uniform", name
            assert list(distribution.args) == [0.5 * default, 1.5 * default], name
