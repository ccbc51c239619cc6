"""Strategies for the value of the customer base, acquisition, price and the competitor.

For each strategy: the direction of its main effect against a reference run
with common random numbers (the same seeds, differences paired seed by seed,
the mean difference beyond 4 standard errors), its costs recomputed from its
parameters and counts against the model's books, and a validation error that
names the parameter.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from conftest import run_with_series, the_strategy, the_view

from crmsim.config.fields import ScenarioError
from crmsim.config.scenario import Scenario, load_scenario
from crmsim.engine.model import CRMModel
from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY
from crmsim.vocabulary import ACTIVE, COST_KINDS, DEFECTED, PRICE, PRODUCT, STAGES

SEEDS = tuple(range(10))
CUSTOMERS = 10_000
MONTHS = 48
START = 12  # every shipped scenario of these strategies starts at month 12


def scenario(name: str, changes: dict | None = None) -> Scenario:
    """A shipped scenario in a smaller market (budgets are per 1,000 people, so they scale
    with it), with changes at dotted paths."""
    base = load_scenario(name).with_changes(
        {"simulation.customers": CUSTOMERS, "simulation.months": MONTHS}
    )
    return base.with_changes(changes) if changes else base


def run(target: Scenario, seed: int, months: int = MONTHS) -> tuple[CRMModel, pd.DataFrame]:
    """Run the scenario; the monthly series carries the strategies' measures."""
    return run_with_series(target, seed, months)


@functools.cache
def shipped_runs(name: str) -> tuple[tuple[CRMModel, pd.DataFrame], ...]:
    """The shipped scenario run once per seed (shared by the tests that compare with it)."""
    return tuple(run(scenario(name), seed) for seed in SEEDS)


def paired_runs(name: str, changes: dict | None = None):
    """Runs of a scenario per seed: the shipped one from the cache, a variant afresh."""
    if changes is None:
        return shipped_runs(name)
    return tuple(run(scenario(name, changes), seed) for seed in SEEDS)


def assert_paired(
    measure: Callable[[CRMModel, pd.DataFrame], float],
    treated: tuple,
    reference: tuple,
    sign: int,
) -> float:
    """Mean paired difference (treated - reference) has ``sign`` and lies beyond 4 SE."""
    diffs = np.array(
        [measure(*t) - measure(*r) for t, r in zip(treated, reference, strict=True)], float
    )
    mean = diffs.mean()
    se = diffs.std(ddof=1) / math.sqrt(diffs.size)
    assert sign * mean > 4 * se, f"paired differences {diffs} (mean {mean:g}, SE {se:g})"
    return mean


def invalid(name: str, changes: dict) -> str:
    with pytest.raises(ScenarioError) as caught:
        scenario(name, changes)
    return str(caught.value)


def since_start(stats: pd.DataFrame) -> pd.DataFrame:
    return stats[stats["month"] >= START]


# ------------------------------------------------------------ focus_high_value
def test_focus_high_value_keeps_its_clients_longer() -> None:
    """The customers made clients at the first review stay longer (and buy more) than the
    same people left nameless in the baseline."""
    first_clients, returns_then = {}, {}
    for seed in SEEDS:
        model = CRMModel(scenario("focus_high_value"), rng=seed).run(START + 1)
        rows = np.flatnonzero(the_strategy(model, "focus_high_value").client)
        first_clients[seed] = rows
        baseline = CRMModel(scenario("baseline"), rng=seed).run(START + 1)
        # Common random numbers: who had come back by the review is the same in both runs.
        assert np.array_equal(baseline.customers.times_returned, model.customers.times_returned)
        returns_then[seed] = model.customers.times_returned[rows].copy()

    def share_never_left(model: CRMModel, stats: pd.DataFrame) -> float:
        """Share of the first clients active ever since the review, without a break."""
        rows = first_clients[model.seed]
        table = model.customers
        stayed = (table.stage[rows] == ACTIVE) & (
            table.times_returned[rows] == returns_then[model.seed]
        )
        return float(stayed.mean())

    def revenue_of_first_clients(model: CRMModel, stats: pd.DataFrame) -> float:
        return float(model.customers.revenue_total[first_clients[model.seed]].sum())

    treated, baseline = shipped_runs("focus_high_value"), shipped_runs("baseline")
    assert_paired(share_never_left, treated, baseline, +1)
    assert_paired(revenue_of_first_clients, treated, baseline, +1)
    assert_paired(lambda m, s: m.summary()["value_of_customer_base"], treated, baseline, +1)


