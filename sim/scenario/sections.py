"""The checks of a scenario's sections: name, texts, period, population and parameters.

Each ``read_*`` function checks one section of the merged document (a
:class:`~sim.scenario.document.Tree`) and returns its typed value, or raises the
:class:`~sim.scenario.errors.ScenarioError` of the first problem at the file, line and key where
it was written. The problems are put in the author's words (:mod:`sim.scenario.wording`); the
policy sections, ``initial_policy`` and ``events``, are read in :mod:`sim.scenario.events`.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from sim.scenario.document import Tree
from sim.scenario.wording import as_written, did_you_mean, show, unknown_key
from sim.scenario.yamlsafe import KeyPath
from sim.world.months import format_month, parse_month
from sim.world.parameters import (
    DEFAULTS,
    SOURCE_KEY,
    Distribution,
    Posterior,
    parameter_source,
    share_group_problem,
)

#: Population sizes used when a scenario does not set them.
POPULATION_DEFAULTS: dict[str, int] = {"small_buyers": 200, "smugglers": 60, "cloud_providers": 12}
#: Largest population sizes accepted.
POPULATION_LIMITS: dict[str, int] = {
    "small_buyers": 2_000_000, "smugglers": 2_000_000, "cloud_providers": 10_000,
}
MAX_MONTHS = 600
MAX_NAME = 64
#: A scenario's (or an event's) name: lower-case letters, digits and '-'.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def read_name(tree: Tree) -> str:
    """The scenario's name: it names the results folder, so it must be a safe folder name."""
    name = as_written(tree.data.get("name"))
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > MAX_NAME:
        raise tree.error(
            ("name",),
            f"must be lower-case letters, digits and '-', starting with a letter or digit, at most"
            f" {MAX_NAME} characters (got {show(name)})",
        )
    return name


def read_text(tree: Tree, key: str, default: str) -> str:
    """A free-text key (``title``, ``description``), or ``default`` when it is not given."""
    value = as_written(tree.data.get(key))
    if value is None:
        return default
    if not isinstance(value, str):
        raise tree.error((key,), f"must be text (got {show(value)}); put it in quotes")
    return value


def read_integer(tree: Tree, path: KeyPath, value: Any, low: int, high: int) -> int:
    """A whole number in ``[low, high]``; ``3.0`` is refused with the hint to write ``3``."""
    if isinstance(value, bool) or not isinstance(value, int):
        hint = ""
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
            hint = f"; write {int(value)}"
        raise tree.error(path, f"must be a whole number (got {show(value)}){hint}")
    if not low <= value <= high:
        raise tree.error(path, f"must be between {low} and {high} (got {value})")
    return value


def read_month(tree: Tree, path: KeyPath, value: Any) -> int:
    """A month ``YYYY-MM`` as a month index (:mod:`sim.world.months`)."""
    if not isinstance(value, str | datetime.date):
        raise tree.error(path, f"must be a month written YYYY-MM (got {show(value)})")
    try:
        return parse_month(value)
    except ValueError as exc:
        raise tree.error(path, str(exc)) from None


def read_period(tree: Tree) -> tuple[int, int]:
    """The first and last month simulated (inclusive), at most :data:`MAX_MONTHS` apart."""
    period = tree.data.get("period")
    if period is None:
        raise tree.missing("period", "required: the months to simulate, {start: .., end: ..}")
    if not isinstance(period, dict):
        raise tree.error(("period",), "must be a mapping {start: YYYY-MM, end: YYYY-MM}")
    check_known_keys(tree, ("period",), period, ("start", "end"))
    for key in ("start", "end"):
        if key not in period:
            raise tree.error(("period",), f"missing '{key}' (a month written YYYY-MM)")
    start = read_month(tree, ("period", "start"), period["start"])
    end = read_month(tree, ("period", "end"), period["end"])
    if end < start:
        raise tree.error(("period", "end"),
                         f"end {format_month(end)} is before start {format_month(start)}")
    if end - start + 1 > MAX_MONTHS:
        raise tree.error(("period", "end"),
                         f"period is {end - start + 1} months long; at most {MAX_MONTHS}")
    return start, end


def raw_section(tree: Tree, key: str, empty: Any) -> Any:
    """A section as written, or ``empty`` when it is absent or left empty (``events:``)."""
    value = tree.data.get(key)
    return empty if value is None else value


def check_known_keys(tree: Tree, path: KeyPath, mapping: dict, known: tuple[str, ...]) -> None:
    """Refuse the first key of ``mapping`` that is not ``known`` (a typo must not be ignored)."""
    for key in mapping:
        if key not in known:
            raise tree.error((*path, key), unknown_key(key, known))


def read_population(tree: Tree) -> dict[str, int]:
    """Each population's size: the file's, else :data:`POPULATION_DEFAULTS`."""
    raw = raw_section(tree, "population", {})
    if not isinstance(raw, dict):
        raise tree.error(("population",), f"must be a mapping like {POPULATION_DEFAULTS}")
    check_known_keys(tree, ("population",), raw, tuple(POPULATION_DEFAULTS))
    return {
        key: read_integer(tree, ("population", key), raw.get(key, default), 1,
                          POPULATION_LIMITS[key])
        for key, default in POPULATION_DEFAULTS.items()
    }


def read_parameters(tree: Tree) -> dict[str, float | Distribution | Posterior]:
    """Overrides of the parameter defaults: numbers or distributions, each within its range.

    The key ``from`` is not a parameter: ``from: posterior`` draws each replication's values
    of the calibrated parameters from the shipped posterior (the other keys still override
    them); ``from: defaults`` turns that off in a file that extends one using it.
    """
    raw = raw_section(tree, "parameters", {})
    if not isinstance(raw, dict):
        raise tree.error(("parameters",), "must be a mapping of dotted parameter names to values")
    out: dict[str, float | Distribution | Posterior] = {}
    for name, value in raw.items():
        path = ("parameters", name)
        if name == SOURCE_KEY:
            source = _parameter_source(tree, path, value)
            if source is not None:
                out[name] = source
            continue
        if name not in DEFAULTS:
            hint = did_you_mean(name, DEFAULTS)
            raise tree.error(
                path, f"unknown parameter {show(name)}{hint} (`chipsim list parameters`)"
            )
        out[name] = _parameter_value(tree, path, value)
        problem = DEFAULTS[name].problem(out[name])
        if problem is not None:
            raise tree.error(path, problem)
    shares = share_group_problem(out)
    if shares is not None:
        raise tree.error(("parameters", shares[0]), shares[1])
    return out


def _parameter_source(tree: Tree, path: KeyPath, value: Any) -> Posterior | None:
    try:
        return parameter_source(as_written(value))
    except ValueError as exc:
        raise tree.error(path, str(exc)) from None


def _parameter_value(tree: Tree, path: KeyPath, value: Any) -> float | Distribution:
    if isinstance(value, dict):
        try:
            return Distribution.parse(value)
        except ValueError as exc:
            raise tree.error(path, str(exc)) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise tree.error(
            path,
            f"must be a number or a distribution like {{uniform: [0.3, 0.8]}} (got {show(value)})",
        )
    return float(value)
