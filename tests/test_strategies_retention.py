"""Retention and reacquisition strategies: effects, costs, side effects and validation.

Cross-selling, win-back, churn reduction, service quality and retention bonds.
Effects are measured against a reference scenario with common random numbers:
the same seeds, so each pair of runs meets the same customers and luck, and
the paired difference must lie beyond four of its standard errors. Costs are
recomputed from each strategy's parameters and the counts it reports, and
must equal what the model booked, month by month and customer by customer.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from conftest import run_with_series

from crmsim import CRMModel, load_scenario
from crmsim.config.fields import ScenarioError
from crmsim.config.scenario import Scenario
from crmsim.strategies.retention_bonds import LEVEL_TABLE, RetentionBonds
from crmsim.vocabulary import ACTIVE, DEFECTED, FIRED, TIERS

SEEDS = range(8)
CUSTOMERS, MONTHS = 8_000, 48
START = 12  # every shipped scenario of these strategies starts at month 12


def simulate(scenario: Scenario, seed: int, months: int = MONTHS) -> tuple[CRMModel, pd.DataFrame]:
    """Run the scenario in the test market; the monthly series carries the strategies' measures."""
    return run_with_series(scenario, seed, months, customers=CUSTOMERS)


@functools.cache
def _run(name: str, seed: int, changes: tuple[tuple[str, object], ...] = ()):
    scenario = load_scenario(name)
    if changes:
        scenario = scenario.with_changes(dict(changes))
    return simulate(scenario, seed)


Measure = Callable[[CRMModel, pd.DataFrame], float]


def paired(measure: Measure, reference: str, scenario: str, **changes) -> tuple[float, float]:
    """Mean and standard error of measure(scenario) - measure(reference) over paired seeds."""
    frozen = tuple(sorted(changes.items()))
    diffs = [measure(*_run(scenario, s, frozen)) - measure(*_run(reference, s)) for s in SEEDS]
    return float(np.mean(diffs)), float(np.std(diffs, ddof=1) / math.sqrt(len(diffs)))


def for_market(model: CRMModel, per_1000_people: float) -> float:
    """An amount given per 1,000 people, for the model's market (its people at month 0)."""
    return per_1000_people * model.customers.initial_people / 1000


def after_start(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["month"] >= START]


def late_churn(model: CRMModel, frame: pd.DataFrame) -> float:
    return float(after_start(frame)["churn_rate"].mean())


def total(column: str) -> Measure:
    return lambda model, frame: float(after_start(frame)[column].sum())


def stat(model: CRMModel, measure: str) -> float:
    """This month's value of a strategy measure (0 before the strategy starts)."""
    value = model.record.stats[measure]
    return 0.0 if math.isnan(value) else value


def params_of(model: CRMModel, name: str) -> dict:
    return model.scenario.data["strategies"][name]


def assert_invalid(scenario: str, path: str, value: object, cross_field: bool = False) -> None:
    """The change is refused, naming the parameter (after the strategy, for cross-field checks)."""
    section, name, param = path.split(".")
    where = f"{section}.{name}: {param}" if cross_field else path
    with pytest.raises(ScenarioError, match=where.replace(".", r"\.")):
        load_scenario(scenario).with_changes({path: value})


def assert_customer_costs_add_up(model: CRMModel, frame: pd.DataFrame, unattributed: float = 0):
    """The per-customer cost columns sum to the monthly series (less unattributed spend)."""
    table = model.customers
    for kind in ("programme", "return"):
        booked = frame[f"{kind}_cost"].sum() - (unattributed if kind == "programme" else 0)
        assert getattr(table, f"{kind}_cost").sum() == pytest.approx(booked, rel=1e-9, abs=1e-6)


# ------------------------------------------------------------------ cross-selling
def test_cross_selling_grows_share_of_wallet_and_revenue() -> None:
    share, se = paired(lambda m, f: m.summary()["share_of_wallet"], "baseline", "cross_selling")
    assert share > 4 * se and share > 0.01
    revenue, se = paired(total("revenue"), "baseline", "cross_selling")
    assert revenue > 4 * se


