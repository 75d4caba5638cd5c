"""The one error type a user ever sees for bad input.

Every problem with a scenario file is reported as ``file:line: key.path: problem`` so that a
researcher can jump straight to it. The CLI turns a :class:`ScenarioError` into that line on
stderr and exit code 2; anything else is a bug (exit 1).
"""

from __future__ import annotations


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
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.problem}"
