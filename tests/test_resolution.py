"""Population counts are resolution, not market size (SPEC §5, issue 11).

Four times as many agents of any kind - small buyers, smugglers, cloud providers - changes the
timeline's totals of smuggled, cloud, front-company, diverted and legal-export units and its
revenue loss by at most 10 %: market-wide quantities (smuggling capacity, cloud growth, demand)
are totals shared among the agents, not amounts per agent.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TIMELINE

from sim.experiments.replication import replication_seed
from sim.model.metrics import MODEL_METRICS
from sim.model.model import ChipTradeModel
from sim.scenario.scenario import load_counterfactual, load_scenario, scenario_from_dict

SEEDS = 6
TOTALS = ("smuggled_units", "cloud_units", "subsidiary_units", "diverted_units",
          "legal_export_units")
DEFAULT = {"small_buyers": 200, "smugglers": 60, "cloud_providers": 12}


def medians(population: dict[str, int]) -> dict[str, float]:
    timeline = load_scenario(TIMELINE)
    doc = dict(timeline.resolved) | {"population": population}
    doc.pop("counterfactual", None)
    scenario = scenario_from_dict(doc)
    seeds = [replication_seed(scenario.seed, i) for i in range(SEEDS)]
    actual = ChipTradeModel(scenario, seeds=seeds).run()
    base = ChipTradeModel(load_counterfactual(scenario), seeds=seeds).run()
    col = {name: j for j, name in enumerate(MODEL_METRICS)}
    out = {m: float(np.median(actual[:, :, col[m]].sum(axis=1))) for m in TOTALS}
    revenue = col["vendor_revenue_usd"]
    out["revenue_loss_usd"] = float(np.median((base[:, :, revenue] - actual[:, :, revenue])
                                              .sum(axis=1)))
    return out


@pytest.fixture(scope="module")
def default() -> dict[str, float]:
    return medians(DEFAULT)


@pytest.mark.parametrize("kind", [*DEFAULT, "all"])
def test_four_times_the_agents_changes_totals_by_at_most_ten_percent(kind, default):
    population = {k: 4 * n if kind in (k, "all") else n for k, n in DEFAULT.items()}
    finer = medians(population)
    for metric, value in default.items():
        assert finer[metric] == pytest.approx(value, rel=0.10), metric