def test_focus_high_value_costs_and_reviews_are_accounted() -> None:
    params = load_scenario("focus_high_value").data["strategies"]["focus_high_value"]
    cost, share, every = (
        params["cost_per_client_per_month"],
        params["client_share"],
        params["review_every_months"],
    )
    model, stats = shipped_runs("focus_high_value")[0]
    before, after = stats[stats["month"] < START], since_start(stats)
    assert (before["programme_cost"] == 0).all()
    # Margins come at the start of the month: every client of the month pays, and is charged.
    assert np.allclose(
        after["programme_cost"], cost * after["focus_high_value_clients"], rtol=1e-12
    )
    assert after["focus_high_value_clients"].min() > 0
    reviews = after[(after["month"] - START) % every == 0]
    reviewed = reviews["active_at_start"] - reviews["acquired"]
    assert (reviews["focus_high_value_clients"] == np.round(share * reviewed)).all()
    later = reviews.iloc[1:]
    assert (later["focus_high_value_new_clients"] > 0).all()
    # A mature base changes slowly: some review drops a client, not necessarily each.
    assert later["focus_high_value_dropped_clients"].sum() > 0
    # The cost is in the clients' own accounts: their realised CLV carries it.
    table = model.customers
    assert table.programme_cost.sum() == pytest.approx(stats["programme_cost"].sum(), rel=1e-9)
    client_months = np.round(table.programme_cost / cost)
    assert np.allclose(client_months * cost, table.programme_cost)
    assert client_months.sum() == after["focus_high_value_clients"].sum()


def test_focus_high_value_validation_names_the_parameter() -> None:
    message = invalid("focus_high_value", {"strategies.focus_high_value.client_share": 1.5})
    assert "strategies.focus_high_value.client_share" in message
    message = invalid("focus_high_value", {"strategies.focus_high_value.review_every_months": 0})
    assert "strategies.focus_high_value.review_every_months" in message


# ------------------------------------------------------------ referral_program
def referred_since_start(model: CRMModel, stats: pd.DataFrame) -> float:
    table = model.customers
    return float(
        ((table.source == model.funnel.referral_code) & (table.acquired_month >= START)).sum()
    )


def test_referral_program_brings_more_referred_customers() -> None:
    assert_paired(
        referred_since_start, shipped_runs("referral_program"), shipped_runs("baseline"), +1
    )
    assert_paired(
        lambda m, s: float(since_start(s)["acquired"].sum()),
        shipped_runs("referral_program"),
        shipped_runs("baseline"),
        +1,
    )


def test_referral_rewards_are_acquisition_costs_of_the_referred() -> None:
    model, stats = shipped_runs("referral_program")[0]
    budget = model.firm.base_acquisition_budget
    reward = model.scenario.data["strategies"]["referral_program"]["reward_per_referral"]
    holdout = the_strategy(model, "referral_program").holdout
    after = since_start(stats)
    assert np.allclose(after["acquisition_cost"], budget + after["referral_program_rewards_paid"])
    # Each month's referred first purchases, read back from the customer table.
    table = model.customers
    referred = (table.source == model.funnel.referral_code) & (table.acquired_month >= START)
    by_month = np.bincount(table.acquired_month[referred], minlength=MONTHS)[START:]
    assert np.array_equal(by_month, after["referral_program_referred_customers"].to_numpy())
    # A reward is paid for each customer referred by someone offered the programme, and
    # is the whole acquisition cost of that customer (no channel paid for them); the
    # friends of the holdout cost nothing.
    offered = referred & ~holdout[np.maximum(table.referred_by, 0)]
    assert np.all(table.referred_by[referred] >= 0)
    paid = np.bincount(table.acquired_month[offered], minlength=MONTHS)[START:]
    assert np.allclose(after["referral_program_rewards_paid"], reward * paid)
    assert np.allclose(table.acquisition_cost[offered], reward)
    assert np.all(table.acquisition_cost[referred & ~offered] == 0)
    assert offered.sum() > 0 and (referred & ~offered).sum() > 0


