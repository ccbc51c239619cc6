"""The retailer's view: what it estimates from its purchase records against the truth.

A retail market whose buying is the BG/NBD's and whose spend is the Gamma-Gamma's,
with every other way of leaving switched off, so the true parameters are known. The
firm sees only when its customers bought and what they paid. Tolerances are 4
standard errors: the fit's own (recovery), and the Monte Carlo SE of the realised
values combined with how far the estimate moves within the fit's SEs (calibration).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import docking_scenario
from scipy import stats

from crmsim import CRMModel, load_scenario
from crmsim.cli import main
from crmsim.estimation import BetaGeometricNBD, Fit
from crmsim.vocabulary import ACTIVE, DEFECTED, FIRED

Z = 4.0
BUYING = {"r": 0.9, "alpha": 0.6, "a": 1.2, "b": 30.0}
"""True BG/NBD: purchase rates Gamma(0.9, 0.6) a month (mean 1.5), dropout Beta(1.2, 30)."""
SPEND = {"p": 6.0, "q": 4.0, "gamma": 20.0}
"""True Gamma-Gamma: each purchase Gamma(p, nu) with nu ~ Gamma(q, gamma) (mean 40)."""


def retail_market(seed: int, people: int = 20_000, months: int = 120) -> CRMModel:
    """A market of BG/NBD buyers with Gamma-Gamma spend, all brand-new customers at
    month 0 (each makes a trial purchase then), nothing else moving them."""
    scenario = docking_scenario(
        {
            "simulation.customers": people,
            "simulation.months": months,
            "customers.behaviour": "non_contractual",
            "customers.purchase_rate_r": BUYING["r"],
            "customers.purchase_rate_alpha": BUYING["alpha"],
            "customers.dropout_a": BUYING["a"],
            "customers.dropout_b": BUYING["b"],
            "customers.order_value_shape_per_purchase": SPEND["p"],
        }
    )
    model = CRMModel(scenario, rng=seed)
    # Each customer's mean spend p / nu: the Gamma-Gamma's heterogeneity, drawn here
    # because the scenario's is lognormal.
    nu = np.random.default_rng(seed).gamma(SPEND["q"], 1.0 / SPEND["gamma"], people)
    model.customers.order_value[:] = SPEND["p"] / nu
    return model


# --------------------------------------------------------------------------- recovery


def test_the_retailer_recovers_the_true_buying_and_spend_from_its_records() -> None:
    """After three years of records (refitted at the end of month 35) the BG/NBD and the
    Gamma-Gamma fits are within 4 SE of the true parameters."""
    model = retail_market(seed=1).run(36)
    fit = model.summary()["firm_knowledge"]
    assert fit["knowledge"] == "estimated" and fit["model"] == "bg_nbd_gamma_gamma"
    assert fit["fits"] == 1 and fit["fits_on_prior"] == 0, fit
    assert not fit["fell_back"] and not fit["spend"]["fell_back"]
    for found, truth in ((fit, BUYING), (fit["spend"], SPEND)):
        for name, value in truth.items():
            estimate, se = found["params"][name], found["standard_errors"][name]
            assert abs(estimate - value) < Z * se, (name, estimate, value, se)


def test_the_retailer_does_not_see_who_dropped_out() -> None:
    """Silent dropouts stay on the firm's books (it has not seen them go), at a lower
    probability of being alive than those still buying; those it fired do not."""
    model = retail_market(seed=2, people=5_000).run(24)
    table = model.customers
    knowledge = model.knowledge
    theirs = knowledge.customers()
    gone = np.flatnonzero(table.stage == DEFECTED)
    assert gone.size > 500 and np.isin(gone, theirs).all()
    alive = knowledge.probability_alive(theirs)
    truly = table.stage[theirs] == ACTIVE
    # Mann-Whitney: a customer still buying outranks a dropout far more often than not.
    order = np.argsort(np.argsort(alive, kind="stable"), kind="stable") + 1.0
    auc = (order[truly].sum() - truly.sum() * (truly.sum() + 1) / 2) / (
        truly.sum() * (~truly).sum()
    )
    assert auc > 0.8, auc
    np.testing.assert_array_equal(knowledge.probability_alive(theirs, 0), alive)
    assert np.all(knowledge.probability_alive(theirs, 6) <= alive)
    # The firm's expected retention is its chance of a customer being alive next month.
    np.testing.assert_allclose(
        model.firm_valuation.expected_retention(theirs), knowledge.probability_alive(theirs, 1)
    )


# --------------------------------------------------------------------------- calibration

VALUED_AT = 24
FOLLOWED_FOR = 96


def _realised_from_now(model: CRMModel, rows: np.ndarray) -> np.ndarray:
    """Discounted margin each of ``rows`` brings from now on: FOLLOWED_FOR months run, and
    those still alive after them at their true expected value (their own rate lambda and
    dropout chance p: purchases (S(k - 1) - S(k)) / p in month k, S(s) = exp(-lambda p s))."""
    rate = model.monthly_discount_rate
    now = (1.0 + rate) ** model.month  # the books discount to month 0
    value_then = model.customers.value_at_start[rows].copy()
    model.run(FOLLOWED_FOR)
    table = model.customers
    value = (table.value_at_start[rows] - value_then) * now
    alive = table.stage[rows] == ACTIVE
    still = rows[alive]
    lam = table.purchase_rate[still].astype(np.float64)
    p = table.dropout_probability[still].astype(np.float64)
    months = np.arange(2_000)  # (1 + i)**-2000 of a month's margin is nothing
    survival = np.exp(-np.outer(lam * p, months))
    purchases = ((survival[:, :-1] - survival[:, 1:]) / p[:, None]) @ (1.0 + rate) ** -months[:-1]
    rest = purchases * table.order_value[still] * model.firm.margin_share
    value[alive] += rest * (1.0 + rate) ** -FOLLOWED_FOR
    return value


def _decile_gaps(
    estimated: np.ndarray, realised: np.ndarray, estimate_se: np.ndarray | None = None
) -> np.ndarray:
    """(mean realised - mean estimated) / combined SE, by decile of the estimate.

    A decile in which nobody buys again has no Monte Carlo spread to judge by. Seeing no
    buyer among n customers is as unlikely as 4 SE (P(Z < -4), about 3.2e-5) when n x
    the chance of buying again is -log P(Z < -4), about 10.4; so there the estimate may
    be at most 10.4 / n buyers' worth (a buyer at the mean value of those who did buy
    again): gap 0 within that, infinite beyond.
    """
    order = np.argsort(estimated, kind="stable")
    buyer = realised[realised > 0].mean()
    gaps = []
    for k, part in enumerate(np.array_split(order, 10)):
        gap = realised[part].mean() - estimated[part].mean()
        se = realised[part].std(ddof=1) / np.sqrt(part.size)
        if se == 0:
            unseen = -stats.norm.logcdf(-Z) / part.size * buyer
            gaps.append(0.0 if abs(gap) < unseen else np.inf)
            continue
        if estimate_se is not None:
            se = np.hypot(se, estimate_se[k])
        gaps.append(gap / se)
    return np.array(gaps)


def _fit_se_by_decile(model: CRMModel, rows: np.ndarray, clv: np.ndarray) -> np.ndarray:
    """How far each decile's mean estimate could move within the fits' standard errors
    (each parameter moved one SE, the moves added up: a bound that ignores correlation)."""
    knowledge = model.knowledge
    order = np.argsort(clv, kind="stable")
    moved = np.zeros(rows.size)
    for fitted in (knowledge.purchase_model, knowledge.spend_model):
        kept = fitted.fit_result
        for name, se in kept.standard_errors.items():
            fitted.fit_result = Fit({**kept.params, name: kept.params[name] + se})
            moved += np.abs(model.firm_valuation.expected_clv(rows) - clv)
        fitted.fit_result = kept
    return np.array([moved[part].mean() for part in np.array_split(order, 10)])


def test_expected_clv_from_the_retailers_estimates_is_calibrated_by_decile() -> None:
    """The firm's customers at month 24 (every buyer: it cannot tell who dropped out),
    sorted into deciles of its estimated CLV, go on to bring what it expected, decile by
    decile, within 4 combined SE; valuing everyone as if still alive (P(alive) = 1, the
    view of a firm that took every buyer for a customer) does not."""
    model = retail_market(seed=7).run(VALUED_AT)
    rows = model.knowledge.customers()
    assert rows.size == 20_000  # everyone bought at month 0, and nobody was fired
    estimated = model.firm_valuation.expected_clv(rows).astype(np.float64)
    fit_se = _fit_se_by_decile(model, rows, estimated)
    np.testing.assert_array_equal(model.firm_valuation.expected_clv(rows), estimated)
    as_if_alive = estimated / np.maximum(model.knowledge.probability_alive(rows), 1e-300)
    realised = _realised_from_now(model, rows)
    gaps = _decile_gaps(estimated, realised, fit_se)
    assert np.all(np.abs(gaps) < Z), gaps
    wrong = _decile_gaps(as_if_alive, realised)
    assert np.any(np.abs(wrong) > Z), wrong


# --------------------------------------------------------------------------- fallback


def test_a_retail_market_too_small_to_estimate_uses_the_prior_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model = CRMModel(load_scenario("retail_non_contractual"), rng=3, customers=60).run(24)
    fit = model.summary()["firm_knowledge"]
    assert fit["knowledge"] == "estimated" and fit["fell_back"] and fit["spend"]["fell_back"]
    assert fit["params"] == BetaGeometricNBD.PRIOR
    assert "customers in the records (fewer than 100)" in fit["reason"]
    assert fit["fits_on_prior"] == fit["fits"] == 1
    assert any(reason.startswith("purchases (BG/NBD prior)") for reason in fit["prior_reasons"])
    assert any(reason.startswith("spend (each customer's own") for reason in fit["prior_reasons"])
    # With the prior the firm still values every customer it knows, finitely.
    rows = model.knowledge.customers()
    assert rows.size and np.all(np.isfinite(model.firm_valuation.expected_clv(rows)))
    # Spend falls back to each customer's own mean spend per purchase.
    table = model.customers
    bought = rows[table.purchases_total[rows] > 0]
    np.testing.assert_allclose(
        model.knowledge.expected_revenue_per_month(bought)
        / model.knowledge.purchase_model.purchase_rate_if_alive(
            table.purchases_total[bought] - 1,
            model.knowledge.purchase_history(bought, model.month - 1)[2],
        ),
        table.revenue_total[bought] / table.purchases_total[bought],
        rtol=0.05,  # next month's purchases against the rate of the posterior: close
    )
    out = tmp_path / "small"
    args = ["run", "retail_non_contractual", "--customers", "60", "--months", "12"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "the firm valued its customers with its prior" in printed
    assert "fewer than 100" in printed


# --------------------------------------------------------------------------- the two views


def test_the_lab_measures_retail_by_the_truth_whatever_the_firm_knows() -> None:
    """With no strategy that decides by value, a retailer that estimates and one that
    reads the truth run the same market: every lab measure agrees to the last bit; only
    the firm's own reckoning of its equity differs (over the customers it knows of)."""
    base = load_scenario("retail_non_contractual").with_changes({"simulation.customers": 3_000})
    estimated = CRMModel(base, rng=4).run(24)
    oracle = CRMModel(base.with_changes({"firm.knowledge": "oracle"}), rng=4).run(24)
    assert estimated.monthly_series().equals(oracle.monthly_series())
    mine, truth = estimated.summary(), oracle.summary()
    differ = {name for name in truth if repr(mine[name]) != repr(truth[name])}
    assert differ == {"firm_knowledge", "firm_customer_equity"}, differ
    assert truth["firm_customer_equity"] == truth["customer_equity"]
    assert mine["firm_customer_equity"] == pytest.approx(
        estimated.firm_valuation.customer_equity(estimated.knowledge.customers()), rel=1e-12
    )
    assert (
        estimated.valuation.knowledge.oracle and estimated.firm_valuation.knowledge.reads_purchases
    )


