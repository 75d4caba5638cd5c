"""The scenario: one experiment, read from a YAML file and fully checked before the model runs.

A scenario is a period of months, the Monte Carlo set-up (number of seeds, root seed), population
sizes, parameter overrides, the rules in force at the start (``initial_policy``), dated policy
``events`` (:class:`~sim.scenario.events.Event`) and the event fields a study may vary
(``levers``, :mod:`sim.scenario.levers`). A file may ``extends`` a parent file
(:mod:`sim.scenario.document`), and name the ``counterfactual`` its revenue loss is measured
against.

Loading checks everything - unknown keys, types, dates, every move's parameters - and reports the
first problem as one line ``file:line: key.path: problem``
(a :class:`~sim.scenario.errors.ScenarioError`), so a bad file never reaches the model. Each
section is checked in :mod:`sim.scenario.sections` or :mod:`sim.scenario.events`; this module
puts the checked sections together into a :class:`Scenario`. :attr:`Scenario.resolved` is the
canonical, JSON-ready form after inheritance; its hash identifies the experiment in results
manifests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.moves import Move
from sim.scenario.document import (
    MAX_CHAIN,
    TOP_KEYS,
    Origin,
    Tree,
    absolute_path,
    file_exists,
    follow_extends,
    move_as_written,
    plain_data,
)
from sim.scenario.errors import ScenarioError
from sim.scenario.events import Event, read_events, read_initial_policy
from sim.scenario.levers import Lever, read_levers, set_field
from sim.scenario.sections import (
    MAX_MONTHS,
    MAX_NAME,
    POPULATION_DEFAULTS,
    POPULATION_LIMITS,
    read_integer,
    read_name,
    read_parameters,
    read_period,
    read_population,
    read_text,
)
from sim.scenario.wording import as_written, kind_of
from sim.scenario.yamlsafe import Document, read_yaml
from sim.world.months import format_month
from sim.world.parameters import Distribution, Posterior

__all__ = [
    "DEFAULT_SEEDS", "MAX_CHAIN", "MAX_MONTHS", "MAX_NAME", "MAX_SEED", "MAX_SEEDS", "NO_EVENTS",
    "POPULATION_DEFAULTS", "POPULATION_LIMITS", "TOP_KEYS", "Event", "Lever", "Scenario",
    "load_counterfactual", "load_scenario", "scenario_from_dict",
]

#: The default counterfactual: the same scenario with its events removed.
NO_EVENTS = "no-events"
DEFAULT_SEEDS = 20
MAX_SEEDS = 100_000
MAX_SEED = 2**63 - 1


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
        parameters: overrides of :data:`sim.world.parameters.DEFAULTS` (numbers or distributions),
            and under ``from`` a :class:`~sim.world.parameters.Posterior` to draw values from.
        initial_policy: moves in force at ``start``.
        events: dated moves, sorted by date (stable).
        resolved: the canonical, JSON-serialisable document after ``extends``.
        levers: event fields a study may vary (:mod:`sim.scenario.levers`); a run ignores them.

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
    parameters: dict[str, float | Distribution | Posterior]
    initial_policy: tuple[Move, ...]
    events: tuple[Event, ...]
    resolved: dict
    levers: tuple[Lever, ...] = ()

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
            levers=(),
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

    def set_levers(self, values: Mapping[str, float]) -> Scenario:
        """Return a copy with some levers set: each named event field takes the value given.

        Example: ``scenario.set_levers({"crackdown.intensity": 3.0})``. The levers stay
        declared, so the copy can be set again.

        Args:
            values: lever name (``<event>.<field>``) -> value, within the lever's range.

        Raises:
            ScenarioError: an unknown lever, or a value outside its range.

        """
        label = str(self.path) if self.path is not None else "<scenario>"
        levers = {lever.name: lever for lever in self.levers}
        changes: dict[str, dict[str, float]] = {}
        for name, value in values.items():
            lever = levers.get(name)
            if lever is None:
                known = ", ".join(levers) or "none"
                raise ScenarioError(f"unknown lever {name!r} (levers: {known})", file=label,
                                    key="levers")
            if not lever.low <= value <= lever.high:
                raise ScenarioError(f"{value:g} is outside the lever's range"
                                    f" [{lever.low:g}, {lever.high:g}]", file=label,
                                    key=f"levers {name}")
            changes.setdefault(lever.event, {})[lever.field] = (
                round(value) if lever.integer else float(value))
        if not changes:
            return self
        events = []
        for event in self.events:
            move = event.move
            for field, value in changes.get(event.id or "", {}).items():
                try:
                    move = set_field(move, field, value)
                except ValueError as exc:  # the range was checked on load: not expected
                    raise ScenarioError(str(exc), file=label,
                                        key=f"levers {event.id}.{field}") from None
            events.append(dataclasses.replace(event, move=move))
        return self.replace(events=tuple(events))


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


# --- reading files ---------------------------------------------------------------------------


def _load_file(path: Path, label: str, counterfactuals: tuple[Path, ...]) -> Scenario:
    doc = read_yaml(path, label=label)
    absolute = absolute_path(path)
    if absolute is None:
        raise ScenarioError("not a usable file path", file=label)
    origin = Origin(doc, absolute.parent, os.path.dirname(label))
    tree = follow_extends(origin, chain=((absolute, label),))
    return _build(tree, path, counterfactuals=(*counterfactuals, absolute), load_cf=True)


def _from_dict(doc: Mapping[str, Any], file: str, *, load_counterfactual: bool) -> Scenario:
    if not isinstance(doc, Mapping):
        raise ScenarioError(f"a scenario must be a mapping of keys (got {kind_of(doc)})",
                            file=file)
    data = plain_data(doc, (), file, depth=0, active=set())
    is_file = not file.startswith("<")
    absolute = absolute_path(Path(file)) if is_file else None
    if is_file and absolute is None:
        raise ScenarioError("not a usable file path", file=file)
    folder = absolute.parent if absolute is not None else Path.cwd()
    origin = Origin(Document(data=data, lines={}, file=file), folder,
                    os.path.dirname(file) if is_file else "")
    chain = ((absolute, file),) if absolute is not None else ()
    tree = follow_extends(origin, chain=chain)
    counterfactuals = (absolute,) if absolute is not None else ()
    return _build(tree, Path(file) if is_file else None, counterfactuals=counterfactuals,
                  load_cf=load_counterfactual)


# --- building the typed scenario -------------------------------------------------------------


def _build(tree: Tree, path: Path | None, counterfactuals: tuple[Path, ...],
           load_cf: bool) -> Scenario:
    name = read_name(tree)
    start, end = read_period(tree)
    scenario = Scenario(
        name=name,
        title=read_text(tree, "title", name),
        description=read_text(tree, "description", ""),
        path=path,
        start=start,
        end=end,
        seeds=read_integer(tree, ("seeds",), tree.data.get("seeds", DEFAULT_SEEDS), 1, MAX_SEEDS),
        seed=read_integer(tree, ("seed",), tree.data.get("seed", 0), 0, MAX_SEED),
        counterfactual=_counterfactual(tree, (start, end), counterfactuals, load_cf),
        population=read_population(tree),
        parameters=read_parameters(tree),
        initial_policy=read_initial_policy(tree),
        events=read_events(tree, start, end),
        resolved={},
    )
    scenario = dataclasses.replace(scenario, levers=read_levers(tree, scenario.events))
    return dataclasses.replace(scenario, resolved=_canonical(scenario))


# --- the counterfactual ----------------------------------------------------------------------


def _counterfactual(tree: Tree, period: tuple[int, int], seen: tuple[Path, ...],
                    load: bool) -> str:
    value = as_written(tree.data.get("counterfactual", NO_EVENTS))
    path = ("counterfactual",)
    if not isinstance(value, str) or not value.strip():
        raise tree.error(path, f"must be {NO_EVENTS!r} or the path of a scenario file")
    if value == NO_EVENTS:
        return NO_EVENTS
    origin, _ = tree.locate(path)
    target = absolute_path(origin.folder / value)
    label = os.path.normpath(os.path.join(origin.label_folder, value))
    if target is None or not file_exists(target):
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
            key: value.to_yaml() if isinstance(value, Distribution | Posterior) else float(value)
            for key, value in sorted(s.parameters.items())
        },
        "initial_policy": [move_as_written(move) for move in s.initial_policy],
        "events": [
            {
                "date": format_month(e.date),
                "announced": format_month(e.announced),
                **move_as_written(e.move),
                "note": e.note,
                **({"id": e.id} if e.id is not None else {}),
            }
            for e in s.events
        ],
        **({"levers": [lever.as_written() for lever in s.levers]} if s.levers else {}),
    }


def _relative(counterfactual: str, path: Path | None) -> str:
    """Make a counterfactual path relative to the scenario's folder (hashes travel)."""
    if counterfactual == NO_EVENTS:
        return NO_EVENTS
    folder = path.resolve().parent if path is not None else Path.cwd()
    return Path(os.path.relpath(counterfactual, folder)).as_posix()

