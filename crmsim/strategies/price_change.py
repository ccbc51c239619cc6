"""Price change: a discount or a price rise, against customers' price sensitivity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Effects, Plan

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


@register
class PriceChange(Strategy):
    """Move the firm's price by ``change`` (-0.1 = a 10% discount, +0.05 = a 5% rise).

    Course concept: price sensitivity and price defectors; the financial
    retention bond (a lower price) and its cost; long-term customers are less
    price sensitive (the ladder's ``price_sensitivity_multiplier``).

    How price acts in this model, which is what a student should check: the
    price index multiplies (1) every bill, while the cost of goods is a cost
    per unit that does not move with price, so a rise adds its whole amount to
    the margin of every unit sold and a cut takes it away (at a 35% margin a
    10% cut lowers the margin to 27.8% of revenue); (2) the value a
    price-sensitive customer sees (``firm.price_weight`` x (price index - 1) x
    their effective price sensitivity), so a rise lowers satisfaction (more
    service defection, fewer promotions up the ladder) and a discount raises
    it; (3) the chance that the competitor's offers win a customer (price
    defection), which scales with the price index; (4) prospects' first
    purchases, which respond through their price sensitivity
    (``acquisition.conversion_price_elasticity``). A customer's share of
    wallet does not respond to price, so a discount wins volume only through
    more first purchases, customers kept longer (fewer price and service
    defections) and the satisfied climbing the ladder, where they buy more of
    their wallet; each pays the lower price on every bill, so a discount
    usually costs more margin than the retention it buys, and a rise earns
    margin at the cost of customers, mostly the price-sensitive ones.

    Introductory discount (``new_customers_only``, needs a discount): only
    customers in their first ``intro_months`` months after a first purchase made
    while the strategy runs (not returning customers) get it, and the firm's
    list price stays. The firm has one price index, so the discount is given as
    a rebate of ``-change`` x their bill, booked as programme cost (revenue
    stays at list price); such a customer sees the value of the lower price and
    the competitor's offers win them as if the price were lower. Prospects
    decide at the list price, so the introductory discount does not bring
    more customers: it only keeps new ones a little longer.

    Measures: ``price_change_intro_customers`` (customers on the introductory
    discount this month, margins at the start of the month) and
    ``price_change_rebates`` (currency).
    """

    name: ClassVar[str] = "price_change"
    concept: ClassVar[str] = "Retention: price moves against price sensitivity (price defectors)"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "change": Field(
            "number",
            -0.1,
            "share of price",
            "Relative price change (-0.1 = 10% discount, 0.05 = 5% rise).",
            minimum=-0.9,
            maximum=2.0,
        ),
        "new_customers_only": Field(
            "bool",
            False,
            "",
            "An introductory discount for new customers only (needs change < 0).",
        ),
        "intro_months": Field(
            "positive_count",
            3,
            "months",
            "Months a new customer pays the introductory price (with new_customers_only).",
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure("price_change_intro_customers", "Customers on the introductory price", "customers"),
        measure("price_change_rebates", "Introductory rebates", "currency per month"),
    )

    @classmethod
    def check(cls, params: dict[str, Any]) -> str | None:
        problem = super().check(params)
        if problem:
            return problem
        if params["new_customers_only"] and params["change"] >= 0:
            return (
                f"change: must be < 0 with new_customers_only (an introductory discount); "
                f"got {params['change']!r}"
            )
        return None

    @property
    def intro_only(self) -> bool:
        return bool(self.params["new_customers_only"])

    def plan(self, view: MarketView) -> Plan | None:
        """A price move changes the firm's price; an introductory discount does not."""
        return None if self.intro_only else Plan(price_factor=1.0 + self.params["change"])

    def on_intro(self, view: MarketView, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` pay the introductory price this month."""
        table = view.customers
        return (
            (table.acquired_month[rows] >= self.start_month)
            & (table.times_returned[rows] == 0)
            & (table.tenure_months[rows] < self.params["intro_months"])
        )

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects | None:
        """Customers on the introductory discount see the lower price and get the rebate."""
        if not self.intro_only:
            return None
        change = self.params["change"]
        intro = self.on_intro(view, rows)
        value = (
            -view.price_weight * view.price_index * change * view.effective_price_sensitivity(rows)
        )
        return Effects(
            value=np.where(intro, value, 0).astype(np.float32),
            reasons={"price": np.where(intro, np.float32(1.0 + change), np.float32(1))},
            # The rebate: -change x the bill, booked as programme cost (revenue stays at list).
            cost_share_of_revenue=np.where(intro, np.float32(-change), np.float32(0)),
        )

    def report(self, view: MarketView) -> dict[str, float]:
        effects = view.own_effects()
        if effects is None or effects.cost_share_of_revenue is None:
            return {"price_change_intro_customers": 0.0, "price_change_rebates": 0.0}
        rows = view.month_customers[effects.cost_share_of_revenue > 0]
        rebates = -self.params["change"] * view.customers.revenue[rows].astype(np.float64).sum()
        return {
            "price_change_intro_customers": float(rows.size),
            "price_change_rebates": float(rebates),
        }
