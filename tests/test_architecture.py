"""The shape of sim/: layers a reader can see, no import circle, small modules (issue 10).

The import contracts live in pyproject.toml ([tool.importlinter]); they count imports under
``if TYPE_CHECKING:`` and inside functions, so a lazy import cannot hide a wrong-way dependency.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "sim"
#: Most modules allowed directly in sim/ (the rest live in the layer subpackages).
MAX_TOP_MODULES = 6
#: Longest module, in lines.
MAX_LINES = 600


def test_import_contracts_are_kept():
    from importlinter import cli

    assert cli.lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0, (
        "an import breaks the layers or makes a circle: run `.venv/bin/lint-imports`")


def test_at_most_six_modules_sit_directly_in_sim():
    top = sorted(p.name for p in SIM.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top


@pytest.mark.parametrize("path", sorted(SIM.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_600_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by concept"


def test_public_api_still_works():
    import sim
    from sim.model import ChipTradeModel

    assert callable(sim.run) and callable(sim.load_scenario) and callable(sim.compare)
    assert ChipTradeModel.__name__ == "ChipTradeModel"
