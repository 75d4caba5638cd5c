"""Property tests: whatever a scenario holds, it loads or fails with one ScenarioError line.

Scenario documents are generated from the real move registry (every move, every parameter, in
its valid range) and then broken in every way a hand-edited file can be: a key dropped, a value
of the wrong type, a number out of range, an extra key, or the YAML text itself garbled. Both
entry points are exercised - :func:`sim.scenario.scenario.scenario_from_dict` and the YAML path
(:func:`sim.scenario.yamlsafe.parse_yaml`, :func:`sim.scenario.scenario.load_scenario` on a
file) - and nothing but
:class:`~sim.scenario.errors.ScenarioError` may come out.

Model parameters are drawn anywhere in their allowed ranges (``range`` in
``sim/data/parameters.yaml``), as numbers or as distributions the loader accepts; values outside
the ranges are refused at load time (:data:`OUT_OF_RANGE_PARAMETERS`, each of which used to crash
the model). Valid generated scenarios, with short periods and small populations, are also run
through the model with conservation checked every month, and their outputs must be finite and,
where they count things or money, non-negative; so are scenarios with every move at the ends of
its ranges.

Hypothesis is derandomized (the same examples on every run) with bounded example counts, so the
module is reproducible in CI and takes seconds.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import types
import typing
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim.moves.base as move_types
from sim.model.metrics import MODEL_METRICS
from sim.model.model import ChipTradeModel
from sim.moves import MOVES
from sim.scenario.errors import ScenarioError
from sim.scenario.scenario import (
    MAX_SEED,
    MAX_SEEDS,
    POPULATION_LIMITS,
    Scenario,
    load_counterfactual,
    load_scenario,
    scenario_from_dict,
)
from sim.scenario.yamlsafe import parse_yaml
from sim.world.actors import BUYER_CLASSES, ROUTES, US_VENDORS, VENDORS
from sim.world.catalogue import CHIPS
from sim.world.months import format_month
from sim.world.parameters import (
    DEFAULTS,
    STRUCTURAL,
    Distribution,
    draw,
    share_group_problem,
)


def fast(max_examples: int) -> settings:
    """Reproducible settings: same examples every run, no deadline, bounded count."""
    return settings(
        derandomize=True,
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much],
    )


# --- strategies: move parameters from the registry -------------------------------------------

#: Large but valid magnitudes for unbounded non-negative parameters (intensity, cost, caps).
BIG = 1e9
finite = st.floats(allow_nan=False, allow_infinity=False)


def _bounded(metadata: list[Any], integer: bool) -> st.SearchStrategy[Any]:
    low = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in metadata if hasattr(m, "le")), None)
    if integer:
        return st.integers(low, high)
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _names(options: tuple[str, ...], min_size: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(options), min_size=min_size, max_size=len(options),
                    unique=True)


#: The parameter types moves are built from (sim.moves.base), and how to draw valid values.
TYPE_STRATEGIES: dict[Any, st.SearchStrategy[Any]] = {
    move_types.Fraction: st.floats(0.0, 1.0),
    move_types.NonNegative: st.one_of(st.floats(0.0, BIG), st.sampled_from([0.0, 1.0, BIG])),
    move_types.Chips: _names(tuple(CHIPS), 1),
    move_types.Routes: _names(ROUTES, 0),
    move_types.BuyerClasses: _names(BUYER_CLASSES, 0),
    move_types.TransitCountry: st.sampled_from(ROUTES[:-1]),
    bool: st.booleans(),
    tuple[str, ...]: _names(tuple(sorted(MOVES)), 1),  # a truce suspends moves by name
}


def parameter_strategy(cls: type, name: str) -> st.SearchStrategy[Any]:
    """Valid values of one move parameter, from its type annotation and field constraints."""
    hint = typing.get_type_hints(cls, include_extras=True)[name]
    field = cls.model_fields[name]
    options = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in options:
        (inner,) = [o for o in options if o is not type(None)]
        return st.one_of(st.none(), _strategy_for(inner, field.metadata, cls, name))
    return _strategy_for(hint, field.metadata, cls, name)


def _strategy_for(hint: Any, metadata: list[Any], cls: type, name: str) -> st.SearchStrategy:
    if hint in TYPE_STRATEGIES:
        return TYPE_STRATEGIES[hint]
    if typing.get_origin(hint) is typing.Literal:
        return st.sampled_from(typing.get_args(hint))
    if hint in (int, float):
        return _bounded(metadata, integer=hint is int)
    raise LookupError(f"no strategy for {cls.name}.{name} ({hint}): teach TYPE_STRATEGIES about"
                      " the new parameter type")


def move_dicts(names: list[str] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """``{move: NAME, **valid parameters}``; optional parameters are sometimes left out."""
    def for_move(name: str) -> st.SearchStrategy[dict[str, Any]]:
        cls = MOVES[name]
        required = {k: parameter_strategy(cls, k) for k, f in cls.model_fields.items()
                    if f.is_required()}
        optional = {k: parameter_strategy(cls, k) for k, f in cls.model_fields.items()
                    if not f.is_required()}
        return st.fixed_dictionaries(required, optional=optional).map(
            lambda params: {"move": name, **params})

    return st.sampled_from(sorted(names or MOVES)).flatmap(for_move)


def test_every_move_parameter_has_a_strategy():
    for cls in MOVES.values():
        for param in cls.model_fields:
            parameter_strategy(cls, param)  # raises LookupError for an unknown type


# --- strategies: whole scenario documents ----------------------------------------------------

names = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,30}\Z")
texts = st.text(max_size=40)


#: Largest cohort size drawn for documents that are run (the range goes to 100000: slow runs).
RUN_COHORT = 40


def parameter_limits(name: str, run: bool) -> tuple[float, float]:
    """The range of a parameter; ``run``: the document will be run, so cohorts stay small."""
    low, high = DEFAULTS[name].limits
    return (low, RUN_COHORT) if run and name.startswith("buyers.cohort_size.") else (low, high)


def parameter_values(name: str, run: bool = False) -> st.SearchStrategy[Any]:
    """A number or a distribution for a model parameter, anywhere its range allows.

    Numbers favour the ends of the range and the default; uniform and triangular distributions
    lie within the range; normal and lognormal ones are centred in it with any spread (their
    draws are clipped).
    """
    spec = DEFAULTS[name]
    low, high = parameter_limits(name, run)
    inside = st.floats(low, high)
    number = st.one_of(st.sampled_from([low, high, spec.clip(_centre(spec.value))]), inside)
    if name in STRUCTURAL:  # sets the model's structure: one number, never a distribution
        return number
    spread = st.floats(0.0, high - low)
    mu = st.floats(math.log(max(low, 1e-9)) + 1e-9, math.log(high) - 1e-9)  # e**mu in range
    return st.one_of(
        number,
        st.tuples(inside, inside).map(sorted).map(lambda ab: {"uniform": ab}),
        st.tuples(inside, inside, inside).map(sorted).map(lambda abc: {"triangular": abc}),
        st.tuples(inside, spread).map(lambda ms: {"normal": list(ms)}),
        st.tuples(mu, st.floats(0.0, 3.0)).map(lambda ms: {"lognormal": list(ms)}),
    )


def _centre(value: float | Distribution) -> float:
    return sum(value.bounds()) / 2 if isinstance(value, Distribution) else value


def in_range_parameters(draw: st.DrawFn, names: list[str], run: bool,
                        ends: bool = False) -> dict[str, Any]:
    """Values for ``names`` (``ends``: numbers at either end of the range, see
    :func:`parameter_values`); a share group that could be all 0 loses members until it cannot.
    """
    params = {n: draw(st.sampled_from(parameter_limits(n, run)) if ends
                      else parameter_values(n, run)) for n in names}
    while (problem := share_group_problem(
            {n: Distribution.parse(v) if isinstance(v, dict) else v for n, v in params.items()}
    )) is not None:
        del params[problem[0]]
    return params


@st.composite
def valid_documents(draw: st.DrawFn, *, min_months: int = 1, max_months: int = 48,
                    population: dict[str, int] | None = None, run: bool = False,
                    max_events: int = 6, rich: bool = False,
                    max_parameters: int = 4) -> dict[str, Any]:
    """A valid scenario document (plain data, as a YAML file would hold it).

    ``rich``: every optional section present (so that mutations reach deep keys). ``run``: the
    document will be run (small cohorts, see :func:`parameter_values`).
    """
    def maybe() -> bool:
        return rich or draw(st.booleans())

    start = draw(st.integers(2000 * 12, 2100 * 12))
    end = start + draw(st.integers(min_months, max_months)) - 1
    doc: dict[str, Any] = {
        "name": draw(names),
        "period": {"start": format_month(start), "end": format_month(end)},
    }
    if maybe():
        doc["title"] = draw(texts)
    if maybe():
        doc["description"] = draw(texts)
    if maybe():
        doc["seeds"] = draw(st.integers(1, MAX_SEEDS))
    if maybe():
        doc["seed"] = draw(st.integers(0, MAX_SEED))
    if maybe():
        doc["counterfactual"] = "no-events"
    if population is not None:
        doc["population"] = dict(population)
    elif maybe():
        doc["population"] = draw(st.fixed_dictionaries({}, optional={
            key: st.integers(1, limit) for key, limit in POPULATION_LIMITS.items()}))
    chosen = draw(st.lists(st.sampled_from(sorted(DEFAULTS)), min_size=int(rich),
                           max_size=max_parameters, unique=True))
    if chosen or maybe():
        doc["parameters"] = in_range_parameters(draw, chosen, run)
    if maybe():
        doc["initial_policy"] = draw(st.lists(move_dicts(), min_size=int(rich), max_size=3))
    if maybe():
        events = []
        for move in draw(st.lists(move_dicts(), min_size=int(rich), max_size=max_events)):
            date = draw(st.integers(start, end))
            event: dict[str, Any] = {"date": format_month(date)}
            if maybe():
                event["announced"] = format_month(date - draw(st.integers(0, 24)))
            if draw(st.booleans()):
                event["note"] = draw(texts)
            events.append({**event, **move})
        doc["events"] = events
    return doc


# --- strategies: broken documents ------------------------------------------------------------

WRONG_VALUES = [
    None, True, False, 0, -1, 1.5, -0.5, 2, 10**6, 10**30, 1e308, -1e308, float("nan"),
    float("inf"), float("-inf"), "", "x", "0.5", "2025-13", "2024-00", "1e3", "no-events",
    "../x", "H30", [], [1], ["H20"], {}, {"a": 1}, {"uniform": [1, 0]}, {"move": "us.tariff"},
    2**63, -(2**63), 10**400,
]


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Every position in a document: mapping keys and list indices, nested."""
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*path, index))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for part in path:
        doc = doc[part]
    return doc


