"""The event strip: a scenario's policy moves, marked at their dates above a figure over time.

An event is a policy move as a figure sees it: ``(date "YYYY-MM", label)``. Each is marked by a
dotted line at its date in every panel (:func:`event_line`) and by a labelled leader in a strip
above the plot (:func:`draw_labels`) - or, when the labels would need more rows than the plot
should give up, by its number on a leader (:func:`draw_numbers`) and a key under the figure
(:func:`event_key`).

Labels sit in the strip one row per label as needed: a label is written horizontally from its
date and moved to the next row up when it would overlap the previous one, so many moves in the
same month or quarter stay readable (:func:`place_labels`). Near the right edge a label ends at
its date instead. The strip's height follows from the rows used (:func:`strip_height`), which is
why the figure is laid out (:func:`sim.viz.layout.make_layout`) after the labels are placed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import date2num

from sim.viz.style import (
    EVENT_FONT,
    EVENT_LINE,
    FIG_WIDTH,
    GREY,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    TEXT,
    text_width_in,
)

#: A policy move as figures mark it: ``(date "YYYY-MM", label)``.
Event = tuple[str, str]

# The strip, in inches. Fixed so that output is byte-stable and text never collides.
_STRIP_ROW = 0.17  # height of one row of event labels
_STRIP_PAD = 0.12
_EVENT_MAX_CHARS = 48


def month_x(date: str) -> float:
    """Matplotlib date number of the first of a month ``YYYY-MM`` (an event's date)."""
    return float(date2num(pd.to_datetime(str(date), format="%Y-%m").to_pydatetime()))


def visible_events(events: Iterable[Event], x_min: float,
                   x_max: float) -> list[tuple[float, str]]:
    """Events inside the plotted range as ``(x, label)``, sorted by date then given order."""
    out = [(month_x(date), _short(label)) for date, label in events]
    out = [(x, label) for x, label in out if x_min <= x <= x_max]
    return sorted(out, key=lambda item: item[0])  # stable: same-month events keep their order


def _short(label: str) -> str:
    """One line, at most :data:`_EVENT_MAX_CHARS` characters."""
    return textwrap.shorten(" ".join(str(label).split()), width=_EVENT_MAX_CHARS, placeholder="…")


# --------------------------------------------------------------------------- placing labels


@dataclass(frozen=True)
class EventLabel:
    """An event label placed in the strip; positions in inches from the strip's left edge."""

    x: float  # the event's date (matplotlib date number)
    text: str
    at: float  # the event's date, in inches from the strip's left edge
    start: float
    end: float
    right_aligned: bool  # ends at its date instead of starting there (near the right edge)


def _make_label(x: float, text: str, x_min: float, x_max: float) -> EventLabel:
    """Measure a label: it starts just right of its date; near the right edge it ends there."""
    axis_w = FIG_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    at = (x - x_min) / (x_max - x_min) * axis_w
    width = text_width_in(text) + 0.08
    if at + width <= axis_w + MARGIN_RIGHT * 0.8:
        return EventLabel(x, text, at, at, at + width, False)
    return EventLabel(x, text, at, at - width, at, True)


def crosses(line: EventLabel, label: EventLabel, gap: float = 0.06) -> bool:
    """Tell whether ``line``'s leader (at its date) would run through ``label``'s text."""
    if line is label or line.at == label.at:
        return False
    return label.start - gap < line.at < label.end + gap


def _placing_order(label: EventLabel, index: int) -> tuple[bool, float, int]:
    """Left-aligned labels right to left (same date: last first), then right-aligned ones."""
    if label.right_aligned:
        return True, label.at, index
    return False, -label.at, -index


def place_labels(events: Sequence[tuple[float, str]], x_min: float,
                 x_max: float) -> list[tuple[EventLabel, int]]:
    """Give each event label a row of the strip (0 = nearest the plot).

    Labels in one row never overlap, and a leader line (from the plot up to its label) never
    runs through another label: where a label covers a later event's date, the later event
    goes lower. Labels are placed right to left, each in the lowest row allowed, which builds
    a descending staircase for a cluster of close events. Right-aligned labels at the right
    edge are placed last.

    Returns:
        ``(label, row)`` pairs, in the order of ``events``.

    """
    gap = 0.08
    labels = [_make_label(x, text, x_min, x_max) for x, text in events]
    order = sorted(range(len(labels)), key=lambda i: _placing_order(labels[i], i))
    rows: dict[int, int] = {}
    for i in order:
        me = labels[i]
        lowest = 1 + max((rows[j] for j in rows if crosses(labels[j], me)), default=-1)
        row = lowest
        while any(rows[j] == row and labels[j].start < me.end + gap
                  and me.start < labels[j].end + gap for j in rows):
            row += 1
        rows[i] = row
    return [(labels[i], rows[i]) for i in range(len(labels))]


def strip_height(placed: Sequence[tuple[EventLabel, int]]) -> float:
    """Height of the strip that holds the placed labels, in inches (padding alone if none)."""
    n_rows = max((row + 1 for _, row in placed), default=0)
    return _STRIP_PAD * 2 + _STRIP_ROW * n_rows


# --------------------------------------------------------------------------- drawing


def event_line(ax: Axes, x: float, *, colour: str = EVENT_LINE, linewidth: float = 1.0,
               zorder: float = 1.5) -> None:
    """A dotted vertical line marking a policy move at date number ``x``."""
    ax.axvline(x, color=colour, linestyle=":", linewidth=linewidth, zorder=zorder)


def draw_labels(strip: Axes, placed: Sequence[tuple[EventLabel, int]],
                colours: Mapping[Event, str] | None = None) -> None:
    """Leaders from the plot up to each label in the strip, a dot, and the label.

    Args:
        strip: The strip's axes; its y runs in inches from the bottom of the strip.
        placed: The labels and their rows (:func:`place_labels`).
        colours: Colour of some events' leaders, dots and labels, by ``(date, label)``; the
            others are grey. A label in :data:`~sim.viz.style.EVENT_LINE` grey is written in
            :data:`~sim.viz.style.TEXT` colour, like an uncoloured one.

    """
    by_place = {(month_x(date), _short(text)): colour
                for (date, text), colour in (colours or {}).items()}
    for label, row in placed:
        colour = by_place.get((label.x, label.text))
        y = _STRIP_PAD + (row + 0.5) * _STRIP_ROW
        strip.plot([label.x, label.x], [0, y], color=colour or EVENT_LINE, linestyle=":",
                   linewidth=1.0, zorder=1)
        strip.plot([label.x], [y], marker="o", markersize=2.5, color=colour or GREY, zorder=3)
        offset = -3 if label.right_aligned else 3
        text = colour if colour not in (None, EVENT_LINE) else TEXT
        strip.annotate(label.text, (label.x, y), xytext=(offset, 0), textcoords="offset points",
                       ha="right" if label.right_aligned else "left", va="center",
                       fontsize=EVENT_FONT, color=text, zorder=4)


# --------------------------------------------------------------------------- numbered ticks


@dataclass(frozen=True)
class NumberedMove:
    """A policy move marked by a number at its date, explained in a key under the figure."""

    number: int
    x: float  # its date (matplotlib date number)
    label: str


def number_events(events: Iterable[Event], x_min: float = -float("inf"),
                  x_max: float = float("inf")) -> list[NumberedMove]:
    """Number the events inside the plotted range, 1, 2, ... by date (same month: given order)."""
    return [NumberedMove(i + 1, x, label)
            for i, (x, label) in enumerate(visible_events(events, x_min, x_max))]


def number_strip_height() -> float:
    """Height of a strip that holds numbered moves (two staggered rows), in inches."""
    return _STRIP_PAD * 2 + _STRIP_ROW * 2


@dataclass(frozen=True)
class NumberMark:
    """The moves of one month, marked by their numbers at one date."""

    x: float  # the month's date (matplotlib date number)
    moves: tuple[NumberedMove, ...]
    text: str  # "3", or "3–5" for several moves in the month
    row: int  # 0, or 1 where the previous month's numbers would touch these


def number_marks(moves: Sequence[NumberedMove], x_min: float, x_max: float) -> list[NumberMark]:
    """Group numbered moves by month, and give neighbouring months' numbers alternate rows."""
    by_x: dict[float, list[NumberedMove]] = {}
    for move in moves:
        by_x.setdefault(move.x, []).append(move)
    marks: list[NumberMark] = []
    previous, row = -float("inf"), 0
    for x, group in sorted(by_x.items()):
        first, last = group[0].number, group[-1].number
        row = 1 - row if (x - previous) / (x_max - x_min) < 0.06 else 0
        previous = x
        marks.append(NumberMark(x, tuple(group), str(first) if first == last
                                else f"{first}–{last}", row))
    return marks


def draw_numbers(strip: Axes, moves: Sequence[NumberedMove],
                 colours: Mapping[Event, str] | None = None) -> None:
    """Each move's number in the strip, on a leader at its date (with a key under the figure).

    Moves of the same month share a leader and their numbers are joined (``3–5``); the numbers
    of moves in neighbouring months go on alternate rows so they never touch. A move coloured in
    ``colours`` (by ``(date, label)``, as :func:`draw_labels` takes them) colours its number.
    """
    by_place = {(month_x(date), label): colour
                for (date, label), colour in (colours or {}).items()}
    for mark in number_marks(moves, *strip.get_xlim()):
        colour = next((by_place[(mark.x, m.label)] for m in mark.moves
                       if (mark.x, m.label) in by_place), None)
        y = _STRIP_PAD + (mark.row + 0.5) * _STRIP_ROW
        strip.plot([mark.x, mark.x], [0, y - 0.06], color=colour or EVENT_LINE, linestyle=":",
                   linewidth=1.0, zorder=1)
        strip.annotate(mark.text, (mark.x, y), ha="center", va="center", fontsize=EVENT_FONT,
                       fontweight="bold", zorder=4,
                       color=colour if colour not in (None, EVENT_LINE) else GREY)


def numbered_ticks(panels: Sequence[Axes], moves: Sequence[NumberedMove], *,
                   fontsize: float = 7.0) -> None:
    """A dotted line at each move's date in every panel, and its number above the top panel.

    Moves of the same month share one line; their numbers are joined (``3–5``). Use with a key
    (:func:`event_key`) instead of the labelled strip when the plot should keep the room.
    """
    for mark in number_marks(moves, *panels[0].get_xlim()):
        for ax in panels:
            event_line(ax, mark.x, linewidth=0.9, zorder=2)
        panels[0].annotate(mark.text, (mark.x, 1.0), xycoords=("data", "axes fraction"),
                           xytext=(0, 2 + 8 * mark.row), textcoords="offset points",
                           ha="center", va="bottom", fontsize=fontsize, color=GREY,
                           fontweight="bold")


def event_key(moves: Sequence[NumberedMove], width_in: float,
              fontsize: float = 6.5) -> list[str]:
    """The key of numbered moves as lines of ``1 label · 2 label ...`` that fit ``width_in``."""
    from matplotlib.font_manager import FontProperties

    font = FontProperties(size=fontsize)
    lines: list[str] = []
    line = ""
    for move in moves:
        entry = f"{move.number} {_short(move.label)}"
        candidate = f"{line} · {entry}" if line else entry
        if line and text_width_in(candidate, font) > width_in:
            lines.append(line)
            candidate = entry
        line = candidate
    return [*lines, line] if line else lines
