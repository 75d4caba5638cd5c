"""The ``chipsim`` command line: check, list and run scenarios.

Each subcommand is one small function that imports what it needs when it runs, so that
``chipsim --help`` and ``chipsim check`` start fast (numpy, pandas, matplotlib, mesa and pydantic
are imported only by the commands that use them). Exit codes follow the spec: 0 success, 2 invalid
input (one line on stderr, no traceback), 1 unexpected failure (a short message; ``--debug``
shows the traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sim.cli.attribute import add_attribute
from sim.cli.calibrate import add_calibrate, add_validate
from sim.scenario.errors import ScenarioError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chipsim`` command line.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 success, 1 unexpected failure, 2 invalid input.

    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return int(handler(args) or EXIT_OK)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("chipsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001  (the one place that turns bugs into exit 1)
        if args.debug:
            raise
        print(f"chipsim: unexpected error: {type(exc).__name__}: {exc}"
              " (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILURE


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="chipsim",
        description="Agent-based model of the AI-accelerator trade under export controls.",
    )
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of unexpected errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_run, _add_check, _add_list):
        add(commands)
    add_validate(commands, _positive_int)
    add_calibrate(commands, _positive_int)
    for add in (_add_app, _add_compare, _add_sensitivity, _add_explore, _add_discover):
        add(commands)
    add_attribute(commands, _positive_int)
    return parser


# --- run -------------------------------------------------------------------------------------


def _add_run(commands: Any) -> None:
    run = commands.add_parser(
        "run", help="run a scenario's Monte Carlo ensemble and write tables and figures",
        description="Run FILE's replications (and its counterfactual) and write timeseries.csv"
                    " (or timeseries.parquet), summary.csv, manifest.json and figures/ to DIR."
                    " Finished replications are saved as they come in (in .NAME.partial/ beside"
                    " DIR), so a run stopped by Ctrl-C, SIGTERM or SIGHUP (exit 130, 143, 129)"
                    " is finished by the same command with --resume; a worker process that dies"
                    " is replaced and its replications run again. Exit 1 if a replication failed"
                    " (DIR then holds the others and manifest.json lists the failures) or if the"
                    " results cannot be written.",
    )
    run.add_argument("file", metavar="FILE", help="scenario YAML file")
    run.add_argument("--seeds", type=_positive_int, metavar="N",
                     help="number of replications (default: the scenario's `seeds`)")
    run.add_argument("--out", metavar="DIR", help="output folder (default: results/<name>/)")
    run.add_argument("--format", choices=("auto", "csv", "parquet"), default="auto",
                     help="timeseries file: csv (exact shortest round-trip floats), parquet"
                          " (pyarrow, the same exact numbers, ~3x smaller) or auto (default: csv"
                          " up to 1,000,000 rows = seeds x months, e.g. 27,777 seeds of the"
                          " 36-month timeline; parquet above)")
    _add_execution_options(run)
    run.set_defaults(handler=_run)
    _add_rerun(commands)  # rerun sits beside run: same options, same machinery


def _add_execution_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``rerun``: where to run, resume, replace."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help="local worker processes (default: all cores; 1 runs in-process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask cluster, e.g. tcp://HOST:8786 (needs the dask extra:"
                            " pip install 'chipsim[dask]'); its workers need this chipsim")
    parser.add_argument("--resume", action="store_true",
                        help="finish an interrupted run to the same DIR, reusing the"
                             " replications it saved (refused if the scenario changed)")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing output folder (and discard the saved work"
                             " of an interrupted run unless --resume)")


def _run(args: argparse.Namespace) -> int:
    from sim.experiments.runner import run_command

    extras = _execution_extras(args)
    if args.format != "auto":
        extras["format"] = args.format
    return run_command(path=args.file, seeds=args.seeds, out=args.out, workers=args.workers,
                       force=args.force, **extras)


def _execution_extras(args: argparse.Namespace) -> dict[str, Any]:
    """``--scheduler`` and ``--resume``, passed on only when given."""
    extras: dict[str, Any] = {}
    if args.scheduler is not None:
        extras["scheduler"] = args.scheduler
    if args.resume:
        extras["resume"] = True
    return extras


# --- rerun -----------------------------------------------------------------------------------


def _add_rerun(commands: Any) -> None:
    rerun = commands.add_parser(
        "rerun", help="repeat a run from its manifest.json alone",
        description="Rebuild the scenario and counterfactual stored in MANIFEST (a results"
                    " folder's manifest.json, or the folder), run the same seeds and write a new"
                    " results folder, its timeseries in the original's format (CSV or Parquet)."
                    " If the original timeseries file is beside MANIFEST, the new one is compared"
                    " with it byte for byte (exit 1 if they differ).",
    )
    rerun.add_argument("manifest", metavar="MANIFEST",
                       help="manifest.json of a run (or its folder)")
    rerun.add_argument("--out", metavar="DIR",
                       help="output folder (default: the original folder's name + -rerun)")
    _add_execution_options(rerun)
    rerun.set_defaults(handler=_rerun)


def _rerun(args: argparse.Namespace) -> int:
    from sim.experiments.runner import rerun_command

    return rerun_command(args.manifest, out=args.out, workers=args.workers, force=args.force,
                         **_execution_extras(args))


# --- check -----------------------------------------------------------------------------------


def _add_check(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="validate scenario files without running them",
        description="Validate each FILE (and its parents and counterfactual). Prints one line per"
                    " file; exits 2 if any file is invalid.",
    )
    check.add_argument("files", metavar="FILE", nargs="+", help="scenario YAML files")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from sim.scenario.scenario import load_scenario

    status = EXIT_OK
    for file in args.files:
        try:
            scenario = load_scenario(file)
        except ScenarioError as exc:
            print(str(exc), file=sys.stderr)
            status = EXIT_INVALID
            continue
        events = len(scenario.events)
        noun = "event" if events == 1 else "events"
        print(f"ok  {file}  ({scenario.name}, {events} {noun}, {scenario.content_hash()[:12]})")
    return status


# --- list ------------------------------------------------------------------------------------


def _add_list(commands: Any) -> None:
    listing = commands.add_parser(
        "list", help="list the moves, chips or parameters a scenario can use, or the outputs",
        description="moves: every policy move with its parameters; chips: the chip catalogue;"
                    " parameters: every model parameter with its default, allowed range, unit and"
                    " source; outputs: every column a run writes, with its unit, how it adds up"
                    " over a run (flows are summed, stocks and rates read at the final month) and"
                    " its meaning.",
    )
    listing.add_argument("what", choices=("moves", "chips", "parameters", "outputs"))
    listing.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    from sim.cli.listing import LISTINGS

    for line in LISTINGS[args.what]():
        print(line)
    return EXIT_OK


# --- plumbing --------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (got {value})")
    return value


class _VersionAction(argparse.Action):
    """``--version``: look the version up only when asked (keeps start-up fast)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("chipsim")
        except PackageNotFoundError:
            text = "unknown (not installed)"
        print(f"chipsim {text}")
        parser.exit()