RETAIL = {
    "simulation.customers": 3_000,
    "customers.behaviour": "non_contractual",
    "customers.purchase_rate_r": 0.9,
    "customers.purchase_rate_alpha": 0.6,
    "customers.dropout_a": 1.2,
    "customers.dropout_b": 30.0,
}
"""The retail scenario's buying, for a shipped strategy's scenario."""


def test_a_retailer_fires_among_the_customers_it_knows_of() -> None:
    """A retailer that fires its least valuable customers from month 12 reviews everyone
    it has not seen leave, silent dropouts too, ranked by its own estimates: the runs
    with and without the truth are the same until that first review and then part. The
    dropouts it writes off leave no second time: only customers still active count as
    fired, and the written-off are the firm's customers no more."""
    base = load_scenario("fire_marginal_customers").with_changes(RETAIL)
    estimated = CRMModel(base, rng=6).run(12)
    oracle = CRMModel(base.with_changes({"firm.knowledge": "oracle"}), rng=6).run(12)
    assert estimated.monthly_series().equals(oracle.monthly_series())
    table = estimated.customers
    known = estimated.knowledge.customers()
    was_active = table.stage == ACTIVE
    silent = known[~was_active[known]]
    assert silent.size > 100  # the firm cannot tell these from its customers
    # What the firm sees as month 12 starts, when it reviews.
    value = estimated.firm_valuation.expected_clv(known)
    reviewed = known[estimated.knowledge.months_as_customer(known) >= 6]
    estimated.step()
    oracle.step()
    written_off = np.setdiff1d(known, estimated.knowledge.customers())
    share = 0.15  # the scenario's bottom_share
    assert written_off.size == int(round(share * reviewed.size))
    # The lowest of the firm's estimates are those it wrote off.
    lowest = np.sort(value[np.isin(known, reviewed)])[written_off.size - 1]
    assert np.all(value[np.isin(known, written_off)] <= lowest)
    gone_before = written_off[~was_active[written_off]]
    assert gone_before.size > 0  # it cannot see who had already left
    fired = np.flatnonzero((table.stage == DEFECTED) & (table.defection_reason == FIRED))
    np.testing.assert_array_equal(fired, written_off[was_active[written_off]])
    assert estimated.monthly_series()["defections_fired"].iloc[-1] == fired.size
    oracle_fired = (oracle.customers.defection_reason == FIRED) & (
        oracle.customers.stage == DEFECTED
    )
    assert not np.array_equal(fired, np.flatnonzero(oracle_fired))


