"""``chipsim discover``: under which conditions is an outcome high (or low)? PRIM boxes.

Scenario discovery (Bryant & Lempert 2010) takes the experiments of an exploratory study
(``chipsim explore``, :mod:`sim.analysis.explore`), marks those whose outcome passes a
threshold - "diversion above 600,000 chips" - as cases of interest, and looks for a box in the
space of inputs (uncertainties and levers) that holds most of them (*coverage*) and little else
(*density*). PRIM finds it by peeling: it shaves thin slices off the box, one input at a time,
keeping the slice that raises density most, until the box is small; each step is a candidate
box, and together they trace the trade-off between coverage and density.

:func:`discover` runs PRIM from ``ema_workbench.analysis`` and chooses the densest box whose
coverage is at least ``min_coverage`` (default 0.5). The results folder holds ``boxes.csv``
(every box on the peeling trajectory: its coverage, density and mass and, per input, its limits
and whether they restrict it, with the quasi-p values of the restrictions), ``manifest.json``
and two figures (:mod:`sim.viz.discovery`): the peeling trade-off and the chosen box.

A threshold ``Q`` is a value in the metric's unit (``--above 6e5``) or a percentile of the
outcome across the experiments (``--above p80``; the default is ``--above p75``).
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.analysis.ema import workbench
from sim.analysis.explore import EXPERIMENTS_FILE, MANIFEST_FILE, OUTCOMES_FILE
from sim.scenario.errors import ScenarioError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BOXES_FILE = "boxes.csv"
FIGURES_DIR = "figures"
DEFAULT_THRESHOLD = "p75"
DEFAULT_MIN_COVERAGE = 0.5
BOX_COLUMNS = ("box", "chosen", "coverage", "density", "mass", "restricted_dimensions",
               "input", "low", "high", "restricted", "qp_low", "qp_high")
_PERCENTILE = re.compile(r"^p(\d+(\.\d+)?)$|^(\d+(\.\d+)?)%$")


@dataclass(frozen=True)
class Threshold:
    """What makes an experiment a case of interest: its outcome above (or below) a value."""

    outcome: str
    above: bool
    value: float
    written: str  # as the user wrote it: "p75", "6e5"

    def describe(self) -> str:
        """``diverted_units above 612,345 (p75)``."""
        side = "above" if self.above else "below"
        shown = f"{self.value:,.6g}"
        return f"{self.outcome} {side} {shown}" + (
            f" ({self.written})" if _PERCENTILE.match(self.written) else "")


@dataclass
class Discovery:
    """The boxes PRIM found and the one chosen."""

    study: str
    threshold: Threshold
    trajectory: pd.DataFrame  # one row per box: coverage, density, mass, res_dim...
    boxes: pd.DataFrame  # boxes.csv
    chosen: int
    cases: int
    experiments: int
    manifest: dict[str, Any]

    def plot_tradeoff(self) -> Figure:
        """The peeling trade-off: density against coverage of every box, the chosen one marked."""
        from sim.viz.discovery import peeling_tradeoff

        return peeling_tradeoff(self.trajectory, self.chosen, heading=self._heading(),
                                subtitle=self._subtitle())

    def plot_box(self) -> Figure:
        """The chosen box: the range of each input it restricts, against the range explored."""
        from sim.viz.discovery import box_limits

        space = self.boxes[self.boxes["box"] == 0].set_index("input")
        rows = self.boxes[self.boxes["box"] == self.chosen].copy()
        rows["space_low"] = rows["input"].map(space["low"])
        rows["space_high"] = rows["input"].map(space["high"])
        return box_limits(rows, heading=self._heading(), subtitle=self._subtitle())

    def write(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write ``boxes.csv``, ``manifest.json`` and the two figures atomically."""
        from sim.experiments.folders import atomic_folder, write_csv, write_json
        from sim.viz.style import save

        with atomic_folder(Path(out_dir), force) as tmp:
            write_csv(self.boxes, tmp / BOXES_FILE)
            write_json(tmp / MANIFEST_FILE, self.manifest)
            save(self.plot_tradeoff(), tmp / FIGURES_DIR / "peeling_tradeoff")
            save(self.plot_box(), tmp / FIGURES_DIR / "chosen_box")
        return Path(out_dir)

    def _heading(self) -> str:
        return f"When is {self.threshold.describe()}? — {self.study}"

    def _subtitle(self) -> str:
        return (f"PRIM over {self.experiments} experiments, {self.cases} of them cases of"
                f" interest; chosen box {self.chosen}: the densest with coverage ≥"
                f" {self.manifest['min_coverage']:g}")


