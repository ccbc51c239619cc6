"""Segments of customers as lessons show them (crmsim.report.segment_profile)."""

from __future__ import annotations

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