#: Keys a careless edit might add: real keys in the wrong place, and junk.
EXTRA_KEYS = ["date", "move", "note", "chips", "share", "seeds", "name", "period", "events",
              "start", "approval", "announced", "uniform", "x", "", "Name", "events "]


@st.composite
def broken_documents(draw: st.DrawFn) -> Any:
    """A valid document with one to three mutations somewhere in it.

    Positions are picked uniformly (by a ``random.Random`` seeded from hypothesis, so still
    reproducible; hypothesis' own draws favour the first items) so that deep keys -
    an event's parameter, a distribution's arguments - are broken as often as top-level ones.
    """
    doc = draw(valid_documents(rich=True))
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    if rnd.random() < 0.03:
        return rnd.choice(WRONG_VALUES)  # not a mapping at all
    for _ in range(rnd.choice([1, 1, 1, 2, 3])):
        path = rnd.choice(_paths(doc)[1:])
        parent, here = _get(doc, path[:-1]), _get(doc, path)
        kind = draw(st.sampled_from(["drop", "replace", "number", "extra", "rename"]))
        if kind == "drop":
            del parent[path[-1]]
        elif kind == "replace":
            parent[path[-1]] = draw(st.one_of(st.sampled_from(WRONG_VALUES), texts, finite))
        elif kind == "number":
            parent[path[-1]] = draw(st.one_of(
                st.integers(-(10**20), 10**20), finite,
                st.sampled_from([-1, 0, 1.0000001, 25, 100001, MAX_SEED + 1, 2_000_001])))
        elif kind == "extra" and isinstance(here, dict):
            key = rnd.choice(EXTRA_KEYS) if rnd.random() < 0.8 else draw(texts)
            here[key] = draw(st.sampled_from(WRONG_VALUES))
        elif kind == "rename" and isinstance(parent, dict):
            parent[path[-1] + rnd.choice(["s", "_", "X", " "])] = parent.pop(path[-1])
    return doc