def test_refused_offers_annoy_and_raise_churn() -> None:
    calm = {
        "strategies.cross_selling.nuisance_value": 0.0,
        "strategies.cross_selling.nuisance_churn_factor": 1.0,
    }
    # The same draws for offers and take-ups: only the nuisance differs.
    diff, se = paired(late_churn, "cross_selling", "cross_selling", **calm)
    assert diff < -4 * se


def test_cross_selling_costs_are_its_offers_and_opted_in_customers_are_not_annoyed() -> None:
    scenario = load_scenario("cross_selling")
    p = scenario.data["strategies"]["cross_selling"]
    model = CRMModel(scenario, rng=3, customers=CUSTOMERS)
    table = model.customers
    table.opted_in[::2] = True  # every other person gave permission
    strategy = model.firm.strategies[0]
    frame = []
    for _ in range(36):
        before = table.programme_cost.copy()
        model.step()
        stats = dict(model.record.stats)
        frame.append(stats)
        charged = np.flatnonzero(table.programme_cost != before)
        if model.month - 1 < START:
            assert charged.size == 0
            continue
        # Each offer is charged once, to the customer who got it.
        assert charged.size == stats["cross_selling_offers"]
        np.testing.assert_allclose(
            table.programme_cost[charged] - before[charged], p["cost_per_offer"]
        )
        assert stats["programme_cost"] == pytest.approx(
            stats["cross_selling_offers"] * p["cost_per_offer"], rel=1e-12
        )
        assert 0 < stats["cross_selling_takeups"] < stats["cross_selling_offers"]
        # Refusers were annoyed unless they had opted in.
        annoyed = np.flatnonzero(strategy.nuisance_month == model.month - 1)
        assert annoyed.size == stats["cross_selling_nuisance"] > 0
        assert not table.opted_in[annoyed].any()
        assert np.isin(annoyed, charged).all()
    frame = pd.DataFrame(frame)
    assert_customer_costs_add_up(model, frame)
    # Products for good, up to the cap, and never more than the whole wallet.
    active = np.flatnonzero(table.stage == ACTIVE)
    held = strategy.products_held(model, active)
    assert held.max() == p["max_products"]
    share = model.share_of_wallet(active)
    assert share.max() <= 1.0 + 1e-6
    assert frame["cross_selling_products_per_customer"].iloc[-1] == pytest.approx(1 + held.mean())


def test_cross_selling_rejects_bad_parameters() -> None:
    assert_invalid("cross_selling", "strategies.cross_selling.take_rate", 1.5)
    assert_invalid("cross_selling", "strategies.cross_selling.nuisance_value", 0.1)
    multiplier = "strategies.cross_selling.take_rate_multiplier"
    assert_invalid("cross_selling", multiplier, [1, 2])
    assert_invalid("cross_selling", multiplier, [1, 1, 1, 1, -1], cross_field=True)


# ---------------------------------------------------------------------- win-back
def test_win_back_brings_customers_back() -> None:
    def all_returns(model, frame):  # type: ignore[no-untyped-def]
        return float(frame["returned"].sum() + frame["won_back"].sum())

    returned, se = paired(all_returns, "baseline", "win_back")
    assert returned > 4 * se
    active, se = paired(lambda m, f: f["active"].iloc[-1], "baseline", "win_back")
    assert active > 4 * se


def test_win_back_costs_are_contacts_and_returns() -> None:
    model, frame = _run("win_back", 0)
    p = params_of(model, "win_back")
    natural_cost = model.scenario.params.reacquisition.cost_per_return
    late = after_start(frame)
    assert (late["win_back_offers"] > 0).all() and late["win_back_returns"].sum() > 0
    spend = (
        late["win_back_offers"] * p["cost_per_offer"]
        + late["win_back_returns"] * p["cost_per_return"]
    )
    np.testing.assert_allclose(late["win_back_spend"], spend, rtol=1e-12)
    # Natural returns (end of month) are counted apart from win-backs (start of month).
    np.testing.assert_array_equal(frame["won_back"], frame["win_back_returns"].fillna(0))
    natural = frame["returned"]
    booked = frame["win_back_spend"].fillna(0) + natural * natural_cost
    np.testing.assert_allclose(frame["return_cost"], booked, rtol=1e-9)
    assert_customer_costs_add_up(model, frame)
    # Won back at the start of the month: among the month's customers, at risk again.
    before = frame["active"].shift(1).fillna(frame["active_at_start"].iloc[0])
    expected_start = before + frame["acquired"] + frame["win_back_returns"].fillna(0)
    np.testing.assert_array_equal(frame["active_at_start"].iloc[1:], expected_start.iloc[1:])


