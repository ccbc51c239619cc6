"""Randomness is explicit: the same scenario and seed give the same run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmsim.config.scenario import Scenario, load_scenario
from crmsim.engine.model import CRMModel

MONTHS = 18
CUSTOMERS = 3_000


def _scenarios() -> dict[str, Scenario]:
    base = load_scenario("baseline").with_changes(
        {"simulation.months": MONTHS, "simulation.customers": CUSTOMERS}
    )
    return {
        "baseline": base,
        "non_contractual_with_strategies": base.with_changes(
            {
                "customers.behaviour": "non_contractual",
                "firm.margin_timing": "start",  # non-contractual customers pay as they buy
                "strategies": {
                    "loyalty_program": {},
                    "fire_marginal_customers": {"review_every_months": 6},
                },
            }
        ),
    }


SCENARIOS = _scenarios()


def _run(scenario: Scenario, seed: int | None) -> CRMModel:
    return CRMModel(scenario, rng=seed).run()


def _assert_same_run(a: CRMModel, b: CRMModel) -> None:
    pd.testing.assert_frame_equal(a.monthly_series(), b.monthly_series(), check_exact=True)
    pd.testing.assert_frame_equal(a.customer_frame(), b.customer_frame(), check_exact=True)
    for name, column in vars(a.customers).items():
        if isinstance(column, np.ndarray):
            np.testing.assert_array_equal(column, getattr(b.customers, name), err_msg=name)
    assert (a.books.profit_pv, a.books.unattributed_pv) == (
        b.books.profit_pv,
        b.books.unattributed_pv,
    )
    assert a.history == b.history
    assert _same_with_nan(a.summary(), b.summary())


def _same_with_nan(x: object, y: object) -> bool:
    """Equality that treats NaN as equal to NaN (summaries may hold NaN rates)."""
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same_with_nan(x[k], y[k]) for k in x)
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (np.isnan(x) and np.isnan(y))
    return x == y


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_seed_same_run(name: str) -> None:
    scenario = SCENARIOS[name]
    _assert_same_run(_run(scenario, 123), _run(scenario, 123))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_different_seeds_differ(name: str) -> None:
    scenario = SCENARIOS[name]
    a, b = _run(scenario, 1), _run(scenario, 2)
    series_a, series_b = a.monthly_series(), b.monthly_series()
    assert not series_a["defected_this_month"].equals(series_b["defected_this_month"])
    assert not series_a["revenue"].equals(series_b["revenue"])
    assert not np.array_equal(a.customers.order_value, b.customers.order_value)
    assert not a.customer_frame().equals(b.customer_frame())


def test_stepping_equals_running() -> None:
    """``run`` is just ``step`` repeated: the month loop holds no hidden state."""
    scenario = SCENARIOS["non_contractual_with_strategies"]
    stepped = CRMModel(scenario, rng=77)
    for _ in range(MONTHS):
        stepped.step()
    _assert_same_run(stepped, _run(scenario, 77))


def test_running_keeps_mesas_clock_and_its_scheduled_events() -> None:
    """``run`` moves Mesa's clock a month at a time, as ``step`` does; after it Mesa's own
    step goes on; an event scheduled with Mesa runs at its time, between the months."""
    scenario = SCENARIOS["baseline"]
    mixed = CRMModel(scenario, rng=5).run(4)
    assert (mixed.time, mixed.steps, mixed.month) == (4, 4, 4)
    mixed.step()
    mixed.run(3)
    mixed.step()
    assert (mixed.time, mixed.steps, mixed.month) == (9, 9, 9)
    stepped = CRMModel(scenario, rng=5)
    for _ in range(9):
        stepped.step()
    pd.testing.assert_frame_equal(mixed.monthly_series(), stepped.monthly_series())

    seen: list[tuple[float, int]] = []

    def note() -> None:
        seen.append((scheduled.time, scheduled.month))

    scheduled = CRMModel(scenario, rng=5)
    scheduled.schedule_event(note, at=2.5)
    scheduled.run(4)
    assert seen == [(2.5, 2)]  # after the second month, before the third
    assert (scheduled.time, scheduled.steps, scheduled.month) == (4, 4, 4)
    scheduled.run(2)
    assert (scheduled.time, scheduled.steps) == (6, 6)
    pd.testing.assert_frame_equal(
        scheduled.monthly_series(), CRMModel(scenario, rng=5).run(6).monthly_series()
    )


def test_unseeded_run_records_a_seed_that_reproduces_it() -> None:
    scenario = SCENARIOS["non_contractual_with_strategies"]
    first = _run(scenario, None)
    assert isinstance(first.seed, int) and first.seed >= 0
    _assert_same_run(first, _run(scenario, first.seed))
    assert first.summary()["seed"] == first.seed
    # Two unseeded runs draw different seeds.
    assert CRMModel(scenario, rng=None).seed != first.seed


def test_market_size_override_is_deterministic_too() -> None:
    scenario = SCENARIOS["baseline"]
    a = CRMModel(scenario, rng=5, customers=1_000).run(6)
    b = CRMModel(scenario.with_changes({"simulation.customers": 1_000}), rng=5).run(6)
    assert a.customers.initial_people == 1_000
    assert a.summary()["market_size"] == 1_000 + round(0.005 * 1_000 * 6)  # and its entrants
    pd.testing.assert_frame_equal(a.monthly_series(), b.monthly_series(), check_exact=True)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "7"])
def test_invalid_seeds_are_refused(seed: object) -> None:
    with pytest.raises(ValueError, match="rng"):
        CRMModel(SCENARIOS["baseline"], rng=seed)  # type: ignore[arg-type]
