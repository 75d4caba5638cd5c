"""The fate of unmet need (issue 11): what buyers wanted and did not get is given up or waits.

Each month the need neither received nor on order is split by ``demand.unmet_abandon_share``:
that share is given up (``abandoned_h100e``) and the rest waits for next month's choice
(``backlog_h100e``). A stockpile bought ahead of a rule is held and reported
(``stockpile_h100e``) until it is drawn on. A licence rule that comes without notice leaves
buyers of the H20 short, so there is unmet need to watch.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ensemble, make, month_index

from sim.model.metrics import MODEL_METRICS

BAN = {"date": "2024-06", "move": "us.licence_requirement", "chips": ["H20", "MI308"],
       "approval": 0.0}


def column(records: np.ndarray, metric: str) -> np.ndarray:
    """One metric, every replication and month: (seeds, months)."""
    return records[:, :, MODEL_METRICS.index(metric)]


def run(abandon: float, events: tuple = (BAN,), **parameters: float) -> np.ndarray:
    """The records of three replications with ``abandon`` as the abandon share."""
    scenario = make(events=list(events),
                    parameters={"demand.unmet_abandon_share": abandon, **parameters})
    return ensemble(scenario, seeds=3)


@pytest.mark.parametrize("abandon", [0.3, 0.6])
def test_unmet_need_is_split_between_giving_up_and_waiting_by_the_abandon_share(abandon):
    records = run(abandon)
    given_up, waiting = column(records, "abandoned_h100e"), column(records, "backlog_h100e")
    assert given_up.sum() > 0  # the rule leaves need unmet
    short = waiting > 0
    assert short.any()
    assert given_up[short] / waiting[short] == pytest.approx(abandon / (1 - abandon), rel=1e-9)
    assert (given_up[~short] == 0).all()


def test_need_that_waits_is_met_later_and_need_given_up_is_lost():
    """All given up: nothing waits. Nothing given up: nothing is lost, and buyers end the
    period with more compute, since the need that waited was met later."""
    all_given_up, all_waiting = run(1.0), run(0.0)
    assert (column(all_given_up, "backlog_h100e") == 0).all()
    assert column(all_given_up, "abandoned_h100e").sum() > 0
    assert (column(all_waiting, "abandoned_h100e") == 0).all()
    assert column(all_waiting, "backlog_h100e").sum() > 0
    final = column(all_waiting, "china_compute_h100e")[:, -1]
    assert (final > column(all_given_up, "china_compute_h100e")[:, -1]).all()


def test_the_stockpile_bought_ahead_of_a_rule_is_held_then_drawn_on():
    """Announced four months ahead, the rule is bought ahead of: the stockpile is nil before
    the announcement, grows until the rule bites and shrinks once buyers draw on it."""
    ahead = BAN | {"date": "2024-10", "announced": "2024-06"}
    scenario = make(events=[ahead], parameters={"buyers.anticipation_months": 0})
    held = np.median(column(ensemble(scenario, seeds=3), "stockpile_h100e"), axis=0)
    may, sep, dec = (month_index(scenario, m) for m in ("2024-05", "2024-09", "2024-12"))
    assert held[may] == 0
    assert held[sep] > 0
    assert held[dec] < held[sep + 1]