def to_yaml(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=False, width=1000)


#: Pieces that break YAML in interesting ways (tags, anchors, merge keys, BOM, NUL, surrogates).
GARBAGE = [":", "-", "[", "]", "{", "}", "&a ", "*a", "!!", "!!python/object:x ", "\t", "\n", "'",
           '"', "#", "<<: ", "? ", "---\n", "%YAML 1.2\n", "\x00", "\x85", "\ufeff", "\udc80",
           "1e5", ": &b [*b]", "!!bool ", "!!timestamp ", "!!int ", "!!float "]


@st.composite
def garbled_yaml(draw: st.DrawFn) -> str | bytes:
    """The YAML text of a valid document, then edited: characters cut, inserted or swapped."""
    text = to_yaml(draw(valid_documents(max_events=3, rich=draw(st.booleans()))))
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))  # uniform positions, reproducible
    for _ in range(rnd.choice([1, 1, 2, 3, 4])):
        if not text:
            break
        at = rnd.randrange(len(text))
        lines = text.splitlines(keepends=True)
        edit = draw(st.sampled_from(["cut", "insert", "insert", "swap", "indent"]))
        if edit == "cut":
            text = text[:at] + text[at + rnd.randint(1, 5):]
        elif edit == "insert":
            piece = rnd.choice(GARBAGE) if rnd.random() < 0.8 else draw(st.text(max_size=5))
            text = text[:at] + piece + text[at:]
        elif edit == "swap":
            i, j = rnd.randrange(len(lines)), rnd.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
        else:
            i = rnd.randrange(len(lines))
            lines[i] = " " * rnd.randint(1, 3) + lines[i]
            text = "".join(lines)
    if rnd.random() < 0.3:
        return text.encode("utf-8", "surrogatepass")
    return text


