"""The scenario: one experiment, read from a YAML file and fully checked before the model runs.

A scenario is a period of months, the Monte Carlo set-up (number of seeds, root seed), population
sizes, parameter overrides, the rules in force at the start (``initial_policy``) and dated policy
``events``. A file may ``extends`` a parent file: its keys override the parent's, ``parameters``
and ``population`` merge key by key and ``events`` are appended to the parent's.

Loading checks everything - unknown keys, types, dates, every move's parameters - and reports the
first problem as one line ``file:line: key.path: problem`` (a :class:`~sim.scenario.errors.ScenarioError`),
so a bad file never reaches the model. :attr:`Scenario.resolved` is the canonical, JSON-ready form
after inheritance; its hash identifies the experiment in results manifests.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import hashlib
import json
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.moves import MOVES, Move
from sim.scenario.errors import ScenarioError
from sim.scenario.yamlsafe import (
    MAX_DEPTH,
    SURROGATE,
    Document,
    ExponentFloat,
    KeyPath,
    format_path,
    read_yaml,
)
from sim.world.months import format_month, parse_month
from sim.world.parameters import DEFAULTS, Distribution, share_group_problem

#: The default counterfactual: the same scenario with its events removed.
NO_EVENTS = "no-events"
#: Keys a scenario file may have.
TOP_KEYS = (
    "name", "title", "description", "extends", "period", "seeds", "seed", "counterfactual",
    "population", "parameters", "initial_policy", "events",
)
#: Population sizes used when a scenario does not set them.
POPULATION_DEFAULTS: dict[str, int] = {"small_buyers": 200, "smugglers": 60, "cloud_providers": 12}
#: Largest population sizes accepted.
POPULATION_LIMITS: dict[str, int] = {
    "small_buyers": 2_000_000, "smugglers": 2_000_000, "cloud_providers": 10_000,
}
DEFAULT_SEEDS = 20
#: Largest magnitude of a whole number in a scenario (beyond it, it is no longer a float).
_LARGEST = int(sys.float_info.max)
MAX_SEEDS = 100_000
MAX_SEED = 2**63 - 1
MAX_MONTHS = 600
#: Longest chain of ``extends`` (or of counterfactual files) followed.
MAX_CHAIN = 20
MAX_NAME = 64
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: Sections that are lists or mappings; left empty (``events:``) they mean "none".
_SECTIONS = ("population", "parameters", "initial_policy", "events")
#: Event keys that are not move parameters.
_EVENT_KEYS = ("id", "date", "announced", "note")


@dataclass(frozen=True)
class Event:
    """A policy move that takes effect on a given month.

    Attributes:
        date: month index (:mod:`sim.world.months`) on which the move takes effect.
        announced: month index on which agents learn of it (== ``date`` unless the file says).
        move: the validated move.
        note: free text from the file.
        id: optional name (``[a-z0-9-]+``, unique in the scenario) by which other events refer
            to this one, e.g. a truce that suspends it or a lever that varies it.

    """

    date: int
    announced: int
    move: Move
    note: str = ""
    id: str | None = None

    @property
    def label(self) -> str:
        """Short text for figure annotations: the note if given, else the move name."""
        text = " ".join(self.note.split()) or self.move.name
        return text if len(text) <= 40 else text[:39] + "…"


@dataclass(frozen=True, repr=False)
class Scenario:
    """One experiment, validated. Build it with :func:`load_scenario` or :func:`scenario_from_dict`.

    Attributes:
        name: ``[a-z0-9-]+``, at most 64 characters; names ``results/<name>/``.
        title: one-line title for reports (default: the name).
        description: free text.
        path: the file it was loaded from (None when built from a dict).
        start: first month (index), ``period.start``.
        end: last month (index, inclusive), ``period.end``.
        seeds: number of Monte Carlo replications.
        seed: root seed; replication seeds derive from it.
        counterfactual: ``"no-events"`` or the absolute path of another scenario file.
        population: ``small_buyers``, ``smugglers``, ``cloud_providers`` -> count.
        parameters: overrides of :data:`sim.world.parameters.DEFAULTS` (numbers or distributions).
        initial_policy: moves in force at ``start``.
        events: dated moves, sorted by date (stable).
        resolved: the canonical, JSON-serialisable document after ``extends``.

    """

    name: str
    title: str
    description: str
    path: Path | None
    start: int
    end: int
    seeds: int
    seed: int
    counterfactual: str
    population: dict[str, int]
    parameters: dict[str, float | Distribution]
    initial_policy: tuple[Move, ...]
    events: tuple[Event, ...]
    resolved: dict

    def __hash__(self) -> int:
        return hash(self.content_hash())

    def __repr__(self) -> str:
        return (
            f"Scenario({self.name!r}, {format_month(self.start)}..{format_month(self.end)},"
            f" {len(self.events)} events, {self.seeds} seeds, hash {self.content_hash()[:12]})"
        )

    @property
    def months(self) -> range:
        """The month indices of the period: ``range(start, end + 1)``."""
        return range(self.start, self.end + 1)

    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :attr:`resolved`: what the experiment is."""
        text = json.dumps(self.resolved, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def without_events(self) -> Scenario:
        """Return the "no-events" counterfactual: the same world with the events removed."""
        bare = dataclasses.replace(
            self,
            name=f"{self.name}-counterfactual",
            title=f"{self.title} (counterfactual: no events)",
            events=(),
            counterfactual=NO_EVENTS,
        )
        return dataclasses.replace(bare, resolved=_canonical(bare))

    def replace(self, **changes: Any) -> Scenario:
        """Return a copy with some fields changed, re-validated, with :attr:`resolved` rebuilt.

        Example: ``scenario.replace(seeds=100, parameters={"demand.growth_per_year": 0.3})``.

        Raises:
            ScenarioError: the changed scenario is invalid.

        """
        changed = dataclasses.replace(self, **changes)
        if "resolved" in changes:
            return changed
        label = str(changed.path) if changed.path is not None else "<scenario>"
        checked = _from_dict(_canonical(changed), label, load_counterfactual=False)
        return dataclasses.replace(checked, path=changed.path)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario file (following ``extends``).

    Args:
        path: the YAML file.

    Returns:
        The validated :class:`Scenario`.

    Raises:
        ScenarioError: anything is wrong with the file, a parent or the counterfactual file.

    """
    return _load_file(Path(path), os.fspath(path), counterfactuals=())


def load_counterfactual(scenario: Scenario) -> Scenario:
    """Return the scenario that revenue loss of ``scenario`` is measured against.

    Args:
        scenario: a loaded scenario.

    Returns:
        ``scenario.without_events()`` for ``"no-events"``, else the scenario loaded from the
        counterfactual file (its period must equal ``scenario``'s).

    Raises:
        ScenarioError: the counterfactual file is invalid or covers another period.

    """
    if scenario.counterfactual == NO_EVENTS:
        return scenario.without_events()
    other = load_scenario(scenario.counterfactual)
    if (other.start, other.end) != (scenario.start, scenario.end):
        raise ScenarioError(
            _period_mismatch(other, scenario),
            file=str(scenario.path) if scenario.path else None,
            key="counterfactual",
        )
    return other


def scenario_from_dict(doc: Mapping[str, Any], *, file: str = "<dict>") -> Scenario:
    """Build a scenario from a mapping shaped like a scenario file (for notebooks and tests).

    Validation is the same as for files, without line numbers. Relative paths (``extends``,
    ``counterfactual``) are taken relative to ``file``'s folder when ``file`` is a path, else to
    the current directory. ``scenario_from_dict(s.resolved, file=str(s.path))`` rebuilds ``s``.

    Args:
        doc: the scenario as plain data (Distribution and Move objects are also accepted).
        file: the name used in error messages.

    Raises:
        ScenarioError: the scenario is invalid.

    """
    return _from_dict(doc, file, load_counterfactual=True)


# --- where values come from ------------------------------------------------------------------


@dataclass(frozen=True)
class _Origin:
    """A part of the merged scenario: which document, where in it, and its folder."""

    doc: Document
    folder: Path
    label_folder: str
    prefix: KeyPath = ()


class _Tree:
    """The merged scenario data (after ``extends``) and where each part of it came from."""

    def __init__(self, data: dict[str, Any], origins: dict[KeyPath, _Origin], top: _Origin):
        self.data = data
        self.origins = origins
        self.top = top

    @classmethod
    def single(cls, origin: _Origin) -> _Tree:
        return cls(dict(origin.doc.data), {(): origin}, origin)

    def locate(self, path: KeyPath) -> tuple[_Origin, KeyPath]:
        for n in range(len(path), -1, -1):
            origin = self.origins.get(path[:n])
            if origin is not None:
                return origin, origin.prefix + path[n:]
        return self.top, path

    def error(self, path: KeyPath, problem: str) -> ScenarioError:
        origin, doc_path = self.locate(path)
        return _error_at(origin.doc, doc_path, problem)

    def missing(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(problem, file=self.top.doc.file, line=self.top.doc.line_of(()),
                             key=key)


def _error_at(doc: Document, path: KeyPath, problem: str) -> ScenarioError:
    return ScenarioError(problem, file=doc.file, line=doc.line_of(path),
                         key=format_path(path) or None)


def _merge(parent: _Tree, child: _Origin) -> _Tree:
    """Child keys override; events are appended; parameters and population merge by key."""
    data = dict(parent.data)
    origins = dict(parent.origins)
    for key, value in child.doc.data.items():
        if key == "extends" or (value is None and key in _SECTIONS):
            continue
        old = data.get(key)
        if key == "events" and isinstance(old, list) and isinstance(value, list):
            for index in range(len(value)):
                origins[(key, len(old) + index)] = dataclasses.replace(child, prefix=(key, index))
            data[key] = old + value
        elif key in ("parameters", "population") and isinstance(old, dict) and isinstance(
            value, dict
        ):
            for name in value:
                _forget(origins, (key, name))
                origins[(key, name)] = dataclasses.replace(child, prefix=(key, name))
            data[key] = {**old, **value}
        else:
            _forget(origins, (key,))
            origins[(key,)] = dataclasses.replace(child, prefix=(key,))
            data[key] = value
    return _Tree(data, origins, child)


def _forget(origins: dict[KeyPath, _Origin], prefix: KeyPath) -> None:
    for path in [p for p in origins if p[: len(prefix)] == prefix]:
        del origins[path]


# --- reading files ---------------------------------------------------------------------------


def _load_file(path: Path, label: str, counterfactuals: tuple[Path, ...]) -> Scenario:
    doc = read_yaml(path, label=label)
    absolute = _resolve(path)
    if absolute is None:
        raise ScenarioError("not a usable file path", file=label)
    origin = _Origin(doc, absolute.parent, os.path.dirname(label))
    tree = _tree(origin, chain=((absolute, label),))
    return _build(tree, path, counterfactuals=(*counterfactuals, absolute), load_cf=True)


def _from_dict(doc: Mapping[str, Any], file: str, *, load_counterfactual: bool) -> Scenario:
    if not isinstance(doc, Mapping):
        raise ScenarioError(f"a scenario must be a mapping of keys (got {_kind(doc)})", file=file)
    data = _plain(doc, (), file, depth=0, active=set())
    is_file = not file.startswith("<")
    absolute = _resolve(Path(file)) if is_file else None
    if is_file and absolute is None:
        raise ScenarioError("not a usable file path", file=file)
    folder = absolute.parent if absolute is not None else Path.cwd()
    origin = _Origin(Document(data=data, lines={}, file=file), folder,
                     os.path.dirname(file) if is_file else "")
    chain = ((absolute, file),) if absolute is not None else ()
    tree = _tree(origin, chain=chain)
    counterfactuals = (absolute,) if absolute is not None else ()
    return _build(tree, Path(file) if is_file else None, counterfactuals=counterfactuals,
                  load_cf=load_counterfactual)


def _plain(value: Any, path: KeyPath, file: str, depth: int, active: set[int]) -> Any:
    """Check (and convert) notebook-built data to what a YAML file could hold.

    Numpy scalars become Python numbers; dates stay dates; containers that contain themselves
    or nest deeper than a YAML file may are refused, as is anything else.
    """
    where = format_path(path) or None
    if isinstance(value, Mapping | list | tuple):
        if depth > MAX_DEPTH:
            raise ScenarioError(f"nested too deeply (at most {MAX_DEPTH} levels)", file=file,
                                key=where)
        if id(value) in active:
            raise ScenarioError("contains itself", file=file, key=where)
        active.add(id(value))
        try:
            if isinstance(value, Mapping):
                out = {}
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise ScenarioError(f"keys must be text (got {_show(key)})", file=file,
                                            key=where)
                    out[key] = _plain(item, (*path, key), file, depth + 1, active)
                return out
            return [_plain(item, (*path, i), file, depth + 1, active)
                    for i, item in enumerate(value)]
        finally:
            active.discard(id(value))
    if isinstance(value, Distribution):
        return value.to_yaml()
    if isinstance(value, Move):
        return _dump_move(value)
    if _is_numpy_number(value):
        return value.item()  # np.float64, np.int64, np.bool_ from a notebook
    if value is None or isinstance(value, str | int | float | datetime.date):
        return value
    raise ScenarioError(f"unsupported value {_show(value)} ({type(value).__name__})", file=file,
                        key=where)


def _tree(origin: _Origin, chain: tuple[tuple[Path, str], ...], top: bool = True) -> _Tree:
    """Check one document and merge it over its parents (``extends``)."""
    _check_document(origin.doc)
    if top and "name" not in origin.doc.data:  # a child must not inherit its results folder
        raise ScenarioError(
            "missing required key 'name' (lower-case letters, digits and '-'; it names the"
            " results folder)",
            file=origin.doc.file, line=origin.doc.line_of(()), key="name",
        )
    if "extends" not in origin.doc.data:
        return _Tree.single(origin)
    extends = _as_written(origin.doc.data["extends"])
    if not isinstance(extends, str) or not extends.strip():
        raise _error_at(origin.doc, ("extends",), "must be the path of a parent scenario file")
    parent = _resolve(origin.folder / extends)
    label = os.path.normpath(os.path.join(origin.label_folder, extends))
    if parent is None or not _is_file(parent):
        raise _error_at(origin.doc, ("extends",), f"parent scenario not found: {label}")
    if parent in [p for p, _ in chain]:
        cycle = " -> ".join([lbl for _, lbl in chain] + [label])
        raise _error_at(origin.doc, ("extends",), f"extends cycle: {cycle}")
    if len(chain) > MAX_CHAIN:
        raise _error_at(origin.doc, ("extends",), f"more than {MAX_CHAIN} levels of extends")
    parent_doc = read_yaml(parent, label=label)
    parent_tree = _tree(_Origin(parent_doc, parent.parent, os.path.dirname(label)),
                        chain=(*chain, (parent, label)), top=False)
    return _merge(parent_tree, origin)


def _check_document(doc: Document) -> None:
    """Shape checks that need only one file: a mapping, known keys, finite numbers."""
    if not isinstance(doc.data, dict):
        problem = f"a scenario file must be a mapping of keys (got {_kind(doc.data)})"
        raise _error_at(doc, (), problem)
    for key in doc.data:
        if key not in TOP_KEYS:
            raise _error_at(doc, (key,), _unknown_key(key, TOP_KEYS))
    for path, value in _leaves(doc.data, ()):
        if isinstance(value, float) and not math.isfinite(value):
            raise _error_at(doc, path, f"must be a finite number (got {value})")
        if isinstance(value, str) and SURROGATE.search(value):
            raise _error_at(doc, path, "text with an unpaired surrogate, which is not a character")
        if isinstance(value, int) and abs(value) > _LARGEST:
            digits = math.floor(value.bit_length() * math.log10(2)) + 1
            raise _error_at(doc, path, f"number too large (about {digits} digits)")


def _leaves(value: Any, path: KeyPath):  # noqa: ANN202  (generator of (path, value))
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


# --- building the typed scenario -------------------------------------------------------------


def _build(tree: _Tree, path: Path | None, counterfactuals: tuple[Path, ...],
           load_cf: bool) -> Scenario:
    name = _name(tree)
    start, end = _period(tree)
    scenario = Scenario(
        name=name,
        title=_text(tree, "title", name),
        description=_text(tree, "description", ""),
        path=path,
        start=start,
        end=end,
        seeds=_integer(tree, ("seeds",), tree.data.get("seeds", DEFAULT_SEEDS), 1, MAX_SEEDS),
        seed=_integer(tree, ("seed",), tree.data.get("seed", 0), 0, MAX_SEED),
        counterfactual=_counterfactual(tree, (start, end), counterfactuals, load_cf),
        population=_population(tree),
        parameters=_parameters(tree),
        initial_policy=_initial_policy(tree),
        events=_events(tree, start, end),
        resolved={},
    )
    return dataclasses.replace(scenario, resolved=_canonical(scenario))


def _name(tree: _Tree) -> str:
    name = _as_written(tree.data.get("name"))
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME:
        raise tree.error(
            ("name",),
            f"must be lower-case letters, digits and '-', starting with a letter or digit, at most"
            f" {MAX_NAME} characters (got {_show(name)})",
        )
    return name


def _text(tree: _Tree, key: str, default: str) -> str:
    value = _as_written(tree.data.get(key))
    if value is None:
        return default
    if not isinstance(value, str):
        raise tree.error((key,), f"must be text (got {_show(value)}); put it in quotes")
    return value


def _integer(tree: _Tree, path: KeyPath, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        hint = ""
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
            hint = f"; write {int(value)}"
        raise tree.error(path, f"must be a whole number (got {_show(value)}){hint}")
    if not low <= value <= high:
        raise tree.error(path, f"must be between {low} and {high} (got {value})")
    return value


def _month(tree: _Tree, path: KeyPath, value: Any) -> int:
    if not isinstance(value, str | datetime.date):
        raise tree.error(path, f"must be a month written YYYY-MM (got {_show(value)})")
    try:
        return parse_month(value)
    except ValueError as exc:
        raise tree.error(path, str(exc)) from None


def _period(tree: _Tree) -> tuple[int, int]:
    period = tree.data.get("period")
    if period is None:
        raise tree.missing("period", "required: the months to simulate, {start: .., end: ..}")
    if not isinstance(period, dict):
        raise tree.error(("period",), "must be a mapping {start: YYYY-MM, end: YYYY-MM}")
    _known_keys(tree, ("period",), period, ("start", "end"))
    for key in ("start", "end"):
        if key not in period:
            raise tree.error(("period",), f"missing '{key}' (a month written YYYY-MM)")
    start = _month(tree, ("period", "start"), period["start"])
    end = _month(tree, ("period", "end"), period["end"])
    if end < start:
        raise tree.error(("period", "end"),
                         f"end {format_month(end)} is before start {format_month(start)}")
    if end - start + 1 > MAX_MONTHS:
        raise tree.error(("period", "end"),
                         f"period is {end - start + 1} months long; at most {MAX_MONTHS}")
    return start, end


def _section(tree: _Tree, key: str, empty: Any) -> Any:
    value = tree.data.get(key)
    return empty if value is None else value


def _known_keys(tree: _Tree, path: KeyPath, mapping: dict, known: tuple[str, ...]) -> None:
    for key in mapping:
        if key not in known:
            raise tree.error((*path, key), _unknown_key(key, known))


def _population(tree: _Tree) -> dict[str, int]:
    raw = _section(tree, "population", {})
    if not isinstance(raw, dict):
        raise tree.error(("population",), f"must be a mapping like {POPULATION_DEFAULTS}")
    _known_keys(tree, ("population",), raw, tuple(POPULATION_DEFAULTS))
    return {
        key: _integer(tree, ("population", key), raw.get(key, default), 1, POPULATION_LIMITS[key])
        for key, default in POPULATION_DEFAULTS.items()
    }


def _parameters(tree: _Tree) -> dict[str, float | Distribution]:
    raw = _section(tree, "parameters", {})
    if not isinstance(raw, dict):
        raise tree.error(("parameters",), "must be a mapping of dotted parameter names to values")
    out: dict[str, float | Distribution] = {}
    for name, value in raw.items():
        path = ("parameters", name)
        if name not in DEFAULTS:
            hint = _did_you_mean(name, DEFAULTS)
            raise tree.error(
                path, f"unknown parameter {_show(name)}{hint} (`chipsim list parameters`)"
            )
        out[name] = _parameter_value(tree, path, value)
        problem = DEFAULTS[name].problem(out[name])
        if problem is not None:
            raise tree.error(path, problem)
    shares = share_group_problem(out)
    if shares is not None:
        raise tree.error(("parameters", shares[0]), shares[1])
    return out


def _parameter_value(tree: _Tree, path: KeyPath, value: Any) -> float | Distribution:
    if isinstance(value, dict):
        try:
            return Distribution.parse(value)
        except ValueError as exc:
            raise tree.error(path, str(exc)) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise tree.error(
            path,
            f"must be a number or a distribution like {{uniform: [0.3, 0.8]}} (got {_show(value)})",
        )
    return float(value)


def _counterfactual(tree: _Tree, period: tuple[int, int], seen: tuple[Path, ...],
                    load: bool) -> str:
    value = _as_written(tree.data.get("counterfactual", NO_EVENTS))
    path = ("counterfactual",)
    if not isinstance(value, str) or not value.strip():
        raise tree.error(path, f"must be {NO_EVENTS!r} or the path of a scenario file")
    if value == NO_EVENTS:
        return NO_EVENTS
    origin, _ = tree.locate(path)
    target = _resolve(origin.folder / value)
    label = os.path.normpath(os.path.join(origin.label_folder, value))
    if target is None or not _is_file(target):
        raise tree.error(path, f"counterfactual scenario not found: {label}")
    if target in seen:
        raise tree.error(path, f"counterfactual cycle: {label} is this scenario or uses it as"
                               " its counterfactual")
    if len(seen) > MAX_CHAIN:
        raise tree.error(path, f"more than {MAX_CHAIN} levels of counterfactual files")
    if load:
        other = _load_file(target, label, counterfactuals=seen)
        if (other.start, other.end) != period:
            raise tree.error(path, _period_mismatch(other, None, period))
    return str(target)


def _period_mismatch(other: Scenario, scenario: Scenario | None,
                     period: tuple[int, int] | None = None) -> str:
    start, end = period if scenario is None else (scenario.start, scenario.end)
    return (
        f"counterfactual {other.name!r} covers"
        f" {format_month(other.start)}..{format_month(other.end)}"
        f" but this scenario covers {format_month(start)}..{format_month(end)}; they must match"
    )


def _initial_policy(tree: _Tree) -> tuple[Move, ...]:
    raw = _section(tree, "initial_policy", [])
    if not isinstance(raw, list):
        raise tree.error(("initial_policy",), "must be a list of moves like {move: NAME, ...}")
    moves = []
    for index, item in enumerate(raw):
        path = ("initial_policy", index)
        for key in _EVENT_KEYS:
            if isinstance(item, dict) and key in item:
                raise tree.error(
                    (*path, key),
                    f"initial_policy moves take no {key!r}: they are in force at period.start"
                    " (dated moves go under events; comments start with #)",
                )
        moves.append(_move(tree, path, item))
    return tuple(moves)


def _events(tree: _Tree, start: int, end: int) -> tuple[Event, ...]:
    raw = _section(tree, "events", [])
    if not isinstance(raw, list):
        raise tree.error(("events",), "must be a list of events like {date: YYYY-MM, move: NAME}")
    events = [_event(tree, ("events", index), item, start, end) for index, item in enumerate(raw)]
    seen: set[str] = set()
    for index, event in enumerate(events):
        if event.id is not None and event.id in seen:
            raise tree.error(("events", index, "id"), f"{event.id!r} names an earlier event too;"
                                                      " event ids must be unique")
        if event.id is not None:
            seen.add(event.id)
    return tuple(sorted(events, key=lambda event: event.date))


def _event(tree: _Tree, path: KeyPath, item: Any, start: int, end: int) -> Event:
    if not isinstance(item, dict):
        raise tree.error(path, f"an event is a mapping {{date: YYYY-MM, move: NAME, ...}} (got"
                               f" {_kind(item)})")
    if "date" not in item:
        raise tree.error(path, "missing 'date' (the month the move takes effect, YYYY-MM)")
    date = _month(tree, (*path, "date"), item["date"])
    if not start <= date <= end:
        raise tree.error((*path, "date"), f"{format_month(date)} is outside the period"
                                          f" {format_month(start)}..{format_month(end)}")
    announced = date
    if item.get("announced") is not None:
        announced = _month(tree, (*path, "announced"), item["announced"])
        if announced > date:
            raise tree.error((*path, "announced"), f"{format_month(announced)} is after the date"
                                                   f" {format_month(date)}")
    note = _as_written(item.get("note"))
    if note is not None and not isinstance(note, str):
        raise tree.error((*path, "note"), f"must be text (got {_show(note)}); put it in quotes")
    event_id = _event_id(tree, (*path, "id"), item.get("id")) if "id" in item else None
    move = _move(tree, path, {k: v for k, v in item.items() if k not in _EVENT_KEYS})
    return Event(date=date, announced=announced, move=move, note=note or "", id=event_id)


def _event_id(tree: _Tree, path: KeyPath, value: Any) -> str:
    """An event's id: a name like a scenario's (``[a-z0-9-]+``, at most 64 characters)."""
    value = _as_written(value)
    if not isinstance(value, str) or not _NAME.match(value) or len(value) > MAX_NAME:
        raise tree.error(path, f"must be a short name of lowercase letters, digits and '-'"
                               f" (got {_show(value)})")
    return value


# --- moves -----------------------------------------------------------------------------------


def _move(tree: _Tree, path: KeyPath, item: Any) -> Move:
    """Construct a move from ``{move: NAME, **parameters}``; pydantic checks the parameters."""
    if not isinstance(item, dict):
        raise tree.error(path, f"a move is a mapping {{move: NAME, ...}} (got {_kind(item)})")
    if "move" not in item:
        raise tree.error(path, "missing 'move' (the name of a policy move; `chipsim list moves`)")
    name = item["move"]
    if not isinstance(name, str) or name not in MOVES:
        hint = _did_you_mean(name, MOVES) if isinstance(name, str) else ""
        known = "" if hint else f"; known moves: {', '.join(MOVES)}"
        raise tree.error((*path, "move"), f"unknown move {_show(name)}{hint}{known}")
    cls = MOVES[name]
    params = {key: value for key, value in item.items() if key != "move"}
    try:
        return cls.model_validate_json(json.dumps(params, default=str), strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # a misspelt parameter also shows up as a missing one: report the misspelling
        detail = min(errors, key=lambda err: err["type"] != "extra_forbidden")
        where = (*path, *detail["loc"])
        raise tree.error(where, _problem(cls, detail)) from None


def _problem(cls: type[Move], detail: Mapping[str, Any]) -> str:
    """Put a pydantic error in the words of a scenario author."""
    kind, message, got = detail["type"], str(detail["msg"]), detail.get("input")
    fields = list(cls.model_fields)
    if kind == "missing":
        meaning = cls.parameters().get(str(detail["loc"][-1]), "")
        return f"missing, required by {cls.name}" + (f" ({meaning})" if meaning else "")
    if kind == "extra_forbidden":
        key = str(detail["loc"][-1])
        hint = _did_you_mean(key, fields)
        return f"unknown parameter of {cls.name}{hint} (its parameters: {', '.join(fields)})"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    plain = {
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "int_parsing": "must be a whole number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "string_type": "must be text",
        "tuple_type": "must be a list",
        "list_type": "must be a list",
        "finite_number": "must be a finite number",
    }.get(kind)
    text = plain or message.replace("Input should be", "must be")
    return f"{text} (got {_show(got)})" if "(got " not in text else text


# --- the canonical document ------------------------------------------------------------------


def _canonical(s: Scenario) -> dict[str, Any]:
    """Build the resolved scenario as JSON-ready data (months YYYY-MM, moves as dumps)."""
    return {
        "name": s.name,
        "title": s.title,
        "description": s.description,
        "period": {"start": format_month(s.start), "end": format_month(s.end)},
        "seeds": s.seeds,
        "seed": s.seed,
        "counterfactual": _relative(s.counterfactual, s.path),
        "population": dict(s.population),
        "parameters": {
            key: value.to_yaml() if isinstance(value, Distribution) else float(value)
            for key, value in sorted(s.parameters.items())
        },
        "initial_policy": [_dump_move(move) for move in s.initial_policy],
        "events": [
            {
                "date": format_month(e.date),
                "announced": format_month(e.announced),
                **_dump_move(e.move),
                "note": e.note,
                **({"id": e.id} if e.id is not None else {}),
            }
            for e in s.events
        ],
    }


def _dump_move(move: Move) -> dict[str, Any]:
    return {"move": move.name, **move.model_dump(mode="json")}


def _relative(counterfactual: str, path: Path | None) -> str:
    """Make a counterfactual path relative to the scenario's folder (hashes travel)."""
    if counterfactual == NO_EVENTS:
        return NO_EVENTS
    folder = path.resolve().parent if path is not None else Path.cwd()
    return Path(os.path.relpath(counterfactual, folder)).as_posix()


# --- small helpers ---------------------------------------------------------------------------


def _unknown_key(key: str, known: tuple[str, ...]) -> str:
    hint = _did_you_mean(key, known) or f"; known keys: {', '.join(known)}"
    return f"unknown key {_show(key)}{hint}"


def _did_you_mean(word: str, options: Any) -> str:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return _show(value)


def _show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, shortened: error messages echo what the user wrote, not all of it."""
    if isinstance(value, ExponentFloat):
        return value.text
    if isinstance(value, list):
        return f"a list of {len(value)}" if len(value) > 5 else _cut(repr(value), limit)
    if isinstance(value, dict):
        return f"a mapping of {len(value)} keys" if len(value) > 5 else _cut(repr(value), limit)
    return _cut(repr(value), limit)


def _is_numpy_number(value: Any) -> bool:
    """A numpy scalar holding a bool, int or float (numpy is not imported to find out)."""
    if type(value).__module__ != "numpy" or not hasattr(value, "item"):
        return False
    try:
        return isinstance(value.item(), bool | int | float)
    except Exception:  # noqa: BLE001  (whatever numpy raises: not a number we take)
        return False


def _as_written(value: Any) -> Any:
    """Text fields: ``title: 1e5`` is the text "1e5", not the number (see ExponentFloat)."""
    return value.text if isinstance(value, ExponentFloat) else value


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _resolve(path: Path) -> Path | None:
    """The absolute path, or None if it cannot be one (a NUL byte, a name too long)."""
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError):
        return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
