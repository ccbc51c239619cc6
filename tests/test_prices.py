"""Prices: a unit cost that does not move with price, and acquisition that responds to it."""

from __future__ import annotations

import numpy as np
import pytest

from crmsim import CRMModel, load_scenario
from crmsim.engine.customers import CustomerTable
from crmsim.rules import acquisition
from crmsim.vocabulary import ACTIVE, PROSPECT


def _run(changes: dict, seed: int = 7) -> CRMModel:
    scenario = load_scenario("baseline").with_changes(
        {"simulation.customers": 20_000, "simulation.months": 36, **changes}
    )
    return CRMModel(scenario, rng=seed).run()


def test_margin_share_keeps_the_unit_cost() -> None:
    model = CRMModel(load_scenario("baseline").with_changes({"firm.price_index": 1.05}), rng=1)
    assert model.firm.margin_share == pytest.approx(1.0 - 0.65 / 1.05)
    assert model.firm.margin_share > model.firm.gross_margin


def test_without_price_sensitivity_a_rise_adds_its_arithmetic_to_every_unit() -> None:
    insensitive = {"customers.price_sensitivity_mean": 0.0}
    at_market = _run(insensitive)
    raised = _run({**insensitive, "firm.price_index": 1.05})
    # Nobody responds to price, so the same people buy the same units...
    np.testing.assert_array_equal(at_market.customers.stage, raised.customers.stage)
    np.testing.assert_array_equal(at_market.customers.tier, raised.customers.tier)
    before, after = at_market.monthly_series(), raised.monthly_series()
    # ... at the same cost of goods, and each unit earns 5% of its list price more.
    np.testing.assert_allclose(after["cost_of_sales"], before["cost_of_sales"], rtol=1e-5)
    np.testing.assert_allclose(after["revenue"], 1.05 * before["revenue"], rtol=1e-5)
    gross_before = before["revenue"] - before["cost_of_sales"]
    gross_after = after["revenue"] - after["cost_of_sales"]
    np.testing.assert_allclose(gross_after - gross_before, 0.05 * before["revenue"], rtol=1e-4)


def test_price_response_moves_conversion_against_sensitivity() -> None:
    sensitivity = np.array([0.0, 0.5, 1.0], np.float32)
    assert acquisition.price_response(sensitivity, 1.0, 1.0) is None
    assert acquisition.price_response(sensitivity, 1.2, 0.0) is None
    np.testing.assert_allclose(acquisition.price_response(sensitivity, 1.1, 2.0), [1, 0.9, 0.8])
    np.testing.assert_allclose(acquisition.price_response(sensitivity, 0.9, 2.0), [1, 1.1, 1.2])
    # Never a negative chance, however steep the rise.
    assert acquisition.price_response(sensitivity, 3.0, 5.0).min() == 0.0


def test_a_rise_converts_fewer_prospects_and_a_cut_more() -> None:
    n = 200_000
    table = CustomerTable(n)
    table.price_sensitivity[:] = 1.0
    draws = np.random.default_rng(3).random(n, dtype=np.float32)
    rates = np.array([0.2], np.float32)
    bought = {}
    for price in (0.9, 1.0, 1.1):
        table.stage[:] = PROSPECT
        table.prospect_source[:] = 0
        converted = acquisition.convert_prospects(table, draws, rates, 0.0, price, 1.0).converted
        bought[price] = converted.size / n
        assert (table.stage[converted] == ACTIVE).all()
    # Conversion x (1 - 1 x 1 x (p - 1)): 0.22, 0.20, 0.18, within binomial error.
    for price, expected in ((0.9, 0.22), (1.0, 0.2), (1.1, 0.18)):
        se = np.sqrt(expected * (1 - expected) / n)
        assert abs(bought[price] - expected) < 4 * se


def test_with_sensitivity_a_rise_trades_margin_against_customers() -> None:
    """Paired over seeds: a 5% rise keeps fewer customers and converts fewer prospects
    per prospect-month, each beyond 4 standard errors, for a higher margin per unit."""
    kept, converted = [], []
    for seed in range(6):
        at_market, raised = _run({}, seed), _run({"firm.price_index": 1.05}, seed)
        kept.append(raised.summary()["active_customers"] - at_market.summary()["active_customers"])
        rates = [
            m.monthly_series()["acquired"].sum() / m.funnel.totals["prospects_at_start"].sum()
            for m in (raised, at_market)
        ]
        converted.append(rates[0] - rates[1])
        assert raised.firm.margin_share > at_market.firm.margin_share
    for diffs in (np.array(kept, float), np.array(converted)):
        se = diffs.std(ddof=1) / np.sqrt(diffs.size)
        assert diffs.mean() < -4 * se, (diffs, se)
