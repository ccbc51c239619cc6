"""Programmes in proportion: the loyalty and referral programmes' design, holdouts and values.

- The loyalty programme's effect responds to its design with diminishing returns
  (reward rate, tiers, fee; responsiveness from price sensitivity), so the most
  profitable reward rate lies inside the range and rises with the margin.
- Both programmes measure what they add against a random holdout: nothing when they
  do nothing, the effect the model applies when they do.
- Customer referral value: each referred customer's value is credited to the
  customer who referred them.

Comparisons use common random numbers (the same seeds); a difference or a distance
is judged against its Monte Carlo standard error over the seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import docking_scenario, the_strategy, the_view

from crmsim.config.scenario import load_scenario
from crmsim.economics import customer_referral_value, realised_clv
from crmsim.engine.model import CRMModel
from crmsim.rules.acquisition import draw_referrers
from crmsim.strategies.loyalty_program import LoyaltyProgram, reward_response
from crmsim.vocabulary import ACTIVE, TIERS

SEEDS = range(8)


def mean_and_se(values) -> tuple[float, float]:
    values = np.asarray(list(values), float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


# ---------------------------------------------------------------- the response
def test_reward_response_has_diminishing_returns() -> None:
    rates = np.linspace(0.0, 0.2, 41, dtype=np.float32)
    response = reward_response(rates, np.ones(rates.size, np.float32), 0.02)
    assert response[0] == 0
    steps = np.diff(response)
    assert np.all(steps > 0) and np.all(np.diff(steps) < 0)  # rising, ever more slowly
    assert response[4] == pytest.approx(1 - math.exp(-1), rel=1e-5)  # at 0.02
    assert response[-1] < 1
    # A fee larger than the rewards gives no response; responsiveness scales it.
    assert reward_response(np.float32(-0.01), np.float32(1), 0.02) == 0
    half = reward_response(np.float32(0.02), np.float32(0.5), 0.02)
    assert half == pytest.approx(0.5 * (1 - math.exp(-1)), rel=1e-5)


def test_loyalty_effects_follow_the_design_member_by_member() -> None:
    """Churn and spend factors are 1 -/+ the largest effect x price sensitivity x the
    response to each member's net reward rate (rung steps up, fee down)."""
    changes = {"strategies.loyalty_program.start_month": 0}
    model = CRMModel(load_scenario("loyalty_program").with_changes(changes), rng=3, customers=4000)
    model.run(24)
    strategy, view = the_strategy(model, "loyalty_program"), the_view(model, "loyalty_program")
    table = model.customers
    rows = np.flatnonzero(table.stage == ACTIVE)
    members = table.member[rows]
    assert members.any() and not members.all()
    p = strategy.params
    effects = strategy.effects(view, rows)
    assert np.all(effects.churn[~members] == 1) and np.all(effects.spend[~members] == 1)
    rungs = np.maximum(table.tier[rows].astype(int) - TIERS.index(p["enrolment_tier"]), 0)
    rate = p["reward_rate"] + p["tier_reward_step"] * rungs
    response = table.price_sensitivity[rows] * (1 - np.exp(-rate / p["saturation_reward_rate"]))
    np.testing.assert_allclose(
        effects.churn[members], 1 - p["churn_reduction"] * response[members], rtol=1e-5
    )
    np.testing.assert_allclose(
        effects.spend[members], 1 + p["spend_uplift"] * response[members], rtol=1e-5
    )
    # Rewards cost their gross rate whatever the response.
    np.testing.assert_allclose(effects.cost_share_of_revenue[members], rate[members], rtol=1e-6)
    # A fee takes back rewards: a smaller net rate, a smaller effect, for everyone.
    fee = LoyaltyProgram({**p, "fee_per_month": 1.0})
    with_fee = fee.effects(view, rows)
    assert np.all(with_fee.churn[members] >= effects.churn[members])
    spend = view.expected_spend(rows[members]) * view.price_index
    net = rate[members] - 1.0 / spend
    expected = 1 - p["churn_reduction"] * table.price_sensitivity[rows[members]] * (
        1 - np.exp(-np.maximum(net, 0) / p["saturation_reward_rate"])
    )
    np.testing.assert_allclose(with_fee.churn[members], expected, rtol=1e-5, atol=1e-6)
    assert np.any(with_fee.churn[members] > effects.churn[members])


# --------------------------------------------------------- how generous to be
def value_by_reward_rate(margin: float, rates: list[float]) -> np.ndarray:
    """Value of the customer base per reward rate (rows) and seed (columns); the
    programme runs from month 0 without tier steps, so rate 0 gives no rewards at all."""
    values = []
    for rate in rates:
        scenario = load_scenario("loyalty_program").with_changes(
            {
                "firm.gross_margin": margin,
                "strategies.loyalty_program.start_month": 0,
                "strategies.loyalty_program.tier_reward_step": 0.0,
                "strategies.loyalty_program.reward_rate": rate,
            }
        )
        values.append(
            [
                CRMModel(scenario, rng=seed, customers=4000)
                .run(48)
                .summary()["value_of_customer_base"]
                for seed in SEEDS
            ]
        )
    return np.array(values)


