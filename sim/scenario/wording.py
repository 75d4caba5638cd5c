"""Problems in the author's words: echo what they wrote, name what it is, suggest a known name.

A scenario author reads an error message next to their file, so every message quotes the value
as they wrote it (``1e5``, not ``100000.0``), shortened so one bad value cannot flood a terminal,
and where a name is unknown it suggests the closest known one (``did you mean 'smuggled'?``).
"""

from __future__ import annotations

import difflib
from typing import Any

from sim.scenario.yamlsafe import ExponentFloat


def unknown_key(key: str, known: tuple[str, ...]) -> str:
    """The problem of an unknown key: the closest known key, or else all the known ones."""
    hint = did_you_mean(key, known) or f"; known keys: {', '.join(known)}"
    return f"unknown key {show(key)}{hint}"


def did_you_mean(word: str, options: Any) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``options`` to a misspelt word, else ``""``."""
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def kind_of(value: Any) -> str:
    """What a value is, for "expected a mapping (got a list)": containers by kind, else shown."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return show(value)


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, shortened: error messages echo what the user wrote, not all of it."""
    if isinstance(value, ExponentFloat):
        return value.text
    if isinstance(value, list):
        return f"a list of {len(value)}" if len(value) > 5 else _cut(repr(value), limit)
    if isinstance(value, dict):
        return f"a mapping of {len(value)} keys" if len(value) > 5 else _cut(repr(value), limit)
    return _cut(repr(value), limit)


def as_written(value: Any) -> Any:
    """Text fields: ``title: 1e5`` is the text "1e5", not the number (see ExponentFloat)."""
    return value.text if isinstance(value, ExponentFloat) else value


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
