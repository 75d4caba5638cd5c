"""The chip-trade model: who acts in which order each month, and what is recorded.

One step is one month. The schedule (:meth:`ChipTradeModel.step`) reads as the process overview
of the ODD description in ``docs/model.md``:

1. regulators apply the moves that take effect (and clouds that comply withdraw);
2. vendors receive finished production;
3. Chinese and overseas buyers form demand (with backlog, stockpile drawdown, rumours);
4. the market clears: channel choice, grey-market price, licences, allocation, shipping,
   seizures, payments;
5. buyers book what they received; smugglers adapt; vendors review markets and plan output;
6. conservation is checked (when asked) and the month's metrics are recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.agents.buyers import BuyerBook, BuyerGroup
from sim.model.agents.clouds import CloudFleet
from sim.model.agents.overseas import OverseasBuyers
from sim.model.agents.regulators import Regulator, jurisdiction
from sim.model.agents.smugglers import SmugglerNetwork
from sim.model.agents.vendors import Vendor
from sim.model.ledger import Ledger
from sim.model.market import Market, MonthFlows, Participants
from sim.model.mesa_adapter import MonthlyRecords, mesa_scenario, resolve_scenario
from sim.model.metrics import MODEL_METRICS
from sim.world.actors import BIG_TECH, COHORTS, US_VENDORS, VENDORS
from sim.world.catalogue import US_CHIPS
from sim.world.parameters import draw, group
from sim.world.policy import PolicyState

if TYPE_CHECKING:
    from os import PathLike

    from sim.scenario.scenario import Scenario



class ChipTradeModel(mesa.Model):
    """Vendors, Chinese and overseas buyers, clouds, smugglers and regulators, month by month.

    Args:
        scenario: the experiment (period, population, parameters, policy, events), or the path
            of a scenario file; None runs ``scenarios/baseline.yaml`` (see sim/mesa_compat.py).
        seed: the replication's seed; the same seed gives the same run, bit for bit (None:
            fresh entropy, as Mesa's ``batch_run`` passes by default).
        check_conservation: assert conservation of chips and money after every month.
    """

    def __init__(
        self,
        scenario: Scenario | str | PathLike[str] | None = None,
        *,
        seed: int | np.random.SeedSequence | None = 0,
        check_conservation: bool = False,
    ) -> None:
        scenario = resolve_scenario(scenario)  # Mesa-style keywords: a path; None: the baseline
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        super().__init__(rng=np.random.default_rng(seq))
        self.experiment = scenario  # Mesa reserves model.scenario for its own Scenario type
        self.params = draw(scenario.parameters, seq)
        self.check_conservation = check_conservation
        self.month = scenario.start - int(self.params["model.burn_in_months"])
        self.policy = PolicyState()
        for move in scenario.initial_policy:
            move.apply(self.policy)
        self.ledger = Ledger()
        self._restrictions = [
            (e, e.move.restricted_chips()) for e in scenario.events if e.move.restricted_chips()
        ]
        self._create_agents()
        self.flows = MonthFlows()
        self.records = np.zeros((len(scenario.months), len(MODEL_METRICS)))
        self._row = 0
        # Mesa's generic tools (batch_run, SolaraViz): see sim/mesa_compat.py
        self.scenario = mesa_scenario(scenario)
        self.datacollector = MonthlyRecords(self)

    # --- construction -------------------------------------------------------------------------
    def _create_agents(self) -> None:
        pop = self.experiment.population
        by_jurisdiction: dict[str, list] = {"us": [], "cn": [], "transit": [], "world": []}
        for event in self.experiment.events:
            by_jurisdiction[jurisdiction(event.move.name)].append(event)
        self.regulators = {name: Regulator(self, name, ev) for name, ev in by_jurisdiction.items()}
        self.us, self.transit = self.regulators["us"], self.regulators["transit"]
        self.vendors = [Vendor(self, name) for name in VENDORS]
        self._vendor_of = {c: v for v in self.vendors for c in v.chips}
        cohorts = {c: int(n) for c, n in group(self.params, "buyers.cohort_size").items()}
        sizes = dict.fromkeys(BIG_TECH, 1) | cohorts | {"small_firms": pop["small_buyers"]}
        self.book = BuyerBook(sizes, self.params, self.rng)
        self.buyers = [BuyerGroup(self, g, self.book) for g in (*BIG_TECH, *COHORTS)]
        self.overseas = OverseasBuyers(self)
        self.clouds = CloudFleet(self, pop["cloud_providers"])
        self.smugglers = SmugglerNetwork(self, pop["smugglers"])
        self.market = Market(self, Participants(
            self.book, self._vendor_of, self.overseas, self.clouds, self.smugglers, self.us,
            self.transit))
        self.book.start_rentals(self.clouds.china_capacity)

    # --- lookups used by agents ---------------------------------------------------------------
    def vendor_of(self, chip: str) -> Vendor:
        """The vendor that makes ``chip``."""
        return self._vendor_of[chip]

    def years(self) -> float:
        """Years since the period started (negative during burn-in): the clock of demand growth."""
        return (self.month - self.experiment.start) / 12.0

    def list_price(self, chip: str) -> float:
        """A chip's list price now, USD (its vendor's, moved by supply shocks)."""
        return self._vendor_of[chip].list_price(chip)

    def coming_restrictions(self) -> dict[str, tuple[int, float]]:
        """Chips buyers expect to be restricted: chip -> (month it takes effect, credence).

        Buyers know a move from its announcement; rumours reach them ``anticipation_months``
        earlier, with credence ``rumour_credence`` (FACTS M2: rumoured from early 2025).
        """
        p = self.params
        heard = self.month + p["buyers.anticipation_months"]
        out: dict[str, tuple[int, float]] = {}
        for event, chips in self._restrictions:
            if event.date <= self.month or heard < event.announced:
                continue
            credence = 1.0 if self.month >= event.announced else p["buyers.rumour_credence"]
            for chip in chips:
                if chip not in out or out[chip][0] > event.date:
                    out[chip] = (event.date, credence)
        return out

    # --- the month ----------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one month (see the module docstring for the order)."""
        for regulator in self.regulators.values():
            regulator.apply_moves()
        self._withdraw_cloud_capacity()
        for vendor in self.vendors:
            vendor.start_month()
        for buyer in self.buyers:
            buyer.form_demand()
        self.overseas.form_demand()
        self.flows = self.market.clear(self.coming_restrictions())
        for buyer in self.buyers:
            buyer.settle()
        self.smugglers.adapt(self.smugglers.mix_list_price() * (1 + self.flows.grey_premium))
        for vendor in self.vendors:
            vendor.end_month()
        if self.check_conservation:
            self.ledger.check(self)
        if self.month >= self.experiment.start:
            self.records[self._row] = self._measure()
            self._row += 1
            self.datacollector.collect(self)
        self.month += 1
        self.running = self.month <= self.experiment.end

    def run(self) -> np.ndarray:
        """Run burn-in and the whole period; return the records (months x MODEL_METRICS)."""
        while self.month <= self.experiment.end:
            self.step()
        return self.records

    def _withdraw_cloud_capacity(self) -> None:
        """Providers that comply with a remote-access rule drop Chinese renters."""
        withdrawn = self.clouds.apply_rules()
        if withdrawn > 0:
            self.book.lose_rentals(withdrawn, self.market.options.cloud_fit())

    # --- measurement --------------------------------------------------------------------------
    def china_compute_h100e(self) -> float:
        """Compute Chinese buyers own or rent, in H100-equivalents."""
        rented = self.book.rented_gpus * self.market.options.cloud_fit()
        return float(self.book.owned.sum() + rented.sum())

    def _measure(self) -> list[float]:
        f = self.flows
        revenue = {v.name: v.revenue_usd for v in self.vendors}
        new = sum(f.new_h100e.values())
        values = {
            "smuggled_units": f.smuggled,
            "cloud_units": f.cloud,
            "cloud_capacity_units": self.clouds.china_capacity,
            "subsidiary_units": f.subsidiary,
            "diverted_units": f.smuggled + f.cloud + f.subsidiary,
            "legal_export_units": f.legal,
            "domestic_units": f.domestic,
            "seized_units": f.seized,
            "vendor_revenue_usd": sum(revenue[v] for v in US_VENDORS),
            "us_fees_usd": self.us.fees_usd,
            "writedown_usd": sum(v.writedown_usd for v in self.vendors),
            "grey_premium": f.grey_premium,
            "china_compute_h100e": self.china_compute_h100e(),
            "domestic_share": f.new_h100e.get("domestic", 0.0) / new if new > 0 else 0.0,
            "grey_sales_usd": f.grey_sales_usd,
            "cancelled_orders_units": f.cancelled_orders,
        } | {f"vendor_revenue_usd_{v}": r for v, r in revenue.items()} | {
            f"legal_export_units_{c}": f.legal_by_chip.get(c, 0.0) for c in US_CHIPS
        } | {f"production_units_{c}": self.vendor_of(c).finished[c] for c in US_CHIPS}
        return [values[name] for name in MODEL_METRICS]

    # --- conservation -------------------------------------------------------------------------
    def received_by_destination(self) -> dict[str, float]:
        """Units each kind of receiver has booked (the receivers' side of the chip ledger)."""
        got = self.book.received_units
        return {
            "overseas": self.overseas.received_units,
            "legal": got["legal"],
            "domestic": got["domestic"],
            "cloud": self.clouds.bought_units,
            "subsidiary": got["subsidiary"],
            "smuggled": self.smugglers.delivered_units,
            "seized": self.smugglers.seized_units,
        }

    def total_received_usd(self) -> float:
        """Money every payee has booked: vendors, governments and intermediaries."""
        return (
            sum(v.revenue_total_usd for v in self.vendors)
            + sum(r.fees_total_usd for r in self.regulators.values())
            + self.smugglers.receipts_usd
            + self.smugglers.reseller_receipts_usd
            + self.clouds.receipts_usd
        )

