"""Chinese buyers: compute demand, stockpiling, and what they received through each channel.

ByteDance, Alibaba, Tencent and Baidu are one agent each; smaller firms, research labs and
state-funded data centres are cohorts (one agent holding numpy arrays for many buyers). All
buyers' state lives in one :class:`BuyerBook` of arrays so that the market can clear every buyer
at once; each :class:`BuyerGroup` agent owns a slice of it and acts on that slice.

The book is the one owner of buyer state: a buyer group changes its own slice as it forms demand
and settles the month; everyone else (the market, the model) changes buyer state only through
the book's methods - placing, cancelling and taking delivery of orders, renting and losing cloud
GPUs, counting what was received.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.world.actors import BIG_TECH, BUYER_CLASSES, CHANNELS, COHORTS
from sim.world.catalogue import US_CHIPS
from sim.world.parameters import group

if TYPE_CHECKING:
    from sim.model.context import ModelContext



class BuyerBook:
    """State of every Chinese buyer, as arrays indexed by buyer."""

    def __init__(self, sizes: dict[str, int], params: dict[str, float], rng: np.random.Generator):
        names = [*BIG_TECH, *COHORTS]
        n = sum(sizes[g] for g in names)
        self.n = n
        self.slices: dict[str, slice] = {}
        classes = np.empty(n, dtype=np.int8)
        weight = np.empty(n)
        start = 0
        sigma = params["buyers.small_firm_size_sigma"]
        for g in names:
            size = sizes[g]
            sl = slice(start, start + size)
            self.slices[g] = sl
            classes[sl] = BUYER_CLASSES.index("big_tech" if g in BIG_TECH else g)
            # Cohort members differ in size (log-normal); their shares sum to the group's share.
            w = rng.lognormal(0.0, sigma, size) if size > 1 else np.ones(1)
            weight[sl] = params[f"buyers.demand_share.{g}"] * w / w.sum()
            start += size
        self.buyer_class = classes
        total_share = weight.sum()
        self.base_demand = params["demand.china_h100e_per_month"] * weight / total_share

        def per_class(prefix: str) -> np.ndarray:
            values = group(params, prefix)
            return np.array([values[c] for c in BUYER_CLASSES])[classes]

        self.train_weight = per_class("buyers.train_weight")
        self.memory_need = per_class("buyers.memory_need_gb")
        self.risk_aversion = per_class("buyers.risk_aversion")
        self.compliance = per_class("buyers.compliance")
        self.offshore_access = per_class("buyers.offshore_access")
        self.trend = np.zeros(n)  # H100e the demand trend alone asks this month (budget basis)
        self.demand = np.zeros(n)  # H100e wanted this month (after backlog and drawdown)
        self.backlog = np.zeros(n)  # H100e wanted but not received nor on order, carried over
        self.on_order = np.zeros(n)  # H100e ordered legally and waiting in the order book
        self.stockpile = np.zeros(n)  # H100e bought ahead of need, not yet drawn down
        self.owned = np.zeros(n)  # H100e installed and owned (in China or at a subsidiary)
        self.rented_gpus = np.zeros(n)  # GPUs rented in offshore clouds
        self.received = {ch: np.zeros(n) for ch in CHANNELS}  # H100e received this month
        self.received_total = np.zeros(n)  # H100e received this month through all channels
        self.received_owned = np.zeros(n)  # ... through the channels that leave it owning chips
        self.received_units = {ch: 0.0 for ch in CHANNELS}  # cumulative units, for the ledger
        self.usual_units = np.zeros((n, len(US_CHIPS)))  # usual monthly purchases of US parts

    # --- orders -----------------------------------------------------------------------------
    def place_orders(self, h100e: np.ndarray) -> None:
        """Legal orders granted a licence join what each buyer has on order."""
        self.on_order += h100e

    def cancel_orders(self, h100e: np.ndarray, carry: float) -> None:
        """Waiting orders refused: the need goes back to the backlog (the share ``carry``)."""
        self.on_order -= h100e
        self.backlog += carry * h100e

    def take_delivery(self, h100e: np.ndarray) -> None:
        """Orders delivered leave what each buyer has on order."""
        self.on_order -= h100e

    def note_usual_purchases(self, units: np.ndarray, weight: float) -> None:
        """Update usual purchases of each US part with this month's plan (weight of the latest)."""
        self.usual_units = (1 - weight) * self.usual_units + weight * units

    # --- offshore cloud rentals ---------------------------------------------------------------
    def start_rentals(self, capacity: float) -> None:
        """Existing offshore capacity is rented by buyers with offshore access, by demand."""
        reach = self.base_demand * self.offshore_access
        if reach.sum() > 0:
            self.rented_gpus = capacity * reach / reach.sum()

    def rent(self, gpus: np.ndarray) -> None:
        """New cloud GPUs rented this month."""
        self.rented_gpus += gpus

    def lose_rentals(self, share: float, h100e_per_gpu: np.ndarray) -> None:
        """Providers that comply with a remote-access rule drop ``share`` of the rented GPUs.

        The compute lost is wanted again: it joins the backlog.
        """
        lost = self.rented_gpus * share
        self.rented_gpus -= lost
        self.backlog += lost * h100e_per_gpu

    # --- receipts -----------------------------------------------------------------------------
    def count_units(self, channel: str, units: float) -> None:
        """Units received through ``channel`` (cumulative, the receivers' side of the ledger)."""
        self.received_units[channel] += units

    def receive(self, received: dict[str, np.ndarray]) -> None:
        """Book this month's receipts: H100e per buyer through each channel, and their totals.

        The totals are added up here once for every buyer, not by each buyer group on its own
        slice: the same additions, elementwise, in a fraction of the numpy calls.
        """
        for ch, arr in received.items():
            self.received[ch] = arr
        self.received_total = sum(self.received[ch] for ch in CHANNELS)
        self.received_owned = sum(self.received[ch] for ch in CHANNELS if ch != "cloud")


