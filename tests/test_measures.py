"""The measures registry: every measure declared once, with a label, a unit and a direction."""

from __future__ import annotations

import pytest

from crmsim import CRMModel, load_scenario
from crmsim import measures as m


@pytest.mark.parametrize("measure", [*m.RUN_MEASURES, *m.MONTHLY_MEASURES], ids=lambda x: x.name)
def test_every_measure_says_what_it_is(measure):
    assert measure.label.strip()
    assert measure.unit.strip()
    assert measure.direction in m.DIRECTIONS
    assert measure.level in m.LEVELS


def test_names_are_unique_per_level():
    for level in m.LEVELS:
        names = [name for lvl, name in m.REGISTRY if lvl == level]
        assert len(names) == len(set(names))


@pytest.fixture(scope="module")
def baseline_run():
    return CRMModel(load_scenario("baseline"), rng=3, customers=1_000).run(6)


def test_monthly_series_columns_are_the_registry(baseline_run):
    columns = list(baseline_run.monthly_series().columns)
    assert columns == [measure.name for measure in m.MONTHLY_MEASURES]


def test_every_headline_number_is_a_registered_run_measure(baseline_run):
    summary = baseline_run.summary()
    numbers = {k for k, v in summary.items() if isinstance(v, int | float) and k != "seed"}
    assert numbers == {measure.name for measure in m.RUN_MEASURES}


def test_unknown_measure_names_what_is_allowed():
    with pytest.raises(KeyError, match="allowed: mean_lifetime_clv"):
        m.run_measure("mean_lcv")


def test_intervals_are_written_one_way():
    assert m.format_interval(1234.5, 1000.0, 1500.25) == "1,234 [1,000, 1,500]"
    assert m.format_interval(0.5, -0.25, 1.0, signed=True) == "+0.50 [-0.25, +1.00]"
    assert m.format_interval(827.0, 800.83, 853.17) == "827.00 [800.83, 853.17]"
    assert m.format_interval(-880.26, -2100.4, 339.05, signed=True) == "-880 [-2,100, +339]"
    assert m.format_value(float("nan")) == "nan"
    retention = m.run_measure("retention_rate")
    assert retention.format_interval(0.9618, 0.95672, 0.9668) == "96.18 [95.67, 96.68]"
    assert retention.format_interval(0.0012, -0.0003, 0.0027, signed=True) == (
        "+0.12 [-0.03, +0.27]"
    )


def _strategy_measures():
    from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY

    for registry in (REGISTRY, COMPETITOR_REGISTRY):
        for name, cls in sorted(registry.items()):
            for measure in cls.measures:
                yield pytest.param(cls, measure, id=f"{name}.{measure.name}")


@pytest.mark.parametrize(("strategy", "measure"), list(_strategy_measures()))
def test_every_strategy_measure_says_what_it_is(strategy, measure):
    assert measure.level == m.MONTH
    assert measure.label.strip() and measure.unit.strip()
    assert measure.direction in m.DIRECTIONS
    # A strategy's measures are its own: named after it, never a core measure.
    assert measure.name.startswith(strategy.name) or measure.name.startswith("competitor_")
    assert (m.MONTH, measure.name) not in m.REGISTRY


def test_measures_are_shown_in_their_unit():
    assert m.run_measure("retention_rate").format(0.97593) == "97.59"
    assert m.run_measure("customer_equity").format(3_584_048.4) == "3,584,048"
    assert m.run_measure("mean_realised_value").format(339.437) == "339.44"
    assert m.run_measure("customers_ever").format(2499) == "2,499"
    assert m.run_measure("mean_realised_value").format(float("nan")) == "nan"
