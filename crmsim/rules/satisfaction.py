"""Satisfaction = delivered value - expectation, with expectations that rise.

The value a customer experiences is what the firm delivers (service and
product quality), less what its price costs a price-sensitive customer, plus
the recognition of their rung on the loyalty ladder and their own taste.
The market's expectations rise every month (more information, more
competition), ever more slowly as they near a ceiling, and each customer's
expectation catches up with them, so a firm that stands still sees
satisfaction erode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from crmsim.compiled import ABSENT, compiled
from crmsim.rules.loyalty import Ladder, price_sensitivity_on_rung_of

if TYPE_CHECKING:
    from crmsim.engine.customers import CustomerTable


def delivered_value(
    table: CustomerTable,
    rows: np.ndarray,
    firm_value: float,
    price_penalty: float,
    price_sensitivity: np.ndarray,
    value_bonus_by_tier: np.ndarray,
    extra_value: np.ndarray | None = None,
) -> np.ndarray:
    """Value each customer in ``rows`` experiences this month, value units.

    Args:
        table: The customer table.
        rows: Active customers.
        firm_value: Service plus product quality the firm delivers.
        price_penalty: Value lost per unit of price sensitivity
            (price weight x (price index - 1)).
        price_sensitivity: Effective price sensitivity of each customer in ``rows``.
        value_bonus_by_tier: Extra value of each ladder rung.
        extra_value: Value added by firm strategies, per customer in ``rows``.
    """
    value = np.empty(rows.size, table.taste.dtype)
    _delivered_value(
        table.taste,
        table.tier,
        rows,
        np.float32(firm_value),
        np.float32(price_penalty),
        price_sensitivity,
        value_bonus_by_tier,
        ABSENT if extra_value is None else extra_value,
        extra_value is not None,
        value,
    )
    return value


@compiled
def _delivered_value(
    taste,
    tier,
    rows,
    firm_value,
    price_penalty,
    price_sensitivity,
    value_bonus_by_tier,
    extra_value,
    has_extra_value,
    value,
):
    for i in range(rows.size):
        _value_at(
            i,
            rows[i],
            taste,
            tier,
            firm_value,
            price_penalty,
            price_sensitivity[i],
            value_bonus_by_tier,
            extra_value,
            has_extra_value,
            value,
        )


@compiled
def _value_at(
    i,
    row,
    taste,
    tier,
    firm_value,
    price_penalty,
    price_sensitivity,
    value_bonus_by_tier,
    extra_value,
    has_extra_value,
    value,
):
    # The value of the i-th customer asked about (``row``, of ``price_sensitivity``), in
    # numpy's order, each step rounded to the value's dtype as an in-place update is.
    kind = value.dtype.type
    v = kind(taste[row] + firm_value)
    v = kind(v - price_penalty * price_sensitivity)
    v = kind(v + value_bonus_by_tier[tier[row]])
    if has_extra_value:
        v = kind(v + extra_value[i])
    value[i] = v


def update_satisfaction(
    table: CustomerTable,
    rows: np.ndarray,
    value: np.ndarray,
    market_expectation: float,
    adaptation_per_month: float,
) -> np.ndarray:
    """Satisfaction = delivered value - expectation; then expectations catch up with the market.

    Each customer's expectation moves a share ``adaptation_per_month`` of the
    way toward the market's expectation, which rises month after month.

    Returns:
        Satisfaction of each customer in ``rows``.
    """
    satisfaction = np.empty(rows.size, np.result_type(value, table.expectation))
    _update_satisfaction(
        table.satisfaction,
        table.expectation,
        rows,
        value,
        np.float32(market_expectation),
        np.float32(adaptation_per_month),
        satisfaction,
    )
    return satisfaction


@compiled
def _update_satisfaction(
    satisfied, expectation, rows, value, market_expectation, adaptation_per_month, satisfaction
):
    for i in range(rows.size):
        _satisfy_at(
            i,
            rows[i],
            satisfied,
            expectation,
            value[i],
            market_expectation,
            adaptation_per_month,
            satisfaction,
        )


@compiled
def _satisfy_at(
    i, row, satisfied, expectation, value, market_expectation, adaptation_per_month, satisfaction
):
    # Satisfaction of the i-th customer asked about (``row``) at ``value``; their
    # expectation then moves toward the market's.
    kind = expectation.dtype.type
    expected = expectation[row]
    satisfaction[i] = value - expected
    satisfied[row] = satisfaction[i]
    expectation[row] = kind(expected + adaptation_per_month * (market_expectation - expected))


def satisfy_on_rungs(
    table: CustomerTable,
    rows: np.ndarray,
    firm_value: float,
    price_penalty: float,
    ladder: Ladder,
    market_expectation: float,
    adaptation_per_month: float,
    extra_value: np.ndarray | None = None,
) -> np.ndarray:
    """``delivered_value`` at each customer's price sensitivity on their rung
    (``loyalty.price_sensitivity_on_rung``), then ``update_satisfaction``, in one pass
    over the customers (the same numbers as the three one after the other).

    Returns:
        Satisfaction of each customer in ``rows``.
    """
    value = np.empty(rows.size, table.taste.dtype)
    satisfaction = np.empty(rows.size, np.result_type(value, table.expectation))
    _satisfy_on_rungs(
        table.taste,
        table.tier,
        table.price_sensitivity,
        table.satisfaction,
        table.expectation,
        rows,
        np.float32(firm_value),
        np.float32(price_penalty),
        ladder.price_sensitivity_multiplier,
        ladder.value_bonus,
        ABSENT if extra_value is None else extra_value,
        extra_value is not None,
        np.float32(market_expectation),
        np.float32(adaptation_per_month),
        value,
        satisfaction,
    )
    return satisfaction


@compiled
def _satisfy_on_rungs(
    taste,
    tier,
    price_sensitivity,
    satisfied,
    expectation,
    rows,
    firm_value,
    price_penalty,
    sensitivity_by_tier,
    value_bonus_by_tier,
    extra_value,
    has_extra_value,
    market_expectation,
    adaptation_per_month,
    value,
    satisfaction,
):
    for i in range(rows.size):
        row = rows[i]
        sensitivity = price_sensitivity_on_rung_of(
            row, price_sensitivity, tier, sensitivity_by_tier
        )
        _value_at(
            i,
            row,
            taste,
            tier,
            firm_value,
            price_penalty,
            sensitivity,
            value_bonus_by_tier,
            extra_value,
            has_extra_value,
            value,
        )
        _satisfy_at(
            i,
            row,
            satisfied,
            expectation,
            value[i],
            market_expectation,
            adaptation_per_month,
            satisfaction,
        )


def next_market_expectation(
    expectation: float, start: float, drift_per_month: float, ceiling: float | None
) -> float:
    """The market's expectation next month: it rises, more slowly as it nears a ceiling.

    Each month it rises by ``drift_per_month`` times the share of the way from
    ``start`` to ``ceiling`` still to go, so it starts at the drift's pace and
    approaches the ceiling without passing it (what a market can come to expect
    is bounded; it does not climb forever). With no ceiling it rises by the
    drift every month; a negative drift lowers it by the drift every month.

    Args:
        expectation: The market's expectation this month, value units.
        start: Its value at month 0, value units.
        drift_per_month: Its rise per month at the start, value units per month.
        ceiling: The level it approaches, value units (None = no ceiling).
    """
    if ceiling is None or drift_per_month <= 0.0:
        return expectation + drift_per_month
    if ceiling <= start:
        return expectation
    still_to_go = min(max((ceiling - expectation) / (ceiling - start), 0.0), 1.0)
    return expectation + drift_per_month * still_to_go
