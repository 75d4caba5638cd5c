"""Policy levers: the event fields a scenario file marks as choices to explore.

A scenario's events are what happens; its ``levers:`` section says which numbers in them are a
policy maker's choice, and over what range, for exploratory studies (``chipsim explore``,
:func:`sim.analysis.ema.ema_model`)::

    events:
      - {id: crackdown, date: 2026-03, move: us.enforcement, intensity: 2.0}
    levers:
      - {event: crackdown, field: intensity, range: [1.0, 4.0]}

A lever names an event by its ``id``, one numeric parameter of that event's move, and a range
``[low, high]`` inside the values the move allows (checked by the move itself, so the message
is the move's own: ``must be between 0 and 1``). Whole-number parameters (``delay_months``) take
whole-number ranges. A lever is called ``<event>.<field>``. A plain ``chipsim run`` ignores the
levers: the event keeps the value the file gives it.

A file that ``extends`` another inherits its levers unless it has a ``levers:`` section of its
own, which replaces them.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sim.moves import Move
from sim.scenario.document import Tree
from sim.scenario.events import Event, move_problem
from sim.scenario.sections import check_known_keys, raw_section
from sim.scenario.wording import as_written, did_you_mean, kind_of, show

#: Keys of one lever.
LEVER_KEYS = ("event", "field", "range")


@dataclass(frozen=True)
class Lever:
    """A numeric parameter of one event's move, and the range a study may set it to.

    Attributes:
        event: The event's ``id``.
        field: The move parameter, e.g. ``intensity``.
        low: Lowest value explored.
        high: Highest value explored.
        integer: Whether the parameter takes whole numbers only.

    """

    event: str
    field: str
    low: float
    high: float
    integer: bool = False

    @property
    def name(self) -> str:
        """``<event>.<field>``: the lever's name in tables and EMA Workbench."""
        return f"{self.event}.{self.field}"

    def as_written(self) -> dict[str, Any]:
        """The lever as a scenario file writes it (JSON-ready)."""
        bounds = [int(self.low), int(self.high)] if self.integer else [self.low, self.high]
        return {"event": self.event, "field": self.field, "range": bounds}


def numeric_fields(cls: type[Move]) -> dict[str, bool]:
    """A move's number parameters: name -> whether it takes whole numbers only."""
    out = {}
    for name, info in cls.model_fields.items():
        kinds = _base_types(info.annotation)
        if kinds and all(k in (int, float) for k in kinds):
            out[name] = kinds == {int}
    return out


def _base_types(annotation: Any) -> set[type]:
    """The types a field holds, without ``None``, ``Annotated`` or unions (``bool`` is not one)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_base_types(a) for a in typing.get_args(annotation)
                             if a is not type(None)))
    if annotation in (int, float):
        return {annotation}
    return {object}


def set_field(move: Move, field: str, value: float) -> Move:
    """Return ``move`` with one parameter changed, checked by the move's own rules.

    Raises:
        ValueError: the value is not allowed; the message is in a scenario author's words.

    """
    params = {**move.model_dump(mode="json"), field: value}
    try:
        return type(move).model_validate_json(json.dumps(params), strict=True)
    except ValidationError as exc:
        detail = exc.errors(include_url=False)[0]
        raise ValueError(move_problem(type(move), detail)) from None


# --- reading the section ---------------------------------------------------------------------


def read_levers(tree: Tree, events: Sequence[Event]) -> tuple[Lever, ...]:
    """The ``levers:`` section, each lever checked against the scenario's events."""
    raw = raw_section(tree, "levers", [])
    if not isinstance(raw, list):
        raise tree.error(("levers",), "must be a list of levers like {event: ID, field: NAME,"
                                      " range: [LOW, HIGH]}")
    by_id = {e.id: e for e in events if e.id is not None}
    levers: list[Lever] = []
    for index, item in enumerate(raw):
        lever = _lever(tree, ("levers", index), item, by_id)
        if any(other.name == lever.name for other in levers):
            raise tree.error(("levers", index), f"{lever.name} is a lever already (each event"
                                                " field may be a lever once)")
        levers.append(lever)
    return tuple(levers)


def _lever(tree: Tree, path: tuple, item: Any, by_id: Mapping[str, Event]) -> Lever:
    if not isinstance(item, dict):
        raise tree.error(path, f"a lever is a mapping {{event: ID, field: NAME, range: [LOW,"
                               f" HIGH]}} (got {kind_of(item)})")
    check_known_keys(tree, path, item, LEVER_KEYS)
    for key in LEVER_KEYS:
        if key not in item:
            raise tree.error(path, f"missing '{key}' (a lever is {{event: ID, field: NAME,"
                                   " range: [LOW, HIGH]})")
    event = _event(tree, (*path, "event"), as_written(item["event"]), by_id)
    field = as_written(item["field"])
    fields = numeric_fields(type(event.move))
    if not isinstance(field, str) or field not in fields:
        raise tree.error((*path, "field"), _field_problem(field, event.move, fields))
    low, high = _range(tree, (*path, "range"), item["range"], event.move, field, fields[field])
    return Lever(event.id or "", field, low, high, fields[field])


def _event(tree: Tree, path: tuple, value: Any, by_id: Mapping[str, Event]) -> Event:
    if isinstance(value, str) and value in by_id:
        return by_id[value]
    if not by_id:
        raise tree.error(path, f"no event has id {show(value)}: give the event a lever varies"
                               " an `id: NAME`")
    hint = did_you_mean(value, by_id) if isinstance(value, str) else ""
    known = "" if hint else f"; event ids: {', '.join(by_id)}"
    raise tree.error(path, f"no event has id {show(value)}{hint}{known}")


def _field_problem(field: Any, move: Move, fields: Mapping[str, bool]) -> str:
    numbers = ", ".join(fields) or "none"
    if isinstance(field, str) and field in type(move).model_fields:
        return (f"{field} of {move.name} is not a number, so it cannot be a lever (its number"
                f" parameters: {numbers})")
    hint = did_you_mean(field, fields) if isinstance(field, str) else ""
    return f"{show(field)} is not a number parameter of {move.name}{hint} (those are: {numbers})"


def _range(tree: Tree, path: tuple, value: Any, move: Move, field: str,
           integer: bool) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(_is_number(v) for v in value)):
        raise tree.error(path, f"must be two numbers [LOW, HIGH] (got {show(value)})")
    low, high = (float(v) for v in value)
    if integer and not (low.is_integer() and high.is_integer()):
        raise tree.error(path, f"{field} takes whole numbers, so must its range (got"
                               f" {show(value)})")
    if not low < high:
        raise tree.error(path, f"LOW must be below HIGH (got {show(value)})")
    for end, bound in enumerate((low, high)):
        try:
            set_field(move, field, int(bound) if integer else bound)
        except ValueError as exc:
            raise tree.error((*path, end), f"{field} of {move.name}: {exc}") from None
    return low, high


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))
