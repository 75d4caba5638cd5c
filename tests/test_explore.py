"""EMA Workbench: sim.ema_model, `chipsim explore` (Latin hypercube), `chipsim discover` (PRIM)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.model.metrics import METRIC_NAMES

ROOT = Path(__file__).resolve().parent.parent

TINY = """\
name: tiny-study
title: A tiny world with uncertain parameters and policy levers
period: {start: 2024-06, end: 2024-11}
seeds: 1
seed: 11
population: {small_buyers: 10, smugglers: 10, cloud_providers: 2}
parameters:
  smuggling.markup: {uniform: [0.3, 0.8]}
  buyers.stockpile_months.big_tech: {triangular: [3, 6, 12]}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {id: h20-rule, date: 2024-08, move: us.licence_requirement, chips: [H20, MI308],
     approval: 0.0, delay_months: 1}
  - {id: crackdown, date: 2024-09, move: us.enforcement, intensity: 2.0}
levers:
  - {event: crackdown, field: intensity, range: [1, 4]}
  - {event: h20-rule, field: delay_months, range: [0, 3]}
"""


def chipsim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- sim.ema_model


def test_ema_model_runs_the_sensitivity_scenario_under_perform_experiments():
    from ema_workbench import perform_experiments

    model = sim.ema_model(ROOT / "scenarios" / "sensitivity-timeline.yaml", seeds=1)
    scenario = sim.load_scenario(ROOT / "scenarios" / "sensitivity-timeline.yaml")
    distributions = sorted(k for k, v in scenario.resolved["parameters"].items()
                           if isinstance(v, dict) and k != "from")  # from: the posterior
    assert sorted(u.variable_name[0] for u in model.uncertainties) == distributions
    assert "smuggling_markup" in model.uncertainties.keys()  # EMA names are identifiers
    experiments, outcomes = perform_experiments(model, scenarios=2)
    assert len(experiments) == 2
    assert {d.replace(".", "_") for d in distributions} <= set(experiments.columns)
    assert outcomes["diverted_units"].shape == (2,)
    assert outcomes["diverted_units_series"].shape == (2, len(scenario.months))
    assert set(METRIC_NAMES) <= set(outcomes)
    assert np.all(outcomes["diverted_units"] > 0)


def test_ema_model_takes_its_inputs_from_the_file(tiny):
    from ema_workbench import IntegerParameter, RealParameter

    model = sim.ema_model(tiny, metrics=["diverted_units"], series=False)
    assert model.name == "tiny_study"
    markup = model.uncertainties["smuggling_markup"]
    assert (markup.lower_bound, markup.upper_bound) == (0.3, 0.8)
    stockpile = model.uncertainties["buyers_stockpile_months_big_tech"]
    assert (stockpile.lower_bound, stockpile.upper_bound) == (3.0, 12.0)
    assert stockpile.dist.ppf(0.5) == pytest.approx(12 - 27 ** 0.5)  # the triangular median
    assert isinstance(model.levers["crackdown_intensity"], RealParameter)
    assert model.levers["crackdown_intensity"].variable_name == ["crackdown.intensity"]
    delay = model.levers["h20_rule_delay_months"]
    assert isinstance(delay, IntegerParameter)
    assert (delay.lower_bound, delay.upper_bound) == (0, 3)
    assert [o.name for o in model.outcomes] == ["diverted_units"]


def test_an_experiment_gives_the_numbers_of_chipsim_run_on_the_same_seeds(tiny):
    from sim.analysis.ema import ChipsimFunction
    from sim.experiments.summary import per_seed

    scenario = sim.load_scenario(tiny)
    values = {"smuggling.markup": 0.55, "buyers.stockpile_months.big_tech": 4.0,
              "crackdown.intensity": 3.0, "h20-rule.delay_months": 2}
    out = ChipsimFunction(scenario, seeds=2)(**values)
    fixed = scenario.replace(parameters={**scenario.parameters, "smuggling.markup": 0.55,
                                         "buyers.stockpile_months.big_tech": 4.0})
    fixed = fixed.set_levers({"crackdown.intensity": 3.0, "h20-rule.delay_months": 2})
    assert [e.move.intensity for e in fixed.events if e.id == "crackdown"] == [3.0]
    run = sim.run(fixed, seeds=2)
    totals = per_seed(run.timeseries)
    for metric in ("diverted_units", "revenue_loss_usd", "domestic_share"):
        assert out[metric] == pytest.approx(float(totals[metric].median()), rel=1e-12)
    monthly = run.timeseries.groupby("date")["smuggled_units"].median().to_numpy()
    np.testing.assert_allclose(out["smuggled_units_series"], monthly, rtol=1e-12)


def test_ema_model_refuses_a_file_with_nothing_to_vary(tmp_path):
    from sim.scenario.errors import ScenarioError

    path = tmp_path / "fixed.yaml"
    text = TINY.split("levers:")[0].replace("  smuggling.markup: {uniform: [0.3, 0.8]}\n", "")
    stockpile = "  buyers.stockpile_months.big_tech: {triangular: [3, 6, 12]}\n"
    path.write_text(text.replace(stockpile, ""))
    with pytest.raises(ScenarioError, match="nothing to explore"):
        sim.ema_model(path)


# --------------------------------------------------------------------------- chipsim explore


def test_explore_writes_one_row_per_experiment_in_each_table(tiny):
    done = chipsim("explore", "tiny.yaml", "--experiments", "8", "--seeds", "2", "--workers",
                   "1", "--out", "study", cwd=tiny.parent)
    assert done.returncode == 0, done.stderr
    assert "8 experiments over 4 inputs x 2 seeds" in done.stdout
    folder = tiny.parent / "study"
    design = pd.read_csv(folder / "experiments.csv")
    outcomes = pd.read_csv(folder / "outcomes.csv")
    assert len(design) == 8 and len(outcomes) == 8
    assert list(design.columns) == ["experiment", "buyers.stockpile_months.big_tech",
                                    "smuggling.markup", "crackdown.intensity",
                                    "h20-rule.delay_months"]
    assert list(outcomes.columns) == ["experiment", *METRIC_NAMES]
    assert design["smuggling.markup"].between(0.3, 0.8).all()
    assert design["crackdown.intensity"].between(1, 4).all()
    assert design["h20-rule.delay_months"].isin([0, 1, 2, 3]).all()
    # a Latin hypercube: each of the 8 equal slices of a uniform input holds one point
    slices = np.floor((design["smuggling.markup"] - 0.3) / 0.5 * 8).astype(int)
    assert sorted(slices) == list(range(8))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "explore" and manifest["experiments"] == 8
    assert manifest["seeds"]["count"] == 2
    assert set(manifest["levers"]) == {"crackdown.intensity", "h20-rule.delay_months"}


def test_explore_outcomes_are_the_medians_of_the_model_function(tiny):
    from sim.analysis.ema import ChipsimFunction
    from sim.analysis.explore import explore

    scenario = sim.load_scenario(tiny)
    study = explore(scenario, 3, seeds=2)
    function = ChipsimFunction(scenario, seeds=2)
    row = study.design.iloc[1]
    values = {k: row[k] for k in study.design.columns if k != "experiment"}
    expected = function(**values)
    for metric in ("diverted_units", "legal_export_units", "grey_premium"):
        assert study.outcomes.loc[1, metric] == pytest.approx(expected[metric], rel=1e-12)


@pytest.mark.parametrize("with_levers", [False, True])
def test_experiments_stepped_together_give_the_numbers_each_gives_alone(tiny, with_levers,
                                                                        monkeypatch):
    """Experiments that share their events (all, without levers) are stepped in one model."""
    from sim.analysis.explore import Plan, run_tasks
    from sim.experiments import replication
    from sim.experiments.replication import run_batch

    text = TINY if with_levers else TINY.split("levers:")[0]
    tiny.write_text(text, encoding="utf-8")
    scenario = sim.load_scenario(tiny)
    names = ("buyers.stockpile_months.big_tech", "smuggling.markup")
    levers = ("crackdown.intensity", "h20-rule.delay_months") if with_levers else ()
    rows = ((4.0, 0.4, 2.0, 1), (9.0, 0.7, 3.5, 0), (6.0, 0.5, 2.0, 1))
    plan = Plan(scenario, names, levers, tuple(r[:2 + len(levers)] for r in rows), seeds=2)
    models = []
    simulate = replication.simulate
    monkeypatch.setattr(replication, "simulate",
                        lambda *a, **k: models.append(a[0].name) or simulate(*a, **k))
    together = dict(run_tasks(plan, range(6)))
    # scenario and counterfactual per world: one world, or two (experiments 0 and 2 share levers)
    assert len(models) == (4 if with_levers else 2)
    monkeypatch.undo()
    for experiment in range(3):
        point, counterfactual = plan.point(experiment)
        for alone in run_batch(point, counterfactual, False, [0, 1]):
            result = together[experiment * 2 + alone.index]
            assert result.index == alone.index
            np.testing.assert_array_equal(result.values, alone.values)


def test_the_design_keeps_every_value_inside_its_allowed_range(tiny):
    """A normal distribution's tails reach past a parameter's range: the design is truncated
    to it, so every experiment is a scenario the loader accepts (workers do not check again)."""
    from sim.analysis.explore import sample_design
    from sim.analysis.uncertain import at_point
    from sim.world.parameters import DEFAULTS

    text = TINY.replace("smuggling.markup: {uniform: [0.3, 0.8]}",
                        "smuggling.entry_rate: {normal: [0.9, 0.3]}")
    tiny.write_text(text, encoding="utf-8")
    scenario = sim.load_scenario(tiny)
    design = sample_design(scenario, 64, seed=5)
    low, high = DEFAULTS["smuggling.entry_rate"].limits
    assert design["smuggling.entry_rate"].between(low, high).all()
    # truncated, not clipped: clipping would pile ~37 % of the points on 1
    assert (design["smuggling.entry_rate"] == high).sum() <= 1
    assert design["smuggling.entry_rate"].max() > 0.97  # the tail is there, cut at 1
    assert design["crackdown.intensity"].between(1, 4).all()
    assert design["h20-rule.delay_months"].isin([0, 1, 2, 3]).all()
    for _, row in design.iterrows():
        at_point(scenario, {"smuggling.entry_rate": row["smuggling.entry_rate"],
                            "buyers.stockpile_months.big_tech":
                                row["buyers.stockpile_months.big_tech"]},
                 {"crackdown.intensity": row["crackdown.intensity"],
                  "h20-rule.delay_months": row["h20-rule.delay_months"]})  # raises if refused


def test_explore_gives_the_same_bytes_whatever_the_workers(tiny):
    for workers, out in (("1", "one"), ("2", "two")):
        done = chipsim("explore", "tiny.yaml", "--experiments", "4", "--seeds", "2",
                       "--workers", workers, "--out", out, cwd=tiny.parent)
        assert done.returncode == 0, done.stderr
    for name in ("experiments.csv", "outcomes.csv"):
        assert digest(tiny.parent / "one" / name) == digest(tiny.parent / "two" / name)


def test_explore_refuses_a_file_with_nothing_to_explore(tmp_path):
    text = TINY.split("levers:")[0]
    for line in ("  smuggling.markup: {uniform: [0.3, 0.8]}\n",
                 "  buyers.stockpile_months.big_tech: {triangular: [3, 6, 12]}\n"):
        text = text.replace(line, "")
    (tmp_path / "fixed.yaml").write_text(text)
    done = chipsim("explore", "fixed.yaml", "--experiments", "4", cwd=tmp_path)
    assert done.returncode == 2
    assert "nothing to explore" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "results").exists()


# --------------------------------------------------------------------------- chipsim discover


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("discover")
    (folder / "tiny.yaml").write_text(TINY, encoding="utf-8")
    done = chipsim("explore", "tiny.yaml", "--experiments", "16", "--seeds", "1",
                   "--workers", "1", "--out", "study", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "study"


def test_discover_writes_the_boxes_and_the_figures(study):
    done = chipsim("discover", str(study), "--outcome", "diverted_units", "--above", "p70",
                   "--out", str(study.parent / "found"), cwd=study.parent)
    assert done.returncode == 0, done.stderr
    assert "diverted_units above" in done.stdout and "(p70)" in done.stdout
    found = study.parent / "found"
    boxes = pd.read_csv(found / "boxes.csv")
    assert list(boxes.columns) == ["box", "chosen", "coverage", "density", "mass",
                                   "restricted_dimensions", "input", "low", "high",
                                   "restricted", "qp_low", "qp_high"]
    inputs = set(pd.read_csv(study / "experiments.csv").columns) - {"experiment"}
    assert boxes.groupby("box")["input"].apply(set).eq(inputs).all()
    chosen = boxes[boxes["chosen"]]
    assert chosen["box"].nunique() == 1
    assert (chosen["coverage"] >= 0.5).all()
    first = boxes[boxes["box"] == 0]
    assert (first["coverage"] == 1.0).all() and not first["restricted"].any()
    assert boxes.groupby("box")["density"].first().iloc[-1] >= first["density"].iloc[0]
    for name in ("peeling_tradeoff", "chosen_box"):
        assert (found / "figures" / f"{name}.png").stat().st_size > 10_000
    manifest = json.loads((found / "manifest.json").read_text())
    assert manifest["kind"] == "discover" and manifest["outcome"] == "diverted_units"


def test_discover_below_a_value_and_its_default_folder(study):
    values = pd.read_csv(study / "outcomes.csv")["revenue_loss_usd"]
    cut = float(values.median())
    done = chipsim("discover", str(study), "--outcome", "revenue_loss_usd", "--below",
                   repr(cut), cwd=study.parent)
    assert done.returncode == 0, done.stderr
    boxes = pd.read_csv(study / "discover-revenue_loss_usd" / "boxes.csv")
    assert boxes["chosen"].any()
    manifest = json.loads((study / "discover-revenue_loss_usd" / "manifest.json").read_text())
    assert manifest["above"] is False and manifest["cases"] == int((values < cut).sum())


@pytest.mark.parametrize("args, problem", [
    (["--outcome", "diverted_unit"], "unknown outcome 'diverted_unit'"),
    (["--outcome", "diverted_units", "--above", "p100"], "no experiment has diverted_units"),
    (["--outcome", "diverted_units", "--above", "lots"], "must be a value (6e5) or a"
                                                          " percentile (p80)"),
])
def test_discover_input_errors_are_one_line_and_exit_2(study, args, problem):
    done = chipsim("discover", str(study), *args, "--out", "nowhere", cwd=study.parent)
    assert done.returncode == 2, done.stdout
    assert problem in done.stderr and done.stderr.count("\n") == 1
    assert not (study.parent / "nowhere").exists()


def test_discover_refuses_a_folder_that_is_not_a_study(tmp_path):
    done = chipsim("discover", str(tmp_path), "--outcome", "diverted_units", cwd=tmp_path)
    assert done.returncode == 2 and "no experiments.csv here" in done.stderr


def test_packaging_declares_ema_and_salib_and_tests_install_them():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert any(d.startswith("ema_workbench") for d in extras["ema"])
    assert any(d.startswith("SALib") for d in project["dependencies"])
    assert any("ema" in d and d.startswith("chipsim[") for d in extras["test"])