class BuyerGroup(mesa.Agent):
    """One big buyer, or a cohort of similar buyers, acting on its slice of the BuyerBook."""

    model: ModelContext

    def __init__(self, model: ModelContext, name: str, book: BuyerBook) -> None:
        super().__init__(model)
        self.name = name
        self.buyer_class = "big_tech" if name in BIG_TECH else name
        self.book = book
        self.rows = book.slices[name]

    @property
    def size(self) -> int:
        """Number of buyers in this group."""
        return self.rows.stop - self.rows.start

    def form_demand(self) -> None:
        """New compute wanted this month: trend growth, plus backlog, less stockpile drawdown."""
        p, b, r = self.model.params, self.book, self.rows
        trend = b.base_demand[r] * (1.0 + p["demand.growth_per_year"]) ** self.model.years()
        b.trend[r] = trend
        wanted = trend + b.backlog[r]
        draw = np.minimum(b.stockpile[r] / max(p["buyers.drawdown_months"], 1.0), wanted)
        b.stockpile[r] -= draw
        b.demand[r] = wanted - draw
        b.backlog[r] = 0.0

    def settle(self) -> None:
        """Book what arrived: surplus over need goes to the stockpile, shortfall to backlog.

        Orders still waiting in the order book count towards the need (they are not ordered
        again); if they are cancelled later, the market returns them to the backlog.
        """
        p, b, r = self.model.params, self.book, self.rows
        got = b.received_total[r]
        b.stockpile[r] += np.maximum(got - b.demand[r], 0.0)
        short = np.maximum(b.demand[r] - got - b.on_order[r], 0.0)
        b.backlog[r] += p["demand.backlog_carry"] * short
        b.owned[r] += b.received_owned[r]  # rented cloud GPUs are not owned
