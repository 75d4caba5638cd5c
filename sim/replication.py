"""One replication: the scenario and its counterfactual, run on the same seed.

This is *what is simulated*, kept apart from *where it runs* (``sim.executors``). A replication
is a pure function of (scenario, counterfactual, replication index): the seed is derived from the
scenario's root seed with numpy's SeedSequence, so the result never depends on which worker ran
it or in which order replications finished.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

import numpy as np

from sim.metrics import METRIC_NAMES, MODEL_METRICS, US_VENDORS, VENDORS
from sim.scenario import Scenario


def replication_seed(root: int, index: int) -> np.random.SeedSequence:
    """Seed of replication ``index``: child ``index`` of the root SeedSequence."""
    return np.random.SeedSequence(root, spawn_key=(index,))


@dataclass(frozen=True)
class ReplicationResult:
    """The metrics of one replication (months x METRIC_NAMES), or the error it raised."""

    index: int
    values: np.ndarray | None
    error: str | None = None


def simulate(scenario: Scenario, seed: np.random.SeedSequence, check: bool = False) -> np.ndarray:
    """Run one model to the end; return its records (months x MODEL_METRICS)."""
    from sim.model import ChipTradeModel

    return ChipTradeModel(scenario, seed=seed, check_conservation=check).run()


def run_replication(
    scenario: Scenario, counterfactual: Scenario, index: int, check: bool = False
) -> ReplicationResult:
    """Run the scenario and its counterfactual on the same seed and pair them.

    Revenue loss is the counterfactual's revenue minus the scenario's, month by month, for the
    same seed (common random numbers), so it is a paired difference. Errors are returned, not
    raised, so one failing replication does not stop an ensemble.
    """
    try:
        seed = replication_seed(scenario.seed, index)
        actual = simulate(scenario, seed, check)
        base = simulate(counterfactual, seed, check)
        return ReplicationResult(index, _with_losses(actual, base))
    except Exception as exc:  # noqa: BLE001 - recorded and reported, not swallowed
        detail = traceback.format_exception_only(exc)[-1].strip()
        return ReplicationResult(index, None, error=detail)


def _with_losses(actual: np.ndarray, base: np.ndarray) -> np.ndarray:
    col = {name: i for i, name in enumerate(MODEL_METRICS)}
    out = np.empty((actual.shape[0], len(METRIC_NAMES)))
    for j, name in enumerate(METRIC_NAMES):
        if name == "revenue_loss_usd":
            out[:, j] = sum(
                base[:, col[f"vendor_revenue_usd_{v}"]] - actual[:, col[f"vendor_revenue_usd_{v}"]]
                for v in US_VENDORS
            )
        elif name.startswith("revenue_loss_usd_"):
            rev = col["vendor_revenue_usd_" + name.removeprefix("revenue_loss_usd_")]
            out[:, j] = base[:, rev] - actual[:, rev]
        else:
            out[:, j] = actual[:, col[name]]
    return out


__all__ = ["ReplicationResult", "replication_seed", "run_replication", "simulate", "VENDORS"]
