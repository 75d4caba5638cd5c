"""``chipsim attribute``: which of a scenario's moves cost what, by Shapley values.

A scenario's paired difference from its counterfactual - its revenue loss, the chips it
diverts - is the work of all its moves together, and moves interact: a crackdown matters more
once a ban has pushed buyers to smugglers. Shapley values share the difference out fairly:
each *player* (a group of moves, or one move with ``by="event"``) gets its marginal effect
averaged over every order in which the players could have come in (:mod:`sim.analysis.shapley`).

The value of a coalition ``S`` of players is, seed by seed and metric by metric, the paired
difference of the scenario run with only the events of ``S`` against the scenario's
counterfactual, on the same keyed seeds (replication *i* of every variant shares its random
numbers and parameter draws with replication *i* of the counterfactual): for the loss columns
the loss itself (counterfactual minus variant revenue), for every other metric the variant's
period total (final value for stocks and rates, as ``summary.csv``) minus the counterfactual's.
A variant keeps the scenario's period, seeds, population, parameters and initial policy, and
leaves out the other events; a truce whose suspended events are all left out is left out too
(it has nothing to suspend).

* ``total`` is the full scenario's own paired difference, per seed (what ``chipsim run`` reports);
* the players' values add up to it exactly, seed by seed - with a ``no-events`` counterfactual.
  Against a counterfactual *file*, the scenario without any of its events already differs from
  it; that part is the ``without events`` row, and the players share the rest;
* up to :data:`EXACT_UP_TO` players every coalition is run (``2**k`` variants) and the values are
  exact; above, :data:`DEFAULT_PERMUTATIONS` orders of the players are drawn (seeded by the root
  seed) and the values are their average - still adding up exactly, with the standard error of
  each mean over orders in an ``se`` column.

The timeline's default groups (``by="group"``) follow who acts: **US controls** (``us.*`` rules,
the Malaysian permit ``transit.*`` that the US pressed for, and the truce ``trade.*``, which
suspends a US rule), **China's measures** (``cn.*``) and **market shocks** (``supply.*``);
groups without events are left out.

All variants' replications go through chipsim's executors, stepped together by variant, so
the numbers are the same whatever the executor or the number of workers. The results folder
(default ``results/attribute-<name>/``, written atomically) holds ``attribution.csv`` (one row
per player and metric, then ``total``: the mean and 5/50/95 % over seeds of each seed's
value), ``per_seed.csv``, ``manifest.json`` and waterfall figures of revenue loss and diverted
units (:mod:`sim.viz.attribution`).
"""

from __future__ import annotations

import copy
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.analysis import shapley
from sim.model.metrics import BY_NAME, METRIC_NAMES, MODEL_METRICS, PERCENTILES
from sim.scenario.errors import ScenarioError
from sim.world.months import format_month

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.experiments.executors import Executor
    from sim.scenario.scenario import Scenario

#: Player of each move family in the default groups (``by="group"``), in the order shown.
GROUPS: dict[str, str] = {"us": "US controls", "transit": "US controls",
                          "trade": "US controls", "cn": "China's measures",
                          "supply": "market shocks"}
BY_CHOICES: tuple[str, ...] = ("group", "event")
#: Most players whose Shapley values are computed exactly (2**k variants).
EXACT_UP_TO = 10
#: Orders of the players (permutations) sampled above :data:`EXACT_UP_TO`.
DEFAULT_PERMUTATIONS = 32
#: Most variants x seeds one attribution may ask for.
MAX_RUNS = 2_000_000
#: Replications of one variant stepped together in one task, at most.
BATCH_SEEDS = 32
TOTAL = "total"
WITHOUT_EVENTS = "without events"
ATTRIBUTION_FILE = "attribution.csv"
PER_SEED_FILE = "per_seed.csv"
MANIFEST_FILE = "manifest.json"
FIGURES_DIR = "figures"
#: Metric -> file name (in ``figures/``) of its waterfall.
FIGURES: dict[str, str] = {"revenue_loss_usd": "revenue_loss_waterfall",
                           "diverted_units": "diverted_units_waterfall"}
#: Added to the root seed to draw the orders (apart from every replication's seed).
_ORDERS_SALT = 0x5A4A1


# --------------------------------------------------------------------------- players