def test_referral_program_validation_names_the_parameter() -> None:
    message = invalid("referral_program", {"strategies.referral_program.referral_factor": -1})
    assert "strategies.referral_program.referral_factor" in message
    message = invalid(
        "referral_program", {"strategies.referral_program.reward_per_referral": "twenty"}
    )
    assert "strategies.referral_program.reward_per_referral" in message


# ------------------------------------------------------------ acquisition_mix
def paid_newcomers(model: CRMModel) -> np.ndarray:
    table = model.customers
    return (table.acquired_month >= START) & (table.source < len(model.funnel.channels))


def mean_clv_of_paid_newcomers(model: CRMModel, stats: pd.DataFrame) -> float:
    frame = model.customer_frame()
    frame = frame[
        (frame["acquired_month"] >= START)
        & frame["source"].isin([c.name for c in model.funnel.channels])
    ]
    return float(frame["realised_clv"].mean())


def cost_per_paid_acquisition(model: CRMModel, stats: pd.DataFrame) -> float:
    return float(since_start(stats)["acquisition_cost"].sum() / paid_newcomers(model).sum())


def test_lookalike_acquisition_buys_fewer_dearer_but_more_valuable_customers() -> None:
    lookalike, mass = shipped_runs("lookalike_acquisition"), shipped_runs("mass_acquisition")
    assert_paired(mean_clv_of_paid_newcomers, lookalike, mass, +1)
    assert_paired(cost_per_paid_acquisition, lookalike, mass, +1)
    assert_paired(lambda m, s: float(paid_newcomers(m).sum()), lookalike, mass, -1)
    # Against the baseline's mix (60% mass), the look-alike newcomers spend more.
    assert_paired(
        lambda m, s: float(m.customers.order_value[paid_newcomers(m)].mean()),
        lookalike,
        shipped_runs("baseline"),
        +1,
    )


def test_acquisition_mix_spends_the_planned_budget_on_each_channel() -> None:
    factor = 1.5
    target = scenario("lookalike_acquisition", {"strategies.acquisition_mix.budget_factor": factor})
    share = target.data["strategies"]["acquisition_mix"]["lookalike_share"]
    model, stats = run(target, seed=3)
    budget = model.firm.base_acquisition_budget
    channels = model.scenario.data["acquisition"]["channels"]
    after = since_start(stats)
    assert np.allclose(stats[stats["month"] < START]["acquisition_cost"], budget)
    assert np.allclose(after["acquisition_cost"], budget * factor)
    assert np.allclose(after["acquisition_mix_lookalike_spend"], budget * factor * share)
    assert np.allclose(after["acquisition_mix_mass_spend"], budget * factor * (1 - share))
    spend = model.funnel.totals["spend"]
    for code, (name, channel) in enumerate(channels.items()):
        planned = share if channel["lookalike_strength"] > 0 else 1 - share
        expected = budget * channel["budget_share"] * START + budget * factor * planned * (
            MONTHS - START
        )
        assert spend[code] == pytest.approx(expected, rel=1e-12), name
    # The first purchases by kind of channel, and the spend charged to those customers (a
    # channel's spend in a month it brought nobody is booked as unattributed).
    table = model.customers
    paid = paid_newcomers(model)
    lookalike_channel = np.array([c.lookalike_strength > 0 for c in model.funnel.channels])
    from_lookalike = (
        paid & lookalike_channel[np.minimum(table.source, len(model.funnel.channels) - 1)]
    )
    kinds = (("lookalike", from_lookalike), ("mass", paid & ~from_lookalike))
    attributed = 0.0
    for kind, customers in kinds:
        brought = after[f"acquisition_mix_{kind}_acquired"]
        assert brought.sum() == customers.sum()
        attributed += after[f"acquisition_mix_{kind}_spend"][brought > 0].sum()
    assert table.acquisition_cost[paid].sum() == pytest.approx(attributed, rel=1e-9)


