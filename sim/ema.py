"""``sim.ema.ema_model``: chipsim as an EMA Workbench model (defined in :mod:`sim.analysis.ema`)."""

from sim.analysis.ema import ema_model

__all__ = ["ema_model"]
