"""Sensitivity by SALib: Sobol and Morris on functions with known answers, `chipsim sensitivity`."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.salib import morris_analysis, sobol_analysis
from sim.analysis.sensitivity import (
    TruncatedDistribution,
    fixed_parameters,
    uncertain_parameters,
)
from sim.scenario.scenario import load_counterfactual, load_scenario
from sim.world.parameters import Distribution

TINY = """\
name: tiny-uncertain
title: A tiny world with uncertain parameters
period: {start: 2024-06, end: 2024-11}
seeds: 1
seed: 7
population: {small_buyers: 10, smugglers: 10, cloud_providers: 2}
parameters:
  demand.growth_per_year: 0.5
PARAMS
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-09, move: us.licence_requirement, chips: [H20, MI308], approval: 0.0}
"""


def chipsim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def linear(x: np.ndarray) -> np.ndarray:
    return 4 * x[:, 0] + 2 * x[:, 1] + 0.1 * x[:, 2]


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sensitivity_ranks_the_inputs_of_a_linear_function_by_their_weight():
    result = sobol_analysis(linear, [(0.0, 1.0)] * 3, 256, parameters=["x1", "x2", "x3"],
                            resamples=200)
    assert result.ranking("y1") == ["x1", "x2", "x3"]
    exact = np.array([16, 4, 0.01]) / 20.01  # variance shares of uniform inputs
    assert result.first[0] == pytest.approx(exact, abs=0.03)
    assert result.total[0] == pytest.approx(exact, abs=0.03)  # additive: no interactions
    table = result.table()
    assert ((table["ST_low"] <= exact[[0, 1, 2]] + 0.01)
            & (exact[[0, 1, 2]] - 0.01 <= table["ST_high"])).all()
    assert (table["ST_conf"] > 0).all() and (table["ST_conf"] < 0.2).all()
    assert len(result.X) == 256 * 5


def test_sensitivity_recovers_the_ishigami_indices_and_its_interaction():
    result = sobol_analysis(ishigami, [(-np.pi, np.pi)] * 3, 2048, resamples=100)
    assert result.first[0] == pytest.approx([0.314, 0.442, 0.0], abs=0.03)
    assert result.total[0] == pytest.approx([0.558, 0.442, 0.244], abs=0.03)
    # x3 acts only through its interaction with x1: no first-order effect, a total one
    assert result.total[0, 2] - result.first[0, 2] > 0.2


def test_the_indices_are_salibs():
    from SALib.analyze import sobol
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[-np.pi, np.pi]] * 3}
    x = sobol_sample.sample(problem, 512, calc_second_order=False, seed=3)
    theirs = sobol.analyze(problem, ishigami(x), calc_second_order=False, seed=4)
    ours = sobol_analysis(ishigami, [(-np.pi, np.pi)] * 3, 512, seed=3, resamples=100)
    np.testing.assert_allclose(ours.X, x)
    assert ours.first[0] == pytest.approx(theirs["S1"], abs=1e-12)
    assert ours.total[0] == pytest.approx(theirs["ST"], abs=1e-12)


def test_morris_screening_ranks_the_inputs_and_finds_the_idle_one():
    def f(x):
        return 10 * x[:, 0] + x[:, 1] ** 2 + 0 * x[:, 2]

    result = morris_analysis(f, [(0.0, 1.0)] * 3, 20, parameters=["big", "small", "idle"],
                             resamples=100)
    assert result.ranking("y1") == ["big", "small", "idle"]
    assert result.mu_star[0, 0] == pytest.approx(10.0, rel=1e-9)  # linear: every effect 10
    assert result.sigma[0, 0] == pytest.approx(0.0, abs=1e-9)
    assert result.mu_star[0, 2] == 0.0
    assert len(result.X) == 20 * 4
    assert list(result.table().columns) == ["parameter", "output", "mu_star", "mu_star_conf",
                                            "mu", "sigma"]


def test_same_seed_same_indices_and_intervals():
    a = sobol_analysis(ishigami, [(-np.pi, np.pi)] * 3, 64, seed=5, resamples=50).table()
    b = sobol_analysis(ishigami, [(-np.pi, np.pi)] * 3, 64, seed=5, resamples=50).table()
    pd.testing.assert_frame_equal(a, b)


def test_several_outputs_and_a_constant_one():
    def f(x):
        return np.column_stack([x[:, 1], np.full(len(x), 3.0)])

    result = sobol_analysis(f, [(0, 1), (0, 1)], 64, outputs=["second", "flat"],
                            resamples=50)
    table = result.table()
    assert table.query("output == 'second'")["parameter"].iloc[0] == "x2"
    assert table.query("output == 'flat'")[["S1", "ST", "S1_conf"]].isna().all().all()


def test_bad_sample_sizes_and_non_finite_outputs_are_refused():
    with pytest.raises(ValueError, match="power of two"):
        sobol_analysis(linear, [(0, 1)] * 3, 100)
    with pytest.raises(ValueError, match="non-finite"):
        sobol_analysis(lambda x: np.where(x[:, 0] > 0.5, np.nan, 1.0), [(0, 1)], 16)


def test_sim_carries_no_sobol_estimators_of_its_own():
    root = Path(__file__).resolve().parents[1] / "sim"
    assert not (root / "analysis" / "sobol.py").exists()
    text = (root / "analysis" / "salib.py").read_text()
    assert "from SALib.analyze import sobol" in text


def test_unbounded_distributions_are_sampled_within_their_bounds():
    for dist in (Distribution("normal", (0.2, 0.1)), Distribution("lognormal", (0.0, 1.0)),
                 Distribution("triangular", (1.0, 2.0, 5.0))):
        sampler = TruncatedDistribution(dist)
        values = sampler.ppf(np.linspace(0.0, 1.0, 1001))
        low, high = dist.bounds()
        assert values.min() == pytest.approx(low) and values.max() == pytest.approx(high)
        assert np.all(np.diff(values) >= 0)
    assert TruncatedDistribution(Distribution("uniform", (2.0, 2.0))).degenerate


def test_samples_stay_in_the_parameters_range():
    """A normal reaching below 0 is truncated at the range too: every sample is a valid value."""
    from sim.world.parameters import DEFAULTS

    spec = DEFAULTS["smuggling.capacity_units_per_month"]
    sampler = TruncatedDistribution(Distribution("normal", (350.0, 1000.0)), spec.limits)
    values = sampler.ppf(np.linspace(0.0, 1.0, 1001))
    assert values.min() == 0.0 and values.max() == pytest.approx(2350.0)
    assert all(spec.problem(float(v)) is None for v in values)


def test_fixed_values_reach_a_counterfactual_file_too(tmp_path):
    (tmp_path / "world.yaml").write_text(TINY.replace("PARAMS\n", "").replace(
        "name: tiny-uncertain", "name: world").replace("events:\n", "events: []\n#"))
    scenario_file = tmp_path / "policy.yaml"
    scenario_file.write_text(TINY.replace("PARAMS", "  smuggling.markup: {uniform: [0.3, 0.8]}")
                             .replace("seed: 7", "seed: 7\ncounterfactual: world.yaml"))
    scenario = load_scenario(scenario_file)
    assert list(uncertain_parameters(scenario)) == ["smuggling.markup"]
    with fixed_parameters(scenario, {"smuggling.markup": 0.42}) as point:
        assert point.parameters["smuggling.markup"] == 0.42
        assert load_counterfactual(point).parameters["smuggling.markup"] == 0.42
        assert load_counterfactual(point).events == ()


def test_sensitivity_cli_refuses_a_file_without_distributions(tmp_path):
    (tmp_path / "fixed.yaml").write_text(TINY.replace("PARAMS\n", ""))
    done = chipsim("sensitivity", "fixed.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "no parameter has a distribution" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "results").exists()


def test_sensitivity_cli_refuses_an_unknown_output(tmp_path):
    (tmp_path / "u.yaml").write_text(TINY.replace("PARAMS", "  smuggling.markup: {uniform: [0.3,"
                                                            " 0.8]}"))
    done = chipsim("sensitivity", "u.yaml", "--outputs", "diverted_units,smugled_units",
                   cwd=tmp_path)
    assert done.returncode == 2 and "smugled_units" in done.stderr


def test_sensitivity_cli_writes_indices_and_a_figure_per_output(tmp_path):
    (tmp_path / "u.yaml").write_text(TINY.replace(
        "PARAMS", "  smuggling.markup: {uniform: [0.3, 0.8]}\n"
                  "  buyers.cloud_penalty: {normal: [0.15, 0.05]}"))
    done = chipsim("sensitivity", "u.yaml", "--samples", "3", "--seeds", "1", "--workers", "1",
                   "--outputs", "smuggled_units,domestic_share", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "rounded up to 4" in done.stderr
    out = tmp_path / "results" / "sensitivity-tiny-uncertain"
    table = pd.read_csv(out / "sobol.csv")
    assert list(table.columns) == ["parameter", "output", "S1", "ST", "S1_low", "S1_high",
                                   "ST_low", "ST_high", "S1_conf", "ST_conf"]
    assert (table["S1_high"] - table["S1"]).round(12).equals(table["S1_conf"].round(12))
    assert len(table) == 4 and set(table["parameter"]) == {"smuggling.markup",
                                                           "buyers.cloud_penalty"}
    evaluations = pd.read_csv(out / "evaluations.csv")
    assert len(evaluations) == 4 * (2 + 2)
    assert evaluations["smuggling.markup"].between(0.3, 0.8).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"]["points"] == 16 and manifest["seeds"]["count"] == 1
    # enough to repeat it: the resolved scenario, as every other manifest records it
    resolved = manifest["resolved_scenario"]["parameters"]
    assert resolved["smuggling.markup"] == {"uniform": [0.3, 0.8]}
    for output in ("smuggled_units", "domestic_share"):
        assert (out / "figures" / f"sobol_{output}.png").stat().st_size > 10_000


def test_sensitivity_cli_morris_writes_effects_and_the_same_bytes_again(tmp_path):
    (tmp_path / "u.yaml").write_text(TINY.replace(
        "PARAMS", "  smuggling.markup: {uniform: [0.3, 0.8]}\n"
                  "  buyers.cloud_penalty: {normal: [0.15, 0.05]}"))
    for out in ("a", "b"):
        done = chipsim("sensitivity", "u.yaml", "--method", "morris", "--samples", "3",
                       "--seeds", "1", "--workers", "1", "--outputs", "smuggled_units",
                       "--out", out, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "a" / "morris.csv")
    assert list(table.columns) == ["parameter", "output", "mu_star", "mu_star_conf", "mu",
                                   "sigma"]
    assert len(table) == 2
    assert len(pd.read_csv(tmp_path / "a" / "evaluations.csv")) == 3 * (2 + 1)
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["method"]["name"] == "morris" and manifest["method"]["library"] == "SALib"
    assert (tmp_path / "a" / "figures" / "morris_smuggled_units.png").stat().st_size > 10_000
    for name in ("morris.csv", "evaluations.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