@dataclass(frozen=True)
class Player:
    """A group of a scenario's events that comes in (or stays out) together.

    Attributes:
        name: shown in tables and figures.
        events: positions of its events in ``scenario.events``.
        labels: each event's id (or ``YYYY-MM move`` without one), for the manifest.

    """

    name: str
    events: tuple[int, ...]
    labels: tuple[str, ...]


def event_label(scenario: Scenario, index: int) -> str:
    """An event's id, or ``YYYY-MM move.name`` if it has none."""
    event = scenario.events[index]
    return event.id or f"{format_month(event.date)} {event.move.name}"


def players(scenario: Scenario, by: str = "group") -> list[Player]:
    """The players of an attribution: groups of moves (:data:`GROUPS`) or single events.

    Raises:
        ScenarioError: ``by`` is unknown, or the scenario has no events.

    """
    if by not in BY_CHOICES:
        raise ScenarioError(f"must be one of {', '.join(BY_CHOICES)} (got {by!r})",
                            file=_label(scenario), key="--by")
    if not scenario.events:
        raise ScenarioError("nothing to attribute: the scenario has no events",
                            file=_label(scenario), key="events")
    indices = range(len(scenario.events))
    if by == "event":
        names = _unique([event_label(scenario, i) for i in indices])
        return [Player(name, (i,), (event_label(scenario, i),)) for i, name in
                zip(indices, names, strict=True)]
    members: dict[str, list[int]] = {}
    for i in indices:
        family = scenario.events[i].move.name.split(".", 1)[0]
        members.setdefault(GROUPS.get(family, "other moves"), []).append(i)
    order = [*dict.fromkeys(GROUPS.values()), "other moves"]
    return [Player(name, tuple(members[name]),
                   tuple(event_label(scenario, i) for i in members[name]))
            for name in order if name in members]


def variant(scenario: Scenario, keep: Iterable[int]) -> Scenario:
    """The scenario with only the events at positions ``keep`` (everything else unchanged).

    A truce keeps only the suspended names still meaningful (move names, ids of kept events)
    and is left out if none is. Levers are dropped. The variant's own counterfactual is not
    used (attribution pairs every variant with the scenario's), so it is set to ``no-events``.
    """
    from sim.moves import MOVES
    from sim.scenario.scenario import NO_EVENTS, scenario_from_dict

    doc = copy.deepcopy(scenario.resolved)
    events = [doc["events"][i] for i in sorted(set(keep))]
    ids = {e["id"] for e in events if "id" in e}
    kept = []
    for event in events:
        if "suspends" in event:
            event["suspends"] = [n for n in event["suspends"] if n in MOVES or n in ids]
            if not event["suspends"]:
                continue
        kept.append(event)
    doc.update(events=kept, counterfactual=NO_EVENTS)
    doc.pop("levers", None)
    return scenario_from_dict(doc, file=f"<{scenario.name} variant>")


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Plan:
    """What every worker needs: the scenarios to run (the counterfactual first) and the seeds.

    Task ``t`` is replication ``t % seeds`` of scenario ``t // seeds``.
    """

    scenarios: tuple[Scenario, ...]
    seeds: int


Task = tuple[int, np.ndarray | None, str | None]