def test_the_best_reward_rate_is_inside_the_range_and_rises_with_the_margin() -> None:
    """Rewards cost their rate in full while their effect levels off: the value of the
    base rises from no rewards, falls at the top of the range, and a larger margin (a
    lower unit cost) makes more generosity pay."""
    rates = [0.0, 0.01, 0.02, 0.05, 0.1]
    high = value_by_reward_rate(0.6, rates)
    low = value_by_reward_rate(0.25, rates[:3])

    rise, se = mean_and_se(high[1] - high[0])
    assert rise > 2 * se, f"0 -> 1% at margin 0.6: {rise:g} (SE {se:g})"
    fall, se = mean_and_se(high[4] - high[3])
    assert fall < -4 * se, f"5% -> 10% at margin 0.6: {fall:g} (SE {se:g})"
    # The step from 1% to 2% pays more at the larger margin (paired by seed).
    more, se = mean_and_se((high[2] - high[1]) - (low[2] - low[1]))
    assert more > 4 * se, f"difference in differences {more:g} (SE {se:g})"
    best_high = rates[int(high.mean(axis=1).argmax())]
    best_low = rates[int(low.mean(axis=1).argmax())]
    assert 0 < best_high < rates[-1] and best_low < best_high


# ------------------------------------------------- incrementality from a holdout
# Every member alike (the same churn, spend, price sensitivity and value on every
# rung; nobody poached, served badly or lost to the market): the holdout and the
# members differ only by what the programme does to them.
ALIKE = {
    "customers.churn_probability_polarization": 0.0,
    "customers.price_sensitivity_polarization": 0.0,
    "customers.taste_spread": 0.0,
}


def loyalty_runs(changes: dict, seeds=SEEDS):
    programme = {
        "start_month": 0,
        "enrolment_tier": "shopper",
        "tier_reward_step": 0.0,
        "value_bonus": 0.0,
        "holdout_share": 0.5,
        **changes,
    }
    scenario = docking_scenario(
        {**ALIKE, "simulation.customers": 10_000, "strategies": {"loyalty_program": programme}}
    )
    return [CRMModel(scenario, rng=seed).run(36) for seed in seeds]


def last(model: CRMModel, measure: str) -> float:
    return float(model.monthly_series()[measure].iloc[-1])


def test_a_programme_that_does_nothing_measures_nothing() -> None:
    # No effect, and (for the value per member) no cost either.
    models = loyalty_runs(
        {
            "churn_reduction": 0.0,
            "spend_uplift": 0.0,
            "reward_rate": 0.0,
            "cost_per_member_per_month": 0.0,
        }
    )
    for measure in (
        "loyalty_program_churn_reduction",
        "loyalty_program_spend_uplift",
        "loyalty_program_incremental_value",
    ):
        mean, se = mean_and_se(last(m, measure) for m in models)
        assert abs(mean) <= 4 * se + 1e-12, f"{measure}: {mean:g} (SE {se:g})"
    assert all(last(m, "loyalty_program_true_churn_reduction") == 0 for m in models)
    retention = mean_and_se(
        last(m, "loyalty_program_retention_members") - last(m, "loyalty_program_retention_holdout")
        for m in models
    )
    assert abs(retention[0]) <= 4 * retention[1]


def test_the_holdout_measures_the_effect_the_model_applies() -> None:
    models = loyalty_runs({"churn_reduction": 0.5, "spend_uplift": 0.2, "reward_rate": 0.02})
    # Everyone's price sensitivity is the mean, 0.5: the applied effects are known.
    response = 0.5 * (1 - math.exp(-0.02 / 0.02))
    for m in models:
        assert last(m, "loyalty_program_true_churn_reduction") == pytest.approx(
            0.5 * response, rel=1e-5
        )
        assert last(m, "loyalty_program_true_spend_uplift") == pytest.approx(
            0.2 * response, rel=1e-5
        )
        # Bills are all alike: the measured spend uplift is the applied one.
        assert last(m, "loyalty_program_spend_uplift") == pytest.approx(0.2 * response, rel=1e-4)
    measured, se = mean_and_se(last(m, "loyalty_program_churn_reduction") for m in models)
    assert measured > 4 * se
    assert abs(measured - 0.5 * response) <= 4 * se, f"{measured:g} vs {0.5 * response:g}"
    retention = mean_and_se(
        last(m, "loyalty_program_retention_members") - last(m, "loyalty_program_retention_holdout")
        for m in models
    )
    assert retention[0] > 4 * retention[1]
    value, se = mean_and_se(last(m, "loyalty_program_incremental_value") for m in models)
    assert value > 4 * se


def test_the_holdout_is_never_enrolled_and_is_drawn_from_the_programme_stream() -> None:
    def holdout(name: str, changes: dict | None = None) -> tuple[CRMModel, np.ndarray]:
        scenario = load_scenario(name).with_changes(changes or {})
        model = CRMModel(scenario, rng=5, customers=4000).run(36)
        return model, the_strategy(model, "loyalty_program").holdout

    model, alone = holdout("loyalty_program")
    assert alone.mean() == pytest.approx(0.1, abs=0.02)
    assert not model.customers.member[alone].any() and model.customers.member.any()
    # The same people are held out whatever else runs ...
    _, mixed = holdout("value_focus_mix")
    assert np.array_equal(alone, mixed)
    # ... and a larger holdout holds out more of the same people (one draw per person).
    _, more = holdout("loyalty_program", {"strategies.loyalty_program.holdout_share": 0.5})
    assert np.all(more[alone]) and more.mean() == pytest.approx(0.5, abs=0.03)


