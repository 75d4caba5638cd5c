"""chipsim: an agent-based model of the AI-accelerator trade under export controls.

The Python API in two calls::

    import sim
    scenario = sim.load_scenario("scenarios/timeline-2024-2026.yaml")
    results = sim.run(scenario, seeds=10)
    results.timeseries, results.summary      # pandas DataFrames

and for comparisons and sensitivity analysis::

    sim.compare(["scenarios/m02-h20-licence.yaml", "scenarios/whatif-h20-ban-earlier.yaml"])
    sim.analyse_scenario(sim.load_scenario("my-uncertain-scenario.yaml"), samples=64)

which move cost what (Shapley values of the moves, on the same seeds)::

    sim.attribute("scenarios/timeline-2024-2026.yaml", seeds=20).table

and for EMA Workbench (the ``ema`` extra)::

    ema_workbench.perform_experiments(sim.ema_model("scenarios/sensitivity-timeline.yaml"), 50)

Heavy modules load on first use, so ``import sim`` (and ``chipsim --help``) stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["analyse_scenario", "attribute", "compare", "ema_model", "load_scenario", "run",
           "__version__"]

#: Public name -> the module that defines it (imported on first use).
_LAZY = {
    "analyse_scenario": "sim.analysis.sensitivity",
    "attribute": "sim.analysis.attribution",
    "compare": "sim.analysis.compare",
    "ema_model": "sim.analysis.ema",
    "load_scenario": "sim.scenario.scenario",
    "run": "sim.experiments.runner",
}

if TYPE_CHECKING:
    from sim.analysis.attribution import attribute
    from sim.analysis.compare import compare
    from sim.analysis.ema import ema_model
    from sim.analysis.sensitivity import analyse_scenario
    from sim.experiments.runner import run
    from sim.scenario.scenario import load_scenario


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
