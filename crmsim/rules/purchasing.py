"""Purchasing: spend, share of wallet and the purchases customers make.

Every customer has a category spend (their wallet) of which the firm wins a
share. Climbing the ladder, and strategies such as cross- and up-selling,
raise that share up to the whole wallet. Two behaviours:

- **contractual** (subscriptions): each active customer pays one bill a month;
- **non-contractual** (retail): purchases arrive at the customer's own rate
  (Poisson), and after each purchase the customer may silently drop out,
  as in the BG/NBD "buy till you die" model (Fader, Hardie & Lee 2005).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from crmsim.compiled import ABSENT, compiled

if TYPE_CHECKING:
    from crmsim.engine.customers import CustomerTable


def spend_factor(
    table: CustomerTable,
    rows: np.ndarray,
    spend_multiplier_by_tier: np.ndarray,
    strategy_factor: np.ndarray | None = None,
) -> np.ndarray:
    """How much more than their basic share of wallet each customer buys now.

    Capped so that the share of wallet never exceeds 1.
    """
    share = table.base_share_of_wallet
    factor = np.empty(rows.size, _factor_dtype(spend_multiplier_by_tier, strategy_factor, share))
    _spend_factor(
        table.tier,
        share,
        rows,
        spend_multiplier_by_tier,
        ABSENT if strategy_factor is None else strategy_factor,
        strategy_factor is not None,
        factor,
    )
    return factor


def _factor_dtype(
    multiplier: np.ndarray, strategy_factor: np.ndarray | None, share: np.ndarray
) -> np.dtype:
    """The dtype numpy gives the spend factor (a float32 rung multiplier, times the
    strategies' factor, capped by a float32 share)."""
    if strategy_factor is None:
        return np.result_type(multiplier, share)
    return np.result_type(multiplier, strategy_factor, share)


@compiled
def _spend_factor(
    tier, base_share_of_wallet, rows, multiplier, strategy_factor, by_strategy, factor
):
    for i in range(rows.size):
        factor[i] = spend_factor_of(
            i, rows[i], tier, base_share_of_wallet, multiplier, strategy_factor, by_strategy
        )


@compiled
def spend_factor_of(i, row, tier, base_share_of_wallet, multiplier, strategy_factor, by_strategy):
    """:func:`spend_factor` of customer ``row`` (the ``i``-th of the rows asked about, for
    the strategies' factor) in a compiled loop: the rung's multiplier (times the
    strategies'), capped at 1 / the basic share."""
    f = multiplier[tier[row]]
    if by_strategy:
        f = f * strategy_factor[i]
    kind = base_share_of_wallet.dtype.type
    share = max(base_share_of_wallet[row], kind(1e-6))
    cap = kind(1.0) / share
    return cap if f > cap else f


def expected_spend(
    table: CustomerTable,
    rows: np.ndarray,
    spend_multiplier_by_tier: np.ndarray,
    strategy_factor: np.ndarray | None = None,
    non_contractual: bool = False,
) -> np.ndarray:
    """Expected spend of each customer in ``rows`` with the firm next month at today's
    share of wallet, currency: order value x purchases a month (1 in the contractual
    setting) x ``spend_factor``."""
    share = table.base_share_of_wallet
    factor = _factor_dtype(spend_multiplier_by_tier, strategy_factor, share)
    spend = np.empty(rows.size, np.result_type(table.order_value, table.purchase_rate, factor))
    _expected_spend(
        table.order_value,
        table.purchase_rate,
        table.tier,
        share,
        rows,
        spend_multiplier_by_tier,
        ABSENT if strategy_factor is None else strategy_factor,
        strategy_factor is not None,
        non_contractual,
        spend,
    )
    return spend


@compiled
def _expected_spend(
    order_value,
    purchase_rate,
    tier,
    base_share_of_wallet,
    rows,
    multiplier,
    strategy_factor,
    by_strategy,
    non_contractual,
    spend,
):
    for i in range(rows.size):
        row = rows[i]
        purchases = purchase_rate[row] if non_contractual else purchase_rate.dtype.type(1.0)
        spend[i] = (order_value[row] * purchases) * spend_factor_of(
            i, row, tier, base_share_of_wallet, multiplier, strategy_factor, by_strategy
        )


def share_of_wallet(table: CustomerTable, rows: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Share of each customer's category spend that goes to the firm."""
    return table.base_share_of_wallet[rows] * factor


def pay_monthly_bills(
    table: CustomerTable, rows: np.ndarray, factor: np.ndarray, price_index: float
) -> np.ndarray:
    """Contractual: each customer in ``rows`` pays this month's bill.

    Returns:
        Revenue per customer in ``rows``, currency.
    """
    revenue = np.empty(rows.size, np.result_type(table.order_value, factor))
    _pay_monthly_bills(
        table.order_value,
        table.purchases,
        table.revenue,
        rows,
        factor,
        np.float32(price_index),
        revenue,
    )
    return revenue


@compiled
def _pay_monthly_bills(order_value, purchases, revenue_column, rows, factor, price, revenue):
    # numpy's order: order value x factor, then x price (each in the revenue's dtype).
    for i in range(rows.size):
        row = rows[i]
        revenue[i] = (order_value[row] * factor[i]) * price
        purchases[row] = 1
        revenue_column[row] = revenue[i]


def spend_of_purchases(
    purchases: np.ndarray, shape: float, rng: np.random.Generator | None
) -> np.ndarray:
    """What ``purchases`` purchases cost, in units of the customer's own order value.

    With ``shape`` 0 every purchase costs exactly the order value; otherwise each is
    Gamma with that shape and mean 1, so their sum is Gamma(purchases x shape) / shape
    (the spend model of Gamma-Gamma, Fader, Hardie & Lee 2005b).
    """
    if shape <= 0.0 or rng is None:
        return purchases
    return (rng.gamma(purchases * shape) / shape).astype(np.float32)


def make_purchases(
    table: CustomerTable,
    rows: np.ndarray,
    rng: np.random.Generator,
    factor: np.ndarray,
    price_index: float,
    spend_shape: float = 0.0,
    spend_rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Non-contractual: customers buy at their own rate until they silently drop out.

    A customer's purchases this month are Poisson with their own rate, cut at
    the purchase after which they drop out; ``purchases_left`` counts down to it.

    Args:
        table: The customer table.
        rows: The month's customers.
        rng: Stream of the purchases (and dropouts).
        factor: Spend factor per customer in ``rows``.
        price_index: The firm's price index.
        spend_shape: Gamma shape of each purchase's spend around the order value
            (0 = exactly the order value; ``spend_of_purchases``).
        spend_rng: Stream of the purchases' spend (used when ``spend_shape`` > 0).

    Returns:
        Revenue per customer in ``rows`` (currency) and a mask of those who dropped out.
    """
    wanted = rng.poisson(table.purchase_rate[rows]).astype(np.int32)
    left = table.purchases_left[rows]
    bought = np.minimum(wanted, left)
    left -= bought
    table.purchases_left[rows] = left
    table.purchases[rows] = bought
    recency = table.months_since_purchase[rows]
    table.months_since_purchase[rows] = np.where(bought > 0, 0, recency + 1)
    spend = spend_of_purchases(bought, spend_shape, spend_rng)
    revenue = spend * table.order_value[rows] * factor * np.float32(price_index)
    table.revenue[rows] = revenue
    return revenue, left == 0


def record_purchases(table: CustomerTable, rows: np.ndarray, month: int) -> None:
    """Non-contractual: the firm's records of the month's purchases (``table.purchases``)
    of ``rows``: how many each person has made, and the months of their first and last.

    These are all a retailer knows of who is still buying (a silent dropout shows only
    as purchases that stop), and what ``crmsim.engine.knowledge`` fits its models on.
    """
    bought = table.purchases[rows]
    table.purchases_total[rows] += bought
    buyers = rows[bought > 0]
    table.last_purchase_month[buyers] = month
    first = buyers[table.first_purchase_month[buyers] < 0]
    table.first_purchase_month[first] = month


def first_purchases(
    table: CustomerTable,
    rows: np.ndarray,
    newcomers: np.ndarray,
    revenue: np.ndarray,
    dropped: np.ndarray,
    factor: np.ndarray,
    price_index: float,
    spend_shape: float = 0.0,
    spend_rng: np.random.Generator | None = None,
) -> None:
    """Non-contractual: newcomers make exactly one (trial) purchase in their first month.

    Repeat buying, and the chance of dropping out after a purchase, start the month
    after; the purchases drawn for them this month are given back.

    Args:
        table: The customer table.
        rows: This month's customers.
        newcomers: Mask over ``rows`` of this month's first purchases.
        revenue: Revenue per customer in ``rows``, changed in place for newcomers.
        dropped: Dropout mask over ``rows``, cleared in place for newcomers.
        factor: Spend factor per customer in ``rows``.
        price_index: The firm's price index.
        spend_shape: Gamma shape of a purchase's spend (``make_purchases``).
        spend_rng: Stream of the purchases' spend.
    """
    first = rows[newcomers]
    table.purchases_left[first] += table.purchases[first]
    table.purchases[first] = 1
    table.months_since_purchase[first] = 0
    revenue[newcomers] = table.order_value[first] * factor[newcomers] * np.float32(price_index)
    if spend_shape > 0.0:
        revenue[newcomers] *= spend_of_purchases(np.ones(first.size), spend_shape, spend_rng)
    table.revenue[first] = revenue[newcomers]
    dropped[newcomers] = False
