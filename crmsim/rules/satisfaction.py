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
    """This month's satisfaction of customers ``rows``; then their expectations catch up.

    The value a customer experiences (value units) is their taste, plus what the firm
    delivers, less the price penalty times their price sensitivity on their rung
    (``loyalty.price_sensitivity_on_rung``), plus their rung's bonus and what the firm's
    strategies add. Satisfaction is that value less their expectation, which then moves
    a share ``adaptation_per_month`` of the way toward the market's expectation.

    Args:
        table: The customer table (its satisfaction and expectation columns are updated).
        rows: Active customers.
        firm_value: Service plus product quality the firm delivers.
        price_penalty: Value lost per unit of price sensitivity
            (price weight x (price index - 1)).
        ladder: The loyalty ladder (price sensitivity and value bonus by rung).
        market_expectation: The market's expectation this month, value units.
        adaptation_per_month: Share of the gap to the market's expectation closed a month.
        extra_value: Value added by firm strategies, per customer in ``rows``.

    Returns:
        Satisfaction of each customer in ``rows``.
    """
    satisfaction = np.empty(rows.size, np.result_type(table.taste, table.expectation))
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
    satisfaction,
):
    # numpy's order, each step of the value rounded to the taste's dtype as an in-place
    # update is, and the expectation's update in its own dtype.
    value_kind = taste.dtype.type
    expectation_kind = expectation.dtype.type
    for i in range(rows.size):
        row = rows[i]
        sensitivity = price_sensitivity_on_rung_of(
            row, price_sensitivity, tier, sensitivity_by_tier
        )
        value = value_kind(taste[row] + firm_value)
        value = value_kind(value - price_penalty * sensitivity)
        value = value_kind(value + value_bonus_by_tier[tier[row]])
        if has_extra_value:
            value = value_kind(value + extra_value[i])
        expected = expectation[row]
        satisfaction[i] = value - expected
        satisfied[row] = satisfaction[i]
        expectation[row] = expectation_kind(
            expected + adaptation_per_month * (market_expectation - expected)
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
