"""Sobol sensitivity indices of any function of independent inputs: design, estimators, bootstrap.

The Saltelli design draws two base matrices A and B of ``n`` points from the inputs'
distributions (a scrambled Sobol' sequence mapped through each quantile function) and, for each
input *i*, the matrix AB_i (A with column *i* from B): ``n * (d + 2)`` points in all
(:func:`saltelli_design`). From the outputs at those points come, per output and input:

* first order ``S1`` - the share of the output's variance explained by the input alone
  (Saltelli et al. 2010 estimator);
* total ``ST`` - the share it explains alone and through interactions (Jansen 1999 estimator);

with percentile bootstrap confidence intervals (resampling the ``n`` design rows). These are
the estimators :func:`scipy.stats.sobol_indices` uses; they are computed here so that the whole
design runs in one batch (in parallel) and the intervals are reproducible (seeded).

:func:`sobol_analysis` works on any function ``f(X) -> Y`` of a parameter matrix, so it can be
tested on functions whose indices are known; :mod:`sim.analysis.sensitivity` plugs the model in.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: Level of the bootstrap confidence intervals.
CONFIDENCE = 0.95
#: Bootstrap resamples.
RESAMPLES = 1000


class HasPpf(Protocol):
    """A distribution with a quantile function (e.g. a frozen :mod:`scipy.stats` one)."""

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantile function."""
        ...


@dataclass(frozen=True)
class Uniform:
    """The uniform distribution on ``[low, high]``."""

    low: float
    high: float

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantile function."""
        return self.low + np.asarray(q) * (self.high - self.low)


# --------------------------------------------------------------------------- the core


@dataclass
class SobolResult:
    """Sobol indices of several outputs with respect to several parameters.

    Attributes:
        parameters: parameter names (the columns of ``X``).
        outputs: output names (the columns of ``Y``).
        n: base sample size; ``X`` has ``n * (d + 2)`` rows (A, B, then AB_1..AB_d).
        first: first-order indices, shape (outputs, parameters); NaN if the output is constant.
        total: total indices, same shape.
        first_ci: (low, high) arrays of the first-order confidence intervals, or None.
        total_ci: (low, high) arrays of the total confidence intervals, or None.
        confidence: confidence level of the intervals.
        X: the parameter points evaluated.
        Y: the outputs at those points.

    """

    parameters: list[str]
    outputs: list[str]
    n: int
    first: np.ndarray
    total: np.ndarray
    first_ci: tuple[np.ndarray, np.ndarray] | None
    total_ci: tuple[np.ndarray, np.ndarray] | None
    confidence: float
    X: np.ndarray
    Y: np.ndarray
    notes: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per (output, parameter): ``parameter``, ``output``, ``S1``, ``ST``, intervals.

        Rows are grouped by output (in the order given) and ranked by ``ST``, largest first.
        """
        import pandas as pd

        rows = []
        for k, output in enumerate(self.outputs):
            order = sorted(range(len(self.parameters)),
                           key=lambda i: (-_key(self.total[k, i]), -_key(self.first[k, i]), i))
            for i in order:
                row = {"parameter": self.parameters[i], "output": output,
                       "S1": self.first[k, i], "ST": self.total[k, i]}
                if self.first_ci is not None and self.total_ci is not None:
                    row |= {"S1_low": self.first_ci[0][k, i], "S1_high": self.first_ci[1][k, i],
                            "ST_low": self.total_ci[0][k, i], "ST_high": self.total_ci[1][k, i]}
                rows.append(row)
        return pd.DataFrame(rows)

    def ranking(self, output: str) -> list[str]:
        """Parameters ranked by total index for ``output``, most influential first."""
        return self.table().query("output == @output")["parameter"].tolist()

    def evaluations(self) -> pd.DataFrame:
        """The design and its results: ``point``, ``block`` (A, B, AB_<param>), X, Y columns."""
        import pandas as pd

        d = len(self.parameters)
        blocks = ["A", "B", *(f"AB_{p}" for p in self.parameters)]
        frame = pd.DataFrame(self.X, columns=self.parameters)
        frame.insert(0, "block", np.repeat(blocks, self.n)[: len(frame)])
        frame.insert(0, "point", np.tile(np.arange(self.n), d + 2)[: len(frame)])
        for k, output in enumerate(self.outputs):
            frame[output] = self.Y[:, k]
        return frame


def _key(value: float) -> float:
    return -math.inf if not np.isfinite(value) else float(value)


