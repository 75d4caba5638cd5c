"""FACTS §C patterns, the calibration procedure, and that the checks can fail."""

import math

import pytest

from sim.analysis.calibration import TARGETS, calibrate, loss
from sim.analysis.validation import PATTERNS, report, validate


@pytest.fixture(scope="module")
def shipped():
    return validate(seeds=4, workers=2)


def test_every_pattern_of_the_record_holds_with_the_shipped_defaults(shipped):
    assert [r.pattern.key for r in shipped] == [p.key for p in PATTERNS]
    failing = [r.pattern.title for r in shipped if not r.passed(0.8)]
    assert not failing, report(shipped)


def test_report_names_target_source_range_and_share(shipped):
    text = report(shipped)
    for r in shipped:
        assert r.pattern.source in text and r.pattern.target in text
        assert r.p05 <= r.p50 <= r.p95
    assert "holds in 100% of seeds" in text


def test_front_running_fails_when_buyers_do_not_stockpile():
    results = validate(seeds=2, workers=2, parameters={"buyers.stockpile_months.big_tech": 0.0})
    by_key = {r.pattern.key: r for r in results}
    assert not by_key["front-running"].passed(0.8)


def test_calibration_loss_is_zero_on_target_and_grows_off_it():
    exact = {t.source: t.value for t in TARGETS}
    assert loss(exact) == 0.0
    off = dict(exact, F1=exact["F1"] * 2)
    assert math.isclose(loss(off), math.log(2) ** 2)


def test_calibration_does_not_make_the_fit_worse():
    fit = calibrate(seeds=1, max_evaluations=4)
    assert fit.loss_best <= fit.loss_start
    assert set(fit.model) == {t.source for t in TARGETS}
