"""Levers: the event fields a scenario file marks as policy choices for exploratory studies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.scenario.errors import ScenarioError
from sim.scenario.levers import Lever, numeric_fields
from sim.scenario.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent

STUDY = """\
name: study
period: {start: 2024-01, end: 2024-12}
seeds: 2
events:
  - {id: crackdown, date: 2024-05, move: us.enforcement, intensity: 2.0}
  - {id: h20-rule, date: 2024-06, move: us.licence_requirement, chips: [H20], approval: 0.0,
     delay_months: 2}
levers:
  - {event: crackdown, field: intensity, range: [1, 4]}
  - {event: h20-rule, field: approval, range: [0, 1]}
  - {event: h20-rule, field: delay_months, range: [0, 6]}
"""


def write(folder: Path, text: str, name: str = "study.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", "check", path.name], cwd=path.parent,
                          capture_output=True, text=True, timeout=60)


def test_levers_name_an_event_field_and_its_range(tmp_path):
    scenario = load_scenario(write(tmp_path, STUDY))
    assert [lever.name for lever in scenario.levers] == [
        "crackdown.intensity", "h20-rule.approval", "h20-rule.delay_months"]
    assert scenario.levers[0] == Lever("crackdown", "intensity", 1.0, 4.0, integer=False)
    assert scenario.levers[2].integer
    assert scenario.resolved["levers"][2] == {"event": "h20-rule", "field": "delay_months",
                                              "range": [0, 6]}


def test_a_scenario_without_levers_keeps_its_resolved_form_and_hash():
    timeline = load_scenario(ROOT / "scenarios" / "timeline-2024-2026.yaml")
    assert timeline.levers == () and "levers" not in timeline.resolved


def test_setting_levers_changes_only_the_named_event_fields(tmp_path):
    scenario = load_scenario(write(tmp_path, STUDY))
    changed = scenario.set_levers({"crackdown.intensity": 3.5, "h20-rule.delay_months": 4.0})
    crackdown, rule = changed.events
    assert crackdown.move.intensity == 3.5
    assert rule.move.delay_months == 4 and isinstance(rule.move.delay_months, int)
    assert rule.move.approval == 0.0 and rule.move.chips == ("H20",)
    assert changed.levers == scenario.levers  # still declared: it can be set again
    assert changed.content_hash() != scenario.content_hash()
    assert scenario.set_levers({}) is scenario


@pytest.mark.parametrize("values, problem", [
    ({"crackdown.intensty": 2.0}, "unknown lever 'crackdown.intensty'"),
    ({"crackdown.intensity": 9.0}, "outside the lever's range [1, 4]"),
])
def test_setting_an_unknown_lever_or_a_value_outside_its_range_is_refused(tmp_path, values,
                                                                          problem):
    scenario = load_scenario(write(tmp_path, STUDY))
    with pytest.raises(ScenarioError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        scenario.set_levers(values)


def test_the_counterfactual_has_no_events_and_so_no_levers(tmp_path):
    scenario = load_scenario(write(tmp_path, STUDY))
    assert scenario.without_events().levers == ()


def test_a_child_inherits_levers_unless_it_has_its_own(tmp_path):
    write(tmp_path, STUDY, "parent.yaml")
    write(tmp_path, "name: child\nextends: parent.yaml\n", "child.yaml")
    own = ("name: own\nextends: parent.yaml\nlevers:\n"
           "  - {event: crackdown, field: intensity, range: [0.5, 1.5]}\n")
    write(tmp_path, own, "own.yaml")
    assert len(load_scenario(tmp_path / "child.yaml").levers) == 3
    (lever,) = load_scenario(tmp_path / "own.yaml").levers
    assert (lever.low, lever.high) == (0.5, 1.5)


def test_number_parameters_of_moves_are_the_ones_a_lever_may_vary():
    from sim.moves import MOVES

    assert numeric_fields(MOVES["us.licence_requirement"]) == {
        "approval": False, "delay_months": True, "cap_units": False, "max_share_of_us": False}
    assert "chips" not in numeric_fields(MOVES["us.tariff"])
    assert "us_supply_first" not in numeric_fields(MOVES["us.licence_requirement"])


LINE = 9  # the first lever's line in STUDY


@pytest.mark.parametrize("lever, key, problem", [
    ("{event: crakdown, field: intensity, range: [1, 4]}", "levers[0].event",
     "no event has id 'crakdown'; did you mean 'crackdown'?"),
    ("{event: crackdown, field: intensty, range: [1, 4]}", "levers[0].field",
     "'intensty' is not a number parameter of us.enforcement; did you mean 'intensity'?"),
    ("{event: crackdown, field: routes, range: [1, 4]}", "levers[0].field",
     "routes of us.enforcement is not a number, so it cannot be a lever"),
    ("{event: h20-rule, field: approval, range: [0, 1.5]}", "levers[0].range[1]",
     "approval of us.licence_requirement: must be between 0 and 1 (got 1.5)"),
    ("{event: crackdown, field: intensity, range: [-1, 4]}", "levers[0].range[0]",
     "intensity of us.enforcement: must be 0 or more"),
    ("{event: h20-rule, field: delay_months, range: [0, 2.5]}", "levers[0].range",
     "delay_months takes whole numbers, so must its range"),
    ("{event: crackdown, field: intensity, range: [4, 1]}", "levers[0].range",
     "LOW must be below HIGH"),
    ("{event: crackdown, field: intensity, range: [1, two]}", "levers[0].range",
     "must be two numbers [LOW, HIGH]"),
    ("{event: crackdown, field: intensity, rnage: [1, 4]}", "levers[0].rnage",
     "unknown key 'rnage'; did you mean 'range'?"),
    ("{event: crackdown, field: intensity}", "levers[0]", "missing 'range'"),
    ("{event: h20-rule, field: approval, range: [0, 1]}", "levers[1]",
     "h20-rule.approval is a lever already"),
])
def test_a_bad_lever_is_one_line_naming_file_line_and_key(tmp_path, lever, key, problem):
    lines = STUDY.splitlines()
    lines[LINE - 1] = f"  - {lever}"
    path = write(tmp_path, "\n".join(lines) + "\n")
    done = check(path)
    assert done.returncode == 2, done.stdout
    line = LINE + 1 if key == "levers[1]" else LINE
    assert done.stderr.startswith(f"study.yaml:{line}: {key}: "), done.stderr
    assert problem in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_levers_need_events_with_ids(tmp_path):
    text = STUDY.replace("id: crackdown, ", "").replace("id: h20-rule, ", "")
    done = check(write(tmp_path, text))
    assert done.returncode == 2
    assert "levers[0].event: no event has id 'crackdown'" in done.stderr


def test_the_json_schema_knows_levers(tmp_path):
    import jsonschema
    import yaml

    schema = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(STUDY), schema)
    bad = yaml.safe_load(STUDY)
    bad["levers"][0]["rnage"] = [1, 2]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
