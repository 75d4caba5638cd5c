"""Scenario files: good ones load into typed scenarios, bad ones give one precise line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from sim.moves import MOVES
from sim.scenario.errors import ScenarioError
from sim.scenario.scenario import (
    NO_EVENTS,
    Event,
    Scenario,
    load_counterfactual,
    load_scenario,
    scenario_from_dict,
)
from sim.scenario.yamlsafe import MAX_BYTES, parse_yaml
from sim.world.months import parse_month
from sim.world.parameters import Distribution

FIXTURES = Path(__file__).parent / "fixtures"
HEAD = "name: t\nperiod: {start: 2024-01, end: 2026-12}\n"  # lines 1-2 of inline cases


def write(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


# --- good files ------------------------------------------------------------------------------


def test_minimal_file_gets_defaults():
    s = load_scenario(FIXTURES / "minimal.yaml")
    assert s.name == "minimal"
    assert s.title == "minimal"
    assert s.description == ""
    assert (s.start, s.end) == (parse_month("2024-01"), parse_month("2024-12"))
    assert s.months == range(s.start, s.end + 1)
    assert len(s.months) == 12
    assert (s.seeds, s.seed) == (20, 0)
    assert s.counterfactual == NO_EVENTS
    assert s.population == {"small_buyers": 200, "smugglers": 60, "cloud_providers": 12}
    assert s.parameters == {}
    assert s.initial_policy == () and s.events == ()
    assert s.path == FIXTURES / "minimal.yaml"


def test_full_file_is_typed():
    s = load_scenario(FIXTURES / "full.yaml")
    assert s.name == "full-example"
    assert s.title == "Full example"
    assert s.seeds == 5 and s.seed == 20250409
    assert s.population == {"small_buyers": 50, "smugglers": 10, "cloud_providers": 4}
    assert s.parameters["demand.growth_per_year"] == 0.4
    assert s.parameters["smuggling.markup"] == Distribution("uniform", (0.3, 0.8))
    assert s.parameters["buyers.stockpile_months.big_tech"] == \
        Distribution("triangular", (3, 6, 12))
    (rule,) = s.initial_policy
    assert isinstance(rule, MOVES["us.licence_requirement"])
    assert rule.chips == ("H100", "H200", "B200", "MI325X") and rule.approval == 0.0


def test_events_sorted_stably_with_announcement_defaults():
    s = load_scenario(FIXTURES / "full.yaml")
    assert [e.move.name for e in s.events] == [
        "us.licence_requirement", "transit.permit_requirement", "us.revenue_share",
    ]
    licence, permit, share = s.events
    assert licence.date == licence.announced == parse_month("2025-04")
    assert permit.date == parse_month("2025-04") and permit.announced == parse_month("2024-11")
    assert share.announced == share.date == parse_month("2025-07")
    assert share.move.share == 0.15


def test_event_label_is_note_or_move_name():
    s = load_scenario(FIXTURES / "full.yaml")
    assert s.events[1].label == "transit.permit_requirement"
    assert s.events[2].label == "15 % revenue share"
    assert len(s.events[0].label) <= 40
    move = MOVES["us.enforcement"](intensity=2.0)
    assert Event(date=1, announced=1, move=move).label == "us.enforcement"


def test_resolved_is_canonical_json():
    s = load_scenario(FIXTURES / "full.yaml")
    r = s.resolved
    json.dumps(r)  # serialisable
    assert r["period"] == {"start": "2024-01", "end": "2026-12"}
    assert r["parameters"]["smuggling.markup"] == {"uniform": [0.3, 0.8]}
    assert r["events"][0]["move"] == "us.licence_requirement"
    assert r["events"][0]["chips"] == ["H20", "MI308"]
    assert r["events"][1]["announced"] == "2024-11"
    assert r["initial_policy"][0]["move"] == "us.licence_requirement"
    assert "extends" not in r


def test_content_hash_is_stable_and_sensitive():
    a = load_scenario(FIXTURES / "full.yaml")
    b = load_scenario(FIXTURES / "full.yaml")
    assert a.content_hash() == b.content_hash()
    assert len(a.content_hash()) == 64
    assert a.replace(seeds=6).content_hash() != a.content_hash()
    assert hash(a) == hash(b) and a == b


def test_empty_sections_mean_none(tmp_path):
    s = load_scenario(write(tmp_path, HEAD + "events:\nparameters:\npopulation:\n"))
    assert s.events == () and s.parameters == {} and s.population["smugglers"] == 60


def test_announced_may_precede_the_period(tmp_path):
    text = HEAD + "events:\n  - {date: 2024-02, announced: 2023-06, move: us.enforcement,"
    s = load_scenario(write(tmp_path, text + " intensity: 2}\n"))
    assert s.events[0].announced == parse_month("2023-06") < s.start


def test_dates_may_be_yaml_dates(tmp_path):
    s = load_scenario(write(tmp_path, "name: t\nperiod: {start: 2024-01-01, end: 2024-06-01}\n"))
    assert (s.start, s.end) == (parse_month("2024-01"), parse_month("2024-06"))


def test_round_trip_through_resolved():
    s = load_scenario(FIXTURES / "full.yaml")
    again = scenario_from_dict(s.resolved, file=str(s.path))
    assert again == s
    c = load_scenario(FIXTURES / "with_counterfactual.yaml")
    assert scenario_from_dict(c.resolved, file=str(c.path)) == c


def test_scenario_from_dict_validates_without_lines():
    doc = {"name": "d", "period": {"start": "2024-01", "end": "2024-12"},
           "events": [{"date": "2024-03", "move": "us.revenue_share", "chips": ["H20"],
                       "share": 1.5}]}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    assert str(info.value) == "<dict>: events[0].share: must be between 0 and 1 (got 1.5)"
    doc["events"][0]["share"] = 0.5
    s = scenario_from_dict(doc)
    assert s.path is None and s.events[0].move.share == 0.5


def test_scenario_from_dict_can_extend_a_file():
    s = scenario_from_dict({"name": "nb", "extends": str(FIXTURES / "parent.yaml"), "seeds": 2})
    assert s.seeds == 2 and len(s.events) == 1 and s.title == "Parent world"


def test_scenario_from_dict_accepts_objects():
    doc = {"name": "d", "period": {"start": "2024-01", "end": "2024-12"},
           "parameters": {"demand.growth_per_year": Distribution("uniform", (0.1, 0.2))},
           "initial_policy": [MOVES["us.enforcement"](intensity=2.0)]}
    s = scenario_from_dict(doc)
    assert s.parameters["demand.growth_per_year"].kind == "uniform"
    assert s.initial_policy[0].intensity == 2.0


def test_replace_revalidates_and_rebuilds_resolved():
    s = load_scenario(FIXTURES / "full.yaml")
    t = s.replace(seeds=100, parameters={"demand.growth_per_year": 0.3})
    assert t.seeds == 100 and t.resolved["seeds"] == 100
    assert t.resolved["parameters"] == {"demand.growth_per_year": 0.3}
    assert t.path == s.path
    with pytest.raises(ScenarioError, match="seeds: must be between 1 and 100000"):
        s.replace(seeds=0)
    with pytest.raises(ScenarioError, match="unknown parameter"):
        s.replace(parameters={"no.such": 1.0})


def test_without_events_is_same_world():
    s = load_scenario(FIXTURES / "full.yaml")
    cf = s.without_events()
    assert cf.events == () and cf.resolved["events"] == []
    assert cf.name == "full-example-counterfactual"
    assert (cf.start, cf.end, cf.seeds, cf.seed) == (s.start, s.end, s.seeds, s.seed)
    assert cf.parameters == s.parameters and cf.initial_policy == s.initial_policy
    assert load_counterfactual(s) == cf


def test_scenario_repr_is_short():
    s = load_scenario(FIXTURES / "full.yaml")
    assert repr(s).startswith("Scenario('full-example', 2024-01..2026-12, 3 events")
    assert isinstance(s, Scenario)


# --- extends ---------------------------------------------------------------------------------


def test_extends_overrides_merges_and_appends():
    s = load_scenario(FIXTURES / "child.yaml")
    assert s.name == "child" and s.title == "Parent world"
    assert s.seeds == 3
    assert (s.start, s.end) == (parse_month("2024-01"), parse_month("2025-12"))
    assert s.parameters == {"demand.growth_per_year": 0.7, "buyers.stockpile_months.big_tech": 6.0}
    assert s.population == {"small_buyers": 100, "smugglers": 99, "cloud_providers": 12}
    assert [e.move.name for e in s.events] == ["us.tariff", "us.enforcement"]  # sorted by date


def test_empty_events_in_child_keep_parent_events(tmp_path):
    parent = "name: base\nperiod: {start: 2024-01, end: 2024-12}\nevents:\n"
    write(tmp_path, parent + "  - {date: 2024-03, move: us.enforcement, intensity: 2}\n", "b.yaml")
    s = load_scenario(write(tmp_path, "name: kid\nextends: b.yaml\nevents:\n"))
    assert len(s.events) == 1


def test_error_in_grandchild_is_located_in_its_own_file():
    e = error_of(FIXTURES / "grandchild_bad.yaml")
    assert e.file.endswith("grandchild_bad.yaml") and e.line == 7 and e.key == "events[0].share"


def test_error_in_parent_is_located_in_parent_file():
    e = error_of(FIXTURES / "child_of_bad_parent.yaml")
    assert e.file.endswith("parent_bad_event.yaml")
    assert (e.line, e.key) == (7, "events[0].rate")


def test_extends_cycle_is_an_error():
    e = error_of(FIXTURES / "cycle_a.yaml")
    assert e.key == "extends" and "extends cycle" in e.problem
    assert "cycle_a.yaml" in e.problem and "cycle_b.yaml" in e.problem


def test_extends_missing_parent_is_an_error():
    e = error_of(FIXTURES / "missing_parent.yaml")
    assert (e.line, e.key) == (3, "extends")
    assert "parent scenario not found" in e.problem and "no_such_parent.yaml" in e.problem


def test_child_must_name_itself(tmp_path):
    write(tmp_path, "name: base\nperiod: {start: 2024-01, end: 2024-12}\n", "base.yaml")
    e = error_of(write(tmp_path, "extends: base.yaml\nseeds: 2\n"))
    assert e.line == 1 and "name" in e.problem


# --- counterfactual --------------------------------------------------------------------------


def test_counterfactual_path_is_resolved_and_loaded():
    s = load_scenario(FIXTURES / "with_counterfactual.yaml")
    assert s.counterfactual == str((FIXTURES / "parent.yaml").resolve())
    assert s.resolved["counterfactual"] == "parent.yaml"
    cf = load_counterfactual(s)
    assert cf.name == "parent" and (cf.start, cf.end) == (s.start, s.end)


def test_counterfactual_missing_file():
    e = error_of(FIXTURES / "counterfactual_missing.yaml")
    assert (e.line, e.key) == (3, "counterfactual") and "not found" in e.problem


def test_counterfactual_period_must_match():
    e = error_of(FIXTURES / "counterfactual_period.yaml")
    assert e.key == "counterfactual" and "must match" in e.problem


def test_counterfactual_cycle():
    e = error_of(FIXTURES / "cf_cycle_a.yaml")
    assert e.key == "counterfactual" and "cycle" in e.problem


def test_counterfactual_cannot_be_itself(tmp_path):
    e = error_of(write(tmp_path, HEAD + "counterfactual: s.yaml\n"))
    assert e.line == 3 and "cycle" in e.problem


# --- bad input: one precise line -------------------------------------------------------------

EVENT = "events:\n  - date: 2025-08\n    move: us.revenue_share\n    chips: [H20]\n"

BAD = {
    # id: (file text after HEAD, line, key, part of the problem)
    "unknown-key": ("evnets: []\n", 3, "evnets", "unknown key 'evnets'; did you mean 'events'?"),
    "unknown-key-no-match": ("zzz: 1\n", 3, "zzz", "known keys: name, title"),
    "duplicate-key": ("seeds: 3\nseeds: 4\n", 4, "seeds",
                      "duplicate key 'seeds' (first at line 3)"),
    "python-tag": ("title: !!python/object/apply:os.system [ls]\n", 3, "title",
                   "YAML tag !!python/object/apply:os.system is not allowed"),
    "custom-tag": ("title: !secret x\n", 3, "title", "YAML tag !secret is not allowed"),
    "out-of-range-share": (EVENT + "    share: 1.5\n", 7, "events[0].share",
                           "must be between 0 and 1 (got 1.5)"),
    "string-for-number": (EVENT + '    share: "0.5"\n', 7, "events[0].share",
                          "must be a number (got '0.5')"),
    "nan": (EVENT + "    share: .nan\n", 7, "events[0].share", "must be a finite number (got nan)"),
    "inf": ("seeds: .inf\n", 3, "seeds", "must be a finite number (got inf)"),
    "unknown-move": ("events:\n  - {date: 2025-01, move: us.licence_requirment}\n", 4,
                     "events[0].move", "did you mean 'us.licence_requirement'?"),
    "unknown-move-no-hint": ("events:\n  - {date: 2025-01, move: zzz}\n", 4,
                             "events[0].move", "unknown move 'zzz'; known moves: cn."),
    "unknown-chip": (EVENT.replace("H20", "H2O") + "    share: 0.1\n", 6, "events[0].chips",
                     "unknown chip 'H2O'"),
    "unknown-move-parameter": (EVENT + "    shares: 0.1\n", 7, "events[0].shares",
                               "unknown parameter of us.revenue_share; did you mean 'share'?"),
    "missing-move-parameter": (EVENT, 4, "events[0].share",
                               "missing, required by us.revenue_share"),
    "string-for-bool": ("events:\n  - {date: 2025-01, move: us.licence_requirement, chips: [H20],"
                        ' approval: 0, us_supply_first: "yes"}\n', 4,
                        "events[0].us_supply_first", "must be true or false (got 'yes')"),
    "bool-for-number": ("seeds: true\n", 3, "seeds", "must be a whole number (got True)"),
    "float-for-int": ("seeds: 2.0\n", 3, "seeds", "must be a whole number (got 2.0)"),
    "too-many-seeds": ("seeds: 1000000000\n", 3, "seeds", "must be between 1 and 100000"),
    "negative-seed": ("seed: -1\n", 3, "seed", "must be between 0 and 9223372036854775807"),
    "unknown-parameter": ("parameters:\n  demand.growth_per_yer: 0.3\n", 4,
                          "parameters.demand.growth_per_yer",
                          "did you mean 'demand.growth_per_year'?"),
    "bad-distribution-kind": ("parameters:\n  demand.growth_per_year: {beta: [1, 2]}\n", 4,
                              "parameters.demand.growth_per_year", "unknown distribution 'beta'"),
    "bad-distribution-order": ("parameters:\n  demand.growth_per_year: {uniform: [0.8, 0.3]}\n",
                               4, "parameters.demand.growth_per_year", "uniform needs low <= high"),
    "string-parameter": ("parameters:\n  demand.growth_per_year: fast\n", 4,
                         "parameters.demand.growth_per_year", "must be a number or a distribution"),
    "population-key": ("population: {smuglers: 3}\n", 3, "population.smuglers",
                       "did you mean 'smugglers'?"),
    "population-range": ("population: {cloud_providers: 0}\n", 3, "population.cloud_providers",
                         "must be between 1 and 10000 (got 0)"),
    "population-huge": ("population:\n  small_buyers: 3000000\n", 4, "population.small_buyers",
                        "must be between 1 and 2000000"),
    "event-outside-period": ("events:\n  - date: 2027-01\n    move: us.enforcement\n"
                             "    intensity: 2\n", 4, "events[0].date",
                             "2027-01 is outside the period 2024-01..2026-12"),
    "announced-after-date": ("events:\n  - date: 2025-01\n    announced: 2025-03\n"
                             "    move: us.enforcement\n    intensity: 2\n", 5,
                             "events[0].announced", "2025-03 is after the date 2025-01"),
    "event-no-date": ("events:\n  - {move: us.enforcement, intensity: 2}\n", 4, "events[0]",
                      "missing 'date'"),
    "event-no-move": ("events:\n  - {date: 2025-01, intensity: 2}\n", 4, "events[0]",
                      "missing 'move'"),
    "event-not-mapping": ("events:\n  - us.enforcement\n", 4, "events[0]",
                          "an event is a mapping"),
    "events-not-list": ("events: {date: 2025-01}\n", 3, "events", "must be a list"),
    "note-not-text": ("events:\n  - {date: 2025-01, move: us.enforcement, intensity: 2, note: 5}\n",
                      4, "events[0].note", "must be text"),
    "initial-policy-with-date": ("initial_policy:\n  - {move: us.enforcement, intensity: 2,"
                                 " date: 2024-01}\n", 4, "initial_policy[0].date",
                                 "initial_policy moves take no 'date'"),
    "initial-policy-bad-value": ("initial_policy:\n  - move: us.location_verification\n"
                                 "    detection: 2\n", 5, "initial_policy[0].detection",
                                 "must be between 0 and 1"),
    "title-not-text": ("title: 2025\n", 3, "title", "must be text (got 2025)"),
    "counterfactual-not-text": ("counterfactual: 3\n", 3, "counterfactual",
                                "must be 'no-events' or the path"),
    "merge-key": ("population: &p {smugglers: 3}\nx:\n  <<: *p\n", 5, "x",
                  "merge keys (<<) are not supported"),
    "malformed": ("events: [1, 2\nseeds: 3\n", 4, None, "invalid YAML"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_gives_one_precise_line(tmp_path, case):
    text, line, key, problem = BAD[case]
    path = write(tmp_path, HEAD + text)
    e = error_of(path)
    assert e.file == str(path)
    assert e.line == line, str(e)
    assert e.key == key, str(e)
    assert problem in e.problem, str(e)
    assert "\n" not in str(e)


@pytest.mark.parametrize("where", ["inline", "fixture"])
def test_out_of_range_share_message_exactly(tmp_path, where):
    if where == "inline":
        path = write(tmp_path, HEAD + EVENT + "    share: 1.5\n")
    else:
        path = FIXTURES / "bad" / "share_out_of_range.yaml"
    assert str(error_of(path)) == f"{path}:7: events[0].share: must be between 0 and 1 (got 1.5)"


PERIODS = {
    "bad-month": ("period: {start: 2024-13, end: 2026-12}\n", "period.start",
                  "month must be 01..12"),
    "not-a-month": ("period: {start: Jan 2024, end: 2026-12}\n", "period.start",
                    "must be a month written YYYY-MM"),
    "number-month": ("period: {start: 202401, end: 2026-12}\n", "period.start",
                     "must be a month written YYYY-MM"),
    "reversed": ("period: {start: 2026-01, end: 2024-12}\n", "period.end",
                 "end 2024-12 is before start 2026-01"),
    "too-long": ("period: {start: 1950-01, end: 2100-12}\n", "period.end", "at most 600"),
    "missing-end": ("period: {start: 2024-01}\n", "period", "missing 'end'"),
    "extra-key": ("period: {start: 2024-01, end: 2024-02, step: 1}\n", "period.step",
                  "unknown key 'step'"),
}


@pytest.mark.parametrize("case", list(PERIODS), ids=list(PERIODS))
def test_bad_period(tmp_path, case):
    text, key, problem = PERIODS[case]
    e = error_of(write(tmp_path, "name: t\n" + text))
    assert (e.line, e.key) == (2, key), str(e)
    assert problem in e.problem, str(e)


def test_missing_period_and_bad_name(tmp_path):
    e = error_of(write(tmp_path, "name: t\n"))
    assert (e.line, e.key) == (1, "period") and "required" in e.problem
    e = error_of(write(tmp_path, "name: My Scenario\nperiod: {start: 2024-01, end: 2024-02}\n"))
    assert (e.line, e.key) == (1, "name") and "lower-case" in e.problem
    e = error_of(write(tmp_path, f"name: {'a' * 65}\nperiod: {{start: 2024-01, end: 2024-02}}\n"))
    assert e.key == "name"
    e = error_of(write(tmp_path, "title: x\nperiod: {start: 2024-01, end: 2024-02}\n"))
    assert e.line == 1 and "missing required key 'name'" in e.problem


def test_empty_file(tmp_path):
    e = error_of(write(tmp_path, "# only a comment\n"))
    assert e.line == 1 and "empty" in e.problem


def test_binary_file(tmp_path):
    e = error_of(write(tmp_path, b"name: t\n\x00\x01\x02\xff"))
    assert e.line == 2 and "binary" in e.problem


def test_non_utf8_file(tmp_path):
    e = error_of(write(tmp_path, "name: t\ntitle: caf\xe9\n".encode("latin-1")))
    assert e.line == 2 and "not UTF-8" in e.problem


def test_top_level_list(tmp_path):
    e = error_of(write(tmp_path, "- name: t\n- period: x\n"))
    assert e.line == 1 and "mapping" in e.problem and "list" in e.problem


def test_top_level_scalar(tmp_path):
    e = error_of(write(tmp_path, "just text\n"))
    assert "mapping" in e.problem


def test_alias_bomb_refused_before_expansion():
    e = error_of(FIXTURES / "bad" / "alias_bomb.yaml")
    assert "alias" in e.problem and e.line is not None


def test_recursive_alias(tmp_path):
    e = error_of(write(tmp_path, HEAD + "title: &a [*a]\n"))
    assert "recursive alias" in e.problem


def test_file_too_large(tmp_path):
    e = error_of(write(tmp_path, HEAD + "#" * (MAX_BYTES + 10) + "\n"))
    assert "too large" in e.problem


def test_missing_file_and_directory(tmp_path):
    assert "no such file" in error_of(tmp_path / "nope.yaml").problem
    assert "directory" in error_of(tmp_path).problem


def test_deep_nesting_refused(tmp_path):
    e = error_of(write(tmp_path, HEAD + "title: " + "[" * 3000 + "]" * 3000 + "\n"))
    assert "nested too deeply" in e.problem


def test_no_code_runs_from_tags(tmp_path):
    marker = tmp_path / "pwned"
    text = HEAD + f"title: !!python/object/apply:os.system ['touch {marker}']\n"
    error_of(write(tmp_path, text))
    assert not marker.exists()


# --- yamlsafe line map -----------------------------------------------------------------------


def test_line_map_covers_keys_and_items():
    doc = parse_yaml("a: 1\nevents:\n  - date: 2025-01\n    share: 0.5\n  - {date: 2025-02}\n")
    assert doc.lines[("a",)] == 1
    assert doc.lines[("events", 0)] == 3
    assert doc.lines[("events", 0, "share")] == 4
    assert doc.lines[("events", 1, "date")] == 5
    assert doc.line_of(("events", 1, "missing")) == 5
    assert doc.data["events"][0] == {"date": "2025-01", "share": 0.5}


def test_all_keys_are_text():
    doc = parse_yaml("1: a\nnull: b\ntrue: c\n")
    assert doc.data == {"1": "a", "null": "b", "true": "c"}


def test_event_ids_name_events_and_must_be_unique(tmp_path):
    from sim.scenario.errors import ScenarioError
    from sim.scenario.scenario import load_scenario

    base = "name: t\nperiod: {start: 2025-01, end: 2025-12}\nevents:\n"
    ok = tmp_path / "ok.yaml"
    event = "date: 2025-04, move: us.tariff, chips: [H20], rate: 0.1}"
    ok.write_text(base + f"  - {{id: h20-ban, {event}\n")
    assert load_scenario(ok).events[0].id == "h20-ban"
    twice = tmp_path / "twice.yaml"
    twice.write_text(base + "  - {id: a, date: 2025-04, move: us.tariff, chips: [H20], rate: 0.1}\n"
                     "  - {id: a, date: 2025-05, move: us.tariff, chips: [H20], rate: 0.2}\n")
    with pytest.raises(ScenarioError, match=r"twice.yaml:5: events\[1\].id: 'a' names an earlier"):
        load_scenario(twice)
    bad = tmp_path / "bad.yaml"
    bad.write_text(base + f"  - {{id: Not OK, {event}\n")
    with pytest.raises(ScenarioError, match=r"events\[0\].id: must be a short name"):
        load_scenario(bad)
