"""The command line: `chipsim check`, `chipsim list`, exit codes and the `run` hand-off."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from sim import cli
from sim.moves import MOVES
from sim.scenario.errors import ScenarioError
from sim.scenario.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
BAD = FIXTURES / "bad"


def chipsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )


def test_check_good_files():
    done = chipsim("check", "tests/fixtures/full.yaml", "tests/fixtures/minimal.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("ok  tests/fixtures/full.yaml  (full-example, 3 events, ")
    assert lines[1].startswith("ok  tests/fixtures/minimal.yaml  (minimal, 0 events, ")
    for line, name in zip(lines, ("full.yaml", "minimal.yaml"), strict=True):
        digest = line.rsplit(", ", 1)[1].rstrip(")")
        assert digest == load_scenario(FIXTURES / name).content_hash()[:12], line


def test_check_bad_file_one_line_exit_2():
    done = chipsim("check", "tests/fixtures/bad/share_out_of_range.yaml")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "tests/fixtures/bad/share_out_of_range.yaml:7: events[0].share:"
        " must be between 0 and 1 (got 1.5)\n"
    )


def test_check_reports_every_file_then_fails():
    done = chipsim("check", "tests/fixtures/bad/unknown_key.yaml", "tests/fixtures/minimal.yaml",
                   "tests/fixtures/bad/python_tag.yaml")
    assert done.returncode == 2
    assert done.stdout.startswith("ok  tests/fixtures/minimal.yaml")
    errors = done.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("tests/fixtures/bad/unknown_key.yaml:3: evnets: unknown key")
    assert errors[1].startswith("tests/fixtures/bad/python_tag.yaml:3: title: YAML tag")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("*.yaml")))
def test_every_bad_fixture_exits_2_without_traceback(name):
    done = chipsim("check", f"tests/fixtures/bad/{name}")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"tests/fixtures/bad/{name}:")
    assert "Traceback" not in done.stderr


def test_check_missing_file():
    done = chipsim("check", "tests/fixtures/does_not_exist.yaml")
    assert done.returncode == 2
    assert done.stderr == "tests/fixtures/does_not_exist.yaml: no such file\n"


def test_list_moves_lists_all_14():
    done = chipsim("list", "moves")
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines() if line and line[0] != " "]
    assert len(MOVES) == 14
    assert sorted(names) == sorted(MOVES)
    assert "[FACTS M1, M2, M5, M12, M14]" in done.stdout
    assert "approval" in done.stdout and "probability that a licence" in done.stdout


def test_list_chips_and_parameters():
    chips = chipsim("list", "chips")
    assert chips.returncode == 0
    assert chips.stdout.splitlines()[0].split()[:3] == ["name", "vendor", "segment"]
    assert any(line.startswith("H20 ") for line in chips.stdout.splitlines())
    params = chipsim("list", "parameters")
    assert params.returncode == 0
    assert params.stdout.splitlines()[0].split() == ["name", "default", "range", "unit", "source"]
    row = next(r for r in params.stdout.splitlines() if r.startswith("demand.growth_per_year "))
    assert "0.5" in row and "[-0.9, 10]" in row and "FACTS F5" in row


def test_list_outputs_names_every_column_with_its_unit_and_meaning():
    from sim.model.metrics import METRIC_NAMES

    done = chipsim("list", "outputs")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].split()[:2] == ["name", "unit"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert list(rows) == list(METRIC_NAMES)
    assert "USD" in rows["revenue_loss_usd"] and "flow (sum)" in rows["revenue_loss_usd"]
    assert "rate (final)" in rows["grey_premium"]
    assert "H200" in rows["cancelled_orders_units_H200"]


def test_list_needs_a_known_topic():
    done = chipsim("list", "boats")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_version_and_help():
    done = chipsim("--version")
    assert done.returncode == 0 and done.stdout.startswith("chipsim ")
    done = chipsim("--help")
    assert done.returncode == 0
    for command in ("run", "check", "list"):
        assert command in done.stdout


def test_help_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from sim.cli.main import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = {'numpy', 'pandas', 'matplotlib', 'mesa', 'pydantic', 'yaml', 'scipy'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "[]", done.stderr


# --- run hand-off and exit codes (in process, with a stand-in runner) -------------------------


@pytest.fixture
def fake_runner(monkeypatch):
    calls: list[dict] = []
    module = types.ModuleType("sim.experiments.runner")
    behaviour: dict = {"result": 0}

    def run_command(**kwargs):
        calls.append(kwargs)
        if "raise" in behaviour:
            raise behaviour["raise"]
        return behaviour["result"]

    module.run_command = run_command  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sim.experiments.runner", module)
    return calls, behaviour


def test_run_passes_arguments(fake_runner):
    calls, behaviour = fake_runner
    behaviour["result"] = 0
    code = cli.main(["run", "x.yaml", "--seeds", "7", "--out", "o", "--workers", "2", "--force"])
    assert code == 0
    assert calls == [{"path": "x.yaml", "seeds": 7, "out": "o", "workers": 2, "force": True}]
    cli.main(["run", "y.yaml"])
    assert calls[-1] == {"path": "y.yaml", "seeds": None, "out": None, "workers": None,
                         "force": False}


def test_run_scenario_error_is_exit_2(fake_runner, capsys):
    _, behaviour = fake_runner
    behaviour["raise"] = ScenarioError("must be 1 or more", file="a.yaml", line=3, key="seeds")
    assert cli.main(["run", "a.yaml"]) == 2
    assert capsys.readouterr().err == "a.yaml:3: seeds: must be 1 or more\n"


def test_unexpected_error_is_exit_1_without_traceback(fake_runner, capsys):
    _, behaviour = fake_runner
    behaviour["raise"] = RuntimeError("boom")
    assert cli.main(["run", "a.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chipsim: unexpected error: RuntimeError: boom")
    assert "Traceback" not in err and err.count("\n") == 1


def test_debug_shows_the_exception(fake_runner):
    _, behaviour = fake_runner
    behaviour["raise"] = RuntimeError("boom")
    with pytest.raises(RuntimeError):
        cli.main(["--debug", "run", "a.yaml"])


def test_bad_option_values_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "a.yaml", "--seeds", "0"])
    assert info.value.code == 2
    assert "must be 1 or more" in capsys.readouterr().err


def test_no_command_is_a_usage_error():
    done = chipsim()
    assert done.returncode == 2 and "usage: chipsim" in done.stderr
