"""Unit tests of the lifecycle rules (``crmsim.rules``) and the economic measures.

Each rule is run on a small hand-built ``CustomerTable`` with known inputs.
Random rules are checked statistically: a simulated share must be within 4
standard errors (computed from the sample size and the expected probability)
of what the rule's docstring promises.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import docking_scenario

from crmsim import economics, load_scenario
from crmsim.analytic import margin_multiple
from crmsim.engine.customers import CustomerTable, beta_draws, draw_purchases_left, draw_traits
from crmsim.engine.model import CRMModel
from crmsim.rules import acquisition, defection, loyalty, purchasing, reacquisition, satisfaction
from crmsim.vocabulary import (
    ACTIVE,
    ADVOCATE,
    CUSTOMER,
    DEFECTED,
    DEFECTION_REASONS,
    FIRED,
    MEMBER,
    NO_REASON,
    PROSPECT,
    RAVING_FAN,
    SHOPPER,
    SUSPECT,
)

Z = 4.0


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _draws(seed: int, n: int) -> np.ndarray:
    """One uniform draw per person, as the model gives each rule every month."""
    return _rng(seed).random(n, dtype=np.float32)


def _assert_share(successes: int, trials: int, p: float) -> None:
    """A binomial share within 4 standard errors of p."""
    se = math.sqrt(p * (1.0 - p) / trials)
    assert abs(successes / trials - p) < Z * se, (successes / trials, p, se)


def _table(n: int, stage: int = ACTIVE) -> CustomerTable:
    table = CustomerTable(n)
    table.stage[:] = stage
    return table


# --------------------------------------------------------------------------- satisfaction


def _ladder_with(
    value_bonus: np.ndarray, price_sensitivity_multiplier: np.ndarray | None = None
) -> loyalty.Ladder:
    """The baseline's ladder with these rungs' value bonus (and price sensitivity)."""
    ladder = loyalty.Ladder.from_settings(load_scenario("baseline").params.ladder)
    multiplier = (
        np.ones(len(value_bonus), np.float32)
        if price_sensitivity_multiplier is None
        else price_sensitivity_multiplier
    )
    return dataclasses.replace(
        ladder, value_bonus=value_bonus, price_sensitivity_multiplier=multiplier
    )


def test_delivered_value_adds_up_its_parts() -> None:
    # With no expectation to meet (and none to move), satisfaction is the value delivered.
    table = _table(4)
    table.taste[:] = [0.0, 0.1, -0.2, 0.05]
    table.tier[:] = [SHOPPER, MEMBER, ADVOCATE, RAVING_FAN]
    rows = np.array([0, 1, 2, 3])
    bonus = np.array([0.0, 0.0, 0.03, 0.06, 0.1], np.float32)
    sensitivity = np.array([0.0, 0.5, 1.0, 0.25], np.float32)
    table.price_sensitivity[:] = sensitivity
    extra = np.array([0.0, 0.03, 0.0, 0.03], np.float32)
    ladder = _ladder_with(bonus)
    value = satisfaction.satisfy_on_rungs(table, rows, 0.6, 0.2, ladder, 0.0, 0.0, extra)
    expected = table.taste + 0.6 - 0.2 * sensitivity + bonus[table.tier] + extra
    np.testing.assert_allclose(value, expected, rtol=0, atol=1e-6)
    without = satisfaction.satisfy_on_rungs(table, rows, 0.6, 0.2, ladder, 0.0, 0.0)
    np.testing.assert_allclose(without, expected - extra, rtol=0, atol=1e-6)
    # The price sensitivity is the customer's own on their rung.
    by_rung = np.array([1.0, 1.0, 0.5, 0.5, 0.0], np.float32)
    value = satisfaction.satisfy_on_rungs(
        table, rows, 0.6, 0.2, _ladder_with(bonus, by_rung), 0.0, 0.0
    )
    on_rung = sensitivity * by_rung[table.tier]
    np.testing.assert_allclose(
        value, table.taste + 0.6 - 0.2 * on_rung + bonus[table.tier], rtol=0, atol=1e-6
    )


def test_satisfaction_is_value_minus_expectation_and_expectations_catch_up() -> None:
    table = _table(3)
    table.expectation[:] = [0.5, 0.7, 0.2]
    rows = np.arange(3)
    # Everyone gets a value of 0.6: no taste, no price penalty, no rung bonus.
    value = np.array([0.6, 0.6, 0.6], np.float32)
    ladder = _ladder_with(np.zeros(5, np.float32))

    def update(market_expectation: float, adaptation_per_month: float) -> np.ndarray:
        return satisfaction.satisfy_on_rungs(
            table, rows, 0.6, 0.0, ladder, market_expectation, adaptation_per_month
        )

    sat = update(0.8, 0.25)
    np.testing.assert_array_equal(sat, value - np.array([0.5, 0.7, 0.2], np.float32))
    np.testing.assert_array_equal(table.satisfaction, sat)
    before = np.array([0.5, 0.7, 0.2])
    np.testing.assert_allclose(table.expectation, before + 0.25 * (0.8 - before), atol=1e-6)
    # No adaptation: expectations stay; full adaptation: they jump to the market's.
    update(0.3, 0.0)
    np.testing.assert_allclose(table.expectation, before + 0.25 * (0.8 - before), atol=1e-6)
    update(0.3, 1.0)
    np.testing.assert_allclose(table.expectation, 0.3, atol=1e-7)


def test_rising_expectations_erode_satisfaction_by_the_drift() -> None:
    """A firm that stands still: satisfaction falls by the market's drift each month."""
    drift = 0.01
    scenario = docking_scenario(
        {
            "simulation.months": 8,
            "customers.churn_probability_mean": 0.0,
            "customers.taste_spread": 0.0,
            "market.expectation_drift_per_month": drift,
            "market.expectation_ceiling": None,  # the drift itself, with no ceiling
            "market.expectation_adaptation_per_month": 1.0,
            "ladder.promotion_probability_per_month": 0.0,
        }
    )
    model = CRMModel(scenario, rng=0).run()
    series = model.monthly_series()
    start = scenario.params.market.expectation_start
    np.testing.assert_allclose(
        series["market_expectation"], start + drift * (series["month"] + 1), atol=1e-12
    )
    # Month 0 meets the starting expectation; from then on each month expects `drift` more.
    steps = np.diff(series["mean_satisfaction"].to_numpy())
    np.testing.assert_allclose(steps[1:], -drift, atol=1e-5)


