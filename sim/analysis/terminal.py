"""Figures as the terminal shows them: compact, three significant digits (1.23e9 -> 1.23G).

One format for every command that prints a table of results (compare, attribute), so the same
number reads the same way whichever command printed it.
"""

from __future__ import annotations


def compact(value: float) -> str:
    """Compact figure for the terminal: 1.23e9 -> 1.23G, 4.5e4 -> 45k, 0.123 -> 0.123."""
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


__all__ = ["compact"]
