"""``chipsim list``: the moves, chips and parameters a scenario file can use, and the outputs.

What a scenario author needs while writing a file, and what a reader of its results needs,
printed from the code itself (the move classes, the chip catalogue, the parameter defaults, the
metrics table), so it cannot drift from what the loader accepts or the runs write. Each
listing imports its source only when it runs, to keep ``chipsim --help`` fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def move_lines() -> list[str]:
    """Every policy move: its name, record ids, summary, and each parameter with its default."""
    from sim.moves import MOVES

    lines: list[str] = []
    for name, cls in sorted(MOVES.items(), key=_move_order):
        record = f"  [FACTS {', '.join(cls.record)}]" if cls.record else ""
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        lines += [f"{name}{record}", f"    {summary}"]
        params = cls.parameters()
        width = max((len(p) for p in params), default=0)
        for param, meaning in params.items():
            field = cls.model_fields[param]
            if field.is_required():
                default = "required"
            elif field.default is None:
                default = "optional"
            else:
                default = f"default {_number(field.default)}"
            lines.append(f"      {param:<{width}}  {meaning} ({default})")
        lines.append("")
    return lines[:-1]


def _move_order(item: tuple[str, Any]) -> tuple[int, int]:
    """Order moves as the spec does: US, China, transit, then market-wide."""
    prefixes = ("us.", "cn.", "transit.", "supply.", "trade.")
    name = item[0]
    rank = next((i for i, p in enumerate(prefixes) if name.startswith(p)), len(prefixes))
    return rank, 0


def chip_lines() -> list[str]:
    """The chip catalogue as a table, one row per chip (months written YYYY-MM)."""
    from dataclasses import asdict

    from sim.world.catalogue import CHIPS
    from sim.world.months import format_month

    rows = [asdict(chip) for chip in CHIPS.values()]
    headers = list(rows[0]) if rows else ["name"]

    def cell(header: str, value: object) -> str:
        if header.endswith("_from") and isinstance(value, int) and not isinstance(value, bool):
            return format_month(value)  # a month index
        return "-" if value is None else _number(value)

    return _table(headers, [[cell(h, row[h]) for h in headers] for row in rows])


def parameter_lines() -> list[str]:
    """Every model parameter: default, allowed range, unit and source."""
    from sim.world.parameters import DEFAULTS, Distribution

    rows = []
    for spec in DEFAULTS.values():
        value = spec.value
        if isinstance(value, Distribution):
            default = f"{value.kind}({', '.join(_number(a) for a in value.args)})"
        else:
            default = _number(value)
        rows.append([spec.name, default, spec.range_text, spec.unit, spec.source])
    return _table(["name", "default", "range", "unit", "source"], rows)


def output_lines() -> list[str]:
    """Every output column of ``timeseries`` and ``summary.csv``: unit, aggregation, meaning."""
    from sim.model.metrics import METRICS

    over_run = {"flow": "sum", "stock": "final", "rate": "final"}
    rows = [[m.name, m.unit, f"{m.kind} ({over_run[m.kind]})", m.meaning] for m in METRICS]
    return _table(["name", "unit", "kind (over a run)", "meaning"], rows)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _number(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_number(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e7 else f"{value:.3g}"
    return str(value)


#: ``chipsim list WHAT`` -> the function that makes its lines.
LISTINGS: dict[str, Callable[[], list[str]]] = {
    "moves": move_lines, "chips": chip_lines, "parameters": parameter_lines,
    "outputs": output_lines,
}
