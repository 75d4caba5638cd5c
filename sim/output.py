"""Writing a run's results folder, atomically.

A results folder (``timeseries.csv``, ``summary.csv``, ``manifest.json``, ``figures/``) is what
users cite, so it must never be half written or half overwritten. Everything is first written
into a hidden temporary sibling folder (same parent, so the final move is a rename on the same
file system), then renamed into place:

* if the target does not exist, the temporary folder is renamed to it;
* if it exists and ``force`` is false, :class:`FileExistsError` is raised before any work;
* if it exists and ``force`` is true, the old folder is renamed aside, the new one renamed in,
  and only then is the old one deleted. If the second rename fails the old folder is restored.

On any error the temporary folder is removed and the target is left as it was.

Files are byte-identical for identical input: rows are sorted by seed and date, floats are
written in their shortest round-trip form (reading the CSV back gives exactly the same numbers),
lines end in a bare newline, and the manifest is written with sorted keys. Nothing time- or
host-dependent is added here; the manifest is written exactly as given.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.metrics import METRIC_NAMES
from sim.summary import summarise

TIMESERIES_FILE = "timeseries.csv"
SUMMARY_FILE = "summary.csv"
MANIFEST_FILE = "manifest.json"
FIGURES_DIR = "figures"
FIGURE_NAMES: tuple[str, ...] = ("diverted_volumes", "revenue_loss")


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
    _check_target(target, force)
    table = _canonical(timeseries)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(target, "tmp")
    if tmp.exists():  # left by a crashed process that had our pid
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        _write_tables(tmp, table)
        _write_manifest(tmp / MANIFEST_FILE, manifest)
        _write_figures(tmp / FIGURES_DIR, table, events, scenario=scenario, title=title,
                       n_seeds=n_seeds)
        _move_into_place(tmp, target, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


# --------------------------------------------------------------------------- checks


def _check_target(target: Path, force: bool) -> None:
    """Refuse early, before any work, if the target exists and may not be replaced."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise NotADirectoryError(f"{target} exists and is not a folder; not replacing it")
    if target.exists() and not force:
        raise FileExistsError(
            f"results folder {target} already exists; remove it, choose another --out, "
            "or use --force to replace it")


def _canonical(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Columns in the documented order (extra columns after), rows sorted by seed and date."""
    required = ["seed", "date", *METRIC_NAMES]
    missing = [c for c in required if c not in timeseries.columns]
    if missing:
        raise ValueError(f"timeseries lacks column(s): {', '.join(missing)}")
    extra = [c for c in timeseries.columns if c not in required]
    table = timeseries[required + extra]
    return table.sort_values(["seed", "date"], kind="mergesort").reset_index(drop=True)


def _sibling(target: Path, kind: str) -> Path:
    """Return a hidden sibling of the target, unique to this process: ``.<name>.<kind>-<pid>``."""
    return target.parent / f".{target.name}.{kind}-{os.getpid()}"


# --------------------------------------------------------------------------- writers


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV with shortest round-trip floats and bare-newline line ends."""
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _write_tables(folder: Path, table: pd.DataFrame) -> None:
    """``timeseries.csv`` and ``summary.csv``."""
    _write_csv(table, folder / TIMESERIES_FILE)
    _write_csv(summarise(table), folder / SUMMARY_FILE)


def _json_default(value: Any) -> Any:
    """Convert the few non-JSON types a manifest is likely to hold."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy array
        return value.tolist()
    raise TypeError(f"manifest value of type {type(value).__name__} is not JSON-serialisable")


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """``manifest.json``: the given dict, indented, keys sorted, UTF-8, final newline."""
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False,
                      default=_json_default, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8", newline="\n")


def _write_figures(folder: Path, table: pd.DataFrame, events: Sequence[tuple[str, str]], *,
                   scenario: str, title: str, n_seeds: int) -> None:
    """Draw the standard figures as PNG and SVG (imports matplotlib only now)."""
    from sim import figures

    folder.mkdir()
    for name in FIGURE_NAMES:
        make = getattr(figures, name)
        fig = make(table, events, scenario=scenario, title=title, n_seeds=n_seeds)
        figures.save(fig, folder / name)


# --------------------------------------------------------------------------- the swap


def _move_into_place(tmp: Path, target: Path, force: bool) -> None:
    """Rename the finished folder to the target, replacing an old one only if forced."""
    if not target.exists():
        try:
            os.rename(tmp, target)
        except OSError as exc:  # created meanwhile, non-empty
            raise FileExistsError(f"results folder {target} appeared while writing; "
                                  "not replacing it") from exc
        return
    if not force:
        raise FileExistsError(f"results folder {target} appeared while writing; "
                              "not replacing it (use --force)")
    old = _sibling(target, "old")
    if old.exists():
        shutil.rmtree(old)
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    try:
        shutil.rmtree(old)
    except OSError as exc:
        warnings.warn(f"new results are in {target}, but the old folder could not be removed "
                      f"from {old}: {exc}", stacklevel=3)
