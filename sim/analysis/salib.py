"""Sensitivity indices of any function of independent inputs, by SALib: Sobol and Morris.

`SALib <https://salib.readthedocs.io>`_ draws the designs and computes the indices; this module
maps its unit-cube designs through each input's quantile function, calls ``f`` once with every
point (so the whole design runs in one batch, in parallel), and puts SALib's answers in tables.

* :func:`sobol_analysis` - Saltelli's design (``SALib.sample.sobol``, a scrambled Sobol'
  sequence, ``n * (d + 2)`` points) and the first-order ``S1`` (Saltelli et al. 2010) and total
  ``ST`` (Jansen 1999) indices (``SALib.analyze.sobol``), each with the half-width of its
  bootstrap confidence interval (``S1_conf``, ``ST_conf``);
* :func:`morris_analysis` - Morris's elementary effects (``SALib.sample.morris``, ``n``
  trajectories of ``d + 1`` points on a 4-level grid; ``SALib.analyze.morris``): ``mu_star``,
  the mean absolute effect of moving an input across its range, with a bootstrap interval, a
  cheap first pass to screen out inputs that do not matter.

Both work in quantile space: SALib sees each input as uniform on [0, 1], and ``f`` gets
``dist.ppf(u)``. Sobol indices do not change under that (a quantile function is one to one);
Morris effects are then per move across the input's distribution, comparable between inputs.
:mod:`sim.analysis.sensitivity` plugs the model in; these functions also take any ``f``, so they
are tested on functions whose indices are known (Ishigami).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

#: Level of the bootstrap confidence intervals.
CONFIDENCE = 0.95
#: Bootstrap resamples.
RESAMPLES = 1000
#: Levels of the Morris grid.
MORRIS_LEVELS = 4


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


def _problem(names: Sequence[str]) -> dict[str, Any]:
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def _evaluate(f: Callable[[np.ndarray], np.ndarray], unit: np.ndarray,
              dists: Sequence[HasPpf]) -> tuple[np.ndarray, np.ndarray]:
    """The design in the inputs' units, and ``f`` of it (points x outputs), checked."""
    x = np.column_stack([np.asarray(d.ppf(unit[:, j]), dtype=float)
                         for j, d in enumerate(dists)])
    y = np.asarray(f(x), dtype=float)
    y = y.reshape(len(x), -1) if y.ndim == 1 else y
    if y.shape[0] != len(x):
        raise ValueError(f"f returned {y.shape[0]} rows for {len(x)} points")
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"f returned {int(bad.sum())} non-finite values")
    return x, y


def _names(given: Sequence[str] | None, count: int, stem: str) -> list[str]:
    names = list(given) if given is not None else [f"{stem}{i + 1}" for i in range(count)]
    if len(names) != count:
        raise ValueError(f"{len(names)} names for {count} {stem}s")
    return names


def _varies(y: np.ndarray) -> bool:
    return bool(np.ptp(y) > 0)


# --------------------------------------------------------------------------- Sobol


