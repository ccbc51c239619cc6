"""Checks of the closed forms in crmsim.analytic against independent computations."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import hyp2f1

from crmsim.analytic import (
    beta_parameters_from_mean_polarization,
    bgnbd_expected_purchases,
    bgnbd_outlook_if_alive,
    bgnbd_survival_if_alive,
    expected_clv_constant_retention,
    expected_derl,
    expected_residual_value_sbg,
    margin_multiple,
    sbg_churn_probability,
    sbg_retention_rate,
    sbg_survival,
)

# --------------------------------------------------------------------------- constant retention


def _brute_force_multiple(r: float, i: float, first: int, last: int) -> float:
    """Expected discounted margins P(alive at t) / (1 + i)**t for t = first..last, term by term."""
    total, alive, discount = 0.0, 1.0, 1.0
    for t in range(last + 1):
        if t >= first:
            total += alive * discount
        alive *= r
        discount /= 1.0 + i
    return total


@pytest.mark.parametrize(("r", "i"), [(0.0, 0.1), (0.5, 0.1), (0.8, 0.12), (0.95, 0.0), (0.9, 0.3)])
def test_margin_multiple_matches_long_geometric_sum(r: float, i: float) -> None:
    end = _brute_force_multiple(r, i, 1, 3000)
    start = _brute_force_multiple(r, i, 0, 3000)
    assert margin_multiple(r, i) == pytest.approx(end, rel=1e-12, abs=1e-15)
    assert margin_multiple(r, i, "end") == pytest.approx(end, rel=1e-12, abs=1e-15)
    assert margin_multiple(r, i, "start") == pytest.approx(start, rel=1e-12)
    assert expected_clv_constant_retention(40.0, r, i, "end") == pytest.approx(40.0 * end)
    assert expected_clv_constant_retention(40.0, r, i, "start") == pytest.approx(40.0 * start)


def test_margin_multiple_textbook_value() -> None:
    # Gupta & Lehmann (2003): r = 0.8, i = 0.12 gives a multiple of 2.5.
    assert margin_multiple(0.8, 0.12) == pytest.approx(2.5)
    assert margin_multiple(0.8, 0.12, "start") == pytest.approx(1.12 / 0.32)


@pytest.mark.parametrize("horizon", [0, 1, 2, 5, 17])
@pytest.mark.parametrize(("r", "i"), [(0.7, 0.1), (0.99, 0.0), (0.0, 0.05)])
def test_finite_horizon_matches_explicit_sum(horizon: int, r: float, i: float) -> None:
    m = 12.5
    start = m * sum((r / (1 + i)) ** t for t in range(0, horizon))
    end = m * sum((r / (1 + i)) ** t for t in range(1, horizon + 1))
    got_start = expected_clv_constant_retention(m, r, i, "start", horizon_periods=horizon)
    got_end = expected_clv_constant_retention(m, r, i, "end", horizon_periods=horizon)
    assert got_start == pytest.approx(start, rel=1e-12, abs=1e-12)
    assert got_end == pytest.approx(end, rel=1e-12, abs=1e-12)


def test_finite_horizon_tends_to_infinite_horizon() -> None:
    finite = expected_clv_constant_retention(10.0, 0.8, 0.1, horizon_periods=2000)
    assert finite == pytest.approx(expected_clv_constant_retention(10.0, 0.8, 0.1), rel=1e-12)


@pytest.mark.parametrize(
    ("r", "i", "timing"),
    [
        (1.2, 0.1, "end"),
        (1.0, 0.1, "end"),
        (-0.1, 0.1, "end"),
        (0.8, -0.05, "end"),
        (0.8, 0.1, "middle"),
        (float("nan"), 0.1, "end"),
    ],
)
def test_invalid_constant_retention_inputs_raise(r: float, i: float, timing: str) -> None:
    with pytest.raises(ValueError):
        margin_multiple(r, i, timing)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        expected_clv_constant_retention(1.0, r, i, timing)  # type: ignore[arg-type]


@pytest.mark.parametrize("horizon", [-1, 2.5])
def test_invalid_horizon_raises(horizon: float) -> None:
    with pytest.raises(ValueError):
        expected_clv_constant_retention(1.0, 0.8, 0.1, horizon_periods=horizon)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- polarization


@pytest.mark.parametrize("mean", [0.01, 0.2, 0.5, 0.93])
@pytest.mark.parametrize("polarization", [0.001, 0.1, 0.5, 0.97])
def test_beta_parameters_round_trip(mean: float, polarization: float) -> None:
    alpha, beta = beta_parameters_from_mean_polarization(mean, polarization)
    assert alpha > 0 and beta > 0
    dist = stats.beta(alpha, beta)
    assert dist.mean() == pytest.approx(mean, rel=1e-12)
    assert 1.0 / (alpha + beta + 1.0) == pytest.approx(polarization, rel=1e-12)
    # phi is also the intraclass correlation: Var(theta) = phi * mean * (1 - mean).
    assert dist.var() == pytest.approx(polarization * mean * (1 - mean), rel=1e-10)


@pytest.mark.parametrize(
    ("mean", "polarization"),
    [(0.5, 0.0), (0.5, 1.0), (0.5, -0.2), (0.0, 0.3), (1.0, 0.3), (-0.1, 0.3), (0.5, 1.5)],
)
def test_beta_parameters_reject_out_of_range(mean: float, polarization: float) -> None:
    with pytest.raises(ValueError):
        beta_parameters_from_mean_polarization(mean, polarization)


# --------------------------------------------------------------------------- sBG

SBG_PARAMS = [(0.668, 3.806), (1.0, 1.0), (0.3, 0.4), (5.0, 20.0)]


@pytest.mark.parametrize(("alpha", "beta"), SBG_PARAMS)
def test_sbg_survival_is_product_of_retention_rates(alpha: float, beta: float) -> None:
    t = np.arange(0, 60)
    survival = sbg_survival(t, alpha, beta)
    assert isinstance(survival, np.ndarray) and survival.shape == t.shape
    products = np.concatenate(([1.0], np.cumprod(sbg_retention_rate(t[1:], alpha, beta))))
    np.testing.assert_allclose(survival, products, rtol=1e-12)
    assert sbg_survival(0, alpha, beta) == 1.0


@pytest.mark.parametrize(("alpha", "beta"), SBG_PARAMS)
@pytest.mark.parametrize("t", [1, 2, 7, 25])
def test_sbg_survival_matches_beta_mixture_integral(alpha: float, beta: float, t: int) -> None:
    # S(t) = E[(1 - theta)^t] with theta ~ Beta(alpha, beta), integrated numerically.
    dist = stats.beta(alpha, beta)
    value, _ = integrate.quad(lambda th: (1 - th) ** t * dist.pdf(th), 0, 1, limit=200)
    assert sbg_survival(t, alpha, beta) == pytest.approx(value, rel=1e-7)


@pytest.mark.parametrize(("alpha", "beta"), SBG_PARAMS)
def test_sbg_churn_and_survival_add_to_one(alpha: float, beta: float) -> None:
    t = np.arange(1, 80)
    churn = sbg_churn_probability(t, alpha, beta)
    survival = sbg_survival(t, alpha, beta)
    np.testing.assert_allclose(np.cumsum(churn) + survival, 1.0, rtol=0, atol=1e-12)
    # P(T = t) is the probability mass between consecutive survival values.
    np.testing.assert_allclose(churn, sbg_survival(t - 1, alpha, beta) - survival, atol=1e-14)


def test_sbg_first_period_values() -> None:
    alpha, beta = 0.668, 3.806
    assert sbg_churn_probability(1, alpha, beta) == pytest.approx(alpha / (alpha + beta))
    assert sbg_retention_rate(1, alpha, beta) == pytest.approx(beta / (alpha + beta))
    rates = sbg_retention_rate(np.arange(1, 20), alpha, beta)
    assert np.all(np.diff(rates) > 0)


@pytest.mark.parametrize(
    ("func", "t"),
    [
        (sbg_survival, -1),
        (sbg_survival, 1.5),
        (sbg_churn_probability, 0),
        (sbg_retention_rate, 0),
    ],
)
def test_sbg_rejects_invalid_periods(func: Callable[..., object], t: float) -> None:
    with pytest.raises(ValueError):
        func(t, 1.0, 1.0)


@pytest.mark.parametrize(("alpha", "beta"), [(0.0, 1.0), (1.0, -1.0), (float("inf"), 1.0)])
def test_sbg_rejects_invalid_parameters(alpha: float, beta: float) -> None:
    with pytest.raises(ValueError):
        sbg_survival(3, alpha, beta)
    with pytest.raises(ValueError):
        expected_derl(0.1, alpha, beta, 0)


# --------------------------------------------------------------------------- DERL


def _derl_brute_force(d: float, alpha: float, beta: float, n: int, terms: int) -> float:
    """sum_{t=n+1}^{n+terms} S(t)/S(n) / (1+d)^(t-n-1)."""
    t = np.arange(n + 1, n + 1 + terms)
    ratio = sbg_survival(t, alpha, beta) / sbg_survival(n, alpha, beta)
    discount = np.exp(-(t - n - 1) * math.log1p(d))
    return float(np.sum(ratio * discount))


@pytest.mark.parametrize(
    ("d", "alpha", "beta", "n"),
    [
        (0.1, 0.668, 3.806, 0),
        (0.1, 0.668, 3.806, 4),
        (0.1, 0.704, 1.182, 0),
        (0.25, 1.0, 1.0, 0),
        (0.25, 1.0, 1.0, 10),
        (0.05, 0.3, 0.4, 2),
        (0.01, 2.5, 7.0, 0),
        (0.01, 0.7, 3.0, 5),
        (0.5, 10.0, 40.0, 1),
    ],
)
def test_derl_equals_discounted_future_renewals(
    d: float, alpha: float, beta: float, n: int
) -> None:
    brute = _derl_brute_force(d, alpha, beta, n, terms=20_000)
    assert expected_derl(d, alpha, beta, n) == pytest.approx(brute, rel=1e-8)


def test_derl_undiscounted_is_expected_residual_lifetime() -> None:
    alpha, beta, n = 4.0, 2.0, 2
    brute = _derl_brute_force(0.0, alpha, beta, n, terms=400_000)
    assert expected_derl(0.0, alpha, beta, n) == pytest.approx(brute, rel=1e-8)
    assert expected_derl(0.0, alpha, beta, n) == pytest.approx((beta + n) / (alpha - 1))
    assert math.isinf(expected_derl(0.0, 0.9, 2.0, 0))


def test_derl_first_payment_is_next_renewal_undiscounted() -> None:
    # With a huge discount rate only the next renewal payment counts, at full weight.
    alpha, beta, n = 0.668, 3.806, 3
    assert expected_derl(1e9, alpha, beta, n) == pytest.approx(
        sbg_retention_rate(n + 1, alpha, beta), rel=1e-8
    )


def test_derl_homogeneous_limit_matches_constant_retention() -> None:
    r, d = 0.8, 0.1
    alpha, beta = beta_parameters_from_mean_polarization(1 - r, 1e-7)
    expected = (1 + d) * margin_multiple(r, d, "end")
    assert expected_derl(d, alpha, beta, 0) == pytest.approx(expected, rel=1e-5)
    assert expected_derl(d, alpha, beta, 7) == pytest.approx(expected, rel=1e-5)


def test_derl_vectorised_and_residual_value() -> None:
    d, alpha, beta = 0.1, 0.668, 3.806
    n = np.arange(0, 12)
    derl = expected_derl(d, alpha, beta, n)
    assert isinstance(derl, np.ndarray) and derl.shape == n.shape
    for k in n:
        assert derl[k] == pytest.approx(expected_derl(d, alpha, beta, int(k)), rel=1e-14)
    # Survivors are better customers, so DERL rises with tenure.
    assert np.all(np.diff(derl) > 0)
    value = expected_residual_value_sbg(100.0, d, alpha, beta, n)
    np.testing.assert_allclose(value, 100.0 * derl, rtol=1e-14)
    with pytest.raises(ValueError):
        expected_derl(-0.1, alpha, beta, 0)
    with pytest.raises(ValueError):
        expected_derl(0.1, alpha, beta, -1)


# --------------------------------------------------------------------------- BG/NBD

BGNBD_PARAMS = [
    (0.5, 2.0, 2.5, 3.0),
    (1.3, 0.8, 1.6, 4.0),
    # CDNOW in weeks (Fader, Hardie & Lee 2005): a < 1, E[1/p] infinite, E[X(t)] finite.
    (0.243, 4.414, 0.793, 2.426),
    (0.8, 1.5, 1.0, 2.0),  # a = 1 exactly: the limit of the closed form
]


@pytest.mark.parametrize(("r", "alpha", "a", "b"), BGNBD_PARAMS)
def test_bgnbd_expected_purchases_matches_monte_carlo(
    r: float, alpha: float, a: float, b: float
) -> None:
    rng = np.random.default_rng(20050401)
    customers = 200_000
    lam = rng.gamma(shape=r, scale=1.0 / alpha, size=customers)
    p = rng.beta(a, b, size=customers)
    # Index of the repeat purchase after which the customer drops out: {1, 2, ...}.
    dropout_after = rng.geometric(p)
    for t in (0.5, 3.0, 12.0, 52.0):
        poisson_count = rng.poisson(lam * t)
        purchases = np.minimum(poisson_count, dropout_after)
        mean = purchases.mean()
        standard_error = purchases.std(ddof=1) / math.sqrt(customers)
        expected = bgnbd_expected_purchases(t, r, alpha, a, b)
        assert abs(mean - expected) < 4 * standard_error, (t, mean, expected, standard_error)


@pytest.mark.parametrize(("r", "alpha", "a", "b"), BGNBD_PARAMS)
@pytest.mark.parametrize("t", [0.1, 1.0, 7.0, 39.0, 500.0])
def test_bgnbd_expected_purchases_matches_numerical_integral(
    r: float, alpha: float, a: float, b: float, t: float
) -> None:
    # E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p; averaging over the Gamma
    # purchase rate gives (1 - (alpha / (alpha + p t))^r) / p, then integrate over p.
    dist = stats.beta(a, b)

    def integrand(p: float) -> float:
        return -math.expm1(-r * math.log1p(p * t / alpha)) / p * dist.pdf(p)

    value, _ = integrate.quad(integrand, 0, 1, limit=200, epsabs=1e-12, epsrel=1e-11)
    assert bgnbd_expected_purchases(t, r, alpha, a, b) == pytest.approx(value, rel=1e-7)


def test_bgnbd_expected_purchases_shape_and_limits() -> None:
    r, alpha, a, b = 0.5, 2.0, 2.5, 3.0
    assert bgnbd_expected_purchases(0.0, r, alpha, a, b) == 0.0
    t = np.linspace(0.0, 200.0, 401)
    values = bgnbd_expected_purchases(t, r, alpha, a, b)
    assert isinstance(values, np.ndarray) and values.shape == t.shape
    assert np.all(np.diff(values) > 0)
    # E[X(t)] -> E[1/p] = (a + b - 1) / (a - 1): the expected number of purchases ever.
    ceiling = (a + b - 1) / (a - 1)
    assert np.all(values < ceiling)
    assert bgnbd_expected_purchases(1e9, r, alpha, a, b) == pytest.approx(ceiling, rel=1e-3)


@pytest.mark.parametrize(
    ("t", "r", "alpha", "a", "b"),
    [
        (1.0, 0.5, 2.0, 0.0, 3.0),
        (1.0, 0.5, 2.0, 2.5, -1.0),
        (-1.0, 0.5, 2.0, 2.5, 3.0),
        (1.0, 0.0, 2.0, 2.5, 3.0),
        (1.0, 0.5, -2.0, 2.5, 3.0),
    ],
)
def test_bgnbd_rejects_invalid_inputs(t: float, r: float, alpha: float, a: float, b: float) -> None:
    with pytest.raises(ValueError):
        bgnbd_expected_purchases(t, r, alpha, a, b)


def test_margin_multiple_of_many_customers_matches_one_by_one() -> None:
    retention = np.array([0.0, 0.5, 0.9, 0.999], np.float32)
    together = margin_multiple(retention, 0.01)
    assert together.dtype == np.float32
    for r, value in zip(retention, together, strict=True):
        assert value == pytest.approx(margin_multiple(float(r), 0.01), rel=1e-6)
    with pytest.raises(ValueError, match="every customer"):
        margin_multiple(np.array([0.5, 1.0]), 0.01)


@pytest.mark.parametrize("bad", [[0.5, np.nan], [np.inf], [-np.inf, 0.2], [0.3, 1.0], [-0.1]])
def test_margin_multiple_refuses_an_array_with_a_retention_out_of_range(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="0 <= r < 1 for every customer"):
        margin_multiple(np.array(bad, np.float32), 0.01)


def test_margin_multiple_of_no_customers_is_empty() -> None:
    assert margin_multiple(np.zeros(0, np.float32), 0.01).size == 0


# --------------------------------------------------------------------------- BG/NBD outlook

OUTLOOK_PARAMS = {"r": 0.9, "alpha": 0.6, "a": 1.2, "b": 30.0}
HISTORIES = (np.array([0.0, 1.0, 5.0, 20.0, 100.0]), np.array([0.0, 3.0, 12.0, 24.0, 48.0]))


def test_bgnbd_outlook_next_month_is_the_closed_form() -> None:
    """Next month's purchases of a customer alive now with (x, T): eq. 7 of Fader, Hardie
    & Lee (2005) at t = 1 with the posterior's r + x, alpha + T, a and b + x."""
    repeat, age = HISTORIES
    rate = bgnbd_outlook_if_alive(repeat, age, OUTLOOK_PARAMS, 0.01, 2)["rate"]
    p = OUTLOOK_PARAMS
    for k in range(repeat.size):
        expected = bgnbd_expected_purchases(
            1.0, p["r"] + repeat[k], p["alpha"] + age[k], p["a"], p["b"] + repeat[k]
        )
        assert rate[k] == pytest.approx(expected, rel=1e-8)


