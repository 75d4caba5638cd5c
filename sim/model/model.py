"""The chip-trade model: who acts in which order each month, and what is recorded.

One step is one month. The schedule (:meth:`ChipTradeModel.step`) reads as the process overview
of the ODD description in ``docs/model.md``:

1. regulators put the rules in force (a truce leaves the moves it suspends out); buyers cancel
   orders under new guidance; clouds that comply with a remote-access rule withdraw;
2. vendors receive finished production;
3. Chinese and overseas buyers form demand (trend, backlog, stockpile drawdown);
4. the market clears: offers, channel choice, grey-market price, licences, allocation,
   shipping, screening and seizures, payments;
5. buyers settle what they received; smugglers adapt; vendors review markets, grow capacity
   (domestic vendors within China's HBM and foundry supply) and plan output;
6. conservation is checked (when asked) and the month's metrics are recorded.

The model steps R replications of one scenario together (``seeds``), each with its own keyed
random draws and parameter values; R = 1 is an ordinary Mesa model for ``batch_run``,
SolaraViz and notebooks. Every replication's numbers are the same whatever R is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.agents.buyers import GROUPS, BuyerBook, BuyerGroup
from sim.model.agents.clouds import CloudFleet
from sim.model.agents.fronts import FrontCompanies
from sim.model.agents.overseas import OverseasBuyers
from sim.model.agents.regulators import Regulator, in_force_signature, jurisdiction, rules_in_force
from sim.model.agents.smugglers import SmugglerNetwork
from sim.model.agents.vendors import Vendor, domestic_ceiling
from sim.model.draws import Draws, replication_key
from sim.model.ledger import Ledger
from sim.model.market import Market, MonthFlows, Participants
from sim.model.measure import measure
from sim.model.mesa_adapter import MonthlyRecords, mesa_scenario, resolve_scenario
from sim.model.metrics import MODEL_METRICS
from sim.world.actors import BIG_TECH, VENDORS
from sim.world.catalogue import chip_parameter
from sim.world.parameters import draw_many, group

if TYPE_CHECKING:
    from os import PathLike

    from sim.scenario.scenario import Scenario
    from sim.world.policy import PolicyState


class ChipTradeModel(mesa.Model):
    """Vendors, Chinese and overseas buyers, clouds, front companies, smugglers and regulators.

    Args:
        scenario: the experiment (period, population, parameters, policy, events), or the path
            of a scenario file; None runs ``scenarios/baseline.yaml`` (see mesa_adapter).
        seed: the seed of a single replication (None: fresh entropy, as Mesa's ``batch_run``
            passes by default). Ignored when ``seeds`` is given.
        seeds: the seeds of R replications stepped together.
        parameter_sets: per replication, parameter values fixed on top of the scenario's (a
            sensitivity design point, a posterior sample).
        check_conservation: assert conservation of chips and money after every month.
    """

    def __init__(
        self,
        scenario: Scenario | str | PathLike[str] | None = None,
        *,
        seed: int | np.random.SeedSequence | None = 0,
        seeds: Sequence[np.random.SeedSequence] | None = None,
        parameter_sets: Sequence[Mapping[str, float]] | None = None,
        check_conservation: bool = False,
    ) -> None:
        scenario = resolve_scenario(scenario)  # Mesa-style keywords: a path; None: the baseline
        if seeds is None:
            seeds = [seed if isinstance(seed, np.random.SeedSequence)
                     else np.random.SeedSequence(seed)]
        # Mesa's own generator (for Mesa's tools); the model's draws are keyed (sim.model.draws)
        super().__init__(rng=np.random.default_rng(seeds[0]))
        self.experiment = scenario  # Mesa reserves model.scenario for its own Scenario type
        self.replications = len(seeds)
        self.params = draw_many(scenario.parameters, seeds, parameter_sets)
        self.draws = Draws(np.array([replication_key(s) for s in seeds], dtype=np.uint64))
        self.check_conservation = check_conservation
        self.month = scenario.start - int(self.params["model.burn_in_months"][0, 0])
        self._acting: tuple[bool, ...] | None = None
        self.policy = self._rules()
        self.ledger = Ledger(self.replications)
        self._create_agents()
        self.flows = MonthFlows()
        self.records = np.zeros((self.replications, len(scenario.months), len(MODEL_METRICS)))
        self._row = 0
        # Mesa's generic tools (batch_run, SolaraViz): see sim/model/mesa_adapter.py
        self.scenario = mesa_scenario(scenario)
        self.datacollector = MonthlyRecords(self)

    # --- construction -------------------------------------------------------------------------
    def _create_agents(self) -> None:
        pop, events = self.experiment.population, self.experiment.events
        by_jurisdiction: dict[str, list] = {"us": [], "cn": [], "transit": [], "world": []}
        for event in events:
            by_jurisdiction[jurisdiction(event.move.name)].append(event)
        self.regulators = {name: Regulator(self, name, ev) for name, ev in by_jurisdiction.items()}
        self.us, self.transit = self.regulators["us"], self.regulators["transit"]
        self.vendors = [Vendor(self, name) for name in VENDORS]
        self._vendor_of = {c: v for v in self.vendors for c in v.chips}
        cohorts = {c: int(n[0, 0]) for c, n in group(self.params, "buyers.cohort_size").items()}
        sizes = dict.fromkeys(BIG_TECH, 1) | cohorts | {"small_firms": pop["small_buyers"]}
        restrictions = [(e, e.move.restricted_chips()) for e in events
                        if e.move.restricted_chips()]
        self.book = BuyerBook(self, sizes, restrictions)
        self.buyers = [BuyerGroup(self, g, self.book) for g in GROUPS]
        self.overseas = OverseasBuyers(self)
        self.clouds = CloudFleet(self, pop["cloud_providers"])
        self.smugglers = SmugglerNetwork(self, pop["smugglers"])
        self.fronts = FrontCompanies(self)
        self.market = Market(self, Participants(
            self.book, self._vendor_of, self.overseas, self.clouds, self.fronts, self.smugglers,
            self.us, self.transit))
        self.book.start_rentals(self.clouds.china_capacity)

    # --- what agents read (the ModelContext) ---------------------------------------------------
    def vendor_of(self, chip: str) -> Vendor:
        """The vendor that makes ``chip``."""
        return self._vendor_of[chip]

    def years(self) -> float:
        """Years since the period started (negative during burn-in): the clock of demand growth."""
        return (self.month - self.experiment.start) / 12.0

    def list_price(self, chip: str) -> np.ndarray:
        """A chip's list price now, USD (R, 1): scarce components raise it with costs (F12)."""
        price = self.params[chip_parameter(chip, "list_price_usd")]
        return price * self.policy.cost_multiplier.get(chip, 1.0)

    def unit_cost(self, chip: str) -> np.ndarray:
        """Cost of making one unit of ``chip`` now, USD (R, 1) (supply shocks move it)."""
        cost = self.params[chip_parameter(chip, "unit_cost_usd")]
        return cost * self.policy.cost_multiplier.get(chip, 1.0)

    # --- the month ----------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one month (see the module docstring for the order)."""
        self.book.start_month()
        self._put_rules_in_force()
        for regulator in self.regulators.values():
            regulator.start_month()
        self._withdraw_cloud_capacity()
        for vendor in self.vendors:
            vendor.start_month()
        coming = self.book.expected_restrictions()
        self.book.form_demand(self.market.hedging(coming))
        self.overseas.form_demand()
        self.flows = self.market.clear(coming)
        self.book.settle()
        self.smugglers.adapt(self.smugglers.mix_list_price() * (1 + self.flows.grey_premium))
        ceiling = domestic_ceiling(self)
        for vendor in self.vendors:
            vendor.end_month(ceiling if vendor.domestic else None)
        if self.check_conservation:
            self.ledger.check(self)
        if self.month >= self.experiment.start:
            self.records[:, self._row, :] = measure(self)
            self._row += 1
            self.datacollector.collect(self)
        self.month += 1
        self.running = self.month <= self.experiment.end

    def run(self) -> np.ndarray:
        """Run burn-in and the whole period; return the records (R x months x MODEL_METRICS)."""
        while self.month <= self.experiment.end:
            self.step()
        return self.records

    def _rules(self) -> PolicyState:
        """The rules in force this month, rebuilt only when the set of acting events changes."""
        acting = in_force_signature(self.experiment.events, self.month)
        if acting != self._acting:
            self._acting = acting
            return rules_in_force(self.experiment.initial_policy, self.experiment.events,
                                  self.month)
        return self.policy

    def _put_rules_in_force(self) -> None:
        """The month's rules; buyers who follow new or tighter guidance cancel orders (M6)."""
        before = self.policy.guidance_pressure
        self.policy = self._rules()
        for chip, pressure in self.policy.guidance_pressure.items():
            if pressure > before.get(chip, 0.0):
                cancels = self.book.guidance_cancellations(chip, pressure)
                self.market.orders.cancel_under_guidance(chip, cancels)

    def _withdraw_cloud_capacity(self) -> None:
        """Providers that comply with a remote-access rule drop Chinese renters."""
        withdrawn = self.clouds.apply_rules()
        if withdrawn.any():
            self.book.lose_rentals(withdrawn, self.market.options.cloud_fit())

    # --- conservation -------------------------------------------------------------------------
    def received_by_destination(self) -> dict[str, np.ndarray]:
        """Units each kind of receiver has booked (the receivers' side of the chip ledger)."""
        got = self.book.received_units
        return {
            "overseas": self.overseas.received_units,
            "legal": got["legal"],
            "domestic": got["domestic"],
            "cloud": self.clouds.bought_units,
            "front": got["front"],
            "smuggled": self.smugglers.delivered_units,
            "seized": self.smugglers.seized_units + self.fronts.seized_units,
        }

    def total_received_usd(self) -> np.ndarray:
        """Money every payee has booked: vendors, governments, intermediaries, compliance."""
        return (
            sum(v.revenue_total_usd + v.licence_cost_total_usd for v in self.vendors)
            + sum(r.fees_total_usd for r in self.regulators.values())
            + self.smugglers.receipts_usd + self.smugglers.reseller_receipts_usd
            + self.fronts.receipts_usd + self.fronts.reseller_receipts_usd
            + self.clouds.receipts_usd
        )
