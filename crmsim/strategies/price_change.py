"""Price change: a discount or a price rise, against customers' price sensitivity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.strategies.base import TIMING, Strategy, register
from crmsim.vocabulary import ACTIVE

if TYPE_CHECKING:
    from crmsim.model import CRMModel


@register
class PriceChange(Strategy):
    """Move the firm's price by ``change`` (-0.1 = a 10% discount, +0.05 = a 5% rise).

    Course concept: price sensitivity and price defectors; the financial
    retention bond (a lower price) and its cost; long-term customers are less
    price sensitive (the ladder's ``price_sensitivity_multiplier``).

    How price acts in this model, which is what a student should check: the
    price index multiplies (1) every bill, so revenue per customer moves with
    the price one for one; (2) the value a price-sensitive customer sees
    (``firm.price_weight`` x (price index - 1) x their effective price
    sensitivity), so a rise lowers satisfaction (more service defection, fewer
    promotions up the ladder) and a discount raises it; (3) the chance that the
    competitor's offers win a customer (price defection), which scales with the
    price index. There is no demand curve: prospects convert at their
    channel's rate whatever the price and a customer's share of wallet does not
    respond to price, so a discount does not win volume directly. It wins
    volume only by keeping customers longer (fewer price and service
    defections) and by the satisfied climbing the ladder, where they buy more
    of their wallet; each pays the lower price on every bill, so a discount
    usually costs more margin than the retention it buys, and a rise earns
    margin at the cost of customers, mostly the price-sensitive ones.

    Introductory discount (``new_customers_only``, needs a discount): only
    customers in their first ``intro_months`` months after a first purchase made
    while the strategy runs (not returning customers) get it, and the firm's
    list price stays. The firm has one price index, so the discount is given as
    a rebate of ``-change`` x their bill, booked as programme cost (revenue
    stays at list price); such a customer sees the value of the lower price and
    the competitor's offers win them as if the price were lower. Because
    acquisition does not respond to price, the introductory discount does not
    bring more customers: it only keeps new ones a little longer.

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
    measures: ClassVar[tuple[str, ...]] = ("price_change_intro_customers", "price_change_rebates")

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

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._intro_at_start = np.zeros(0, np.int64)

    @property
    def intro_only(self) -> bool:
        return bool(self.params["new_customers_only"])

    def price_factor(self, model: CRMModel) -> float | None:
        return None if self.intro_only else 1.0 + self.params["change"]

    def on_intro(self, model: CRMModel, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` pay the introductory price this month."""
        table = model.customers
        return (
            (table.acquired_month[rows] >= self.start_month)
            & (table.times_returned[rows] == 0)
            & (table.tenure_months[rows] < self.params["intro_months"])
        )

    def after_acquisition(self, model: CRMModel, converted: np.ndarray) -> None:
        if not self.intro_only:
            return
        active = np.flatnonzero(model.customers.stage == ACTIVE)
        self._intro_at_start = active[self.on_intro(model, active)]

    def extra_value(self, model: CRMModel, rows: np.ndarray) -> np.ndarray | None:
        """The value of the lower price to customers on the introductory discount."""
        if not self.intro_only:
            return None
        gain = (
            -model.scenario.params.firm.price_weight
            * model.firm.price_index
            * self.params["change"]
            * model.effective_price_sensitivity(rows)
        )
        return np.where(self.on_intro(model, rows), gain, 0).astype(np.float32)

    def reason_factors(self, model: CRMModel, rows: np.ndarray) -> dict[str, np.ndarray] | None:
        if not self.intro_only:
            return None
        factor = np.where(
            self.on_intro(model, rows), np.float32(1.0 + self.params["change"]), np.float32(1)
        )
        return {"price": factor}

    def costs(self, model: CRMModel, rows: np.ndarray, revenue: np.ndarray) -> np.ndarray | None:
        """The introductory rebate: ``-change`` x the bill of customers on the discount."""
        if not self.intro_only:
            return None
        rebate = np.float32(-self.params["change"]) * revenue
        return np.where(self.on_intro(model, rows), rebate, np.float32(0)).astype(np.float32)

    def report(self, model: CRMModel) -> dict[str, float]:
        rows = self._intro_at_start
        rebates = -self.params["change"] * model.customers.revenue[rows].astype(np.float64).sum()
        return {
            "price_change_intro_customers": float(rows.size),
            "price_change_rebates": float(rebates) if self.intro_only else 0.0,
        }