def test_win_back_works_less_the_longer_customers_are_gone_and_best_on_service() -> None:
    model, _ = _run("win_back", 0)
    strategy, view = model.firm.strategies[0], model.firm.views[0]
    codes = {"price": 0, "product": 1, "service": 2}
    months = np.arange(1, 13)
    price = strategy.success_chance(view, np.full(12, codes["price"]), months)
    assert np.all(np.diff(price) < 0)
    assert price[0] == pytest.approx(params_of(model, "win_back")["offer_success_rate"])
    first = {
        r: strategy.success_chance(view, np.array([c]), np.array([1]))[0] for r, c in codes.items()
    }
    assert first["service"] > first["price"] > first["product"] > 0


def test_the_offer_chance_halves_every_half_life_and_matches_the_campaign() -> None:
    model, _ = _run("win_back", 0)
    strategy, view = model.firm.strategies[0], model.firm.views[0]
    p = params_of(model, "win_back")
    recoverability = model.relationships.recoverability
    half_life = p["success_half_life_months"]
    months = np.array([1, 1 + half_life, 1 + 2 * half_life])
    price = strategy.offer_chance(recoverability, np.zeros(3, np.int64), months)
    np.testing.assert_allclose(price, p["offer_success_rate"] * np.array([1, 0.5, 0.25]), rtol=1e-6)
    codes, gone = np.arange(3), np.array([2, 5, 9])
    np.testing.assert_array_equal(
        strategy.offer_chance(recoverability, codes, gone),
        strategy.success_chance(view, codes, gone),
    )


def test_fired_customers_are_never_contacted_nor_won_back() -> None:
    scenario = load_scenario("win_back").with_changes(
        {
            "strategies.fire_marginal_customers": {
                "start_month": START,
                "review_every_months": 6,
                "bottom_share": 0.3,
            },
            "strategies.win_back.contact_every_months": 1,
        }
    )
    model = CRMModel(scenario, rng=1, customers=CUSTOMERS)
    table = model.customers
    contacted = 0
    for _ in range(40):
        before = table.return_cost.copy()
        model.step()
        fired = np.flatnonzero(table.defection_reason == FIRED)
        assert np.all(table.stage[fired] == DEFECTED)
        assert np.all(table.return_cost[fired] == before[fired]), "a fired customer was contacted"
        contacted += stat(model, "win_back_offers")
    assert fired.size > 100 and contacted > 1000


def test_win_back_stays_within_its_budget() -> None:
    per_1000 = 18.75  # 150 a month for the 8,000 people of the test market
    changes = (("strategies.win_back.budget_per_month_per_1000_people", per_1000),)
    model, frame = _run("win_back", 2, changes)
    budget = for_market(model, per_1000)
    assert budget == 150.0
    late = after_start(frame)
    assert (late["win_back_spend"] <= budget).all()
    assert (late["win_back_offers"] < late["win_back_targeted"]).any()


def test_win_back_rejects_bad_parameters() -> None:
    reasons = "strategies.win_back.target_reasons"
    assert_invalid("win_back", reasons, {"boredom": 1})
    assert_invalid("win_back", reasons, {"price": 0.5}, cross_field=True)
    assert_invalid("win_back", reasons, ["price", "service"])
    assert_invalid("win_back", "strategies.win_back.offer_success_rate", -0.1)


# --------------------------------------------------------------- churn reduction
def test_retention_offers_cut_churn() -> None:
    diff, se = paired(late_churn, "baseline", "churn_reduction")
    assert diff < -4 * se