def saltelli_design(dists: Sequence[HasPpf], n: int, seed: int = 0) -> np.ndarray:
    """The Saltelli sampling design: rows A, B, AB_1..AB_d (``n * (d + 2)`` rows, ``d`` columns).

    Args:
        dists: one distribution per parameter (anything with ``ppf``).
        n: base sample size, a power of two (Sobol' sequences balance only then).
        seed: seed of the scrambled Sobol' sequence.

    """
    from scipy.stats import qmc

    d = len(dists)
    if d < 1:
        raise ValueError("sensitivity analysis needs at least one parameter")
    if n < 2 or n & (n - 1):
        raise ValueError(f"the number of samples must be a power of two, 2 or more (got {n})")
    unit = qmc.Sobol(d=2 * d, scramble=True, rng=np.random.default_rng(seed)).random(n)
    values = np.empty_like(unit)
    for j in range(2 * d):
        values[:, j] = dists[j % d].ppf(unit[:, j])
    a, b = values[:, :d], values[:, d:]
    blocks = [a, b]
    for i in range(d):
        ab = a.copy()
        ab[:, i] = b[:, i]
        blocks.append(ab)
    return np.vstack(blocks)


def sobol_indices(y: np.ndarray, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """First-order and total indices from outputs on a :func:`saltelli_design`.

    Args:
        y: outputs, shape (``n * (d + 2)``, outputs), rows in design order.
        n: base sample size.
        d: number of parameters.

    Returns:
        ``(first, total)``, each of shape (outputs, d). An output with no variance gets NaN.

    """
    y = np.asarray(y, dtype=float).reshape(n * (d + 2), -1)
    f_a, f_b = y[:n], y[n:2 * n]
    f_ab = y[2 * n:].reshape(d, n, -1)
    both = np.concatenate([f_a, f_b])
    centre = both.mean(axis=0)
    var = both.var(axis=0)
    f_a, f_b, f_ab = f_a - centre, f_b - centre, f_ab - centre
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.mean(f_b * (f_ab - f_a), axis=1) / var  # (d, outputs)
        total = 0.5 * np.mean((f_a - f_ab) ** 2, axis=1) / var
    constant = ~(var > 0)
    first[:, constant] = np.nan
    total[:, constant] = np.nan
    return first.T, total.T


def sobol_analysis(
    f: Callable[[np.ndarray], np.ndarray],
    dists: Sequence[HasPpf | tuple[float, float]],
    n: int,
    *,
    parameters: Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
    seed: int = 0,
    confidence: float | None = CONFIDENCE,
    resamples: int = RESAMPLES,
) -> SobolResult:
    """Sobol sensitivity indices of ``f`` with respect to independent inputs.

    Args:
        f: maps a parameter matrix ``X`` (points x parameters) to outputs ``Y``
            (points x outputs, or a vector for one output). Called once, with every point.
        dists: per parameter, a distribution with ``ppf`` or a ``(low, high)`` uniform range.
        n: base sample size, a power of two; ``f`` sees ``n * (d + 2)`` points.
        parameters: names of the parameters (default ``x1``, ``x2``...).
        outputs: names of the outputs (default ``y1``, ``y2``...).
        seed: seed of the design and of the bootstrap.
        confidence: level of the bootstrap confidence intervals; None for none.
        resamples: bootstrap resamples.

    Returns:
        The :class:`SobolResult`.

    Raises:
        ValueError: bad sizes, or ``f`` returned non-finite values.

    """
    dists = [Uniform(*dist) if isinstance(dist, tuple) else dist for dist in dists]
    d = len(dists)
    names = list(parameters) if parameters is not None else [f"x{i + 1}" for i in range(d)]
    if len(names) != d:
        raise ValueError(f"{len(names)} parameter names for {d} distributions")
    x = saltelli_design(dists, n, seed)
    y = np.asarray(f(x), dtype=float)
    y = y.reshape(len(x), -1) if y.ndim == 1 else y
    if y.shape[0] != len(x):
        raise ValueError(f"f returned {y.shape[0]} rows for {len(x)} points")
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"f returned {int(bad.sum())} non-finite values")
    out_names = list(outputs) if outputs is not None else [f"y{k + 1}" for k in
                                                            range(y.shape[1])]
    if len(out_names) != y.shape[1]:
        raise ValueError(f"{len(out_names)} output names for {y.shape[1]} outputs")
    first, total = sobol_indices(y, n, d)
    first_ci = total_ci = None
    if confidence is not None:
        first_ci, total_ci = _bootstrap(y, n, d, confidence, resamples, seed)
    return SobolResult(names, out_names, n, first, total, first_ci, total_ci,
                       confidence or float("nan"), x, y)


def _bootstrap(y: np.ndarray, n: int, d: int, confidence: float, resamples: int,
               seed: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Percentile bootstrap intervals, resampling design rows (the same rows in every block)."""
    rng = np.random.default_rng([seed, 1])
    blocks = y.reshape(d + 2, n, -1)
    firsts, totals = [], []
    for _ in range(resamples):
        rows = rng.integers(0, n, size=n)
        first, total = sobol_indices(blocks[:, rows].reshape(-1, y.shape[1]), n, d)
        firsts.append(first)
        totals.append(total)
    tail = (1 - confidence) / 2 * 100
    out = []
    for draws in (np.array(firsts), np.array(totals)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # constant outputs: all NaN
            low = np.nanpercentile(draws, tail, axis=0)
            high = np.nanpercentile(draws, 100 - tail, axis=0)
        out.append((low, high))
    return out[0], out[1]
