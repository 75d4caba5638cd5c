"""The monthly market: how Chinese buyers meet demand, and how the channels clear.

Each buyer compares its options - a legal import of each US part, each domestic part, renting
offshore cloud GPUs, buying through an offshore subsidiary, and the grey market - by effective
cost per H100-equivalent (price with fees and tariffs, risk, delay, guidance pressure, software
ecosystem) adjusted for how well the part fits its work (training vs inference, memory). Demand
splits across options in a CES (logit-in-log-cost) form, so cheaper options win most but not all
of it. Domestic mandates set a floor under the domestic part.

The grey-market price is the one at which buyers' demand for smuggled chips equals the smugglers'
expected deliveries. Legal, domestic, cloud and subsidiary channels are rationed by vendors'
inventory and cloud providers' room to grow; what a buyer does not receive becomes backlog.
"""

from sim.model.market.clearing import Market
from sim.model.market.flows import MonthFlows
from sim.model.market.participants import Participants

__all__ = ["Market", "MonthFlows", "Participants"]