# --- the property: load, or one ScenarioError line -------------------------------------------


def loads_or_scenario_error(build: Callable[[], Scenario]) -> Scenario | None:
    """Run ``build``; a ScenarioError is fine (one line), anything else fails the test."""
    try:
        return build()
    except ScenarioError as exc:
        text = str(exc)
        assert text and "\n" not in text and "\r" not in text, repr(text)
        assert len(text) < 1200, text
        return None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def load_text(folder: Path, text: str | bytes) -> Scenario:
    path = folder / "generated.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return load_scenario(path)


@fast(100)
@given(doc=valid_documents())
def test_valid_documents_load_the_same_from_dict_and_from_yaml(scratch, doc):
    from_dict = scenario_from_dict(doc)
    from_yaml = load_text(scratch, to_yaml(doc))
    assert from_yaml.resolved == from_dict.resolved
    assert from_yaml.content_hash() == from_dict.content_hash()
    assert len(from_dict.events) == len(doc.get("events", []))
    assert all(from_dict.start <= e.date <= from_dict.end for e in from_dict.events)
    assert [e.date for e in from_dict.events] == sorted(e.date for e in from_dict.events)
    again = scenario_from_dict(from_dict.resolved)  # the canonical form round-trips
    assert again.resolved == from_dict.resolved


