"""The firm's view: what it estimates from its records against the truth it cannot see.

Tolerances are 4 Monte Carlo standard errors computed from the simulated
sample (and, for estimated values, the standard errors of the fit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import docking_scenario

from crmsim import CRMModel, load_scenario
from crmsim.analytic import beta_parameters_from_mean_polarization, expected_derl, margin_multiple
from crmsim.cli import main
from crmsim.estimation import ShiftedBetaGeometric
from crmsim.vocabulary import ACTIVE

Z = 4.0


# --------------------------------------------------------------------------- recovery

RECOVERY_MEAN, RECOVERY_POLARIZATION = 0.1, 0.3


def test_the_firm_recovers_the_true_beta_of_churn_from_its_records() -> None:
    """Churn is pure sBG (Beta-distributed own churn, nothing else): the firm's fit of its
    records after three years is within 4 SE of the true Beta parameters."""
    scenario = docking_scenario(
        {
            "simulation.customers": 20_000,
            "customers.churn_probability_mean": RECOVERY_MEAN,
            "customers.churn_probability_polarization": RECOVERY_POLARIZATION,
        }
    )
    model = CRMModel(scenario, rng=11).run(36)
    fit = model.summary()["firm_knowledge"]
    assert fit["knowledge"] == "estimated" and not fit["fell_back"]
    # No strategy asked for the firm's view: the records of the last refit date (the end
    # of month 35) were fitted once, when the summary asked.
    assert fit["fits"] == 1 and fit["fits_on_prior"] == 0
    alpha, beta = beta_parameters_from_mean_polarization(RECOVERY_MEAN, RECOVERY_POLARIZATION)
    for name, truth in (("alpha", alpha), ("beta", beta)):
        estimate, se = fit["params"][name], fit["standard_errors"][name]
        assert abs(estimate - truth) < Z * se, (name, estimate, truth, se)


# --------------------------------------------------------------------------- calibration

HORIZON = 120
CALIBRATED_AT = 24


def _calibration_run(knowledge: str, timing: str) -> tuple[CRMModel, np.ndarray, np.ndarray]:
    """A brand-new base whose churn is pure sBG and whose margins differ, two years on
    (the firm has refitted on its records at the end of month 23); returns the model,
    the active rows and their discounted value so far.

    (A warm start would not do here: the people it brings in to replace leavers come
    back from the market, where those quick to leave gather, so its later cohorts are
    not drawn from the same Beta as its first.)"""
    scenario = docking_scenario(
        {
            "simulation.customers": 20_000,
            "simulation.months": HORIZON,
            "customers.order_value_spread": 0.5,
            "customers.churn_probability_mean": 0.1,
            "customers.churn_probability_polarization": 0.1,
            "firm.margin_timing": timing,
            "firm.knowledge": knowledge,
        }
    )
    model = CRMModel(scenario, rng=23).run(CALIBRATED_AT)
    rows = np.flatnonzero(model.customers.stage == ACTIVE)
    return model, rows, model.customers.value_at_start[rows].copy()


def _realised_from_now(
    model: CRMModel, rows: np.ndarray, value_then: np.ndarray, timing: str
) -> np.ndarray:
    """Discounted profit each of ``rows`` brings from now on: HORIZON months run, and
    those still there after it at their true value (churn is their own constant theta)."""
    rate = model.monthly_discount_rate
    now = (1.0 + rate) ** model.month  # the books discount to month 0
    model.run(HORIZON)
    table = model.customers
    value = (table.value_at_start[rows] - value_then) * now
    alive = table.stage[rows] == ACTIVE
    still = rows[alive]
    retention = np.minimum(1.0 - table.churn_probability[still].astype(np.float64), 1 - 1e-12)
    rest = model.valuation.expected_margin_per_month(still) * margin_multiple(
        retention, rate, timing
    )
    value[alive] += rest * (1.0 + rate) ** -HORIZON
    return value


def _decile_gaps(
    estimated: np.ndarray, realised: np.ndarray, estimate_se: np.ndarray | None = None
) -> np.ndarray:
    """(mean realised - mean estimated) / combined SE, by decile of the estimate."""
    order = np.argsort(estimated, kind="stable")
    gaps = []
    for k, part in enumerate(np.array_split(order, 10)):
        se = realised[part].std(ddof=1) / np.sqrt(part.size)
        if estimate_se is not None:
            se = np.hypot(se, estimate_se[k])
        gaps.append((realised[part].mean() - estimated[part].mean()) / se)
    return np.array(gaps)


def _fit_se_by_decile(model: CRMModel, rows: np.ndarray, clv: np.ndarray) -> np.ndarray:
    """How far each decile's mean estimate could move within the fit's standard errors
    (both parameters moved one SE the worse way, a bound that ignores their correlation)."""
    fit = model.knowledge.retention_model.fit_result
    tenure = model.customers.tenure_months[rows]
    margin = model.valuation.expected_margin_per_month(rows).astype(np.float64)
    rate = model.monthly_discount_rate

    def clv_at(alpha: float, beta: float) -> np.ndarray:
        derl = np.asarray(expected_derl(rate, alpha, beta, tenure))
        after_this_month = derl / (1.0 + rate)
        multiple = after_this_month + (model.knowledge.timing == "start")
        return margin * multiple

    a, b = fit.params["alpha"], fit.params["beta"]
    se_a, se_b = fit.standard_errors["alpha"], fit.standard_errors["beta"]
    order = np.argsort(clv, kind="stable")
    moved = np.abs(clv_at(a + se_a, b) - clv_at(a, b)) + np.abs(clv_at(a, b + se_b) - clv_at(a, b))
    return np.array([moved[part].mean() for part in np.array_split(order, 10)])


@pytest.mark.parametrize("timing", ["start", "end"])
def test_expected_clv_from_estimates_is_calibrated_by_decile(timing: str) -> None:
    """Customers sorted into deciles of the firm's estimated CLV at month 24 go on to bring,
    decile by decile, what the firm expected (within 4 combined SE); a margin multiple
    at the sBG's next-month retention, blind to the sorting still to come, does not."""
    model, rows, value_then = _calibration_run("estimated", timing)
    fit = model.summary()["firm_knowledge"]
    assert not fit["fell_back"], fit
    estimated = model.firm_valuation.expected_clv(rows).astype(np.float64)
    fit_se = _fit_se_by_decile(model, rows, estimated)
    constant = model.valuation.expected_margin_per_month(rows) * margin_multiple(
        model.firm_valuation.expected_retention(rows), model.monthly_discount_rate, timing
    )
    realised = _realised_from_now(model, rows, value_then, timing)
    gaps = _decile_gaps(estimated, realised, fit_se)
    assert np.all(np.abs(gaps) < Z), gaps
    wrong = _decile_gaps(constant.astype(np.float64), realised)
    assert np.any(np.abs(wrong) > Z), wrong


