"""`chipsim rerun MANIFEST`: a run reproduced from its manifest alone, to the byte."""

from __future__ import annotations

import json
import shutil

import pytest

from sim import cli
from sim.experiments import runner
from sim.scenario.errors import ScenarioError

TINY = """\
name: tiny-rerun
period: {start: 2024-06, end: 2024-11}
seeds: 3
seed: 5150
population: {small_buyers: 20, smugglers: 20, cloud_providers: 4}
parameters:
  buyers.stockpile_months.big_tech: {triangular: [3, 6, 12]}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.0}
events:
  - {date: 2024-08, move: us.enforcement, intensity: 2.0}
  - {date: 2024-09, announced: 2024-07, move: us.licence_requirement, chips: [H20, MI308],
     approval: 0.0, note: H20 ban}
"""

#: A counterfactual given by path: the world with a licence rule that grants half the requests.
OTHER = """\
name: tiny-other
period: {start: 2024-06, end: 2024-11}
population: {small_buyers: 20, smugglers: 20, cloud_providers: 4}
initial_policy:
  - {move: us.licence_requirement, chips: [H100, H200, B200, MI325X], approval: 0.5}
"""


def test_rerun_from_the_manifest_alone_gives_identical_bytes(tmp_path, monkeypatch, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "tiny.yaml", "--workers", "1"]) == 0
    (tmp_path / "tiny.yaml").unlink()  # the manifest alone must do
    capsys.readouterr()
    assert cli.main(["rerun", "results/tiny-rerun/manifest.json", "--workers", "2"]) == 0
    assert "byte-identical" in capsys.readouterr().out
    again = tmp_path / "results" / "tiny-rerun-rerun"
    original = tmp_path / "results" / "tiny-rerun"
    assert (again / "timeseries.csv").read_bytes() == (original / "timeseries.csv").read_bytes()
    manifest = json.loads((again / "manifest.json").read_text())
    assert manifest["rerun_of"] == "results/tiny-rerun/manifest.json"
    assert manifest["scenario_hash"] == json.loads(
        (original / "manifest.json").read_text())["scenario_hash"]


def test_a_counterfactual_given_by_path_is_reproduced_too(tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY + "counterfactual: other.yaml\n")
    (tmp_path / "other.yaml").write_text(OTHER)
    first = tmp_path / "first"
    assert runner.run_command(str(tmp_path / "tiny.yaml"), out=str(first), workers=1) == 0
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["counterfactual"]["given_as"] == "other.yaml"
    assert manifest["counterfactual"]["resolved"]["name"] == "tiny-other"
    # Move the results elsewhere and delete both scenario files: only the manifest is left.
    moved = tmp_path / "elsewhere" / "first"
    shutil.move(first, moved)
    (tmp_path / "tiny.yaml").unlink()
    (tmp_path / "other.yaml").unlink()
    out = tmp_path / "second"
    assert runner.rerun_command(str(moved), out=str(out), workers=1) == 0
    assert (out / "timeseries.csv").read_bytes() == (moved / "timeseries.csv").read_bytes()
    assert json.loads((out / "manifest.json").read_text())["counterfactual"]["hash"] == \
        manifest["counterfactual"]["hash"]


def test_an_edited_manifest_is_refused(tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY)
    first = tmp_path / "first"
    assert runner.run_command(str(tmp_path / "tiny.yaml"), out=str(first), workers=1) == 0
    manifest = json.loads((first / "manifest.json").read_text())
    manifest["resolved_scenario"]["events"][0]["intensity"] = 3.0
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(manifest))
    capsys.readouterr()
    assert cli.main(["rerun", str(edited), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "resolved_scenario" in err and "was the manifest edited?" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("text, problem", [
    ("{not json", "not a readable JSON manifest"),
    ('{"scenario": "x"}', "not a chipsim run manifest"),
    ("[1, 2]", "not a chipsim run manifest"),
])
def test_a_bad_manifest_exits_2_with_one_line(tmp_path, capsys, text, problem):
    path = tmp_path / "manifest.json"
    path.write_text(text)
    assert cli.main(["rerun", str(path)]) == 2
    err = capsys.readouterr().err
    assert problem in err and len(err.strip().splitlines()) == 1


def test_scenario_from_manifest_checks_the_seed_count():
    with pytest.raises(ScenarioError, match="seeds.count"):
        runner.scenario_from_manifest({"resolved_scenario": {}, "seeds": {"count": 0,
                                                                          "root_seed": 1}})
