"""``chipsim attribute``: which of a scenario's moves cost what (Shapley values).

The subcommand's options, and the command itself: run the attribution
(:mod:`sim.analysis.attribution`), write its folder, and print each player's share of the
revenue loss and of the diverted chips, with their sum beside the total. Everything heavy is
imported when the command runs, so ``chipsim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.scenario.errors import ScenarioError

if TYPE_CHECKING:
    from sim.analysis.attribution import Attribution

#: ``--by`` choices and the default ``--permutations``: those of :mod:`sim.analysis.attribution`
#: (not imported here: it needs numpy and pandas, and ``chipsim --help`` must stay fast).
BY_CHOICES: tuple[str, ...] = ("group", "event")
DEFAULT_PERMUTATIONS = 32
DESCRIPTION = (
    "Split FILE's paired differences from its counterfactual (revenue loss and its parts,"
    " diverted chips, every metric) among its moves by Shapley values, on the seeds of chipsim"
    " run: each group of moves (--by group: US controls, China's measures, market shocks) or"
    " each event (--by event) gets its effect averaged over every order in which the moves"
    " could have come in. Up to 10 groups every subset of them is run and the values are exact;"
    " above, N orders are sampled (--permutations) and attribution.csv gets an se column (the"
    " standard error of each mean). Writes attribution.csv (group, metric, unit, mean, p05,"
    " p50, p95: one row per group and metric, then the total, the scenario's own paired"
    " difference; the groups' means add up to it), per_seed.csv, manifest.json and waterfall"
    " figures of revenue loss and diverted chips to DIR."
)


def add_attribute(commands: Any, count: Callable[[str], int]) -> None:
    """Add the ``attribute`` subcommand; ``count`` parses positive whole numbers."""
    attribute = commands.add_parser(
        "attribute", help="split a scenario's revenue loss (and every metric) among its moves",
        description=DESCRIPTION)
    attribute.add_argument("file", metavar="FILE", help="scenario YAML file")
    attribute.add_argument("--seeds", type=count, metavar="N",
                           help="replications (default: the scenario's `seeds`)")
    attribute.add_argument("--by", choices=BY_CHOICES, default="group",
                           help="group: US controls, China's measures, market shocks"
                                " (default); event: every event on its own")
    attribute.add_argument("--permutations", type=count, default=DEFAULT_PERMUTATIONS,
                           metavar="N", help="orders of the moves sampled above 10 groups"
                                             f" (default {DEFAULT_PERMUTATIONS})")
    attribute.add_argument("--out", metavar="DIR",
                           help="output folder (default: results/attribute-<name>/)")
    where = attribute.add_mutually_exclusive_group()
    where.add_argument("--workers", type=count, metavar="N",
                       help="local worker processes (default: all cores; 1 runs in-process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask cluster, e.g. tcp://HOST:8786 (needs the dask extra)")
    attribute.add_argument("--force", action="store_true",
                           help="replace an existing output folder")
    attribute.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return attribute_command(args.file, seeds=args.seeds, by=args.by,
                             permutations=args.permutations, out=args.out,
                             workers=args.workers, scheduler=args.scheduler, force=args.force)


def attribute_command(path: str, *, seeds: int | None = None, by: str = "group",
                      permutations: int | None = None, out: str | None = None,
                      workers: int | None = None, scheduler: str | None = None,
                      force: bool = False) -> int:
    """Attribute FILE, write its folder and print the headline; return the exit code.

    Exit 1 if a replication failed (seeds that failed in any variant are left out and listed
    in the manifest).

    Raises:
        ScenarioError: invalid input (exit 2): a bad file, no events, too many runs, an
            existing folder without ``--force``, an unusable ``--scheduler``.

    """
    from sim.analysis import attribution
    from sim.experiments.executors import ExecutorError, default_workers
    from sim.experiments.folders import refuse_to_overwrite
    from sim.experiments.pairing import pairing_warning
    from sim.scenario.scenario import load_scenario

    scenario = load_scenario(path)
    k = len(attribution.players(scenario, by))
    n = seeds or scenario.seeds
    orders = permutations or attribution.DEFAULT_PERMUTATIONS
    variants = 2**k if k <= attribution.EXACT_UP_TO else orders * (k - 1) + 2
    if variants * n > attribution.MAX_RUNS:
        raise ScenarioError(f"{variants} variants x {n} seeds = {variants * n:,} runs; at most"
                            f" {attribution.MAX_RUNS:,}", file=path, key="--seeds")
    target = Path(out) if out else Path("results") / f"attribute-{scenario.name}"
    refuse_to_overwrite(target, force, file=path)
    local = None if scheduler else (workers or default_workers())
    try:
        result = attribution.attribute(scenario, n, by=by, permutations=orders, workers=local,
                                       scheduler=scheduler, progress=True)
    except ExecutorError as exc:
        raise ScenarioError(str(exc), file=path, key="--scheduler") from None
    folder = result.write(target, force=force)
    _report(result, folder)
    weak = pairing_warning(result.manifest["pairing"], scenario.name)
    if weak:
        print(weak, file=sys.stderr)
    failed = result.manifest["failed_replications"]
    if failed:
        print(f"  {len(failed)} of {n} seeds failed in some variant and are left out;"
              " manifest.json lists them under failed_replications", file=sys.stderr)
        return 1
    return 0


def _report(result: Attribution, folder: Path) -> None:
    """Each player's mean (5-95 %) of the headline metrics, and the sum of the parts."""
    from sim.analysis.attribution import FIGURES, TOTAL
    from sim.analysis.terminal import compact

    table = result.table
    print(f"{result.scenario.name}: {result.manifest['method']['summary']},"
          f" {len(result.seeds)} paired seeds")
    width = max(len(name) for name in [*table["group"], "sum of the parts"])
    for metric in FIGURES:
        rows = table[table["metric"] == metric]
        print(f"  {metric}: mean (5 % .. 95 %) over seeds")
        for row in rows.itertuples():
            print(f"    {row.group:<{width}}  {compact(row.mean)} ({compact(row.p05)} .."
                  f" {compact(row.p95)})")
        parts = rows[rows["group"] != TOTAL]["mean"].sum()
        print(f"    {'sum of the parts':<{width}}  {compact(parts)}")
    print(f"-> {folder}")