def test_the_flag_predicts_who_leaves_in_the_untreated_holdout() -> None:
    flagged = left = scored = lost = 0
    for seed in SEEDS:
        model, _ = _run("churn_reduction", seed)
        totals = model.firm.strategies[0].totals
        flagged += totals["holdout_flagged"]
        left += totals["holdout_flagged_left"]
        scored += totals["holdout_scored"]
        lost += totals["holdout_left"]
    base_rate = lost / scored
    precision = left / flagged
    # Precision beyond chance (the holdout's churn rate) by more than four standard errors.
    assert (precision - base_rate) / math.sqrt(base_rate * (1 - base_rate) / flagged) > 4
    # Recall beyond the share flagged (what a random flag would catch).
    share = params_of(model, "churn_reduction")["flag_share"]
    assert (left / lost - share) / math.sqrt(share * (1 - share) / lost) > 4


def test_retention_offers_cost_what_they_say_within_budget_and_spare_the_holdout() -> None:
    tight = (("strategies.churn_reduction.budget_per_month_per_1000_people", 18.75),)
    for changes in ((), tight):
        model, frame = _run("churn_reduction", 1, changes)
        p = params_of(model, "churn_reduction")
        strategy = model.firm.strategies[0]
        late = after_start(frame)
        offers = frame["churn_reduction_offers"].fillna(0)
        np.testing.assert_allclose(frame["programme_cost"], offers * p["cost_per_offer"])
        np.testing.assert_allclose(late["churn_reduction_spend"], late["programme_cost"])
        budget = for_market(model, p["budget_per_month_per_1000_people"])
        assert (late["churn_reduction_spend"] <= budget).all()
        assert np.all(model.customers.programme_cost[strategy.holdout] == 0)
        assert strategy.holdout.mean() == pytest.approx(p["holdout_share"], abs=0.02)
        assert_customer_costs_add_up(model, frame)
    # The tight budget binds: 18.75 per 1,000 people, 150 for 8,000, buys 30 offers, fewer
    # than the customers flagged.
    assert (late["churn_reduction_offers"] == 30).all()


def test_a_holdout_of_everyone_changes_nothing_and_a_full_flag_recalls_everyone() -> None:
    scenario = load_scenario("churn_reduction").with_changes(
        {
            "strategies.churn_reduction.holdout_share": 1.0,
            "strategies.churn_reduction.flag_share": 1.0,
        }
    )
    model, frame = simulate(scenario, 4, months=30)
    _, reference = simulate(load_scenario("baseline"), 4, months=30)
    for column in ("active", "defected_this_month", "revenue", "profit"):
        np.testing.assert_array_equal(frame[column], reference[column])
    assert frame["programme_cost"].sum() == 0
    last = frame.iloc[-1]
    assert last["churn_reduction_recall"] == 1.0
    assert last["churn_reduction_lift"] == pytest.approx(1.0)


def test_the_confusion_table_holds_the_flag_s_precision_and_recall() -> None:
    model, frame = _run("churn_reduction", 2)
    table = model.firm.strategies[0].confusion_table()
    totals = model.firm.strategies[0].totals
    assert table.loc["all", "all"] == totals["holdout_scored"]
    assert table.loc["all", "left"] == totals["holdout_left"]
    assert (table.loc[["flagged", "not flagged"], ["left", "stayed"]].to_numpy() >= 0).all()
    np.testing.assert_array_equal(table["all"], table["left"] + table["stayed"])
    last = frame.iloc[-1]
    hits = table.loc["flagged", "left"]
    assert last["churn_reduction_precision"] == pytest.approx(hits / table.loc["flagged", "all"])
    assert last["churn_reduction_recall"] == pytest.approx(hits / table.loc["all", "left"])


