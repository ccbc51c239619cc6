"""Invariants of the month loop on randomised scenarios.

Hypothesis draws scenarios from the valid ranges of the schema (both customer
behaviours, both margin timings, with and without the loyalty programme and
the firing of marginal customers) on small markets; the model is stepped month
by month and after every month the books, the stages and the customer table
must agree with each other exactly (up to floating-point rounding).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crmsim import economics
from crmsim.config.fields import SMALLEST
from crmsim.config.scenario import Scenario, market_capacity
from crmsim.engine.model import CRMModel
from crmsim.vocabulary import (
    ACTIVE,
    COST_KINDS,
    DEFECTED,
    FIRED,
    OUTSIDE,
    PROSPECT,
    REASONS,
    STAGES,
    SUSPECT,
    TIERS,
)

MONTHS = 24
CUSTOMERS = 2_000


def floats(low: float, high: float) -> st.SearchStrategy[float]:
    """Numbers in [low, high] that a setting takes: sizes below SMALLEST are 0."""
    return st.floats(low, high).map(lambda x: 0.0 if abs(x) < SMALLEST else x)


probability = floats(0.0, 1.0)
small_rate = floats(0.0, 0.2)
polarization = floats(0.0, 0.9)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A scenario with most settings drawn from their valid ranges."""
    strategies: dict[str, Any] = {}
    if draw(st.booleans()):
        strategies["loyalty_program"] = {
            "enrolment_rate_per_month": draw(probability),
            "fee_per_month": draw(floats(0.0, 5.0)),
            "reward_rate": draw(floats(0.0, 0.2)),
            "start_month": draw(st.integers(0, 6)),
        }
    if draw(st.booleans()):
        strategies["fire_marginal_customers"] = {
            "review_every_months": 6,
            "bottom_share": draw(probability),
            "min_tenure_months": draw(st.integers(0, 6)),
            "cost_per_termination": draw(floats(0.0, 10.0)),
        }
    churn_mean = draw(small_rate)
    behaviour = draw(st.sampled_from(["contractual", "non_contractual"]))
    # Settings that contradict each other are refused (test_scenario): draw only the others.
    timings = ["start", "end"] if behaviour == "contractual" else ["start"]
    shock_month = draw(st.none() | st.integers(0, MONTHS))
    shock_rates = floats(0.0, 0.1) if shock_month is None else floats(0.001, 0.1)
    data = {
        "name": "random",
        "simulation": {"months": MONTHS, "customers": CUSTOMERS, "follow_customers": 4},
        "market": {
            "initial_active_share": draw(probability),
            "entry_rate_per_month": draw(floats(0.0, 0.05)),
            "expectation_drift_per_month": draw(floats(-0.01, 0.01)),
            "expectation_adaptation_per_month": draw(probability),
            "exit_rate_per_month": draw(floats(0.0, 0.05)),
            "obsolescence_rate_per_month": draw(floats(0.0, 0.05)),
            "technology_shock_month": shock_month,
            "technology_shock_rate_per_month": draw(shock_rates),
        },
        "customers": {
            "behaviour": behaviour,
            "churn_probability_mean": churn_mean,
            "churn_probability_polarization": draw(polarization),
            "purchase_rate_r": draw(floats(0.1, 3.0)),
            "purchase_rate_alpha": draw(floats(0.2, 5.0)),
            "dropout_a": draw(floats(0.2, 5.0)),
            "dropout_b": draw(floats(0.5, 30.0)),
            "order_value_mean": draw(floats(1.0, 200.0)),
            "order_value_spread": draw(floats(0.0, 1.5)),
            "share_of_wallet_mean": draw(floats(0.05, 1.0)),
            "share_of_wallet_polarization": draw(polarization),
            "price_sensitivity_mean": draw(probability),
            "price_sensitivity_polarization": draw(polarization),
            "taste_spread": draw(floats(0.0, 0.5)),
        },
        "ladder": {
            "promotion_probability_per_month": draw(probability),
            "demotion_probability_per_month": draw(probability),
            "referrals_per_month": [0.0, 0.0, 0.0, draw(small_rate), draw(floats(0.0, 0.5))],
        },
        "firm": {
            "price_index": draw(floats(0.5, 1.5)),
            "gross_margin": draw(probability),
            "cost_to_serve_per_month": draw(floats(0.0, 10.0)),
            "quality_improvement_per_month": draw(floats(-0.01, 0.01)),
            "discount_rate_per_year": draw(floats(0.0, 0.5)),
            "margin_timing": draw(st.sampled_from(timings)),
            "organisational_failure_rate_per_month": draw(floats(0.0, 0.02)),
            "service_defection_sensitivity": draw(floats(0.0, 1.0)),
        },
        "acquisition": {
            "budget_per_month_per_1000_people": draw(floats(0.0, 500.0)),
            "channels": {
                "mass": {
                    "budget_share": 0.5,
                    "cost_per_contact": draw(floats(0.0, 5.0)),
                    "prospect_rate": draw(probability),
                    "conversion_rate": draw(probability),
                },
                "lookalike": {
                    "budget_share": 0.5,
                    "cost_per_contact": draw(floats(0.5, 5.0)),
                    "prospect_rate": draw(probability),
                    "conversion_rate": draw(probability),
                    "lookalike_strength": draw(floats(0.0, 3.0)),
                },
            },
            "prospect_lapse_per_month": draw(probability),
            "referral_conversion_rate": draw(probability),
            "deterrence_per_defector": draw(floats(0.0, 3.0)),
        },
        "competitor": {
            "reach_per_month": draw(probability),
            "offer_strength": draw(probability),
            "strength_growth_per_year": draw(floats(-0.5, 1.0)),
            "product_advantage_rate_per_month": draw(floats(0.0, 0.05)),
        },
        "reacquisition": {
            "return_probability_per_month": draw(floats(0.0, 0.5)),
            "half_life_months": draw(floats(0.5, 24.0)),
            "cost_per_return": draw(floats(0.0, 50.0)),
        },
        "strategies": strategies,
    }
    return Scenario(data)


