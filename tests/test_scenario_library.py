"""The shipped scenario library: every file is valid, every move of the record has a file, and
every scenario runs.

One file per move of FACTS section A from M2 to M17 (``scenarios/mNN-*.yaml``; M1 is the
baseline), the full timeline, and "what if" variants (``scenarios/whatif-*.yaml``). The M files
reuse the timeline's parameter values; the what-ifs change one thing of the timeline. These tests
keep the library in step with the timeline and check that each what-if's override really wins.
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
MOVE_IDS = range(2, 18)
M_FILES = sorted(SCENARIOS.glob("m[0-9][0-9]-*.yaml"))
WHATIF_FILES = sorted(SCENARIOS.glob("whatif-*.yaml"))
#: What-ifs that cannot be made by appending an event: they copy the timeline's events.
COPIES = ("whatif-h20-ban-earlier", "whatif-china-accepts-h200")


def ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@cache
def scenario(path: Path) -> Scenario:
    return load_scenario(path)


@cache
def run(path: Path) -> tuple[ChipTradeModel, np.ndarray]:
    """One seed over the full period (about 0.1 s); the finished model and its records."""
    model = ChipTradeModel(scenario(path), seed=0)
    return model, model.run()


def key(event: Event) -> tuple:
    """What an event does, without its note."""
    return event.date, event.announced, event.move


def move_number(path: Path) -> int:
    return int(path.stem[1:3])


# --- every file is valid -----------------------------------------------------------------------


def test_library_is_complete():
    assert BASELINE in FILES and TIMELINE in FILES
    numbers = [move_number(p) for p in M_FILES]
    assert sorted(numbers) == list(MOVE_IDS), "one mNN-*.yaml file per move M2..M17"
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
def test_what_if_differs_from_the_record(path: Path):
    s, timeline = scenario(path), scenario(TIMELINE)
    assert "what if" in s.description.lower()
    assert (s.start, s.end, s.initial_policy) == (timeline.start, timeline.end,
                                                  timeline.initial_policy)
    if path.stem in COPIES:
        return  # checked below
    # extends the timeline: the parent's events, in order, then the what-if's own
    assert [key(e) for e in s.events if e in timeline.events] == [key(e) for e in
                                                                  timeline.events]
    assert len(s.events) > len(timeline.events)


def test_h20_ban_earlier_copies_the_timeline():
    s, timeline = scenario(SCENARIOS / "whatif-h20-ban-earlier.yaml"), scenario(TIMELINE)
    changed = [(a, b) for a, b in zip(s.events, timeline.events, strict=True) if key(a) != key(b)]
    assert len(changed) == 1
    mine, record = changed[0]
    assert mine.move == record.move and mine.date == record.date == parse_month("2025-04")
    assert mine.announced == parse_month("2025-01") < record.announced


def test_china_accepts_h200_copies_the_timeline():
    s, timeline = scenario(SCENARIOS / "whatif-china-accepts-h200.yaml"), scenario(TIMELINE)
    assert [key(e) for e in s.events] == [key(e) for e in timeline.events
                                          if e.move.name != "cn.import_block"]


#: For each what-if: a check of the rules in force at the end of its run.
FINAL_POLICY = {
    "whatif-no-malaysia-permit": lambda p: p.transit_permits["malaysia"].detection == 0.0
    and p.transit_permits["malaysia"].cost_usd == 0.0,
    "whatif-cloud-loophole-closed-2025": lambda p: p.remote_access_compliance == 0.9,
    "whatif-revenue-share-50": lambda p: p.tariff["H200"] == 0.5 and p.tariff["MI325X"] == 0.25,
    "whatif-subsidy-1x": lambda p: p.subsidy_cost_multiple == 1.0 and p.power_discount == 0.5,
    "whatif-subsidy-4x": lambda p: p.subsidy_cost_multiple == 4.0,
    "whatif-stronger-enforcement": lambda p: set(p.enforcement.values()) == {4.0},
    "whatif-china-accepts-h200": lambda p: "H200" not in p.import_blocks,
}


#: What-ifs that restate the timeline's own values (their check holds for the timeline too).
SAME_AS_TIMELINE = ("whatif-subsidy-4x",)


def test_every_what_if_has_a_check():
    assert set(FINAL_POLICY) | set(COPIES) == set(ids(WHATIF_FILES))
    assert set(SAME_AS_TIMELINE) <= set(FINAL_POLICY)


@pytest.mark.parametrize("name", sorted(FINAL_POLICY))
def test_what_if_override_is_in_force(name: str):
    """Appended events come after the parent's in the same month, so the what-if's value wins."""
    model, _ = run(SCENARIOS / f"{name}.yaml")
    assert FINAL_POLICY[name](model.policy)
    # the check tells the what-if from the record (else it would pass if the override lost)
    timeline, _ = run(TIMELINE)
    assert FINAL_POLICY[name](timeline.policy) == (name in SAME_AS_TIMELINE)


def _revenue_share_in_december_2025(path: Path) -> dict[str, float]:
    model = ChipTradeModel(scenario(path), seed=0)
    while model.month <= parse_month("2025-12"):
        model.step()
    return model.policy.revenue_share


def test_revenue_share_50_applies_in_december_2025():
    assert _revenue_share_in_december_2025(SCENARIOS / "whatif-revenue-share-50.yaml")["H200"] \
        == 0.5
    assert _revenue_share_in_december_2025(TIMELINE)["H200"] == 0.25  # the record's share


# --- every scenario runs -----------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_scenario_runs(path: Path):
    _, records = run(path)
    s = scenario(path)
    assert records.shape[0] == len(s.months)
    assert np.isfinite(records).all()
    assert (records >= -1e-6).all(), "counts, money and shares are never negative"


def test_the_sensitivity_scenario_is_the_timeline_with_its_assumptions_as_ranges():
    from sim.analysis.sensitivity import uncertain_parameters
    from sim.world.parameters import DEFAULTS, Distribution

    s, timeline = scenario(SCENARIOS / "sensitivity-timeline.yaml"), scenario(TIMELINE)
    assert list(map(key, s.events)) == list(map(key, timeline.events))
    uncertain = uncertain_parameters(s)
    assert len(uncertain) >= 6
    for name, distribution in uncertain.items():
        default = DEFAULTS[name].value
        if isinstance(default, Distribution):  # "the shipped defaults' own distributions"
            assert distribution == default, name
        else:  # a calibrated value: half to one and a half times it
            assert distribution.kind == "uniform", name
            assert list(distribution.args) == [0.5 * default, 1.5 * default], name