@pytest.mark.parametrize("timing", ["start", "end"])
def test_the_oracles_expected_clv_is_calibrated_by_decile(timing: str) -> None:
    model, rows, value_then = _calibration_run("oracle", timing)
    estimated = model.firm_valuation.expected_clv(rows).astype(np.float64)
    realised = _realised_from_now(model, rows, value_then, timing)
    gaps = _decile_gaps(estimated, realised)
    assert np.all(np.abs(gaps) < Z), gaps


# --------------------------------------------------------------------------- views


def test_the_views_answer_for_the_same_customers() -> None:
    model = CRMModel(load_scenario("baseline"), rng=5, customers=3_000).run(13)
    rows = np.flatnonzero(model.customers.stage == ACTIVE)
    knowledge = model.knowledge
    tenure = model.customers.tenure_months[rows]
    sbg = knowledge.retention_model
    np.testing.assert_allclose(
        model.firm_valuation.expected_retention(rows), sbg.expected_retention(tenure)
    )
    np.testing.assert_allclose(knowledge.probability_alive(rows), 1.0)
    np.testing.assert_allclose(
        knowledge.probability_alive(rows, 3), sbg.probability_alive(tenure, 3)
    )
    p = sbg.params
    derl = expected_derl(model.monthly_discount_rate, p["alpha"], p["beta"], tenure)
    np.testing.assert_allclose(knowledge.expected_residual_lifetime(rows), derl, rtol=1e-12)
    # Margins at month start: this month's is certain and due now; DERL counts the next
    # one undiscounted, a month on.
    rate = model.monthly_discount_rate
    np.testing.assert_allclose(
        model.firm_valuation.expected_clv(rows),
        model.expected_margin_per_month(rows) * (1.0 + derl / (1.0 + rate)),
        rtol=1e-5,
    )
    # Asked after the refit at the end of month 11; the month-0 records were never needed.
    assert model.summary()["firm_knowledge"]["fits"] == 1


def test_a_run_longer_than_planned_keeps_its_records() -> None:
    scenario = docking_scenario({"customers.churn_probability_polarization": 0.3})
    model = CRMModel(scenario, rng=2).run(40)  # the scenario plans 24 months
    rows = np.flatnonzero(model.customers.stage == ACTIVE)
    assert np.all(np.isfinite(model.firm_valuation.expected_clv(rows)))


# --------------------------------------------------------------------------- fallback


