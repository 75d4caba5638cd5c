"""The calibration report (``docs/calibration.md``): the posterior, the fit, the held-out checks.

Generated from the shipped posterior (``sim/world/data/posterior.csv`` and its provenance
``posterior.yaml``) and a validation run (:mod:`sim.analysis.validation`) by
``chipsim calibrate --report`` or ``python -m sim.analysis.calibration_report``: prior against
posterior per parameter (a table and a figure, ``docs/img/calibration_posterior.png``), the
ABC-SMC's generations, the fit to each calibration target and the held-out validation targets.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.analysis.calibration import (
    PROVENANCE_YAML,
    data_folder,
    effective_sample_size,
    weighted_quantiles,
)
from sim.analysis.targets import format_value
from sim.analysis.validation import THRESHOLD, Validation, validate

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DOC = Path("docs/calibration.md")
FIGURE = Path("docs/img/calibration_posterior")


def load_posterior_files(folder: Path | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The posterior's particles (weight and values) and its provenance."""
    import yaml

    folder = Path(folder or data_folder())
    particles = pd.read_csv(folder / "posterior.csv")
    provenance = yaml.safe_load((folder / PROVENANCE_YAML).read_text(encoding="utf-8"))
    return particles, provenance


def posterior_figure(particles: pd.DataFrame, provenance: Mapping[str, Any]) -> Figure:
    """Weighted histograms of each fitted parameter over its prior range (small multiples)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from sim.viz.style import GREY, OKABE_ITO, new_figure, source_line, style_panel, title_block

    names = [c for c in particles.columns if c != "weight"]
    cols = 2
    rows = (len(names) + cols - 1) // cols
    width, panel_h, top, bottom = 9.0, 1.7, 1.05, 0.45
    fig = new_figure(width, top + rows * panel_h + bottom)
    height = fig.get_figheight()
    w = particles["weight"].to_numpy()
    for i, name in enumerate(names):
        low, high = provenance["priors"][name]["range"]
        r, c = divmod(i, cols)
        ax = fig.add_axes([(0.45 + c * width / cols) / width,
                           (bottom + (rows - 1 - r) * panel_h + 0.62) / height,
                           (width / cols - 0.8) / width, (panel_h - 0.95) / height])
        bins = np.linspace(low, high, 21)
        ax.hist(particles[name], bins=bins, weights=w, color=OKABE_ITO["blue"], alpha=0.85,
                zorder=2)
        ax.axhline(1 / 20, color=GREY, linestyle="--", linewidth=1, zorder=3)
        p05, p50, p95 = weighted_quantiles(particles[name].to_numpy(), w, (0.05, 0.5, 0.95))
        ax.axvline(p50, color=OKABE_ITO["vermillion"], linewidth=1.4, zorder=4)
        ax.set_xlim(low, high)
        ax.set_title(name, fontsize=9, loc="left")
        style_panel(ax, size=7.5)
        ax.set_yticks([])
        ax.xaxis.set_major_locator(MaxNLocator(6))
        ax.xaxis.set_major_formatter(FuncFormatter(_tick))
        ax.set_xlabel(f"median {_tick(p50)}; 5-95 %: {_tick(p05)} .. {_tick(p95)}",
                      fontsize=7.5, color=GREY, labelpad=2)
    gens = provenance.get("generations") or [{}]
    title_block(fig, "Posterior of the calibrated parameters",
                [f"ABC-SMC (pyabc): {len(particles)} particles after {len(gens)} generations,"
                 f" final epsilon {provenance.get('final_epsilon', float('nan')):.2f};"
                 " bars: posterior weight per 1/20 of the prior range;",
                 "dashed: the uniform prior; red: posterior median"])
    source_line(fig, f"chipsim; sim/world/data/posterior.csv, calibrated"
                     f" {provenance.get('date_utc', '?')[:10]}")
    return fig


def _tick(value: float, _pos: int | None = None) -> str:
    """A compact number: ``120k``, ``1.2M``, ``0.85``, ``4.5``."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:.3g}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.3g}"


def _prior_table(particles: pd.DataFrame, provenance: Mapping[str, Any]) -> list[str]:
    w = particles["weight"].to_numpy()
    lines = ["| parameter | prior (uniform) | posterior median | 5-95 % | narrowed to | why this"
             " prior |", "|---|---|---|---|---|---|"]
    for name, prior in provenance["priors"].items():
        x = particles[name].to_numpy()
        low, high = prior["range"]
        p05, p50, p95 = weighted_quantiles(x, w, (0.05, 0.5, 0.95))
        share = (p95 - p05) / (0.9 * (high - low)) if high > low else float("nan")
        lines.append(f"| `{name}` | {low:.4g} .. {high:.4g} | {p50:.4g} | {p05:.4g} .. {p95:.4g}"
                     f" | {share:.0%} | {prior['why']} |")
    return lines


def _shipped(provenance: Mapping[str, Any]) -> str:
    """Which generation is the posterior, when the calibration recorded it."""
    if "posterior_generation" not in provenance:
        return ""
    floor = provenance.get("budget", {}).get("min_ess", float("nan"))
    return (f" (generation {provenance['posterior_generation']}: the last with an effective"
            f" sample size of at least {floor:g}, else the largest)")


def _generations(provenance: Mapping[str, Any]) -> list[str]:
    """The generations' table, with each one's effective sample size where it was recorded.

    Posteriors fitted before December 2026 did not record it.
    """
    generations = provenance.get("generations", [])
    ess = bool(generations) and all("ess" in g for g in generations)
    lines = ["| generation | epsilon | particles | evaluations | acceptance |"
             + (" effective sample size |" if ess else ""),
             "|---|---|---|---|---|" + ("---|" if ess else "")]
    for g in generations:
        lines.append(f"| {g['t']} | {g['epsilon']:.3f} | {g['particles']} | {g['evaluations']}"
                     f" | {g['acceptance']:.1%} |" + (f" {g['ess']:.0f} |" if ess else ""))
    return lines


