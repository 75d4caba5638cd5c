"""chipsim: an agent-based model of the AI-accelerator trade under export controls.

The Python API in two calls::

    import sim
    scenario = sim.load_scenario("scenarios/timeline-2024-2026.yaml")
    results = sim.run(scenario, seeds=10)
    results.timeseries, results.summary      # pandas DataFrames

Heavy modules load on first use, so ``import sim`` (and ``chipsim --help``) stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["load_scenario", "run", "__version__"]

if TYPE_CHECKING:
    from sim.runner import run
    from sim.scenario import load_scenario


def __getattr__(name: str) -> Any:
    if name == "load_scenario":
        from sim.scenario import load_scenario

        return load_scenario
    if name == "run":
        from sim.runner import run

        return run
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