@dataclass
class SobolResult:
    """Sobol indices of several outputs with respect to several parameters.

    Attributes:
        parameters: parameter names (the columns of ``X``).
        outputs: output names (the columns of ``Y``).
        n: base sample size; ``X`` has ``n * (d + 2)`` rows, in SALib's order: for each base
            point, A, then AB_1..AB_d, then B.
        first, total: indices, shape (outputs, parameters); NaN if the output is constant.
        first_conf, total_conf: half-widths of their confidence intervals, same shape.
        confidence: level of the intervals.
        X, Y: the points evaluated and the outputs there.
        notes: anything else worth keeping (e.g. indices from single seeds).

    """

    parameters: list[str]
    outputs: list[str]
    n: int
    first: np.ndarray
    total: np.ndarray
    first_conf: np.ndarray
    total_conf: np.ndarray
    confidence: float
    X: np.ndarray
    Y: np.ndarray
    notes: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """``sobol.csv``: one row per (output, parameter), ranked by ``ST`` within an output.

        Columns: ``parameter``, ``output``, ``S1``, ``ST``, the intervals ``S1_low``,
        ``S1_high``, ``ST_low``, ``ST_high`` (index -+ half-width) and the half-widths
        ``S1_conf``, ``ST_conf`` (SALib's names).
        """
        rows = []
        for k, output in enumerate(self.outputs):
            order = sorted(range(len(self.parameters)),
                           key=lambda i: (-_key(self.total[k, i]), -_key(self.first[k, i]), i))
            for i in order:
                s1, st = self.first[k, i], self.total[k, i]
                c1, ct = self.first_conf[k, i], self.total_conf[k, i]
                rows.append({"parameter": self.parameters[i], "output": output, "S1": s1,
                             "ST": st, "S1_low": s1 - c1, "S1_high": s1 + c1,
                             "ST_low": st - ct, "ST_high": st + ct, "S1_conf": c1,
                             "ST_conf": ct})
        return pd.DataFrame(rows)

    def ranking(self, output: str) -> list[str]:
        """Parameters ranked by total index for ``output``, most influential first."""
        return self.table().query("output == @output")["parameter"].tolist()

    def evaluations(self) -> pd.DataFrame:
        """The design and its results: ``point``, ``block`` (A, AB_<param>, B), X and Y."""
        d = len(self.parameters)
        blocks = ["A", *(f"AB_{p}" for p in self.parameters), "B"]
        frame = pd.DataFrame(self.X, columns=self.parameters)
        frame.insert(0, "block", np.tile(blocks, self.n)[: len(frame)])
        frame.insert(0, "point", np.repeat(np.arange(self.n), d + 2)[: len(frame)])
        for k, output in enumerate(self.outputs):
            frame[output] = self.Y[:, k]
        return frame


def _key(value: float) -> float:
    return -math.inf if not np.isfinite(value) else float(value)


def sobol_design(d: int, n: int, seed: int) -> np.ndarray:
    """Saltelli's design on the unit cube (SALib): ``n * (d + 2)`` rows, ``d`` columns.

    Raises:
        ValueError: no parameter, or ``n`` not a power of two (2 or more).

    """
    from SALib.sample import sobol as sobol_sample

    if d < 1:
        raise ValueError("sensitivity analysis needs at least one parameter")
    if n < 2 or n & (n - 1):
        raise ValueError(f"the number of samples must be a power of two, 2 or more (got {n})")
    return sobol_sample.sample(_problem([f"x{i}" for i in range(d)]), n,
                               calc_second_order=False, seed=seed)


