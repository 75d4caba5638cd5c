"""Broken scenario files: `chipsim check` and `chipsim run` give one helpful line and exit 2.

Every file in ``tests/fixtures/broken/`` is a hand-written bad scenario (SPEC §7). For each one
``python -m sim check FILE`` must exit 2 with exactly one line on stderr, of the form
``file:line: key.path: problem``, naming the file, the line (where one exists) and the key, with
no traceback. :data:`EXPECTED` says what that line is for every file; a new broken fixture needs
an entry there, so none can be added without saying what its error should be.

The checks run one subprocess per file, in parallel, once per module (``results``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.scenario.errors import ScenarioError
from sim.scenario.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
BROKEN = Path(__file__).parent / "fixtures" / "broken"
REL = "tests/fixtures/broken"


@dataclass(frozen=True)
class Expected:
    """The one line a broken file must produce: ``file:line: key: ...text...``."""

    line: int | None
    key: str | None
    text: str
    file: str | None = None  # the file the error is located in, if not the file checked


NAME_RULE = "must be lower-case letters, digits and '-'"

EXPECTED: dict[str, Expected] = {
    # --- not a scenario at all
    "empty.yaml": Expected(1, None, "file is empty"),
    "comments_only.yaml": Expected(1, None, "file is empty"),
    "not_yaml.yaml": Expected(2, None, "invalid YAML: expected '<document start>'"),
    "not_yaml_tabs.yaml": Expected(3, None, "invalid YAML: while scanning for the next token,"
                                            " found character '\\t' that cannot start any token"
                                            " (indent with spaces, not tabs)"),
    "binary.yaml": Expected(3, None, "binary data (NUL bytes), not YAML text"),
    "latin1.yaml": Expected(2, None, "not UTF-8 text (byte 0xe9 at offset 32); save the file"
                                     " as UTF-8"),
    "top_level_list.yaml": Expected(1, None, "a scenario file must be a mapping of keys (got a"
                                             " list)"),
    "top_level_scalar.yaml": Expected(1, None, "must be a mapping of keys (got"
                                               " 'h20-licence-2025')"),
    # --- unsafe YAML
    "python_tag.yaml": Expected(3, "title", "YAML tag !!python/object/apply:os.system is not"
                                            " allowed"),
    "custom_tag.yaml": Expected(4, "parameters.smuggling.markup", "YAML tag !env is not allowed"),
    "alias_bomb.yaml": Expected(9, None, "too large once aliases are expanded (more than 100000"
                                         " values; alias bomb?)"),
    "recursive_alias.yaml": Expected(3, None, "recursive alias"),
    "bad_tagged_value.yaml": Expected(8, "events[0].us_supply_first",
                                      "invalid !!bool value 'perhaps'"),
    "surrogate_escape.yaml": Expected(3, "title", "text with an unpaired surrogate U+D83D"),
    "escape_beyond_unicode.yaml": Expected(3, None, "invalid YAML: an escape beyond the last"
                                                    " character, U+10FFFF"),
    # --- the name (it names results/<name>/)
    "missing_name.yaml": Expected(1, "name", "missing required key 'name'"),
    "name_uppercase.yaml": Expected(1, "name", f"{NAME_RULE}, starting with a letter or digit,"
                                               " at most 64 characters (got 'H20-Ban')"),
    "name_space.yaml": Expected(1, "name", f"{NAME_RULE}, starting with a letter or digit, at"
                                           " most 64 characters (got 'h20 ban')"),
    "name_slash.yaml": Expected(1, "name", f"{NAME_RULE}, starting with a letter or digit, at"
                                           " most 64 characters (got 'h20/ban')"),
    "name_escapes_results.yaml": Expected(2, "name", f"{NAME_RULE}, starting with a letter or"
                                                     " digit, at most 64 characters (got '../x')"),
    "name_absolute.yaml": Expected(1, "name", f"{NAME_RULE}, starting with a letter or digit, at"
                                              " most 64 characters (got '/tmp/x')"),
    # --- keys
    "unknown_top_key.yaml": Expected(2, "descripton", "unknown key 'descripton'; did you mean"
                                                      " 'description'?"),
    "duplicate_key.yaml": Expected(5, "seeds", "duplicate key 'seeds' (first at line 3)"),
    "unknown_move.yaml": Expected(5, "events[0].move", "unknown move 'us.tarif'; did you mean"
                                                       " 'us.tariff'?"),
    "unknown_move_parameter.yaml": Expected(7, "events[0].aproval",
                                            "unknown parameter of us.licence_requirement; did"
                                            " you mean 'approval'?"),
    "missing_move_parameter.yaml": Expected(4, "events[0].approval",
                                            "missing, required by us.licence_requirement"),
    "unknown_parameter.yaml": Expected(5, "parameters.smuggling.markups",
                                       "unknown parameter 'smuggling.markups'; did you mean"
                                       " 'smuggling.markup'?"),
    # --- names of things
    "unknown_chip.yaml": Expected(6, "events[0].chips", "unknown chip 'H30'; known chips: H100,"),
    "unknown_country.yaml": Expected(6, "events[0].country", "unknown country 'vietnam'; known:"
                                                             " malaysia, singapore, thailand"),
    "unknown_route.yaml": Expected(7, "events[0].routes", "unknown route 'laos'; known: malaysia,"),
    "unknown_buyer_class.yaml": Expected(7, "events[0].allowed",
                                         "unknown buyer class 'universities'; known: big_tech,"),
    # --- numbers
    "share_out_of_range.yaml": Expected(7, "events[0].share", "must be between 0 and 1 (got"
                                                              " 1.5)"),
    "negative_intensity.yaml": Expected(6, "events[0].intensity", "must be 0 or more (got -2.0)"),
    "wrong_type.yaml": Expected(7, "events[0].approval", "must be a number (got 'high')"),
    "nan.yaml": Expected(7, "events[0].approval", "must be a finite number (got nan)"),
    "inf.yaml": Expected(4, "parameters.smuggling.capacity_units_per_month",
                         "must be a finite number (got inf)"),
    "seeds_float.yaml": Expected(3, "seeds", "must be a whole number (got 2.5)"),
    "seeds_text.yaml": Expected(3, "seeds", "must be a whole number (got 'twenty')"),
    "seeds_absurd.yaml": Expected(3, "seeds", "must be between 1 and 100000 (got 1000000000)"),
    "population_absurd.yaml": Expected(3, "population.small_buyers",
                                       "must be between 1 and 2000000 (got 1000000000000)"),
    "population_negative.yaml": Expected(5, "population.smugglers",
                                         "must be between 1 and 2000000 (got -5)"),
    # --- dates
    "impossible_date.yaml": Expected(4, "events[0].date", "month must be 01..12 (got '2025-13')"),
    "impossible_day.yaml": Expected(4, "events[0].date", "invalid !!timestamp value '2025-02-30'"
                                                         " (day is out of range for month)"),
    "impossible_period.yaml": Expected(2, "period.start", "month must be 01..12 (got '2024-00')"),
    "reversed_period.yaml": Expected(2, "period.end", "end 2024-01 is before start 2026-12"),
    "event_outside_period.yaml": Expected(7, "events[1].date",
                                          "2026-04 is outside the period 2024-01..2025-12"),
    "announced_after_date.yaml": Expected(5, "events[0].announced",
                                          "2025-06 is after the date 2025-04"),
    # --- other files
    "extends_missing.yaml": Expected(2, "extends", "parent scenario not found:"
                                                   f" {REL}/no_such_baseline.yaml"),
    "extends_self.yaml": Expected(2, "extends", f"extends cycle: {REL}/extends_self.yaml ->"
                                                f" {REL}/extends_self.yaml"),
    # a cycle is reported where it closes: in the other file of the pair
    "extends_cycle_a.yaml": Expected(2, "extends", f"extends cycle: {REL}/extends_cycle_a.yaml ->"
                                                   f" {REL}/extends_cycle_b.yaml ->"
                                                   f" {REL}/extends_cycle_a.yaml",
                                     file="extends_cycle_b.yaml"),
    "extends_cycle_b.yaml": Expected(2, "extends", f"extends cycle: {REL}/extends_cycle_b.yaml ->"
                                                   f" {REL}/extends_cycle_a.yaml ->"
                                                   f" {REL}/extends_cycle_b.yaml",
                                     file="extends_cycle_a.yaml"),
    "counterfactual_missing.yaml": Expected(3, "counterfactual", "counterfactual scenario not"
                                                                 f" found: {REL}/no_such_world"),
    "counterfactual_cycle_a.yaml": Expected(3, "counterfactual", "counterfactual cycle:"
                                                                 f" {REL}/counterfactual_cycle_a",
                                            file="counterfactual_cycle_b.yaml"),
    "counterfactual_cycle_b.yaml": Expected(3, "counterfactual", "counterfactual cycle:"
                                                                 f" {REL}/counterfactual_cycle_b",
                                            file="counterfactual_cycle_a.yaml"),
}


def chipsim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # `-m sim` from any folder
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


@pytest.fixture(scope="module")
def results() -> dict[str, subprocess.CompletedProcess[str]]:
    """``chipsim check tests/fixtures/broken/NAME`` for every fixture, run in parallel."""
    names = sorted(EXPECTED)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        done = pool.map(lambda name: chipsim("check", f"{REL}/{name}"), names)
        return dict(zip(names, done, strict=True))


def test_every_broken_fixture_has_an_expectation():
    on_disk = {p.name for p in BROKEN.iterdir()}
    assert on_disk == set(EXPECTED)
    assert len(on_disk) >= 20


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_check_gives_one_helpful_line(results, name):
    done = results[name]
    want = EXPECTED[name]
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    line = done.stderr.rstrip("\n")
    prefix = f"{REL}/{want.file or name}"
    if want.line is not None:
        prefix += f":{want.line}"
    prefix += f": {want.key}: " if want.key else ": "
    assert line.startswith(prefix), line
    assert want.text in line, line
    assert len(line) < 500


def test_check_all_at_once_reports_each_file_on_its_own_line():
    names = sorted(EXPECTED)[:8]
    done = chipsim("check", *(f"{REL}/{n}" for n in names), f"{REL}/../minimal.yaml")
    assert done.returncode == 2
    assert done.stdout.startswith(f"ok  {REL}/../minimal.yaml")
    assert len(done.stderr.splitlines()) == len(names)


# --- run: exit 2 and nothing written ---------------------------------------------------------


@pytest.mark.parametrize("name", ["nan.yaml", "alias_bomb.yaml", "name_escapes_results.yaml",
                                  "python_tag.yaml"])
def test_run_refuses_and_writes_nothing(tmp_path, name):
    out = tmp_path / "out"
    done = chipsim("run", str(BROKEN / name), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"{BROKEN / name}:"), done.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no results/, no pwned-by-yaml


def test_run_with_default_output_folder_writes_nothing(tmp_path):
    """The name `../x` must not make `results/../x` (i.e. ./x) either."""
    done = chipsim("run", str(BROKEN / "name_escapes_results.yaml"), cwd=tmp_path)
    assert done.returncode == 2 and "name:" in done.stderr
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent / "x").exists()


# --- odd file names and paths ----------------------------------------------------------------


def test_missing_file_directory_and_long_name(tmp_path):
    for target, text in [
        (tmp_path / "nope.yaml", "no such file"),
        (tmp_path, "is a directory"),
        (tmp_path / ("a" * 300 + ".yaml"), "cannot read file"),
    ]:
        done = chipsim("check", str(target))
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and text in done.stderr, done.stderr


def test_file_name_with_a_line_break_stays_on_one_line(tmp_path):
    path = tmp_path / "two\nlines.yaml"
    path.write_text("name: x\nperiod: {start: 2024-01, end: 2024-12}\nseeds: 0\n",
                    encoding="utf-8")
    done = chipsim("check", str(path))
    assert done.returncode == 2
    assert done.stderr == f"{tmp_path}/two\\nlines.yaml:3: seeds: must be between 1 and 100000" \
                          " (got 0)\n"


def test_paths_that_cannot_exist_are_not_found(tmp_path):
    head = "name: x\nperiod: {start: 2024-01, end: 2024-12}\n"
    cases = {
        'extends: "a\\0b.yaml"\n': "a\\x00b.yaml",
        'counterfactual: "a\\0b.yaml"\n': "counterfactual: counterfactual scenario not found:",
        f"extends: {'d/' * 3000}x.yaml\n": "extends: parent scenario not found: ",
        f"counterfactual: {'e' * 5000}.yaml\n": "counterfactual scenario not found: ",
    }
    for index, (text, message) in enumerate(cases.items()):
        path = tmp_path / f"s{index}.yaml"
        path.write_text(head + text, encoding="utf-8")
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        line = str(info.value)
        assert "\n" not in line and message in line and len(line) < 600, line


# --- regressions found by the property tests (in process) ------------------------------------

HEAD = "name: x\nperiod: {start: 2024-01, end: 2024-12}\n"


@pytest.mark.parametrize(("text", "message"), [
    # PyYAML's constructors raise KeyError / IndexError / AttributeError on these
    ("title: !!bool perhaps\n", "3: title: invalid !!bool value 'perhaps'"),
    ("title: !!int ''\n", "3: title: invalid !!int value ''"),
    ("title: !!int '-'\n", "3: title: invalid !!int value '-'"),
    ("title: !!float ''\n", "3: title: invalid !!float value ''"),
    ("title: !!timestamp soon\n", "3: title: invalid !!timestamp value 'soon'"),
    # and its scanner a ValueError on this
    ('title: "\\U00110000"\n', "3: invalid YAML: an escape beyond the last character"),
    # text UTF-8 cannot hold
    ('title: "\\udc80"\n', "3: title: text with an unpaired surrogate U+DC80"),
    # numbers too large for a float (float() would raise OverflowError)
    ("parameters: {demand.growth_per_year: 1" + "0" * 400 + "}\n",
     "3: parameters.demand.growth_per_year: number too large (about 401 digits)"),
    ("parameters: {demand.growth_per_year: {uniform: [0, 1" + "0" * 400 + "]}}\n",
     "3: parameters.demand.growth_per_year.uniform[1]: number too large"),
    # a key with a line break stays on one line
    ('"a\\nb": 1\n', "3: a\\nb: unknown key 'a\\nb'"),
])
def test_loader_regressions(tmp_path, text, message):
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}:{message}"), str(info.value)


def test_exponent_numbers_are_numbers_and_text_stays_text(tmp_path):
    """YAML 1.1 reads `1e6` as text; a scenario author means a number (as YAML 1.2 does)."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: 1e5\ntitle: 2e3\nperiod: {start: 2024-01, end: 2024-12}\n"
        "parameters: {demand.china_h100e_per_month: 1.1e5, smuggling.markup: {uniform: [3e-1,"
        " 8E-1]}}\n"
        "events: [{date: 2024-02, move: us.licence_requirement, chips: [H20], approval: 0,"
        " cap_units: 1e6, note: 5e2}]\n", encoding="utf-8")
    s = load_scenario(path)
    assert (s.name, s.title, s.events[0].note) == ("1e5", "2e3", "5e2")
    assert s.events[0].move.cap_units == 1e6
    assert s.parameters["demand.china_h100e_per_month"] == 110000.0
    assert s.parameters["smuggling.markup"].args == (0.3, 0.8)
    assert type(s.parameters["demand.china_h100e_per_month"]) is float  # plain in Scenario


def test_scenario_from_dict_takes_numpy_numbers_and_refuses_odd_objects():
    import numpy as np

    doc = {"name": "np", "period": {"start": "2024-01", "end": "2024-12"},
           "seeds": np.int64(3), "parameters": {"demand.growth_per_year": np.float64(0.3)},
           "events": [{"date": "2024-02", "move": "us.licence_requirement", "chips": ["H20"],
                       "approval": np.float32(0.5), "us_supply_first": np.bool_(True)}]}
    s = scenario_from_dict(doc)
    assert s.seeds == 3 and type(s.seeds) is int
    assert s.events[0].move.us_supply_first is True
    for odd in (object(), b"bytes", {1, 2}, 10**400):
        with pytest.raises(ScenarioError) as info:
            scenario_from_dict({**doc, "title": odd})
        assert "\n" not in str(info.value)