def _silence_stdout() -> None:
    """After a closed pipe (``chipsim list moves | head``), stop Python complaining at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


# --- app -------------------------------------------------------------------------------------


def _add_app(commands: Any) -> None:
    app = commands.add_parser(
        "app", help="serve the interactive dashboard (Mesa SolaraViz) in a browser",
        description="Serve the dashboard: pick a scenario, set the policy levers, then step or"
                    " play the model month by month. Needs the `app` extra"
                    " (pip install 'chipsim[app]'). Stop it with Ctrl-C.",
    )
    app.add_argument("--host", default="127.0.0.1", metavar="H",
                     help="interface to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    app.add_argument("--port", type=_port, default=8765, metavar="P",
                     help="TCP port (default 8765)")
    app.add_argument("--scenarios", metavar="DIR",
                     help="folder of scenario files to offer (default: ./scenarios)")
    app.set_defaults(handler=_app)


def _app(args: argparse.Namespace) -> int:
    try:
        import solara  # noqa: F401
    except ImportError:
        print("chipsim app: the dashboard needs Solara: pip install 'chipsim[app]'",
              file=sys.stderr)
        return EXIT_FAILURE
    from sim.app.dashboard import serve

    return serve(host=args.host, port=args.port, scenarios=args.scenarios)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535 (got {value})")
    return value


# --- compare and sensitivity -----------------------------------------------------------------


def _add_compare(commands: Any) -> None:
    compare = commands.add_parser(
        "compare", help="run scenarios on the same seeds and compare them side by side",
        description="Run each FILE on the same replications (the first file's root seed) and"
                    " write compare.csv (per scenario: median and 5-95 % of each metric's period"
                    " total or final value; then the seed-by-seed differences from the first"
                    " scenario), per_seed.csv, manifest.json and figures/ to DIR.",
    )
    compare.add_argument("files", metavar="FILE", nargs="+",
                         help="scenario YAML files; the first is the reference")
    compare.add_argument("--seeds", type=_positive_int, metavar="N",
                         help="replications per scenario (default: the first file's `seeds`)")
    compare.add_argument("--out", metavar="DIR",
                         help="output folder (default: results/compare-<a>-vs-<b>.../)")
    compare.add_argument("--workers", type=_positive_int, metavar="N",
                         help="worker processes (default: all cores)")
    compare.add_argument("--force", action="store_true", help="replace an existing output folder")
    compare.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    from sim.analysis.compare import compare_command

    return compare_command(args.files, seeds=args.seeds, out=args.out, workers=args.workers,
                           force=args.force)


def _add_sensitivity(commands: Any) -> None:
    sens = commands.add_parser(
        "sensitivity", help="Sobol sensitivity of outputs to the parameters given distributions",
        description="Global sensitivity analysis of FILE (SALib): the parameters the file gives"
                    " a distribution are sampled (Saltelli design, N x (d + 2) points), the"
                    " model runs at each point with those values fixed, and first-order and"
                    " total Sobol indices of each output, with the half-widths of their bootstrap"
                    " confidence intervals (S1_conf, ST_conf), are written to DIR/sobol.csv, with"
                    " a ranked bar chart per output in DIR/figures/. --method morris screens"
                    " instead (N trajectories of d + 1 points; DIR/morris.csv: mu_star, its"
                    " interval, mu, sigma): a cheap first pass. Exit 2 if no parameter has a"
                    " distribution.",
    )
    sens.add_argument("file", metavar="FILE", help="scenario YAML file")
    sens.add_argument("--seeds", type=_positive_int, metavar="N",
                      help="replications per parameter point, averaged (default: 2)")
    sens.add_argument("--samples", type=_positive_int, metavar="N",
                      help="sobol: base sample size N, a power of two (default: 64); morris:"
                           " trajectories (default: 16)")
    sens.add_argument("--method", choices=("sobol", "morris"), default="sobol",
                      help="sobol: first-order and total indices (default); morris: elementary"
                           " effects, a cheap screening")
    sens.add_argument("--outputs", metavar="A,B,...",
                      help="metrics to analyse (default: diverted_units, revenue_loss_usd,"
                           " smuggled_units, domestic_share)")
    sens.add_argument("--out", metavar="DIR",
                      help="output folder (default: results/sensitivity-<name>/)")
    sens.add_argument("--workers", type=_positive_int, metavar="N",
                      help="worker processes (default: all cores)")
    sens.add_argument("--force", action="store_true", help="replace an existing output folder")
    sens.set_defaults(handler=_sensitivity)


def _sensitivity(args: argparse.Namespace) -> int:
    from sim.analysis.sensitivity import sensitivity_command

    return sensitivity_command(args.file, seeds=args.seeds, samples=args.samples,
                               outputs=args.outputs, out=args.out, workers=args.workers,
                               force=args.force, method=args.method)


# --- explore and discover (EMA Workbench) ----------------------------------------------------


def _add_explore(commands: Any) -> None:
    explore = commands.add_parser(
        "explore", help="run many experiments over a scenario's uncertainties and levers",
        description="Sample FILE's uncertain parameters (those given a distribution) and its"
                    " levers (the `levers:` section) together in a Latin hypercube of N points"
                    " (EMA Workbench), run each on K seeds with its counterfactual, and write"
                    " DIR/experiments.csv (one row per experiment: its inputs), DIR/outcomes.csv"
                    " (one row per experiment: the median over its seeds of each metric's period"
                    " total) and manifest.json. Needs the ema extra: pip install"
                    " 'chipsim[ema]'.",
    )
    explore.add_argument("file", metavar="FILE", help="scenario YAML file")
    explore.add_argument("--experiments", type=_positive_int, required=True, metavar="N",
                         help="number of experiments (Latin hypercube points)")
    explore.add_argument("--seeds", type=_positive_int, metavar="K",
                         help="replications per experiment, the same at every point (default 2)")
    explore.add_argument("--out", metavar="DIR",
                         help="output folder (default: results/explore-<name>/)")
    explore.add_argument("--workers", type=_positive_int, metavar="N",
                         help="worker processes (default: all cores)")
    explore.add_argument("--force", action="store_true", help="replace an existing output folder")
    explore.set_defaults(handler=_explore)


def _explore(args: argparse.Namespace) -> int:
    if not _has_ema("explore"):
        return EXIT_FAILURE
    from sim.analysis.explore import explore_command

    return explore_command(args.file, experiments=args.experiments, seeds=args.seeds,
                           out=args.out, workers=args.workers, force=args.force)


def _add_discover(commands: Any) -> None:
    discover = commands.add_parser(
        "discover", help="find the conditions under which an outcome is high or low (PRIM)",
        description="Scenario discovery on a `chipsim explore` folder DIR: the experiments whose"
                    " METRIC is above (or below) Q are the cases of interest, and PRIM (EMA"
                    " Workbench) peels the space of inputs down to a box that holds most of"
                    " them. Writes boxes.csv (every box of the peeling trajectory, its coverage,"
                    " density and limits; the chosen one marked), manifest.json and figures/"
                    " (the peeling trade-off, the chosen box). Q is a value in METRIC's unit"
                    " (6e5) or a percentile across the experiments (p80).",
    )
    discover.add_argument("folder", metavar="DIR", help="folder written by chipsim explore")
    discover.add_argument("--outcome", required=True, metavar="METRIC",
                          help="a metric of outcomes.csv, e.g. diverted_units")
    side = discover.add_mutually_exclusive_group()
    side.add_argument("--above", metavar="Q",
                      help="cases of interest: METRIC above Q (default: --above p75)")
    side.add_argument("--below", metavar="Q", help="cases of interest: METRIC below Q")
    discover.add_argument("--min-coverage", type=float, default=0.5, metavar="C",
                          help="choose the densest box covering at least this share of the"
                               " cases of interest (default 0.5)")
    discover.add_argument("--out", metavar="OUT",
                          help="output folder (default: DIR/discover-<METRIC>/)")
    discover.add_argument("--force", action="store_true",
                          help="replace an existing output folder")
    discover.set_defaults(handler=_discover)


def _discover(args: argparse.Namespace) -> int:
    if not _has_ema("discover"):
        return EXIT_FAILURE
    from sim.analysis.discover import discover_command

    return discover_command(args.folder, outcome=args.outcome, above=args.above,
                            below=args.below, out=args.out, min_coverage=args.min_coverage,
                            force=args.force)


def _has_ema(verb: str) -> bool:
    from importlib.util import find_spec

    if find_spec("ema_workbench") is None:
        print(f"chipsim {verb}: needs EMA Workbench: pip install 'chipsim[ema]'",
              file=sys.stderr)
        return False
    return True
