"""Compiled loops give what numpy's expressions give, bit for bit.

The rules' arithmetic runs as compiled loops (``crmsim.compiled``). Each test here
writes a rule's formula as the numpy expressions it replaced and checks the two agree
exactly, on random inputs, in float32 and with float64 mixed in (a strategy's factors
may be float64): the loops must follow numpy's dtypes and rounding, not only be close.
The shipped scenarios' fingerprints (``test_fingerprints.py``) check the whole month.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmsim.compiled as compiled_module
from crmsim import load_scenario
from crmsim.analytic import margin_multiple
from crmsim.compiled import (
    pairwise_sum,
    sample_without_replacement,
    sum_as_float64,
    sum_as_float64_at,
    sum_at,
)
from crmsim.engine.customers import CustomerTable
from crmsim.engine.model import CRMModel
from crmsim.rules import acquisition, defection, loyalty, purchasing, satisfaction
from crmsim.strategies.effects import Effects, Plan
from crmsim.vocabulary import (
    ACTIVE,
    DEFECTED,
    DEFECTION_REASONS,
    MARKET,
    ORGANISATIONAL,
    PRICE,
    PRODUCT,
    SERVICE,
    TECHNOLOGICAL,
)

SIZES = st.one_of(st.integers(0, 300), st.integers(300, 30_000))
DTYPES = [np.float32, np.float64]


def _values(seed: int, size: int, dtype: type, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(seed).random(size) * scale).astype(dtype)


# ------------------------------------------------------------------------------ sums


@settings(max_examples=60, deadline=None)
@given(size=SIZES, seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1e-4, 1.0, 1e4]))
@pytest.mark.parametrize("dtype", DTYPES)
def test_pairwise_sum_is_numpys_sum(dtype: type, size: int, seed: int, scale: float) -> None:
    values = _values(seed, size, dtype, scale)
    assert pairwise_sum(values) == np.add.reduce(values)


@settings(max_examples=40, deadline=None)
@given(size=SIZES, seed=st.integers(0, 2**32 - 1))
@pytest.mark.parametrize("dtype", DTYPES)
def test_sums_at_rows_and_in_float64_are_numpys(dtype: type, size: int, seed: int) -> None:
    values = _values(seed, size, dtype, 100.0)
    rows = np.flatnonzero(_values(seed + 1, size, np.float64) < 0.7)
    assert sum_at(values, rows) == values[rows].sum()
    assert sum_as_float64(values) == values.sum(dtype=np.float64)
    assert sum_as_float64_at(values, rows) == values[rows].sum(dtype=np.float64)


def test_a_sum_across_many_buffers_is_numpys() -> None:
    values = _values(5, 50_001, np.float32, 3.0)
    assert sum_as_float64(values) == values.sum(dtype=np.float64)
    rows = np.flatnonzero(_values(6, 50_001, np.float64) < 0.9)
    assert sum_as_float64_at(values, rows) == values[rows].sum(dtype=np.float64)
    assert pairwise_sum(values) == values.sum()


# ------------------------------------------------------------------------ samples


@settings(max_examples=80, deadline=None)
@given(
    population=st.one_of(st.integers(0, 60), st.integers(60, 10_000), st.integers(10_001, 40_000)),
    share=st.one_of(st.floats(0.0, 0.02), st.floats(0.0, 1.0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_sample_without_replacement_is_numpys_choice(
    population: int, share: float, seed: int
) -> None:
    # Floyd's sample (small shares, or a population up to 10,000) and the permutation's
    # tail (a larger share of a larger population) both; the stream goes on alike after.
    size = int(share * population)
    ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
    picked = sample_without_replacement(ours, population, size)
    assert picked.dtype == np.int64
    assert np.array_equal(picked, numpys.choice(population, size=size, replace=False))
    assert ours.random() == numpys.random()
    assert ours.random(3, dtype=np.float32).tolist() == numpys.random(3, dtype=np.float32).tolist()
    assert ours.integers(0, 1000, 5).tolist() == numpys.integers(0, 1000, 5).tolist()


def test_a_sample_goes_on_from_a_half_used_32_bit_draw() -> None:
    # The bit generator keeps half of a 64-bit draw for the next 32-bit one: a sample
    # after an odd number of 32-bit draws starts from that half, as numpy's does.
    ours, numpys = np.random.default_rng(11), np.random.default_rng(11)
    for rng in (ours, numpys):
        rng.integers(0, 10, 3, dtype=np.int32)
    assert np.array_equal(
        sample_without_replacement(ours, 5_000, 40), numpys.choice(5_000, 40, replace=False)
    )
    assert ours.integers(0, 10, 3, dtype=np.int32).tolist() == (
        numpys.integers(0, 10, 3, dtype=np.int32).tolist()
    )


@pytest.mark.parametrize(("population", "size"), [(10, 11), (10, -1), (2**31, 1)])
def test_an_impossible_sample_is_refused(population: int, size: int) -> None:
    with pytest.raises(ValueError, match="without replacement"):
        sample_without_replacement(np.random.default_rng(0), population, size)


# ---------------------------------------------------------------------- the rules


def _table(n: int, seed: int) -> CustomerTable:
    rng = np.random.default_rng(seed)
    table = CustomerTable(n)
    table.stage[:] = ACTIVE
    table.churn_probability[:] = rng.random(n) * 0.3
    table.satisfaction[:] = rng.normal(0.0, 0.5, n)
    table.tier[:] = rng.integers(0, 5, n)
    table.price_sensitivity[:] = rng.random(n)
    table.base_share_of_wallet[:] = rng.random(n) * 0.9
    table.order_value[:] = rng.gamma(2.0, 30.0, n)
    table.purchase_rate[:] = rng.random(n) * 2.0
    return table


PRESSURES = defection.Pressures(0.031, 0.0043, 0.27, 0.002, 0.001, 0.0007, churn_scale=1.3)
BY_TIER = np.array([1.0, 0.81, 0.63, 0.5, 0.37], np.float32)


@pytest.mark.parametrize("factor_dtype", [None, np.float32, np.float64])
@pytest.mark.parametrize("contractual", [True, False])
def test_switching_hazards_are_numpys(factor_dtype: type | None, contractual: bool) -> None:
    n = 2_000
    table = _table(n, 1)
    rows = np.arange(0, n, 3)
    sensitivity = table.price_sensitivity[rows] * BY_TIER[::-1][table.tier[rows]]
    factor = None if factor_dtype is None else _values(2, rows.size, factor_dtype, 2.0)
    got = defection.switching_hazards(
        table, rows, sensitivity, BY_TIER, PRESSURES, factor, contractual
    )
    # The numpy expressions the compiled loop replaced.
    own_churn = table.churn_probability[rows] if contractual else np.zeros(rows.size, np.float32)
    bond = BY_TIER[table.tier[rows]]
    if factor is not None:
        bond = bond * factor
    p = PRESSURES
    expected = (
        np.minimum(own_churn * bond, 1.0),
        np.minimum(np.float32(p.poaching_chance) * sensitivity * bond, 1.0),
        np.minimum(np.float32(p.product_rate) * bond, 1.0),
        np.minimum(
            np.float32(p.service_sensitivity) * np.maximum(-table.satisfaction[rows], 0.0) * bond,
            1.0,
        ),
    )
    for hazard, wanted in zip(got, expected, strict=True):
        assert hazard.dtype == wanted.dtype
        np.testing.assert_array_equal(hazard, wanted)


@pytest.mark.parametrize("extra_dtype", [None, np.float32, np.float64])
def test_satisfaction_on_rungs_is_numpys(extra_dtype: type | None) -> None:
    # One pass gives what the numpy expressions of the price sensitivity on the rung, the
    # delivered value and the update of satisfaction gave, to the bit, columns included.
    n = 4_000
    ours, theirs = _table(n, 13), _table(n, 13)
    for table in (ours, theirs):
        table.taste[:] = _values(14, n, np.float32, 0.4) - 0.2
        table.expectation[:] = _values(15, n, np.float32, 1.0)
    rows = np.arange(1, n, 4)
    ladder = loyalty.Ladder.from_settings(load_scenario("baseline").params.ladder)
    extra = None if extra_dtype is None else _values(16, rows.size, extra_dtype, 0.3)
    # The numpy expressions the rules were: the value in the taste's dtype, updated in place.
    tier = theirs.tier[rows]
    value = theirs.taste[rows] + np.float32(0.61)
    value -= np.float32(0.07) * (
        theirs.price_sensitivity[rows] * ladder.price_sensitivity_multiplier[tier]
    )
    value += ladder.value_bonus[tier]
    if extra is not None:
        value += extra
    expected = theirs.expectation[rows]
    wanted = value - expected
    theirs.satisfaction[rows] = wanted
    theirs.expectation[rows] = expected + np.float32(0.2) * (np.float32(0.83) - expected)
    got = satisfaction.satisfy_on_rungs(ours, rows, 0.61, 0.07, ladder, 0.83, 0.2, extra)
    assert got.dtype == wanted.dtype
    np.testing.assert_array_equal(got, wanted)
    np.testing.assert_array_equal(ours.satisfaction, theirs.satisfaction)
    np.testing.assert_array_equal(ours.expectation, theirs.expectation)


@pytest.mark.parametrize("factor_dtype", [None, np.float32, np.float64])
@pytest.mark.parametrize("contractual", [True, False])
@pytest.mark.parametrize("churn_scale", [1.0, 1.3])
def test_hazards_on_rungs_are_the_rules_one_after_the_other(
    factor_dtype: type | None, contractual: bool, churn_scale: float
) -> None:
    # One pass gives what the price sensitivity on the rung, the switching hazards and the
    # chance of leaving give one after the other, to the bit and in the same dtypes.
    n = 4_000
    table = _table(n, 11)
    rows = np.arange(0, n, 3)
    ladder = loyalty.Ladder.from_settings(load_scenario("baseline").params.ladder)
    factor = None if factor_dtype is None else _values(12, rows.size, factor_dtype, 2.0)
    pressures = defection.Pressures(0.031, 0.0043, 0.27, 0.002, 0.001, 0.0007, churn_scale)
    sensitivity = loyalty.price_sensitivity_on_rung(table, rows, ladder)
    wanted = defection.switching_hazards(
        table, rows, sensitivity, ladder.churn_multiplier, pressures, factor, contractual
    )
    leave = defection.leave_probability(*wanted, pressures)
    got = defection.hazards_on_rungs(table, rows, ladder, pressures, factor, contractual)
    for ours, theirs in zip(
        (got.own, got.price, got.product, got.service, got.leave), (*wanted, leave), strict=True
    ):
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
    assert got.pressures is pressures


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("churn_scale", [1.0, 1.7])
def test_leave_probability_is_numpys(dtype: type, churn_scale: float) -> None:
    own, price = _values(1, 999, np.float32, 0.3), _values(2, 999, dtype, 0.2)
    product, service = _values(3, 999, dtype, 0.05), _values(4, 999, np.float32, 0.4)
    p = defection.Pressures(0.0, 0.0, 0.0, 0.003, 0.002, 0.001, churn_scale)
    stay_market = (
        (1.0 - p.market_rate) * (1.0 - p.technological_rate) * (1.0 - p.organisational_rate)
    )
    stay = (1.0 - own) * (1.0 - price)
    stay *= 1.0 - product
    stay *= 1.0 - service
    stay *= np.float32(stay_market)
    wanted = 1.0 - stay
    if churn_scale != 1.0:
        wanted = np.minimum(wanted * np.float32(churn_scale), 1.0)
    got = defection.leave_probability(own, price, product, service, p)
    assert got.dtype == wanted.dtype
    np.testing.assert_array_equal(got, wanted)


def test_who_leaves_and_why_is_numpys() -> None:
    n = 5_000
    own, price = _values(1, n, np.float32, 0.2), _values(2, n, np.float32, 0.1)
    product, service = _values(3, n, np.float32, 0.02), _values(4, n, np.float32, 0.3)
    mix = np.array([0.35, 0.25, 0.2, 0.1, 0.05, 0.05])
    draws = _values(5, 2 * n, np.float32)
    rows = np.arange(0, 2 * n, 2)
    leave = _values(6, n, np.float32, 0.5)
    dropped = _values(7, n, np.float64) < 0.05
    hazards = defection.Hazards(own, price, product, service, leave, PRESSURES)
    # The numpy expressions the compiled loop replaced.
    u = draws[rows]
    leaving = (u < leave) | dropped
    reason_draw = np.minimum(u[leaving] / np.maximum(leave[leaving], 1e-12), 0.999999)
    weights = np.outer(own[leaving], mix)
    weights[:, PRICE] += price[leaving]
    weights[:, PRODUCT] += product[leaving]
    weights[:, SERVICE] += service[leaving]
    weights[:, MARKET] += PRESSURES.market_rate
    weights[:, TECHNOLOGICAL] += PRESSURES.technological_rate
    weights[:, ORGANISATIONAL] += PRESSURES.organisational_rate
    cumulative = np.cumsum(weights, axis=1)
    landing = reason_draw.reshape(-1, 1) * cumulative[:, -1:]
    wanted = np.minimum((landing >= cumulative).sum(axis=1), len(DEFECTION_REASONS) - 1)
    leavers, reasons = defection.leave_or_stay(draws, rows, hazards, mix, dropped)
    np.testing.assert_array_equal(leavers, np.flatnonzero(leaving))
    np.testing.assert_array_equal(reasons, wanted)


@pytest.mark.parametrize("factor_dtype", [None, np.float32, np.float64])
def test_spend_factor_and_expected_spend_are_numpys(factor_dtype: type | None) -> None:
    n = 3_000
    table = _table(n, 7)
    table.base_share_of_wallet[::97] = 0.0  # capped by the floor of the share
    rows = np.arange(1, n, 2)
    multiplier = np.array([1.0, 1.1, 1.25, 1.4, 1.6], np.float32)
    factor = None if factor_dtype is None else _values(8, rows.size, factor_dtype, 3.0)
    wanted = multiplier[table.tier[rows]]
    if factor is not None:
        wanted = wanted * factor
    wanted = np.minimum(wanted, 1.0 / np.maximum(table.base_share_of_wallet[rows], 1e-6))
    got = purchasing.spend_factor(table, rows, multiplier, factor)
    assert got.dtype == wanted.dtype
    np.testing.assert_array_equal(got, wanted)
    for non_contractual in (False, True):
        purchases = table.purchase_rate[rows] if non_contractual else np.float32(1.0)
        spend = table.order_value[rows] * purchases * wanted
        got = purchasing.expected_spend(table, rows, multiplier, factor, non_contractual)
        assert got.dtype == spend.dtype
        np.testing.assert_array_equal(got, spend)


@pytest.mark.parametrize("factor_dtype", [np.float32, np.float64])
def test_monthly_bills_are_numpys(factor_dtype: type) -> None:
    n = 3_000
    table = _table(n, 17)
    rows = np.arange(2, n, 3)
    factor = _values(18, rows.size, factor_dtype, 2.0)
    wanted = table.order_value[rows] * factor * np.float32(1.07)
    revenue = purchasing.pay_monthly_bills(table, rows, factor, 1.07)
    assert revenue.dtype == wanted.dtype
    np.testing.assert_array_equal(revenue, wanted)
    np.testing.assert_array_equal(table.revenue[rows], wanted.astype(table.revenue.dtype))
    assert (table.purchases[rows] == 1).all()


def test_price_response_and_sensitivity_on_rung_are_numpys() -> None:
    table = _table(1_000, 9)
    sensitivity = table.price_sensitivity
    change = np.float32(2.5 * (1.3 - 1.0))
    np.testing.assert_array_equal(
        acquisition.price_response(sensitivity, 1.3, 2.5),
        np.maximum(1.0 - change * sensitivity, 0.0),
    )
    rows = np.arange(0, 1_000, 7)
    ladder = loyalty.Ladder.from_settings(_ladder_settings())
    np.testing.assert_array_equal(
        loyalty.price_sensitivity_on_rung(table, rows, ladder),
        sensitivity[rows] * ladder.price_sensitivity_multiplier[table.tier[rows]],
    )


def _ladder_settings() -> object:
    return load_scenario("baseline").params.ladder


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("timing", ["end", "start"])
def test_margin_multiple_is_numpys(dtype: type, timing: str) -> None:
    retention = _values(3, 4_001, dtype, 0.999)
    denominator = 1.0 + 0.008 - retention
    wanted = retention / denominator if timing == "end" else (1.0 + 0.008) / denominator
    got = margin_multiple(retention, 0.008, timing)
    assert got.dtype == wanted.dtype
    np.testing.assert_array_equal(got, wanted)
    with pytest.raises(ValueError, match="0 <= r < 1"):
        margin_multiple(np.array([0.5, np.nan], dtype), 0.008, timing)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"firm.margin_timing": "start"},
        {"firm.price_index": 1.13, "firm.discount_rate_per_year": 0.31},
    ],
)
def test_the_truths_clv_in_one_pass_is_margin_times_multiple(changes: dict) -> None:
    # Subscribers on the firm's own terms are valued in one compiled pass; it gives what
    # the margin and the margin multiple give, one by one in numpy, at every month end.
    scenario = load_scenario("baseline").with_changes({"simulation.customers": 3_000, **changes})
    model = CRMModel(scenario, rng=4)
    valuation = model.valuation
    for _ in range(4):
        model.step()
        active = (model.customers.stage == ACTIVE).nonzero()[0]
        effects = model._fresh_effects(active)
        assert valuation._reckons_in_one_pass(effects)
        margin = valuation.expected_margin_per_month(active, effects)
        wanted = margin * valuation.knowledge.margin_multiple(active)
        got = valuation.expected_clv(active, effects)
        assert got.dtype == wanted.dtype == np.float32
        np.testing.assert_array_equal(got, wanted)
    model.customers.churn_hazard[active[0]] = np.nan
    with pytest.raises(ValueError, match="0 <= r < 1"):
        valuation.expected_clv(active, effects)


# ------------------------------------------- what the loops read is checked first


def test_a_strategys_effects_of_the_wrong_length_are_refused_by_name() -> None:
    """The compiled loops do not check lengths: the month checks each strategy's arrays."""
    model = CRMModel(load_scenario("loyalty_program"), rng=1, customers=500)
    strategy = model.firm.strategies[0]
    strategy.effects = lambda view, rows: Effects(churn=np.ones(rows.size + 1, np.float32))
    with pytest.raises(ValueError, match=r"strategy 'loyalty_program': Effects: churn has"):
        model.run(24)
    with pytest.raises(ValueError, match=r"reasons\['price'\] has 2 .* one value per customer"):
        Effects(reasons={"price": np.ones(2)}).check_aligned(3, "test")
    Effects(churn=np.ones(3), cost_per_month=np.zeros(3)).check_aligned(3, "test")


