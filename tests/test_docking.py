"""Docking: the simulation agrees with the closed forms of ``crmsim.analytic``.

Each test runs a docking scenario (``conftest.docking_scenario``: everything but
the mechanism under test switched off) and compares a simulated mean with its
closed form. The tolerance is always 4 Monte Carlo standard errors computed from
the simulated sample itself; nothing is tuned to pass.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import docking_scenario
from scipy import stats

from crmsim import economics
from crmsim.analytic import (
    beta_parameters_from_mean_polarization,
    bgnbd_expected_purchases,
    expected_clv_constant_retention,
    expected_derl,
    sbg_retention_rate,
    sbg_survival,
)
from crmsim.config.scenario import load_scenario
from crmsim.engine.model import CRMModel

Z = 4.0  # standard errors allowed
# Chi-square tests use the same false-alarm rate as a two-sided 4-SE test.
CHI2_TAIL = 2 * stats.norm.sf(Z)


def _se(sample: np.ndarray) -> float:
    return float(sample.std(ddof=1) / math.sqrt(sample.size))


# --------------------------------------------------------------------------- constant retention

CHURN = 0.1
MONTHS_CR = 60
N_CR = 50_000


def _constant_retention_run(timing: str, yearly_discount: float) -> CRMModel:
    scenario = docking_scenario(
        {
            "simulation.customers": N_CR,
            "simulation.months": MONTHS_CR,
            "customers.churn_probability_mean": CHURN,
            "customers.churn_probability_polarization": 0.0,
            "firm.margin_timing": timing,
            "firm.discount_rate_per_year": yearly_discount,
        }
    )
    return CRMModel(scenario, rng=20240601).run()


# The default discount rate, and a high one that makes a month's error in discounting
# (about 10% of the value) show up as many standard errors.
@pytest.fixture(
    scope="module",
    params=[("start", 0.1), ("end", 0.1), ("start", 2.0), ("end", 2.0)],
    ids=lambda p: f"{p[0]}-{p[1]:g}",
)
def constant_retention(request: pytest.FixtureRequest) -> tuple[str, CRMModel]:
    timing, yearly = request.param
    return timing, _constant_retention_run(timing, yearly)


def _initial_cohort_clv(model: CRMModel) -> np.ndarray:
    table = model.customers
    clv = economics.realised_clv(table, model.monthly_discount_rate)
    return clv[table.acquired_month == 0]


def _closed_form_clv(model: CRMModel, timing: str) -> float:
    c = model.scenario.params.customers
    margin = c.order_value_mean * model.scenario.params.firm.gross_margin
    return expected_clv_constant_retention(
        margin, 1.0 - CHURN, model.monthly_discount_rate, timing, horizon_periods=MONTHS_CR
    )


def test_constant_retention_mean_clv_matches_margin_multiple(
    constant_retention: tuple[str, CRMModel],
) -> None:
    timing, model = constant_retention
    clv = _initial_cohort_clv(model)
    assert clv.size == N_CR
    expected = _closed_form_clv(model, timing)
    assert abs(clv.mean() - expected) < Z * _se(clv), (timing, clv.mean(), expected, _se(clv))


def test_constant_retention_tells_margin_timings_apart(
    constant_retention: tuple[str, CRMModel],
) -> None:
    """The closed form of the other timing is rejected: the test has power."""
    timing, model = constant_retention
    wrong = "end" if timing == "start" else "start"
    clv = _initial_cohort_clv(model)
    se = _se(clv)
    gap = abs(_closed_form_clv(model, "start") - _closed_form_clv(model, "end"))
    # The two closed forms are about one margin apart, more than 2 x 4 SE: a mean
    # within 4 SE of one of them is necessarily more than 4 SE from the other.
    assert gap > 2 * Z * se
    assert abs(clv.mean() - _closed_form_clv(model, wrong)) > Z * se


# --------------------------------------------------------------------------- sBG

SBG_MEAN, SBG_POLARIZATION = 0.1, 0.3
MONTHS_SBG = 180
N_SBG = 50_000
# A high discount rate makes the discounted tail beyond the run negligible for DERL.
SBG_YEARLY_DISCOUNT = 2.0


@pytest.fixture(scope="module")
def sbg_model() -> CRMModel:
    scenario = docking_scenario(
        {
            "simulation.customers": N_SBG,
            "simulation.months": MONTHS_SBG,
            "customers.churn_probability_mean": SBG_MEAN,
            "customers.churn_probability_polarization": SBG_POLARIZATION,
            "firm.discount_rate_per_year": SBG_YEARLY_DISCOUNT,
        }
    )
    return CRMModel(scenario, rng=7).run()


def _sbg_parameters() -> tuple[float, float]:
    return beta_parameters_from_mean_polarization(SBG_MEAN, SBG_POLARIZATION)


def test_sbg_cohort_survival_follows_closed_form(sbg_model: CRMModel) -> None:
    alpha, beta = _sbg_parameters()
    simulated = economics.cohort_survival(sbg_model.customers, MONTHS_SBG, cohort_month=0)
    ages = np.arange(MONTHS_SBG + 1)
    expected = np.asarray(sbg_survival(ages, alpha, beta))
    assert simulated[0] == 1.0
    se = np.sqrt(expected * (1.0 - expected) / N_SBG)
    z = (simulated[1:] - expected[1:]) / se[1:]
    worst = int(np.argmax(np.abs(z)))
    assert np.all(np.abs(z) < Z), (worst + 1, simulated[worst + 1], expected[worst + 1])


def _binomial_chi2(successes: np.ndarray, trials: np.ndarray, p: np.ndarray) -> float:
    """Sum of squared standardised binomial residuals."""
    return float(((successes - trials * p) ** 2 / (trials * p * (1.0 - p))).sum())


def test_sbg_retention_rises_with_tenure_as_closed_form(sbg_model: CRMModel) -> None:
    """Monthly retention of the cohort: fits r_t of the sBG law, not a constant rate."""
    alpha, beta = _sbg_parameters()
    series = sbg_model.monthly_series()
    at_risk = series["active_at_start"].to_numpy(float)
    retained = series["retained"].to_numpy(float)
    simulated = retained / at_risk
    # Month k (0-based) is the cohort's (k + 1)-th renewal opportunity.
    expected = np.asarray(sbg_retention_rate(series["month"].to_numpy() + 1, alpha, beta))
    # Given the survivors at the start of a month, each keeps its own churn
    # probability, drawn from the same posterior: the number retained is binomial.
    chi2_sbg = _binomial_chi2(retained, at_risk, expected)
    critical = stats.chi2.isf(CHI2_TAIL, df=len(series))
    assert chi2_sbg < critical

    # A constant retention rate (the pooled one) is rejected by the same test.
    pooled = retained.sum() / at_risk.sum()
    chi2_flat = _binomial_chi2(retained, at_risk, np.full_like(at_risk, pooled))
    assert chi2_flat > critical

    # And the sorting effect itself: retention in the last year is higher than in the first.
    first, last = slice(0, 12), slice(len(series) - 12, len(series))
    r_first = retained[first].sum() / at_risk[first].sum()
    r_last = retained[last].sum() / at_risk[last].sum()
    se_diff = math.sqrt(
        r_first * (1 - r_first) / at_risk[first].sum() + r_last * (1 - r_last) / at_risk[last].sum()
    )
    assert r_last - r_first > Z * se_diff
    assert np.all(np.diff(expected) > 0)
    assert simulated[-12:].mean() > simulated[:12].mean()


@pytest.mark.parametrize("renewals", [0, 6, 24])
def test_sbg_discounted_expected_residual_lifetime(sbg_model: CRMModel, renewals: int) -> None:
    """Customers alive after ``renewals`` renewals: discounted future renewals vs DERL.

    As in ``expected_derl``: renewal n + 1 (if made) counts 1, renewal n + 2
    counts 1 / (1 + d), and so on. In the simulation the payment in month k is
    renewal k (month 0 is the acquisition), so a customer whose first
    relationship ended in month e made renewals 1..e (lifetime L = e + 1
    payments) and one still there at the end made renewals 1..months.
    """
    alpha, beta = _sbg_parameters()
    table = sbg_model.customers
    d = sbg_model.monthly_discount_rate
    x = 1.0 / (1.0 + d)
    ended = table.first_defected_month.astype(np.int64)
    assert np.all(table.acquired_month == 0)
    assert np.all(table.times_returned == 0)  # no reacquisition: lifetimes are whole
    censored = ended < 0
    lifetime = np.where(censored, MONTHS_SBG + 1, ended + 1)  # payments made (truncated)
    alive = lifetime > renewals
    future = lifetime[alive] - 1 - renewals  # renewals made after renewal n
    derl = (1.0 - x ** future.astype(float)) / (1.0 - x)
    se = _se(derl)
    # Truncation: a customer still there at the end loses at most the renewals after
    # the run, worth x**(months - n) / (1 - x) per censored customer: negligible here.
    truncation = censored[alive].mean() * x ** (MONTHS_SBG - renewals) / (1.0 - x)
    assert truncation < 0.01 * se
    expected = expected_derl(d, alpha, beta, renewals)
    assert abs(derl.mean() - expected) < Z * se, (derl.mean(), expected, se)


def test_sbg_derl_rises_with_renewals(sbg_model: CRMModel) -> None:
    """Survivors are better customers: DERL after 24 renewals exceeds DERL at acquisition."""
    table = sbg_model.customers
    x = 1.0 / (1.0 + sbg_model.monthly_discount_rate)
    ended = table.first_defected_month.astype(np.int64)
    lifetime = np.where(ended < 0, MONTHS_SBG + 1, ended + 1)
    samples = []
    for n in (0, 24):
        future = lifetime[lifetime > n] - 1 - n
        samples.append((1.0 - x ** future.astype(float)) / (1.0 - x))
    gap = samples[1].mean() - samples[0].mean()
    assert gap > Z * math.hypot(_se(samples[0]), _se(samples[1]))


# --------------------------------------------------------------------------- BG/NBD

BG_R, BG_ALPHA, BG_A, BG_B = 0.8, 2.0, 1.5, 10.0
N_BG = 50_000
BG_AGES = (1, 6, 12, 24)


@pytest.fixture(scope="module")
def bgnbd_repeats() -> dict[int, np.ndarray]:
    """Repeat purchases of each initial customer in their first t months, for t in BG_AGES.

    With no order-value spread, unit share-of-wallet factor and price 1, each
    purchase brings exactly ``order_value_mean``, so a customer's purchases are
    ``revenue_total / order_value_mean``; one of them is the trial purchase in
    month 0 and repeat purchases start in month 1. After the steps of months
    0..t, the repeat purchases counted are those of months 1..t.
    """
    scenario = docking_scenario(
        {
            "simulation.customers": N_BG,
            "simulation.months": max(BG_AGES) + 1,
            "customers.behaviour": "non_contractual",
            "customers.purchase_rate_r": BG_R,
            "customers.purchase_rate_alpha": BG_ALPHA,
            "customers.dropout_a": BG_A,
            "customers.dropout_b": BG_B,
        }
    )
    model = CRMModel(scenario, rng=11)
    order_value = scenario.params.customers.order_value_mean
    assert np.all(model.customers.order_value == np.float32(order_value))
    repeats = {}
    for month in range(max(BG_AGES) + 1):
        model.step()
        if month in BG_AGES:
            purchases = model.customers.revenue_total / order_value
            whole = np.rint(purchases)
            assert np.allclose(purchases, whole, atol=1e-6)
            assert whole.min() >= 1  # everyone made the trial purchase
            repeats[month] = whole - 1
    return repeats


@pytest.mark.parametrize("t", BG_AGES)
def test_bgnbd_expected_repeat_purchases(bgnbd_repeats: dict[int, np.ndarray], t: int) -> None:
    sample = bgnbd_repeats[t]
    expected = bgnbd_expected_purchases(t, BG_R, BG_ALPHA, BG_A, BG_B)
    assert abs(sample.mean() - expected) < Z * _se(sample), (t, sample.mean(), expected)


def test_bgnbd_dropout_matters(bgnbd_repeats: dict[int, np.ndarray]) -> None:
    """Without dropout customers would buy r / alpha * t; BG/NBD predicts (and we see) fewer."""
    t = max(BG_AGES)
    sample = bgnbd_repeats[t]
    no_dropout = BG_R / BG_ALPHA * t
    assert no_dropout - sample.mean() > Z * _se(sample)


# --------------------------------------------------------------------------- 80/20

HOMOGENEOUS = {
    "customers.order_value_spread": 0.0,
    "customers.churn_probability_polarization": 0.0,
    "customers.share_of_wallet_polarization": 0.0,
    "customers.price_sensitivity_polarization": 0.0,
    "customers.taste_spread": 0.0,
}


def _pareto_with_se(
    values: np.ndarray, rng: np.random.Generator, resamples: int = 200
) -> tuple[float, float]:
    """Top-20% share and its bootstrap standard error."""
    share = economics.pareto_share(values, 0.2)
    boot = [economics.pareto_share(rng.choice(values, values.size), 0.2) for _ in range(resamples)]
    return share, float(np.std(boot, ddof=1))


def test_the_whale_curve_rises_above_the_total_and_comes_back_down() -> None:
    profit = np.array([-30.0, 100.0, np.nan, 50.0, -20.0, 0.0])
    curve = economics.whale_curve(profit)
    assert curve["share_of_customers"].tolist() == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    # Ranked 100, 50, 0, -20, -30 of a total of 100.
    np.testing.assert_allclose(curve["share_of_profit"], [0, 1.0, 1.5, 1.5, 1.3, 1.0])
    assert economics.pareto_share(profit[np.isfinite(profit)], 0.2) == curve.iloc[1, 1]
    assert economics.whale_curve(np.array([-1.0, 0.5]))["share_of_profit"].isna().all()
    assert economics.whale_curve(np.array([])).shape == (1, 2)


def test_the_whale_summary_reads_the_curve() -> None:
    profit = np.array([-30.0, 100.0, np.nan, 50.0, -20.0, 0.0])
    summary = economics.whale_summary(profit, top_share=0.2)
    assert summary == pytest.approx(
        {
            "top_share_of_profit": 1.0,
            "peak_share_of_profit": 1.5,
            "profitable_share": 0.4,
            "loss_maker_share": 0.4,
        }
    )
    assert all(math.isnan(v) for v in economics.whale_summary(np.array([np.nan])).values())


def test_retention_rises_with_tenure_only_when_customers_differ() -> None:
    """With a flat ladder (no rung changes anyone's churn) identical customers keep one
    yearly retention at every tenure; customers who differ in their churn propensity sort
    themselves, and the survivors' retention rises (Fader & Hardie's sBG)."""
    flat = {"ladder.churn_multiplier": [1.0] * 5, **HOMOGENEOUS}
    base = load_scenario("baseline").with_changes(flat)
    rates = {}
    for label, polarization in (("identical", 0.0), ("differ", 0.3)):
        scenario = base.with_changes({"customers.churn_probability_polarization": polarization})
        model = CRMModel(scenario, rng=5, customers=10_000).run(120)
        rates[label] = economics.yearly_retention_by_tenure(model.customers, model.month, 4)
        # Binomial standard error of each year's retention, from the customers at its start.
        start = economics.cohort_survival(model.customers, 48, end_month=120)[:48:12]
        members = int(
            ((model.customers.acquired_month >= 0) & (model.customers.acquired_month <= 72)).sum()
        )
        rates[label + " se"] = np.sqrt(rates[label] * (1 - rates[label]) / (start * members))
    rise = rates["differ"].iloc[-1] - rates["differ"].iloc[0]
    assert rise > Z * np.hypot(rates["differ se"].iloc[-1], rates["differ se"].iloc[0])
    flat_change = rates["identical"].iloc[-1] - rates["identical"].iloc[0]
    assert abs(flat_change) < Z * np.hypot(
        rates["identical se"].iloc[-1], rates["identical se"].iloc[0]
    )
    short = CRMModel("baseline", rng=1, customers=200).run(12)
    assert economics.yearly_retention_by_tenure(short.customers, 12, 4).isna().all()


@pytest.fixture(scope="module")
def pareto_runs() -> dict[str, CRMModel]:
    base = load_scenario("baseline")
    return {
        "baseline": CRMModel(base, rng=3).run(),
        "homogeneous": CRMModel(base.with_changes(HOMOGENEOUS), rng=3).run(),
    }


def test_pareto_80_20_emerges_in_baseline(pareto_runs: dict[str, CRMModel]) -> None:
    model = pareto_runs["baseline"]
    table = model.customers
    clv = economics.realised_clv(table, model.monthly_discount_rate)[table.acquired_month >= 0]
    share, se = _pareto_with_se(clv, np.random.default_rng(0))
    assert share - Z * se > 0.6
    assert model.summary()["realised_pareto_share_top20"] == pytest.approx(share)


@pytest.mark.parametrize("who", ["all customers", "initial cohort"])
def test_pareto_share_comes_from_heterogeneity(pareto_runs: dict[str, CRMModel], who: str) -> None:
    """Without spread in spend, churn, wallet share, price sensitivity and taste the
    top 20% hold less.

    Over all customers part of the concentration has other causes (customers
    acquired late have short records, acquisition costs make some values
    negative), so there the share only drops. In the initial cohort (same start,
    no acquisition cost) only the traits differ, and without them the top 20%
    no longer hold 60%.
    """
    rng = np.random.default_rng(1)
    shares = {}
    for label, model in pareto_runs.items():
        table = model.customers
        clv = economics.realised_clv(table, model.monthly_discount_rate)
        chosen = table.acquired_month >= 0 if who == "all customers" else table.acquired_month == 0
        shares[label] = _pareto_with_se(clv[chosen], rng)
    (het, het_se), (hom, hom_se) = shares["baseline"], shares["homogeneous"]
    assert het - hom > Z * math.hypot(het_se, hom_se)
    if who == "initial cohort":
        assert hom + Z * hom_se < 0.6 < het - Z * het_se
