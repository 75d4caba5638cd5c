"""What each option costs a buyer this month, and whether the buyer can have it.

For every buyer and option: the unit price (list price with the fees passed on, a domestic
part's price less its subsidy, a cloud GPU's rent over its useful life), an effective-cost
multiplier (guidance pressure, waiting for a licence or behind the vendor's queue, the domestic
software ecosystem and power, the cloud's inconvenience, subsidiary overhead, grey-market risk),
and availability (licence approval, customs blocks, offshore access, remote-access compliance).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.world.actors import BUYER_CLASSES
from sim.world.catalogue import CHIPS, DOMESTIC_CHIPS, SUBSIDIARY_CHIP, US_CHIPS

if TYPE_CHECKING:
    from collections.abc import Callable

    from sim.model.context import ModelContext
    from sim.model.market.options import Options
    from sim.model.market.participants import Participants
    from sim.world.policy import ImportBlock


def legal_price(ctx: ModelContext, chip: str) -> float:
    """What a Chinese buyer pays for a legal import: list price plus the fees passed on."""
    fee = ctx.policy.fee_rate(chip)
    return ctx.list_price(chip) * (1 + ctx.params["vendors.fee_passthrough"] * fee)


def domestic_price(ctx: ModelContext, chip: str) -> float:
    """What a Chinese buyer pays for a domestic part: list price less its subsidy share."""
    subsidy = 1.0 - 1.0 / ctx.policy.subsidy_cost_multiple
    return ctx.list_price(chip) * (1 - ctx.params["vendors.subsidy_price_passthrough"] * subsidy)


def allowed(block: ImportBlock, buyer_class: np.ndarray) -> np.ndarray:
    """Per buyer, whether its class may still import under ``block``."""
    classes = [BUYER_CLASSES.index(c) for c in block.allowed]
    return np.isin(buyer_class, classes)


def legal_access(ctx: ModelContext, chip: str, buyer_class: np.ndarray) -> np.ndarray:
    """Chance each buyer can legally import ``chip`` now (licence and customs)."""
    policy, n = ctx.policy, len(buyer_class)
    launch = CHIPS[chip].available_from
    if launch is not None and ctx.month < launch:
        return np.zeros(n)
    rule = policy.licences.get(chip)
    access = np.ones(n)
    if rule is not None:
        capped = rule.cap_units is not None and rule.approved_units >= rule.cap_units
        access *= 0.0 if capped else rule.approval
    block = policy.import_blocks.get(chip)
    if block is not None:
        access *= allowed(block, buyer_class) * block.justification_pass
    return access


def offers(ctx: ModelContext, who: Participants, options: Options,
           queue_months: Callable[[str], float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit price to the buyer (K), effective-cost multiplier (n, K), availability (n, K).

    ``queue_months(chip)`` is how long a new order would wait behind those already queued.
    """
    p, policy, book = ctx.params, ctx.policy, who.book
    n, k = book.n, len(options)
    price = np.zeros(k)
    mult = np.ones((n, k))
    avail = np.zeros((n, k))
    for i, chip in enumerate(US_CHIPS):
        price[i] = legal_price(ctx, chip)
        rule = policy.licences.get(chip)
        delay = (rule.delay_months if rule else 0) + queue_months(chip)
        mult[:, i] += (p["buyers.guidance_cost"] * policy.guidance_pressure.get(chip, 0.0)
                       * book.compliance + p["buyers.licence_delay_cost"] * delay)
        avail[:, i] = legal_access(ctx, chip, book.buyer_class)
    for i, chip in zip(options.k_domestic, DOMESTIC_CHIPS, strict=True):
        price[i] = domestic_price(ctx, chip)
        mult[:, i] = (1 + p["buyers.domestic_ecosystem_penalty"]
                      + p["vendors.domestic_power_penalty"] * (1 - policy.power_discount))
        avail[:, i] = 1.0
    price[options.k_cloud] = who.clouds.rent_per_gpu_month() * p["buyers.useful_life_months"]
    mult[:, options.k_cloud] += p["buyers.cloud_penalty"]
    avail[:, options.k_cloud] = book.offshore_access * who.clouds.open_share()
    price[options.k_sub] = ctx.list_price(SUBSIDIARY_CHIP)
    mult[:, options.k_sub] += (p["buyers.subsidiary_overhead"]
                               + p["buyers.subsidiary_risk_share"] * p["buyers.grey_risk_penalty"]
                               * book.risk_aversion)
    avail[:, options.k_sub] = book.offshore_access * (1 - policy.remote_access_compliance)
    mult[:, options.k_grey] += p["buyers.grey_risk_penalty"] * book.risk_aversion
    avail[:, options.k_grey] = 1.0
    return price, mult, avail
