"""The scenario document: a file's data merged over the files it ``extends``, with its origins.

A scenario file may ``extends`` a parent file: its keys override the parent's, ``parameters``
and ``population`` merge key by key and ``events`` are appended to the parent's. The merged data
is a :class:`Tree` that remembers, for each part, the file it came from (an :class:`Origin`), so
that a problem found later in an inherited value is still reported at its own file and line.

Each file is first checked on its own for what needs no other file: it is a mapping, its keys
are known (:data:`TOP_KEYS`), its numbers are finite and its text is text. A scenario built in a
notebook from a dict goes through :func:`plain_data` first, which turns it into what a YAML file
could hold.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.moves import Move
from sim.scenario.errors import ScenarioError
from sim.scenario.wording import as_written, kind_of, show, unknown_key
from sim.scenario.yamlsafe import (
    MAX_DEPTH,
    SURROGATE,
    Document,
    KeyPath,
    format_path,
    read_yaml,
)
from sim.world.parameters import Distribution

#: Keys a scenario file may have.
TOP_KEYS = (
    "name", "title", "description", "extends", "period", "seeds", "seed", "counterfactual",
    "population", "parameters", "initial_policy", "events", "drop_events", "levers",
)
#: Longest chain of ``extends`` (or of counterfactual files) followed.
MAX_CHAIN = 20
#: Largest magnitude of a whole number in a scenario (beyond it, it is no longer a float).
_LARGEST = int(sys.float_info.max)
#: Sections that are lists or mappings; left empty (``events:``) they mean "none".
_SECTIONS = ("population", "parameters", "initial_policy", "events", "levers")


@dataclass(frozen=True)
class Origin:
    """A part of the merged scenario: which document, where in it, and its folder.

    Attributes:
        doc: The file (or notebook dict) the part was written in.
        folder: Its folder: relative paths in it (``extends``, ``counterfactual``) start here.
        label_folder: The same folder as the user named it, for messages.
        prefix: Where the part sits in ``doc``: ``("events", 0)`` of a parent's first event.

    """

    doc: Document
    folder: Path
    label_folder: str
    prefix: KeyPath = ()


class Tree:
    """The merged scenario data (after ``extends``) and where each part of it came from."""

    def __init__(self, data: dict[str, Any], origins: dict[KeyPath, Origin], top: Origin):
        self.data = data
        self.origins = origins
        self.top = top

    @classmethod
    def single(cls, origin: Origin) -> Tree:
        """The tree of a file that extends nothing: every part comes from it."""
        return cls(dict(origin.doc.data), {(): origin}, origin)

    def locate(self, path: KeyPath) -> tuple[Origin, KeyPath]:
        """The document a key path of the merged data was written in, and the path there."""
        for n in range(len(path), -1, -1):
            origin = self.origins.get(path[:n])
            if origin is not None:
                return origin, origin.prefix + path[n:]
        return self.top, path

    def error(self, path: KeyPath, problem: str) -> ScenarioError:
        """The error of a value, at the file and line where it was written."""
        origin, doc_path = self.locate(path)
        return error_at(origin.doc, doc_path, problem)

    def missing(self, key: str, problem: str) -> ScenarioError:
        """The error of a required key that no file in the chain has, at the top file."""
        return ScenarioError(problem, file=self.top.doc.file, line=self.top.doc.line_of(()),
                             key=key)


def error_at(doc: Document, path: KeyPath, problem: str) -> ScenarioError:
    """The error of the value at ``path`` in one document: its file, line and key path."""
    return ScenarioError(problem, file=doc.file, line=doc.line_of(path),
                         key=format_path(path) or None)


# --- following extends -----------------------------------------------------------------------


def follow_extends(origin: Origin, chain: tuple[tuple[Path, str], ...], top: bool = True) -> Tree:
    """Check one document and merge it over its parents (``extends``).

    Args:
        origin: The document.
        chain: The files already followed, ``(absolute path, label)``, to find cycles.
        top: Whether this is the file the user named (a parent need not have a ``name``).

    Raises:
        ScenarioError: a document is malformed, a parent is missing, or the chain is a cycle
            or too long.

    """
    _check_document(origin.doc)
    if top and "name" not in origin.doc.data:  # a child must not inherit its results folder
        raise ScenarioError(
            "missing required key 'name' (lower-case letters, digits and '-'; it names the"
            " results folder)",
            file=origin.doc.file, line=origin.doc.line_of(()), key="name",
        )
    if "extends" not in origin.doc.data:
        if "drop_events" in origin.doc.data:
            raise error_at(origin.doc, ("drop_events",), "leaves out events of a parent: it"
                           " needs extends")
        return Tree.single(origin)
    extends = as_written(origin.doc.data["extends"])
    if not isinstance(extends, str) or not extends.strip():
        raise error_at(origin.doc, ("extends",), "must be the path of a parent scenario file")
    parent = absolute_path(origin.folder / extends)
    label = os.path.normpath(os.path.join(origin.label_folder, extends))
    if parent is None or not file_exists(parent):
        raise error_at(origin.doc, ("extends",), f"parent scenario not found: {label}")
    if parent in [p for p, _ in chain]:
        cycle = " -> ".join([lbl for _, lbl in chain] + [label])
        raise error_at(origin.doc, ("extends",), f"extends cycle: {cycle}")
    if len(chain) > MAX_CHAIN:
        raise error_at(origin.doc, ("extends",), f"more than {MAX_CHAIN} levels of extends")
    parent_doc = read_yaml(parent, label=label)
    parent_tree = follow_extends(Origin(parent_doc, parent.parent, os.path.dirname(label)),
                                 chain=(*chain, (parent, label)), top=False)
    return _merge(parent_tree, origin)


def _check_document(doc: Document) -> None:
    """Shape checks that need only one file: a mapping, known keys, finite numbers."""
    if not isinstance(doc.data, dict):
        problem = f"a scenario file must be a mapping of keys (got {kind_of(doc.data)})"
        raise error_at(doc, (), problem)
    for key in doc.data:
        if key not in TOP_KEYS:
            raise error_at(doc, (key,), unknown_key(key, TOP_KEYS))
    for path, value in _leaves(doc.data, ()):
        if isinstance(value, float) and not math.isfinite(value):
            raise error_at(doc, path, f"must be a finite number (got {value})")
        if isinstance(value, str) and SURROGATE.search(value):
            raise error_at(doc, path, "text with an unpaired surrogate, which is not a character")
        if isinstance(value, int) and abs(value) > _LARGEST:
            digits = math.floor(value.bit_length() * math.log10(2)) + 1
            raise error_at(doc, path, f"number too large (about {digits} digits)")


def _leaves(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _merge(parent: Tree, child: Origin) -> Tree:
    """Child keys override (levers too); parameters and population merge by key; events by id.

    A child's event with the id of a parent's event replaces it where it stands; other events
    are appended; ``drop_events`` leaves out the parent's events with the ids it names. A what-if
    is then the record plus what it changes, not a copy of the record.
    """
    data = dict(parent.data)
    origins = dict(parent.origins)
    drop = child.doc.data.get("drop_events")
    if drop is not None:
        data["events"] = _drop_events(data.get("events"), drop, origins, child)
    for key, value in child.doc.data.items():
        if key in ("extends", "drop_events") or (value is None and key in _SECTIONS):
            continue
        old = data.get(key)
        if key == "events" and isinstance(old, list) and isinstance(value, list):
            data[key] = _merge_events(old, value, origins, child)
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
    return Tree(data, origins, child)


def _event_ids(events: list[Any]) -> dict[str, int]:
    """Parent event id -> its place in the events list."""
    return {e["id"]: i for i, e in enumerate(events)
            if isinstance(e, dict) and isinstance(e.get("id"), str)}


def _merge_events(old: list[Any], new: list[Any], origins: dict[KeyPath, Origin],
                  child: Origin) -> list[Any]:
    """The parent's events with the child's merged in: same id replaces, others append."""
    merged = list(old)
    where = _event_ids(old)
    for j, event in enumerate(new):
        event_id = event.get("id") if isinstance(event, dict) else None
        i = where.get(event_id) if isinstance(event_id, str) else None
        if i is None:
            i = len(merged)
            merged.append(event)
        else:
            merged[i] = event
            _forget(origins, ("events", i))
        origins[("events", i)] = dataclasses.replace(child, prefix=("events", j))
    return merged


def _drop_events(events: Any, drop: Any, origins: dict[KeyPath, Origin],
                 child: Origin) -> list[Any]:
    """The parent's events without those whose ids ``drop`` names (origins renumbered)."""
    events = events if isinstance(events, list) else []
    if not isinstance(drop, list):
        raise error_at(child.doc, ("drop_events",), "must be a list of event ids")
    where = _event_ids(events)
    for k, event_id in enumerate(drop):
        if not isinstance(event_id, str) or event_id not in where:
            known = ", ".join(sorted(where)) or "(no event of the parent has an id)"
            raise error_at(child.doc, ("drop_events", k),
                           f"{show(event_id)} is not the id of an event of the parent; ids:"
                           f" {known}")
    kept = [i for i in range(len(events)) if i not in {where[e] for e in drop}]
    moved = {}
    for new_index, old_index in enumerate(kept):
        for path in [p for p in origins if p[:2] == ("events", old_index)]:
            moved[("events", new_index, *path[2:])] = origins[path]
    _forget(origins, ("events",))
    origins.update(moved)
    return [events[i] for i in kept]