def test_flagging_more_customers_trades_precision_for_recall() -> None:
    from crmsim.study import flag_tradeoff

    shares = [0.05, 0.5, 1.0]
    tradeoff = flag_tradeoff("churn_reduction", shares, seed=3, customers=CUSTOMERS, months=MONTHS)
    assert tradeoff["flag_share"].tolist() == shares
    # Flagging everyone recalls every leaver and is only as precise as chance.
    full = tradeoff.iloc[-1]
    assert full["recall"] == 1.0 and full["precision"] == pytest.approx(full["churn_rate"])
    # A small flag is more precise and recalls less than flagging half, by far more than luck.
    small, half = tradeoff.iloc[0], tradeoff.iloc[1]
    assert small["recall"] < half["recall"] < 1.0
    assert small["precision"] > half["precision"] > full["precision"]
    with pytest.raises(ValueError, match="does not run the churn_reduction strategy"):
        flag_tradeoff("baseline", [0.1])
    with pytest.raises(ValueError, match=r"shares in \[0, 1\]"):
        flag_tradeoff("churn_reduction", [1.5], customers=100, months=1)


def test_churn_reduction_rejects_bad_parameters() -> None:
    assert_invalid("churn_reduction", "strategies.churn_reduction.flag_share", 1.5)
    assert_invalid("churn_reduction", "strategies.churn_reduction.effect_months", 0)
    with pytest.raises(ScenarioError, match=r"strategies\.churn_reduction: the risk score"):
        load_scenario("churn_reduction").with_changes(
            {
                f"strategies.churn_reduction.weight_{c}": 0
                for c in ("satisfaction", "recency", "rung", "competitor")
            }
        )


# --------------------------------------------------------------- service quality
def test_service_investment_cuts_service_defection_and_lifts_satisfaction() -> None:
    diff, se = paired(total("defections_service"), "baseline", "service_quality")
    assert diff < -4 * se
    sat, se = paired(
        lambda m, f: float(after_start(f)["mean_satisfaction"].mean()),
        "baseline",
        "service_quality",
    )
    assert sat > 4 * se


def test_service_costs_are_contacts_of_paying_customers_plus_the_investment() -> None:
    model, frame = _run("service_quality", 0)
    p = params_of(model, "service_quality")
    late = after_start(frame)
    contacts = late["paying_customers"] * p["contacts_per_customer_per_month"]
    fixed = for_market(model, p["fixed_cost_per_month_per_1000_people"])
    assert fixed == 200.0  # 25 per 1,000 people (500 a month at 20,000)
    expected = contacts * p["cost_per_contact"] + fixed
    np.testing.assert_allclose(late["programme_cost"], expected, rtol=1e-6)
    np.testing.assert_allclose(late["service_quality_spend"], expected, rtol=1e-12)
    np.testing.assert_allclose(late["service_quality_contacts"], contacts)
    np.testing.assert_allclose(late["service_quality_cost_per_contact"], expected / contacts)
    resolution = p["first_contact_days"] + (1 - p["resolution_rate"]) * p["follow_up_days"]
    assert (late["service_quality_resolution_days"] == resolution).all()
    assert frame.loc[frame["month"] < START, "programme_cost"].sum() == 0
    assert_customer_costs_add_up(model, frame, unattributed=fixed * len(late))


def test_service_quality_rejects_bad_parameters() -> None:
    assert_invalid("service_quality", "strategies.service_quality.resolution_rate", 1.2)
    assert_invalid("service_quality", "strategies.service_quality.cost_per_contact", -1)


# --------------------------------------------------------------- retention bonds
def test_bonds_cut_churn_and_stronger_bonds_cut_it_more() -> None:
    diff, se = paired(late_churn, "baseline", "retention_bonds")
    assert diff < -4 * se
    stronger, se = paired(late_churn, "retention_bonds", "retention_bonds_structural")
    assert stronger < -4 * se
    price, se = paired(total("defections_price"), "retention_bonds", "retention_bonds_structural")
    assert price < -4 * se
    cost, se = paired(total("programme_cost"), "retention_bonds", "retention_bonds_structural")
    assert cost > 4 * se


