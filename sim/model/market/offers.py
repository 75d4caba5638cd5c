"""What each option costs a buyer this month, and whether the buyer may choose it.

For every buyer and option: the unit price, an effective-cost multiplier, and whether the option
is open to the buyer. Each rule of the record acts here through one mechanism, once:

* a part its makers cannot supply enough of this month (a domestic part short of HBM and
  foundry capacity, F12 and F17; a US part whose vendor's order book is full): open, and
  rationed after the choice, the demand turned away spilling over to the buyer's other
  options (:mod:`~sim.model.market.rationing`);
* a licence rule: open if it grants anything (and its cap is not used up); the chance of refusal
  adds the expected wait for a retry to the cost; the licence draw itself happens once, when the
  order is placed (:mod:`sim.model.market.orders`);
* a Chinese import block: open only to the allowed classes; their justification is drawn with
  the licence, once;
* guidance pressure: a cost for buyers who follow guidance (and cancellations, see buyers);
* enforcement, permits and ownership screening: the risk buyers of diverted chips perceive
  rises with the detection they face; location verification lowers what a smuggled chip is
  worth by the chance it is found and disabled (M17).

``open`` scales an option's CES weight: 0 or 1 for a legal import, 1 for a domestic part, and
for offshore options the share of a buyer's demand that can use offshore channels at all
(``buyers.offshore_access``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.world.actors import BUYER_CLASSES
from sim.world.catalogue import CHIPS, DOMESTIC_CHIPS, US_CHIPS

if TYPE_CHECKING:
    from collections.abc import Callable

    from sim.model.context import ModelContext
    from sim.model.market.options import Options
    from sim.model.market.participants import Participants
    from sim.world.policy import ImportBlock


@dataclass
class Offers:
    """The month's terms of every option for every buyer."""

    #: unit price to the buyer (R, K), USD
    price: np.ndarray
    #: effective-cost multiplier per profile (R, P, K)
    mult: np.ndarray
    #: whether (or for what share of its demand) a profile may choose the option (R, P, K)
    open: np.ndarray
    #: per US part, the chance an order is cleared (licence x justification), (R, P, chips)
    clearance: np.ndarray


def legal_price(ctx: ModelContext, chip: str) -> np.ndarray:
    """What a Chinese buyer pays for a legal import: list price plus the fees passed on (R, 1).

    Vendors price in the announced revenue share and tariff, whether or not the share is ever
    collected (M7).
    """
    fee = ctx.policy.announced_fee_rate(chip)
    return ctx.list_price(chip) * (1 + ctx.params["vendors.fee_passthrough"] * fee)


def domestic_price(ctx: ModelContext, chip: str) -> np.ndarray:
    """What a Chinese buyer pays for a domestic part: list price less its subsidy share (R, 1)."""
    subsidy = 1.0 - 1.0 / ctx.policy.subsidy_cost_multiple
    return ctx.list_price(chip) * (1 - ctx.params["vendors.subsidy_price_passthrough"] * subsidy)


def allowed(block: ImportBlock, buyer_class: np.ndarray) -> np.ndarray:
    """Per buyer, whether its class may still import under ``block`` (n,)."""
    classes = [BUYER_CLASSES.index(c) for c in block.allowed]
    return np.isin(buyer_class, classes)


def legal_terms(ctx: ModelContext, who: Participants, chip: str
                ) -> tuple[np.ndarray, np.ndarray]:
    """Whether each profile may order ``chip`` legally now, and the chance an order is cleared.

    Returns (open, clearance), each (R, P). Open: the chip is on sale, a licence rule (if any)
    grants licences and its cap is not used up, and an import block (if any) allows the buyer's
    class. Clearance: the licence approval times, under a block, the justification pass.
    """
    policy, n, r = ctx.policy, who.book.profiles.count, ctx.replications
    launch = CHIPS[chip].available_from
    if launch is not None and ctx.month < launch:
        return np.zeros((r, n)), np.zeros((r, n))
    is_open, clearance = np.ones((r, n)), np.ones((r, n))
    rule = policy.licences.get(chip)
    if rule is not None:
        room = np.inf if rule.cap_units is None else (
            rule.cap_units - who.us.approved_units(rule.key, chip))
        is_open = is_open * ((rule.approval > 0) & (room > 0))
        clearance = clearance * rule.approval
    block = policy.import_blocks.get(chip)
    if block is not None:
        ok = allowed(block, who.book.profiles.buyer_class)
        is_open = is_open * ok
        clearance = clearance * np.where(ok, block.justification_pass, 0.0)
    return is_open, clearance


