"""One replication: the scenario and its counterfactual, run on the same seed.

This is *what is simulated*, kept apart from *where it runs* (``sim.experiments.executors``) and
*where the results go* (``sim.experiments.store``). A replication is a pure function of
(scenario, counterfactual, replication index): the seed is derived from the scenario's root seed
with numpy's SeedSequence, so the result never depends on which worker ran it, how many ran beside
it or in which order replications finished.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.model.metrics import METRIC_NAMES, MODEL_METRICS
from sim.model.model import ChipTradeModel  # imported here so forked workers inherit it
from sim.scenario.scenario import Scenario
from sim.world.actors import US_VENDORS, VENDORS

#: How the seed of replication ``index`` is made, in words (written to manifests).
SEED_DERIVATION = ("numpy.random.SeedSequence(root_seed, spawn_key=(index,)), "
                   "index = 0..count-1; the counterfactual uses the same seed")


def replication_seed(root: int, index: int) -> np.random.SeedSequence:
    """Seed of replication ``index``: child ``index`` of the root SeedSequence."""
    return np.random.SeedSequence(root, spawn_key=(index,))


@dataclass(frozen=True)
class ReplicationResult:
    """The metrics of one replication (months x METRIC_NAMES), or the error it raised.

    Attributes:
        index: the replication index (its seed is ``replication_seed(root_seed, index)``).
        values: months x :data:`~sim.model.metrics.METRIC_NAMES`, or None if it failed.
        error: one line: the exception and where it was raised, if it failed.

    """

    index: int
    values: np.ndarray | None
    error: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the replication raised."""
        return self.values is None


def simulate(scenario: Scenario, seed: np.random.SeedSequence, check: bool = False) -> np.ndarray:
    """Run one model to the end; return its records (months x MODEL_METRICS)."""
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
        return ReplicationResult(index, None, error=describe_error(exc))


def run_batch(
    scenario: Scenario, counterfactual: Scenario, check: bool, indices: Iterable[int]
) -> list[ReplicationResult]:
    """Run several replications in a row (one executor task); return them in index order."""
    return [run_replication(scenario, counterfactual, i, check) for i in indices]


def lost_batch(indices: Iterable[int], why: str) -> list[ReplicationResult]:
    """Replications whose worker process died under them (twice): failed, saying how."""
    return [ReplicationResult(i, None, error=f"WorkerLost: {why}") for i in indices]


def describe_error(exc: BaseException) -> str:
    """One line: ``Type: message (at file:line in function)``, the innermost frame's place."""
    text = traceback.format_exception_only(exc)[-1].strip()
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {_short_path(last.filename)}:{last.lineno} in {last.name})"
    return " ".join(text.split())


def _short_path(filename: str) -> str:
    """A file inside the ``sim`` package as ``sim/...``; others as given."""
    path = Path(filename)
    parts = path.parts
    if "sim" in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("sim"):])
    return filename


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


__all__ = ["SEED_DERIVATION", "ReplicationResult", "describe_error", "lost_batch",
           "replication_seed", "run_batch", "run_replication", "simulate", "VENDORS"]