def test_a_market_too_small_to_estimate_uses_the_prior_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model = CRMModel(load_scenario("baseline"), rng=3, customers=50).run(24)
    fit = model.summary()["firm_knowledge"]
    assert fit["fell_back"] and fit["fits_on_prior"] == fit["fits"] == 1
    assert fit["params"] == ShiftedBetaGeometric.PRIOR
    assert "customers in the records (fewer than 100)" in fit["reason"]
    assert np.isfinite(model.summary()["customer_equity"])
    out = tmp_path / "small"
    assert main(["run", "baseline", "--customers", "50", "--months", "12", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "the firm valued its customers with its prior" in printed
    assert "fewer than 100" in printed


def test_a_firm_with_enough_records_prints_no_prior_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "run"
    args = ["run", "baseline", "--customers", "2000", "--months", "12", "--out", str(out)]
    assert main(args) == 0
    assert "prior" not in capsys.readouterr().out


def test_non_contractual_customers_are_valued_from_purchase_records_and_the_summary_says_so():
    """A retailer estimates too (BG/NBD and Gamma-Gamma: tests/test_firm_view_retail.py);
    only ``firm.knowledge: oracle`` reads the truth, and says why."""
    scenario = load_scenario("retail_non_contractual")
    model = CRMModel(scenario, rng=3, customers=1_000).run(3)
    fit = model.summary()["firm_knowledge"]
    assert fit["knowledge"] == "estimated" and fit["model"] == "bg_nbd_gamma_gamma"
    oracle = CRMModel(scenario.with_changes({"firm.knowledge": "oracle"}), rng=3, customers=1_000)
    fit = oracle.run(3).summary()["firm_knowledge"]
    assert fit == {"knowledge": "oracle", "reason": "firm.knowledge is oracle"}


def test_the_lab_measures_by_the_truth_and_the_firm_decides_by_its_view() -> None:
    """Customer equity and lifetime CLV are the lab's, read from the truth whatever the
    firm knows; the firm's own reckoning is kept beside them, and its strategies see it."""
    base = load_scenario("baseline").with_changes({"simulation.customers": 2_000})
    estimated = CRMModel(base, rng=4).run(24)
    oracle = CRMModel(base.with_changes({"firm.knowledge": "oracle"}), rng=4).run(24)
    mine, truth = estimated.summary(), oracle.summary()
    # With no strategy that ranks customers the two runs are the same run.
    for name in ("customer_equity", "mean_lifetime_clv", "value_of_customer_base"):
        assert mine[name] == truth[name], name
    assert truth["firm_customer_equity"] == truth["customer_equity"]
    rows = np.flatnonzero(estimated.customers.stage == ACTIVE)
    assert mine["firm_customer_equity"] == pytest.approx(
        estimated.firm_valuation.customer_equity(rows), rel=1e-12
    )
    assert mine["firm_customer_equity"] != mine["customer_equity"]
    view = estimated.firm.views[0] if estimated.firm.views else None
    if view is None:  # the baseline runs no strategy: ask through a view of one
        from crmsim.strategies.view import MarketView

        view = MarketView(estimated, None, "probe")
    np.testing.assert_array_equal(
        view.expected_clv(rows), estimated.firm_valuation.expected_clv(rows)
    )


def test_the_firm_fits_its_records_when_it_needs_its_view() -> None:
    """Records are taken at every refit date; a strategy that ranks customers has them
    fitted when it asks, so its decisions are those of eager fits, at a fit per date used."""
    scenario = load_scenario("fire_marginal_customers").with_changes(
        {
            "simulation.customers": 3_000,
            "firm.refit_every_months": 6,
            "strategies.fire_marginal_customers.review_every_months": 6,
        }
    )
    model = CRMModel(scenario, rng=8).run(36)
    fits = model.summary()["firm_knowledge"]["fits"]
    reviews = 36 // 6
    # One fit per review at most (reviews on the same records share one), and the summary's.
    assert 2 <= fits <= reviews + 1


@pytest.mark.parametrize("timing", ["start", "end"])
def test_with_no_spread_in_churn_the_firm_values_as_the_oracle_does(timing: str) -> None:
    """Records with one churn chance for everyone fit the sBG's geometric limit; the firm's
    margin multiple is then the oracle's at the retention the firm estimates, whichever
    month margins are paid in (this month's margin, certain at month start, counts once)."""
    scenario = docking_scenario(
        {
            "simulation.customers": 20_000,
            "customers.churn_probability_mean": 0.1,
            "customers.churn_probability_polarization": 0.0,
            "firm.margin_timing": timing,
        }
    )
    model = CRMModel(scenario, rng=6).run(24)
    rows = np.flatnonzero(model.customers.stage == ACTIVE)
    assert "no spread in churn" in model.summary()["firm_knowledge"]["reason"]
    knowledge = model.firm_valuation.knowledge
    retention = knowledge.expected_retention(rows)
    oracle = margin_multiple(retention, model.monthly_discount_rate, timing)
    np.testing.assert_allclose(knowledge.margin_multiple(rows), oracle, rtol=1e-4)
