"""What an agent or the market may read of the model: a narrow, typed view of it.

Agents and the market never import the model. Each is handed the model as a
:class:`ModelContext` and reads only what the protocol names: this replication's parameters,
the rules in force, the random stream, the month and its clock, the ledger that records the
other side of every transaction, and prices. The dependency then runs one way (the model
builds agents and the market; they do not know it), and what state is shared is visible in
this one file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from sim.model.ledger import Ledger
    from sim.world.policy import PolicyState


class ModelContext(Protocol):
    """The model as agents and the market see it."""

    #: This replication's parameter values, by dotted name (``sim/world/data/parameters.yaml``).
    params: Mapping[str, float]
    #: The rules in force this month (moves write them; agents only read them).
    policy: PolicyState
    #: The replication's random stream.
    rng: np.random.Generator
    #: The current month (index, :mod:`sim.world.months`).
    month: int
    #: The other side of every payment and shipment, for the conservation check.
    ledger: Ledger

    def years(self) -> float:
        """Years since the period started (negative during burn-in): the clock of growth."""
        ...

    def list_price(self, chip: str) -> float:
        """A chip's list price now, USD (supply shocks move it)."""
        ...