# --------------------------------------------------------------------------- loyalty ladder

TENURE = np.array([0, 3, 9, 18, 30], np.float32)
SATISFACTION = np.array([-1.0, -0.05, 0.0, 0.05, 0.1], np.float32)
SPEND = np.array([0, 0, 15, 25, 35], np.float32)


def _move(table: CustomerTable, sat, spend, promote=1.0, demote_below=-0.15, demote=0.0, seed=0):
    rows = np.arange(table.size)
    ladder = loyalty.Ladder(
        tenure_needed=TENURE,
        satisfaction_needed=SATISFACTION,
        spend_needed=SPEND,
        churn_multiplier=np.ones(5, np.float32),
        spend_multiplier=np.ones(5, np.float32),
        price_sensitivity_multiplier=np.ones(5, np.float32),
        referrals_per_month=np.zeros(5, np.float32),
        value_bonus=np.zeros(5, np.float32),
        promotion_probability=promote,
        demotion_satisfaction=demote_below,
        demotion_probability=demote,
    )
    return loyalty.move_on_ladder(
        table,
        rows,
        _draws(seed, table.size),
        np.asarray(sat, np.float32),
        np.asarray(spend, np.float32),
        ladder,
    )


def test_promotion_needs_tenure_satisfaction_and_spend_all_at_once() -> None:
    # Eight customers on rung 1 ("customer"), each meeting a different subset of the
    # three thresholds of rung 2 ("member": tenure 9, satisfaction 0, spend 15).
    combos = [(t, s, p) for t in (0, 1) for s in (0, 1) for p in (0, 1)]
    table = _table(len(combos))
    table.tier[:] = CUSTOMER
    table.tenure_months[:] = [9 if t else 8 for t, _, _ in combos]
    sat = [0.0 if s else -0.01 for _, s, _ in combos]
    spend = [15.0 if p else 14.99 for _, _, p in combos]
    promoted, demoted = _move(table, sat, spend)
    assert (promoted, demoted) == (1, 0)
    expected = [MEMBER if all(c) else CUSTOMER for c in combos]
    assert table.tier.tolist() == expected


def test_one_rung_at_a_time_and_not_above_the_top() -> None:
    table = _table(2)
    table.tier[:] = [SHOPPER, RAVING_FAN]
    table.tenure_months[:] = 100
    _move(table, [1.0, 1.0], [100.0, 100.0])
    assert table.tier.tolist() == [CUSTOMER, RAVING_FAN]


def test_demotion_only_below_the_threshold_and_not_below_the_bottom() -> None:
    table = _table(4)
    table.tier[:] = [MEMBER, MEMBER, SHOPPER, RAVING_FAN]
    promoted, demoted = _move(table, [-0.16, -0.15, -1.0, -0.5], [0.0] * 4, promote=0.0, demote=1.0)
    assert (promoted, demoted) == (0, 2)
    assert table.tier.tolist() == [CUSTOMER, MEMBER, SHOPPER, ADVOCATE]


def test_promotion_happens_with_its_monthly_chance() -> None:
    n, p = 20_000, 0.25
    table = _table(n)
    table.tier[:] = CUSTOMER
    table.tenure_months[:] = 12
    promoted, _ = _move(table, np.ones(n), np.full(n, 20.0), promote=p, seed=3)
    _assert_share(promoted, n, p)
    assert promoted == int((table.tier == MEMBER).sum())


# --------------------------------------------------------------------------- purchasing


