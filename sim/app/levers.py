"""The dashboard's policy levers, and the model it steps: a scenario with the levers applied.

**Levers.** Each lever is neutral at its default (no revenue share, enforcement ×1, no Chinese
import block, no subsidy, no remote-access rule) and then leaves the scenario as written. Moved
away from neutral, a lever *replaces* the scenario's own moves of its kind from the month chosen
in "Levers take effect" onwards (:func:`with_levers`). Lever settings apply when the model is
(re)built: press Reset after moving them.

The model class SolaraViz rebuilds on Reset is :class:`DashboardModel`, a thin subclass of
:class:`~sim.model.model.ChipTradeModel` whose constructor takes the scenario name and lever
values as keyword arguments (SolaraViz needs that) and which steps a counterfactual twin
alongside. The scenarios it offers are the valid files of one folder (:func:`scenario_dir`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.analysis.chip_flows import FlowMeter, flows_of
from sim.experiments.replication import replication_seed
from sim.model.metrics import MODEL_METRICS
from sim.model.model import ChipTradeModel
from sim.moves import MOVES
from sim.scenario.errors import ScenarioError
from sim.scenario.library import SCENARIO_DIR_ENV, SOURCE_LIBRARY
from sim.scenario.scenario import Event, Scenario, load_counterfactual, load_scenario
from sim.world.catalogue import CHIPS
from sim.world.months import format_month, parse_month

#: Scenario shown first, if present.
DEFAULT_SCENARIO = "timeline-2024-2026"
#: Default month the levers take effect: the H20 licence rule (FACTS M2).
DEFAULT_LEVER_MONTH = "2025-04"
#: US chips a lever's revenue share or import block applies to.
US_CHIPS: tuple[str, ...] = tuple(name for name, chip in CHIPS.items() if chip.is_us)
#: Power discount that comes with a subsidy lever (FACTS M9: power subsidies up to 50 %).
SUBSIDY_POWER_DISCOUNT = 0.5


# --------------------------------------------------------------------------- levers


@dataclass(frozen=True)
class Levers:
    """The dashboard's policy levers. At their defaults they change nothing.

    Attributes:
        revenue_share: US government's share of legal sales of US chips to China (0-1).
        enforcement: Multiplier on smugglers' detection on every route (1: as in the scenario).
        import_block: China blocks imports of US chips; research labs excepted.
        subsidy: The Chinese state funds domestic chips up to this multiple of production cost
            (1: no subsidy), with the 50 % power discount of FACTS M9.
        remote_access: Share of offshore clouds complying with a US remote-access rule (0-1).
        start: Month the levers take effect, ``YYYY-MM`` (default: the period's start; clipped
            to the period).

    """

    revenue_share: float = 0.0
    enforcement: float = 1.0
    import_block: bool = False
    subsidy: float = 1.0
    remote_access: float = 0.0
    start: str | None = None

    def moves(self) -> list[tuple[str, dict, str]]:
        """The moves of the levers that are not neutral: ``(move name, parameters, note)``."""
        out: list[tuple[str, dict, str]] = []
        if self.revenue_share > 0:
            out.append(("us.revenue_share", {"chips": US_CHIPS, "share": self.revenue_share},
                        f"Lever: {self.revenue_share:.0%} revenue share"))
        if self.enforcement != 1.0:
            out.append(("us.enforcement", {"intensity": self.enforcement},
                        f"Lever: enforcement ×{self.enforcement:g}"))
        if self.import_block:
            out.append(("cn.import_block", {"chips": US_CHIPS, "allowed": ("research_labs",)},
                        "Lever: China blocks US chips"))
        if self.subsidy > 1.0:
            out.append(("cn.domestic_subsidy", {"cost_multiple": self.subsidy,
                                                "power_discount": SUBSIDY_POWER_DISCOUNT},
                        f"Lever: subsidy up to {self.subsidy:g}× cost"))
        if self.remote_access > 0:
            out.append(("us.remote_access_rule", {"compliance": self.remote_access},
                        f"Lever: {self.remote_access:.0%} of clouds comply"))
        return out

    def describe(self) -> str:
        """One line naming the levers that are set, or ``"none"``."""
        notes = [note.removeprefix("Lever: ") for _, _, note in self.moves()]
        return ", ".join(notes) if notes else "none"


def with_levers(scenario: Scenario, levers: Levers) -> Scenario:
    """Return the scenario with the levers applied.

    Each lever that is not neutral becomes an event on the levers' month; the scenario's own
    events of the same move from that month on are dropped, so the lever's setting holds for
    the rest of the period. Earlier events of that move still apply until then. Neutral levers
    change nothing (the scenario itself is returned if all are neutral).

    Args:
        scenario: A loaded scenario.
        levers: The lever settings.

    Returns:
        A validated scenario named ``<name>-levers`` (or ``scenario`` unchanged).

    """
    moves = levers.moves()
    if not moves:
        return scenario
    month = scenario.start if levers.start is None else parse_month(levers.start)
    month = min(max(month, scenario.start), scenario.end)
    replaced = {name for name, _, _ in moves}
    kept = [e for e in scenario.events if not (e.move.name in replaced and e.date >= month)]
    added = [Event(date=month, announced=month, note=note,
                   move=MOVES[name].model_validate(params))
             for name, params, note in moves]
    name = f"{scenario.name[:57]}-levers"
    title = f"{scenario.title} + levers from {format_month(month)}"
    # the file's own levers (for `chipsim explore`) may name events a dashboard lever dropped
    return scenario.replace(name=name, title=title, events=tuple(kept + added), levers=())


# --------------------------------------------------------------------------- scenario files


def scenario_dir() -> Path:
    """The folder of scenario files: ``$CHIPSIM_SCENARIOS``, ``./scenarios`` or the repo's."""
    env = os.environ.get(SCENARIO_DIR_ENV)
    if env:
        return Path(env)
    for candidate in (Path.cwd() / "scenarios", SOURCE_LIBRARY):
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "scenarios"