@fast(250)
@given(doc=broken_documents())
def test_broken_documents_load_or_raise_scenario_error(scratch, doc):
    loads_or_scenario_error(lambda: scenario_from_dict(doc))
    try:
        text = to_yaml(doc)
    except yaml.YAMLError:
        return
    loads_or_scenario_error(lambda: load_text(scratch, text))


@fast(200)
@given(text=garbled_yaml())
def test_garbled_yaml_loads_or_raises_scenario_error(scratch, text):
    loads_or_scenario_error(lambda: parse_yaml(text, file="g.yaml"))
    loads_or_scenario_error(lambda: load_text(scratch, text))


@fast(200)
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_random_bytes_and_text_load_or_raise_scenario_error(scratch, data):
    loads_or_scenario_error(lambda: parse_yaml(data, file="r.yaml"))
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    loads_or_scenario_error(lambda: load_text(scratch, data))


@fast(100)
@given(value=st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
              st.dates(), st.binary(max_size=4), st.sampled_from([np.float64(1.5), np.int64(3),
                                                                  np.bool_(True), object()])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(st.one_of(st.text(max_size=8), st.integers()),
                                            inner, max_size=4)),
    max_leaves=20,
), key=st.sampled_from(["name", "title", "period", "seeds", "seed", "population",
                        "parameters", "initial_policy", "events", "counterfactual", "extends"]))
def test_arbitrary_python_values_load_or_raise_scenario_error(value, key):
    doc = {"name": "any", "period": {"start": "2024-01", "end": "2024-12"}, key: value}
    loads_or_scenario_error(lambda: scenario_from_dict(doc))
    loads_or_scenario_error(lambda: scenario_from_dict(value))


def test_self_containing_and_deep_data_is_refused():
    loop: dict[str, Any] = {}
    loop["x"] = loop
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    for value in (loop, deep):
        with pytest.raises(ScenarioError):
            scenario_from_dict({"name": "x", "period": {"start": "2024-01", "end": "2024-12"},
                                "title": value})


# --- invariants of the model on random valid scenarios ---------------------------------------

SMALL = {"small_buyers": 20, "smugglers": 10, "cloud_providers": 3}
#: Outputs that count chips or money (or compute): never negative.
NON_NEGATIVE = [
    m for m in MODEL_METRICS
    if m.endswith(("_units", "_usd", "_h100e")) or "_units_" in m or "_usd_" in m
]
INDEX = {name: i for i, name in enumerate(MODEL_METRICS)}