def _forget(origins: dict[KeyPath, Origin], prefix: KeyPath) -> None:
    for path in [p for p in origins if p[: len(prefix)] == prefix]:
        del origins[path]


# --- data built in a notebook ----------------------------------------------------------------


def plain_data(value: Any, path: KeyPath, file: str, depth: int, active: set[int]) -> Any:
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
                        raise ScenarioError(f"keys must be text (got {show(key)})", file=file,
                                            key=where)
                    out[key] = plain_data(item, (*path, key), file, depth + 1, active)
                return out
            return [plain_data(item, (*path, i), file, depth + 1, active)
                    for i, item in enumerate(value)]
        finally:
            active.discard(id(value))
    if isinstance(value, Distribution):
        return value.to_yaml()
    if isinstance(value, Move):
        return move_as_written(value)
    if _is_numpy_number(value):
        return value.item()  # np.float64, np.int64, np.bool_ from a notebook
    if value is None or isinstance(value, str | int | float | datetime.date):
        return value
    raise ScenarioError(f"unsupported value {show(value)} ({type(value).__name__})", file=file,
                        key=where)


def move_as_written(move: Move) -> dict[str, Any]:
    """A move as a scenario file writes it: ``{move: NAME, **parameters}``, JSON-ready."""
    return {"move": move.name, **move.model_dump(mode="json")}


def _is_numpy_number(value: Any) -> bool:
    """A numpy scalar holding a bool, int or float (numpy is not imported to find out)."""
    if type(value).__module__ != "numpy" or not hasattr(value, "item"):
        return False
    try:
        return isinstance(value.item(), bool | int | float)
    except Exception:  # noqa: BLE001  (whatever numpy raises: not a number we take)
        return False


# --- paths -----------------------------------------------------------------------------------


def absolute_path(path: Path) -> Path | None:
    """The absolute path, or None if it cannot be one (a NUL byte, a name too long)."""
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError):
        return None


def file_exists(path: Path) -> bool:
    """Whether ``path`` is a file; a path the system cannot even look up is not one."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
