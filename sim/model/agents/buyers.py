"""Chinese buyers: compute demand, expectations, stockpiles, backlog and what they received.

ByteDance, Alibaba, Tencent and Baidu are one buyer each; smaller firms, research labs and
state-funded data centres are cohorts of many buyers. Every buyer has two needs, training and
inference compute (``buyers.train_weight`` splits its demand): each need is met and stockpiled
on its own, so chips bought ahead for inference (the H20 of FACTS F1) do not stand in for the
training chips a buyer still wants. Every need's state lives in one :class:`BuyerBook` (a Mesa
agent holding arrays, one row per need: a buyer's training row, then its inference row) so
that the month's rules apply to all buyers in a few array operations; each
:class:`BuyerGroup` agent is a named view of its rows (for Mesa's tools, the dashboard and
notebooks).

The book is the one owner of buyer state: it forms demand and settles the month itself, and
everyone else (the market, the model) changes buyer state only through its methods - placing,
cancelling and taking delivery of orders, renting and losing cloud GPUs, counting receipts.

**Profiles.** Needs of the same buyer class and workload share every taste that enters the
choice of a channel (compliance, risk aversion, offshore access, memory, training or inference),
so they weigh the options alike: the market works out the choice once per *profile* (class x
workload, 8 in all) and scales it by each need's demand. What differs between needs - size,
backlog, stockpile, and every random draw - stays per need.

**Unmet demand.** Compute a buyer wanted but did not get (nor has on order) has three fates,
each explicit: orders already placed wait in the vendor's order book; of the rest, the share
``demand.unmet_abandon_share`` is abandoned each month, and the remainder returns as backlog to
next month's choice, where it may go to the same channel, another channel or domestic chips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.draws import AT_START
from sim.model.kernels import blend_into
from sim.world.actors import BIG_TECH, BUYER_CLASSES, CHANNELS, COHORTS
from sim.world.catalogue import US_CHIPS
from sim.world.parameters import group

if TYPE_CHECKING:
    from sim.model.context import ModelContext
    from sim.scenario.scenario import Event

#: Buyer groups in row order.
GROUPS: tuple[str, ...] = (*BIG_TECH, *COHORTS)
#: A buyer's needs, in row order: training compute, then inference compute.
WORKLOADS: tuple[str, ...] = ("train", "infer")


class BuyerBook(mesa.Agent):
    """Every Chinese buyer's two needs, as arrays of shape (replications, needs).

    Args:
        model: the model as agents see it.
        sizes: buyers per group (1 for each big buyer).
        restrictions: the scenario's events that restrict chips, with the chips (buyers learn of
            them when announced, and hear rumours earlier).

    """

    model: ModelContext

    def __init__(self, model: ModelContext, sizes: Mapping[str, int],
                 restrictions: Sequence[tuple[Event, frozenset[str]]] = ()) -> None:
        super().__init__(model)
        p, r = model.params, model.replications
        self.buyers = buyers = sum(sizes[g] for g in GROUPS)
        self.n = n = len(WORKLOADS) * buyers  # rows: needs
        self.slices: dict[str, slice] = {}  # group -> its buyers' rows
        classes = np.empty(buyers, dtype=np.int8)
        start = 0
        for g in GROUPS:
            self.slices[g] = slice(len(WORKLOADS) * start, len(WORKLOADS) * (start + sizes[g]))
            classes[start:start + sizes[g]] = BUYER_CLASSES.index(_class_of(g))
            start += sizes[g]
        self.buyer_class = np.repeat(classes, len(WORKLOADS))  # (n,): the same in every replication
        self.inference = np.tile([False, True], buyers)  # (n,): inference need (else training)

        def per_class(prefix: str) -> np.ndarray:
            values = group(p, prefix)
            return np.take(np.hstack([values[c] for c in BUYER_CLASSES]), self.buyer_class, axis=1)

        split = per_class("buyers.train_weight")  # training share of each buyer's demand
        shares = np.repeat(self._shares(sizes), len(WORKLOADS), axis=1)
        self.base_demand = (p["demand.china_h100e_per_month"] * shares
                            * np.where(self.inference, 1.0 - split, split))
        self.train_weight = np.broadcast_to((~self.inference).astype(float), (r, n))  # 1 or 0
        self.memory_need = per_class("buyers.memory_need_gb")
        self.risk_aversion = per_class("buyers.risk_aversion")
        self.compliance = per_class("buyers.compliance")
        self.offshore_access = per_class("buyers.offshore_access")
        self.stockpile_months = per_class("buyers.stockpile_months")
        self.profiles = Profiles(p, self.buyer_class, self.inference)
        self.restrictions = tuple(restrictions)
        zeros = np.zeros((r, n))
        self.trend = zeros.copy()  # H100e the demand trend alone asks this month (budget basis)
        self.demand = zeros.copy()  # H100e wanted this month (after backlog and drawdown)
        self.need_scale = np.ones((r, n))  # need before drawdown over demand after it
        self.backlog = zeros.copy()  # H100e wanted, not received nor on order, carried over
        self.on_order = zeros.copy()  # H100e ordered legally for the need, waiting in the book
        self.stockpile = zeros.copy()  # H100e bought ahead of need, not yet drawn down
        self.owned = zeros.copy()  # H100e installed and owned (in China or offshore)
        self.disabled = zeros.copy()  # H100e of smuggled chips found and disabled (M17)
        self.rented_gpus = zeros.copy()  # GPUs rented in offshore clouds
        self.usual_units = np.zeros((r, len(US_CHIPS), n))  # usual monthly purchases, units
        self.ordered_ahead = np.zeros((r, len(US_CHIPS), n))  # units stockpiled ahead, per chip
        self.received = {ch: zeros.copy() for ch in CHANNELS}  # H100e received this month
        self.received_total = zeros.copy()
        self.received_units = {ch: np.zeros((r, 1)) for ch in CHANNELS}  # cumulative units
        self.abandoned = np.zeros((r, 1))  # H100e of unmet need abandoned this month

    def _shares(self, sizes: Mapping[str, int]) -> np.ndarray:
        """Each buyer's share of Chinese demand: its group's share split by log-normal size.

        Cohort members differ in size; their shares sum to the group's share whatever the
        cohort's size, so the number of buyers is resolution, not market size.
        """
        p, draws = self.model.params, self.model.draws
        weight = np.empty((self.model.replications, self.buyers))
        sizes_ = draws.lognormal_mean_one("buyer_size", AT_START, self.buyers,
                                          p["buyers.small_firm_size_sigma"])
        start = 0
        for g in GROUPS:
            rows = slice(start, start + sizes[g])
            w = sizes_[:, rows] if sizes[g] > 1 else np.ones((self.model.replications, 1))
            weight[:, rows] = p[f"buyers.demand_share.{g}"] * w / w.sum(axis=1, keepdims=True)
            start += sizes[g]
        return weight / weight.sum(axis=1, keepdims=True)

    # --- the month --------------------------------------------------------------------------
    def start_month(self) -> None:
        """Start this month's count of abandoned need."""
        self.abandoned = np.zeros_like(self.abandoned)

    def form_demand(self, hedging: np.ndarray) -> None:
        """New compute wanted this month: trend growth, plus backlog, less stockpile drawdown.

        The stockpile is one pool per need, drawn down over ``buyers.drawdown_months`` - but not
        by a need ``hedging`` (R, n): one that bought ahead of a restriction still to come on a
        chip it may still order. It keeps buying as usual and holds the stockpile for the day
        the rule bites (FACTS F1: a year's supply bought *ahead*), so what it holds then is its
        whole aim, and an earlier warning leaves it longer to build one (FACTS C1). What a
        buyer counts as held ahead of each coming restriction shrinks with the stockpile, so
        one drawn on all the same (a surplus of a need no longer hedging) is topped up again.
        """
        p = self.model.params
        self.trend = self.base_demand * (1.0 + p["demand.growth_per_year"]) ** self.model.years()
        wanted = self.trend + self.backlog
        draw = np.where(hedging, 0.0,
                        np.minimum(self.stockpile / p["buyers.drawdown_months"], wanted))
        kept = np.divide(self.stockpile - draw, self.stockpile, out=np.ones_like(draw),
                         where=self.stockpile > 0)
        self.ordered_ahead *= kept[:, None, :]
        self.stockpile -= draw
        self.demand = wanted - draw
        self.need_scale = np.divide(wanted, self.demand, out=np.ones_like(draw),
                                    where=self.demand > 0)
        self.backlog = np.zeros_like(self.backlog)

    def settle(self) -> None:
        """Book what arrived: surplus goes to the stockpile; of the shortfall, some is abandoned.

        Smuggled chips found in China by location verification are disabled (M17): they do not
        meet the need. Orders still waiting in the order book count towards the need (they are
        not ordered again); if they are cancelled later, they return here as unmet need.
        """
        disabled = self.received["smuggled"] * self.model.policy.location_detection
        got = self.received_total - disabled
        self.stockpile += np.maximum(got - self.demand, 0.0)
        self._unmet(np.maximum(self.demand - got - self.on_order, 0.0))
        owned = sum(self.received[ch] for ch in CHANNELS if ch != "cloud")
        self.owned += owned - disabled  # rented cloud GPUs are not owned
        self.disabled += disabled

    def _unmet(self, h100e: np.ndarray) -> None:
        """Unmet need: the share ``demand.unmet_abandon_share`` is abandoned, the rest waits."""
        abandon = self.model.params["demand.unmet_abandon_share"]
        self.abandoned = self.abandoned + (abandon * h100e).sum(axis=1, keepdims=True)
        self.backlog += (1.0 - abandon) * h100e

    def expected_restrictions(self) -> dict[str, tuple[int, float]]:
        """Chips buyers expect to be restricted: chip -> (month it takes effect, credence).

        Buyers know a move from its announcement; rumours reach them ``anticipation_months``
        earlier, with credence ``rumour_credence`` (FACTS M2: rumoured from early 2025). Both
        are the same for every replication of a scenario except the credence, which is a
        per-replication column.
        """
        p, month = self.model.params, self.model.month
        heard = month + p["buyers.anticipation_months"]
        out: dict[str, tuple[int, float]] = {}
        for event, chips in self.restrictions:
            if event.date <= month or (heard < event.announced).all():
                continue
            credence = (1.0 if month >= event.announced
                        else np.where(heard >= event.announced, p["buyers.rumour_credence"], 0.0))
            for chip in chips:
                if not event.move.tightens(chip, self.model.policy):
                    continue  # eases the rule in force (FACTS M5): nothing to buy ahead of
                if chip not in out or out[chip][0] > event.date:
                    out[chip] = (event.date, credence)
        return out

    def guidance_cancellations(self, chip: str, pressure: float) -> np.ndarray:
        """Which buyers cancel their waiting orders of ``chip`` as guidance comes in (M6).

        Each buyer cancels with probability ``pressure`` x its compliance: one draw per buyer
        and month, taken when the guidance comes in or tightens.
        """
        u = self.model.draws.uniform(f"guidance_cancel:{chip}", self.model.month, self.n)
        return u < pressure * self.compliance

    # --- orders -----------------------------------------------------------------------------
    def place_orders(self, h100e: np.ndarray, ahead: np.ndarray) -> None:
        """Legal orders granted a licence join what each buyer has on order.

        ``ahead`` (within ``h100e``) is a stockpile ordered ahead of a restriction: it is on
        order, but not for this month's need, so it does not count towards it (``settle``; the
        order book keeps the stockpile on order, ``OrderBook.ahead``).
        """
        self.on_order += h100e - ahead

    def cancel_orders(self, h100e: np.ndarray, ahead: np.ndarray) -> None:
        """Waiting orders cancelled or refused: the need they were for returns as unmet need.

        ``ahead`` (within ``h100e``) was a stockpile bought ahead of a restriction, not need: it
        leaves what the buyer has on order only (the months it was for bring their own need).
        """
        self.on_order -= h100e - ahead
        self._unmet(h100e - ahead)

    def take_delivery(self, h100e: np.ndarray, ahead: np.ndarray) -> None:
        """Orders delivered leave what each buyer has on order (``ahead``: the stockpile part)."""
        self.on_order -= h100e - ahead

    def note_usual_purchases(self, units: np.ndarray, weight: np.ndarray) -> None:
        """Update usual purchases of each US part with this month's plan (weight of the latest).

        The plan is scaled back up by what the stockpile covered this month: usual purchases
        are what the buyer's need asks of the part, not what it buys while it uses up chips it
        bought ahead (else a stockpile would shrink the aim of the next one).
        """
        blend_into(self.usual_units, units * self.need_scale[:, None, :], weight)

    def note_ordered_ahead(self, extra: Mapping[int, np.ndarray]) -> None:
        """Keep count of the units ordered ahead of each US part's coming restriction.

        ``extra``: US part index -> units ordered ahead this month (R, n); a part with no
        restriction coming starts from zero again, ready for the next one.
        """
        for i in range(len(US_CHIPS)):
            if i in extra:
                self.ordered_ahead[:, i, :] += extra[i]
            else:
                self.ordered_ahead[:, i, :] = 0.0

    # --- offshore cloud rentals ---------------------------------------------------------------
    def start_rentals(self, capacity: np.ndarray) -> None:
        """Existing offshore capacity is rented by buyers with offshore access, by demand."""
        reach = self.base_demand * self.offshore_access
        total = reach.sum(axis=1, keepdims=True)
        self.rented_gpus = np.divide(capacity * reach, total, out=np.zeros_like(reach),
                                     where=total > 0)

    def rent(self, gpus: np.ndarray) -> None:
        """New cloud GPUs rented this month."""
        self.rented_gpus += gpus

    def lose_rentals(self, share: np.ndarray, h100e_per_gpu: np.ndarray) -> None:
        """Providers that comply with a remote-access rule drop ``share`` of the rented GPUs.

        The compute lost is wanted again: it joins the backlog.
        """
        lost = self.rented_gpus * share
        self.rented_gpus -= lost
        self.backlog += lost * h100e_per_gpu

    # --- receipts -----------------------------------------------------------------------------
    def receive(self, received: Mapping[str, np.ndarray]) -> None:
        """Book this month's receipts: H100e per buyer through each channel, and their total."""
        for ch in CHANNELS:
            self.received[ch] = received[ch]
        self.received_total = sum(self.received[ch] for ch in CHANNELS)

    def count_units(self, channel: str, units: np.ndarray) -> None:
        """Units received through ``channel`` (cumulative, the receivers' side of the ledger)."""
        self.received_units[channel] = self.received_units[channel] + units

    def compute_h100e(self, h100e_per_rented_gpu: np.ndarray) -> np.ndarray:
        """Compute each replication's buyers own or rent, H100-equivalents: (R, 1)."""
        rented = self.rented_gpus * h100e_per_rented_gpu
        return (self.owned + rented).sum(axis=1, keepdims=True)


