"""The Mesa model: agents, the monthly market, the ledger and the metrics.

``from sim.model import ChipTradeModel`` is the import Mesa users write; it loads the model on
first use, so that lighter modules of this package can be imported without Mesa.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ChipTradeModel"]

if TYPE_CHECKING:
    from sim.model.model import ChipTradeModel


def __getattr__(name: str) -> Any:
    if name == "ChipTradeModel":
        from sim.model.model import ChipTradeModel

        return ChipTradeModel
    raise AttributeError(f"module 'sim.model' has no attribute {name!r}")