def offers(ctx: ModelContext, who: Participants, options: Options,
           queue_months: Callable[[str], np.ndarray]) -> Offers:
    """The month's price, effective-cost multiplier, openness and clearance of every option.

    Worked out per buyer profile (class x workload): every need of a profile sees the same
    terms. ``queue_months(chip)`` is how long a new order would wait behind those already
    queued (R, 1).
    """
    p, policy, prof = ctx.params, ctx.policy, who.book.profiles
    r, n, k = ctx.replications, prof.count, len(options)
    price = np.zeros((r, k))
    mult = np.ones((r, n, k))
    is_open = np.zeros((r, n, k))
    clearance = np.zeros((r, n, len(US_CHIPS)))
    for i, chip in enumerate(US_CHIPS):
        price[:, i] = legal_price(ctx, chip)[:, 0]
        is_open[:, :, i], clearance[:, :, i] = legal_terms(ctx, who, chip)
        rule = policy.licences.get(chip)
        retry = np.divide(1.0 - clearance[:, :, i], clearance[:, :, i],
                          out=np.zeros((r, n)), where=clearance[:, :, i] > 0)
        wait = (rule.delay_months if rule else 0) + queue_months(chip) + retry
        mult[:, :, i] += (p["buyers.guidance_cost"] * policy.guidance_pressure.get(chip, 0.0)
                          * prof.compliance + p["buyers.licence_delay_cost"] * wait)
    for i, chip in zip(options.k_domestic, DOMESTIC_CHIPS, strict=True):
        price[:, i] = domestic_price(ctx, chip)[:, 0]
        mult[:, :, i] = (1 + p["buyers.domestic_ecosystem_penalty"]
                         + p["vendors.domestic_power_penalty"] * (1 - policy.power_discount))
        is_open[:, :, i] = 1.0  # short or not: rationed after the choice
    _offshore(ctx, who, options, price, mult, is_open)
    return Offers(price, mult, is_open, clearance)


def _offshore(ctx: ModelContext, who: Participants, options: Options, price: np.ndarray,
              mult: np.ndarray, is_open: np.ndarray) -> None:
    """Terms of the cloud, front-company and grey options (the grey price is set by clearing)."""
    p, policy, prof = ctx.params, ctx.policy, who.book.profiles
    kc, kf, kg = options.k_cloud, options.k_front, options.k_grey
    price[:, kc] = (who.clouds.market_rent() * p["buyers.useful_life_months"])[:, 0]
    mult[:, :, kc] += p["buyers.cloud_penalty"]
    is_open[:, :, kc] = prof.offshore_access * (who.clouds.open_share() > 0)
    mix_price = who.smugglers.mix_list_price()
    price[:, kf] = who.fronts.price(mix_price)[:, 0]
    front_risk = _relative(who.fronts.detection(), p["fronts.base_detection"])
    mult[:, :, kf] += (p["buyers.front_overhead"]
                       + p["buyers.front_risk_penalty"] * prof.risk_aversion * front_risk)
    is_open[:, :, kf] = prof.offshore_access
    price[:, kg] = mix_price[:, 0]  # list price; the clearing premium is added later
    grey_risk = _relative(who.smugglers.mean_detection(), who.smugglers.base_mean_detection())
    worth = 1.0 - policy.location_detection  # share of a smuggled chip's value that survives
    mult[:, :, kg] = (1.0 + p["buyers.grey_risk_penalty"] * prof.risk_aversion * grey_risk
                      ) / max(worth, 1e-9)
    is_open[:, :, kg] = 1.0


def _relative(now: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Detection now against detection before any policy (1 where there was none to begin with)."""
    return np.divide(now, base, out=np.ones_like(now), where=base > 0)
