"""One replication: the scenario and its counterfactual, run on the same seed.

This is *what is simulated*, kept apart from *where it runs* (``sim.experiments.executors``) and
*where the results go* (``sim.experiments.store``). A replication is a pure function of
(scenario, counterfactual, replication index): the seed is derived from the scenario's root seed
with numpy's SeedSequence, so the result never depends on which worker ran it, how many ran beside
it or in which order replications finished.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Mapping, Sequence
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


def simulate(scenario: Scenario, seeds: Sequence[np.random.SeedSequence], check: bool = False,
             parameter_sets: Sequence[Mapping[str, float]] | None = None) -> np.ndarray:
    """Run replications of one scenario together; return records (R x months x MODEL_METRICS).

    Each replication's numbers are the same whatever else runs beside it (keyed draws; see
    ``sim.model.draws``), so a batch is only a way of going faster.
    """
    model = ChipTradeModel(scenario, seeds=list(seeds), parameter_sets=parameter_sets,
                           check_conservation=check)
    return model.run()


def run_replication(
    scenario: Scenario, counterfactual: Scenario, index: int, check: bool = False
) -> ReplicationResult:
    """Run the scenario and its counterfactual on the same seed and pair them.

    Revenue loss is the counterfactual's revenue minus the scenario's, month by month, for the
    same seed (common random numbers), so it is a paired difference. Errors are returned, not
    raised, so one failing replication does not stop an ensemble.
    """
    return run_batch(scenario, counterfactual, check, [index])[0]


def run_batch(
    scenario: Scenario, counterfactual: Scenario, check: bool, indices: Iterable[int],
    parameter_sets: Sequence[Mapping[str, float]] | None = None,
) -> list[ReplicationResult]:
    """Run several replications (one executor task) stepped together; return them in order.

    ``parameter_sets`` fixes values per replication, in the scenario and its counterfactual
    alike (experiments of one study; an index may then appear more than once). If the batch
    raises, each replication is run alone, so that only the one at fault is recorded as failed
    (with its own error) and the others complete.
    """
    indices = list(indices)
    seeds = [replication_seed(scenario.seed, i) for i in indices]
    try:
        actual = simulate(scenario, seeds, check, parameter_sets)
        base = simulate(counterfactual, seeds, check, parameter_sets)
    except Exception as exc:  # noqa: BLE001 - isolated below, or recorded and reported
        if len(indices) == 1:
            return [ReplicationResult(indices[0], None, error=describe_error(exc))]
        sets = parameter_sets or [None] * len(indices)
        return [r for i, one in zip(indices, sets, strict=True)
                for r in run_batch(scenario, counterfactual, check, [i],
                                   None if one is None else [one])]
    return [ReplicationResult(i, with_losses(actual[k], base[k])) for k, i in enumerate(indices)]


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


#: Loss columns and the revenue column each is the paired difference of.
_LOSS_OF: dict[str, str] = {
    "revenue_loss_legal_usd": "vendor_revenue_china_legal_usd",
    "revenue_loss_diversion_usd": "vendor_revenue_diversion_usd",
    "revenue_loss_overseas_usd": "vendor_revenue_overseas_usd",
} | {f"revenue_loss_usd_{v}": f"vendor_revenue_usd_{v}" for v in VENDORS}


def with_losses(actual: np.ndarray, base: np.ndarray) -> np.ndarray:
    """The scenario's records with the paired loss columns: (months x METRIC_NAMES).

    Each loss is the counterfactual's revenue minus the scenario's, month by month, same seed.
    """
    col = {name: i for i, name in enumerate(MODEL_METRICS)}
    out = np.empty((actual.shape[0], len(METRIC_NAMES)))
    for j, name in enumerate(METRIC_NAMES):
        if name == "revenue_loss_usd":
            out[:, j] = sum(base[:, col[f"vendor_revenue_usd_{v}"]]
                            - actual[:, col[f"vendor_revenue_usd_{v}"]] for v in US_VENDORS)
        elif name in _LOSS_OF:
            rev = col[_LOSS_OF[name]]
            out[:, j] = base[:, rev] - actual[:, rev]
        else:
            out[:, j] = actual[:, col[name]]
    return out


__all__ = ["SEED_DERIVATION", "ReplicationResult", "describe_error", "lost_batch",
           "replication_seed", "run_batch", "run_replication", "simulate", "VENDORS"]