@pytest.mark.parametrize("timing", ["start", "end"])
def test_bonds_cost_each_bonded_customer_who_pays(timing: str) -> None:
    scenario = load_scenario("retention_bonds_structural").with_changes(
        {"firm.margin_timing": timing}
    )
    model = CRMModel(scenario, rng=5, customers=CUSTOMERS)
    table = model.customers
    cost = LEVEL_TABLE["cost_per_customer_per_month"][3]
    lowest = TIERS.index(params_of(model, "retention_bonds")["min_tier"])
    frame = []
    for _ in range(30):
        tier_at_start = table.tier.copy()
        active_at_start = table.stage == ACTIVE
        before = table.programme_cost.copy()
        model.step()
        frame.append(dict(model.record.stats))
        charged = np.flatnonzero(table.programme_cost != before)
        np.testing.assert_allclose(table.programme_cost[charged] - before[charged], cost, rtol=1e-6)
        # Bonded: customers at the start of the month on the lowest bonded rung or above.
        assert np.all(active_at_start[charged] & (tier_at_start[charged] >= lowest))
        assert charged.size == stat(model, "retention_bonds_bonded")
    frame = pd.DataFrame(frame)
    np.testing.assert_allclose(
        frame["programme_cost"], frame["retention_bonds_spend"].fillna(0), rtol=1e-6
    )
    assert frame["retention_bonds_bonded"].max() > 0
    assert_customer_costs_add_up(model, frame)


def test_bond_levels_take_their_defaults_unless_set() -> None:
    def effect(**params) -> dict[str, float]:
        changes = {f"strategies.retention_bonds.{k}": v for k, v in params.items()}
        scenario = load_scenario("retention_bonds").with_changes(changes)
        return RetentionBonds(scenario.data["strategies"]["retention_bonds"]).effect

    for level in (1, 2, 3, 4):
        got = effect(level=level)
        assert got == {key: values[level - 1] for key, values in LEVEL_TABLE.items()}
    strengths = [effect(level=k)["churn_reduction"] for k in (1, 2, 3, 4)]
    costs = [effect(level=k)["cost_per_customer_per_month"] for k in (1, 2, 3, 4)]
    assert strengths == sorted(set(strengths)) and costs == sorted(set(costs))
    assert effect(level=2, churn_reduction=0.5)["churn_reduction"] == 0.5


def test_retention_bonds_reject_bad_parameters() -> None:
    assert_invalid("retention_bonds", "strategies.retention_bonds.level", 5)
    assert_invalid("retention_bonds", "strategies.retention_bonds.min_tier", "gold")


# --------------------------------------------------------------------- the mix
def cost_residuals(model: CRMModel, frame: pd.DataFrame) -> dict[str, float]:
    """Largest monthly gap between the booked costs and what the strategies say they spent.

    Each strategy's spend is recomputed from its scenario parameters and the counts
    of the month (paying customers, offers, returns), independently of the charges.
    """
    service = params_of(model, "service_quality")
    offers = params_of(model, "churn_reduction")
    win_back = params_of(model, "win_back")
    natural_cost = model.scenario.params.reacquisition.cost_per_return
    late = after_start(frame)
    service_spend = late["paying_customers"] * service["contacts_per_customer_per_month"] * service[
        "cost_per_contact"
    ] + for_market(model, service["fixed_cost_per_month_per_1000_people"])
    offer_spend = late["churn_reduction_offers"] * offers["cost_per_offer"]
    win_back_spend = (
        late["win_back_offers"] * win_back["cost_per_offer"]
        + late["win_back_returns"] * win_back["cost_per_return"]
    )
    natural = late["returned"] * natural_cost
    reported = late["service_quality_spend"] + late["churn_reduction_spend"]
    return {
        "programme": float((late["programme_cost"] - service_spend - offer_spend).abs().max()),
        "return": float((late["return_cost"] - win_back_spend - natural).abs().max()),
        "reported programme": float((late["programme_cost"] - reported).abs().max()),
        "reported return": float(
            (late["return_cost"] - late["win_back_spend"] - natural).abs().max()
        ),
    }