def _check_month(model: CRMModel, before: dict[str, int], totals: dict[str, float]) -> None:
    """Everything that must hold after one month; ``before`` are last month's stage counts."""
    table = model.customers
    stats = model.record.stats
    n = table.people

    # The market renews on its schedule: the people of month 0 and the month's entrants,
    # in row order; the rows kept for later entrants are outside the market.
    p = model.scenario.params
    assert n == market_capacity(table.initial_people, p.market.entry_rate_per_month, model.month)
    assert n == sum(before.values()) + stats["entered"] <= table.size
    assert np.all(table.stage[n:] == OUTSIDE)

    # Each person in the market is in exactly one stage, and the counts agree with the table.
    market = table.stage[:n]
    assert market.min(initial=0) >= 0 and market.max(initial=0) < len(STAGES)
    counts = np.bincount(market, minlength=len(STAGES))
    assert counts.sum() == n
    for code, stage in enumerate(STAGES):
        assert stats[stage] == counts[code]

    # Flows between stages conserve people.
    acquired, returned = stats["acquired"], stats["returned"]
    defected, fired = stats["defected_this_month"], stats["defections_fired"]
    new_prospects = stats["new_prospects"]
    lapsed, deterred = stats["lapsed_prospects"], stats["deterred_prospects"]
    won_back = stats["won_back"]
    # The month's customers: last month's, those won or won back at its start (and any
    # fired at a review); natural returns come back at its end.
    assert stats["active_at_start"] == before["active"] + acquired + won_back
    assert stats["active"] == before["active"] + acquired + won_back + returned - defected
    assert stats["defected"] == before["defected"] + defected - returned - won_back
    assert stats["prospect"] == before["prospect"] + new_prospects - acquired - lapsed - deterred
    entered = stats["entered"]
    assert stats["suspect"] == before["suspect"] - new_prospects + lapsed + deterred + entered
    assert stats["defected_this_month"] == sum(stats[f"defections_{r}"] for r in REASONS)
    assert stats["referrals"] <= new_prospects

    # Who pays: everyone active at the start, or only the stayers when margins come at the end.
    if model.pays_at_start:
        assert stats["paying_customers"] == stats["active_at_start"] - fired
    else:
        assert stats["paying_customers"] == stats["active_at_start"] - defected

    # The month's books.
    costs = sum(stats[f"{kind}_cost"] for kind in COST_KINDS)
    assert stats["profit"] == pytest.approx(
        stats["revenue"] - stats["cost_of_sales"] - costs, rel=1e-12, abs=1e-9
    )
    assert stats["revenue"] >= 0 and stats["cost_of_sales"] >= -1e-9
    for kind in ("acquisition", "service", "return"):
        assert stats[f"{kind}_cost"] >= 0
    for key in ("revenue", *(f"{kind}_cost" for kind in COST_KINDS)):
        totals[key] += stats[key]

    # Discounted customer values plus unattributed costs are the firm's discounted profit, up
    # to the rounding of the money that flowed: each sale's margin is a single-precision
    # share of its revenue, so a profit small beside the revenue carries the revenue's error.
    scale = (
        abs(model.books.profit_pv)
        + abs(model.books.unattributed_pv)
        + table.revenue_total.sum(dtype=np.float64)
        + 1.0
    )
    assert table.value_at_start.sum() + model.books.unattributed_pv == pytest.approx(
        model.books.profit_pv, rel=1e-6, abs=1e-6 * scale
    )
    # Undiscounted totals per customer add up to the months' books.
    assert table.revenue_total.sum() == pytest.approx(totals["revenue"], rel=1e-9, abs=1e-6)
    for kind in ("service", "programme", "return"):
        column = getattr(table, f"{kind}_cost")
        assert column.sum() == pytest.approx(totals[f"{kind}_cost"], rel=1e-9, abs=1e-6)
    assert table.acquisition_cost.sum() <= totals["acquisition_cost"] * (1 + 1e-9) + 1e-6

    # Realised CLVs (discounted to first purchase) brought back to month 0 give the
    # cohort totals; people who never bought have neither value nor costs.
    bought = table.acquired_month >= 0
    clv = economics.realised_clv(table, model.monthly_discount_rate)
    assert np.all(clv[~bought] == 0) and np.all(table.value_at_start[~bought] == 0)
    for cohort in np.unique(table.acquired_month[bought]):
        members = table.acquired_month == cohort
        back = clv[members].sum() / (1.0 + model.monthly_discount_rate) ** int(cohort)
        assert back == pytest.approx(table.value_at_start[members].sum(), rel=1e-9, abs=1e-6)
    discount = (1.0 + model.monthly_discount_rate) ** -np.maximum(table.acquired_month, 0)
    assert (clv * discount).sum() + model.books.unattributed_pv == pytest.approx(
        model.books.profit_pv, rel=1e-6, abs=1e-6 * scale
    )

    # The month's customer equity sums the expected CLV (at today's margin and retention)
    # of the customers active at its end.
    rows, expected = model.record.month_end_clv
    assert np.array_equal(rows, np.flatnonzero(table.stage == ACTIVE))
    assert expected.sum(dtype=np.float64) == stats["customer_equity"]

    # Stages and the table agree: once a customer, never a suspect or prospect again; nobody
    # outside the market has bought.
    never = (table.stage == SUSPECT) | (table.stage == PROSPECT)
    assert np.array_equal(never[:n], ~bought[:n]) and not bought[n:].any()
    ended = table.first_defected_month >= 0
    assert np.all(table.first_defected_month[ended] >= table.acquired_month[ended])
    assert np.all(ended[table.stage == DEFECTED])
    assert np.all(table.stage[table.defection_reason == FIRED] == DEFECTED)  # never come back
    assert np.all(table.stage[table.member] == ACTIVE)
    active = table.stage == ACTIVE
    # The customers of month 0 may have been customers for up to the warm-start months.
    before = np.where(
        table.source == model.funnel.initial_base_code,
        model.scenario.params.market.warm_start_months,
        0,
    )
    assert np.all(
        table.tenure_months[active]
        <= model.month - table.acquired_month[active] + 1 + before[active]
    )

    # Ranges.
    assert table.tier.min() >= 0 and table.tier.max() < len(TIERS)
    assert sum(stats[f"tier_{t}"] for t in TIERS) == stats["active"]
    assert np.all(np.isfinite(table.satisfaction)) and np.all(np.isfinite(table.expectation))
    assert np.all((table.churn_hazard >= 0) & (table.churn_hazard <= 1))
    at_risk = stats["active_at_start"]
    if at_risk > 0:
        # Fired customers count among the month's customers and are not retained.
        stayed = at_risk - defected
        assert 0 <= stayed == stats["active"] - returned
        assert 0.0 <= stats["churn_rate"] <= 1.0
        assert stats["churn_rate"] == pytest.approx((defected - fired) / at_risk)
        assert stats["retained"] == stayed
        assert 0.0 <= stats["retention_rate"] <= 1.0
    assert np.isfinite(stats["customer_equity"])
    if model.non_contractual:
        assert np.all(table.purchases_left >= 0)
        assert np.all(table.purchases_left[active] >= 1)  # those at 0 have dropped out


