"""Mesa's own tools on the chip-trade model: ``mesa.batch_run``, DataCollector, SolaraViz.

:class:`~sim.model.model.ChipTradeModel` is an ordinary Mesa model; this module holds the few pieces
that let Mesa's generic tools drive it:

* :func:`resolve_scenario` - the model accepts its scenario the way ``batch_run`` and SolaraViz
  pass arguments, as keywords: a loaded :class:`~sim.scenario.scenario.Scenario`, the path of
  a scenario file, a :class:`ChipScenario`, or nothing (the baseline shipped in ``scenarios/``)::

      from mesa.batchrunner import batch_run
      rows = batch_run(ChipTradeModel, parameters={"scenario": "scenarios/baseline.yaml"},
                       rng=[1, 2], max_steps=60, number_processes=1)

* :class:`MonthlyRecords` - ``model.datacollector``: a Mesa DataCollector whose model variables
  are the metrics the model records each month (:data:`sim.model.metrics.MODEL_METRICS`, plus
  ``date``). The model already keeps them in a numpy array, so collecting a month costs two list
  appends; the columns are read from that array only when asked for. Revenue loss is not among
  them: it needs the counterfactual run (``chipsim run`` / :func:`sim.run` pair the two).
* :class:`ChipScenario` - ``model.scenario``, Mesa's scenario slot, holding the scenario file. On
  Reset SolaraViz rebuilds the model from a new instance of it, so a dashboard exposing ``file``
  as a model parameter rebuilds the model from the chosen file.

Months of burn-in count as Mesa steps (``model.steps``) but are not collected: the collected
rows are the months of the scenario's period, as in ``timeseries.csv``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import mesa
from mesa.experimental.scenarios import Scenario as MesaScenario

from sim.model.metrics import MODEL_METRICS
from sim.scenario.library import SCENARIO_DIR_ENV, search_path
from sim.world.months import format_month

if TYPE_CHECKING:
    import numpy as np

    from sim.scenario.scenario import Scenario

#: File the model runs when given no scenario.
BASELINE_FILE = "baseline.yaml"


class ChipScenario(MesaScenario):
    """Mesa's scenario slot of the model: which scenario file it runs.

    Attributes:
        file: path of the scenario file; empty for a scenario built in code (then a rebuilt
            model runs the baseline).

    """

    file: str = ""


def baseline_path() -> Path:
    """The baseline scenario file shipped with chipsim.

    Looked for in the source tree's ``scenarios/`` (beside the ``sim`` package), then in
    ``$CHIPSIM_SCENARIOS``, then in ``./scenarios``.

    Raises:
        FileNotFoundError: none of them has ``baseline.yaml``.

    """
    folders = search_path()
    for folder in folders:
        if (folder / BASELINE_FILE).is_file():
            return folder / BASELINE_FILE
    raise FileNotFoundError(
        f"no {BASELINE_FILE} in {', '.join(str(f) for f in folders)}; pass scenario= (a"
        f" scenario file or sim.load_scenario(...)) or set {SCENARIO_DIR_ENV}")


def resolve_scenario(value: Scenario | str | os.PathLike[str] | MesaScenario | None
                     ) -> Scenario:
    """Turn what a caller passed as ``scenario`` into a validated chipsim scenario.

    Args:
        value: a :class:`~sim.scenario.scenario.Scenario` (returned as is), a scenario file path, a
            :class:`ChipScenario` (its ``file``), another Mesa scenario or None (the baseline).

    Raises:
        ScenarioError: the file is invalid.
        FileNotFoundError: no baseline file was found when one was needed.

    """
    from sim.scenario.scenario import Scenario, load_scenario

    if isinstance(value, Scenario):
        return value
    if isinstance(value, MesaScenario):
        value = getattr(value, "file", "") or None
    if value is None or value == "":
        return load_scenario(baseline_path())
    return load_scenario(value)


def mesa_scenario(scenario: Scenario) -> ChipScenario:
    """The :class:`ChipScenario` for ``model.scenario``: the file the scenario came from."""
    return ChipScenario(file=str(scenario.path.resolve()) if scenario.path is not None else "")


class Recorded(Protocol):
    """What the collector reads of the model: its records, how far they go, and the clock."""

    records: np.ndarray  # replications x months x MODEL_METRICS
    _row: int  # rows recorded so far
    experiment: Scenario
    time: float


class MonthlyRecords(mesa.DataCollector):
    """A Mesa DataCollector over the metrics the model records each month.

    ``collect(model)`` notes which month was recorded; :attr:`model_vars` reads the values from
    ``model.records`` when asked, so ``get_model_vars_dataframe()`` and ``batch_run`` see one
    column per metric (:data:`~sim.model.metrics.MODEL_METRICS`) plus ``date`` (``YYYY-MM``).

    Args:
        model: the model whose ``records`` are read (its first replication: Mesa's tools run one).

    """

    def __init__(self, model: Recorded) -> None:
        super().__init__()
        self._model = model
        self._rows: list[int] = []
        # what each column is, for tools that list a collector's reporters (the values are
        # read from the records, not by calling these)
        self.model_reporters = {"date": _latest_date,
                                **{name: _Latest(j) for j, name in enumerate(MODEL_METRICS)}}

    def collect(self, model: Recorded) -> None:
        """Note the month just recorded (the model's latest row) and the Mesa time."""
        self._collection_steps.append(model.time)
        self._rows.append(model._row - 1)

    @property
    def model_vars(self) -> dict[str, list[Any]]:
        """Column name -> values, one per collected month."""
        rows = self._rows
        start = self._model.experiment.start
        data = self._model.records[0, rows].T.tolist() if rows else [[] for _ in MODEL_METRICS]
        return {"date": [format_month(start + r) for r in rows],
                **dict(zip(MODEL_METRICS, data, strict=True))}

    @model_vars.setter
    def model_vars(self, _value: dict[str, list[Any]]) -> None:
        """Ignore the base class setting up its own (empty) store."""


class _Latest:
    """Reporter of one metric's latest recorded value (column ``index`` of the records)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __call__(self, model: Recorded) -> float:
        return float(model.records[0, model._row - 1, self.index])


def _latest_date(model: Recorded) -> str:
    """Reporter of the latest recorded month, ``YYYY-MM``."""
    return format_month(model.experiment.start + model._row - 1)
