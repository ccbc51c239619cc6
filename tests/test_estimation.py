"""The firm's view: the customer-base models recover the parameters they are fitted on."""

from __future__ import annotations

import numpy as np
import pytest

from crmsim.estimation import MIN_CUSTOMERS, BetaGeometricNBD, GammaGamma, ShiftedBetaGeometric


def _within_4_se(fit, truth):
    # Maximum likelihood is asymptotically normal: each estimate lies within 4 of its
    # standard errors (from the inverse Hessian) of the truth but for 1 in 15,000 fits.
    for name, value in truth.items():
        se = fit.standard_errors[name]
        assert np.isfinite(se) and se > 0, name
        assert abs(fit.params[name] - value) < 4 * se, (name, fit.params[name], value, se)


def test_sbg_recovers_alpha_beta_with_censoring_and_truncation():
    rng = np.random.default_rng(7)
    n = 20_000
    theta = rng.beta(0.8, 8.0, n)
    life = rng.geometric(theta) - 1  # renewals made before churning
    seen_until = rng.integers(1, 60, n)
    entry = np.where(rng.random(n) < 0.3, rng.integers(0, 10, n), 0)
    seen = life >= entry  # left truncation: the firm sees only those still there
    fit = ShiftedBetaGeometric().fit(
        np.minimum(life, seen_until + entry)[seen], (life < seen_until + entry)[seen], entry[seen]
    )
    assert not fit.fell_back
    _within_4_se(fit, {"alpha": 0.8, "beta": 8.0})


def test_bgnbd_recovers_r_alpha_a_b():
    rng = np.random.default_rng(3)
    n = 4000
    lam, p = rng.gamma(0.9, 1 / 0.6, n), rng.beta(1.2, 10.0, n)
    age = rng.uniform(6, 40, n)
    x, tx = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > age[i]:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p[i]:
                break
    fit = BetaGeometricNBD().fit(x, tx, age)
    assert not fit.fell_back
    _within_4_se(fit, {"r": 0.9, "alpha": 0.6, "a": 1.2, "b": 10.0})
    alive = BetaGeometricNBD().probability_alive
    assert alive is not None


def test_gamma_gamma_recovers_p_q_gamma():
    rng = np.random.default_rng(5)
    n = 5000
    nu = rng.gamma(4.0, 1 / 20.0, n)  # q = 4, gamma = 20
    x = rng.integers(1, 12, n)
    spend = np.array([rng.gamma(6.0, 1 / nu[i], x[i]).mean() for i in range(n)])  # p = 6
    model = GammaGamma()
    fit = model.fit(x, spend)
    assert not fit.fell_back
    _within_4_se(fit, {"p": 6.0, "q": 4.0, "gamma": 20.0})
    # Shrinkage: a single order is pulled towards the population mean p gamma / (q - 1).
    assert model.expected_order_value(np.array([1]), np.array([1000.0]))[0] < 1000.0


@pytest.mark.parametrize("n", [0, MIN_CUSTOMERS - 1])
def test_too_few_customers_fall_back_to_the_prior_and_say_why(n):
    model = ShiftedBetaGeometric()
    fit = model.fit(np.ones(n, int), np.ones(n, bool))
    assert fit.fell_back and "fewer than" in fit.reason
    assert fit.params == ShiftedBetaGeometric.PRIOR
    no_purchases = BetaGeometricNBD().fit(np.zeros(500), np.zeros(500), np.full(500, 3.0))
    assert no_purchases.fell_back and "repeat purchases" in no_purchases.reason


def test_sbg_on_customers_who_all_share_one_churn_chance_is_the_geometric_limit() -> None:
    """No spread in churn: the likelihood's best lies at alpha, beta -> infinity; the fit
    keeps that limit (churns over renewal opportunities), not the prior."""
    rng = np.random.default_rng(11)
    theta = 0.1
    lifetimes = rng.geometric(theta, size=20_000) - 1  # renewals before churning
    horizon = 24
    tenure = np.minimum(lifetimes, horizon)
    churned = lifetimes < horizon
    model = ShiftedBetaGeometric()
    fit = model.fit(tenure, churned)
    assert not fit.fell_back
    assert "no spread in churn" in fit.reason
    mean = fit.params["alpha"] / (fit.params["alpha"] + fit.params["beta"])
    se = fit.standard_errors["alpha"] / (fit.params["alpha"] + fit.params["beta"])
    assert abs(mean - theta) < 4 * se
    assert model.expected_retention(np.array([0, 20])) == pytest.approx(1 - mean, rel=1e-4)


def test_degenerate_records_fall_back_or_fit_without_raising() -> None:
    """Records that push the search to the edges of the parameters (a rate scale that
    underflows to 0, spend with no spread within customers) give a fit or the prior,
    never an error."""
    n = 500
    once = BetaGeometricNBD().fit(np.r_[np.zeros(n - 20), np.full(20, 40.0)],
                                  np.r_[np.zeros(n - 20), np.full(20, 0.5)],
                                  np.full(n, 1.0))  # fmt: skip
    assert np.all(np.isfinite(list(once.params.values())))
    same = GammaGamma().fit(np.full(n, 3.0), np.full(n, 25.0))
    assert np.all(np.isfinite(list(same.params.values())))