def sobol_indices(y: np.ndarray, d: int, *, resamples: int = RESAMPLES,
                  confidence: float = CONFIDENCE, seed: int = 1
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(S1, S1_conf, ST, ST_conf)`` of outputs on a :func:`sobol_design`, each (outputs, d).

    An output that does not vary gets NaN.
    """
    from SALib.analyze import sobol

    y = np.asarray(y, dtype=float)
    y = y.reshape(len(y), -1) if y.ndim == 1 else y
    out = np.full((4, y.shape[1], d), np.nan)
    problem = _problem([f"x{i}" for i in range(d)])
    for k in range(y.shape[1]):
        if not _varies(y[:, k]):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            si = sobol.analyze(problem, y[:, k], calc_second_order=False,
                               num_resamples=resamples, conf_level=confidence, seed=seed)
        out[:, k] = [si["S1"], si["S1_conf"], si["ST"], si["ST_conf"]]
    return out[0], out[1], out[2], out[3]


def sobol_analysis(
    f: Callable[[np.ndarray], np.ndarray],
    dists: Sequence[HasPpf | tuple[float, float]],
    n: int,
    *,
    parameters: Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
) -> SobolResult:
    """First-order and total Sobol indices of ``f``, with bootstrap intervals (SALib).

    Args:
        f: maps a parameter matrix ``X`` (points x parameters) to outputs ``Y``
            (points x outputs, or a vector for one output). Called once, with every point.
        dists: per parameter, a distribution with ``ppf`` or a ``(low, high)`` uniform range.
        n: base sample size, a power of two; ``f`` sees ``n * (d + 2)`` points.
        parameters: names of the parameters (default ``x1``, ``x2``...).
        outputs: names of the outputs (default ``y1``, ``y2``...).
        seed: seed of the design; the bootstrap uses ``seed + 1``.
        confidence: level of the bootstrap confidence intervals.
        resamples: bootstrap resamples.

    Raises:
        ValueError: bad sizes, or ``f`` returned non-finite values.

    """
    dists = [Uniform(*dist) if isinstance(dist, tuple) else dist for dist in dists]
    names = _names(parameters, len(dists), "x")
    unit = sobol_design(len(dists), n, seed)
    x, y = _evaluate(f, unit, dists)
    out_names = _names(outputs, y.shape[1], "y")
    s1, c1, st, ct = sobol_indices(y, len(dists), resamples=resamples, confidence=confidence,
                                   seed=seed + 1)
    return SobolResult(names, out_names, n, s1, st, c1, ct, confidence, x, y)


# --------------------------------------------------------------------------- Morris


@dataclass
class MorrisResult:
    """Morris elementary effects of several outputs with respect to several parameters.

    Attributes:
        parameters, outputs: names.
        n: trajectories; ``X`` has ``n * (d + 1)`` rows.
        mu_star: mean absolute elementary effect, (outputs, parameters), in the output's unit
            per move across the parameter's distribution (quantile space).
        mu_star_conf: half-width of its bootstrap confidence interval.
        mu: mean elementary effect (signed).
        sigma: standard deviation of the effects (interactions, non-linearity).
        confidence: level of the intervals.
        X, Y: the points evaluated and the outputs there.

    """

    parameters: list[str]
    outputs: list[str]
    n: int
    mu_star: np.ndarray
    mu_star_conf: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    confidence: float
    X: np.ndarray
    Y: np.ndarray
    notes: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """``morris.csv``: one row per (output, parameter), ranked by ``mu_star``."""
        rows = []
        for k, output in enumerate(self.outputs):
            order = sorted(range(len(self.parameters)),
                           key=lambda i: (-_key(self.mu_star[k, i]), i))
            for i in order:
                rows.append({"parameter": self.parameters[i], "output": output,
                             "mu_star": self.mu_star[k, i],
                             "mu_star_conf": self.mu_star_conf[k, i], "mu": self.mu[k, i],
                             "sigma": self.sigma[k, i]})
        return pd.DataFrame(rows)

    def ranking(self, output: str) -> list[str]:
        """Parameters ranked by ``mu_star`` for ``output``, most influential first."""
        return self.table().query("output == @output")["parameter"].tolist()

    def evaluations(self) -> pd.DataFrame:
        """The design and its results: ``trajectory``, ``step``, X and Y."""
        d = len(self.parameters)
        frame = pd.DataFrame(self.X, columns=self.parameters)
        frame.insert(0, "step", np.tile(np.arange(d + 1), self.n)[: len(frame)])
        frame.insert(0, "trajectory", np.repeat(np.arange(self.n), d + 1)[: len(frame)])
        for k, output in enumerate(self.outputs):
            frame[output] = self.Y[:, k]
        return frame


def morris_analysis(
    f: Callable[[np.ndarray], np.ndarray],
    dists: Sequence[HasPpf | tuple[float, float]],
    n: int,
    *,
    parameters: Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
) -> MorrisResult:
    """Morris screening of ``f``: ``n`` trajectories of ``d + 1`` points (SALib).

    Args: as :func:`sobol_analysis`, with ``n`` the number of trajectories (2 or more).

    Raises:
        ValueError: bad sizes, or ``f`` returned non-finite values.

    """
    from SALib.analyze import morris
    from SALib.sample import morris as morris_sample

    dists = [Uniform(*dist) if isinstance(dist, tuple) else dist for dist in dists]
    names = _names(parameters, len(dists), "x")
    if not dists:
        raise ValueError("sensitivity analysis needs at least one parameter")
    if n < 2:
        raise ValueError(f"Morris screening needs 2 trajectories or more (got {n})")
    problem = _problem(names)
    unit = morris_sample.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed)
    x, y = _evaluate(f, unit, dists)
    out_names = _names(outputs, y.shape[1], "y")
    stats = np.full((4, y.shape[1], len(dists)), np.nan)
    for k in range(y.shape[1]):
        if not _varies(y[:, k]):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            si = morris.analyze(problem, unit, y[:, k], num_resamples=resamples,
                                conf_level=confidence, num_levels=MORRIS_LEVELS, seed=seed + 1)
        stats[:, k] = [si["mu_star"], si["mu_star_conf"], si["mu"], si["sigma"]]
    return MorrisResult(names, out_names, n, stats[0], stats[1], stats[2], stats[3],
                        confidence, x, y)