def test_a_retailers_churn_flags_work_from_its_records() -> None:
    """Churn reduction in retail scores the customers the firm knows of, recency from its
    own records (months since the last recorded purchase): a silent dropout looks like a
    lapsed customer, is flagged first and gets an offer that changes nothing but the cost."""
    base = load_scenario("baseline").with_changes(
        {**RETAIL, "strategies": {"churn_reduction": {"weight_recency": 1.0}}}
    )
    model = CRMModel(base, rng=9).run(18)
    strategy = next(s for s in model.firm.strategies if s.name == "churn_reduction")
    view = model.firm.views[model.firm.strategies.index(strategy)]
    known = view.firm_customers()
    table = model.customers
    recency = view.months_since_purchase(known)
    np.testing.assert_array_equal(recency, model.month - 1 - table.last_purchase_month[known])
    gone = table.stage[known] != ACTIVE
    assert recency[gone].mean() > recency[~gone].mean()
    np.testing.assert_array_equal(
        view.probability_alive(known), model.knowledge.probability_alive(known)
    )
    spent = table.programme_cost.copy()
    model.step()
    offered = np.flatnonzero(table.programme_cost > spent)
    assert offered.size > 0 and (table.stage[offered] != ACTIVE).any()


def test_a_retailer_wins_back_the_customers_its_records_show_lapsed() -> None:
    """Win-back in retail contacts the firm's customers with no purchase for
    ``lapsed_after_months`` months (on the contact schedule), whatever the hidden reason:
    some are still buying now and then (the offer is spent for nothing), and only those
    who had really left come back."""
    base = load_scenario("win_back").with_changes(
        {**RETAIL, "strategies.win_back.lapsed_after_months": 2}
    )
    model = CRMModel(base, rng=12).run(20)
    view = next(
        v
        for s, v in zip(model.firm.strategies, model.firm.views, strict=True)
        if s.name == "win_back"
    )
    assert not view.sees_every_end
    table = model.customers
    known = view.firm_customers()
    gone_months = view.months_since_purchase(known) - 1  # lapsed 2 months: gone 1 month
    due = known[(gone_months >= 1) & (gone_months <= 12) & ((gone_months - 1) % 3 == 0)]
    was_active = table.stage == ACTIVE
    cost_before = table.return_cost.copy()
    returns_before = table.times_returned.copy()
    model.step()
    contacted = np.flatnonzero(table.return_cost > cost_before)
    series = model.monthly_series().iloc[-1]
    assert series["win_back_targeted"] == series["win_back_offers"] == due.size
    # No budget in the scenario: everyone due is contacted.
    assert np.isin(due, contacted).all()
    assert was_active[due].any() and (~was_active[due]).any()
    # Those still buying stay as they were; the returns (won back, or back on their own
    # at month end) are among those who had left.
    back = due[table.times_returned[due] > returns_before[due]]
    assert not was_active[back].any()
    assert 1 <= series["win_back_returns"] <= back.size