def test_spend_factor_caps_share_of_wallet_at_one() -> None:
    table = _table(3)
    table.base_share_of_wallet[:] = [0.4, 0.8, 0.8]
    table.tier[:] = [RAVING_FAN, RAVING_FAN, SHOPPER]
    multipliers = np.array([0.8, 1.0, 1.15, 1.3, 1.45], np.float32)
    factor = purchasing.spend_factor(table, np.arange(3), multipliers)
    np.testing.assert_allclose(factor, [1.45, 1.25, 0.8], rtol=1e-6)
    share = purchasing.share_of_wallet(table, np.arange(3), factor)
    np.testing.assert_allclose(share, [0.58, 1.0, 0.64], rtol=1e-6)
    strategy = np.array([1.1, 1.1, 1.1], np.float32)
    factor = purchasing.spend_factor(table, np.arange(3), multipliers, strategy)
    np.testing.assert_allclose(factor, [1.595, 1.25, 0.88], rtol=1e-6)


def test_monthly_bills() -> None:
    table = _table(3)
    table.order_value[:] = [10.0, 20.0, 40.0]
    rows = np.array([0, 2])
    revenue = purchasing.pay_monthly_bills(table, rows, np.array([1.0, 1.5], np.float32), 1.1)
    np.testing.assert_allclose(revenue, [11.0, 66.0], rtol=1e-6)
    assert table.purchases.tolist() == [1, 0, 1]
    np.testing.assert_allclose(table.revenue, [11.0, 0.0, 66.0], rtol=1e-6)


def test_purchases_never_exceed_purchases_left_and_dropout_is_at_zero() -> None:
    n = 5_000
    rng = _rng(4)
    table = _table(n)
    table.purchase_rate[:] = rng.gamma(1.0, 2.0, n)
    table.purchases_left[:] = rng.integers(1, 6, n)
    table.order_value[:] = 10.0
    table.months_since_purchase[:] = 3
    rows = np.arange(n)
    left_before = table.purchases_left.copy()
    revenue, dropped = purchasing.make_purchases(
        table, rows, rng, np.ones(n, np.float32), price_index=1.0
    )
    bought = table.purchases
    assert np.all(bought <= left_before)
    assert np.array_equal(table.purchases_left, left_before - bought)
    assert np.array_equal(dropped, table.purchases_left == 0)
    assert np.array_equal(dropped, bought == left_before)
    np.testing.assert_allclose(revenue, bought * 10.0)
    assert np.array_equal(table.months_since_purchase, np.where(bought > 0, 0, 4))
    assert dropped.any() and not dropped.all()


def test_purchases_are_poisson_at_the_customers_rate() -> None:
    n, rate = 40_000, 0.7
    table = _table(n)
    table.purchase_rate[:] = rate
    table.purchases_left[:] = 1_000
    table.order_value[:] = 1.0
    purchasing.make_purchases(table, np.arange(n), _rng(5), np.ones(n, np.float32), 1.0)
    mean = table.purchases.mean()
    assert abs(mean - rate) < Z * math.sqrt(rate / n)
    assert not (table.purchases_left == 0).any()


def test_purchases_left_is_geometric_from_one() -> None:
    n, p = 50_000, 0.2
    left = draw_purchases_left(_rng(6), np.full(n, p, np.float32))
    assert left.min() >= 1
    se = math.sqrt((1 - p) / p**2 / n)
    assert abs(left.mean() - 1 / p) < Z * se
    _assert_share(int((left == 1).sum()), n, p)


# --------------------------------------------------------------------------- defection