def _check_lifetime(model: CRMModel) -> None:
    """At the end of a run: lifetime CLV adds to each customer's realised value the value
    still to come (the run-off of the market, ``crmsim.engine.run_off``), discounted to the
    first purchase; nothing is to come from people who never bought or customers the firm
    ended; brought back to month 0, the lifetime CLVs and the costs that reached no one
    give the value of the customer base, and brought to the end the values to come are the
    customer equity."""
    table = model.customers
    rate = model.monthly_discount_rate
    clv = economics.realised_clv(table, rate)
    lifetime = economics.lifetime_clv(model)
    to_come = economics.expected_remaining_value(model)
    assert np.array_equal(lifetime, clv + to_come)
    assert np.all(to_come[table.acquired_month < 0] == 0)
    assert np.all(to_come[table.defection_reason == FIRED] == 0)
    summary = model.summary()
    bought = table.acquired_month >= 0
    at_end = to_come * (1 + rate) ** (model.month - np.maximum(table.acquired_month, 0))
    equity = summary["customer_equity"]
    assert at_end[bought].sum() == pytest.approx(equity, rel=1e-9, abs=1e-9)
    discount = (1.0 + rate) ** -np.maximum(table.acquired_month, 0)
    scale = (
        abs(model.books.profit_pv)
        + abs(model.books.unattributed_pv)
        + table.revenue_total.sum(dtype=np.float64)
        + 1.0
    )
    assert (lifetime * discount).sum() + model.books.unattributed_pv == pytest.approx(
        summary["value_of_customer_base"], rel=1e-6, abs=1e-6 * (scale + abs(equity))
    )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(scenario=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_month_by_month_invariants(scenario: Scenario, seed: int) -> None:
    p = scenario.params
    event(f"{p.customers.behaviour}, margin at {p.firm.margin_timing}")
    event("strategies: " + (", ".join(sorted(scenario.data["strategies"])) or "none"))
    model = CRMModel(scenario, rng=seed)
    counts = np.bincount(model.customers.stage, minlength=len(STAGES))
    before = {stage: int(counts[code]) for code, stage in enumerate(STAGES)}
    totals = dict.fromkeys(["revenue", *(f"{kind}_cost" for kind in COST_KINDS)], 0.0)
    for _ in range(MONTHS):
        model.step()
        _check_month(model, before, totals)
        before = {stage: model.record.stats[stage] for stage in STAGES}
    _check_lifetime(model)
    series = model.monthly_series()
    assert len(series) == MONTHS
    assert series["month"].tolist() == list(range(MONTHS))


# Non-contractual customers pay as they buy: margins at month end would contradict that.
@pytest.mark.parametrize(
    ("behaviour", "timing"),
    [("contractual", "start"), ("contractual", "end"), ("non_contractual", "start")],
)
@pytest.mark.parametrize(
    "strategies",
    [{}, {"loyalty_program": {}, "fire_marginal_customers": {"review_every_months": 6}}],
    ids=["no strategy", "both strategies"],
)
def test_invariants_in_baseline_variants(
    behaviour: str, timing: str, strategies: dict[str, Any]
) -> None:
    """The baseline itself, with each behaviour, margin timing and both strategies running."""
    scenario = Scenario(
        {
            "name": "variant",
            "simulation": {"months": MONTHS, "customers": CUSTOMERS},
            "customers": {"behaviour": behaviour},
            "firm": {"margin_timing": timing},
            "strategies": strategies,
        }
    )
    model = CRMModel(scenario, rng=5)
    counts = np.bincount(model.customers.stage, minlength=len(STAGES))
    before = {stage: int(counts[code]) for code, stage in enumerate(STAGES)}
    totals = dict.fromkeys(["revenue", *(f"{kind}_cost" for kind in COST_KINDS)], 0.0)
    for _ in range(MONTHS):
        model.step()
        _check_month(model, before, totals)
        before = {stage: model.record.stats[stage] for stage in STAGES}
    _check_lifetime(model)
    if strategies:
        series = model.monthly_series()
        assert series["defections_fired"].sum() > 0
        assert series["members"].max() > 0


def test_retained_excludes_fired_customers() -> None:
    """Retained = the month's customers (fired ones included) still active at its end."""
    scenario = Scenario(
        {
            "name": "fire_many",
            "simulation": {"months": 7, "customers": CUSTOMERS},
            "market": {"initial_active_share": 0.5},
            "strategies": {
                "fire_marginal_customers": {
                    "review_every_months": 6,
                    "bottom_share": 0.6,
                    "min_tenure_months": 0,
                }
            },
        }
    )
    model = CRMModel(scenario, rng=9)
    for _ in range(7):
        model.step()
        stats = model.record.stats
        stayed = stats["active"] - stats["returned"]
        assert stats["retained"] == stayed
        assert 0.0 <= stats["retention_rate"] <= 1.0
