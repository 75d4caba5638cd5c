"""Profile timeline replications (counterfactual included) in steady state, imports excluded.

    /work/venv/bin/pip install pyinstrument            # once; not a chipsim dependency
    /work/venv/bin/python benchmarks/profile_replication.py [-n 10] [--population 10000]

Prints the functions with the most *self* time (flat view) and the call tree. One warm-up
replication runs first, outside the profile, so import time does not swamp the model.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=10, help="replications profiled (default 10)")
    parser.add_argument("--population", type=int, default=None,
                        help="small buyers and smugglers each (default: the scenario's)")
    parser.add_argument("--top", type=int, default=15, help="rows of the flat view")
    args = parser.parse_args()
    try:
        from pyinstrument import Profiler
        from pyinstrument.renderers import ConsoleRenderer
    except ImportError:
        print("pyinstrument is not installed: /work/venv/bin/pip install pyinstrument",
              file=sys.stderr)
        return 2

    from sim.experiments.replication import run_replication
    from sim.scenario.scenario import load_counterfactual, load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "timeline-2024-2026.yaml")
    if args.population:
        scenario = scenario.replace(population={
            "small_buyers": args.population, "smugglers": args.population,
            "cloud_providers": scenario.population["cloud_providers"]})
    counterfactual = load_counterfactual(scenario)
    run_replication(scenario, counterfactual, 0)  # warm-up: imports, caches

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for i in range(1, args.n + 1):
        result = run_replication(scenario, counterfactual, i)
        if result.error:
            raise RuntimeError(result.error)
    profiler.stop()
    tree = ConsoleRenderer(unicode=True, color=False, show_all=False)
    print(f"== pyinstrument call tree, {args.n} replications "
          f"(population {scenario.population}) ==")
    print(tree.render(profiler.last_session))

    # Self time per function: cProfile is exact about it (pyinstrument's flat view lumps
    # "[self]" frames together), at the price of more overhead on small functions.
    profile = cProfile.Profile()
    profile.enable()
    for i in range(1, args.n + 1):
        run_replication(scenario, counterfactual, i)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
    print(f"== cProfile, top {args.top} functions by self time (tottime) ==")
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
