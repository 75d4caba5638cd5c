"""Policy in a scenario: the moves in force at the start, and the dated events that change them.

An :class:`Event` is a policy move (:mod:`sim.moves`) dated to the month it takes effect, with
the month agents learn of it, a note and an optional id. This module reads the two policy
sections of a scenario, ``initial_policy`` and ``events``, and the move each item names: the
move's own pydantic model checks its parameters, and its errors are put in the words of a
scenario author (``missing, required by us.licence (...)``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sim.moves import MOVES, Move
from sim.scenario.document import Tree
from sim.scenario.sections import MAX_NAME, NAME_PATTERN, raw_section, read_month
from sim.scenario.wording import as_written, did_you_mean, kind_of, show
from sim.scenario.yamlsafe import KeyPath
from sim.world.months import format_month

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


# --- the policy sections ---------------------------------------------------------------------


def read_initial_policy(tree: Tree) -> tuple[Move, ...]:
    """The moves in force at ``period.start``: undated, so they take no event keys."""
    raw = raw_section(tree, "initial_policy", [])
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
        moves.append(read_move(tree, path, item))
    return tuple(moves)


def read_events(tree: Tree, start: int, end: int) -> tuple[Event, ...]:
    """The dated moves, each inside the period, sorted by date (same-month order kept)."""
    raw = raw_section(tree, "events", [])
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
    _check_suspensions(tree, events, seen)
    return tuple(sorted(events, key=lambda event: event.date))


def _check_suspensions(tree: Tree, events: list[Event], ids: set[str]) -> None:
    """Every name a truce suspends is a move name or the id of an event of the scenario."""
    for index, event in enumerate(events):
        for name in getattr(event.move, "suspends", ()):
            if name not in MOVES and name not in ids:
                known = sorted(ids) or ["(no event has an id)"]
                raise tree.error(("events", index, "suspends"),
                                 f"{name!r} is neither a move name nor an event id of this"
                                 f" scenario{did_you_mean(name, [*ids, *MOVES])}; event ids:"
                                 f" {', '.join(known)}")


def _event(tree: Tree, path: KeyPath, item: Any, start: int, end: int) -> Event:
    if not isinstance(item, dict):
        raise tree.error(path, f"an event is a mapping {{date: YYYY-MM, move: NAME, ...}} (got"
                               f" {kind_of(item)})")
    if "date" not in item:
        raise tree.error(path, "missing 'date' (the month the move takes effect, YYYY-MM)")
    date = read_month(tree, (*path, "date"), item["date"])
    if not start <= date <= end:
        raise tree.error((*path, "date"), f"{format_month(date)} is outside the period"
                                          f" {format_month(start)}..{format_month(end)}")
    announced = date
    if item.get("announced") is not None:
        announced = read_month(tree, (*path, "announced"), item["announced"])
        if announced > date:
            raise tree.error((*path, "announced"), f"{format_month(announced)} is after the date"
                                                   f" {format_month(date)}")
    note = as_written(item.get("note"))
    if note is not None and not isinstance(note, str):
        raise tree.error((*path, "note"), f"must be text (got {show(note)}); put it in quotes")
    event_id = _event_id(tree, (*path, "id"), item.get("id")) if "id" in item else None
    move = read_move(tree, path, {k: v for k, v in item.items() if k not in _EVENT_KEYS})
    return Event(date=date, announced=announced, move=move, note=note or "", id=event_id)


def _event_id(tree: Tree, path: KeyPath, value: Any) -> str:
    """An event's id: a name like a scenario's (``[a-z0-9-]+``, at most 64 characters)."""
    value = as_written(value)
    if not isinstance(value, str) or not NAME_PATTERN.match(value) or len(value) > MAX_NAME:
        raise tree.error(path, f"must be a short name of lowercase letters, digits and '-'"
                               f" (got {show(value)})")
    return value


# --- moves -----------------------------------------------------------------------------------


def read_move(tree: Tree, path: KeyPath, item: Any) -> Move:
    """Construct a move from ``{move: NAME, **parameters}``; pydantic checks the parameters."""
    if not isinstance(item, dict):
        raise tree.error(path, f"a move is a mapping {{move: NAME, ...}} (got {kind_of(item)})")
    if "move" not in item:
        raise tree.error(path, "missing 'move' (the name of a policy move; `chipsim list moves`)")
    name = item["move"]
    if not isinstance(name, str) or name not in MOVES:
        hint = did_you_mean(name, MOVES) if isinstance(name, str) else ""
        known = "" if hint else f"; known moves: {', '.join(MOVES)}"
        raise tree.error((*path, "move"), f"unknown move {show(name)}{hint}{known}")
    cls = MOVES[name]
    params = {key: value for key, value in item.items() if key != "move"}
    try:
        return cls.model_validate_json(json.dumps(params, default=str), strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # a misspelt parameter also shows up as a missing one: report the misspelling
        detail = min(errors, key=lambda err: err["type"] != "extra_forbidden")
        where = (*path, *detail["loc"])
        raise tree.error(where, move_problem(cls, detail)) from None


def move_problem(cls: type[Move], detail: Mapping[str, Any]) -> str:
    """Put a pydantic error (one of ``ValidationError.errors()``) in a scenario author's words."""
    kind, message, got = detail["type"], str(detail["msg"]), detail.get("input")
    fields = list(cls.model_fields)
    if kind == "missing":
        meaning = cls.parameters().get(str(detail["loc"][-1]), "")
        return f"missing, required by {cls.name}" + (f" ({meaning})" if meaning else "")
    if kind == "extra_forbidden":
        key = str(detail["loc"][-1])
        hint = did_you_mean(key, fields)
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
    return f"{text} (got {show(got)})" if "(got " not in text else text