def test_a_spend_fit_without_a_mean_for_few_purchases_keeps_their_own_mean() -> None:
    """A Gamma-Gamma with q < 1 has no mean spend for a customer of n purchases when p n +
    q - 1 <= 0: the firm keeps their own mean spend per purchase there."""
    model = retail_market(seed=3, people=2_000).run(12)
    knowledge = model.knowledge
    model.summary()  # fits the records of the last refit date
    knowledge.spend_model.fit_result = Fit({"p": 0.3, "q": 0.5, "gamma": 10.0})
    rows = knowledge.customers()
    table = model.customers
    n = table.purchases_total[rows].astype(np.float64)
    own = table.revenue_total[rows] / n
    few = 0.3 * n + 0.5 - 1.0 <= 0
    assert few.any() and (~few).any()
    with np.errstate(divide="ignore"):
        shrunk = 0.3 * (10.0 + n * own) / (0.3 * n + 0.5 - 1.0)
    np.testing.assert_allclose(
        knowledge.expected_spend_per_purchase(rows), np.where(few, own, shrunk), rtol=1e-12
    )


# ------------------------------------------------------------- programmes that reach


def _strategy_and_view(model: CRMModel, name: str) -> tuple:
    return next(
        (s, v)
        for s, v in zip(model.firm.strategies, model.firm.views, strict=True)
        if s.name == name
    )


