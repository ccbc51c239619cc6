"""Segments of customers as lessons show them (crmsim.report.segment_profile)."""

from __future__ import annotations

import numpy as np
import pytest

from crmsim import CRMModel
from crmsim.report import segment_profile


@pytest.fixture(scope="module")
def customers():
    return CRMModel("baseline", rng=3, customers=3_000).run(48).customer_frame()


def test_value_segments_are_quartiles_of_lifetime_clv_of_customers_acquired(customers) -> None:
    acquired = customers[customers["source"] != "initial_base"]
    table = segment_profile(customers, "value")
    assert list(table.index) == ["top 25%", "second 25%", "third 25%", "bottom 25%"]
    assert table["customers"].sum() == len(acquired)
    assert table["customers"].max() - table["customers"].min() <= 1
    assert table["share of lifetime CLV (%)"].sum() == pytest.approx(100, abs=0.05)
    assert table["mean lifetime CLV"].is_monotonic_decreasing
    top = acquired["lifetime_clv"].nlargest(int(table.loc["top 25%", "customers"]))
    assert table.loc["top 25%", "mean lifetime CLV"] == pytest.approx(top.mean(), abs=0.01)


def test_needs_segments_split_at_the_median_price_sensitivity(customers) -> None:
    acquired = customers[customers["source"] != "initial_base"]
    table = segment_profile(customers, "needs")
    median = acquired["price_sensitivity"].median()
    sensitive = acquired[acquired["price_sensitivity"] > median]
    assert table.loc["price-sensitive", "customers"] == len(sensitive)
    assert table.loc["price-sensitive", "price sensitivity"] > median
    assert table.loc["value seekers", "price sensitivity"] <= median
    still = 100 * (sensitive["stage"] == "active").mean()
    assert table.loc["price-sensitive", "still active (%)"] == pytest.approx(still, abs=0.01)


def test_an_unknown_segmentation_is_refused_with_the_allowed_ones(customers) -> None:
    with pytest.raises(ValueError, match="value, needs"):
        segment_profile(customers, "age")


def test_strategic_customers_set_the_top_by_value_beside_the_top_by_referrals() -> None:
    from crmsim.economics import customer_referral_value
    from crmsim.report import strategic_customers

    model = CRMModel("referral_program", rng=5, customers=3_000).run(48)
    table = strategic_customers(model, top_share=0.1)
    frame = model.customer_frame()
    top = round(0.1 * len(frame))
    assert list(table.index) == ["top by lifetime CLV", "top by referral value"]
    assert (table["customers"] == top).all()
    assert table.loc["top by lifetime CLV", "lifetime CLV"] == pytest.approx(
        frame["lifetime_clv"].nlargest(top).sum()
    )
    referral = customer_referral_value(
        model.customers, model.monthly_discount_rate, model.funnel.referral_code
    )
    assert referral.sum() > 0  # the programme brought customers by referral
    ranked = np.sort(referral[frame["customer_id"].to_numpy()])[::-1]
    assert table.loc["top by referral value", "referral value"] == pytest.approx(ranked[:top].sum())
    # each list is the best by its own measure
    assert table["referral value"].idxmax() == "top by referral value"
    assert table["lifetime CLV"].idxmax() == "top by lifetime CLV"
    assert 0 <= table["in both lists (%)"].iloc[0] <= 100
    with pytest.raises(ValueError, match="top_share"):
        strategic_customers(model, top_share=1.5)


def test_channel_yield_reads_each_channel_where_it_gets_the_budget() -> None:
    from crmsim.report import channel_yield
    from crmsim.study import compare

    study = compare(
        ["mass_acquisition", "lookalike_acquisition"],
        replications=2,
        seed=4,
        customers=2_000,
        months=36,
    )
    table = channel_yield(study, {"mass": "mass_acquisition", "lookalike": "lookalike_acquisition"})
    by = study.by("channel").set_index(["scenario", "segment", "measure"])["mean"]
    assert table.loc["mass", "customers"] == pytest.approx(
        by[("mass_acquisition", "mass", "customers")]
    )
    assert table.loc["lookalike", "mean lifetime CLV"] == pytest.approx(
        by[("lookalike_acquisition", "lookalike", "mean_lifetime_clv")]
    )
    with pytest.raises(KeyError, match="no customers of channel"):
        channel_yield(study, {"mass": "baseline"})


def test_strategy_settings_read_each_strategy_from_the_scenario_that_runs_it() -> None:
    from crmsim.report import strategy_settings
    from crmsim.report.lab import LabSetup, Option

    setup = LabSetup(
        options=(Option("loyalty_program", params={"reward_rate": 0.01}), Option("win_back"))
    )
    scenarios = setup.scenarios()
    table = strategy_settings(
        scenarios,
        {"loyalty_program": ["reward_rate"], "win_back": ["offer_success_rate", "cost_per_offer"]},
    )
    assert len(table) == 3
    assert table["value"].iloc[0] == 0.01  # the option's setting, not the shipped default
    assert table["value"].iloc[1] == scenarios[2].get("strategies.win_back.offer_success_rate")
    assert table["unit"].str.len().gt(0).all()
    with pytest.raises(ValueError, match="runs the strategy 'churn_reduction'"):
        strategy_settings(scenarios, {"churn_reduction": ["flag_share"]})


def test_pairing_narrows_the_interval_and_the_widths_are_read_from_the_study() -> None:
    from crmsim.report import interval_widths
    from crmsim.study import compare

    study = compare(
        ["baseline", "loyalty_program"], replications=4, seed=11, customers=1_500, months=36
    )
    widths = interval_widths(study, "value_of_customer_base")
    row = study.differences.query("measure == 'value_of_customer_base'").iloc[0]
    assert list(widths.index) == ["loyalty_program"]
    assert widths["paired interval"].iloc[0] == pytest.approx(row["ci_high"] - row["ci_low"])
    assert widths["times as wide"].iloc[0] == pytest.approx(
        widths["unpaired interval"].iloc[0] / widths["paired interval"].iloc[0]
    )
    # common random numbers: the shared luck cancels in the paired difference
    assert widths["times as wide"].iloc[0] > 1
    with pytest.raises(KeyError, match="no measure"):
        interval_widths(study, "no_such_measure")