def test_acquisition_mix_validation_names_the_parameter() -> None:
    message = invalid("mass_acquisition", {"strategies.acquisition_mix.lookalike_share": 1.2})
    assert "strategies.acquisition_mix.lookalike_share" in message
    # A scenario without a look-alike channel cannot put budget on one.
    only_mass = scenario(
        "lookalike_acquisition",
        {
            "acquisition.channels": {
                "mass": {"budget_share": 1.0, "cost_per_contact": 2.0, "lookalike_strength": 0.0}
            },
            "strategies.acquisition_mix.start_month": 0,
        },
    )
    with pytest.raises(ScenarioError, match="strategies.acquisition_mix.lookalike_share"):
        CRMModel(only_mass, rng=1).step()


# ------------------------------------------------------------ permission_marketing
def churn_since_start(model: CRMModel, stats: pd.DataFrame) -> float:
    after = since_start(stats)
    return float(
        (after["defected_this_month"] - after["defections_fired"]).sum()
        / after["active_at_start"].sum()
    )


def test_permission_marketing_cuts_churn_and_spam_costs_satisfaction() -> None:
    assert_paired(
        churn_since_start, shipped_runs("permission_marketing"), shipped_runs("baseline"), -1
    )
    spam = paired_runs(
        "permission_marketing", {"strategies.permission_marketing.message_everyone": True}
    )
    assert_paired(
        lambda m, s: float(since_start(s)["mean_satisfaction"].mean()),
        spam,
        shipped_runs("permission_marketing"),
        -1,
    )


def test_permission_marketing_costs_opt_ins_and_event_offers() -> None:
    model, stats = shipped_runs("permission_marketing")[0]
    p = model.scenario.data["strategies"]["permission_marketing"]
    after = since_start(stats)
    assert np.allclose(
        after["programme_cost"],
        # per-customer costs are float32 numbers
        float(np.float32(p["cost_per_message"])) * after["permission_marketing_messaged"]
        + p["cost_per_event_offer"] * after["permission_marketing_event_offers"],
        rtol=1e-12,
    )
    assert (stats[stats["month"] < START]["programme_cost"] == 0).all()
    # In the season every messaged customer gets an offer; outside it only some do.
    calendar = after["month"] % 12 + 1
    season = calendar.between(p["season_first_month"], p["season_last_month"])
    assert (
        after[season]["permission_marketing_event_offers"]
        == after[season]["permission_marketing_messaged"]
    ).all()
    quiet = after[~season]
    assert (quiet["permission_marketing_event_offers"] > 0).all()
    assert (
        quiet["permission_marketing_event_offers"] < quiet["permission_marketing_messaged"]
    ).all()
    # Everyone asked answered with the opt-in rate (binomial, within 4 SE).
    strategy = the_strategy(model, "permission_marketing")
    asked = strategy.asked
    share = model.customers.opted_in[asked].mean()
    se = math.sqrt(p["opt_in_rate"] * (1 - p["opt_in_rate"]) / asked.sum())
    assert abs(share - p["opt_in_rate"]) < 4 * se
    assert not model.customers.opted_in[~asked].any()
    assert model.customers.programme_cost.sum() == pytest.approx(
        stats["programme_cost"].sum(), rel=1e-9
    )