def check_invariants(scenario: Scenario) -> None:
    """Run scenario and counterfactual (conservation checked monthly); check every output."""
    records = ChipTradeModel(scenario, seed=0, check_conservation=True).run()[0]
    base = ChipTradeModel(load_counterfactual(scenario), seed=0, check_conservation=True).run()[0]
    assert records.shape == (len(scenario.months), len(MODEL_METRICS))
    assert np.isfinite(records).all(), [m for m in MODEL_METRICS
                                        if not np.isfinite(records[:, INDEX[m]]).all()]
    for name in NON_NEGATIVE:
        column = records[:, INDEX[name]]
        assert (column >= -1e-6 * max(1.0, np.abs(column).max())).all(), (name, column)
    share = records[:, INDEX["domestic_share"]]
    assert ((share >= -1e-9) & (share <= 1 + 1e-9)).all(), share
    assert (records[:, INDEX["grey_premium"]] > -1).all()
    col = {name: records[:, i] for name, i in INDEX.items()}
    np.testing.assert_allclose(
        col["diverted_units"], col["smuggled_units"] + col["cloud_units"] + col["subsidiary_units"],
        rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(
        col["vendor_revenue_usd"], sum(col[f"vendor_revenue_usd_{v}"] for v in US_VENDORS),
        rtol=1e-9, atol=1e-3)
    for vendor in VENDORS:  # revenue loss may be negative, but it is a finite paired difference
        i = INDEX[f"vendor_revenue_usd_{vendor}"]
        assert np.isfinite(base[:, i] - records[:, i]).all()


small_valid = valid_documents(min_months=6, max_months=12, population=SMALL, run=True,
                              max_events=5, max_parameters=20)


@fast(20)
@given(doc=small_valid)
def test_model_invariants_on_random_valid_scenarios(doc):
    check_invariants(scenario_from_dict(doc))


def _year_of_the_timeline() -> Scenario:
    """The calibrated timeline's busiest year (2025-03..2026-02: most moves), small populations."""
    doc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios"
                        / "timeline-2024-2026.yaml").resolved
    period = {"start": "2025-03", "end": "2026-02"}
    events = [e for e in doc["events"] if period["start"] <= e["date"] <= period["end"]]
    return scenario_from_dict({**doc, "period": period, "events": events, "population": SMALL,
                               "seeds": 1})


TIMELINE_YEAR = _year_of_the_timeline()


@fast(8)
@given(data=st.data(), ends=st.booleans())
def test_model_invariants_with_every_parameter_in_its_range(data, ends):
    """All parameters at once, under many moves: each anywhere in its range, or at one end."""
    params = in_range_parameters(data.draw, sorted(DEFAULTS), run=True, ends=ends)
    parsed = {n: Distribution.parse(v) if isinstance(v, dict) else v for n, v in params.items()}
    check_invariants(TIMELINE_YEAR.replace(parameters=parsed))


#: Edge cases worth keeping whatever hypothesis draws: every move at the ends of its ranges.
EDGE_CASES: list[tuple[str, dict[str, Any]]] = [
    ("capacity-to-zero", {"move": "supply.shock", "component": "foundry",
                          "capacity_change": -1.0, "price_change": -0.9}),
    ("price-x6", {"move": "supply.shock", "component": "hbm", "price_change": 5.0,
                  "capacity_change": 5.0}),
    ("enforcement-huge", {"move": "us.enforcement", "intensity": BIG}),
    ("enforcement-zero", {"move": "us.enforcement", "intensity": 0.0, "routes": ["malaysia"]}),
    ("licence-all-chips-cap-0", {"move": "us.licence_requirement", "chips": list(CHIPS),
                                 "approval": 1.0, "delay_months": 24, "cap_units": 0.0,
                                 "us_supply_first": True, "max_share_of_us": 0.0}),
    ("import-block-all", {"move": "cn.import_block", "chips": list(CHIPS),
                          "justification_pass": 0.0}),
    ("mandate-all", {"move": "cn.domestic_mandate", "share": 1.0, "applies_to": "all"}),
    ("subsidy-max", {"move": "cn.domestic_subsidy", "cost_multiple": 20.0,
                     "power_discount": 1.0}),
    ("permit-huge-cost", {"move": "transit.permit_requirement", "country": "malaysia",
                          "detection": 1.0, "cost": BIG}),
    ("full-fees", {"move": "us.revenue_share", "chips": list(CHIPS), "share": 1.0}),
    ("full-tariff", {"move": "us.tariff", "chips": list(CHIPS), "rate": 1.0}),
    ("remote-access-all", {"move": "us.remote_access_rule", "compliance": 1.0}),
    ("location-all", {"move": "us.location_verification", "detection": 1.0}),
    ("guidance-all", {"move": "cn.purchase_guidance", "chips": list(CHIPS), "pressure": 1.0}),
    ("truce", {"move": "trade.truce", "suspends": ["us.tariff", "us.enforcement"], "months": 3}),
]