NO_PRESSURE = defection.Pressures(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_leave_probability_survives_every_hazard() -> None:
    own = np.array([0.0, 1.0, 0.1, 0.0], np.float32)
    price = np.array([0.0, 0.0, 0.2, 0.0], np.float32)
    product = np.array([0.0, 0.0, 0.05, 0.0], np.float32)
    service = np.array([0.0, 0.0, 0.1, 1.0], np.float32)
    pressures = defection.Pressures(0.0, 0.0, 0.0, 0.01, 0.02, 0.03)
    leave = defection.leave_probability(own, price, product, service, pressures)
    stay_market = 0.99 * 0.98 * 0.97
    expected = 1 - (1 - own) * (1 - price) * (1 - product) * (1 - service) * stay_market
    np.testing.assert_allclose(leave, expected, atol=1e-6)
    assert leave[1] == 1.0 and leave[3] == 1.0
    nothing = defection.leave_probability(own[:1], price[:1], product[:1], service[:1], NO_PRESSURE)
    assert nothing[0] == 0.0


def test_switching_hazards() -> None:
    table = _table(3)
    table.churn_probability[:] = [0.1, 0.1, 0.9]
    table.satisfaction[:] = [0.2, -0.5, -20.0]
    table.tier[:] = [0, 1, 2]  # rungs whose churn multipliers are 1, 0.5 and 2
    sensitivity = np.array([0.5, 1.0, 1.0], np.float32)
    multiplier_by_tier = np.array([1.0, 0.5, 2.0], np.float32)
    pressures = defection.Pressures(0.2, 0.01, 0.1, 0.0, 0.0, 0.0)
    own_h, price, product, service = defection.switching_hazards(
        table, np.arange(3), sensitivity, multiplier_by_tier, pressures
    )
    np.testing.assert_allclose(own_h, [0.1, 0.05, 1.0], rtol=1e-6)
    np.testing.assert_allclose(price, [0.1, 0.1, 0.4], rtol=1e-6)
    np.testing.assert_allclose(product, [0.01, 0.005, 0.02], rtol=1e-6)
    np.testing.assert_allclose(service, [0.0, 0.025, 1.0], rtol=1e-6)


@pytest.mark.parametrize(("churn", "leavers"), [(1.0, "all"), (0.0, "none")])
def test_churn_probability_one_always_leaves_and_zero_never(churn: float, leavers: str) -> None:
    scenario = docking_scenario(
        {
            "simulation.months": 12,
            "customers.churn_probability_mean": churn,
            "customers.churn_probability_polarization": 0.5,
        }
    )
    model = CRMModel(scenario, rng=8)
    model.step()
    active = int((model.customers.stage == ACTIVE).sum())
    if leavers == "all":
        assert active == 0
        assert model.record.stats["defected_this_month"] == model.customers.size
    else:
        model.run(11)
        assert active == model.customers.size
        assert (model.customers.stage == ACTIVE).all()
        assert model.monthly_series()["defected_this_month"].sum() == 0


def test_reasons_are_drawn_in_proportion_to_hazards() -> None:
    n = 100_000
    mix = np.array([0.35, 0.25, 0.2, 0.1, 0.05, 0.05])
    own, price, product, service = 0.1, 0.05, 0.02, 0.03
    pressures = defection.Pressures(0.0, 0.0, 0.0, 0.01, 0.005, 0.015)
    full = lambda v: np.full(n, v, np.float32)  # noqa: E731
    reasons = _reasons_of_leavers(
        _draws(9, n), full(own), full(price), full(product), full(service), pressures, mix
    )
    weights = own * mix + np.array([price, product, service, 0.01, 0.005, 0.015])
    expected = weights / weights.sum()
    counts = np.bincount(reasons, minlength=len(DEFECTION_REASONS))
    assert counts.sum() == n
    for code, p in enumerate(expected):
        _assert_share(int(counts[code]), n, p)


def _reasons_of_leavers(u, own, price, product, service, pressures, mix) -> np.ndarray:  # noqa: ANN001
    """Why customers certain to leave (a chance of 1) leave: the draw picks the reason."""
    hazards = defection.Hazards(
        own, price, product, service, np.ones(u.size, np.float32), pressures
    )
    leavers, reasons = defection.leave_or_stay(u, np.arange(u.size), hazards, mix)
    assert leavers.tolist() == list(range(u.size))
    return reasons


def test_reasons_follow_each_customers_own_hazards() -> None:
    """A customer whose only hazard is service always leaves for service."""
    one, zero = np.ones(3, np.float32), np.zeros(3, np.float32)
    mix = np.full(6, 1 / 6)
    reasons = _reasons_of_leavers(_draws(1, 3), zero, zero, zero, one, NO_PRESSURE, mix)
    assert reasons.tolist() == [defection.SERVICE] * 3
    reasons = _reasons_of_leavers(_draws(1, 3), zero, one, zero, zero, NO_PRESSURE, mix)
    assert reasons.tolist() == [defection.PRICE] * 3


def test_background_reasons_follow_the_mix() -> None:
    n = 60_000
    mix = np.array([0.35, 0.25, 0.2, 0.1, 0.05, 0.05])
    reasons = defection.draw_background_reasons(_rng(10), n, mix)
    counts = np.bincount(reasons, minlength=mix.size)
    for code, p in enumerate(mix):
        _assert_share(int(counts[code]), n, p)


def test_record_defections_keeps_the_first_month() -> None:
    table = _table(3)
    table.member[:] = True
    table.first_defected_month[2] = 4
    rows = np.array([0, 2])
    defection.record_defections(table, rows, np.array([1, 2], np.int8), month=9)
    assert table.stage.tolist() == [DEFECTED, ACTIVE, DEFECTED]
    assert table.defection_reason.tolist() == [1, NO_REASON, 2]
    assert table.member.tolist() == [False, True, False]
    assert table.first_defected_month.tolist() == [9, -1, 4]
    assert table.months_since_defection.tolist() == [0, 0, 0]


# --------------------------------------------------------------------------- reacquisition


def test_return_chance_halves_every_half_life() -> None:
    chance = reacquisition.return_chance_by_month(0.08, 6.0, max_months=25)
    assert chance.size == 26
    assert chance[0] == 0.0  # nobody returns in the month they left
    np.testing.assert_allclose(chance[[1, 7, 13, 19, 25]], [0.08, 0.04, 0.02, 0.01, 0.005])
    assert np.all(np.diff(chance[1:]) < 0)


def test_defectors_return_less_often_after_a_half_life() -> None:
    n, p, half_life = 40_000, 0.3, 6.0
    table = _table(2 * n, stage=DEFECTED)
    table.defection_reason[:] = defection.PRICE
    table.months_since_defection[:n] = 1
    table.months_since_defection[n:] = 7
    table.tier[:] = ADVOCATE
    table.tenure_months[:] = 20
    chance = reacquisition.return_chance_by_month(p, half_life, max_months=24)
    recoverability = reacquisition.recoverability_table({"price": 1.0}, (*DEFECTION_REASONS, "x"))
    back = reacquisition.return_defectors(table, _draws(11, table.size), chance, recoverability)
    _assert_share(int((back < n).sum()), n, p)
    _assert_share(int((back >= n).sum()), n, p / 2)
    # Those who stay away are a month further gone; the model restarts the returners.
    stayed = np.setdiff1d(np.arange(2 * n), back)
    assert np.all(table.months_since_defection[stayed[stayed < n]] == 2)


def test_returning_customers_start_again_at_the_bottom_of_the_ladder() -> None:
    model = CRMModel(docking_scenario(), rng=3)
    model.run(3)
    table = model.customers
    rows = np.arange(5)
    table.stage[rows] = DEFECTED
    table.tier[rows] = ADVOCATE
    table.tenure_months[rows] = 20
    table.months_since_defection[rows] = 4
    model.record.open_month(model.month)
    model.relationships.reacquire(rows, 10.0)
    assert np.all(table.stage[rows] == ACTIVE)
    assert np.all(table.tier[rows] == SHOPPER)
    assert np.all(table.tenure_months[rows] == 0)
    assert np.all(table.times_returned[rows] == 1)
    assert np.all(table.months_since_defection[rows] == 0)
    assert np.all(table.return_cost[rows] == 10.0)
    assert model.record.stats["returned"] == 5


def test_return_depends_on_reason_and_fired_never_return() -> None:
    n, p = 40_000, 0.4
    table = _table(3 * n, stage=DEFECTED)
    table.defection_reason[:n] = defection.PRICE
    table.defection_reason[n : 2 * n] = defection.PRODUCT
    table.defection_reason[2 * n :] = FIRED
    table.months_since_defection[:] = 1
    chance = reacquisition.return_chance_by_month(p, 6.0, max_months=3)
    recoverability = reacquisition.recoverability_table(
        {"price": 1.0, "product": 0.5}, (*DEFECTION_REASONS, "fired")
    )
    assert recoverability[FIRED] == 0.0
    back = reacquisition.return_defectors(table, _draws(12, table.size), chance, recoverability)
    _assert_share(int((back < n).sum()), n, p)
    _assert_share(int(((back >= n) & (back < 2 * n)).sum()), n, p / 2)
    assert not (back >= 2 * n).any()


# --------------------------------------------------------------------------- acquisition


def _channel(
    code: int, lookalike: float, cost: float = 1.0, rate: float = 1.0
) -> acquisition.Channel:
    return acquisition.Channel(
        code=code,
        name=f"c{code}",
        budget_share=0.5,
        cost_per_contact=cost,
        prospect_rate=rate,
        conversion_rate=0.1,
        lookalike_strength=lookalike,
    )


def test_lookalike_channel_brings_prospects_who_resemble_the_best_customers() -> None:
    n = 100_000
    rng = _rng(13)
    table = _table(n, stage=SUSPECT)
    table.resemblance[:] = rng.lognormal(-0.5, 1.0, n)
    table.resemblance[:] /= table.resemblance.mean()
    channels = [_channel(0, 0.0), _channel(1, 1.0)]
    weights = [None, table.resemblance ** np.float32(1.0)]
    # Each channel contacts 5% of the suspects and every contact becomes a prospect.
    reached = acquisition.contact_suspects(table, _draws(14, n), channels, 0.1 * n, weights)
    contacts, new = reached.contacts, reached.new_prospects
    np.testing.assert_allclose(contacts, [0.05 * n, 0.05 * n])
    # The suspects left are those not made prospects, in row order.
    assert np.array_equal(reached.suspects, np.flatnonzero(table.stage == SUSPECT))
    source = table.prospect_source
    mass = table.resemblance[(table.stage == PROSPECT) & (source == 0)].astype(float)
    look = table.resemblance[(table.stage == PROSPECT) & (source == 1)].astype(float)
    assert new.tolist() == [mass.size, look.size]
    _assert_share(mass.size, n, 0.05)
    # Mass marketing picks suspects at random: their resemblance averages 1.
    assert abs(mass.mean() - 1.0) < Z * mass.std(ddof=1) / math.sqrt(mass.size)
    se = math.hypot(
        mass.std(ddof=1) / math.sqrt(mass.size), look.std(ddof=1) / math.sqrt(look.size)
    )
    assert look.mean() - mass.mean() > Z * se


def test_no_budget_no_contacts() -> None:
    table = _table(100, stage=SUSPECT)
    reached = acquisition.contact_suspects(
        table, _draws(0, table.size), [_channel(0, 0.0)], 0.0, [None]
    )
    contacts, new = reached.contacts, reached.new_prospects
    assert contacts.tolist() == [0.0] and new.tolist() == [0]
    assert reached.suspects.tolist() == list(range(100))
    assert (table.stage == SUSPECT).all()


def test_contacts_are_budget_over_cost_capped_by_suspects() -> None:
    table = _table(1_000, stage=SUSPECT)
    channels = [_channel(0, 0.0, cost=2.0, rate=0.0), _channel(1, 0.0, cost=0.01, rate=0.0)]
    reached = acquisition.contact_suspects(
        table, _draws(0, table.size), channels, 1_000.0, [None, None]
    )
    contacts, new = reached.contacts, reached.new_prospects
    assert contacts.tolist() == [250.0, 1_000.0]
    assert new.tolist() == [0, 0]


def test_prospects_buy_lapse_or_wait_with_their_chances() -> None:
    """Each month a prospect buys (its source's rate), lapses, or waits.

    One uniform draw decides: it buys below the conversion rate and lapses in
    the top ``lapse_probability`` of [0, 1), so the three outcomes have chances
    rate, lapse and 1 - rate - lapse (when rate + lapse <= 1).
    """
    n, lapse = 60_000, 0.2
    rates = np.array([0.1, 0.3], np.float32)
    table = _table(2 * n, stage=PROSPECT)
    table.prospect_source[n:] = 1
    conversions = acquisition.convert_prospects(table, _draws(14, table.size), rates, lapse)
    converted, lapsed = conversions.converted, conversions.lapsed
    assert conversions.prospects_at_start.tolist() == [n, n]
    assert np.all(table.stage[converted] == ACTIVE)
    assert lapsed == int((table.stage == SUSPECT).sum())
    # Who stands where after, found on the same pass, in row order.
    assert np.array_equal(conversions.suspects, np.flatnonzero(table.stage == SUSPECT))
    assert np.array_equal(conversions.customers, np.flatnonzero(table.stage == ACTIVE))
    for source in (0, 1):
        mine = slice(source * n, (source + 1) * n)
        _assert_share(int((table.stage[mine] == ACTIVE).sum()), n, float(rates[source]))
        _assert_share(int((table.stage[mine] == SUSPECT).sum()), n, lapse)


def test_word_of_mouth_is_poisson_with_the_rungs_rates() -> None:
    rates = np.array([0.0, 0.0, 0.0, 0.02, 0.05], np.float32)
    counts = []
    for seed in range(300):
        table = _table(3_000, stage=SUSPECT)
        table.stage[:1_000] = ACTIVE
        table.tier[:500] = ADVOCATE
        table.tier[500:1_000] = RAVING_FAN
        n = acquisition.word_of_mouth_referrals(table, _rng(seed), np.arange(1_000), rates, 2)
        assert n == int((table.stage == PROSPECT).sum())
        assert np.all(table.prospect_source[table.stage == PROSPECT] == 2)
        counts.append(n)
    expected = 500 * 0.02 + 500 * 0.05
    assert abs(np.mean(counts) - expected) < Z * math.sqrt(expected / len(counts))


def test_the_funnels_steps_take_the_rows_found_before_or_find_them_alike() -> None:
    """Conversion finds the suspects and customers on its pass over the market; contact and
    word of mouth given those rows do what they do when they find the rows themselves."""

    def market() -> CustomerTable:
        table = _table(4_000, stage=SUSPECT)
        stages = _rng(3).integers(0, 4, table.size)
        table.stage[:] = stages
        table.tier[:] = _rng(4).integers(0, 5, table.size)
        table.resemblance[:] = _rng(5).random(table.size) * 2.0
        return table

    rates = np.array([0.2, 0.3, 0.25], np.float32)
    channels = [_channel(0, 0.0, rate=0.4), _channel(1, 1.0, rate=0.6)]
    weights = [None, market().resemblance]
    referral = np.array([0.0, 0.05, 0.1, 0.2, 0.4], np.float32)
    given, found = market(), market()
    conversions = acquisition.convert_prospects(given, _draws(1, 4_000), rates, 0.1)
    acquisition.convert_prospects(found, _draws(1, 4_000), rates, 0.1)
    assert np.array_equal(given.stage, found.stage)
    reached = acquisition.contact_suspects(
        given, _draws(2, 4_000), channels, 500.0, weights, conversions.suspects
    )
    alone = acquisition.contact_suspects(found, _draws(2, 4_000), channels, 500.0, weights)
    assert reached.new_prospects.tolist() == alone.new_prospects.tolist()
    assert reached.new_prospects.sum() > 0
    assert np.array_equal(reached.suspects, alone.suspects)
    customers = conversions.customers
    referred = acquisition.word_of_mouth_referrals(
        given, _rng(6), customers, referral, 2, suspects=reached.suspects
    )
    assert referred == acquisition.word_of_mouth_referrals(found, _rng(6), customers, referral, 2)
    assert referred > 0
    assert np.array_equal(given.stage, found.stage)
    assert np.array_equal(given.prospect_source, found.prospect_source)


def test_unhappy_defectors_deter_prospects() -> None:
    table = _table(100, stage=PROSPECT)
    assert acquisition.deter_prospects(table, _rng(), 0, 5.0) == 0
    deterred = acquisition.deter_prospects(table, _rng(), 1_000, 5.0)
    assert deterred == 100  # capped by the prospects there are
    assert (table.stage == SUSPECT).all()


# --------------------------------------------------------------------------- traits


def test_beta_draws_have_the_requested_mean_and_polarization() -> None:
    n, mean, phi = 200_000, 0.2, 0.3
    x = beta_draws(_rng(15), mean, phi, n).astype(float)
    assert abs(x.mean() - mean) < Z * x.std(ddof=1) / math.sqrt(n)
    # Polarization = variance / (mean (1 - mean)); SE of the variance from the 4th moment.
    centred = x - x.mean()
    var_se = math.sqrt(((centred**4).mean() - centred.var() ** 2) / n)
    assert abs(centred.var() / (mean * (1 - mean)) - phi) < Z * var_se / (mean * (1 - mean))


@pytest.mark.parametrize("phi", [0.0, 5e-324, 1e-310])
def test_no_polarization_means_everyone_the_same(phi: float) -> None:
    x = beta_draws(_rng(), 0.3, phi, 1_000)
    assert np.all(x == np.float32(0.3))


def test_traits_have_their_means() -> None:
    scenario = docking_scenario(
        {"simulation.customers": 100_000, "customers.order_value_spread": 0.9}
    )
    table = CustomerTable(100_000)
    draw_traits(table, _rng(16), scenario.params.customers)
    order = table.order_value.astype(float)
    assert abs(order.mean() - 40.0) < Z * order.std(ddof=1) / math.sqrt(order.size)
    assert table.resemblance.mean() == pytest.approx(1.0, rel=1e-5)
    assert np.all(table.order_value > 0)


# --------------------------------------------------------------------------- economics


def test_pareto_share_on_known_arrays() -> None:
    assert economics.pareto_share(np.ones(5)) == pytest.approx(0.2)
    assert economics.pareto_share(np.array([0, 0, 0, 0, 10.0])) == 1.0
    assert economics.pareto_share(np.arange(1, 11.0)) == pytest.approx(19 / 55)
    assert economics.pareto_share(np.arange(1, 11.0), 0.5) == pytest.approx(40 / 55)
    # Negative values count against the total.
    assert economics.pareto_share(np.array([-5.0, 1, 1, 1, 12])) == pytest.approx(12 / 10)
    assert math.isnan(economics.pareto_share(np.array([])))
    assert math.isnan(economics.pareto_share(np.array([-1.0, 0.5])))


def test_monthly_discount_rate_compounds_to_the_yearly_rate() -> None:
    assert economics.monthly_discount_rate(0.0) == 0.0
    for yearly in (0.05, 0.1, 2.0):
        monthly = economics.monthly_discount_rate(yearly)
        assert (1 + monthly) ** 12 == pytest.approx(1 + yearly, rel=1e-12)
    assert economics.monthly_discount_rate(0.1) < 0.1 / 12


def test_cohort_survival_on_a_tiny_table() -> None:
    table = CustomerTable(6)
    table.acquired_month[:] = [0, 0, 0, 0, 1, -1]
    table.first_defected_month[:] = [0, 2, -1, 5, 1, -1]
    # Cohort 0 lifetimes (months paid in the first relationship): 1, 3, still there, 6.
    np.testing.assert_allclose(
        economics.cohort_survival(table, 6, cohort_month=0), [1, 0.75, 0.75, 0.5, 0.5, 0.5, 0.25]
    )
    np.testing.assert_allclose(economics.cohort_survival(table, 2, cohort_month=1), [1, 0, 0])
    assert np.isnan(economics.cohort_survival(table, 2, cohort_month=3)).all()
    # Only some rows of the cohort: the two who left early.
    among = np.array([True, True, False, False, True, False])
    np.testing.assert_allclose(
        economics.cohort_survival(table, 3, cohort_month=0, among=among), [1, 0.5, 0.5, 0]
    )
    # Pooled over both months, observed for 2 months by month 3: rows 0, 1 and 4.
    np.testing.assert_allclose(
        economics.cohort_survival(table, 2, end_month=3, among=among), [1, 1 / 3, 1 / 3]
    )
    with pytest.raises(ValueError, match="one entry per row"):
        economics.cohort_survival(table, 2, cohort_month=0, among=np.ones(3, bool))


def test_realised_clv_is_value_brought_back_to_the_first_purchase() -> None:
    table = CustomerTable(3)
    table.acquired_month[:] = [0, 12, -1]
    table.value_at_start[:] = [100.0, 50.0, 0.0]
    clv = economics.realised_clv(table, 0.01)
    np.testing.assert_allclose(clv, [100.0, 50.0 * 1.01**12, 0.0])


@pytest.mark.parametrize("timing", ["start", "end"])
def test_expected_clv_is_the_margin_multiple_for_a_homogeneous_base(timing: str) -> None:
    churn, cost_to_serve = 0.05, 3.0
    scenario = docking_scenario(
        {
            "customers.churn_probability_mean": churn,
            "customers.churn_probability_polarization": 0.0,
            "firm.cost_to_serve_per_month": cost_to_serve,
            "firm.margin_timing": timing,
            "firm.knowledge": "oracle",  # the margin multiple is the truth's form
        }
    )
    model = CRMModel(scenario, rng=17)
    model.step()
    rows = np.flatnonzero(model.customers.stage == ACTIVE)
    margin = 40.0 * 0.35 - cost_to_serve
    expected = margin_multiple(1.0 - churn, model.monthly_discount_rate, timing) * margin
    np.testing.assert_allclose(model.expected_clv(rows), expected, rtol=1e-5)
    assert model.customer_equity() == pytest.approx(expected * rows.size, rel=1e-5)
    assert model.record.stats["customer_equity"] == pytest.approx(expected * rows.size, rel=1e-5)


@pytest.mark.parametrize("timing", ["start", "end"])
def test_expected_clv_is_what_the_customers_go_on_to_bring(timing: str) -> None:
    """Expected CLV at a month end against the discounted margins the same customers
    actually bring afterwards (no returns, no acquisition), within 4 Monte Carlo SE."""
    scenario = docking_scenario(
        {
            "customers.churn_probability_mean": 0.05,
            "customers.churn_probability_polarization": 0.0,
            "firm.cost_to_serve_per_month": 3.0,
            "firm.margin_timing": timing,
            "firm.knowledge": "oracle",  # the firm's estimates: tests/test_knowledge.py
            "simulation.customers": 20_000,
        }
    )
    model = CRMModel(scenario, rng=5)
    model.run(3)
    rows = np.flatnonzero(model.customers.stage == ACTIVE)
    expected = model.expected_clv(rows).astype(np.float64)
    value_then = model.customers.value_at_start[rows].astype(np.float64)
    # The end of month t - 1 is time t: the books discount later margins to month 0.
    now = (1.0 + model.monthly_discount_rate) ** model.month
    model.run(300)  # 0.95^300 ~ 2e-7: the tail left is negligible
    brought = (model.customers.value_at_start[rows] - value_then) * now
    se = brought.std(ddof=1) / np.sqrt(rows.size)
    assert abs(brought.mean() - expected.mean()) < 4 * se, (brought.mean(), expected.mean(), se)


def test_market_expectation_approaches_its_ceiling_without_passing_it() -> None:
    expectation, path = 0.5, []
    for _ in range(5_000):
        expectation = satisfaction.next_market_expectation(expectation, 0.5, 0.002, 1.0)
        path.append(expectation)
    path = np.array(path)
    assert path[0] == pytest.approx(0.502)  # the drift's pace at first
    assert np.all(np.diff(path) > 0) and np.all(path < 1.0)
    assert path[-1] == pytest.approx(1.0, abs=1e-6)
    # Half the way after ln 2 / (drift / gap) months.
    half = int(np.argmax(path >= 0.75))
    assert half == pytest.approx(np.log(2) / (0.002 / 0.5), abs=2)
    # Without a ceiling, or falling, the drift acts every month; a ceiling below the
    # start holds the market where it is.
    assert satisfaction.next_market_expectation(0.9, 0.5, 0.002, None) == pytest.approx(0.902)
    assert satisfaction.next_market_expectation(0.9, 0.5, -0.002, 1.0) == pytest.approx(0.898)
    assert satisfaction.next_market_expectation(0.5, 0.5, 0.002, 0.4) == 0.5


def test_channels_pay_only_for_the_contacts_they_make() -> None:
    mass = acquisition.Channel(0, "mass", 0.6, 2.0, 0.05, 0.1, 0.0)
    lookalike = acquisition.Channel(1, "lookalike", 0.4, 5.0, 0.08, 0.2, 1.0)
    converted, sources = np.array([3, 4, 9]), np.array([0, 1, 0], np.int8)
    # 1,000 of budget: 300 contacts of mass and 80 of look-alike if suspects are many...
    spent = acquisition.channel_spend(
        [mass, lookalike], 1_000.0, np.array([300.0, 80.0]), converted, sources
    )
    assert [s for _, s, _ in spent] == [600.0, 400.0]
    assert [b.tolist() for _, _, b in spent] == [[3, 9], [4]]
    # ... but with 20 suspects left each channel pays for 20 contacts only.
    spent = acquisition.channel_spend(
        [mass, lookalike], 1_000.0, np.array([20.0, 20.0]), converted, sources
    )
    assert [s for _, s, _ in spent] == [40.0, 100.0]


def test_an_exhausted_market_costs_only_the_contacts_made() -> None:
    # A closed market with four times the baseline's budget per person (8,000 a month for
    # 5,000 people, as a fixed budget once gave the lesson's small market) runs out of
    # suspects well before month 120.
    exhausting = {
        "market.entry_rate_per_month": 0.0,
        "acquisition.budget_per_month_per_1000_people": 1_600.0,
    }
    scenario = load_scenario("baseline").with_changes(exhausting)
    model = CRMModel(scenario, rng=1, customers=5_000).run(120)
    late = model.monthly_series().iloc[-12:]
    assert late["suspect"].max() < 50
    channels = model.funnel.channels
    # Paid contacts of the last year, each at its channel's cost per contact.
    budget = model.firm.base_acquisition_budget
    assert budget == 8_000.0
    assert late["acquisition_cost"].sum() < 0.05 * 12 * budget
    spend = model.funnel.totals["spend"][: len(channels)]
    contacts = model.funnel.totals["contacts"][: len(channels)]
    costs = np.array([c.cost_per_contact for c in channels])
    assert np.all(spend <= contacts * costs + 1e-6)
