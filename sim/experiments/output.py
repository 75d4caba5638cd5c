"""Writing a run's results folder: tables, manifest and figures, atomically.

The folder is written through :func:`sim.experiments.folders.atomic_folder`, so it is never half written or
half overwritten (see there). Files are byte-identical for identical input: rows are sorted by
seed and date, floats are written in their shortest round-trip form (reading the CSV back gives
exactly the same numbers), lines end in a bare newline, and the manifest is written with sorted
keys. Nothing time- or host-dependent is added here; the manifest is written exactly as given.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.experiments.folders import atomic_folder, check_target, write_csv, write_json
from sim.experiments.summary import summarise
from sim.model.metrics import METRIC_NAMES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TIMESERIES_FILE = "timeseries.csv"
SUMMARY_FILE = "summary.csv"
MANIFEST_FILE = "manifest.json"
FIGURES_DIR = "figures"
#: Figures of every run: ``name -> module`` that draws it (same signature in each).
FIGURES: dict[str, str] = {
    "diverted_volumes": "sim.viz.run_figures",
    "revenue_loss": "sim.viz.run_figures",
    "market_response": "sim.viz.story",
}
FIGURE_NAMES: tuple[str, ...] = tuple(FIGURES)


def write_results(out_dir: Path | str, *, timeseries: pd.DataFrame, manifest: dict[str, Any],
                  events: Sequence[tuple[str, str]], scenario: str, title: str, n_seeds: int,
                  force: bool = False) -> Path:
    """Write a complete results folder atomically.

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

    Returns:
        The path of the results folder.

    Raises:
        FileExistsError: if ``out_dir`` exists and ``force`` is false.
        NotADirectoryError: if ``out_dir`` exists and is not a folder.
        ValueError: if the timeseries lacks a required column.

    """
    target = Path(out_dir)
    check_target(target, force)
    table = _canonical(timeseries)
    with atomic_folder(target, force) as tmp:
        _write_tables(tmp, table)
        write_json(tmp / MANIFEST_FILE, manifest)
        if len(table):  # every replication failed: tables and manifest say so, no figures
            _write_figures(tmp / FIGURES_DIR, table, events, scenario=scenario, title=title,
                           n_seeds=n_seeds)
    return target


# --------------------------------------------------------------------------- tables


def _canonical(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Columns in the documented order (extra columns after), rows sorted by seed and date."""
    required = ["seed", "date", *METRIC_NAMES]
    missing = [c for c in required if c not in timeseries.columns]
    if missing:
        raise ValueError(f"timeseries lacks column(s): {', '.join(missing)}")
    extra = [c for c in timeseries.columns if c not in required]
    table = timeseries[required + extra]
    return table.sort_values(["seed", "date"], kind="mergesort").reset_index(drop=True)


# --------------------------------------------------------------------------- writers


def timeseries_bytes(timeseries: pd.DataFrame) -> bytes:
    """Return exactly the bytes :func:`write_results` writes as ``timeseries.csv``.

    Lets a caller check that two ensembles agree to the byte without writing whole folders.
    """
    buffer = io.BytesIO()
    write_csv(_canonical(timeseries), buffer)
    return buffer.getvalue()


def _write_tables(folder: Path, table: pd.DataFrame) -> None:
    """``timeseries.csv`` and ``summary.csv``."""
    write_csv(table, folder / TIMESERIES_FILE)
    write_csv(summarise(table), folder / SUMMARY_FILE)


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
