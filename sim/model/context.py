"""What an agent or the market may read of the model: a narrow, typed view of it.

Agents and the market never import the model. Each is handed the model as a
:class:`ModelContext` and reads only what the protocol names: the parameters of each
replication, the rules in force, the keyed random draws, the month and its clock, the ledger
that records the other side of every transaction, and prices. The dependency then runs one way
(the model builds agents and the market; they do not know it), and what state is shared is
visible in this one file.

**Replications.** The model steps R replications of one scenario at once (R = 1 for Mesa's
tools). Every quantity carries the replication as its first axis: a per-replication number is a
column of shape (R, 1), a per-agent quantity has shape (R, n), a per-agent-and-option one
(R, n, K). Replications never mix: every operation is elementwise or a reduction over the last
(agent) axis, so replication ``r`` computes the same numbers whatever R is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from sim.model.draws import Draws
    from sim.model.ledger import Ledger
    from sim.world.policy import PolicyState


class ModelContext(Protocol):
    """The model as agents and the market see it."""

    #: Number of replications stepped together.
    replications: int
    #: Each replication's parameter values by dotted name, as columns of shape (R, 1)
    #: (``sim/world/data/parameters.yaml``).
    params: Mapping[str, np.ndarray]
    #: The rules in force this month (moves write them; agents only read them).
    policy: PolicyState
    #: Random numbers keyed by purpose, month and agent (see :mod:`sim.model.draws`).
    draws: Draws
    #: The current month (index, :mod:`sim.world.months`).
    month: int
    #: The other side of every payment and shipment, for the conservation check.
    ledger: Ledger

    def years(self) -> float:
        """Years since the period started (negative during burn-in): the clock of growth."""
        ...

    def list_price(self, chip: str) -> np.ndarray:
        """A chip's list price now, USD, per replication (R, 1); supply shocks move it."""
        ...

    def unit_cost(self, chip: str) -> np.ndarray:
        """What one unit of a chip costs its vendor to make now, USD, per replication (R, 1)."""
        ...