def test_permission_marketing_validation_names_the_parameter() -> None:
    message = invalid("permission_marketing", {"strategies.permission_marketing.opt_in_rate": 2})
    assert "strategies.permission_marketing.opt_in_rate" in message
    message = invalid(
        "permission_marketing", {"strategies.permission_marketing.season_first_month": 13}
    )
    assert "strategies.permission_marketing.season_first_month" in message
    message = invalid(
        "permission_marketing", {"strategies.permission_marketing.message_everyone": "yes"}
    )
    assert "strategies.permission_marketing.message_everyone" in message


# ------------------------------------------------------------ price_change
def price_defections(model: CRMModel, stats: pd.DataFrame) -> float:
    return float(since_start(stats)["defections_price"].sum())


def revenue_per_paying_customer(model: CRMModel, stats: pd.DataFrame) -> float:
    after = since_start(stats)
    return float(after["revenue"].sum() / after["paying_customers"].sum())


def test_price_rise_and_discount_move_price_defection_and_revenue() -> None:
    rise, discount = shipped_runs("price_rise"), shipped_runs("price_discount")
    baseline = shipped_runs("baseline")
    assert_paired(price_defections, rise, baseline, +1)
    assert_paired(revenue_per_paying_customer, rise, baseline, +1)
    assert_paired(price_defections, discount, baseline, -1)
    assert_paired(revenue_per_paying_customer, discount, baseline, -1)
    # A discount keeps more customers, but each pays less: a lower mean CLV.
    assert_paired(lambda m, s: float(s["active"].iloc[-1]), discount, baseline, +1)
    assert_paired(lambda m, s: m.summary()["mean_realised_value"], discount, baseline, -1)


def test_price_change_moves_the_price_index_and_costs_nothing_else() -> None:
    model, stats = shipped_runs("price_rise")[0]
    change = model.scenario.data["strategies"]["price_change"]["change"]
    assert np.allclose(stats[stats["month"] < START]["price_index"], 1.0)
    assert np.allclose(since_start(stats)["price_index"], 1.0 + change)
    assert (stats["programme_cost"] == 0).all()


def test_introductory_discount_is_a_rebate_to_new_customers() -> None:
    change = -0.2
    target = scenario(
        "price_discount",
        {
            "strategies.price_change.change": change,
            "strategies.price_change.new_customers_only": True,
            "strategies.price_change.intro_months": 3,
        },
    )
    model, stats = run(target, seed=2)
    after = since_start(stats)
    assert np.allclose(stats["price_index"], 1.0)  # the list price stays
    assert np.allclose(after["programme_cost"], after["price_change_rebates"], rtol=1e-6)
    # The customers on the discount are exactly those acquired in the last intro months.
    assert np.array_equal(
        after["price_change_intro_customers"].to_numpy() > 0, np.ones(len(after), bool)
    )
    table = model.customers
    new = table.acquired_month >= START
    assert table.programme_cost[~new].sum() == 0
    # A rebate is -change of a bill, paid in a customer's first months only.
    assert table.programme_cost[new].sum() == pytest.approx(after["programme_cost"].sum(), rel=1e-9)
    assert (table.programme_cost[new] <= -change * table.revenue_total[new] * (1 + 1e-6)).all()


def test_price_change_validation_names_the_parameter() -> None:
    message = invalid("price_discount", {"strategies.price_change.change": -1.0})
    assert "strategies.price_change.change" in message
    message = invalid(
        "price_rise", {"strategies.price_change.new_customers_only": True}
    )  # an introductory price rise makes no sense
    assert "strategies.price_change" in message and "new_customers_only" in message


# ------------------------------------------------------------ the competitor
def price_defectors_order_value(model: CRMModel, stats: pd.DataFrame) -> float:
    table = model.customers
    lost = (table.first_defected_month >= START) & (table.defection_reason == PRICE)
    return float(table.order_value[lost].mean())


