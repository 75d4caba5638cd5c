"""A JSON Schema for scenario files, generated from the move classes and parameter defaults.

Editors (VS Code's YAML extension, PyCharm) use it to complete keys and flag mistakes while a
researcher types. It is a convenience, not the validator: ``chipsim check`` is the authority
(it also checks dates against the period, ``extends`` chains and more). Regenerate with
``python -m sim.scenario.schema > docs/scenario.schema.json``; a test fails when the file is stale.
"""

from __future__ import annotations

import json
from typing import Any

_MONTH = {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}
_DISTRIBUTION = {
    "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
    "properties": {
        "uniform": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "triangular": {"type": "array", "items": {"type": "number"}, "minItems": 3,
                       "maxItems": 3},
        "normal": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "lognormal": {"type": "array", "items": {"type": "number"}, "minItems": 2,
                      "maxItems": 2},
    },
}

_SOURCE = {
    "description": "where parameter values come from: `posterior` draws each replication's values"
                   " of the calibrated parameters from sim/world/data/posterior.csv (the other"
                   " keys still override them); `defaults` turns that off; {posterior: SHA256}"
                   " is the resolved form a manifest records",
    "oneOf": [{"enum": ["posterior", "defaults"]},
              {"type": "object", "additionalProperties": False, "required": ["posterior"],
               "properties": {"posterior": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}],
}

_LEVER = {
    "type": "object", "additionalProperties": False, "required": ["event", "field", "range"],
    "description": "a number parameter of an event's move that a study (chipsim explore) varies",
    "properties": {
        "event": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": 64,
                  "description": "the id of an event of this scenario"},
        "field": {"type": "string", "description": "a number parameter of the event's move"},
        "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                  "description": "[low, high], inside the values the move allows"},
    },
}


def _move_schema(name: str, cls: Any, dated: bool) -> dict[str, Any]:
    schema = cls.model_json_schema()
    props = dict(schema.get("properties", {}))
    props["move"] = {"const": name, "description": (cls.__doc__ or "").strip().splitlines()[0]}
    required = ["move", *schema.get("required", [])]
    if dated:
        props |= {"date": _MONTH, "announced": _MONTH, "note": {"type": "string"},
                  "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": 64}}
        required.append("date")
    out = {"type": "object", "properties": props, "required": required,
           "additionalProperties": False}
    if "$defs" in schema:
        out["$defs"] = schema["$defs"]
    return out


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file."""
    from sim.moves import MOVES
    from sim.scenario.scenario import POPULATION_LIMITS
    from sim.world.parameters import DEFAULTS, SOURCE_KEY

    def moves(dated: bool) -> dict[str, Any]:
        return {"type": "array",
                "items": {"oneOf": [_move_schema(n, MOVES[n], dated) for n in sorted(MOVES)]}}

    parameters: dict[str, Any] = {SOURCE_KEY: _SOURCE}
    parameters |= {name: {"description": f"{spec.meaning} [{spec.unit}, range"
                                        f" {spec.range_text}; {spec.source}]",
                         "oneOf": [{"type": "number", "minimum": spec.low, "maximum": spec.high},
                                   {"$ref": "#/$defs/distribution"}]}
                  for name, spec in DEFAULTS.items()}
    population = {key: {"type": "integer", "minimum": 1, "maximum": limit}
                  for key, limit in POPULATION_LIMITS.items()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "chipsim scenario",
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],  # `period` may come from the file this one extends
        "$defs": {"distribution": _DISTRIBUTION},
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": 64},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "extends": {"type": "string"},
            "period": {"type": "object", "additionalProperties": False,
                       "required": ["start", "end"],
                       "properties": {"start": _MONTH, "end": _MONTH}},
            "seeds": {"type": "integer", "minimum": 1, "maximum": 100000},
            "seed": {"type": "integer", "minimum": 0},
            "counterfactual": {"type": "string"},
            "population": {"type": "object", "additionalProperties": False,
                           "properties": population},
            "parameters": {"type": "object", "additionalProperties": False,
                           "properties": parameters},
            "initial_policy": moves(dated=False),
            "events": moves(dated=True),
            "drop_events": {"type": "array", "items": {"type": "string"}},
            "levers": {"type": "array", "items": _LEVER},
        },
    }


if __name__ == "__main__":
    print(json.dumps(scenario_schema(), indent=2, sort_keys=True))