def edge_scenario(move: dict[str, Any]) -> dict[str, Any]:
    return {"name": "edge", "period": {"start": "2024-01", "end": "2024-09"},
            "population": SMALL, "seeds": 1,
            "events": [{"date": "2024-03", "announced": "2024-01", **move}]}


@pytest.mark.parametrize(("move",), [pytest.param(m, id=i) for i, m in EDGE_CASES])
def test_model_invariants_on_edge_moves(move):
    check_invariants(scenario_from_dict(edge_scenario(move)))


# --- parameter values outside their ranges ----------------------------------------------------

#: Values outside the allowed ranges, and what the model did with them before ranges were
#: declared (it hung, allocated terabytes, divided by zero or broke conservation). Each is now a
#: ScenarioError naming the parameter and its range.
OUT_OF_RANGE_PARAMETERS: list[tuple[str, Any, str, str]] = [
    ("model.burn_in_months", 1e12, "allowed maximum 120", "the run never ended"),
    ("buyers.cohort_size.research_labs", 1e12, "allowed maximum 100000", "MemoryError: 931 GiB"),
    ("vendors.lead_months", 1e12, "allowed maximum 36", "MemoryError"),
    ("buyers.cohort_size.state_dcs", -1, "allowed minimum 1", "ValueError: could not broadcast"),
    ("clouds.amortisation_months", 0, "allowed minimum 1", "ZeroDivisionError"),
    ("demand.growth_per_year", -1, "allowed minimum -0.9", "ZeroDivisionError: 0.0 ** -x"),
    ("buyers.small_firm_size_sigma", -1, "allowed minimum 0", "ValueError: sigma < 0"),
    ("smuggling.capacity_units_per_month", -1, "allowed minimum 0", "ConservationError: money"),
    ("smuggling.chip_mix.H100", -1, "allowed minimum 0", "ConservationError: chips"),
    ("buyers.offshore_access.big_tech", -1, "allowed minimum 0", "ConservationError: clouds"),
    ("vendors.initial_utilisation", -1, "allowed minimum 0", "ConservationError: clouds"),
    ("buyers.train_weight.big_tech", 1e12, "allowed maximum 1", "negative compute"),
    ("buyers.rumour_credence", -1, "allowed minimum 0", "negative legal exports"),
    ("smuggling.capacity_units_per_month", {"uniform": [-100, 400]},
     "reaches outside the allowed range",
     "ConservationError (a uniform that draws negative capacities)"),
    ("smuggling.capacity_units_per_month", {"normal": [-350, 1000]},
     "mean -350 is outside the allowed",
     "ConservationError (a normal centred on a negative capacity)"),
    ("buyers.rumour_credence", {"lognormal": [1, 0.5]}, "median 2.71828 is outside",
     "a credence above 1"),
]


def _case_id(name: str, value: Any) -> str:
    return name + (f"-{next(iter(value))}" if isinstance(value, dict) else "")


@pytest.mark.parametrize(("name", "value", "message"),
                         [pytest.param(n, v, m, id=_case_id(n, v))
                          for n, v, m, _ in OUT_OF_RANGE_PARAMETERS])
def test_out_of_range_parameter_values_are_refused(name, value, message):
    doc = {"name": "p", "period": {"start": "2024-01", "end": "2024-09"},
           "parameters": {name: value}}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    text = str(info.value)
    assert text.startswith(f"<dict>: parameters.{name}: "), text
    assert message in text and DEFAULTS[name].range_text in text, text


