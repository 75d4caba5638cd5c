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
from test_each_rule_once import MANY, ONLY_H20

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


def test_a_cancelled_stockpile_order_is_not_unmet_need():
    """Orders cancelled or refused return the need they were for as unmet need; the part of
    them that was a stockpile bought ahead of a restriction was not need (the months it was
    for bring their own), so it only leaves what the buyer has on order."""
    from sim.model.model import ChipTradeModel

    book = ChipTradeModel(make(parameters={"demand.unmet_abandon_share": 0.25}), seed=0).book
    need, stockpile = np.full_like(book.on_order, 30.0), np.full_like(book.on_order, 10.0)
    book.place_orders(need + stockpile, stockpile)
    assert np.allclose(book.on_order, 30.0)  # the stockpile is on order, not for the need
    backlog, abandoned = book.backlog.copy(), book.abandoned.copy()
    book.cancel_orders(need + stockpile, stockpile)
    assert np.allclose(book.on_order, 0.0)
    assert np.allclose(book.backlog - backlog, 0.75 * 30.0)
    assert np.allclose(book.abandoned - abandoned, 0.25 * 30.0 * book.n)


def test_a_stockpile_on_order_does_not_hide_unmet_need():
    """Buyers who order a stockpile ahead of a ban still give up and carry the need they
    could not meet, as buyers who do not stockpile do: orders bought ahead do not count
    towards this month's need (until December 2026 they did, and unmet need all but vanished
    while a stockpile was on its way)."""
    licence = {"move": "us.licence_requirement", "chips": ["H20"], "approval": 1.0,
               "delay_months": 4}  # stockpile orders wait in the book for four months
    ban = {"date": "2024-12", "announced": "2024-06", "move": "us.licence_requirement",
           "chips": ["H20"], "approval": 0.0}

    def given_up(months: float) -> np.ndarray:
        parameters = {"buyers.anticipation_months": 0, "buyers.budget_multiple": 100,
                      **{f"buyers.stockpile_months.{c}": months for c in
                         ("big_tech", "small_firms", "research_labs", "state_dcs")}}
        scenario = make(initial_policy=[*ONLY_H20, licence], events=[ban],
                        parameters=parameters, population=MANY)
        july, august = (month_index(scenario, m) for m in ("2024-07", "2024-08"))
        return column(ensemble(scenario, seeds=2), "abandoned_h100e")[:, july:august + 1]

    stockpiling, not_stockpiling = given_up(6), given_up(0)
    assert (not_stockpiling > 0).all()
    assert (stockpiling / not_stockpiling > 0.6).all()  # was 0.08-0.32