def test_bgnbd_survival_is_the_gauss_hypergeometric_closed_form() -> None:
    """E[(1 + p s / A)**-R] over p ~ Beta(a, b') is 2F1(R, a; a + b'; -s / A)."""
    repeat, age = HISTORIES
    p = OUTLOOK_PARAMS
    for months in (1.0, 12.0):
        survival = bgnbd_survival_if_alive(months, repeat, age, p)
        expected = hyp2f1(
            p["r"] + repeat, p["a"], p["a"] + p["b"] + repeat, -months / (p["alpha"] + age)
        )
        np.testing.assert_allclose(survival, expected, rtol=1e-6)  # 24 nodes


def test_bgnbd_outlook_undiscounted_adds_up_to_the_purchases_of_a_lifetime() -> None:
    """With no discounting and a > 1 a customer alive now makes E[1 / p] = (a + b + x - 1)
    / (a - 1) purchases more before dropping out (the tail after 2,400 months within 1%)."""
    repeat, age = HISTORIES
    p = {**OUTLOOK_PARAMS, "a": 3.0}
    found = bgnbd_outlook_if_alive(repeat, age, p, 0.0, 2_400)["purchases"]
    np.testing.assert_allclose(found, (p["a"] + p["b"] + repeat - 1.0) / (p["a"] - 1.0), rtol=0.01)