def test_check_refuses_out_of_range_parameters_in_one_line_with_exit_2(tmp_path):
    """`chipsim check`: file, line, key and the range, exit code 2 (SPEC §7)."""
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nperiod: {start: 2024-01, end: 2024-12}\nparameters:\n"
                    "  smuggling.markup: 0.5\n  clouds.amortisation_months: 0\n", encoding="utf-8")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "sim", "check", str(path)], capture_output=True,
                          text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"{path}:5: parameters.clouds.amortisation_months: 0 is below the"
                           " allowed minimum 1 (range [1, 240])\n")
    path.write_text("name: x\nperiod: {start: 2024-01, end: 2024-12}\nparameters:\n"
                    "  smuggling.capacity_units_per_month:\n    uniform: [-100, 400]\n",
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}:4: parameters.smuggling.capacity_units_per_month: uniform"
                               " [-100, 400] reaches outside the allowed range [0, 1e8]")


def test_shares_that_could_all_be_zero_are_refused():
    mix = {f"smuggling.chip_mix.{c}": 0 for c in ("H100", "H200")}
    doc = {"name": "p", "period": {"start": "2024-01", "end": "2024-09"},
           "parameters": {**mix, "smuggling.chip_mix.B200": {"normal": [0.3, 0.1]}}}
    with pytest.raises(ScenarioError, match=r"chip_mix\.B200: the shares smuggling\.chip_mix"):
        scenario_from_dict(doc)
    doc["parameters"]["smuggling.chip_mix.B200"] = {"uniform": [0.1, 0.3]}
    scenario_from_dict(doc)  # one share that stays positive is enough: the mix is rescaled


def test_every_default_lies_in_its_range():
    for spec in DEFAULTS.values():
        assert spec.low < spec.high and math.isfinite(spec.low) and math.isfinite(spec.high)
        assert spec.problem(spec.value) is None, (spec.name, spec.problem(spec.value))
    assert share_group_problem({}) is None


def test_unbounded_distributions_are_clipped_into_the_range():
    """A plausible-looking normal that reaches below 0 runs: its draws are clipped, not refused."""
    name, value = "smuggling.capacity_units_per_month", {"normal": [350, 1000]}
    scenario = TIMELINE_YEAR.replace(parameters={name: Distribution.parse(value)})
    drawn = [draw(scenario.parameters, np.random.SeedSequence(0, spawn_key=(i,)))[name]
             for i in range(200)]
    assert min(drawn) == 0.0 and max(drawn) > 350  # about a third are clipped to the bound
    assert drawn == [draw(scenario.parameters, np.random.SeedSequence(0, spawn_key=(i,)))[name]
                     for i in range(200)]  # deterministic
    by_seed = {seed: draw(scenario.parameters, np.random.SeedSequence(seed))[name]
               for seed in range(30)}
    zero = next(seed for seed, v in by_seed.items() if v == 0.0)  # a negative draw, clipped
    positive = next(seed for seed, v in by_seed.items() if v > 0.0)
    for seed in (zero, positive):
        model = ChipTradeModel(scenario, seed=seed, check_conservation=True)
        assert model.params[name][0, 0] == by_seed[seed]
        assert np.isfinite(model.run()).all()


def test_clipping_leaves_draws_inside_the_range_unchanged():
    """The shipped distributions lie in their ranges, so clipping changes none of their draws."""
    root = Path(__file__).resolve().parents[1]
    shipped = {n: s.value for n, s in DEFAULTS.items() if isinstance(s.value, Distribution)}
    for path in sorted((root / "scenarios").glob("*.yaml")):
        shipped |= {n: v for n, v in load_scenario(path).parameters.items()
                    if isinstance(v, Distribution)}
    for i in range(20):
        seed = np.random.SeedSequence(7, spawn_key=(i,))
        values = draw(shipped, seed)
        for name, dist in shipped.items():
            key = (*seed.spawn_key, zlib.crc32(name.encode()))
            raw = dist.sample(np.random.default_rng(np.random.SeedSequence(7, spawn_key=key)))
            assert values[name] == raw, name
