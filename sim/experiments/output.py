"""Writing a run's results folder: tables, manifest and figures, atomically, in flat memory.

The folder is written through :func:`sim.experiments.folders.atomic_folder`, so it is never half
written or half overwritten (see there); a write that fails (no space left...) raises
:class:`~sim.experiments.folders.OutputError` and leaves the target as it was.

The table comes as a :class:`~sim.experiments.tables.Table`, handed out in blocks of whole
seeds, so the folder of a 100,000-seed run is written without the whole timeseries in memory:

* ``timeseries.csv`` or ``timeseries.parquet`` - written a block at a time
  (:mod:`sim.experiments.tables`: formats, and when ``auto`` chooses Parquet);
* ``summary.csv`` - from the per-seed period totals and final values, streamed
  (:func:`sim.experiments.summary.per_seed_streamed`); numbers to :data:`SUMMARY_DIGITS`
  significant digits, exact zeros as ``0``;
* ``figures/`` - drawn from the first :data:`FIGURE_SEEDS` seeds at most (beyond that the 5-95 %
  bands do not visibly change, and drawing them from all seeds would hold the whole table);
* ``manifest.json`` - exactly as given.

Files are byte-identical for identical input: rows are sorted by seed and date, lines end in a
bare newline, the manifest is written with sorted keys, and nothing time- or host-dependent is
added here.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.experiments.folders import OutputError, atomic_folder, check_target, write_json
from sim.experiments.summary import per_seed_streamed, summarise_per_seed
from sim.experiments.tables import FILES, FrameTable, Table, choose_format, write_csv_blocks
from sim.experiments.tables import write_timeseries as _write_timeseries

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TIMESERIES_FILE = FILES["csv"]
PARQUET_FILE = FILES["parquet"]
SUMMARY_FILE = "summary.csv"
MANIFEST_FILE = "manifest.json"
FIGURES_DIR = "figures"
#: Significant digits of the numbers in ``summary.csv`` (the timeseries keeps every bit).
SUMMARY_DIGITS = 6
#: Figures are drawn from at most this many seeds (the first, in index order): their bands need
#: every seed's month by month, ~13 MB per 1,000 seeds of the timeline, about 3x that to draw.
FIGURE_SEEDS = 5_000
#: Figures of every run: ``name -> module`` that draws it (same signature in each).
FIGURES: dict[str, str] = {
    "diverted_volumes": "sim.viz.run_figures",
    "revenue_loss": "sim.viz.run_figures",
    "market_response": "sim.viz.story",
}
FIGURE_NAMES: tuple[str, ...] = tuple(FIGURES)


def write_results(out_dir: Path | str, *, timeseries: pd.DataFrame, manifest: dict[str, Any],
                  events: Sequence[tuple[str, str]], scenario: str, title: str, n_seeds: int,
                  force: bool = False, format: str = "csv") -> Path:
    """Write a complete results folder atomically, from a table in memory.

    Args:
        out_dir: The results folder to create (e.g. ``results/<scenario>``).
        timeseries: One row per (seed, month): ``seed``, ``date``, then every metric.
        manifest: Written as ``manifest.json`` unchanged (must be JSON-serialisable; paths,
            dates, sets and numpy scalars are converted).
        events: Policy moves ``(date "YYYY-MM", label)`` to mark on the figures.
        scenario: Scenario name, for the figures.
        title: Scenario title, for the figures.
        n_seeds: Number of replications, for the figures.
        force: Replace an existing folder.
        format: ``csv``, ``parquet`` or ``auto`` (see :mod:`sim.experiments.tables`).

    Returns:
        The path of the results folder.

    Raises:
        FileExistsError: if ``out_dir`` exists and ``force`` is false.
        NotADirectoryError: if ``out_dir`` exists and is not a folder.
        ValueError: if the timeseries lacks a required column.
        OutputError: if a file cannot be written.

    """
    return write_folder(out_dir, FrameTable(timeseries), manifest=manifest, events=events,
                        scenario=scenario, title=title, n_seeds=n_seeds, force=force,
                        format=format)


def write_folder(out_dir: Path | str, table: Table, *, manifest: dict[str, Any],
                 events: Sequence[tuple[str, str]], scenario: str, title: str, n_seeds: int,
                 force: bool = False, format: str = "auto") -> Path:
    """Write a complete results folder atomically, reading ``table`` a block at a time.

    Arguments as :func:`write_results`, but the table is a
    :class:`~sim.experiments.tables.Table` (e.g. a run's store) and is never held whole.

    Raises:
        FileExistsError: if ``out_dir`` exists and ``force`` is false.
        NotADirectoryError: if ``out_dir`` exists and is not a folder.
        OutputError: if a file cannot be written (the target is then left as it was).

    """
    target = Path(out_dir)
    check_target(target, force)
    chosen = choose_format(format, table.rows)
    try:
        with atomic_folder(target, force) as tmp:
            # figures first: their frame is the largest thing held, and is freed before the rest
            if table.seeds:  # every replication failed: tables and manifest say so, no figures
                drawn = min(table.seeds, FIGURE_SEEDS)
                _write_figures(tmp / FIGURES_DIR, table.head(drawn), events, scenario=scenario,
                               title=title, n_seeds=n_seeds if drawn == table.seeds else drawn)
            _write_timeseries(table, tmp / FILES[chosen], chosen)
            write_summary(summarise_per_seed(per_seed_streamed(table.blocks())),
                          tmp / SUMMARY_FILE)
            write_json(tmp / MANIFEST_FILE, manifest)
    except (FileExistsError, NotADirectoryError):
        raise
    except OSError as exc:
        raise OutputError(f"the results folder {target}", exc) from exc
    return target


def folder_notes(format: str, seeds: int) -> dict[str, Any]:
    """What a manifest says of its folder: its timeseries file, and which seeds the figures show.

    Args:
        format: ``csv`` or ``parquet``.
        seeds: successful replications; above :data:`FIGURE_SEEDS` the figures show the first.

    """
    notes: dict[str, Any] = {"timeseries_file": FILES[format]}
    if seeds > FIGURE_SEEDS:
        notes["figures_drawn_from"] = f"the first {FIGURE_SEEDS} successful replications"
    return notes


# --------------------------------------------------------------------------- tables


def timeseries_bytes(timeseries: pd.DataFrame) -> bytes:
    """Return exactly the bytes :func:`write_results` writes as ``timeseries.csv``.

    Lets a caller check that two ensembles agree to the byte without writing whole folders.
    """
    buffer = io.BytesIO()
    write_csv_blocks(FrameTable(timeseries), buffer)
    return buffer.getvalue()


def write_summary(summary: pd.DataFrame, path: Path | io.BytesIO) -> None:
    """Write ``summary.csv``: numbers to :data:`SUMMARY_DIGITS` significant digits, 0 as ``0``.

    ``-0.0`` is written ``0``; a missing value (every seed failed) is an empty cell.
    """
    numbers = summary.select_dtypes("number").columns
    tidy = summary.assign(**{c: summary[c] + 0.0 for c in numbers})  # -0.0 + 0.0 is 0.0
    tidy.to_csv(path, index=False, lineterminator="\n", encoding="utf-8",
                float_format=f"%.{SUMMARY_DIGITS}g")


# --------------------------------------------------------------------------- figures


def draw_figure(name: str, timeseries: pd.DataFrame, events: Sequence[tuple[str, str]], *,
                scenario: str, title: str, n_seeds: int) -> Figure:
    """Draw one of :data:`FIGURES` (imports matplotlib only now).

    Raises:
        ValueError: ``name`` is not one of :data:`FIGURES`.

    """
    import importlib

    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
    make = getattr(importlib.import_module(FIGURES[name]), name)
    return make(timeseries, events, scenario=scenario, title=title, n_seeds=n_seeds)


def _write_figures(folder: Path, table: pd.DataFrame, events: Sequence[tuple[str, str]], *,
                   scenario: str, title: str, n_seeds: int) -> None:
    """Draw every figure of :data:`FIGURES` as PNG and SVG."""
    from sim.viz.style import save

    folder.mkdir()
    for name in FIGURES:
        save(draw_figure(name, table, events, scenario=scenario, title=title, n_seeds=n_seeds),
             folder / name)
