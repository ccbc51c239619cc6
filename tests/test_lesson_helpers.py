"""The lessons' helpers: settings in plain words, CLV row by row against the closed form,
the textbook market, and a programme measured against its holdout."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from crmsim.analytic import expected_clv_constant_retention, margin_multiple
from crmsim.config.scenario import load_scenario
from crmsim.engine.model import CRMModel
from crmsim.report import (
    clv_by_horizon,
    clv_spreadsheet,
    headline_table,
    plain_label,
    plot_clv_build_up,
    plot_clv_by_horizon,
    plot_programme_holdout,
    settings_table,
    textbook_scenario,
)
from crmsim.report.lessons import SPREADSHEET_COLUMNS


def test_settings_show_plain_labels_values_and_units() -> None:
    table = settings_table(
        "loyalty_program",
        [
            "firm.gross_margin",
            "acquisition.channels.mass.conversion_rate",
            "strategies.loyalty_program.reward_rate",
            "ladder.churn_multiplier",
        ],
    )
    assert list(table.index) == [
        "Firm: gross margin",
        "Acquisition, mass channel: conversion rate",
        "Loyalty program: reward rate",
        "Ladder: churn multiplier",
    ]
    assert table.loc["Firm: gross margin", "value"] == 0.35
    assert table.loc["Loyalty program: reward rate", "unit"] == "share of member spend"
    assert table.loc["Ladder: churn multiplier", "value"] == "1.4, 1, 0.8, 0.6, 0.45"
    assert not any("." in label or "_" in label for label in table.index)
    assert plain_label("firm.cost_to_serve_per_month") == "Firm: cost to serve per month"
    assert (
        plain_label("acquisition.budget_per_month_per_1000_people")
        == "Acquisition: budget per month per 1,000 people"
    )
    with pytest.raises(ValueError, match="no_such"):
        settings_table("baseline", ["firm.no_such"])


@pytest.mark.parametrize("timing", ["start", "end"])
def test_the_spreadsheet_adds_up_to_the_closed_form(timing: str) -> None:
    margin, retention, rate = 14.0, 0.95, 0.008
    sheet = clv_spreadsheet(margin, retention, rate, months=36, margin_timing=timing)
    assert list(sheet.columns) == list(SPREADSHEET_COLUMNS)
    assert sheet["month"].iloc[0] == (0 if timing == "start" else 1)
    finite = expected_clv_constant_retention(margin, retention, rate, timing, horizon_periods=36)
    assert math.isclose(sheet["cumulative"].iloc[-1], finite, rel_tol=1e-12)
    # A long enough sheet reaches the margin multiple; a cohort is that many customers.
    endless = margin * margin_multiple(retention, rate, timing)
    long = clv_spreadsheet(margin, retention, rate, months=2_000, margin_timing=timing)
    assert math.isclose(long["cumulative"].iloc[-1], endless, rel_tol=1e-9)
    cohort = clv_spreadsheet(
        margin, retention, rate, months=36, customers=1_000, margin_timing=timing
    )
    assert np.allclose(cohort["discounted margin"], 1_000 * sheet["discounted margin"])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((10.0, 1.0, 0.01, 12), "retention"),
        ((10.0, 0.9, -0.1, 12), "discount"),
        ((10.0, 0.9, 0.01, 0), "months"),
        ((10.0, 0.9, 0.01, 2.5), "months"),
    ],
)
def test_the_spreadsheet_refuses_impossible_inputs(args: tuple, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        clv_spreadsheet(*args)


def test_the_textbook_market_agrees_with_the_margin_multiple() -> None:
    """Mean lifetime CLV of the cohort within 4 standard errors of the closed form."""
    scenario = textbook_scenario(churn_per_month=0.05, monthly_bill=40.0, gross_margin=0.35)
    model = CRMModel(scenario, rng=11, customers=20_000).run(120)
    clv = model.customer_frame()["lifetime_clv"].to_numpy()
    assert clv.size == 20_000  # one cohort, nobody else
    expected = 40.0 * 0.35 * margin_multiple(0.95, model.monthly_discount_rate, "start")
    se = clv.std(ddof=1) / math.sqrt(clv.size)
    assert abs(clv.mean() - expected) < 4 * se, (clv.mean(), expected, se)
    assert model.monthly_series()["acquired"].sum() == 0


def test_the_figures_have_titles_and_labelled_axes() -> None:
    sheet = clv_spreadsheet(14.0, 0.95, 0.008, months=60)
    run = CRMModel("loyalty_program", rng=3, customers=2_000).run(30)
    for fig in (
        plot_clv_build_up(sheet, lifetime_value=250.0),
        plot_programme_holdout(run.monthly_series()),
        plot_programme_holdout(CRMModel("baseline", rng=3, customers=500).run(3).monthly_series()),
    ):
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        plt.close(fig)


def test_headlines_carry_the_registry_labels_and_units() -> None:
    model = CRMModel("baseline", rng=5, customers=1_000).run(12)
    summary = model.summary()
    table = headline_table(summary, ["active_customers", "retention_rate"])
    assert list(table.index) == ["Active customers at the end", "Retention rate"]
    assert table.loc["Active customers at the end", "value"] == f"{summary['active_customers']:,}"
    assert "%" in table.loc["Retention rate", "unit"]
    with pytest.raises(KeyError):
        headline_table(summary, ["no_such_measure"])


def test_realised_value_grows_with_the_horizon_and_lifetime_value_much_less() -> None:
    table = clv_by_horizon("baseline", [12, 120], seed=5, customers=3_000)
    realised, lifetime = table["realised"].to_numpy(), table["lifetime"].to_numpy()
    assert realised[1] > 2 * realised[0]  # ten times the months: margins pile up
    assert np.all(lifetime > realised)  # the active still have value to come
    # Lifetime CLV is horizon-free: the same people, far closer than realised value.
    assert abs(lifetime[1] - lifetime[0]) < 0.2 * abs(realised[1] - realised[0])
    fig = plot_clv_by_horizon(table)
    assert fig.axes[0].get_title() and fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    plt.close(fig)


def test_a_comparison_keeps_a_subset_of_its_scenarios_with_the_reference() -> None:
    from crmsim.study import StudyError, compare

    base = "baseline"
    options = [
        load_scenario(base).with_changes({"firm.gross_margin": m}, name=f"margin {m}")
        for m in (0.3, 0.4)
    ]
    whole = compare([base, *options], replications=2, customers=500, months=6)
    part = whole.subset(["margin 0.4"])
    assert list(dict.fromkeys(part.table["scenario"])) == ["baseline", "margin 0.4"]
    assert set(part.differences["scenario"]) == {"margin 0.4"}
    assert set(part.runs["scenario"]) == set(part.monthly["scenario"]) == {base, "margin 0.4"}
    kept = whole.differences.query("scenario == 'margin 0.4'").reset_index(drop=True)
    pd.testing.assert_frame_equal(part.differences, kept)  # nothing recomputed
    with pytest.raises(StudyError, match="'margin 0.5'.*'margin 0.3'"):
        whole.subset(["margin 0.5"])


def test_the_clv_explorer_redraws_the_sheet_when_a_slider_moves(capsys) -> None:
    import ipywidgets

    from crmsim.report import clv_explorer
    from crmsim.report.widgets import clv_text

    # Outside a kernel the explorer's output area passes its lines through to stdout.
    box = clv_explorer(margin_per_month=14.0, retention_per_month=0.95, months=24)
    margin, retention, discount, output = box.children
    assert isinstance(output, ipywidgets.Output)
    assert clv_text(14.0, 0.95, 0.10) in capsys.readouterr().out
    retention.value = 0.97
    shown = capsys.readouterr().out
    assert clv_text(14.0, 0.97, 0.10) in shown
    rate = (1.10) ** (1 / 12) - 1
    assert f"{14.0 * (1 + rate) / (1 + rate - 0.97):,.2f} currency units" in shown
    plt.close("all")


def test_the_win_back_table_sums_each_campaign_and_refuses_a_run_without_one() -> None:
    from crmsim.report import win_back_campaigns

    runs = {
        f"every {m} months": CRMModel(
            load_scenario("win_back").with_changes({"strategies.win_back.contact_every_months": m}),
            rng=7,
            customers=2_000,
        )
        .run(48)
        .monthly_series()
        for m in (1, 6)
    }
    table = win_back_campaigns(runs)
    assert list(table.index) == ["every 1 months", "every 6 months"]
    for label, series in runs.items():
        assert table.loc[label, "offers"] == series["win_back_offers"].sum()
        assert table.loc[label, "won back"] == series["win_back_returns"].sum()
    assert table["won back"].min() > 0
    assert np.allclose(table["cost per customer won back"], table["spend"] / table["won back"])
    # contacting every month makes more offers than every sixth month
    assert table.loc["every 1 months", "offers"] > table.loc["every 6 months", "offers"]
    baseline = CRMModel("baseline", rng=7, customers=500).run(6).monthly_series()
    with pytest.raises(ValueError, match="no win-back campaign"):
        win_back_campaigns({"baseline": baseline})


def test_the_standard_error_by_replications_is_the_studys_own() -> None:
    from crmsim.report import standard_error_by_replications
    from crmsim.study import compare

    errors = standard_error_by_replications(
        "baseline", "loyalty_program", [3, 6], seed=9, customers=1_000, months=24
    )
    assert list(errors.index) == [3, 6]
    study = compare(
        ["baseline", "loyalty_program"], replications=6, seed=9, customers=1_000, months=24
    )
    row = study.differences.query("measure == 'value_of_customer_base'").iloc[0]
    assert errors[6] == pytest.approx(row["standard_error"])
    assert (errors > 0).all()


def test_lifetime_values_are_each_markets_customer_values_with_the_same_seed() -> None:
    from crmsim.report import lifetime_values

    same = load_scenario("baseline").with_changes({"customers.order_value_spread": 0.0})
    values = lifetime_values(
        {"equal spend": same, "baseline": "baseline"}, seed=3, customers=1_000, months=24
    )
    assert list(values) == ["equal spend", "baseline"]
    frame = CRMModel("baseline", rng=3, customers=1_000).run(24).customer_frame()
    assert np.allclose(values["baseline"].to_numpy(), frame["lifetime_clv"].to_numpy())
    realised = lifetime_values(
        {"baseline": "baseline"}, seed=3, customers=1_000, months=24, measure="realised_clv"
    )
    assert np.allclose(realised["baseline"].to_numpy(), frame["realised_clv"].to_numpy())


def test_retention_rises_with_tenure_only_when_customers_differ() -> None:
    from crmsim.report import retention_by_tenure

    flat = load_scenario("baseline").with_changes(
        {
            "ladder.churn_multiplier": [1, 1, 1, 1, 1],
            "customers.churn_probability_polarization": 0.0,
        }
    )
    table = retention_by_tenure(
        {
            "identical": flat,
            "differ": flat.with_changes({"customers.churn_probability_polarization": 0.4}),
        },
        seed=5,
        customers=4_000,
        months=120,
    )
    assert list(table.index) == [1, 2, 3, 4] and table.index.name == "year of tenure"
    assert table.to_numpy().max() <= 100
    # sorting: the flighty leave first, so the fourth year keeps more than the first (a
    # year's share rests on about a thousand customers: a standard error near 1 point)
    assert table["differ"].iloc[-1] - table["differ"].iloc[0] > 4
    assert (
        table["differ"].iloc[-1] - table["differ"].iloc[0]
        > table["identical"].iloc[-1] - table["identical"].iloc[0]
    )


def test_cohort_values_name_the_cohorts_plainly_and_count_every_customer() -> None:
    from crmsim.report import cohort_values

    model = CRMModel("baseline", rng=2, customers=2_000).run(36)
    table = cohort_values(model)
    frame = model.customer_frame()
    assert "initial base" in table.index and "year 1" in table.index
    assert table["customers"].sum() == len(frame)
    assert table["still active at the end (%)"].between(0, 100).all()
    initial = frame[frame["source"] == "initial_base"]["lifetime_clv"].mean()
    assert table.loc["initial base", "mean lifetime CLV"] == pytest.approx(initial, abs=0.06)


# ----------------------------------------------------------- the lifecycle (lesson 01)
@pytest.fixture(scope="module")
def lifecycle() -> tuple[CRMModel, pd.DataFrame]:
    """A small baseline run through ``run_tracking_satisfaction``, every person followed
    (those who enter the market later included)."""
    from crmsim.report import run_tracking_satisfaction

    rows = CRMModel("baseline", rng=4, customers=1_500).customers.size
    model = CRMModel("baseline", rng=4, customers=1_500, follow=list(range(rows)))
    return model, run_tracking_satisfaction(model, 48)


def test_tracking_satisfaction_runs_the_model_as_run_would(lifecycle) -> None:
    from crmsim.report.lessons import SATISFACTION_TRACK_COLUMNS

    model, track = lifecycle
    plain = CRMModel("baseline", rng=4, customers=1_500, follow=model.followed).run(48)
    pd.testing.assert_frame_equal(model.monthly_series(), plain.monthly_series())
    assert list(track.columns) == list(SATISFACTION_TRACK_COLUMNS)
    assert track["month"].tolist() == list(range(48))
    np.testing.assert_allclose(
        track["delivered_value"] - track["expectation"], track["satisfaction"], atol=1e-9
    )


def test_tracking_satisfaction_agrees_with_each_customers_own_record(lifecycle) -> None:
    """Rebuilt from the followed histories: the month's customers, the expectation each came
    into the month with, and the satisfaction the month gave them."""
    model, track = lifecycle
    history = model.history  # each followed row: one record per month, from month 0
    for month in (1, 12, 47):
        expectations, satisfactions = [], []
        for rows in history.values():
            before, now = rows[month - 1], rows[month]
            assert now["month"] == month
            judged = (now["stage"] == "active" and before["stage"] != "defected") or (
                now["stage"] == "defected" and before["stage"] != "defected"
            )  # customers this month: those who stayed, and those who left this month
            if not judged:
                continue
            came_in_with = (
                before["expectation"]
                if before["stage"] == "active"
                else track.loc[month, "market_expectation"]  # a relationship starting now
            )
            expectations.append(came_in_with)
            satisfactions.append(now["satisfaction"])
        row = track.loc[month]
        assert row["customers"] == len(expectations)
        # Histories keep 4 decimals: each value within 5e-5, so is their mean.
        assert row["expectation"] == pytest.approx(np.mean(expectations), abs=5e-5)
        assert row["satisfaction"] == pytest.approx(np.mean(satisfactions), abs=5e-5)


def test_a_firm_standing_still_falls_behind_rising_expectations(lifecycle) -> None:
    _, track = lifecycle
    first, last = track.iloc[:12].mean(), track.iloc[-12:].mean()
    assert last["market_expectation"] - first["market_expectation"] > 0.05
    assert last["expectation"] - first["expectation"] > 0.05
    # what the firm delivers hardly moves (only its customers' rungs and tastes change)
    assert abs(last["delivered_value"] - first["delivered_value"]) < 0.03
    assert last["satisfaction"] < first["satisfaction"] - 0.05


def test_tracking_satisfaction_refuses_what_the_model_cannot_run() -> None:
    from crmsim.report import run_tracking_satisfaction

    model = CRMModel("baseline", rng=1, customers=300)
    for months in (0, 2.5, True):
        with pytest.raises(ValueError, match="whole number"):
            run_tracking_satisfaction(model, months)
    with pytest.raises(ValueError, match="simulation.months"):
        run_tracking_satisfaction(model, 121)
    assert model.month == 0  # refused whole, before any month ran


def test_the_value_and_expectation_figure_is_labelled(lifecycle) -> None:
    from crmsim.report import plot_value_and_expectation

    _, track = lifecycle
    fig = plot_value_and_expectation(track)
    left, right = fig.axes
    for ax in (left, right):
        assert ax.get_title() and ax.get_xlabel() and "value units" in ax.get_ylabel()
    assert [line.get_label() for line in left.get_lines()] == [
        "delivered value",
        "customers' expectation",
        "the market's expectation",
    ]
    empty = plot_value_and_expectation(track.assign(delivered_value=np.nan))
    assert "No month had customers" in empty.axes[0].texts[0].get_text()
    plt.close("all")


def test_the_funnel_table_counts_every_first_purchase(lifecycle) -> None:
    from crmsim.report import funnel_table

    model, _ = lifecycle
    table = funnel_table(model.summary(), model.scenario)
    assert list(table.index) == ["mass", "lookalike", "referral"]
    frame = model.customer_frame()
    assert table["first purchases"].sum() == (frame["source"] != "initial_base").sum()
    scenario = model.scenario
    assert table.loc["mass", "prospect -> customer per month, set (%)"] == pytest.approx(
        100 * scenario.get("acquisition.channels.mass.conversion_rate")
    )
    assert table.loc["referral", "prospect -> customer per month, set (%)"] == pytest.approx(
        100 * scenario.get("acquisition.referral_conversion_rate")
    )
    assert table.loc["referral", "suspect -> prospect (%)"] == 100.0
    funnel = model.summary()["funnel"]["lookalike"]
    assert table.loc["lookalike", "prospect -> customer per month, measured (%)"] == (
        pytest.approx(100 * funnel["prospect_to_customer"])
    )


def test_yearly_cohorts_pool_the_months_of_each_year(lifecycle) -> None:
    from crmsim import economics
    from crmsim.report import yearly_cohort_survival, yearly_cohorts
    from crmsim.report.lessons import BASE_COHORT

    model, _ = lifecycle
    curves = yearly_cohort_survival(model, [1, 3])
    assert list(curves.columns) == [BASE_COHORT, "year 1", "year 3"]
    assert curves[BASE_COHORT].count() == 49 and curves["year 3"].count() == 48 - 35 + 1
    assert (curves.iloc[0] == 1).all() and (curves.diff().iloc[1:].fillna(0) <= 1e-12).all().all()
    # A year's curve is its twelve monthly cohorts' curves, weighed by their sizes.
    acquired = model.customers.acquired_month
    monthly = economics.cohort_survival_table(model.customers, 48, every=1)
    sizes = {m: int(((acquired == m) & (model.customers.source != 3)).sum()) for m in range(24, 36)}
    pooled = sum(sizes[m] * monthly[f"month {m}"].iloc[:14] for m in sizes if sizes[m])
    np.testing.assert_allclose(curves["year 3"].iloc[:14], pooled / sum(sizes.values()))
    table = yearly_cohorts(model, [1, 3])
    frame = model.customer_frame()
    year_3 = frame["acquired_month"].between(24, 35) & (frame["source"] != "initial_base")
    assert table.loc["year 3", "customers"] == year_3.sum()
    assert table.loc["year 3", "still customers after 12 months (%)"] == pytest.approx(
        100 * curves["year 3"].iloc[12], abs=0.05
    )
    # the base of month 0 is sorted: its customers were born less likely to leave
    own = "own propensity to leave (% per month)"
    assert table.loc[BASE_COHORT, own] < table.loc["year 1", own] / 2
    with pytest.raises(ValueError, match="year 5 is not over"):
        yearly_cohorts(model, [4, 5])
    with pytest.raises(ValueError, match="whole numbers >= 1"):
        yearly_cohort_survival(model, [0])


def test_the_eventful_customer_left_came_back_and_climbed() -> None:
    from crmsim.report import eventful_customer

    model = CRMModel("baseline", rng=4, customers=1_500, follow=list(range(0, 1_500, 10))).run(48)
    person = eventful_customer(model)
    stages = [m["stage"] for m in person.history]
    assert any(a == "defected" and b == "active" for a, b in zip(stages, stages[1:], strict=False))
    assert eventful_customer(model).id == person.id  # the same choice every time
    with pytest.raises(ValueError, match="followed nobody"):
        eventful_customer(CRMModel("baseline", rng=1, customers=200, follow=[]).run(2))


def test_acquisition_sources_cover_every_customer(lifecycle) -> None:
    from crmsim.report import acquisition_sources, funnel_table

    model, _ = lifecycle
    table = acquisition_sources(model)
    frame = model.customer_frame()
    assert table["customers"].sum() == len(frame)
    assert np.isnan(
        table.loc["customers at month 0", "cost per acquisition (currency per customer)"]
    )
    costs = funnel_table(model.summary())["cost per acquisition"]
    assert table.loc["mass marketing", "cost per acquisition (currency per customer)"] == round(
        costs["mass"]
    )
    mass = frame.loc[frame["source"] == "mass", "lifetime_clv"]
    assert table.loc["mass marketing", "losing money (%)"] == round(100 * (mass < 0).mean())
    assert table["losing money (%)"].between(0, 100).all()


def test_the_lifecycle_facts_read_the_run(lifecycle) -> None:
    from crmsim.report import lifecycle_facts

    model, _ = lifecycle
    summary = model.summary()
    facts = lifecycle_facts(model, summary)
    series = model.monthly_series()
    assert facts.loc["Service defections, first two years", "value"] == (
        f"{series['defections_service'].iloc[:24].sum():,.0f}"
    )
    assert facts.loc["Cost to win a customer", "unit"] == "currency per customer"
    assert facts.loc["Retention, first year", "value"] == (
        f"{100 * series['retention_rate'].iloc[:12].mean():.1f}"
    )
    short = CRMModel("baseline", rng=1, customers=300).run(12)
    with pytest.raises(ValueError, match="at least 36 months"):
        lifecycle_facts(short, short.summary())


def test_a_review_ranks_as_the_firing_strategy_does_and_reads_the_run_only() -> None:
    from crmsim.report import plot_review_ranking, review_profile, review_ranking
    from crmsim.report.lessons import REVIEW_COLUMNS
    from crmsim.strategies.fire_marginal_customers import lowest_share

    model = CRMModel("baseline", rng=11, customers=3_000).run(24)
    active_before = int((model.customers.stage == "active").sum())
    ranking = review_ranking(model, min_tenure_months=6, bottom_share=0.15)
    assert list(ranking.columns) == list(REVIEW_COLUMNS)
    assert int((model.customers.stage == "active").sum()) == active_before  # nobody fired
    value = ranking["expected CLV (firm)"].to_numpy()
    assert (np.diff(value) >= 0).all(), "lowest value first"
    assert ranking["bottom"].sum() == round(0.15 * len(ranking))
    assert ranking["bottom"].iloc[: ranking["bottom"].sum()].all()  # the bottom is the lowest
    chosen = set(ranking.index[lowest_share(value, 0.15)])
    assert chosen == set(ranking.index[ranking["bottom"]])
    assert (model.customers.tenure_months[ranking.index] >= 6).all()
    assert ranking["stay a month (truth)"].between(0, 1).all()

    profile = review_profile(ranking)
    assert list(profile.columns) == ["bottom", "the rest"]
    assert profile.loc["customers"].sum() == len(ranking)
    bill = "monthly bill (currency per month)"
    assert profile.loc[bill, "bottom"] < profile.loc[bill, "the rest"]
    assert profile.loc["on the two lowest rungs (%)"].between(0, 100).all()
    fig = plot_review_ranking(ranking)
    assert all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    with pytest.raises(ValueError, match="bottom_share"):
        review_ranking(model, 6, 1.5)
    with pytest.raises(ValueError, match="min_tenure_months"):
        review_ranking(model, -1, 0.1)
    empty = plot_review_ranking(review_ranking(model, 10_000, 0.1))
    assert "Nobody was reviewed" in empty.axes[0].texts[0].get_text()
    plt.close("all")


def test_the_books_are_the_studys_own_runs_and_pair_only_with_the_same_seeds() -> None:
    from crmsim.report import books_difference, firm_books, plot_profit_bridge
    from crmsim.report.lessons import BOOK_COLUMNS
    from crmsim.study import compare

    study = dict(seed=4, replications=3, customers=1_500, months=36)
    firing = load_scenario("fire_marginal_customers")
    base, fire = firm_books("baseline", **study), firm_books(firing, **study)
    assert list(base.totals.columns) == list(BOOK_COLUMNS) and len(base.totals) == 3
    assert base.attention.shape == (36, 3)
    runs = compare(["baseline", firing], **study).runs.set_index(["scenario", "replication"])
    profit = runs["total_profit_pv"]
    assert np.allclose(profit["baseline"].sort_index(), base.totals["discounted profit"])
    assert np.allclose(
        profit["fire_marginal_customers"].sort_index(), fire.totals["discounted profit"]
    )
    totals = fire.totals
    assert np.allclose(
        totals["gross margin"] - totals["cost to serve"] - totals["other costs"], totals["profit"]
    )
    assert (base.totals["fired"] == 0).all() and (totals["fired"] > 0).all()
    assert totals["suspects left"].between(0, 100).all()

    change = books_difference(fire, base, ["fired", "cost to serve"])
    assert change.loc["fired", "difference"] == pytest.approx(totals["fired"].mean())
    assert change.loc["cost to serve", "ci_high"] < 0  # fewer customers to serve
    with pytest.raises(ValueError, match="same seeds"):
        books_difference(fire, firm_books("baseline", **(study | {"seed": 5})))
    with pytest.raises(ValueError, match="not columns"):
        books_difference(fire, base, ["happiness"])
    fig = plot_profit_bridge(fire, base, "Firing against the baseline")
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("Effect on the profit") and ax.get_ylabel()
    assert len(ax.patches) == 4
    profit_bar = ax.patches[-1].get_width()
    assert profit_bar == pytest.approx(totals["profit"].mean() - base.totals["profit"].mean())
    plt.close("all")


def test_the_attention_figure_keeps_coinciding_lines_visible() -> None:
    from crmsim.report import firm_books, plot_competitor_attention

    study = dict(seed=4, replications=2, customers=1_000, months=24)
    firing = load_scenario("fire_marginal_customers")
    rivals = {"price-cutter": 0.0, "poacher": 3.0}
    books = {
        rival: {
            scenario.name: firm_books(
                scenario.with_changes({"competitor.value_focus": focus}), **study
            )
            for scenario in (load_scenario("baseline"), firing)
        }
        for rival, focus in rivals.items()
    }
    assert np.allclose(books["price-cutter"]["baseline"].attention, 1.0)
    fig = plot_competitor_attention(books)
    cutter, poacher, bars = fig.axes
    # the two options' lines lie on top of each other at 1, drawn in different styles
    assert len({line.get_linestyle() for line in cutter.lines[:2]}) == 2
    assert "coincide" in cutter.texts[0].get_text() and not poacher.texts
    assert all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    assert len(bars.patches) == 4
    plt.close("all")
