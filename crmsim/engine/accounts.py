"""The books: revenue, margins and every cost, charged to the customer it was spent on.

Each customer's realised lifetime value is the sum of what was booked on
them, discounted to month 0 (``value_at_start``); costs that reach no one
customer (a channel that brought nobody, a programme's fixed cost) are kept
apart, so the customers' values and the unattributed costs add up to the
firm's discounted profit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from crmsim.compiled import ABSENT, compiled, pairwise_sum, sum_as_float64
from crmsim.vocabulary import COST_KINDS

if TYPE_CHECKING:
    from crmsim.engine.customers import CustomerTable

MONEY_MEASURES: tuple[str, ...] = ("revenue", "cost_of_sales", *(f"{k}_cost" for k in COST_KINDS))
"""The month's money, as named in the monthly series."""


@dataclass
class Books:
    """The firm's accounts, month by month.

    Args:
        customers: The customer table (costs and values are kept in its columns).
        monthly_rate: Discount rate per month.
        pays_at_start: Whether margins are paid at the start of the month (discounted
            to t) or at its end (to t + 1).

    Attributes:
        profit_pv: All profit so far, discounted to month 0, currency.
        unattributed_pv: Costs not spent on any one customer, discounted to month 0,
            currency (negative).
        month: This month's revenue, cost of sales and costs by kind, currency.
        discount_factor: Discount from this month's cash flows to month 0.
    """

    customers: CustomerTable
    monthly_rate: float
    pays_at_start: bool
    profit_pv: float = 0.0
    unattributed_pv: float = 0.0
    month: dict[str, float] = field(default_factory=dict)
    discount_factor: float = 1.0

    def open_month(self, month: int) -> None:
        """Start the books of ``month`` (margins in month t count at (1 + i)^-t, or
        (1 + i)^-(t+1) when paid at month end)."""
        self.month = dict.fromkeys(MONEY_MEASURES, 0)
        exponent = month if self.pays_at_start else month + 1
        self.discount_factor = (1.0 + self.monthly_rate) ** -exponent

    def charge(self, rows: np.ndarray, amount: Any, kind: str) -> None:
        """Spend ``amount`` (per customer, currency) of cost ``kind`` on the customers in rows.

        The cost is added to each customer's cost total and taken off their
        realised value, and booked in this month's accounts.
        """
        column = getattr(self.customers, f"{kind}_cost")
        if isinstance(amount, int | float | np.number) or np.ndim(amount) == 0:
            if rows.size == 0 or amount == 0:
                return
            each = float(amount)
            amounts = ABSENT
        else:
            each = 0.0
            amounts = np.asarray(amount, np.float64)
            if amounts.shape != rows.shape:
                raise ValueError(
                    f"charge of {kind} cost: {amounts.size} amounts for {rows.size} customers; "
                    "give one amount per customer, or one for all"
                )
        total = _charge(
            column,
            self.customers.value_at_start,
            rows,
            amounts,
            each,
            amounts is not ABSENT,
            self.discount_factor,
        )
        self.month[f"{kind}_cost"] += total

    def charge_unattributed(self, amount: float, kind: str) -> None:
        """Spend ``amount`` (currency) of cost ``kind`` that reaches no one customer."""
        self.unattributed_pv -= amount * self.discount_factor
        self.month[f"{kind}_cost"] += amount

    def book_sales(self, rows: np.ndarray, revenue: np.ndarray, margin_share: float) -> None:
        """Customers ``rows`` paid ``revenue``; their gross margin (``margin_share`` of the
        revenue, at this month's price) adds to their value."""
        table = self.customers
        gross = np.empty(rows.size, np.result_type(revenue, np.float32))
        sales, cost_of_sales = _book_sales(
            table.revenue_total,
            table.value_at_start,
            rows,
            revenue,
            np.float32(margin_share),
            self.discount_factor,
            gross,
            np.empty_like(gross),
        )
        self.month["revenue"] += sales
        self.month["cost_of_sales"] += cost_of_sales

    def close_month(self) -> float:
        """This month's profit (currency); its discounted value joins ``profit_pv``."""
        month = self.month
        costs = sum(month[f"{kind}_cost"] for kind in COST_KINDS)
        profit = month["revenue"] - month["cost_of_sales"] - costs
        self.profit_pv += profit * self.discount_factor
        return profit


@compiled
def _charge(column, value_at_start, rows, amounts, each, per_customer, discount_factor):
    # Returns the total as numpy adds an array of the amounts (``each``, one per customer,
    # when the amount is the same for all).
    for i in range(rows.size):
        row = rows[i]
        amount = amounts[i] if per_customer else each
        column[row] += amount
        value_at_start[row] -= amount * discount_factor
    if per_customer:
        return pairwise_sum(amounts)
    return pairwise_sum(np.full(rows.size, each))


@compiled
def _book_sales(
    revenue_total, value_at_start, rows, revenue, margin_share, discount_factor, gross, cost
):
    # The gross margin and its discounted value in numpy's dtypes (revenue x a float32,
    # then x the discount factor as a weak scalar); returns the month's revenue and cost
    # of sales, summed as numpy sums them in float64.
    discount = gross.dtype.type(discount_factor)
    for i in range(rows.size):
        row = rows[i]
        gross[i] = revenue[i] * margin_share
        cost[i] = revenue[i] - gross[i]
        revenue_total[row] += revenue[i]
        value_at_start[row] += gross[i] * discount
    return sum_as_float64(revenue), sum_as_float64(cost)
