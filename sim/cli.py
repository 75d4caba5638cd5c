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

from sim.errors import ScenarioError

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
    for add in (_add_run, _add_check, _add_list, _add_validate, _add_calibrate):
        add(commands)
    return parser


# --- run -------------------------------------------------------------------------------------


def _add_run(commands: Any) -> None:
    run = commands.add_parser(
        "run", help="run a scenario's Monte Carlo ensemble and write tables and figures",
        description="Run FILE's replications (and its counterfactual) and write timeseries.csv,"
                    " summary.csv, manifest.json and figures/ to DIR.",
    )
    run.add_argument("file", metavar="FILE", help="scenario YAML file")
    run.add_argument("--seeds", type=_positive_int, metavar="N",
                     help="number of replications (default: the scenario's `seeds`)")
    run.add_argument("--out", metavar="DIR", help="output folder (default: results/<name>/)")
    run.add_argument("--workers", type=_positive_int, metavar="N",
                     help="worker processes (default: all cores)")
    run.add_argument("--force", action="store_true", help="replace an existing output folder")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from sim.runner import run_command

    return run_command(path=args.file, seeds=args.seeds, out=args.out, workers=args.workers,
                       force=args.force)


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
    from sim.scenario import load_scenario

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
        "list", help="list the moves, chips or parameters a scenario can use",
        description="moves: every policy move with its parameters; chips: the chip catalogue;"
                    " parameters: every model parameter with its default, unit and source.",
    )
    listing.add_argument("what", choices=("moves", "chips", "parameters"))
    listing.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    lines = {"moves": _move_lines, "chips": _chip_lines, "parameters": _parameter_lines}
    for line in lines[args.what]():
        print(line)
    return EXIT_OK


def _move_lines() -> list[str]:
    from sim.moves import MOVES

    lines: list[str] = []
    for name, cls in sorted(MOVES.items(), key=_move_order):
        record = f"  [FACTS {', '.join(cls.record)}]" if cls.record else ""
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        lines += [f"{name}{record}", f"    {summary}"]
        params = cls.parameters()
        width = max((len(p) for p in params), default=0)
        for param, meaning in params.items():
            field = cls.model_fields[param]
            if field.is_required():
                default = "required"
            elif field.default is None:
                default = "optional"
            else:
                default = f"default {_number(field.default)}"
            lines.append(f"      {param:<{width}}  {meaning} ({default})")
        lines.append("")
    return lines[:-1]


def _move_order(item: tuple[str, Any]) -> tuple[int, int]:
    """Order moves as the spec does: US, China, transit, then market-wide."""
    prefixes = ("us.", "cn.", "transit.", "supply.", "trade.")
    name = item[0]
    rank = next((i for i, p in enumerate(prefixes) if name.startswith(p)), len(prefixes))
    return rank, 0


def _chip_lines() -> list[str]:
    from dataclasses import asdict

    from sim.catalogue import CHIPS
    from sim.months import format_month

    rows = [asdict(chip) for chip in CHIPS.values()]
    headers = list(rows[0]) if rows else ["name"]

    def cell(header: str, value: object) -> str:
        if header.endswith("_from") and isinstance(value, int) and not isinstance(value, bool):
            return format_month(value)  # a month index
        return "-" if value is None else _number(value)

    return _table(headers, [[cell(h, row[h]) for h in headers] for row in rows])


def _parameter_lines() -> list[str]:
    from sim.parameters import DEFAULTS, Distribution

    rows = []
    for spec in DEFAULTS.values():
        value = spec.value
        if isinstance(value, Distribution):
            default = f"{value.kind}({', '.join(_number(a) for a in value.args)})"
        else:
            default = _number(value)
        rows.append([spec.name, default, spec.unit, spec.source])
    return _table(["name", "default", "unit", "source"], rows)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _number(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_number(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e7 else f"{value:.3g}"
    return str(value)


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


# --- validate and calibrate ------------------------------------------------------------------


def _add_validate(commands: Any) -> None:
    validate = commands.add_parser(
        "validate", help="check the FACTS section C patterns against the shipped defaults",
        description="Run the 2024-2026 timeline and its variants and report, for each pattern of"
                    " the record, its target, source, the model's median and 5-95 %% range, and"
                    " the share of seeds in which it holds. Exit 1 if any pattern holds in"
                    " fewer than --threshold of seeds.",
    )
    validate.add_argument("--seeds", type=_positive_int, default=20, metavar="N",
                          help="replications per scenario (default 20)")
    validate.add_argument("--workers", type=_positive_int, metavar="N",
                          help="worker processes (default: all cores)")
    validate.add_argument("--threshold", type=float, default=0.8, metavar="SHARE",
                          help="share of seeds a pattern must hold in (default 0.8)")
    validate.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace) -> int:
    from sim.executors import default_workers
    from sim.validation import report, validate

    results = validate(seeds=args.seeds, workers=args.workers or default_workers())
    print(report(results, args.threshold))
    return 0 if all(r.passed(args.threshold) for r in results) else EXIT_FAILURE


def _add_calibrate(commands: Any) -> None:
    calibrate = commands.add_parser(
        "calibrate", help="re-fit the calibrated parameters to the record's figures",
        description="Fit the parameters listed in sim/calibration.py to FACTS F1, F2 and F6 by"
                    " Nelder-Mead and print the values to put in sim/data/parameters.yaml.",
    )
    calibrate.add_argument("--seeds", type=_positive_int, default=6, metavar="N",
                           help="replications per evaluation (default 6)")
    calibrate.add_argument("--evaluations", type=_positive_int, default=60, metavar="N",
                           help="most model evaluations (default 60)")
    calibrate.set_defaults(handler=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    from sim.calibration import calibrate, report

    print(report(calibrate(seeds=args.seeds, max_evaluations=args.evaluations)))
    return 0
