"""Months as integers: the model's clock.

A month is stored as ``year * 12 + (month - 1)`` so that date arithmetic is integer arithmetic
and a period is a ``range``. Text form is ``YYYY-MM``.
"""

from __future__ import annotations

import re

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: object) -> int:
    """Parse ``YYYY-MM`` (or a YAML date) into a month index.

    Raises:
        ValueError: if the text is not a valid month between 1900-01 and 2200-12.
    """
    if hasattr(text, "year") and hasattr(text, "month"):  # a datetime.date from YAML
        year, month = int(text.year), int(text.month)  # type: ignore[attr-defined]
    else:
        match = _MONTH.match(str(text).strip())
        if not match:
            raise ValueError(f"must be a month written YYYY-MM (got {text!r})")
        year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 01..12 (got {text!r})")
    if not 1900 <= year <= 2200:
        raise ValueError(f"year must be between 1900 and 2200 (got {text!r})")
    return year * 12 + month - 1


def format_month(index: int) -> str:
    """Format a month index as ``YYYY-MM``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
