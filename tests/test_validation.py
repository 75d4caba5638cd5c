"""Targets, calibration (ABC-SMC), the posterior and validation (issue 13).

The targets file is valid and complete; calibration runs end to end at a tiny budget and
reproduces from its seed; scenarios that draw from a posterior are reproducible from the seed
whatever the batch; ``chipsim validate`` reports per role and fails when a validation target is
missed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.targets import MAX_TOLERANCE, ROLES, load_targets, shipped_targets
from sim.cli import main
from sim.experiments.replication import replication_seed
from sim.world.parameters import DEFAULTS, draw, draw_many, load_posterior

ROOT = Path(__file__).resolve().parents[1]
FACTS = ROOT.parent / "shared" / "FACTS.md"
NOBODY_STOCKPILES = [f"buyers.stockpile_months.{c}=0"
                     for c in ("big_tech", "small_firms", "research_labs", "state_dcs")]


# --- the targets file ------------------------------------------------------------------------


def test_every_figure_of_the_record_is_a_target_or_explained():
    targets = shipped_targets()
    ids = {f"F{i}" for i in range(1, 19)}
    if FACTS.exists():  # the record itself, when the shared folder is beside the checkout
        ids |= set(re.findall(r"^\| (F\d+) \|", FACTS.read_text(encoding="utf-8"), re.M))
    assert ids <= set(targets.figures), sorted(ids - set(targets.figures))
    for name, figure in targets.figures.items():
        assert figure.role in ROLES
        if figure.role in ("calibration", "validation"):
            assert all(targets[t].role == figure.role for t in figure.targets), name
        else:
            assert figure.reason, name


def test_targets_quote_their_source_and_keep_tolerances_within_half():
    targets = shipped_targets()
    assert {t.id for t in targets.calibration} == {"F1", "F2", "F5", "F6", "M7"}
    assert {"F4", "F7", "F8", "F10", "F11", "C1", "C2", "C3a", "C4a", "C5a", "C6a"} <= {
        t.id for t in targets.validation}
    for t in targets.targets:
        assert "FACTS" in t.source, t.id
        assert t.tolerance is None or 0 < t.tolerance <= MAX_TOLERANCE, t.id


def test_the_substitution_pattern_reads_the_channel_the_record_names():
    c3a = shipped_targets()["C3a"]
    assert c3a.statistic.columns == ("smuggled_units",)


def test_a_broken_targets_file_is_refused(tmp_path):
    text = (ROOT / "sim/world/data/targets.yaml").read_text(encoding="utf-8")
    wide = tmp_path / "wide.yaml"
    wide.write_text(text.replace("tolerance: 0.25", "tolerance: 0.8"), encoding="utf-8")
    with pytest.raises(ValueError, match="tolerance"):
        load_targets(wide)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(text.replace("metric: writedown_usd", "metric: writedowns"),
                       encoding="utf-8")
    with pytest.raises(ValueError, match="unknown metric"):
        load_targets(unknown)


def test_targets_judge_runs_by_their_comparison():
    t = shipped_targets()
    near, floor, band, rise = t["F1"], t["F6"], t["C3a"], t["F8"]
    assert near.holds(np.array([1.0e6, 1.25e6, 1.26e6, 0.74e6])).tolist() == [
        True, True, False, False]
    assert np.allclose(near.deviation(np.array([1.5e6, 0.5e6])), [2.0, -2.0])
    assert floor.holds(np.array([1e9, 0.99e9])).tolist() == [True, False]
    assert np.allclose(floor.deviation(np.array([2e9, 0.75e9])), [0.0, 1.0])
    assert band.holds(np.array([9_999, 10_000, 150_001])).tolist() == [False, True, False]
    assert rise.holds(np.array([np.nan, np.inf, 1.0])).tolist() == [False, True, False]


# --- validation -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    from sim.analysis.validation import validate

    return validate(seeds=3, workers=1)


def test_report_shows_each_target_by_role_with_source_value_range_and_share(shipped):
    from sim.analysis.validation import report

    text = report(shipped)
    assert text.index("Calibration targets") < text.index("Validation targets")
    for r in shipped.results:
        assert re.search(rf"^{re.escape(r.target.id)} .*{re.escape(r.target.target_text())}",
                         text, re.M), r.target.id
        p05, p50, p95 = r.percentiles()
        assert np.isnan(p50) or p05 <= p50 <= p95
    table = shipped.table()
    assert list(table["role"].unique()) == ["calibration", "validation"]
    assert set(table.columns) >= {"id", "facts", "value", "tolerance", "p05", "p50", "p95",
                                  "share_inside"}


def test_validate_fails_when_a_validation_target_is_missed(capsys):
    args = ["validate", "--seeds", "2", "--workers", "1"]
    for item in NOBODY_STOCKPILES:
        args += ["--set", item]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert re.search(r"^C1 .* FAIL$", out, re.M), out
    assert re.search(r"failing: .*C1 \(0%\)", out)


def test_the_guidance_target_measures_the_guidance_and_nothing_else():
    """M7 (no H20 / MI308 sold once China's guidance bit) is what fits the guidance's cost: with
    no cost the China-only parts sell on after the licences resume, with a high one they do not.
    It reads only the timeline, so the calibration can fit it."""
    from sim.analysis.targets import Targets
    from sim.analysis.validation import validate

    shipped_file = shipped_targets()
    m7 = shipped_file["M7"]
    assert m7.role == "calibration" and m7.scenarios == {"timeline"}
    targets = Targets(figures={}, targets=(m7,), scenario_files=shipped_file.scenario_files,
                      path=shipped_file.path)

    def ratio(cost: float) -> np.ndarray:
        v = validate(seeds=2, workers=1, targets=targets,
                     parameters={"buyers.guidance_cost": cost})
        return v.results[0].values

    toothless, strict = ratio(0.0), ratio(10.0)
    assert (toothless > 0.05).all(), toothless  # sales go on: the bound is missed
    assert (strict <= 0.05).all() and (strict < toothless / 5).all(), (strict, toothless)


def test_validate_refuses_an_unknown_parameter(capsys):
    assert main(["validate", "--seeds", "1", "--set", "buyers.nonsense=1"]) == 2
    assert "unknown parameter" in capsys.readouterr().err


def test_validate_writes_its_table(tmp_path):
    import pandas as pd

    from sim.analysis.validation import validate, write

    v = validate(seeds=1, workers=1)
    write(v, tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "validation.csv")
    assert len(table) == len(shipped_targets().targets)


# --- the posterior ---------------------------------------------------------------------------


@pytest.fixture()
def posterior_file(tmp_path):
    path = tmp_path / "posterior.csv"
    path.write_text("weight,buyers.stockpile_months.big_tech,demand.unmet_abandon_share\n"
                    "0.2,6,0.1\n0.8,18,0.5\n", encoding="utf-8")
    return str(path)


def test_the_shipped_posterior_was_fitted_to_the_declared_targets_and_priors():
    """A calibration target or a prior changed after the fit means a refit (chipsim calibrate)."""
    import yaml

    from sim.analysis.calibration import PRIORS, target_record
    from sim.world.parameters import posterior_path

    provenance = Path(posterior_path()).with_suffix(".yaml").read_text(encoding="utf-8")
    record = yaml.safe_load(provenance)
    declared = {t.id: target_record(t) for t in shipped_targets().calibration}
    assert record["targets"] == declared
    fitted = {name: prior["range"] for name, prior in record["priors"].items()}
    assert fitted == {name: [lo, hi] for name, (lo, hi, _why) in PRIORS.items()}
    assert list(load_posterior().names) == list(PRIORS)


def test_posterior_draws_are_reproducible_from_the_seed_whatever_the_batch(posterior_file):
    posterior = load_posterior(posterior_file)
    seeds = [replication_seed(20240101, i) for i in range(24)]
    alone = [draw({"from": posterior}, s) for s in seeds]
    together = draw_many({"from": posterior}, seeds)
    part = draw_many({"from": posterior}, seeds[5:9])
    name = "buyers.stockpile_months.big_tech"
    assert [a[name] for a in alone] == together[name][:, 0].tolist()
    assert part[name][:, 0].tolist() == together[name][5:9, 0].tolist()
    assert {a[name] for a in alone} == {6.0, 18.0}
    assert draw({"from": posterior}, replication_seed(20240101, 3)) == alone[3]
    pairs = {(a[name], a["demand.unmet_abandon_share"]) for a in alone}
    assert pairs == {(6.0, 0.1), (18.0, 0.5)}  # a particle is drawn whole


def test_posterior_weights_are_followed(posterior_file):
    posterior = load_posterior(posterior_file)
    picks = [posterior.index(replication_seed(1, i)) for i in range(4000)]
    assert np.mean(picks) == pytest.approx(0.8, abs=0.03)


def test_explicit_overrides_win_and_other_distributions_still_draw(posterior_file):
    posterior = load_posterior(posterior_file)
    seed = replication_seed(20240101, 0)
    plain = draw({}, seed)
    drawn = draw({"from": posterior, "buyers.stockpile_months.big_tech": 2.0}, seed)
    assert drawn["buyers.stockpile_months.big_tech"] == 2.0
    assert drawn["demand.unmet_abandon_share"] in (0.1, 0.5)
    for name in DEFAULTS:  # e.g. smuggling.markup keeps its own stream
        if name not in posterior.names:
            assert drawn[name] == plain[name], name


def test_a_broken_posterior_file_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("weight,buyers.nonsense\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a parameter"):
        load_posterior(str(bad))
    out = tmp_path / "out.csv"
    out.write_text("weight,demand.unmet_abandon_share\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="above the allowed maximum"):
        load_posterior(str(out))


def test_an_unknown_source_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nperiod: {start: 2024-01, end: 2024-03}\nparameters:\n"
                    "  from: prior\n", encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert re.search(r"x\.yaml:4: parameters\.from: unknown source 'prior'", err), err


def test_a_scenario_can_turn_the_posterior_off(tmp_path):
    from sim.scenario.scenario import load_scenario

    path = tmp_path / "x.yaml"
    path.write_text("name: x\nperiod: {start: 2024-01, end: 2024-03}\nparameters:\n"
                    "  from: defaults\n", encoding="utf-8")
    assert "from" not in load_scenario(path).parameters


@pytest.mark.skipif(not (ROOT / "sim/world/data/posterior.csv").exists(),
                    reason="no shipped posterior yet")
def test_the_timeline_draws_from_the_shipped_posterior_and_pins_its_hash():
    from sim.scenario.errors import ScenarioError
    from sim.scenario.scenario import load_scenario, scenario_from_dict

    timeline = load_scenario(ROOT / "scenarios" / "timeline-2024-2026.yaml")
    posterior = timeline.parameters["from"]
    assert timeline.resolved["parameters"]["from"] == {"posterior": posterior.sha256}
    assert scenario_from_dict(timeline.resolved, file=str(timeline.path)) .resolved == \
        timeline.resolved
    assert timeline.without_events().parameters["from"] is posterior
    stale = {**timeline.resolved, "parameters": {"from": {"posterior": "0" * 64}}}
    with pytest.raises(ScenarioError, match="hashes to"):
        scenario_from_dict(stale, file=str(timeline.path))


@pytest.mark.skipif(not (ROOT / "sim/world/data/posterior.csv").exists(),
                    reason="no shipped posterior yet")
def test_a_run_drawing_from_the_posterior_is_the_same_alone_and_in_a_batch():
    from sim.experiments.replication import simulate
    from sim.scenario.scenario import load_scenario

    timeline = load_scenario(ROOT / "scenarios" / "timeline-2024-2026.yaml")
    seeds = [replication_seed(timeline.seed, i) for i in range(3)]
    batch = simulate(timeline, seeds)
    alone = simulate(timeline, seeds[1:2])
    assert np.array_equal(batch[1], alone[0])
    assert not np.array_equal(batch[0], batch[1])


# --- calibration ------------------------------------------------------------------------------


def _small_timeline():
    from sim.analysis.calibration import calibration_scenario

    return calibration_scenario().replace(
        population={"small_buyers": 20, "smugglers": 10, "cloud_providers": 5})


def test_calibration_runs_end_to_end_at_a_tiny_budget_and_reproduces(tmp_path):
    import yaml

    from sim.analysis.calibration import (
        PRIORS,
        TINY_BUDGET,
        calibrate,
        effective_sample_size,
        write_posterior,
    )

    scenario = _small_timeline()
    first = calibrate(TINY_BUDGET, scenario=scenario, seed=7)
    again = calibrate(TINY_BUDGET, scenario=scenario, seed=7, workers=2)
    a, _ = write_posterior(first, tmp_path / "a")
    b, provenance = write_posterior(again, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    posterior = load_posterior(str(a))
    assert posterior.names == tuple(PRIORS)
    assert len(posterior.rows) == TINY_BUDGET.population
    for name, row in zip(posterior.names, zip(*posterior.rows, strict=True), strict=True):
        low, high, _ = PRIORS[name]
        assert low <= min(row) and max(row) <= high
    record = yaml.safe_load(provenance.read_text(encoding="utf-8"))
    assert set(record) >= {"command", "date_utc", "code", "targets", "priors", "seeds",
                           "generations", "final_epsilon", "posterior_sha256", "budget"}
    assert set(record["targets"]) == {"F1", "F2", "F5", "F6", "M7"}
    for generation in record["generations"]:  # each population's effective sample size
        assert 1.0 <= generation["ess"] <= TINY_BUDGET.population + 1e-9
    assert record["generations"][-1]["ess"] == pytest.approx(
        effective_sample_size(np.array(posterior.weights)))


def test_the_posterior_is_the_last_generation_with_a_sound_effective_sample_size():
    from sim.analysis.calibration import posterior_generation

    # a refit of December 2026: the last generation's weight sat on a few particles
    ess = {0: 500.0, 13: 138.0, 14: 236.0, 15: 21.0}
    assert posterior_generation(ess, 100.0) == 14
    assert posterior_generation(ess, 0.0) == 15  # no floor: the last, as ABC-SMC ends
    assert posterior_generation(ess, 1000.0) == 0  # none sound: the largest


def test_a_calibration_ships_the_generation_its_floor_picks(tmp_path):
    import dataclasses

    import yaml

    from sim.analysis.calibration import TINY_BUDGET, calibrate, report, write_posterior

    budget = dataclasses.replace(TINY_BUDGET, min_ess=TINY_BUDGET.population + 1)
    cal = calibrate(budget, scenario=_small_timeline(), seed=7)
    _, provenance = write_posterior(cal, tmp_path)
    record = yaml.safe_load(provenance.read_text(encoding="utf-8"))
    assert len(record["generations"]) == 2
    assert record["posterior_generation"] == 0  # the prior's sample: equal weights, ESS 6
    assert record["final_epsilon"] == record["generations"][0]["epsilon"]
    assert np.ptp(cal.particles["weight"].to_numpy()) == 0.0
    assert "posterior: generation 0 (--min-ess 7" in report(cal)


def test_the_batch_sampler_gives_pyabcs_own_particles():
    pyabc = pytest.importorskip("pyabc")
    from sim.analysis.abc_smc import BatchModel, BatchSampler

    def stats(p):
        return {"d": (p["a"] - 0.3) / 0.1, "e": (p["b"] - 0.6) / 0.2}

    def run(sampler, model):
        prior = pyabc.Distribution(a=pyabc.RV("uniform", 0, 1), b=pyabc.RV("uniform", 0, 1))
        abc = pyabc.ABCSMC(model, prior, pyabc.PNormDistance(p=2), population_size=20,
                           sampler=sampler)
        np.random.seed(3)
        abc.new("sqlite://", {"d": 0.0, "e": 0.0})
        history = abc.run(max_nr_populations=3)
        frame, w = history.get_distribution(m=0, t=history.max_t)
        return frame.to_numpy(), w

    batch = BatchModel(lambda points: [stats(p) for p in points], ["d", "e"])
    x1, w1 = run(BatchSampler(batch), batch)
    x2, w2 = run(pyabc.sampler.SingleCoreSampler(), pyabc.FunctionModel(stats))
    assert np.array_equal(x1, x2) and np.allclose(w1, w2)


def test_the_calibration_report_is_generated(tmp_path):
    from sim.analysis import calibration_report
    from sim.analysis.calibration import TINY_BUDGET, calibrate, write_posterior
    from sim.analysis.validation import validate

    cal = calibrate(TINY_BUDGET, scenario=_small_timeline(), seed=1)
    write_posterior(cal, tmp_path)
    particles, provenance = calibration_report.load_posterior_files(tmp_path)
    v = validate(seeds=1, workers=1)
    text = calibration_report.page(particles, provenance, v, "img/posterior.png")
    for target in shipped_targets().targets:
        assert f"| {target.id} |" in text
    for name in cal.names:
        assert f"`{name}`" in text
    assert "effective sample size" in text
    fig = calibration_report.posterior_figure(particles, provenance)
    assert len(fig.axes) == len(cal.names)


def test_effective_sample_size_counts_what_the_weights_are_worth():
    from sim.analysis.calibration import effective_sample_size

    assert effective_sample_size(np.full(500, 0.002)) == pytest.approx(500)
    assert effective_sample_size(np.r_[1.0, np.zeros(499)]) == pytest.approx(1)
    assert effective_sample_size(np.r_[np.ones(100), np.full(400, 1e-9)]) == pytest.approx(
        100, rel=1e-3)


def test_each_share_of_runs_comes_with_its_interval(shipped):
    """A share near the 80 % bar over 20 runs is known to about +-9 points: the report and the
    table give each share's Wilson interval (90 %), which holds the share and narrows with runs."""
    from sim.analysis.validation import report

    table = shipped.table()
    assert ((table["share_inside_p05"] <= table["share_inside"])
            & (table["share_inside"] <= table["share_inside_p95"])).all()
    text = report(shipped)
    for r in shipped.results:
        assert re.search(rf"^{re.escape(r.target.id)} .* {re.escape(r.share_text())}", text,
                         re.M), r.target.id
    first = shipped.results[0]
    held = np.array([True] * 16 + [False] * 4)  # 80 % of 20, then of 100
    r20 = _with_held(first, held)
    r100 = _with_held(first, np.tile(held, 5))
    assert r20.share == r100.share == pytest.approx(0.8)
    (a, b), (c, d) = r20.share_interval(), r100.share_interval()
    assert a < c < 0.8 < d < b and b - a > 0.25 and d - c < 0.15


def _with_held(result, held):  # noqa: ANN001, ANN202
    """A result whose runs hold the target exactly where ``held`` is true."""

    class Fixed(type(result)):
        @property
        def held(self):  # noqa: ANN202
            return held

    return Fixed(result.target, np.zeros(len(held)))