def _targets(v: Validation, role: str, threshold: float) -> list[str]:
    lines = ["| id | FACTS | target | source value | model median | model 5-95 %"
             " | runs inside (90 % interval) |"
             + (" verdict |" if role == "validation" else ""),
             "|---|---|---|---|---|---|---|" + ("---|" if role == "validation" else "")]
    for r in v.role(role):
        t = r.target
        p05, p50, p95 = r.percentiles()
        verdict = (" PASS |" if r.passed(threshold) else " **FAIL** |") \
            if role == "validation" else ""
        lines.append(f"| {t.id} | {', '.join(t.facts)} | {t.title} | {t.target_text()} |"
                     f" {format_value(p50, t.unit)} | {format_value(p05, t.unit)} .."
                     f" {format_value(p95, t.unit)} | {r.share_text()} |{verdict}")
    lines += ["", f"All {role} targets at once: {v.together(role):.0%} of runs."]
    return lines


def page(particles: pd.DataFrame, provenance: Mapping[str, Any], v: Validation,
         figure: str | None = None, threshold: float = THRESHOLD,
         commit: str | None = None) -> str:
    """The Markdown of ``docs/calibration.md`` (``commit``: the code the runs used)."""
    code = provenance.get("code", {})
    budget = provenance.get("budget", {})
    failed = v.failures(threshold)
    lines = [
        "# Calibration report", "",
        "<!-- Generated by `chipsim calibrate --report` (sim/analysis/calibration_report.py)"
        " from sim/world/data/posterior.csv and a validation run. Do not edit by hand. -->", "",
        f"The calibration targets ({', '.join(provenance.get('targets', {}))}) were fitted by"
        " approximate Bayesian computation; the validation targets were held out and are"
        " checked here out of sample. Targets, tolerances and their sources:"
        " `sim/world/data/targets.yaml`; method:"
        " [model.md](model.md#10-calibration-and-validation).", "",
        "## The calibration", "",
        f"- Command: `{provenance.get('command', 'chipsim calibrate')}`, on"
        f" {provenance.get('date_utc', '?')}, {provenance.get('wall_time_min', '?')} min.",
        f"- Code: commit `{str(code.get('commit'))[:12]}`"
        + (f" with uncommitted changes in {', '.join(code['uncommitted_changes'])}"
           if code.get("uncommitted_changes") else "") + ".",
        f"- {provenance.get('method', {}).get('library', 'pyabc')}; population"
        f" {budget.get('population')}, at most {budget.get('generations')} generations after the"
        f" first and {budget.get('evaluations')} evaluations, stop at epsilon"
        f" {budget.get('min_epsilon')}; {budget.get('seeds')} replications per particle"
        f" (median); seed {provenance.get('seeds', {}).get('calibration_seed')}.",
        f"- Distance: {provenance.get('method', {}).get('distance', '')}.",
        f"- Result: {provenance.get('particles', len(particles))} particles (effective sample"
        f" size {effective_sample_size(particles['weight'].to_numpy()):.0f}), final epsilon"
        f" {provenance.get('final_epsilon', float('nan')):.3f}{_shipped(provenance)},"
        f" {provenance.get('evaluations')} evaluations"
        f" ({provenance.get('simulated_particles')} particles simulated, batches included);"
        f" posterior SHA-256 `{str(provenance.get('posterior_sha256'))[:12]}`.", "",
        *_generations(provenance), "",
        "## Prior and posterior", "",
        "*Narrowed to*: the posterior's 5-95 % width over 90 % of the prior's (100 %: the"
        " targets say nothing about the parameter).", "",
        *_prior_table(particles, provenance), "",
        *([f"![posterior]({figure})", ""] if figure else []),
        f"## Fit to the calibration targets ({v.seeds} runs)", "",
        f"Each run is one replication of the timeline drawing one particle from the posterior"
        f" (replications 0..{v.seeds - 1} of root seed {v.root_seed})"
        + (f", at commit `{commit[:12]}`" if commit else "") + ".", "",
        *_targets(v, "calibration", threshold), "",
        "## Held-out checks: the validation targets", "",
        f"Never used to calibrate. A target passes when it holds in at least {threshold:.0%}"
        " of the runs.", "",
        *_targets(v, "validation", threshold), "",
        f"{len(v.role('validation')) - len(failed)} of {len(v.role('validation'))} validation"
        f" targets pass" + (": failing " + ", ".join(f"{r.target.id} ({r.share:.0%})"
                                                   for r in failed) if failed else "") + ".",
        "",
    ]
    return "\n".join(lines)


def report_command(seeds: int = 20, workers: int | None = None, doc: Path = DOC,
                   figure: Path | None = FIGURE) -> int:
    """Write the report page (and its figure) from the shipped posterior and a validate run."""
    from sim.experiments.executors import default_workers

    particles, provenance = load_posterior_files()
    v = validate(seeds=seeds, workers=workers or default_workers())
    rel = None
    if figure is not None:
        png = Path(f"{figure}.png")
        png.parent.mkdir(parents=True, exist_ok=True)
        posterior_figure(particles, provenance).savefig(png, dpi=120, facecolor="white",
                                                        metadata={"Software": None})
        rel = Path(os.path.relpath(png, doc.parent)).as_posix()
    from sim.analysis.calibration import _git

    git = _git()
    commit = git["commit"] + ("+" if git["uncommitted_changes"] else "") \
        if git["commit"] else None
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(page(particles, provenance, v, rel, commit=commit), encoding="utf-8")
    print(f"-> {doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(report_command())
