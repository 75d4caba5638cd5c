"""How buyers split demand across options: the nested choice and scarce domestic parts.

Two nests (issue 11, "where unmet demand goes"): the domestic parts, and every option built on US
chips. At ``buyers.ecosystem_similarity`` 1 the choice is the plain CES; below 1, demand that
loses a US option stays with US chips more than in proportion. The grey market's clearing
solves for the premium with the same nested shares the choice then uses. A domestic part its
makers cannot make enough of is chosen at its expected fill rate, once: the makers then sell
what they make.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import first, make, track

from sim.model.market.choice import COST_SCALE, nest
from sim.model.market.grey import GreyMarket

DOMESTIC = slice(2, 4)  # a table of 6 options: US 0-1, domestic 2-3, US 4-5 (5: the grey market)


def shares(table: np.ndarray) -> np.ndarray:
    return table / table.sum(axis=2, keepdims=True)


def random_table(rng: np.random.Generator, r: int = 3, p: int = 4) -> np.ndarray:
    return rng.uniform(0.05, 2.0, (r, p, 6))


def test_the_nested_choice_is_the_plain_ces_at_similarity_one():
    table = random_table(np.random.default_rng(1))
    assert np.allclose(shares(nest(table, DOMESTIC, np.ones((3, 1)))), shares(table))


def test_nested_shares_do_not_depend_on_the_scale_of_the_weights():
    table = random_table(np.random.default_rng(2))
    lam = np.full((3, 1), 0.4)
    assert np.allclose(shares(nest(table, DOMESTIC, lam)),
                       shares(nest(1e-6 * table, DOMESTIC, lam)))


@pytest.mark.parametrize("similarity", [0.8, 0.5, 0.2])
def test_demand_that_loses_a_us_option_stays_with_us_chips_more_the_lower_the_similarity(
        similarity):
    table = random_table(np.random.default_rng(3))
    closed = table.copy()
    closed[:, :, 0] = 0.0  # a US option closes (the H20 rule)

    def us_share(t: np.ndarray, lam: float) -> np.ndarray:
        s = shares(nest(t, DOMESTIC, np.full((3, 1), lam)))
        return s.sum(axis=2) - s[:, :, DOMESTIC].sum(axis=2)

    kept_plain = us_share(closed, 1.0) / us_share(table, 1.0)
    kept_nested = us_share(closed, similarity) / us_share(table, similarity)
    assert (kept_nested > kept_plain).all()
    # Within the US nest the survivors keep their relative weights (the CES inside the nest).
    s = shares(nest(closed, DOMESTIC, np.full((3, 1), similarity)))
    assert np.allclose(s[:, :, 4] / s[:, :, 1], table[:, :, 4] / table[:, :, 1])


@pytest.mark.parametrize("similarity", [1.0, 0.5, 0.2])
def test_the_grey_premium_clears_the_nested_demand_the_choice_then_places(similarity):
    rng = np.random.default_rng(4)
    r, p, theta, k = 3, 4, np.full((3, 1), 3.5), 5
    table = random_table(rng, r, p)
    free = rng.uniform(1e3, 1e4, (r, p))
    perf = rng.uniform(0.8, 1.6, (r, p, 6))
    mult_grey = rng.uniform(1.0, 1.5, (r, p))
    base = np.full((r, 1), 3e4)
    smugglers = SimpleNamespace(mix_list_price=lambda: base,
                                supply=lambda price, terms: 10 * (price / base) ** 2)
    options = SimpleNamespace(k_grey=k, domestic_cols=DOMESTIC, profile_perf_floor=perf)
    lam = np.full((r, 1), similarity)
    grey = GreyMarket(smugglers, options, np.full((r, 1), 4.0), theta, lam)
    premium = grey.clear(free, table, mult_grey, np.ones((r, p)), terms=None)
    assert ((premium > 0) & (premium < 4.0)).all()  # an interior price: demand meets supply
    price = base * (1 + premium)
    table[:, :, k] = (price * mult_grey / perf[:, :, k] / COST_SCALE) ** -theta
    grey_units = (shares(nest(table, DOMESTIC, lam))[:, :, k] * free / perf[:, :, k]).sum(axis=1)
    assert np.allclose(grey_units, smugglers.supply(price, None)[:, 0], rtol=1e-9)


#: Domestic makers who can make little: their parts sell out from the first months.
SCARCE = {"chips.ASCEND910C.capacity_per_month": 2000, "chips.MLU590.capacity_per_month": 1000}


def domestic_probes() -> dict:
    def fill(model):  # noqa: ANN001, ANN202
        return model.market.who.vendor_of["ASCEND910C"].fill_rate["ASCEND910C"]

    def seen(model):  # noqa: ANN001, ANN202
        k = model.market.options.k_domestic.start  # the 910C's column
        return model.market.offers_now().open[:, :, k].min()

    def left(model):  # noqa: ANN001, ANN202
        return model.market.who.vendor_of["ASCEND910C"].available("ASCEND910C")

    return {"fill": fill, "seen": seen, "left": left}


def test_buyers_choose_a_scarce_domestic_part_at_its_expected_fill_rate():
    metrics, probed = track(make(parameters=SCARCE), **domestic_probes())
    assert probed["fill"].iloc[-6:].max() < 0.9  # the makers cannot fill what is asked
    # the next month's choice sees last month's fill rate, for every buyer profile
    assert np.allclose(probed["seen"], probed["fill"])


def test_a_scarce_domestic_part_is_rationed_once_so_its_makers_sell_what_they_make():
    metrics, probed = track(make(parameters=SCARCE), **domestic_probes())
    short = probed["fill"] < 1.0
    assert short.sum() >= 6
    # In months its makers fell short, what they had was sold: the expected fill rate moved
    # demand elsewhere without leaving their output unsold (it does not ration twice).
    sold = metrics["domestic_units"]
    assert (probed["left"][short] <= 0.05 * sold[short]).mean() >= 0.8
    assert first(sold.iloc[-1]) > 0
