"""The warm start: the customers of month 0 have lived with the firm for a while."""

from __future__ import annotations

import numpy as np
import pytest

from crmsim import CRMModel, load_scenario
from crmsim.vocabulary import ACTIVE, TIERS

REPLICATIONS = 4
CUSTOMERS = 20_000


def _series(warm_start_months: int, months: int) -> list:
    scenario = load_scenario("baseline").with_changes(
        {"market.warm_start_months": warm_start_months}
    )
    return [
        CRMModel(scenario, rng=seed, customers=CUSTOMERS).run(months).monthly_series()
        for seed in range(1, REPLICATIONS + 1)
    ]


@pytest.fixture(scope="module")
def warm() -> list:
    return _series(60, 48)


@pytest.fixture(scope="module")
def cold() -> list:
    return _series(0, 48)


def test_the_base_of_month_0_has_a_spread_of_tenure_and_rungs() -> None:
    model = CRMModel(load_scenario("baseline"), rng=3, customers=CUSTOMERS)
    table = model.customers
    base = table.stage == ACTIVE
    # The initial base keeps its size; its people are those who stayed or joined.
    share = load_scenario("baseline").params.market.initial_active_share
    assert base.sum() == round(share * CUSTOMERS)
    tiers = np.bincount(table.tier[base], minlength=len(TIERS))
    assert (tiers > 0).all()
    assert table.tenure_months[base].mean() > 12
    assert table.tenure_months[base].max() <= 60
    assert (table.acquired_month[base] == 0).all()
    assert (table.acquired_month[~base] == -1).all()
    # Those who stay long are over-represented, as in any mature base.
    assert table.churn_probability[base].mean() < table.churn_probability.mean()


def test_no_start_leaves_the_base_brand_new() -> None:
    scenario = load_scenario("baseline").with_changes({"market.warm_start_months": 0})
    table = CRMModel(scenario, rng=3, customers=5_000).customers
    base = table.stage == ACTIVE
    assert (table.tenure_months[base] == 0).all() and (table.tier[base] == 0).all()


def _monthly_rate(series: list, name: str) -> np.ndarray:
    return np.array([(s[name] / s["active_at_start"]).to_numpy() for s in series])


def test_no_waves_of_promotions_as_a_cohort_reaches_each_rung(warm, cold) -> None:
    """No month of the first three years promotes far more customers than the months
    around it (a cohort all of one tenure climbs in waves).

    Each month's promotion rate is compared with the mean of the month before and
    after; the binomial standard error of that difference (over n customer-months)
    bounds the largest jump at 4 of them.
    """
    for series, artefact in ((warm, False), (cold, True)):
        rate = _monthly_rate(series, "promoted").mean(axis=0)[:37]
        n = np.mean([s["active_at_start"].iloc[:37].mean() for s in series]) * len(series)
        jump = rate[1:-1] - 0.5 * (rate[:-2] + rate[2:])
        se = np.sqrt(1.5 * rate.mean() * (1 - rate.mean()) / n)
        assert bool(np.abs(jump).max() > 4 * se) is artefact, (np.abs(jump).max(), se)


def test_month_0_retention_has_no_cold_start_dip(warm, cold) -> None:
    """Month 0 retains customers no worse than the running business (months 12-47),
    within 4 standard errors of the difference across replications."""
    for series, artefact in ((warm, False), (cold, True)):
        retention = np.array([s["retention_rate"].to_numpy() for s in series])
        gap = retention[:, 12:].mean(axis=1) - retention[:, 0]
        se = gap.std(ddof=1) / np.sqrt(gap.size)
        assert bool(gap.mean() > 4 * se) is artefact, (gap.mean(), se)
