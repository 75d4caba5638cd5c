"""Summary statistics of an ensemble of runs: what ``summary.csv`` and the figure bands show.

A run reports one row per (seed, month). Users want two views of that table:

* one number per metric and seed, aggregated over the period the way the metric's ``kind``
  says (:data:`sim.model.metrics.METRICS`): a ``flow`` is summed over the months, a ``stock`` or a
  ``rate`` is read at the final month; then the spread of that number across seeds
  (:func:`summarise`);
* the spread across seeds month by month, for the uncertainty bands in figures
  (:func:`sim.viz.bands.band`).

Percentiles use numpy's default (linear) interpolation. Everything here is a pure function of the
table, so identical input gives identical output whatever the row order of the seeds.

The per-seed values never need the whole table at once: :func:`per_seed_streamed` takes it in
blocks of whole seeds (``Table.blocks()`` of :mod:`sim.experiments.tables`) and gives exactly what
:func:`per_seed` gives for the whole table, one row per seed, so a 100,000-seed run is summarised
in the memory of one block plus one number per seed and metric.

A seed with a missing value (NaN) in a month, for example a failed replication, has no period
value for that metric; statistics over seeds ignore it rather than propagate NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sim.model.metrics import BY_NAME, METRIC_NAMES, PERCENTILES

SUMMARY_COLUMNS: tuple[str, ...] = ("metric", "unit", "mean", *(c for c, _ in PERCENTILES))


def _sorted(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Return the table sorted by seed then date (stable), checking the key columns exist."""
    missing = [c for c in ("seed", "date") if c not in timeseries.columns]
    if missing:
        raise ValueError(f"timeseries lacks column(s) {missing}")
    return timeseries.sort_values(["seed", "date"], kind="mergesort")


def _require(timeseries: pd.DataFrame, metrics: Sequence[str]) -> None:
    """Raise a clear error if metric columns are missing."""
    missing = [m for m in metrics if m not in timeseries.columns]
    if missing:
        raise ValueError(f"timeseries lacks metric column(s): {', '.join(missing)}")


def per_seed(timeseries: pd.DataFrame, metrics: Sequence[str] = METRIC_NAMES) -> pd.DataFrame:
    """Aggregate each seed's run into one value per metric.

    Args:
        timeseries: One row per (seed, month) with columns ``seed``, ``date`` and the metrics.
        metrics: Names of metrics to aggregate (default: all of :data:`METRIC_NAMES`).

    Returns:
        A frame indexed by seed (ascending) with one column per metric: the period total for a
        flow, the final-month value for a stock or rate. NaN where the seed has a missing value
        (a flow) or a missing final value (a stock or rate).

    """
    _require(timeseries, metrics)
    table = _sorted(timeseries)
    grouped = table.groupby("seed", sort=True)
    complete = grouped[list(metrics)].count().eq(grouped.size(), axis=0)
    totals = grouped[list(metrics)].sum().where(complete)
    finals = table.drop_duplicates("seed", keep="last").set_index("seed")
    columns = {name: totals[name] if BY_NAME[name].kind == "flow" else finals[name]
               for name in metrics}
    return pd.DataFrame(columns, index=totals.index)


def per_seed_streamed(blocks: Iterable[pd.DataFrame],
                      metrics: Sequence[str] = METRIC_NAMES) -> pd.DataFrame:
    """:func:`per_seed` of a table given in blocks of whole seeds, one block in memory at a time.

    Each seed's value depends on its own rows only, so the result is exactly (to the bit)
    :func:`per_seed` of the whole table.

    Args:
        blocks: The table in pieces, none splitting a seed (e.g. ``Table.blocks()``).
        metrics: Names of metrics to aggregate (default: all of :data:`METRIC_NAMES`).

    Returns:
        A frame indexed by seed (ascending) with one column per metric: the period total of a
        flow, the final-month value of a stock or rate.

    """
    parts = [per_seed(block, metrics) for block in blocks]
    if not parts:
        return pd.DataFrame(columns=list(metrics), index=pd.Index([], name="seed"), dtype=float)
    values = pd.concat(parts)
    if not values.index.is_monotonic_increasing:
        values = values.sort_index(kind="mergesort")
    return values


def _stats(values: np.ndarray) -> dict[str, float]:
    """Mean and percentiles of the finite-or-infinite (non-NaN) values; NaN if there are none."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return {"mean": float("nan"), **{col: float("nan") for col, _ in PERCENTILES}}
    out = {"mean": float(np.mean(values))}
    for col, q in PERCENTILES:
        out[col] = float(np.percentile(values, q))
    return out


def summarise(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Summarise an ensemble: one row per metric, in :data:`METRIC_NAMES` order.

    Args:
        timeseries: One row per (seed, month) with columns ``seed``, ``date`` and every metric.

    Returns:
        A frame with columns ``metric``, ``unit``, ``mean``, ``p05``, ``p50``, ``p95``: the mean
        and percentiles over seeds of each seed's period total (flows) or final value (stocks,
        rates).

    Raises:
        ValueError: if a required column is missing.

    """
    return summarise_per_seed(per_seed(timeseries))


def summarise_per_seed(values: pd.DataFrame) -> pd.DataFrame:
    """The summary table of :func:`summarise`, from the per-seed values (:func:`per_seed`).

    Args:
        values: One row per seed, one column per metric of :data:`METRIC_NAMES`.

    Returns:
        One row per metric, in :data:`METRIC_NAMES` order: ``metric``, ``unit``, ``mean``,
        ``p05``, ``p50``, ``p95`` over seeds.

    """
    rows = []
    for name in METRIC_NAMES:
        rows.append({"metric": name, "unit": BY_NAME[name].unit,
                     **_stats(values[name].to_numpy())})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