def _one_month(name: str, knowledge: str, changes: dict | None = None) -> tuple:
    """The shipped scenario ``name`` in the retail setting, run to month 14 (the strategy
    starts at 12), then one month more: the model, who was active as it started, who was
    charged programme cost in it, and the strategy."""
    base = load_scenario(name).with_changes(
        {**RETAIL, "firm.knowledge": knowledge, **(changes or {})}
    )
    model = CRMModel(base, rng=21).run(14)
    table = model.customers
    was_active = table.stage == ACTIVE
    cost = table.programme_cost.copy()
    model.step()
    charged = np.flatnonzero(table.programme_cost > cost)
    return model, was_active, charged, _strategy_and_view(model, name)


PROGRAMMES = {
    "retention_bonds": {},
    "permission_marketing": {},
    "cross_selling": {},
    "loyalty_program": {},
}
"""The programmes that charge the customers they reach, with the changes their test needs."""


@pytest.mark.parametrize("name", sorted(PROGRAMMES))
def test_a_retailers_programme_reaches_and_charges_silent_dropouts_for_nothing(
    name: str,
) -> None:
    """A retailer that estimates reaches the customers it knows of: some had silently
    dropped out, are charged all the same, and are untouched by the programme's effect
    (no effect is asked for them: they are not among the month's customers). With the
    truth the firm charges only customers who were active."""
    model, was_active, charged, (strategy, view) = _one_month(name, "estimated")
    assert not view.sees_every_end
    silent = charged[~was_active[charged]]
    assert silent.size > 0, name
    assert np.isin(silent, view.firm_customers()).all()
    assert not np.isin(silent, view.month_customers).any()
    table = model.customers
    if name == "cross_selling":  # nobody who had left took a product
        assert not strategy.products_held(view, silent).any()
    if name == "loyalty_program":  # on the firm's list, members of nothing
        assert strategy.listed[silent].all() and not table.member[silent].any()
    oracle, was_active, charged, (_, oracle_view) = _one_month(name, "oracle")
    assert oracle_view.sees_every_end
    assert charged.size > 0 and was_active[charged].all(), name