def read_study(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The experiments, outcomes and manifest of a ``chipsim explore`` folder.

    Raises:
        ScenarioError: the folder is not such a folder, or its tables disagree.

    """
    folder = Path(folder)
    label = str(folder)
    for name in (EXPERIMENTS_FILE, OUTCOMES_FILE):
        if not (folder / name).is_file():
            raise ScenarioError(f"no {name} here: give the folder `chipsim explore` wrote",
                                file=label)
    try:
        design = pd.read_csv(folder / EXPERIMENTS_FILE)
        outcomes = pd.read_csv(folder / OUTCOMES_FILE)
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8")) if (
            folder / MANIFEST_FILE).is_file() else {}
    except (ValueError, OSError) as exc:
        raise ScenarioError(f"cannot read the study: {exc}", file=label) from None
    if "experiment" not in design or "experiment" not in outcomes or not design[
            "experiment"].equals(outcomes["experiment"]):
        raise ScenarioError(f"{EXPERIMENTS_FILE} and {OUTCOMES_FILE} do not list the same"
                            " experiments", file=label)
    return design, outcomes, manifest


def threshold_of(values: pd.Series, outcome: str, above: str | None,
                 below: str | None, label: str) -> Threshold:
    """Parse ``--above Q`` / ``--below Q``: a value, or a percentile ``p80`` / ``80%``."""
    written, is_above = (below, False) if below is not None else (
        above or DEFAULT_THRESHOLD, True)
    key = "--below" if below is not None else "--above"
    match = _PERCENTILE.match(written.strip())
    if match:
        q = float(match.group(1) or match.group(3))
        if not 0 <= q <= 100:
            raise ScenarioError(f"a percentile is between p0 and p100 (got {written})",
                                file=label, key=key)
        return Threshold(outcome, is_above, float(np.percentile(values, q)), written.strip())
    try:
        value = float(written.replace(",", "").replace("_", ""))
    except ValueError:
        raise ScenarioError(f"must be a value (6e5) or a percentile (p80) (got {written!r})",
                            file=label, key=key) from None
    if not np.isfinite(value):
        raise ScenarioError(f"must be a finite value (got {written!r})", file=label, key=key)
    return Threshold(outcome, is_above, value, written.strip())


def discover(folder: str | Path, outcome: str, *, above: str | None = None,
             below: str | None = None,
             min_coverage: float = DEFAULT_MIN_COVERAGE) -> Discovery:
    """Run PRIM on a study's experiments for the cases where ``outcome`` passes a threshold.

    Args:
        folder: A folder written by ``chipsim explore``.
        outcome: A metric of ``outcomes.csv``.
        above: Cases of interest have the outcome above this (value or ``pNN``).
        below: Or below this; at most one of the two (default: ``above="p75"``).
        min_coverage: The chosen box is the densest with at least this coverage.

    Raises:
        ScenarioError: invalid input: not a study, an unknown outcome, a bad threshold, no
            case of interest (or only such cases).

    """
    label = str(folder)
    design, outcomes, manifest = read_study(folder)
    if outcome not in outcomes.columns or outcome == "experiment":
        known = ", ".join(c for c in outcomes.columns if c != "experiment")
        raise ScenarioError(f"unknown outcome {outcome!r}; outcomes: {known}", file=label,
                            key="--outcome")
    if not 0 <= min_coverage <= 1:
        raise ScenarioError(f"must be between 0 and 1 (got {min_coverage})", file=label,
                            key="--min-coverage")
    valid = outcomes[outcome].notna().to_numpy()
    values = outcomes.loc[valid, outcome]
    # whole-number levers as numbers like the rest: PRIM peels them the same way
    x = design.loc[valid].drop(columns="experiment").reset_index(drop=True).astype(float)
    threshold = threshold_of(values, outcome, above, below, label)
    y = (values > threshold.value) if threshold.above else (values < threshold.value)
    y = y.to_numpy()
    cases = int(y.sum())
    if cases == 0 or cases == len(y):
        which = "no experiment" if cases == 0 else "every experiment"
        raise ScenarioError(f"{which} has {threshold.describe()}, so there is nothing to tell"
                            " apart; choose another threshold", file=label, key="--above"
                            if threshold.above else "--below")
    trajectory, boxes = _prim(x, y)
    chosen = choose_box(trajectory, min_coverage)
    boxes.insert(1, "chosen", boxes["box"] == chosen)
    study = str(manifest.get("scenario") or Path(folder).name)
    record = {"kind": "discover", "study": str(folder), "scenario": manifest.get("scenario"),
              "outcome": outcome, "cases_of_interest": threshold.describe(),
              "threshold_value": threshold.value, "above": threshold.above,
              "experiments": int(len(y)), "cases": cases, "min_coverage": min_coverage,
              "chosen_box": chosen, "method": "PRIM (ema_workbench.analysis.prim.Prim,"
              " lenient objective, peel_alpha 0.05, paste_alpha 0.05, mass_min 0.05)",
              "command_line": sys.argv}
    return Discovery(study, threshold, trajectory, boxes, chosen, cases, int(len(y)), record)


def _prim(x: pd.DataFrame, y: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PRIM's peeling trajectory and every box on it, in ``boxes.csv`` form."""
    workbench()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        box = prim.Prim(x, y).find_box()
    trajectory = box.peeling_trajectory.reset_index(drop=True)
    rows = []
    for i, lims in enumerate(box.box_lims):
        stats = trajectory.iloc[i]
        qp = box.p_values[i]
        for name in x.columns:
            low, high = (float(v) for v in lims[name])
            restricted = name in qp
            qp_low, qp_high = (qp[name] if restricted else (np.nan, np.nan))
            rows.append((i, float(stats["coverage"]), float(stats["density"]),
                         float(stats["mass"]), int(stats["res_dim"]), name, low, high,
                         restricted, _qp(qp_low), _qp(qp_high)))
    columns = [c for c in BOX_COLUMNS if c != "chosen"]
    return trajectory, pd.DataFrame(rows, columns=columns)


def _qp(value: float) -> float:
    """EMA marks a side that is not restricted with -1: NaN here."""
    return float("nan") if value is None or value < 0 else float(value)


def choose_box(trajectory: pd.DataFrame, min_coverage: float) -> int:
    """The densest box with at least ``min_coverage`` coverage (ties: the larger box)."""
    ok = trajectory[trajectory["coverage"] >= min_coverage - 1e-12]
    if ok.empty:
        return 0
    best = ok["density"].max()
    return int(ok.index[ok["density"] >= best - 1e-12][0])


# --------------------------------------------------------------------------- the command


def discover_command(folder: str, *, outcome: str, above: str | None = None,
                     below: str | None = None, out: str | None = None,
                     min_coverage: float = DEFAULT_MIN_COVERAGE, force: bool = False) -> int:
    """``chipsim discover``: run PRIM and write ``boxes.csv`` and figures. Returns 0."""
    from sim.experiments.folders import refuse_to_overwrite

    target = Path(out) if out else Path(folder) / f"discover-{outcome}"
    refuse_to_overwrite(target, force, file=folder)
    found = discover(folder, outcome, above=above, below=below, min_coverage=min_coverage)
    written = found.write(target, force=force)
    chosen = found.boxes[(found.boxes["box"] == found.chosen) & found.boxes["restricted"]]
    stats = found.trajectory.iloc[found.chosen]
    print(f"{found.threshold.describe()}: {found.cases} of {found.experiments} experiments")
    print(f"  box {found.chosen}: coverage {stats['coverage']:.2f}, density"
          f" {stats['density']:.2f}, mass {stats['mass']:.2f}")
    for row in chosen.itertuples():
        print(f"    {row.low:.4g} <= {row.input} <= {row.high:.4g}")
    if chosen.empty:
        print("    no input restricted: the cases of interest are spread over the whole space")
    print(f"-> {written}")
    return 0
