"""Lifetime value measures: lifetime CLV, CLV at acquisition, equity with future cohorts.

Lifetime CLV = realised value to date + the expected value still to come of the
customers active at the end, both discounted to the first purchase
(``crmsim.economics.lifetime_clv``). Tolerances are 4 Monte Carlo standard errors of
the simulated estimate, as in ``tests/test_docking.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import docking_scenario

from crmsim import economics
from crmsim.analytic import expected_clv_constant_retention
from crmsim.config.scenario import load_scenario
from crmsim.engine.model import CRMModel
from crmsim.vocabulary import DEFECTED, FIRED

Z = 4.0


def _se(sample: np.ndarray) -> float:
    return float(np.std(sample, ddof=1) / math.sqrt(len(sample)))


# ----------------------------------------------------------------- docking
CHURN = 0.1
MONTHS = 24
PEOPLE = 40_000

FREE_ACQUISITION = {
    "market.initial_active_share": 0.5,
    "acquisition.budget_per_month_per_1000_people": 1.0 / 40,  # 1 a month at 40,000 people
    # Contacts cost nothing: the customers acquired in the run cost nothing to win.
    "acquisition.channels": {
        "mass": {
            "budget_share": 1.0,
            "cost_per_contact": 0.0,
            "prospect_rate": 0.05,
            "conversion_rate": 0.3,
        },
    },
}


@pytest.fixture(
    scope="module",
    params=[("start", 0.1), ("end", 0.1), ("start", 2.0), ("end", 2.0)],
    ids=lambda p: f"{p[0]}-{p[1]:g}",
)
def constant_retention(request: pytest.FixtureRequest) -> tuple[str, CRMModel]:
    """Constant retention, no acquisition cost: half the market a customer at month 0,
    the rest won by a channel whose contacts cost nothing."""
    timing, yearly = request.param
    scenario = docking_scenario(
        {
            "simulation.customers": PEOPLE,
            "simulation.months": MONTHS,
            "customers.churn_probability_mean": CHURN,
            "customers.churn_probability_polarization": 0.0,
            "firm.margin_timing": timing,
            "firm.discount_rate_per_year": yearly,
            **FREE_ACQUISITION,
        }
    )
    return timing, CRMModel(scenario, rng=20261207).run()


def _margin_multiple_clv(model: CRMModel, timing: str) -> float:
    """m r / (1 + i - r) (margin at month end) or m (1 + i) / (1 + i - r) (at its start)."""
    params = model.scenario.params
    margin = params.customers.order_value_mean * params.firm.gross_margin
    return expected_clv_constant_retention(
        margin, 1.0 - CHURN, model.monthly_discount_rate, timing, horizon_periods=None
    )


@pytest.mark.parametrize("who", ["acquired in the run", "initial base"])
def test_lifetime_clv_with_constant_retention_is_the_margin_multiple(
    constant_retention: tuple[str, CRMModel], who: str
) -> None:
    timing, model = constant_retention
    members = (
        economics.acquired_in_run(model)
        if who == "acquired in the run"
        else economics.in_initial_base(model)
    )
    lifetime = economics.lifetime_clv(model)[members]
    assert lifetime.size > 5_000
    assert model.customers.acquisition_cost[members].sum() == 0.0
    expected = _margin_multiple_clv(model, timing)
    se = _se(lifetime)
    assert abs(lifetime.mean() - expected) < Z * se, (timing, lifetime.mean(), expected, se)
    summary = model.summary()
    name = "mean_lifetime_clv" if who == "acquired in the run" else "mean_lifetime_clv_initial_base"
    assert summary[name] == pytest.approx(lifetime.mean(), rel=1e-12)


def test_the_docking_test_has_power(constant_retention: tuple[str, CRMModel]) -> None:
    """The realised value to date (truncated at 24 months) and the other margin timing's
    closed form are both rejected: lifetime CLV is what adds the value to come."""
    timing, model = constant_retention
    members = economics.acquired_in_run(model)
    lifetime = economics.lifetime_clv(model)[members]
    realised = economics.realised_clv(model.customers, model.monthly_discount_rate)[members]
    expected = _margin_multiple_clv(model, timing)
    assert expected - realised.mean() > Z * _se(realised)
    wrong = _margin_multiple_clv(model, "end" if timing == "start" else "start")
    assert abs(lifetime.mean() - wrong) > Z * _se(lifetime)


# ----------------------------------------------------------------- horizons
HORIZON_PEOPLE = 20_000
HORIZON_SEEDS = range(6)


def _lifetime_at_120_and_240() -> np.ndarray:
    """Per seed: mean lifetime CLV of the baseline's customers acquired in months 0-119,
    valued when the run stops at month 120 and when it goes on to month 240 (the same
    customers)."""
    values = []
    for seed in HORIZON_SEEDS:
        # The market renews into rows kept for simulation.months: plan for both horizons.
        scenario = load_scenario("baseline").with_changes({"simulation.months": 240})
        model = CRMModel(scenario, rng=seed, customers=HORIZON_PEOPLE).run(120)
        acquired = economics.acquired_in_run(model)
        at_120 = economics.lifetime_clv(model)[acquired]
        assert model.summary()["mean_lifetime_clv"] == pytest.approx(at_120.mean(), rel=1e-12)
        model.run(120)
        values.append((at_120.mean(), economics.lifetime_clv(model)[acquired].mean()))
    return np.array(values)


def test_lifetime_clv_does_not_depend_on_the_horizon_when_the_expectation_is_right() -> None:
    """Constant retention and margins (the docking scenario): the expected value to come
    is exact, so each customer's lifetime CLV valued at month 12 and at month 36 differ
    only by chance."""
    scenario = docking_scenario(
        {
            "simulation.customers": PEOPLE,
            "customers.churn_probability_mean": CHURN,
            "customers.churn_probability_polarization": 0.0,
            **FREE_ACQUISITION,
        }
    )
    model = CRMModel(scenario, rng=3).run(12)
    customers = np.flatnonzero(model.customers.acquired_month >= 0)
    at_12 = economics.lifetime_clv(model)[customers]
    to_come = economics.expected_remaining_value(model)[customers]
    model.run(24)
    difference = economics.lifetime_clv(model)[customers] - at_12
    assert abs(difference.mean()) < Z * _se(difference)
    # The value to come at month 12 was far from nothing: the test has power.
    assert to_come.mean() > 10 * Z * _se(difference)


def test_baseline_lifetime_clv_agrees_between_120_and_240_months() -> None:
    values = _lifetime_at_120_and_240()
    difference = values[:, 1] - values[:, 0]
    assert abs(difference.mean()) < Z * _se(difference), difference


# ----------------------------------------------------------------- the run's measures
@pytest.fixture(scope="module")
def baseline() -> CRMModel:
    return CRMModel("baseline", rng=5, customers=5_000).run(60)


def test_lifetime_clv_is_realised_value_plus_the_discounted_equity(baseline: CRMModel) -> None:
    model = baseline
    table = model.customers
    rate = model.monthly_discount_rate
    realised = economics.realised_clv(table, rate)
    remaining = economics.expected_remaining_value(model)
    assert np.array_equal(economics.lifetime_clv(model), realised + remaining)
    # Nothing is to come from people who never bought, nor from customers the firm ended
    # (they never return); customers lost on their own may come back.
    assert np.all(remaining[table.acquired_month < 0] == 0)
    assert np.all(remaining[table.defection_reason == FIRED] == 0)
    lost = (table.stage == DEFECTED) & (table.defection_reason != FIRED)
    assert remaining[lost].sum() > 0
    # Brought back to the end of the run, the values to come are the customer equity.
    bought = np.flatnonzero(table.acquired_month >= 0)
    back = remaining[bought] * (1 + rate) ** (model.month - table.acquired_month[bought])
    summary = model.summary()
    assert back.sum() == pytest.approx(summary["customer_equity"], rel=1e-9)
    # Every customer's lifetime CLV at month 0, plus the costs that reached nobody, is
    # the value of the customer base.
    at_start = economics.lifetime_clv(model) * (1 + rate) ** -np.maximum(table.acquired_month, 0)
    assert at_start.sum() + model.books.unattributed_pv == pytest.approx(
        summary["value_of_customer_base"], rel=1e-6
    )


def test_the_pareto_share_is_of_the_lifetime_clv_of_customers_acquired(
    baseline: CRMModel,
) -> None:
    summary = baseline.summary()
    frame = baseline.customer_frame()
    acquired = frame[frame["source"] != "initial_base"]
    share = economics.pareto_share(acquired["lifetime_clv"].to_numpy(), 0.2)
    assert summary["lifetime_pareto_share_top20"] == pytest.approx(share, abs=1e-6)
    # Neither the realised values nor the initial base give that share.
    everyone = economics.pareto_share(frame["lifetime_clv"].to_numpy(), 0.2)
    realised = economics.pareto_share(acquired["realised_clv"].to_numpy(), 0.2)
    assert abs(everyone - share) > 1e-3 and abs(realised - share) > 1e-3
    assert summary["realised_pareto_share_top20"] == pytest.approx(
        economics.pareto_share(frame["realised_clv"].to_numpy(), 0.2), abs=1e-6
    )


def test_measures_per_person_are_totals_over_the_market(baseline: CRMModel) -> None:
    summary = baseline.summary()
    people = summary["market_size"]
    frame = baseline.customer_frame()
    acquired = frame[frame["source"] != "initial_base"]
    assert summary["lifetime_clv_per_person"] == pytest.approx(
        acquired["lifetime_clv"].sum() / people, rel=1e-6
    )
    for total in (
        "customer_equity",
        "customer_equity_with_future_cohorts",
        "value_of_customer_base",
    ):
        assert summary[f"{total}_per_person"] == pytest.approx(summary[total] / people)


def test_equity_with_future_cohorts_adds_a_perpetuity_of_recent_acquisitions(
    baseline: CRMModel,
) -> None:
    """Read off the public tables: the last 12 months' customers, their lifetime CLV and
    the acquisition spend that reached none of them, as a monthly flow forever."""
    model = baseline
    summary = model.summary()
    series = model.monthly_series()
    frame = model.customer_frame()
    window = economics.FUTURE_COHORT_WINDOW_MONTHS
    recent = frame[(frame["source"] != "initial_base") & (frame["acquired_month"] >= 60 - window)]
    unattributed = (
        series["acquisition_cost"].iloc[-window:].sum() - recent["acquisition_cost"].sum()
    )
    flow = (recent["lifetime_clv"].sum() - unattributed) / window
    rate = model.monthly_discount_rate
    future = summary["customer_equity_with_future_cohorts"] - summary["customer_equity"]
    assert future == pytest.approx(flow * (1 + rate) / rate, rel=1e-5)
    assert future > 0


def test_without_discounting_the_future_cohorts_are_undefined() -> None:
    scenario = load_scenario("baseline").with_changes({"firm.discount_rate_per_year": 0.0})
    summary = CRMModel(scenario, rng=1, customers=500).run(6).summary()
    assert math.isnan(summary["customer_equity_with_future_cohorts"])
    assert math.isfinite(summary["mean_lifetime_clv"])


def test_segments_by_cohort_and_channel_give_the_clv_at_acquisition(baseline: CRMModel) -> None:
    """The initial base is a segment of its own: the other segments' mean lifetime CLV is
    over customers acquired in the run, and their counts add up to them."""
    tables = economics.segment_tables(baseline)
    frame = baseline.customer_frame()
    acquired = frame[frame["source"] != "initial_base"]
    for by in ("cohort", "channel"):
        table = tables[by].drop(index="initial_base")
        assert table["customers"].sum() == len(acquired)
        weighted = (table["customers"] * table["mean_lifetime_clv"].fillna(0)).sum()
        assert weighted / len(acquired) == pytest.approx(acquired["lifetime_clv"].mean())
    year_one = acquired[acquired["acquired_month"] < 12]["lifetime_clv"].mean()
    assert tables["cohort"].loc["year 1", "mean_lifetime_clv"] == pytest.approx(year_one)


def test_the_value_to_come_leaves_the_run_alone_and_is_reproducible() -> None:
    """The run-off draws from streams of its own: asking for the value to come changes
    nothing of the run that goes on, and the same seed and month give the same value."""
    scenario = load_scenario("baseline").with_changes({"simulation.customers": 2_000})
    asked = CRMModel(scenario, rng=2).run(24)
    value = asked.value_to_come().value_at_end.copy()
    again = CRMModel(scenario, rng=2).run(24)
    np.testing.assert_array_equal(again.value_to_come().value_at_end, value)
    # Nobody is acquired in a run-off: people who never bought bring nothing.
    never = asked.customers.acquired_month < 0
    assert np.all(value[never] == 0) and np.any(value[~never] != 0)
    unasked = CRMModel(scenario, rng=2).run(24)
    asked.run(12)
    unasked.run(12)
    pd.testing.assert_frame_equal(asked.monthly_series(), unasked.monthly_series())
    np.testing.assert_array_equal(asked.customers.value_at_start, unasked.customers.value_at_start)
    # Asked again a year on, it is the value to come then.
    assert asked.value_to_come().month == 36
    assert not np.array_equal(asked.value_to_come().value_at_end, value)