def test_a_retailers_bonds_cost_a_month_each_for_silent_dropouts() -> None:
    """Each silent dropout the retailer still bonds costs exactly the level's bond."""
    model = CRMModel(load_scenario("retention_bonds").with_changes(RETAIL), rng=22).run(14)
    table = model.customers
    strategy, view = _strategy_and_view(model, "retention_bonds")
    cost = table.programme_cost.copy()
    was_active = table.stage == ACTIVE
    model.step()
    silent = np.flatnonzero(strategy.bonded & ~was_active)
    assert silent.size > 0
    np.testing.assert_allclose(
        table.programme_cost[silent] - cost[silent], strategy.effect["cost_per_customer_per_month"]
    )
    assert not np.isin(silent, view.month_customers).any()


def test_a_retailers_loyalty_invitations_follow_a_recorded_purchase() -> None:
    """The retailer invites at a purchase: everyone who joins this month bought last month
    by its records; the fee's bite is reckoned from its own estimate of their spend."""
    base = load_scenario("loyalty_program").with_changes(
        {**RETAIL, "strategies.loyalty_program.fee_per_month": 1.0}
    )
    model = CRMModel(base, rng=23).run(14)
    strategy, view = _strategy_and_view(model, "loyalty_program")
    listed = strategy.listed.copy()
    joined_before = strategy.joined_month.copy()
    known = view.firm_customers()
    since = np.full(view.size, -1)
    since[known] = view.months_since_purchase(known)
    model.step()
    joined = np.flatnonzero((strategy.joined_month == model.month - 1) & (joined_before < 0))
    assert joined.size > 0 and (since[joined] == 0).all()
    assert (strategy.listed & ~listed).any()
    spend = view.expected_spend(known[:50])
    np.testing.assert_allclose(
        spend,
        model.knowledge.expected_revenue_per_month(known[:50]) / view.price_index,
        rtol=1e-6,
    )


def test_a_retailers_referral_programme_counts_the_eligible_it_knows_of() -> None:
    """The eligible customer-months a retailer counts include its silent dropouts on a
    rung that refers (so its referrals per eligible month are what its records say);
    with the truth, the active only."""
    for knowledge in ("estimated", "oracle"):
        base = load_scenario("referral_program").with_changes(
            {**RETAIL, "firm.knowledge": knowledge}
        )
        model = CRMModel(base, rng=24).run(14)
        strategy, view = _strategy_and_view(model, "referral_program")
        table = model.customers
        before = strategy.totals["treated_months"] + strategy.totals["holdout_months"]
        refers = view.referrals_per_month_by_tier > 0
        known = view.firm_customers()
        eligible = known[refers[table.tier[known]]]
        silent = eligible[table.stage[eligible] != ACTIVE]
        model.step()
        after = strategy.totals["treated_months"] + strategy.totals["holdout_months"]
        assert after - before == eligible.size
        assert (silent.size > 0) == (knowledge == "estimated")
