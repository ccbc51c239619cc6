"""sBG, BG/NBD and Gamma-Gamma: maximum likelihood fits with standard errors.

Parameters are named as in the literature. Time is in months (one renewal
opportunity per month in the contractual setting).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy.differentiate import hessian
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

from crmsim.analytic import sbg_retention_rate

MIN_CUSTOMERS = 100
"""Fewer customers than this in the records: the model keeps its prior."""
MIN_EVENTS = 10
"""Fewer events than this (churns; repeat purchases; repeat buyers): the prior."""
HOMOGENEOUS_SIZE = 1e6
"""alpha + beta of the sBG that stands for customers who all share one churn chance (the
likelihood's best is then at alpha, beta -> infinity with their ratio fixed: the
geometric model)."""


@dataclass(frozen=True)
class Fit:
    """Estimates of one model.

    Attributes:
        params: Parameter estimates by name (the prior when ``fell_back``).
        standard_errors: Their standard errors (NaN when ``fell_back``).
        customers: Customers in the records the fit used.
        fell_back: Whether the prior was used instead of estimates.
        reason: Why the prior was used; for an estimate at a limit of the model (the
            sBG's geometric limit), how it was reached; "" otherwise.
        log_likelihood: The log-likelihood at the estimates, or, when the optimiser
            failed, where it stopped (NaN when it never ran: too few records).
        reached: When the optimiser failed, the parameters where it stopped (else empty).
    """

    params: dict[str, float]
    standard_errors: dict[str, float] = field(default_factory=dict)
    customers: int = 0
    fell_back: bool = False
    reason: str = ""
    log_likelihood: float = math.nan
    reached: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form, for the run summary."""
        return {
            "params": {k: float(v) for k, v in self.params.items()},
            "standard_errors": {k: float(v) for k, v in self.standard_errors.items()},
            "customers": int(self.customers),
            "fell_back": self.fell_back,
            "reason": self.reason,
        }


class _Model:
    """Maximum likelihood on log parameters; grouped records carry a weight (count)."""

    names: ClassVar[tuple[str, ...]] = ()
    PRIOR: ClassVar[dict[str, float]] = {}

    def __init__(self) -> None:
        self.fit_result = Fit(dict(self.PRIOR), fell_back=True, reason="not fitted yet")

    @property
    def params(self) -> dict[str, float]:
        """The current estimates (or the prior)."""
        return self.fit_result.params

    def _prior(
        self,
        customers: int,
        reason: str,
        log_likelihood: float = math.nan,
        reached: dict[str, float] | None = None,
    ) -> Fit:
        self.fit_result = Fit(
            dict(self.PRIOR),
            {k: math.nan for k in self.names},
            customers,
            fell_back=True,
            reason=reason,
            log_likelihood=log_likelihood,
            reached=reached or {},
        )
        return self.fit_result

    def _too_few(self, customers: int, events: int, what: str) -> Fit | None:
        """The prior, saying why, when the records hold too few customers or events."""
        if customers < MIN_CUSTOMERS:
            return self._prior(
                customers,
                f"{customers} customers in the records (fewer than {MIN_CUSTOMERS})",
            )
        if events < MIN_EVENTS:
            return self._prior(customers, f"{events} {what} (fewer than {MIN_EVENTS})")
        return None

    def _maximise(
        self,
        negative_ll: Callable[[np.ndarray], float],
        customers: int,
        gradient: Callable[[np.ndarray], np.ndarray] | None = None,
        start_at: dict[str, float] | None = None,
    ) -> Fit:
        """Maximum likelihood from the prior, or from ``start_at`` (the last fit, when the
        records have only grown: fewer steps to the same maximum); ``gradient`` (of
        ``negative_ll`` in the parameters), when a model has one, saves most of the
        likelihood's evaluations."""
        start = np.log([(start_at or self.PRIOR)[k] for k in self.names])

        def objective(log_params: np.ndarray) -> float:
            value = negative_ll(np.exp(log_params))
            return value if np.isfinite(value) else 1e300

        jac = None
        if gradient is not None:

            def jac(log_params: np.ndarray) -> np.ndarray:
                params = np.exp(log_params)
                slope = gradient(params) * params
                return slope if np.all(np.isfinite(slope)) else np.zeros_like(slope)

        # Degenerate records (everyone leaves at once, nobody differs) send the search to
        # the edges, where the arithmetic overflows: those fits are refused below.
        with np.errstate(all="ignore"):
            if jac is None:
                start = minimize(objective, start, method="L-BFGS-B").x
            # (scipy's L-BFGS-B costs milliseconds a step whatever the size; with an
            # exact gradient BFGS alone gets there.)
            result = minimize(objective, start, jac=jac, method="BFGS")
            stopped = dict(zip(self.names, map(float, np.exp(result.x)), strict=True))
            if not np.all(np.isfinite(result.x)) or np.any(np.abs(result.x) > 30):
                return self._prior(
                    customers, "the likelihood has no interior maximum", -result.fun, stopped
                )
            # Standard errors: inverse Hessian of the negative log-likelihood in log
            # space, then the delta method (se(theta) = theta * se(log theta)).
            if jac is None:
                h = hessian(lambda x: np.apply_along_axis(objective, 0, x), result.x).ddf
            else:  # central differences of the exact gradient
                step = 1e-5
                h = np.column_stack(
                    [(jac(result.x + e) - jac(result.x - e)) / (2 * step)
                     for e in step * np.eye(result.x.size)]
                )  # fmt: skip
                h = (h + h.T) / 2
            try:
                cov = np.linalg.inv(h)
                se_log = np.sqrt(np.diag(cov))
            except np.linalg.LinAlgError:
                se_log = np.full(len(self.names), np.nan)
        if jac is not None and not np.all(np.isfinite(se_log)):
            return self._prior(
                customers,
                "the likelihood has no interior maximum (it is flat at its best)",
                -result.fun,
                stopped,
            )
        values = np.exp(result.x)
        self.fit_result = Fit(
            dict(zip(self.names, map(float, values), strict=True)),
            dict(zip(self.names, map(float, values * se_log), strict=True)),
            customers,
            log_likelihood=-float(result.fun),
        )
        return self.fit_result


class ShiftedBetaGeometric(_Model):
    """Contractual retention: churn chance theta ~ Beta(alpha, beta), constant per customer.

    Prior (used when the records are too few): alpha = 1, beta = 24, a mean monthly
    churn of 4% (a retention of 96% a month in the first month, rising with tenure).
    """

    names: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    PRIOR: ClassVar[dict[str, float]] = {"alpha": 1.0, "beta": 24.0}

    def fit(
        self,
        tenure: np.ndarray,
        churned: np.ndarray,
        entry_tenure: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ) -> Fit:
        """Fit on relationships: months survived, whether they ended, tenure when first seen.

        Args:
            tenure: Renewals made (months survived) in each relationship.
            churned: Whether the relationship ended by churn at the next renewal
                (False: still running, or ended for a reason outside the model such as
                being fired: right-censored).
            entry_tenure: Renewals already made when the firm's records began (left
                truncation; None = all seen from the start).
            weights: Relationships each row stands for (records already grouped; None = 1).
        """
        tenure = np.asarray(tenure, np.int64)
        churned = np.asarray(churned, bool)
        entry = np.zeros_like(tenure) if entry_tenure is None else np.asarray(entry_tenure)
        weight = np.ones(tenure.size, np.int64) if weights is None else np.asarray(weights)
        n = int(weight.sum())
        if (prior := self._too_few(n, int(weight[churned].sum()), "churns seen")) is not None:
            return prior
        rows, where = np.unique(
            np.column_stack([tenure, churned, entry]), axis=0, return_inverse=True
        )
        counts = np.bincount(where.ravel(), weights=weight, minlength=rows.shape[0])
        t, dead, e = rows[:, 0].astype(float), rows[:, 1].astype(bool), rows[:, 2].astype(float)

        def negative_ll(p: np.ndarray) -> float:
            a, b = p
            base = betaln(a, b)
            ll = np.where(dead, betaln(a + 1.0, b + t), betaln(a, b + t)) - base
            ll -= betaln(a, b + e) - base
            return -float((counts * ll).sum())

        def gradient(p: np.ndarray) -> np.ndarray:
            # d betaln(x, y) / dx = psi(x) - psi(x + y), and likewise for y.
            a, b = p
            a_seen = np.where(dead, a + 1.0, a)
            whole = digamma(a + b + t + dead)
            d_a = digamma(a_seen) - whole - digamma(a) + digamma(a + b + e)
            d_b = digamma(b + t) - whole - digamma(b + e) + digamma(a + b + e)
            return -np.array([(counts * d_a).sum(), (counts * d_b).sum()])

        fit = self._maximise(negative_ll, n, gradient)
        if fit.fell_back and fit.reason.startswith("the likelihood has no interior maximum"):
            return self._homogeneous(negative_ll, counts, t, dead, e, n) or fit
        return fit

    def _homogeneous(
        self,
        negative_ll: Callable[[np.ndarray], float],
        counts: np.ndarray,
        tenure: np.ndarray,
        dead: np.ndarray,
        entry: np.ndarray,
        customers: int,
    ) -> Fit | None:
        """The geometric limit, when the records show no spread in churn at all.

        With everyone sharing one churn chance theta the likelihood keeps rising as
        alpha and beta grow with alpha / (alpha + beta) = theta: its best is the
        geometric model, churns over renewal opportunities. That limit is kept (as an
        sBG of size ``HOMOGENEOUS_SIZE``) when the likelihood does rise along it;
        otherwise None (the records are degenerate in some other way).
        """
        churns = float((counts * dead).sum())
        chances = float((counts * (tenure - entry + dead)).sum())
        theta = churns / chances if chances > 0 else math.nan
        if not 0.0 < theta < 1.0:
            return None
        sizes = HOMOGENEOUS_SIZE / np.array([1e4, 1e3, 1e2, 1e1, 1.0])
        path = [negative_ll(np.array([theta * k, (1.0 - theta) * k])) for k in sizes]
        if not np.all(np.isfinite(path)) or np.any(np.diff(path) > 1e-6 * abs(path[0])):
            return None
        se = math.sqrt(theta * (1.0 - theta) / chances)
        self.fit_result = Fit(
            {"alpha": theta * HOMOGENEOUS_SIZE, "beta": (1.0 - theta) * HOMOGENEOUS_SIZE},
            {"alpha": se * HOMOGENEOUS_SIZE, "beta": se * HOMOGENEOUS_SIZE},
            customers,
            reason=(
                f"no spread in churn: one churn chance of {theta:.4f} a month (SE {se:.4f}) "
                "for everyone, the sBG's geometric limit"
            ),
        )
        return self.fit_result

    def expected_retention(self, tenure: np.ndarray) -> np.ndarray:
        """Chance that a customer who has renewed ``tenure`` times renews once more."""
        p = self.params
        return np.asarray(sbg_retention_rate(np.asarray(tenure) + 1, p["alpha"], p["beta"]))

    def probability_alive(self, tenure: np.ndarray, months_ahead: int = 1) -> np.ndarray:
        """Chance that a customer at ``tenure`` is still a customer ``months_ahead`` later."""
        p = self.params
        t = np.asarray(tenure, float)
        return np.exp(
            betaln(p["alpha"], p["beta"] + t + months_ahead) - betaln(p["alpha"], p["beta"] + t)
        )

    def expected_lifetime(self, tenure: np.ndarray) -> np.ndarray:
        """Expected further renewals of a customer at ``tenure`` (inf when alpha <= 1)."""
        p = self.params
        if p["alpha"] <= 1.0:
            return np.full(np.shape(tenure), np.inf)
        return (p["beta"] + np.asarray(tenure, float)) / (p["alpha"] - 1.0)


class BetaGeometricNBD(_Model):
    """Non-contractual buying: Poisson rate lambda ~ Gamma(r, alpha) while alive, dropout
    after each repeat purchase with p ~ Beta(a, b).

    Prior: r = 1, alpha = 1 (one purchase a month on average), a = 1, b = 20.
    """

    names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    PRIOR: ClassVar[dict[str, float]] = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 20.0}

    def fit(
        self,
        frequency: np.ndarray,
        recency: np.ndarray,
        age: np.ndarray,
        start_at: dict[str, float] | None = None,
    ) -> Fit:
        """Fit on each customer's repeat purchases ``x``, time of the last ``t_x`` and age ``T``.

        Args:
            frequency: Repeat purchases x.
            recency: Time of the last purchase since the first, t_x (months).
            age: Time since the first purchase, T (months).
            start_at: Parameters to start the search from (None: the prior).
        """
        x = np.asarray(frequency, float)
        n = x.size
        if (prior := self._too_few(n, int(x.sum()), "repeat purchases")) is not None:
            return prior
        rows, counts = np.unique(
            np.column_stack([x, recency, age]).astype(float), axis=0, return_counts=True
        )
        x, tx, T = rows.T

        def negative_ll(p: np.ndarray) -> float:
            r, alpha, a, b = p
            common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            first = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
            second = np.where(
                x > 0,
                betaln(a + 1.0, b + np.maximum(x, 1.0) - 1.0)
                - betaln(a, b)
                - (r + x) * np.log(alpha + tx),
                -np.inf,
            )
            return -float((counts * (common + np.logaddexp(first, second))).sum())

        repeat = x > 0
        x_less_1 = np.maximum(x, 1.0) - 1.0

        def gradient(p: np.ndarray) -> np.ndarray:
            # ll = common + log(e**first + e**second): each term's slope, the two weighted
            # by their shares of the sum (d betaln(u, v) / du = psi(u) - psi(u + v)).
            r, alpha, a, b = p
            first = betaln(a, b + x) - (r + x) * np.log(alpha + T)
            second = np.where(
                repeat, betaln(a + 1.0, b + x_less_1) - (r + x) * np.log(alpha + tx), -np.inf
            )
            share = np.exp(second - np.logaddexp(first, second))  # of the second term
            d_r = (
                digamma(r + x)
                - digamma(r)
                + np.log(alpha)
                - (1.0 - share) * np.log(alpha + T)
                - share * np.log(alpha + tx)
            )
            d_alpha = (
                r / alpha - (1.0 - share) * (r + x) / (alpha + T) - share * (r + x) / (alpha + tx)
            )
            whole = digamma(a + b + x)
            base_a = digamma(a + b) - digamma(a)
            d_a = base_a + (1.0 - share) * (digamma(a) - whole) + share * (digamma(a + 1.0) - whole)
            base_b = digamma(a + b) - digamma(b)
            d_b = (
                base_b
                + (1.0 - share) * (digamma(b + x) - whole)
                + share * (digamma(b + x_less_1) - whole)
            )
            return -np.array([(counts * d).sum() for d in (d_r, d_alpha, d_a, d_b)])

        return self._maximise(negative_ll, n, gradient, start_at)

    def probability_alive(
        self, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
    ) -> np.ndarray:
        """P(alive | x, t_x, T) (Fader, Hardie & Lee 2005, eq. 12)."""
        p = self.params
        x = np.asarray(frequency, float)
        log_odds = (
            np.log(p["a"])
            - np.log(p["b"] + np.maximum(x, 1.0) - 1.0)
            + (p["r"] + x)
            * (
                np.log(p["alpha"] + np.asarray(age, float))
                - np.log(p["alpha"] + np.asarray(recency, float))
            )
        )
        return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_odds, 700.0))), 1.0)

    def purchase_rate_if_alive(self, frequency: np.ndarray, age: np.ndarray) -> np.ndarray:
        """Posterior mean purchases per month of a customer alive now: (r + x) / (alpha + T)."""
        p = self.params
        return (p["r"] + np.asarray(frequency, float)) / (p["alpha"] + np.asarray(age, float))

    def dropout_if_alive(self, frequency: np.ndarray) -> np.ndarray:
        """Posterior mean dropout chance per purchase of a customer alive now: a / (a + b + x)."""
        p = self.params
        return p["a"] / (p["a"] + p["b"] + np.asarray(frequency, float))

    def conditional_expected_purchases(
        self,
        horizon: float | np.ndarray,
        frequency: np.ndarray,
        recency: np.ndarray,
        age: np.ndarray,
    ) -> np.ndarray:
        """Expected repeat purchases in the next ``horizon`` of a customer with history
        ``(x, t_x, T)`` (Fader, Hardie & Lee 2005, eq. 10); times in the fit's unit."""
        p = self.params
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        x = np.asarray(frequency, float)
        T = np.asarray(age, float)
        t = np.asarray(horizon, float)
        z = t / (alpha + T + t)
        shrink = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
        lead = (a + b + x - 1.0) / (a - 1.0)
        expected = lead * (1.0 - shrink * hyp2f1(r + x, b + x, a + b + x - 1.0, z))
        return expected * self.probability_alive(frequency, recency, age)

    def expected_purchases(self, months: float | np.ndarray) -> np.ndarray:
        """Expected repeat purchases of a new customer in their first ``months`` (eq. 7)."""
        from crmsim.analytic import bgnbd_expected_purchases

        p = self.params
        return np.asarray(bgnbd_expected_purchases(months, p["r"], p["alpha"], p["a"], p["b"]))