def test_bgnbd_outlook_summed_over_240_months_is_within_half_a_percent_of_2400() -> None:
    repeat, age = HISTORIES
    short = bgnbd_outlook_if_alive(repeat, age, OUTLOOK_PARAMS, 0.008, 240)
    long = bgnbd_outlook_if_alive(repeat, age, OUTLOOK_PARAMS, 0.008, 2_400)
    for name in ("months", "purchases"):
        np.testing.assert_allclose(short[name], long[name], rtol=0.005)


CDNOW_MONTHLY = {"r": 0.243, "alpha": 4.414 * 7 / 30.4375, "a": 0.793, "b": 2.426}
"""The standard CDNOW fit (Fader, Hardie & Lee 2005; alpha in weeks), alpha in months."""


@pytest.mark.parametrize("params", [OUTLOOK_PARAMS, CDNOW_MONTHLY], ids=["retail", "cdnow"])
@pytest.mark.parametrize("monthly_rate", [0.008, 0.03])
def test_bgnbd_outlook_in_blocks_is_within_a_thousandth_of_2400_months_one_by_one(
    params: dict[str, float], monthly_rate: float
) -> None:
    """24 months one by one and the rest of 2,400 in blocks: within 0.1% of the exact
    month-by-month sum, inside the guaranteed bound, which is itself under 0.6%."""
    repeat, age = (
        grid.ravel() for grid in np.meshgrid([0.0, 1.0, 3.0, 20.0, 100.0], [0, 3, 24, 120.0])
    )
    exact = bgnbd_outlook_if_alive(repeat, age, params, monthly_rate, 2_400)
    blocks = bgnbd_outlook_if_alive(repeat, age, params, monthly_rate, 2_400, 24)
    np.testing.assert_array_equal(blocks["rate"], exact["rate"])
    assert not exact["months_error_bound"].any()
    for name in ("months", "purchases"):
        error = np.abs(blocks[name] - exact[name])
        assert np.all(error <= 1e-3 * exact[name]), name
        assert np.all(error <= blocks[f"{name}_error_bound"] * (1 + 1e-9)), name
        assert np.all(blocks[f"{name}_error_bound"] < 6e-3 * exact[name]), name


def test_bgnbd_outlook_in_blocks_is_exact_for_a_single_exponential() -> None:
    """Customers who never drop out (p ~ Beta with all its mass at 0) are alive every
    month: the discounted months alive are 1 / (1 - 1 / (1 + i)), block sums included."""
    never = {"r": 1.0, "alpha": 1.0, "a": 1e-6, "b": 1e9}
    found = bgnbd_outlook_if_alive(
        np.array([0.0, 4.0]), np.array([10.0, 30.0]), never, 0.008, 2_400, 24
    )
    np.testing.assert_allclose(found["months"], 1.0 / (1.0 - 1.0 / 1.008), rtol=1e-9)
