"""``chipsim validate`` and ``chipsim calibrate``: the model against the record's targets.

``validate`` runs the scenarios the targets read with the shipped parameters (the posterior)
and reports each target per role; ``calibrate`` re-runs the ABC-SMC that makes the posterior,
or (``--report``) writes the calibration report page. Everything heavy is imported when the
command runs, so ``chipsim --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

#: Defaults shown in the help (those of sim.analysis.calibration and validation, which are not
#: imported here: they need numpy, pandas and pyabc).
DEFAULT_SEEDS = 20
THRESHOLD = 0.8
BUDGETS = ("default", "tiny")


def add_validate(commands: Any, count: Callable[[str], int]) -> None:
    """Add the ``validate`` subcommand; ``count`` parses positive whole numbers."""
    validate = commands.add_parser(
        "validate", help="the model against the record's calibration and validation targets",
        description="Run the 2024-2026 timeline and the what-ifs the targets compare it with"
                    " (sim/world/data/targets.yaml) on the same N replications, each drawing"
                    " its parameters as the scenario files say (the posterior), and report per"
                    " target - calibration targets (the fit) and held-out validation targets"
                    " apart - its FACTS ids, the source value and tolerance, the model's median"
                    " and 5-95 %% range and the share of runs that hold it. Exit 1 if a"
                    " validation target holds in fewer than --threshold of the runs.",
    )
    validate.add_argument("--seeds", type=count, default=DEFAULT_SEEDS, metavar="N",
                          help=f"replications (runs) per scenario (default {DEFAULT_SEEDS})")
    validate.add_argument("--workers", type=count, metavar="N",
                          help="worker processes (default: all cores)")
    validate.add_argument("--threshold", type=_share, default=THRESHOLD, metavar="SHARE",
                          help="share of runs a validation target must hold in (default 0.8)")
    validate.add_argument("--out", metavar="DIR",
                          help="also write DIR/validation.csv (one row per target) and"
                               " DIR/runs.csv (each target's statistic per run)")
    validate.add_argument("--force", action="store_true", help="replace an existing DIR")
    validate.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                          help="fix a parameter in every scenario (repeatable), e.g. to see"
                               " which targets a change breaks")
    validate.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace) -> int:
    from sim.analysis.validation import validate_command

    return validate_command(seeds=args.seeds, workers=args.workers, out=args.out,
                            threshold=args.threshold, force=args.force,
                            parameters=_assignments(args.set))


def _assignments(items: list[str]) -> dict[str, float]:
    """``NAME=VALUE`` options as a mapping (a bad one is an input error, exit 2)."""
    from sim.scenario.errors import ScenarioError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ScenarioError(f"must be NAME=NUMBER (got {item!r})", key="--set")
    return out


def add_calibrate(commands: Any, count: Callable[[str], int]) -> None:
    """Add the ``calibrate`` subcommand."""
    calibrate = commands.add_parser(
        "calibrate", help="fit the posterior to the calibration targets (ABC-SMC, pyabc)",
        description="Approximate Bayesian computation (pyabc's ABC-SMC) of the parameters that"
                    " drive the calibration targets (F1, F2, F5, F6, M7 of"
                    " sim/world/data/targets.yaml) on the 2024-2026 timeline, from uniform"
                    " priors (sim/analysis/calibration.py). Writes the last population, one row"
                    " per particle with its weight, to DIR/posterior.csv and its provenance to"
                    " DIR/posterior.yaml (default DIR: sim/world/data, the shipped posterior"
                    " that `parameters: {from: posterior}` draws from). Reproducible from --seed."
                    " Needs pyabc: pip install 'chipsim[calibrate]'. --report instead writes"
                    " docs/calibration.md from the shipped posterior and a validate run.",
    )
    calibrate.add_argument("--budget", choices=BUDGETS, default="default",
                           help="preset: default (the shipped posterior's, ~80 min on 2 cores)"
                                " or tiny (seconds; a smoke test); the options below override")
    calibrate.add_argument("--population", type=count, metavar="N",
                           help="particles per generation")
    calibrate.add_argument("--generations", type=count, metavar="G",
                           help="most generations after the first")
    calibrate.add_argument("--evaluations", type=count, metavar="M",
                           help="most particle evaluations in all")
    calibrate.add_argument("--min-epsilon", type=float, metavar="E",
                           help="stop when epsilon (in tolerance units) is at or below E")
    calibrate.add_argument("--min-ess", type=float, metavar="N",
                           help="the posterior is the last generation whose effective sample"
                                " size is at least N (default 100; else the one with the"
                                " largest)")
    calibrate.add_argument("--seeds", type=count, metavar="K",
                           help="replications per particle (their median is compared)")
    calibrate.add_argument("--seed", type=int, metavar="S",
                           help="seed of the ABC's random numbers and the particles' runs")
    calibrate.add_argument("--out", metavar="DIR",
                           help="folder of posterior.csv and posterior.yaml (default:"
                                " sim/world/data)")
    calibrate.add_argument("--workers", type=count, metavar="N",
                           help="worker processes (default: all cores)")
    calibrate.add_argument("--report", action="store_true",
                           help="write docs/calibration.md (and its figure) from the shipped"
                                " posterior and a validate run of --seeds runs (default 20)")
    calibrate.set_defaults(handler=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    if args.report:
        from sim.analysis.calibration_report import report_command

        return report_command(seeds=args.seeds or DEFAULT_SEEDS, workers=args.workers)
    if find_spec("pyabc") is None:
        import sys

        print("chipsim calibrate: needs pyabc: pip install 'chipsim[calibrate]'",
              file=sys.stderr)
        return 1
    import dataclasses

    from sim.analysis.calibration import (
        CALIBRATION_SEED,
        DEFAULT_BUDGET,
        TINY_BUDGET,
        calibrate_command,
    )

    budget = TINY_BUDGET if args.budget == "tiny" else DEFAULT_BUDGET
    chosen = {"population": args.population, "generations": args.generations,
              "evaluations": args.evaluations, "min_epsilon": args.min_epsilon,
              "seeds": args.seeds, "min_ess": args.min_ess}
    budget = dataclasses.replace(budget, **{k: v for k, v in chosen.items() if v is not None})
    seed = CALIBRATION_SEED if args.seed is None else args.seed
    return calibrate_command(budget, seed=seed, out=args.out, workers=args.workers)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (got {value})")
    return value
