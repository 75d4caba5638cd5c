"""The one error type a user ever sees for bad input.

Every problem with a scenario file is reported as ``file:line: key.path: problem`` so that a
researcher can jump straight to it. The CLI turns a :class:`ScenarioError` into that line on
stderr and exit code 2; anything else is a bug (exit 1).

The message is always exactly one line of bounded length that any terminal can print, whatever
the input: line breaks, other control characters and lone surrogates (in a file name, a key the
user wrote, or a value echoed back) are shown escaped, and an overlong problem or key is
shortened.
"""

from __future__ import annotations

import re

#: Longest problem text shown; longer ones are cut with an ellipsis.
MAX_PROBLEM = 400
#: Longest key path shown.
MAX_KEY = 120

#: Line breaks, other control characters and lone surrogates (which no terminal can print).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class ScenarioError(ValueError):
    """A scenario file (or a value in it) is invalid.

    Args:
        problem: what is wrong, in words a user understands.
        file: the scenario file's path, as the user gave it.
        line: 1-based line number of the offending key, if known.
        key: dotted key path (``events[2].share``), if known.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = one_line(self.file) if self.file else "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
        key = f" {one_line(self.key, MAX_KEY)}:" if self.key else ""
        return f"{where}:{key} {one_line(self.problem, MAX_PROBLEM)}"


def one_line(text: str, limit: int | None = None) -> str:
    """Return ``text`` on one line: control characters escaped, cut to ``limit`` characters."""
    text = _CONTROL.sub(_escape, str(text))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