def test_poaching_campaign_raises_price_defection_among_heavy_spenders() -> None:
    poaching, baseline = shipped_runs("competitor_poaching"), shipped_runs("baseline")
    assert_paired(price_defections, poaching, baseline, +1)
    assert_paired(lambda m, s: m.summary()["customer_equity"], poaching, baseline, -1)
    untargeted = paired_runs(
        "competitor_poaching", {"competitor_strategies.poaching_offers.value_targeting": 0.0}
    )
    assert_paired(price_defectors_order_value, poaching, untargeted, +1)
    model, stats = poaching[0]
    assert (stats["programme_cost"] == 0).all()  # it costs the firm customers, not money
    assert (since_start(stats)["poaching_offers_mean_factor"] > 1).all()


def returned_since_start(model: CRMModel, stats: pd.DataFrame) -> float:
    return float(since_start(stats)["returned"].sum())


def test_competitor_loyalty_program_keeps_the_customers_it_won() -> None:
    copied, ours = shipped_runs("competitor_copies_loyalty"), shipped_runs("loyalty_program")
    assert_paired(returned_since_start, copied, ours, -1)
    assert_paired(lambda m, s: m.summary()["customer_equity"], copied, ours, -1)
    # Its members are the customers it won (away for price or product), as many as enrol.
    share = load_scenario("competitor_copies_loyalty").data["competitor_strategies"][
        "loyalty_program"
    ]["enrolment_share"]
    for model, stats in copied:
        assert (since_start(stats)["competitor_loyalty_program_members"] > 0).all()
        table = model.customers
        won = (table.stage == DEFECTED) & np.isin(table.defection_reason, (PRICE, PRODUCT))
        members = stats["competitor_loyalty_program_members"].iloc[-1]
        se = math.sqrt(share * (1 - share) / won.sum())
        assert abs(members / won.sum() - share) < 4 * se


def test_competitor_strategies_validation_names_the_parameter() -> None:
    message = invalid(
        "competitor_poaching", {"competitor_strategies.poaching_offers.extra_poaching": -0.5}
    )
    assert "competitor_strategies.poaching_offers.extra_poaching" in message
    message = invalid(
        "competitor_copies_loyalty", {"competitor_strategies.loyalty_program.lock_in": 1.5}
    )
    assert "competitor_strategies.loyalty_program.lock_in" in message
    assert "poaching_offers" in COMPETITOR_REGISTRY and "poaching_offers" not in REGISTRY


# ------------------------------------------------------------ several at once
def test_value_focus_mix_costs_add_up_strategy_by_strategy() -> None:
    """Each month's programme cost is the sum of what each strategy charged its payers.

    With margins at the end of the month, the paying customers are those still active at
    month end who did not just come back (tenure > 0), and their bills are in ``revenue``.
    """
    target = scenario("value_focus_mix", {"firm.margin_timing": "end"})
    model = CRMModel(target, rng=4)
    focus = the_strategy(model, "focus_high_value")
    loyalty = the_strategy(model, "loyalty_program")
    referral = the_strategy(model, "referral_program")
    cost_per_client = target.data["strategies"]["focus_high_value"]["cost_per_client_per_month"]
    reward = target.data["strategies"]["referral_program"]["reward_per_referral"]
    budget = model.firm.base_acquisition_budget
    table = model.customers
    programme_total = 0.0
    for _ in range(MONTHS):
        model.step()
        stats = model.record.stats
        payers = np.flatnonzero((table.stage == ACTIVE) & (table.tenure_months > 0))
        assert payers.size == stats["paying_customers"]
        if model.month - 1 < START:
            assert stats["programme_cost"] == 0
            continue
        revenue = table.revenue[payers]
        # What each strategy booked: its effects on this month's customers, for the payers.
        np.testing.assert_array_equal(the_view(model, "focus_high_value").paying_customers, payers)
        parts = {}
        for s in (focus, loyalty):
            view = the_view(model, s.name)
            positions = np.searchsorted(view.month_customers, payers)
            cost = view.own_effects().subset(positions).cost(revenue)
            parts[s.name] = float(cost.astype(np.float64).sum())
        assert parts["focus_high_value"] == pytest.approx(
            cost_per_client * focus.client[payers].sum(), rel=1e-12
        )
        assert parts["loyalty_program"] > 0
        assert stats["programme_cost"] == pytest.approx(sum(parts.values()), rel=1e-9)
        assert referral.effects(the_view(model, "referral_program"), payers) is None
        assert stats["acquisition_cost"] == pytest.approx(
            budget + stats["referral_program_rewards_paid"], rel=1e-12
        )
        assert (
            stats["referral_program_rewards_paid"]
            <= reward * stats["referral_program_referred_customers"]
        )
        programme_total += stats["programme_cost"]
    assert table.programme_cost.sum() == pytest.approx(programme_total, rel=1e-9)


