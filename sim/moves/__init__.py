"""Policy moves, one class each, found by name in :data:`MOVES`."""

from sim.moves import cn, supply, trade, transit, us  # noqa: F401  (registers the moves)
from sim.moves.base import MOVES, Move

__all__ = ["MOVES", "Move"]
