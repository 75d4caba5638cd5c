"""Front companies: offshore firms that buy US chips for a hidden Chinese buyer (evasion).

Since the October-2023 rule a Chinese firm's own subsidiary abroad needs a licence like the
firm itself (FACTS M1 note), so it is part of the legal channel. What remains offshore besides
renting from clouds is buying through a company that hides its Chinese owner or customer: the
chips stay offshore and are used remotely. That is evasion, like smuggling, and faces the same
kinds of risk: enforcement (M3) and, once in force, the Affiliates Rule's ownership screening
(M18) and the remote-access rule (M16). Location verification (M17) does not catch these chips:
they are where they say they are.

**Bounds.** The record gives no figure for this channel (nor does any source in FACTS), so its
capacity is tied to the one evasion channel the record does measure: it is a share
``fronts.capacity_share`` of the smuggling network's capacity, which is calibrated to F6. The
channel can therefore never dominate diverted volumes on an assumption of its own.

Buyers pay a fixed markup over list price (``fronts.markup``: set-up, hosting, the front's fee);
the front buys through resellers like the smugglers do. A buyer's purchase is stopped with the
month's detection probability: the chips are seized and the buyer pays nothing for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from sim.model.context import ModelContext


class FrontCompanies(mesa.Agent):
    """The front-company channel as one agent (capacity, detection, accounts)."""

    model: ModelContext

    def __init__(self, model: ModelContext) -> None:
        super().__init__(model)
        zero = np.zeros((model.replications, 1))
        self.receipts_usd = zero.copy()  # cumulative sales to Chinese buyers
        self.reseller_receipts_usd = zero.copy()  # cumulative reseller markups
        self.delivered_units = zero.copy()  # cumulative, for the ledger
        self.seized_units = zero.copy()

    def capacity(self, smuggling_capacity: np.ndarray) -> np.ndarray:
        """Units front companies can buy this month: a share of the smuggling network's size."""
        return self.model.params["fronts.capacity_share"] * smuggling_capacity

    def detection(self) -> np.ndarray:
        """Chance a front-company purchase is stopped this month (R, 1).

        ``1 - (1 - min(1, base x enforcement)) x (1 - screening) x (1 - exposure x compliance)``
        with the mean enforcement over routes (M3), the Affiliates Rule's screening (M18) and the
        remote-access rule's compliance (M16), capped at ``smuggling.max_detection``.
        """
        p, policy = self.model.params, self.model.policy
        base = np.minimum(p["fronts.base_detection"] * policy.enforcement_level(), 1.0)
        remote = p["fronts.remote_access_exposure"] * policy.remote_access_compliance
        escape = (1.0 - base) * (1.0 - policy.affiliates_screening) * (1.0 - remote)
        return np.minimum(1.0 - escape, p["smuggling.max_detection"])

    def price(self, mix_list_price: np.ndarray) -> np.ndarray:
        """What a buyer pays per chip (R, 1): list price of the mix plus the front's markup."""
        return mix_list_price * (1.0 + self.model.params["fronts.markup"])

    def stopped(self, n: int) -> np.ndarray:
        """Which buyers' front purchases are stopped this month: one draw per buyer (R, n)."""
        u = self.model.draws.uniform("front_detection", self.model.month, n)
        return u < self.detection()

    def pay_for(self, cost_at_list_usd: np.ndarray) -> None:
        """Pay vendors through resellers, who keep their markup."""
        markup = self.model.params["smuggling.reseller_markup"]
        self.reseller_receipts_usd = self.reseller_receipts_usd + cost_at_list_usd * markup
        self.model.ledger.payment("fronts", cost_at_list_usd * (1 + markup))

    def sell(self, delivered: np.ndarray, seized: np.ndarray, price: np.ndarray) -> None:
        """Book delivered units (paid for by buyers) and seized ones."""
        self.delivered_units = self.delivered_units + delivered
        self.seized_units = self.seized_units + seized
        self.receipts_usd = self.receipts_usd + delivered * price