def scenario_names(folder: Path | None = None) -> list[str]:
    """Names (file stems) of the valid scenario files in the folder, sorted."""
    folder = scenario_dir() if folder is None else folder
    files = sorted(folder.glob("*.yaml"))
    return list(_valid_names(tuple((str(f), f.stat().st_mtime_ns) for f in files)))


@functools.lru_cache(maxsize=8)
def _valid_names(files: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    names = []
    for path, _ in files:
        try:
            load_scenario(path)
        except ScenarioError:
            continue  # `chipsim check` reports it; the dashboard just does not offer it
        names.append(Path(path).stem)
    return tuple(names)


def scenario_path(name: str) -> Path:
    """Path of the scenario file called ``name`` (a stem) in :func:`scenario_dir`."""
    path = scenario_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ScenarioError(f"no scenario file {name}.yaml in {scenario_dir()}")
    return path


# --------------------------------------------------------------------------- the model


class DashboardModel(ChipTradeModel):
    """A :class:`~sim.model.model.ChipTradeModel` built from a scenario name and lever values.

    The constructor takes only keyword arguments with defaults, as SolaraViz requires. The
    burn-in months run at construction, so the first step is the period's first month. A
    counterfactual twin (the scenario's counterfactual, same seed) steps alongside, so revenue
    loss is measured live as in ``chipsim run``.

    Args:
        scenario_name: Stem of a file in :func:`scenario_dir`.
        revenue_share: See :class:`Levers`.
        enforcement: See :class:`Levers`.
        import_block: See :class:`Levers`.
        subsidy: See :class:`Levers`.
        remote_access: See :class:`Levers`.
        levers_from: Month the levers take effect, ``YYYY-MM``.
        replication: Replication index: the same seed as replication ``i`` of ``chipsim run``.

    """

    def __init__(self, scenario_name: str = DEFAULT_SCENARIO, revenue_share: float = 0.0,
                 enforcement: float = 1.0, import_block: bool = False, subsidy: float = 1.0,
                 remote_access: float = 0.0, levers_from: str = DEFAULT_LEVER_MONTH,
                 replication: int = 0) -> None:
        self.levers = Levers(revenue_share=float(revenue_share), enforcement=float(enforcement),
                             import_block=bool(import_block), subsidy=float(subsidy),
                             remote_access=float(remote_access), start=levers_from)
        scenario = with_levers(load_scenario(scenario_path(scenario_name)), self.levers)
        seed = replication_seed(scenario.seed, int(replication))
        super().__init__(scenario, seed=seed)
        self.scenario_name = scenario_name
        self.replication = int(replication)
        self.twin = ChipTradeModel(load_counterfactual(scenario), seed=seed)
        while self.month < scenario.start:  # burn-in, not shown and not counted as steps
            ChipTradeModel.step(self)
            ChipTradeModel.step(self.twin)
        self.meter = FlowMeter(self)  # who shipped what to whom, from the period's start

    def step(self) -> None:
        """Advance the model and its counterfactual twin one month."""
        if self.month > self.experiment.end:
            self.running = False
            return
        before = self.meter.shipped_so_far(self)
        super().step()
        ChipTradeModel.step(self.twin)
        self.meter.add_month(self, before)

    def chip_flows(self):  # noqa: ANN201 - a sim.viz.story.ChipFlows (None before the first month)
        """The chips delivered so far: vendor -> channel -> buyer class (one seed)."""
        if self.months_done == 0:
            return None
        vendors, receivers = self.meter.rows(self, self.replication)
        first = self.experiment.start
        return flows_of(vendors, receivers, self.experiment, first,
                        first + self.months_done - 1, 1)

    @property
    def months_done(self) -> int:
        """Months of the period simulated so far."""
        return max(0, min(self.month, self.experiment.end + 1) - self.experiment.start)

    def history(self) -> pd.DataFrame:
        """The months simulated so far, one row each.

        Columns: ``date``, every model metric, the counterfactual's US-vendor revenue
        (``counterfactual_revenue_usd``) and the revenue loss (counterfactual minus scenario).
        """
        n = self.months_done
        frame = pd.DataFrame(self.records[0, :n], columns=list(MODEL_METRICS))
        twin = pd.DataFrame(self.twin.records[0, :n], columns=list(MODEL_METRICS))
        frame.insert(0, "date", [format_month(m) for m in range(self.experiment.start,
                                                                self.experiment.start + n)])
        frame["counterfactual_revenue_usd"] = twin["vendor_revenue_usd"]
        frame["revenue_loss_usd"] = twin["vendor_revenue_usd"] - frame["vendor_revenue_usd"]
        return frame

    def applied_events(self) -> list[Event]:
        """Moves that have taken effect so far, by date."""
        return sorted((e for e in self.experiment.events if e.date < self.month),
                      key=lambda e: e.date)

    def next_events(self) -> list[Event]:
        """Moves of the next month that has any still to come."""
        coming = sorted((e for e in self.experiment.events if e.date >= self.month),
                        key=lambda e: e.date)
        return [e for e in coming if e.date == coming[0].date] if coming else []
