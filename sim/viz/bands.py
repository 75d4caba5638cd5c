"""Uncertainty bands: the spread of a metric across seeds, month by month.

What the shaded 5-95 % bands of every figure show. Percentiles use numpy's default (linear)
interpolation; seeds with NaN in a month (a failed replication) are left out of that month.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sim.model.metrics import PERCENTILES

BAND_COLUMNS: tuple[str, ...] = tuple(c for c, _ in PERCENTILES)


def band(timeseries: pd.DataFrame, metric: str, *, cumulative: bool = False) -> pd.DataFrame:
    """Percentiles of one metric across seeds, month by month.

    Args:
        timeseries: One row per (seed, month).
        metric: The metric column.
        cumulative: If true, accumulate each seed's values over time first (running total per
            seed), then take percentiles: the band of the running total, not the running total
            of the band.

    Returns:
        A frame indexed by ``date`` (ascending, ``YYYY-MM``) with columns ``p05``, ``p50``,
        ``p95``. Seeds with NaN in a month are left out of that month's percentiles.

    Raises:
        ValueError: if the metric column is missing.

    """
    missing = [c for c in ("seed", "date") if c not in timeseries.columns]
    if missing:
        raise ValueError(f"timeseries lacks column(s) {missing}")
    if metric not in timeseries.columns:
        raise ValueError(f"timeseries lacks metric column(s): {metric}")
    table = timeseries.sort_values(["seed", "date"], kind="mergesort")[["seed", "date", metric]]
    wide = table.pivot(index="date", columns="seed", values=metric).sort_index()
    if cumulative:
        wide = wide.cumsum(skipna=False)
    data = wide.to_numpy(dtype=float)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN months give NaN, quietly
        for col, q in PERCENTILES:
            out[col] = (np.nanpercentile(data, q, axis=1) if data.size
                        else np.empty(len(wide.index)))
    return pd.DataFrame(out, index=wide.index.rename("date"), columns=list(BAND_COLUMNS))
