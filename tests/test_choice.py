"""How buyers split demand across options: the nested choice and scarce domestic parts.

Two nests (issue 11, "where unmet demand goes"): the domestic parts, and every option built on US
chips. At ``buyers.ecosystem_similarity`` 1 the choice is the plain CES; below 1, demand that
loses a US option stays with US chips more than in proportion. The grey market's clearing
solves for the premium with the same nested shares the choice then uses. A part its makers
cannot supply this month is rationed once, after the choice: the makers sell what they have,
and the demand turned away goes to the buyers' other options (Benassy's spill-over).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import first, make, track

from sim.model.market.choice import COST_SCALE, nest, planned_units
from sim.model.market.grey import GreyMarket
from sim.model.model import ChipTradeModel

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


def test_a_scarce_domestic_part_is_rationed_once_so_its_makers_sell_what_they_make():
    """Buyers want more 910Cs than Huawei has: each gets the share the inventory covers, and in
    those months the makers sell out (the part is not rationed twice, leaving output unsold)."""
    def wanted(model):  # noqa: ANN001, ANN202
        return model.market.who.vendor_of["ASCEND910C"].orders_this_month["ASCEND910C"]

    def left(model):  # noqa: ANN001, ANN202
        return model.market.who.vendor_of["ASCEND910C"].available("ASCEND910C")

    metrics, probed = track(make(parameters=SCARCE), wanted=wanted, left=left)
    sold = metrics["domestic_units"]
    short = probed["wanted"] > sold * 1.05
    assert short.sum() >= 6  # the makers see all that is wanted, more than they have
    assert (probed["left"][short] <= 0.05 * sold[short]).mean() >= 0.8
    assert first(sold.iloc[-1]) > 0


def test_a_buyer_turned_away_chooses_again_weighing_waiting_by_its_chance():
    """Rationing (Benassy's spill-over): a part whose makers take half of what is wanted cuts
    each need's units by half; the compute cut goes to the other options by their weights, and
    to waiting for the part by its weight times the half it is served - so less waits than the
    part's share of the first choice, and nothing waits for a part that serves nobody."""
    from sim.model.market.rationing import Rationing

    model = ChipTradeModel(make(), seed=0)
    k, prof = model.market.options, model.market.who.book.profiles
    rng = np.random.default_rng(3)
    table = rng.uniform(0.1, 1.0, (1, prof.count, len(k)))
    free = rng.uniform(1.0, 2.0, (1, model.market.who.book.n))
    units = planned_units(table, free, np.zeros_like(free), k, prof.of)
    part = k.domestic_cols.start  # the 910C
    supplied = np.r_[k.legal_cols.start:k.domestic_cols.stop]
    room = units[:, supplied, :].sum(axis=2) * 2.0
    room[:, part] /= 4.0  # its makers take half of what is wanted
    short = Rationing.of(supplied, room, units)
    assert np.allclose(short.taken[:, part], 0.5) and short.taken.sum() == short.taken.size - 0.5
    cut = units.copy()
    lost = short.cut(cut, k.perf)
    assert np.allclose(cut[:, part, :], units[:, part, :] / 2)
    assert np.allclose(lost, units[:, part, :] / 2 * k.perf[:, part, :])
    again = short.chances(table)
    assert np.allclose(again[:, :, part], table[:, :, part] / 2)
    spilled = short.spill(again, lost, k, prof.of)
    share = np.take(again / again.sum(axis=2, keepdims=True), prof.of, axis=1)  # (1, n, K)
    expected = lost * share[:, :, 0] / k.perf[:, 0, :]  # option 0 takes its share
    assert np.allclose(spilled[:, 0, :], expected)
    assert (spilled[:, part, :] == 0).all()
    found = (spilled * k.perf).sum(axis=1)
    assert np.allclose(found, lost * (1 - share[:, :, part]))  # the part's own share waits
    first_share = np.take(table / table.sum(axis=2, keepdims=True), prof.of, axis=1)
    assert (share[:, :, part] < first_share[:, :, part]).all()  # less than in the first choice
    room[:, part] = 0.0  # now its makers have nothing: nobody waits for it
    none = Rationing.of(supplied, room, units)
    cut = units.copy()
    lost = none.cut(cut, k.perf)
    found = (none.spill(none.chances(table), lost, k, prof.of) * k.perf).sum(axis=1)
    assert np.allclose(found, lost)


def test_a_room_a_hair_below_nothing_takes_nothing_and_leaves_no_negative_weight():
    """An inventory shipped to the last unit can leave a room of -1e-16 by rounding: its share
    taken is 0, not a negative number that would turn the weights of waiting negative."""
    from sim.model.market.rationing import Rationing, share_taken

    taken = share_taken(np.array([[-1e-16, 5.0, 3.0]]), np.array([[10.0, 0.0, 6.0]]))
    assert taken.tolist() == [[0.0, 1.0, 0.5]]
    short = Rationing(np.array([0, 1, 2]), taken)
    assert (short.chances(np.ones((1, 2, 4))) >= 0.0).all()


def test_front_companies_at_capacity_turn_buyers_to_their_other_options(monkeypatch):
    """Front companies are rationed like any option with a supply limit: when buyers want more
    than the fronts can buy, each need gets the share their capacity covers and the compute
    turned away goes to its other options in the same month (smuggled chips among them) - it
    does not silently vanish, as it did when the shipping step merely capped the fronts."""
    from sim.model.market.clearing import Market

    plan = Market._plan

    def first_plan(share: float) -> tuple[np.ndarray, np.ndarray, float]:
        seen: list[tuple[np.ndarray, float]] = []

        def spy(self, raw, free, mandated, room):  # noqa: ANN001, ANN202
            units = plan(self, raw, free, mandated, room)
            fronts = float(room[0, list(self._limited).index(self.options.k_front)])
            seen.append((units[0] * self.options.perf[0], fronts))  # H100e; the fronts' room
            return units

        monkeypatch.setattr(Market, "_plan", spy)
        model = ChipTradeModel(make(parameters={"fronts.capacity_share": share}), seed=0)
        model.step()
        planned, capacity = seen[0]
        return planned, model.market.options.perf[0], capacity

    k = ChipTradeModel(make(), seed=0).market.options
    ample, _, _ = first_plan(10.0)  # fronts never short
    short, perf, capacity = first_plan(0.01)
    assert (ample[k.k_front] / perf[k.k_front]).sum() > 2 * capacity  # wanted: far more
    assert (short[k.k_front] / perf[k.k_front]).sum() <= capacity * (1 + 1e-9)
    assert short[k.k_grey].sum() > ample[k.k_grey].sum() * 1.01  # the spill reaches the grey
    assert short.sum() < ample.sum()  # and the fronts' own share of it waits


def test_a_vendor_books_no_more_than_its_order_book_holds():
    """A US part made in small numbers (the small vendor's SV1) does not queue for years: its
    vendor books what it can ship within vendors.max_queue_months of output, and buyers turned
    away go elsewhere. Without the limit the timeline's SV1 queue ran to ~5 years of output."""
    waits = []

    def wait(model):  # noqa: ANN001, ANN202
        months = model.market.orders.queue_months("SV1")
        waits.append(first(months))
        return months

    for limit in (3.0, 6.0):
        waits.clear()
        track(make(parameters={"vendors.max_queue_months": limit}), wait=wait)
        assert max(waits) <= limit + 1e-9
        assert max(waits) > limit - 1.5  # full (less the month shipped): SV1 is wanted more
