"""Where the shipped scenario library lives: ``scenarios/`` beside the ``sim`` package.

One place answers "where are the scenario files?" for the Mesa adapter (the baseline a bare
``ChipTradeModel()`` runs), the dashboard and the validation report.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming another folder of scenario files.
SCENARIO_DIR_ENV = "CHIPSIM_SCENARIOS"
#: The source tree's scenario library (``<repo>/scenarios``).
SOURCE_LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"


def library_file(name: str) -> Path:
    """A file of the source tree's scenario library, e.g. ``timeline-2024-2026.yaml``."""
    return SOURCE_LIBRARY / name


def search_path() -> list[Path]:
    """Folders searched for scenario files, in order.

    The library first, then ``$CHIPSIM_SCENARIOS``, then ``./scenarios``.
    """
    folders = [SOURCE_LIBRARY]
    if os.environ.get(SCENARIO_DIR_ENV):
        folders.append(Path(os.environ[SCENARIO_DIR_ENV]))
    folders.append(Path.cwd() / "scenarios")
    return folders