# ------------------------------------------------------------ the books still balance
SHIPPED_HERE = (
    "focus_high_value",
    "referral_program",
    "lookalike_acquisition",
    "mass_acquisition",
    "permission_marketing",
    "price_discount",
    "price_rise",
    "competitor_poaching",
    "competitor_copies_loyalty",
    "value_focus_mix",
)


# Non-contractual customers pay as they buy: margins at month end would contradict that.
@pytest.mark.parametrize(
    ("behaviour", "timing"),
    [("contractual", "start"), ("contractual", "end"), ("non_contractual", "start")],
)
def test_month_by_month_invariants_hold_under_these_strategies(behaviour: str, timing: str) -> None:
    """Every scenario here, early start, both behaviours and margin timings: the invariants
    of ``test_invariants`` (people conserved, books balanced, CLVs adding up) every month."""
    from test_invariants import _check_month  # the same checks as the engine's own tests

    extra = {
        "permission_marketing": {"strategies.permission_marketing.message_everyone": True},
        "price_discount": {
            "strategies.price_change.new_customers_only": True,
            "strategies.price_change.change": -0.3,
        },
    }
    for name in SHIPPED_HERE:
        target = load_scenario(name)
        changes = {
            "simulation.customers": 2_000,
            "customers.behaviour": behaviour,
            "firm.margin_timing": timing,
            **extra.get(name, {}),
        }
        for section in ("strategies", "competitor_strategies"):
            for strategy in target.data[section]:
                changes[f"{section}.{strategy}.start_month"] = 3
        model = CRMModel(target.with_changes(changes), rng=11)
        counts = np.bincount(model.customers.stage, minlength=len(STAGES))
        before = {stage: int(counts[code]) for code, stage in enumerate(STAGES)}
        totals = dict.fromkeys(["revenue", *(f"{kind}_cost" for kind in COST_KINDS)], 0.0)
        for _ in range(18):
            model.step()
            _check_month(model, before, totals)
            before = {stage: model.record.stats[stage] for stage in STAGES}


@pytest.mark.parametrize(
    ("name", "share", "kept"),
    [
        ("fire_marginal_customers", "bottom_share", "held_threshold"),
        ("focus_high_value", "client_share", "held_cutoff"),
    ],
)
def test_a_share_of_the_base_is_held_as_a_value_line_in_a_run_off(
    name: str, share: str, kept: str
) -> None:
    """Valuing customers by running the market on without new ones, a strategy that treats
    a share of the base treats those beyond the value line that share stands at now: the
    same customers now, and not a share of an ever older base."""
    model = CRMModel(name, rng=3, customers=3_000).run(25)
    market = copy.deepcopy(model)  # the run itself is left alone
    strategy, view = the_strategy(market, name), the_view(market, name)
    assert getattr(strategy, kept) is None
    strategy.hold_for_run_off(view)
    line = getattr(strategy, kept)
    table = market.customers
    rows = np.flatnonzero(table.stage == ACTIVE)
    if name == "fire_marginal_customers":
        rows = rows[table.tenure_months[rows] >= strategy.params["min_tenure_months"]]
        beyond = view.expected_clv(rows) < line
    else:
        beyond = view.expected_clv(rows) >= line
    assert beyond.sum() == round(strategy.params[share] * rows.size)
    assert getattr(the_strategy(model, name), kept) is None
