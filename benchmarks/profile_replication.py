"""Profile timeline replications (counterfactual included) as the runner runs them, in batches.

    .venv/bin/python benchmarks/profile_replication.py                  # batches of 64, cProfile
    .venv/bin/python benchmarks/profile_replication.py --batch 1 -n 20  # one replication at a time
    .venv/bin/python benchmarks/profile_replication.py --lines sim.model.market.choice:planned_units
    .venv/bin/python benchmarks/profile_replication.py --tree           # + pyinstrument call tree

A batch is what an executor task runs: ``run_batch(scenario, counterfactual, False, indices)``,
the scenario and its counterfactual each as one model of R replications stepped together
(``--batch R``, default the runner's batch size). One warm-up batch runs first, outside the
profile, so imports and caches are excluded. Prints cProfile's functions with the most *self*
time, each also in milliseconds per replication, and the Python calls per model month (the
per-call overhead that batching spreads over R). ``--lines MODULE:FUNCTION`` (repeatable) adds
line_profiler's line-by-line times of those functions (``pip install line_profiler``);
``--tree`` adds pyinstrument's call tree (``pip install pyinstrument``).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _function(spec: str) -> object:
    """``module:qualname`` -> the function (methods as ``module:Class.method``)."""
    module, _, name = spec.partition(":")
    obj: object = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=3, help="batches profiled (default 3)")
    parser.add_argument("--batch", type=int, default=None,
                        help="replications per batch (default: the runner's batch size)")
    parser.add_argument("--population", type=int, default=None,
                        help="small buyers and smugglers each (default: the scenario's)")
    parser.add_argument("--top", type=int, default=25, help="rows of the flat view")
    parser.add_argument("--lines", action="append", default=[], metavar="MODULE:FUNCTION",
                        help="line-profile this function (repeatable; needs line_profiler)")
    parser.add_argument("--tree", action="store_true",
                        help="also print pyinstrument's call tree (needs pyinstrument)")
    args = parser.parse_args()

    from run import runner_batch_size

    from sim.experiments.replication import run_batch
    from sim.scenario.scenario import load_counterfactual, load_scenario
    from sim.world.parameters import DEFAULTS

    scenario = load_scenario(ROOT / "scenarios" / "timeline-2024-2026.yaml")
    if args.population:
        scenario = scenario.replace(population={
            "small_buyers": args.population, "smugglers": args.population,
            "cloud_providers": scenario.population["cloud_providers"]})
    counterfactual = load_counterfactual(scenario)
    size = args.batch or runner_batch_size()
    batches = [list(range(b * size, (b + 1) * size)) for b in range(1, args.n + 1)]
    replications = size * args.n
    burn = int(scenario.parameters.get("model.burn_in_months",
                                       DEFAULTS["model.burn_in_months"].value))
    model_months = args.n * 2 * (len(scenario.months) + burn)  # scenario + counterfactual

    def work() -> None:
        for batch in batches:
            for result in run_batch(scenario, counterfactual, False, batch):
                if result.error:
                    raise RuntimeError(result.error)

    run_batch(scenario, counterfactual, False, list(range(size)))  # warm-up: imports, caches
    start = time.perf_counter()
    work()
    plain = time.perf_counter() - start
    print(f"== {args.n} batches of {size} timeline replications with counterfactual "
          f"(population {scenario.population}): {plain:.2f} s unprofiled, "
          f"{plain / replications * 1e3:.1f} ms per replication ==")

    profile = cProfile.Profile()
    profile.enable()
    work()
    profile.disable()
    stats = pstats.Stats(profile)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    calls = sum(row[1] for row in stats.stats.values())  # type: ignore[attr-defined]
    print(f"== cProfile: {total:.2f} s profiled; {calls:,} calls = {calls / model_months:,.0f} per"
          f" model month (R = {size}) ==")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])  # type: ignore[attr-defined]
    print(f"{'self %':>7} {'ms/rep':>7} {'calls':>9}  function")
    for (file, line, name), (_, ncalls, tottime, _, _) in rows[:args.top]:
        where = file.split("/sim/", 1)[1] if "/sim/" in file else Path(file).name
        print(f"{tottime / total:7.1%} {tottime / replications * 1e3:7.2f} {ncalls:9,}  "
              f"{where}:{line}({name})")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(
        r"sim/(model|experiments)", args.top)
    print("== cProfile, cumulative time, chipsim's functions ==")
    print(out.getvalue())

    if args.lines:
        from line_profiler import LineProfiler

        lines = LineProfiler()
        for spec in args.lines:
            lines.add_function(_function(spec))
        lines.runcall(work)
        print(f"== line_profiler, {args.n} batches of {size} ==")
        lines.print_stats(output_unit=1e-3)

    if args.tree:
        try:
            from pyinstrument import Profiler
            from pyinstrument.renderers import ConsoleRenderer
        except ImportError:
            print("pyinstrument is not installed: .venv/bin/pip install pyinstrument",
                  file=sys.stderr)
            return 2
        profiler = Profiler(interval=0.0005)
        profiler.start()
        work()
        profiler.stop()
        print(f"== pyinstrument call tree, {args.n} batches of {size} ==")
        print(ConsoleRenderer(unicode=True, color=False, show_all=False).render(
            profiler.last_session))
    return 0


if __name__ == "__main__":
    sys.exit(main())
