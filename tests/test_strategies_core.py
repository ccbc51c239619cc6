"""The loyalty programme and firing marginal customers: effects, costs, side effects.

Effects are measured against the baseline with common random numbers: the
same seeds, so each pair of runs meets the same customers and luck, and the
paired difference must lie beyond four of its standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from crmsim import CRMModel, load_scenario
from crmsim.config.fields import ScenarioError
from crmsim.vocabulary import TIERS

SEEDS = range(6)
CUSTOMERS, MONTHS = 4_000, 48


def paired(measure, first: str, second: str, **changes) -> tuple[float, float]:
    """Mean and standard error of measure(second) - measure(first) over paired seeds."""
    a, b = load_scenario(first), load_scenario(second)
    if changes:
        b = b.with_changes(changes)
    diffs = [
        measure(CRMModel(b, rng=s, customers=CUSTOMERS).run(MONTHS))
        - measure(CRMModel(a, rng=s, customers=CUSTOMERS).run(MONTHS))
        for s in SEEDS
    ]
    return float(np.mean(diffs)), float(np.std(diffs, ddof=1) / math.sqrt(len(diffs)))


def member_churn(model: CRMModel) -> float:
    series = model.monthly_series()
    late = series[series["month"] >= 24]
    return float(late["churn_rate"].mean())


def test_loyalty_programme_cuts_churn_and_costs_money() -> None:
    diff, se = paired(member_churn, "baseline", "loyalty_program")
    assert diff < -4 * se
    cost, se_cost = paired(
        lambda m: float(m.monthly_series()["programme_cost"].sum()), "baseline", "loyalty_program"
    )
    assert cost > 4 * se_cost and cost > 0


def test_loyalty_programme_costs_start_with_it_and_reach_the_customers() -> None:
    model = CRMModel(load_scenario("loyalty_program"), rng=1, customers=CUSTOMERS).run(36)
    series = model.monthly_series()
    assert series.loc[series["month"] < 12, "programme_cost"].sum() == 0
    assert series.loc[series["month"] >= 12, "programme_cost"].sum() > 0
    table = model.customers
    assert table.programme_cost.sum() == pytest.approx(series["programme_cost"].sum(), rel=1e-9)


def test_programme_cost_of_a_month_matches_its_members() -> None:
    scenario = load_scenario("loyalty_program").with_changes(
        {"strategies.loyalty_program.start_month": 0, "firm.margin_timing": "start"}
    )
    params = scenario.data["strategies"]["loyalty_program"]
    model = CRMModel(scenario, rng=2, customers=CUSTOMERS)
    table = model.customers
    lowest = TIERS.index(params["enrolment_tier"])
    for _ in range(24):
        before = table.programme_cost.copy()
        # Rewards are set on the rung a member holds at the start of the month.
        rung_at_start = table.tier.copy()
        model.step()
        charged = table.programme_cost - before
        payers = np.flatnonzero(charged != 0)
        assert np.all(table.member[payers] | (table.stage[payers] != 2))
        rungs = np.maximum(rung_at_start[payers].astype(int) - lowest, 0)
        rate = params["reward_rate"] + params["tier_reward_step"] * rungs
        expected = params["cost_per_member_per_month"] + rate * table.revenue[payers]
        # Members who left this month paid and were charged before leaving.
        staying = table.stage[payers] == 2
        np.testing.assert_allclose(charged[payers][staying], expected[staying], rtol=1e-5)
        assert model.record.stats["programme_cost"] == pytest.approx(charged.sum(), rel=1e-9)


def test_firing_ends_relationships_and_saves_cost_to_serve() -> None:
    served, se = paired(
        lambda m: float(m.monthly_series()["service_cost"].sum()),
        "baseline",
        "fire_marginal_customers",
    )
    assert served < -4 * se
    fired = CRMModel(load_scenario("fire_marginal_customers"), rng=0, customers=CUSTOMERS).run(
        MONTHS
    )
    series = fired.monthly_series()
    reviews = series.loc[series["defections_fired"] > 0, "month"].tolist()
    assert reviews == [12, 24, 36]
    active_at_review = series.set_index("month")["active_at_start"]
    share = fired.scenario.data["strategies"]["fire_marginal_customers"]["bottom_share"]
    for month in reviews:
        # The bottom share of customers old enough to be judged.
        assert (
            series.set_index("month").loc[month, "defections_fired"]
            <= round(share * active_at_review[month]) + 1
        )


def test_fired_customers_are_the_least_valuable_and_never_return() -> None:

    model = CRMModel(load_scenario("fire_marginal_customers"), rng=4, customers=CUSTOMERS)
    model.run(12)  # the first review happens at the start of month 12
    table = model.customers
    reviewed = np.flatnonzero((table.stage == 2) & (table.tenure_months >= 6))
    value = model.firm_valuation.expected_clv(reviewed)  # what the firm ranks by
    model.step()
    fired = np.flatnonzero(table.defection_reason == 6)
    assert fired.size == round(0.15 * reviewed.size)
    kept = np.setdiff1d(reviewed, fired)
    worth = dict(zip(reviewed.tolist(), value.tolist(), strict=True))
    assert max(worth[i] for i in fired) <= min(worth[i] for i in kept)
    model.run(36)
    assert np.all(table.stage[fired] == 3), "fired customers never come back"


def test_a_base_of_only_high_value_customers_draws_more_poaching() -> None:
    def attention(model: CRMModel) -> float:
        rows = np.flatnonzero(model.customers.stage == 2)
        return model.competitor.attention(rows)

    diff, se = paired(attention, "baseline", "fire_marginal_customers")
    assert diff > 4 * se
    # A competitor indifferent to the value of a base does not react.
    flat = {"competitor.value_focus": 0.0}
    model = CRMModel(
        load_scenario("fire_marginal_customers").with_changes(flat), rng=0, customers=CUSTOMERS
    ).run(MONTHS)
    assert attention(model) == 1.0


def test_fired_customers_talk() -> None:
    quiet = {"strategies.fire_marginal_customers.deterrence_per_fired_customer": 0.0}
    diff, se = paired(
        lambda m: float(m.monthly_series()["deterred_prospects"].sum()),
        "fire_marginal_customers",
        "fire_marginal_customers",
        **quiet,
    )
    assert diff < -4 * se


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"strategies.loyalty_program.reward_rate": 1.5}, "strategies.loyalty_program.reward_rate"),
        ({"strategies.loyalty_program.enrolment_tier": "vip"}, "enrolment_tier"),
        (
            {"strategies.fire_marginal_customers.bottom_share": -0.1},
            "strategies.fire_marginal_customers.bottom_share",
        ),
    ],
)
def test_invalid_strategy_parameters_are_named(changes: dict, field: str) -> None:
    with pytest.raises(ScenarioError, match=field):
        load_scenario("baseline").with_changes(changes)