class GammaGamma(_Model):
    """Spend per order: Gamma(p, nu) around each customer's mean, nu ~ Gamma(q, gamma).

    Prior: none that is free of the currency; when it falls back, the firm values each
    customer at their own last order value (``fell_back`` says so).
    """

    names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")
    PRIOR: ClassVar[dict[str, float]] = {"p": 6.0, "q": 4.0, "gamma": 15.0}

    def fit(
        self,
        frequency: np.ndarray,
        mean_order_value: np.ndarray,
        start_at: dict[str, float] | None = None,
    ) -> Fit:
        """Fit on repeat buyers: repeat orders x (> 0) and their mean value m_x (> 0),
        searching from ``start_at`` (None: the prior, at the scale of the data)."""
        x = np.asarray(frequency, float)
        m = np.asarray(mean_order_value, float)
        keep = (x > 0) & (m > 0)
        x, m = x[keep], m[keep]
        n = x.size
        if n < MIN_CUSTOMERS:
            return self._prior(n, f"{n} repeat buyers (fewer than {MIN_CUSTOMERS})")
        scale = float(np.mean(m))
        start = dict(self.PRIOR)
        start["gamma"] = scale * (start["q"] - 1.0) / start["p"]
        self.PRIOR = start  # this instance starts from the scale of its data

        def negative_ll(par: np.ndarray) -> float:
            p, q, g = par
            px = p * x
            ll = (
                gammaln(px + q)
                - gammaln(px)
                - gammaln(q)
                + q * np.log(g)
                + (px - 1.0) * np.log(m)
                + px * np.log(x)
                - (px + q) * np.log(g + m * x)
            )
            return -float(ll.sum())

        log_mx = np.log(m) + np.log(x)

        def gradient(par: np.ndarray) -> np.ndarray:
            p, q, g = par
            px = p * x
            whole = digamma(px + q)
            log_spent = np.log(g + m * x)
            d_p = x * (whole - digamma(px) + log_mx - log_spent)
            d_q = whole - digamma(q) + np.log(g) - log_spent
            d_g = q / g - (px + q) / (g + m * x)
            return -np.array([d_p.sum(), d_q.sum(), d_g.sum()])

        return self._maximise(negative_ll, n, gradient, start_at)

    def expected_order_value(
        self, frequency: np.ndarray, mean_order_value: np.ndarray
    ) -> np.ndarray:
        """E[spend per order | x, m_x] = p (gamma + x m_x) / (p x + q - 1)."""
        par = self.params
        x = np.asarray(frequency, float)
        m = np.asarray(mean_order_value, float)
        return par["p"] * (par["gamma"] + x * m) / (par["p"] * x + par["q"] - 1.0)