# ------------------------------------------------------------ referral programme
def referral_runs(changes: dict, seeds=SEEDS):
    scenario = load_scenario("referral_program").with_changes(
        {
            "acquisition.deterrence_per_defector": 0.0,
            "strategies.referral_program.holdout_share": 0.5,
            **{f"strategies.referral_program.{k}": v for k, v in changes.items()},
        }
    )
    return [CRMModel(scenario, rng=seed, customers=10_000).run(48) for seed in seeds]


def test_a_referral_programme_that_does_nothing_adds_no_referrals() -> None:
    models = referral_runs({"referral_factor": 1.0, "conversion_boost": 0.0})
    mean, se = mean_and_se(last(m, "referral_program_incremental_referred") for m in models)
    assert abs(mean) <= 4 * se, f"{mean:g} (SE {se:g})"


def test_the_referral_holdout_measures_the_referrals_the_programme_adds() -> None:
    factor, boost = 1.5, 0.2
    models = referral_runs({"referral_factor": factor, "conversion_boost": boost})
    # A referred prospect buys with chance c a month and loses interest with chance l,
    # so buys in the end with chance c / (c + l).
    params = models[0].scenario.params.acquisition
    c, lapse = params.referral_conversion_rate, params.prospect_lapse_per_month
    lift = factor * (c * (1 + boost) / (c * (1 + boost) + lapse)) / (c / (c + lapse))
    ratios = [
        last(m, "referral_program_referred_per_eligible")
        / last(m, "referral_program_referred_per_eligible_holdout")
        for m in models
    ]
    measured, se = mean_and_se(ratios)
    assert measured - 1 > 4 * se
    assert abs(measured - lift) <= 4 * se, f"{measured:g} vs {lift:g} (SE {se:g})"
    incremental, se = mean_and_se(last(m, "referral_program_incremental_referred") for m in models)
    assert incremental > 4 * se


# -------------------------------------------------------- customer referral value
def test_customer_referral_value_credits_each_referred_customer_to_its_referrer() -> None:
    model = CRMModel(load_scenario("referral_program"), rng=2, customers=10_000).run(48)
    table = model.customers
    code = model.funnel.referral_code
    crv = customer_referral_value(table, model.monthly_discount_rate, code)
    referred = np.flatnonzero((table.source == code) & (table.acquired_month >= 0))
    assert referred.size > 0
    # Every referred customer has a referrer, who was a customer before them ...
    referrer = table.referred_by[referred]
    assert np.all(referrer >= 0)
    assert np.all(table.acquired_month[referrer] >= 0)
    assert np.all(table.acquired_month[referrer] <= table.acquired_month[referred])
    # ... customers acquired otherwise have none ...
    others = (table.acquired_month >= 0) & (table.source != code)
    assert np.all(table.referred_by[others] == -1)
    # ... the referral values add up to the realised value of the referred customers ...
    clv = realised_clv(table, model.monthly_discount_rate)
    assert crv.sum() == pytest.approx(clv[referred].sum(), rel=1e-9)
    for person in np.unique(referrer)[:50]:
        assert crv[person] == pytest.approx(clv[referred[referrer == person]].sum(), rel=1e-9)
    # ... and whoever referred nobody has a referral value of 0.
    nobody = np.ones(table.size, bool)
    nobody[referrer] = False
    assert np.all(crv[nobody] == 0)
    series = model.monthly_series()
    assert series["referral_program_referrers"].iloc[-1] == np.unique(referrer).size
    assert series["referral_program_mean_crv"].iloc[-1] == pytest.approx(
        crv[np.unique(referrer)].mean(), rel=1e-9
    )


def test_referrers_are_drawn_without_the_programme_too() -> None:
    """Word of mouth is credited in the baseline as well, from a stream of its own."""
    model = CRMModel(load_scenario("baseline"), rng=2, customers=10_000).run(36)
    table = model.customers
    code = model.funnel.referral_code
    referred = (table.source == code) & (table.acquired_month >= 0)
    assert referred.any() and np.all(table.referred_by[referred] >= 0)


def test_each_referral_is_credited_in_proportion_to_the_referral_rates() -> None:
    rows = np.array([10, 11, 12, 13])
    rates = np.array([0.0, 0.01, 0.03, 0.0], np.float32)
    referrers = draw_referrers(np.random.default_rng(0), rows, rates, 40_000)
    counts = np.array([(referrers == row).sum() for row in rows])
    assert counts[0] == 0 and counts[3] == 0  # who does not refer is never credited
    share = counts[2] / counts.sum()
    assert share == pytest.approx(0.75, abs=4 * math.sqrt(0.75 * 0.25 / counts.sum()))