def test_a_plans_per_person_terms_of_the_wrong_length_are_refused_by_name() -> None:
    model = CRMModel(load_scenario("referral_program"), rng=1, customers=500)
    strategy = model.firm.strategies[0]
    strategy.plan = lambda view: Plan(referral_factor=np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"strategy 'referral_program': Plan: referral_factor"):
        model.run(24)
    Plan(referral_factor=2.0, referral_reward=np.zeros(4)).check_aligned(4, "test")


def test_a_charge_with_one_amount_per_customer_must_have_as_many() -> None:
    model = CRMModel(load_scenario("baseline"), rng=1, customers=200)
    model.step()  # the books of a month are open
    rows = np.arange(5)
    model.customers.service_cost[rows] = 0.0
    with pytest.raises(ValueError, match="4 amounts for 5 customers"):
        model.books.charge(rows, np.ones(4), "service")
    model.books.charge(rows, np.ones(5), "service")
    model.books.charge(rows, 2.0, "service")
    np.testing.assert_array_equal(model.customers.service_cost[rows], 3.0)


def test_a_loop_is_compiled_uncached_where_no_folder_can_hold_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read-only install with a read-only home still runs: numba refuses to cache
    (a RuntimeError when the loop is declared), and the loop is compiled uncached."""
    njit = compiled_module.numba.njit

    def refusing_to_cache(*args: object, cache: bool = False, **options: object) -> object:
        if cache:
            raise RuntimeError("cannot cache function 'add_one': no locator available")
        return njit(*args, **options)

    monkeypatch.setattr(compiled_module.numba, "njit", refusing_to_cache)

    def add_one(values):  # noqa: ANN001, ANN202
        return values + 1

    loop = compiled_module.compiled(add_one)
    np.testing.assert_array_equal(loop(np.arange(3)), [1, 2, 3])


def test_a_return_factor_of_the_wrong_length_is_refused_by_name() -> None:
    model = CRMModel(load_scenario("win_back"), rng=1, customers=300)
    model.run(24)  # the campaign runs
    strategy = model.firm.strategies[0]
    strategy.return_factor = lambda view, rows: np.ones(rows.size + 2, np.float32)
    gone = np.flatnonzero(model.customers.stage == DEFECTED)
    with pytest.raises(
        ValueError, match=r"strategy 'win_back': return_factor has .* per defected customer"
    ):
        model.return_factor(gone)
