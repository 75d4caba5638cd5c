"""The timeseries table, block by block: read from finished replications, written as CSV or Parquet.

A run's table has one row per (seed, month): ``seed``, ``date`` (YYYY-MM), then every metric.
At 100,000 seeds of the 36-month timeline that is 3.6 million rows and 1.3 GB of floats, so a
results folder is written without ever holding it whole: a table hands itself out in blocks of
:data:`BLOCK_SEEDS` whole seeds, in canonical order (seed, then date; columns as documented), and
the writers, the summary and the figures each take what they need one block at a time.

* :class:`FrameTable` - a table already in memory (``Results.timeseries``);
* :class:`StoreTable` - the replications a store holds (a run's work folder), read back a block
  at a time.

Formats (``chipsim run --format``), both byte-identical for identical numbers:

* ``csv`` - floats in their shortest round-trip form (reading the file back gives exactly the
  same numbers), bare-newline line ends; the exact record a user can open anywhere;
* ``parquet`` - pyarrow, zstd-compressed, one row group per block of :data:`BLOCK_SEEDS` seeds,
  ``seed`` int64, ``date`` string, metrics float64, no pandas metadata and nothing time-dependent.
  The file names the pyarrow version that wrote it (``created_by``), so identical bytes need the
  same pyarrow, as identical numbers need the same numpy;
* ``auto`` (the default) - CSV up to :data:`PARQUET_ABOVE_ROWS` rows (seeds x months), Parquet
  above: 27,777 seeds of the 36-month timeline, about 0.65 GB of CSV (24 KB per seed; 7 KB as
  Parquet).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import pandas as pd

from sim.model.metrics import METRIC_NAMES

#: Seeds per block (and per Parquet row group).
BLOCK_SEEDS = 1000
#: ``--format auto`` writes Parquet above this many rows (seeds x months).
PARQUET_ABOVE_ROWS = 1_000_000
FORMATS: tuple[str, ...] = ("auto", "csv", "parquet")
#: The timeseries file of each format.
FILES: dict[str, str] = {"csv": "timeseries.csv", "parquet": "timeseries.parquet"}
KEY_COLUMNS: tuple[str, ...] = ("seed", "date")
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 3,
                                   "use_dictionary": ["date"], "write_statistics": True,
                                   "version": "2.6", "data_page_version": "1.0"}


class Table(Protocol):
    """A timeseries table handed out in blocks of whole seeds, in canonical order.

    Attributes:
        columns: ``seed``, ``date``, the metrics, then any other columns.
        seeds: how many seeds the table holds.
        rows: how many rows (seeds x months).

    """

    columns: list[str]
    seeds: int
    rows: int

    def blocks(self) -> Iterator[pd.DataFrame]:
        """The table, :data:`BLOCK_SEEDS` seeds at a time."""
        ...

    def head(self, seeds: int) -> pd.DataFrame:
        """The first ``seeds`` seeds, as one frame."""
        ...


def choose_format(format: str, rows: int) -> str:
    """``csv`` or ``parquet``: as asked, or by size for ``auto``.

    Raises:
        ValueError: ``format`` is not one of :data:`FORMATS`.

    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)} (got {format!r})")
    if format == "auto":
        return "parquet" if rows > PARQUET_ABOVE_ROWS else "csv"
    return format