def run_tasks(plan: Plan, batch: Sequence[int]) -> list[Task]:
    """Run a batch of tasks: each scenario's replications stepped together.

    Returns ``(task, values, error)`` per task: ``values`` are the replication's period totals
    (flows) or final values (stocks, rates) of :data:`MODEL_METRICS`; a replication that raises
    gets None and its error, and the batch's others are run again alone.
    """
    from sim.experiments.replication import describe_error, replication_seed, simulate

    out: list[Task] = []
    for number in sorted({task // plan.seeds for task in batch}):
        scenario = plan.scenarios[number]
        indices = [t % plan.seeds for t in batch if t // plan.seeds == number]
        try:
            records = simulate(scenario, [replication_seed(scenario.seed, i) for i in indices])
        except Exception as exc:  # noqa: BLE001 - isolated below, or recorded
            if len(indices) > 1:
                out += [r for i in indices for r in run_tasks(plan, [number * plan.seeds + i])]
            else:
                out.append((number * plan.seeds + indices[0], None, describe_error(exc)))
            continue
        totals = period_values(records)
        out += [(number * plan.seeds + i, totals[k], None) for k, i in enumerate(indices)]
    return out


def lost_tasks(batch: Sequence[int], why: str) -> list[Task]:
    """``on_lost`` of the executor: tasks whose worker died twice are failed replications."""
    return [(task, None, f"WorkerLost: {why}") for task in batch]


_FLOW = np.array([BY_NAME[m].kind == "flow" for m in MODEL_METRICS])


def period_values(records: np.ndarray) -> np.ndarray:
    """Replications x months x MODEL_METRICS -> replications x MODEL_METRICS, as summary.csv.

    A flow is summed over the months, a stock or a rate read at the final month.
    """
    return np.where(_FLOW, records.sum(axis=1), records[:, -1, :])


def _batches(scenarios: int, seeds: int, slots: int) -> list[list[int]]:
    """Each scenario's seeds in consecutive batches: enough to keep every slot busy."""
    size = max(1, min(BATCH_SEEDS, seeds, -(-scenarios * seeds // (4 * max(1, slots)))))
    return [list(range(s * seeds + a, s * seeds + min(a + size, seeds)))
            for s in range(scenarios) for a in range(0, seeds, size)]


def _run(plan: Plan, executor: Executor, progress: bool) -> dict[int, Task]:
    """Every task of the plan, by task number."""
    from sim.experiments.executors import check_workers

    done: dict[int, Task] = {}
    bar = _progress(len(plan.scenarios) * plan.seeds, progress)
    try:
        with executor:
            check_workers(executor)
            batches = _batches(len(plan.scenarios), plan.seeds, executor.slots)
            for batch in executor.map(run_tasks, (plan,), batches, on_lost=lost_tasks):
                for task in batch:
                    done[task[0]] = task
                    bar.update(1)
    finally:
        bar.close()
    return done


def _progress(total: int, show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="variants x seeds", unit="run", file=sys.stderr,
                disable=not (show and sys.stderr.isatty()), leave=False)


# --------------------------------------------------------------------------- the result


@dataclass
class Attribution:
    """A scenario's paired differences shared among its players.

    Attributes:
        scenario: the scenario attributed.
        players: who shares the difference, in table order.
        table: ``attribution.csv``: ``group``, ``metric``, ``unit``, ``mean``, ``p05``,
            ``p50``, ``p95`` (and ``se`` when sampled); per metric one row per player, then
            ``without events`` (file counterfactuals only) and ``total``.
        per_seed: ``group``, ``seed``, then every metric: each seed's value per row of the table.
        seeds: the seeds that succeeded in every variant.
        manifest: what was run, how, and with what.

    """

    scenario: Scenario
    players: list[Player]
    table: pd.DataFrame
    per_seed: pd.DataFrame
    seeds: list[int]
    manifest: dict[str, Any] = field(default_factory=dict)

    def plot(self, metric: str = "revenue_loss_usd") -> Figure:
        """The waterfall of one metric: each player's step from 0 to the total."""
        from sim.viz.attribution import waterfall

        return waterfall(self.table, metric, title=self.scenario.title,
                         n_seeds=len(self.seeds), method=self.manifest["method"]["summary"])

    def write(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write tables, figures and manifest to ``out_dir`` atomically."""
        from sim.experiments.folders import atomic_folder, write_csv, write_json
        from sim.viz.style import save

        with atomic_folder(Path(out_dir), force) as tmp:
            write_csv(self.table, tmp / ATTRIBUTION_FILE)
            write_csv(self.per_seed, tmp / PER_SEED_FILE)
            write_json(tmp / MANIFEST_FILE, self.manifest)
            if self.seeds:
                for metric, name in FIGURES.items():
                    save(self.plot(metric), tmp / FIGURES_DIR / name)
        return Path(out_dir)


def attribute(scenario: Scenario | str | os.PathLike[str], seeds: int | None = None, *,
              by: str = "group", permutations: int = DEFAULT_PERMUTATIONS,
              workers: int | None = None, scheduler: str | None = None,
              executor: Executor | None = None, exact_up_to: int = EXACT_UP_TO,
              progress: bool = False) -> Attribution:
    """Share a scenario's paired differences among its moves by Shapley values.

    Args:
        scenario: a loaded scenario or the path of a scenario file.
        seeds: replications (default: the scenario's ``seeds``); the seeds of ``chipsim run``.
        by: ``group`` (US controls, China's measures, market shocks) or ``event``.
        permutations: orders of the players sampled when there are more than ``exact_up_to``.
        workers: local processes (default 1: in this process).
        scheduler: address of a Dask scheduler to run on instead.
        executor: an executor of :mod:`sim.experiments.executors` (overrides both).
        exact_up_to: most players computed exactly (all ``2**k`` coalitions).
        progress: show a progress bar on a terminal.

    Returns:
        The :class:`Attribution` (``.table`` and ``.per_seed`` are DataFrames).

    Raises:
        ScenarioError: the file is invalid, has no events, or ``by`` is unknown.
        sim.experiments.executors.ExecutorError: the executor cannot be used (e.g. dask is
            not installed).

    """
    from sim.experiments.executors import make_executor
    from sim.experiments.replication import SEED_DERIVATION
    from sim.scenario.scenario import NO_EVENTS, load_counterfactual, load_scenario

    if isinstance(scenario, str | os.PathLike):
        scenario = load_scenario(scenario)
    team = players(scenario, by)
    n = scenario.seeds if seeds is None else seeds
    k = len(team)
    ordering = None if k <= exact_up_to else shapley.sample_orders(
        k, permutations, scenario.seed + _ORDERS_SALT)
    masks = shapley.coalitions_exact(k) if ordering is None else shapley.coalitions_of(ordering)
    counterfactual = load_counterfactual(scenario)
    # with a no-events counterfactual the empty coalition is the counterfactual itself
    shared_empty = scenario.counterfactual == NO_EVENTS
    run_masks = [m for m in masks if not (m == 0 and shared_empty)]
    variants = [scenario if m == shapley.full(k) else
                variant(scenario, [i for p in _members(team, m) for i in p.events])
                for m in run_masks]
    started, clock = datetime.now(UTC), time.perf_counter()
    chosen = executor or make_executor(workers if scheduler else (workers or 1), scheduler)
    done = _run(Plan((counterfactual, *variants), n), chosen, progress)
    failures = {t % n: err for t, (_, _, err) in sorted(done.items()) if err is not None}
    good = [i for i in range(n) if i not in failures]
    value, base = _values(done, run_masks, n, good)
    phi, spread = _shapley(value, k, ordering)
    rows = [(p.name, phi[i]) for i, p in enumerate(team)]
    if not shared_empty:
        rows.append((WITHOUT_EVENTS, value[0]))
    rows.append((TOTAL, value[shapley.full(k)]))
    manifest = _manifest(scenario, counterfactual, team, by, n, masks, ordering, failures,
                         value[shapley.full(k)], base, started, time.perf_counter() - clock,
                         chosen.describe(), SEED_DERIVATION)
    return Attribution(scenario, team, _table(rows, spread, k), _per_seed(rows, good), good,
                       manifest)


def _values(done: dict[int, Task], masks: list[int], n: int,
            good: list[int]) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Each coalition's value (seeds x METRIC_NAMES), and the counterfactual's period values.

    Task ``t`` of scenario ``j + 1`` is coalition ``masks[j]``'s (scenario 0 is the
    counterfactual, which is also the empty coalition when it is not run on its own).
    """
    base = np.array([done[i][1] for i in good]).reshape(len(good), len(MODEL_METRICS))
    value = {m: _paired(np.array([done[(j + 1) * n + i][1] for i in good]), base)
             for j, m in enumerate(masks)}
    value.setdefault(0, _paired(base, base))
    return value, base


def _members(team: Sequence[Player], mask: int) -> list[Player]:
    return [p for i, p in enumerate(team) if mask >> i & 1]


def _paired(actual: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Per seed and metric: the variant's paired difference from the counterfactual.

    The loss columns are the losses themselves (counterfactual minus variant revenue); every
    other metric is the variant's value minus the counterfactual's.
    """
    from sim.experiments.replication import with_losses

    out = np.empty((len(base), len(METRIC_NAMES)))
    for s in range(len(base)):
        out[s] = (with_losses(actual[s:s + 1], base[s:s + 1])
                  - with_losses(base[s:s + 1], base[s:s + 1]))[0]
    return out


def _shapley(value: dict[int, np.ndarray], k: int,
             ordering: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Players' values per seed and metric, and (sampled) each mean's standard error."""
    if ordering is None:
        return shapley.exact(value, k), None
    phi, each = shapley.sampled(value, ordering)
    if not each.shape[2]:  # no seed succeeded
        return phi, np.full((k, len(METRIC_NAMES)), np.nan)
    return phi, shapley.standard_error(each.mean(axis=2))


def _stats(values: np.ndarray) -> list[float]:
    """Mean, then :data:`PERCENTILES`, over the seeds with a value (NaN if none has)."""
    values = values[~np.isnan(values)]
    if values.size == 0:
        return [float("nan")] * (1 + len(PERCENTILES))
    return [float(np.mean(values)), *(float(np.percentile(values, q)) for _, q in PERCENTILES)]


def _table(rows: list[tuple[str, np.ndarray]], spread: np.ndarray | None,
           players: int) -> pd.DataFrame:
    """``attribution.csv``: per metric, one row per player, then the other rows."""
    columns = ["group", "metric", "unit", "mean", *(c for c, _ in PERCENTILES)]
    out = []
    for j, metric in enumerate(METRIC_NAMES):
        for r, (group, values) in enumerate(rows):
            line: list[Any] = [group, metric, BY_NAME[metric].unit, *_stats(values[:, j])]
            if spread is not None:
                line.append(float(spread[r, j]) if r < players else 0.0)
            out.append(line)
    return pd.DataFrame(out, columns=columns + (["se"] if spread is not None else []))


def _per_seed(rows: list[tuple[str, np.ndarray]], seeds: list[int]) -> pd.DataFrame:
    """``per_seed.csv``: ``group``, ``seed``, then each metric's value."""
    frames = []
    for group, values in rows:
        frame = pd.DataFrame(values.reshape(len(seeds), len(METRIC_NAMES)),
                             columns=list(METRIC_NAMES))
        frame.insert(0, "seed", seeds)
        frame.insert(0, "group", group)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _manifest(scenario: Scenario, counterfactual: Scenario, team: list[Player], by: str,
              n: int, masks: list[int], ordering: np.ndarray | None, failures: dict[int, str],
              total: np.ndarray, base: np.ndarray, started: datetime, wall: float,
              executor: dict[str, Any], derivation: str) -> dict[str, Any]:
    from sim.experiments.manifest import package_versions, scenario_record
    from sim.experiments.pairing import pairing_strength
    from sim.experiments.store import code_fingerprint
    from sim.scenario.scenario import NO_EVENTS

    k = len(team)
    if ordering is None:
        method = {"shapley": "exact", "coalitions": len(masks),
                  "summary": f"exact Shapley values over {k} players ({len(masks)} coalitions)"}
    else:
        method = {"shapley": "sampled permutations", "permutations": len(ordering),
                  "permutations_seed": scenario.seed + _ORDERS_SALT, "coalitions": len(masks),
                  "se": "the se column: standard error of each mean over the sampled"
                        " permutations (the players' values still add up to the total exactly)",
                  "summary": f"Shapley values of {k} players from {len(ordering)} sampled"
                             " permutations (se: their standard error)"}
    loss = METRIC_NAMES.index("revenue_loss_usd")
    revenue = base[:, MODEL_METRICS.index("vendor_revenue_usd")] - total[:, loss]
    return {
        "kind": "attribute",
        **scenario_record(scenario),
        "counterfactual": {"name": counterfactual.name, "hash": counterfactual.content_hash(),
                           "given_as": scenario.resolved.get("counterfactual", NO_EVENTS)},
        "seeds": {"root_seed": scenario.seed, "count": n, "derivation": derivation},
        "by": by,
        "players": [{"name": p.name, "events": list(p.labels)} for p in team],
        "method": method,
        "value": "v(S), per seed and metric: the paired difference of the scenario with only"
                 " the events of the players in S against the scenario's counterfactual, on"
                 " the same seeds (loss columns: the loss; other metrics: variant minus"
                 " counterfactual, period total or final value)",
        "total": "the full scenario's own paired difference per seed; the players' values add"
                 " up to it" + ("" if scenario.counterfactual == NO_EVENTS else
                                " with the 'without events' row (the scenario without its"
                                " events against the counterfactual file)"),
        "pairing": pairing_strength(pd.DataFrame({"vendor_revenue_usd": revenue,
                                                  "revenue_loss_usd": total[:, loss]})),
        "failed_replications": {str(i): err for i, err in sorted(failures.items())},
        "executor": executor,
        "versions": package_versions(),
        "code_fingerprint": code_fingerprint(),
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_time_s": round(wall, 3),
        "command_line": sys.argv,
    }


def _label(scenario: Scenario) -> str:
    return str(scenario.path) if scenario.path is not None else scenario.name


def _unique(names: list[str]) -> list[str]:
    """Names made unique: the second ``x`` becomes ``x (2)``."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out



__all__ = ["Attribution", "Player", "attribute", "players", "variant"]