def test_the_costs_of_a_mix_add_up_month_by_month() -> None:
    model, frame = _run("retention_mix", 0)
    late = after_start(frame)
    assert (late["service_quality_spend"] > 0).all()
    assert (late["churn_reduction_offers"] > 0).all() and (late["win_back_offers"] > 0).all()
    for part, residual in cost_residuals(model, frame).items():
        assert residual < 1e-6 * late["programme_cost"].max(), part
    fixed = for_market(
        model, params_of(model, "service_quality")["fixed_cost_per_month_per_1000_people"]
    )
    assert_customer_costs_add_up(model, frame, unattributed=fixed * len(late))


def test_the_cost_check_of_a_mix_catches_a_strategy_that_charges_more_than_it_says() -> None:
    model = CRMModel(load_scenario("retention_mix"), rng=0, customers=CUSTOMERS)
    service = next(s for s in model.firm.strategies if s.name == "service_quality")
    service.cost_per_customer *= 1.01  # charges 1% more per customer than its parameters say
    records = []
    for _ in range(MONTHS):
        model.step()
        records.append(dict(model.record.stats))
    residuals = cost_residuals(model, pd.DataFrame(records))
    assert residuals["programme"] > 1.0 and residuals["reported programme"] > 1.0
    assert residuals["return"] < 1e-6


def test_the_mix_keeps_more_customers_than_any_of_its_parts() -> None:
    for part in ("service_quality", "churn_reduction", "win_back"):
        active, se = paired(lambda m, f: f["active"].iloc[-1], part, "retention_mix")
        assert active > 4 * se, part


# Non-contractual customers pay as they buy: margins at month end would contradict that.
@pytest.mark.parametrize(
    ("behaviour", "timing"),
    [("contractual", "start"), ("contractual", "end"), ("non_contractual", "start")],
)
def test_all_five_together_keep_the_books_in_every_setting(behaviour: str, timing: str) -> None:
    names = ("cross_selling", "win_back", "churn_reduction", "service_quality", "retention_bonds")
    strategies = {
        name: {**load_scenario(name).data["strategies"][name], "start_month": 3} for name in names
    }
    strategies["retention_bonds"]["min_tier"] = "shopper"  # won-back customers are bonded too
    scenario = Scenario(
        {
            "name": "all_five",
            "customers": {"behaviour": behaviour},
            "firm": {"margin_timing": timing},
            "strategies": strategies,
        }
    )
    model = CRMModel(scenario, rng=11, customers=2_000)
    table = model.customers
    previous_active = int((table.stage == ACTIVE).sum())
    frame = []
    for _ in range(24):
        model.step()
        stats = dict(model.record.stats)
        frame.append(stats)
        won_back = stat(model, "win_back_returns")
        assert stats["active_at_start"] == previous_active + stats["acquired"] + won_back
        previous_active = stats["active"]
        assert np.isfinite(table.satisfaction).all()
        active = np.flatnonzero(table.stage == ACTIVE)
        share = model.share_of_wallet(active)
        assert share.max() <= 1.0 + 1e-6
    frame = pd.DataFrame(frame)
    late = frame[frame["month"] >= 3]
    # Every programme cost of the month (the fixed investment included) is some strategy's.
    spent = sum(late[f"{name}_spend"] for name in names if name != "win_back")
    np.testing.assert_allclose(late["programme_cost"], spent, rtol=1e-6)
    fixed = for_market(model, strategies["service_quality"]["fixed_cost_per_month_per_1000_people"])
    assert_customer_costs_add_up(model, frame, unattributed=fixed * len(late))
    scale = abs(model.books.profit_pv) + abs(model.books.unattributed_pv) + 1.0
    assert table.value_at_start.sum() + model.books.unattributed_pv == pytest.approx(
        model.books.profit_pv, rel=1e-6, abs=1e-6 * scale
    )
    assert late["win_back_returns"].sum() > 0 and late["cross_selling_takeups"].sum() > 0


def test_the_old_name_of_the_churn_reduction_holdout_says_what_it_became() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("churn_reduction", changes={"strategies.churn_reduction.control_share": 0.2})
    assert (
        "strategies.churn_reduction.control_share is now strategies.churn_reduction."
        "holdout_share, with the same meaning: write holdout_share: 0.2"
    ) in str(caught.value)