class Profiles:
    """The buyer profiles (class x workload): what every need of a profile has in common.

    Attributes are per replication and profile, shape (R, P); ``of`` maps each need (row of the
    book) to its profile, and ``order`` / ``starts`` sort the needs by profile so that sums per
    profile are sums of contiguous runs (the same additions whatever the number of
    replications).
    """

    def __init__(self, params: Mapping[str, np.ndarray], buyer_class: np.ndarray,
                 inference: np.ndarray) -> None:
        count = len(BUYER_CLASSES) * len(WORKLOADS)
        self.count = count
        self.buyer_class = np.repeat(np.arange(len(BUYER_CLASSES)), len(WORKLOADS))  # (P,)
        self.inference = np.tile([False, True], len(BUYER_CLASSES))  # (P,)
        self.of = buyer_class.astype(np.int64) * len(WORKLOADS) + inference  # (n,)
        self.order = np.argsort(self.of, kind="stable")
        present = np.bincount(self.of, minlength=count)
        self.present = present > 0
        self.starts = np.concatenate([[0], np.cumsum(present)[:-1]])[self.present]

        def per_class(prefix: str) -> np.ndarray:
            values = group(params, prefix)
            return np.take(np.hstack([values[c] for c in BUYER_CLASSES]), self.buyer_class, axis=1)

        r = next(iter(params.values())).shape[0]
        self.train_weight = np.broadcast_to((~self.inference).astype(float), (r, count))
        self.memory_need = per_class("buyers.memory_need_gb")
        self.risk_aversion = per_class("buyers.risk_aversion")
        self.compliance = per_class("buyers.compliance")
        self.offshore_access = per_class("buyers.offshore_access")

    def total(self, per_need: np.ndarray) -> np.ndarray:
        """Per-need values (R, n) summed by profile: (R, P) (0 for a profile with no need)."""
        out = np.zeros((per_need.shape[0], self.count))
        by_profile = np.take(per_need, self.order, axis=1)
        out[:, self.present] = np.add.reduceat(by_profile, self.starts, axis=1)
        return out


class BuyerGroup(mesa.Agent):
    """One big buyer, or a cohort of similar buyers: a named view of rows of the BuyerBook."""

    model: ModelContext

    def __init__(self, model: ModelContext, name: str, book: BuyerBook) -> None:
        super().__init__(model)
        self.name = name
        self.buyer_class = _class_of(name)
        self.book = book
        self.rows = book.slices[name]

    @property
    def size(self) -> int:
        """Number of buyers in this group."""
        return self.rows.stop - self.rows.start

    @property
    def owned_h100e(self) -> np.ndarray:
        """Compute the group owns, per replication (R, 1)."""
        return self.book.owned[:, self.rows].sum(axis=1, keepdims=True)


def _class_of(group_name: str) -> str:
    return "big_tech" if group_name in BIG_TECH else group_name
