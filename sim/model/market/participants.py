"""Who trades in the market: the agents the clearing moves chips and money between.

The market is given its collaborators explicitly, as one :class:`Participants` record built by
the model, rather than reaching into the model for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.model.agents.buyers import BuyerBook
    from sim.model.agents.clouds import CloudFleet
    from sim.model.agents.fronts import FrontCompanies
    from sim.model.agents.overseas import OverseasBuyers
    from sim.model.agents.regulators import Regulator
    from sim.model.agents.smugglers import SmugglerNetwork
    from sim.model.agents.vendors import Vendor


@dataclass(frozen=True)
class Participants:
    """The agents a month's clearing involves."""

    #: every Chinese buyer's state (the buyers' own book)
    book: BuyerBook
    #: chip -> the vendor that makes it
    vendor_of: Mapping[str, Vendor]
    overseas: OverseasBuyers
    clouds: CloudFleet
    fronts: FrontCompanies
    smugglers: SmugglerNetwork
    #: the US regulator (collects revenue shares and tariffs)
    us: Regulator
    #: transit countries (collect permit fees)
    transit: Regulator
