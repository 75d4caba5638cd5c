"""Every notebook runs top to bottom, and is saved without outputs.

The notebooks read ``CHIPSIM_SEEDS``; the tests set it small so that each notebook runs in well
under a minute. Needs the `notebooks` extra (nbclient, nbformat, ipykernel, ipywidgets) and, for
notebook 01's dashboard cell, the `app` extra.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
#: Seeds per scenario while testing (the notebooks' own defaults are larger).
TEST_SEEDS = "3"
#: Longest a single cell may take, in seconds: a hang fails instead of blocking CI.
CELL_TIMEOUT = 180


def test_the_three_notebooks_exist():
    names = [p.name for p in PATHS]
    assert names == [
        "01-what-happens-when-a-chip-is-banned.ipynb",
        "02-researcher-workflow.ipynb",
        "03-the-record-2024-2026.ipynb",
    ]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_is_saved_without_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("outputs") == [], f"{path.name} cell {index} has outputs: strip them"
        assert cell.get("execution_count") is None, f"{path.name} cell {index} was executed"


#: Runs one notebook with nbclient and saves the executed copy. In a child process, so that
#: event loops other tests leave behind (Dask's, Solara's) cannot stall the kernel client.
_EXECUTE = """
import sys
import nbformat
from nbclient import NotebookClient

source, target, folder, timeout = sys.argv[1:5]
notebook = nbformat.read(source, as_version=4)
client = NotebookClient(notebook, timeout=int(timeout), kernel_name="python3",
                        resources={"metadata": {"path": folder}})
try:
    client.execute()
finally:
    nbformat.write(notebook, target)
"""


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    import nbformat

    executed = tmp_path / path.name
    env = {**os.environ, "CHIPSIM_SEEDS": TEST_SEEDS, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    env.pop("MPLBACKEND", None)  # the notebooks choose the inline backend themselves
    done = subprocess.run(
        [sys.executable, "-c", _EXECUTE, str(path), str(executed), str(NOTEBOOKS),
         str(CELL_TIMEOUT)],
        env=env, capture_output=True, text=True, timeout=CELL_TIMEOUT * 4,
    )
    assert done.returncode == 0, f"{path.name} failed:\n{done.stderr[-4000:]}"
    notebook = nbformat.read(executed, as_version=4)
    outputs = [out for cell in notebook.cells if cell.cell_type == "code"
               for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.get("output_type") == "error"]
    assert any("image/png" in out.get("data", {}) for out in outputs), (
        f"{path.name} drew no figure")
