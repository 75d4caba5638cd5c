"""Docs generated from the code must match the code: regenerate them when this fails."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from sim.scenario.reference import scenario_reference
from sim.scenario.schema import scenario_schema

DOCS = Path(__file__).resolve().parents[1] / "docs"
SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))


def test_scenario_reference_is_current():
    text = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    assert text == scenario_reference(), "run: python -m sim.scenario.reference > docs/scenarios.md"


def test_json_schema_is_current():
    on_disk = json.loads((DOCS / "scenario.schema.json").read_text(encoding="utf-8"))
    assert on_disk == scenario_schema(), \
        "run: python -m sim.scenario.schema > docs/scenario.schema.json"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_match_the_schema(path):
    jsonschema.validate(yaml.safe_load(path.read_text()), scenario_schema())


def test_schema_flags_a_typo_an_editor_should_underline():
    doc = {"name": "x", "period": {"start": "2024-01", "end": "2024-12"},
           "events": [{"date": "2024-06", "move": "us.tariff", "chips": ["H20"], "rat": 0.2}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, scenario_schema())


def test_every_default_names_its_source():
    from sim.world.parameters import DEFAULTS

    for spec in DEFAULTS.values():  # the chips' numbers included (chips.<CHIP>.<field>)
        # an H100's speeds are 1 by definition of the unit (H100-equivalents)
        assert any(word in spec.source for word in ("FACTS", "assumption", "calibrated",
                                                    "definition of the unit")), spec.name


def test_every_fitted_parameter_says_its_default_is_fitted():
    """A reader of the reference or the data files must see which numbers calibration sets:
    the data file's value is used only with the posterior off (``from: defaults``).
    """
    from sim.world.parameters import DEFAULTS, load_posterior

    for name in load_posterior().names:
        source = DEFAULTS[name].source
        assert "fitted by chipsim calibrate" in source and "posterior off" in source, name