def canonical(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Columns in the documented order (extra columns after), rows sorted by seed and date.

    Raises:
        ValueError: a required column is missing.

    """
    required = [*KEY_COLUMNS, *METRIC_NAMES]
    missing = [c for c in required if c not in timeseries.columns]
    if missing:
        raise ValueError(f"timeseries lacks column(s): {', '.join(missing)}")
    extra = [c for c in timeseries.columns if c not in required]
    table = timeseries[required + extra]
    return table.sort_values(list(KEY_COLUMNS), kind="mergesort").reset_index(drop=True)


class FrameTable:
    """A table in memory, put in canonical order once."""

    def __init__(self, timeseries: pd.DataFrame) -> None:
        self.frame = canonical(timeseries)
        self.columns = list(self.frame.columns)
        seed = self.frame["seed"].to_numpy()
        self._starts = np.flatnonzero(np.r_[True, seed[1:] != seed[:-1]]) if len(seed) else \
            np.empty(0, dtype=np.int64)
        self.seeds = len(self._starts)
        self.rows = len(self.frame)

    def blocks(self) -> Iterator[pd.DataFrame]:
        """The table, :data:`BLOCK_SEEDS` seeds at a time."""
        for first in range(0, self.seeds, BLOCK_SEEDS):
            yield self.frame.iloc[self._row(first):self._row(first + BLOCK_SEEDS)]

    def head(self, seeds: int) -> pd.DataFrame:
        """The first ``seeds`` seeds."""
        return self.frame.iloc[:self._row(seeds)]

    def _row(self, seed_position: int) -> int:
        return int(self._starts[seed_position]) if seed_position < self.seeds else self.rows


class StoreTable:
    """The replications ``indices`` of a store, read back a block at a time.

    Args:
        store: anything with ``load(index) -> months x METRIC_NAMES array`` (a
            :class:`~sim.experiments.store.DiskStore` or
            :class:`~sim.experiments.store.MemoryStore`).
        indices: the replications that make the table (those that succeeded), ascending.
        dates: the months of the period, YYYY-MM.

    """

    def __init__(self, store: Any, indices: Sequence[int], dates: Sequence[str]) -> None:
        self.store = store
        self.indices = list(indices)
        self.dates = list(dates)
        self.columns = [*KEY_COLUMNS, *METRIC_NAMES]
        self.seeds = len(self.indices)
        self.rows = self.seeds * len(self.dates)

    def blocks(self) -> Iterator[pd.DataFrame]:
        """The table, :data:`BLOCK_SEEDS` seeds at a time."""
        for first in range(0, self.seeds, BLOCK_SEEDS):
            yield self._frame(self.indices[first:first + BLOCK_SEEDS])

    def head(self, seeds: int) -> pd.DataFrame:
        """The first ``seeds`` seeds."""
        return self._frame(self.indices[:seeds])

    def _frame(self, indices: Sequence[int]) -> pd.DataFrame:
        return frame_of(self.store, indices, self.dates)


def frame_of(store: Any, indices: Sequence[int], dates: Sequence[str]) -> pd.DataFrame:
    """One row per (replication, month) of the replications ``indices``, in that order."""
    if not indices:
        return pd.DataFrame(columns=[*KEY_COLUMNS, *METRIC_NAMES])
    months = len(dates)
    values = np.empty((len(indices) * months, len(METRIC_NAMES)))
    for k, index in enumerate(indices):
        values[k * months:(k + 1) * months] = store.load(index)
    frame = pd.DataFrame(values, columns=list(METRIC_NAMES), copy=False)
    frame.insert(0, "date", list(dates) * len(indices))
    frame.insert(0, "seed", np.repeat(np.asarray(indices, dtype=np.int64), months))
    return frame


# --------------------------------------------------------------------------- writers


def write_timeseries(table: Table, path: Path, format: str) -> None:
    """Write the table to ``path`` as ``csv`` or ``parquet``, a block at a time."""
    if format == "parquet":
        _write_parquet(table, path)
    elif format == "csv":
        with open(path, "wb") as fh:
            write_csv_blocks(table, fh)
    else:
        raise ValueError(f"format must be csv or parquet (got {format!r})")


def write_csv_blocks(table: Table, fh: IO[bytes]) -> None:
    """Write the table as CSV to a binary file, a block at a time (the header once)."""
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
    try:
        header = True
        for block in table.blocks():
            block.to_csv(text, index=False, header=header, lineterminator="\n")
            header = False
        if header:  # no seed at all: the header alone
            pd.DataFrame(columns=table.columns).to_csv(text, index=False, lineterminator="\n")
        text.flush()
    finally:
        text.detach()


def _write_parquet(table: Table, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    blocks = table.blocks()
    first = next(blocks, None)
    schema = _arrow_schema(table.columns, first)
    with pq.ParquetWriter(path, schema, **PARQUET_OPTIONS) as writer:
        if first is None:
            writer.write_table(schema.empty_table())
            return
        for block in itertools.chain([first], blocks):
            arrays = [pa.array(_column(block, f.name), type=f.type) for f in schema]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema),
                               row_group_size=len(block))


def _column(block: pd.DataFrame, name: str) -> Any:
    column = block[name]
    return column.to_numpy(dtype=object) if name == "date" else column.to_numpy()


def _arrow_schema(columns: Sequence[str], first: pd.DataFrame | None) -> Any:
    """``seed`` int64, ``date`` string, metrics float64; other columns as pyarrow infers them."""
    import pyarrow as pa

    known = {"seed": pa.int64(), "date": pa.string(), **dict.fromkeys(METRIC_NAMES, pa.float64())}
    fields = []
    for name in columns:
        if name in known:
            kind = known[name]
        elif first is not None:
            kind = pa.array(first[name].to_numpy()).type
        else:
            kind = pa.string()
        fields.append(pa.field(name, kind))
    return pa.schema(fields)
