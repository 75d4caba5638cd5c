"""The ``chipsim`` command line (console script ``chipsim = sim.cli:main``)."""

from sim.cli.main import main

__all__ = ["main"]
