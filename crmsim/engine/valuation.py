"""What the firm's active customers are worth as things stand.

The engine values customers every month (the value of the customer base in
the monthly record) and strategies value them when they decide (whom to
fire, whom to focus on). Both go through one :class:`Valuation`, so the
expected margin, retention and CLV of a customer are computed in one place:

- **expected margin next month**: gross margin on expected spend (order value
  x purchase rate x current share of wallet x price) less the cost to serve
  and what running strategies spend on the customer;
- **expected retention**: the chance of still being a customer next month,
  as the firm knows it (``crmsim.engine.knowledge``);
- **expected CLV** = margin x the margin multiple, the expected discounted
  months of margin still to come, first as the firm's ``margin_timing`` says.
  With ``firm.knowledge: estimated`` the firm's sBG fit gives it from each
  customer's renewals n: 1 + DERL(n) / (1 + i) when margins are paid at month
  start, DERL(n) / (1 + i) at month end. With ``oracle`` it is the truth's constant
  retention r: (1 + i) / (1 + i - r) at month start, r / (1 + i - r) at month
  end (``crmsim.economics.expected_clv``). A retailer that estimates reckons from
  its sales records instead (BG/NBD and Gamma-Gamma): expected margin from its
  expected purchases and spend per purchase, and expected CLV = P(alive) x (gross
  margin x discounted expected purchases - costs x discounted expected months),
  ``crmsim.engine.knowledge``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from crmsim.analytic import margin_multiple_at
from crmsim.compiled import ABSENT, compiled
from crmsim.economics import retention_after
from crmsim.rules import purchasing
from crmsim.strategies.effects import NO_EFFECTS, Combined

if TYPE_CHECKING:
    from crmsim.engine.knowledge import FirmKnowledge
    from crmsim.engine.model import CRMModel


class Valuation:
    """The firm's reckoning of its customers' value, read from the live market.

    Args:
        model: The running model (its table, ladder, firm and discount rate).
        effects_on: Asks the running strategies, now, for their effects on some rows.
        knowledge: What the future of each customer is reckoned from
            (``crmsim.engine.knowledge.FirmKnowledge``): the firm's estimates, for what
            the firm decides, or the truth, for the lab's measures.
    """

    def __init__(
        self,
        model: CRMModel,
        effects_on: Callable[[np.ndarray], Combined],
        knowledge: FirmKnowledge,
    ) -> None:
        self._model = model
        self._effects_on = effects_on
        self.knowledge = knowledge

    def spend_factor(self, rows: np.ndarray, strategy_spend: np.ndarray | None) -> np.ndarray:
        """How much more than their basic share of wallet each customer buys now."""
        model = self._model
        return purchasing.spend_factor(
            model.customers, rows, model.ladder.spend_multiplier, strategy_spend
        )

    def expected_spend(self, rows: np.ndarray, strategy_spend: np.ndarray | None) -> np.ndarray:
        """Expected spend with the firm next month at today's share of wallet, currency."""
        model = self._model
        return purchasing.expected_spend(
            model.customers,
            rows,
            model.ladder.spend_multiplier,
            strategy_spend,
            model.non_contractual,
        )

    def share_of_wallet(self, rows: np.ndarray) -> np.ndarray:
        """Share of each customer's category spend the firm gets now (ladder and strategies)."""
        spend = self._effects_on(rows).spend
        return self._model.customers.base_share_of_wallet[rows] * self.spend_factor(rows, spend)

    def expected_margin_per_month(
        self, rows: np.ndarray, effects: Combined | None = None
    ) -> np.ndarray:
        """Expected profit each active customer brings next month at today's spend, currency.

        Args:
            rows: Active customers.
            effects: The strategies' effects on ``rows``; None asks them now.
        """
        if effects is None:
            effects = self._effects_on(rows)
        model = self._model
        firm = model.firm
        if self.knowledge.reads_purchases:
            # The firm's reckoning from what each customer has bought, if still alive.
            revenue = self.knowledge.expected_revenue_per_month(rows).astype(np.float32)
        else:
            revenue = self.expected_spend(rows, effects.spend) * np.float32(firm.price_index)
        margin = revenue * np.float32(firm.margin_share) - np.float32(firm.cost_to_serve_per_month)
        for strategy_effects in effects.costs.values():
            cost = strategy_effects.cost(revenue)
            if cost is not None:
                margin -= cost
        return margin

    def expected_retention(self, rows: np.ndarray) -> np.ndarray:
        """Each active customer's chance of still being a customer next month."""
        return self.knowledge.expected_retention(rows)

    def expected_clv(self, rows: np.ndarray, effects: Combined | None = None) -> np.ndarray:
        """Expected (prospective) CLV of active customers ``rows``, currency.

        Args:
            rows: Active customers.
            effects: The strategies' effects on ``rows``; None asks them now.
        """
        knowledge = self.knowledge
        if effects is None:
            effects = self._effects_on(rows)
        if self._reckons_in_one_pass(effects):
            return self._truth_clv(rows)
        margin = self.expected_margin_per_month(rows, effects)
        months = knowledge.margin_multiple(rows)
        clv = margin * months
        if knowledge.reads_purchases:
            # Costs come by the month alive, gross margin by the purchase, and purchases
            # thin out faster than months (``FirmKnowledge.purchase_multiple``).
            gross = knowledge.expected_revenue_per_month(rows) * self._model.firm.margin_share
            clv = clv + gross * (knowledge.purchase_multiple(rows) - months)
        return clv

    def _reckons_in_one_pass(self, effects: Combined) -> bool:
        """Whether the CLV of customers is the truth's of subscribers on the firm's own
        terms (no strategy's spend or cost), which ``_truth_clv`` reckons in one pass."""
        model = self._model
        table = model.customers
        return (
            self.knowledge.oracle
            and not self.knowledge.reads_purchases
            and not model.non_contractual
            and effects.spend is None
            and not effects.costs
            and table.order_value.dtype == table.churn_hazard.dtype == np.float32
            and model.ladder.spend_multiplier.dtype == np.float32
        )

    def _truth_clv(self, rows: np.ndarray) -> np.ndarray:
        """Expected CLV of subscribers ``rows`` as the truth reckons it, with no strategy's
        spend or cost: the margin (``expected_margin_per_month``) times the margin multiple
        of each one's retention (``FirmKnowledge.margin_multiple``), in one compiled pass
        over the customers, bit for bit as those give it."""
        model = self._model
        table = model.customers
        firm = model.firm
        clv = np.empty(rows.size, np.float32)
        in_range = _truth_clv(
            table.order_value,
            table.tier,
            table.base_share_of_wallet,
            table.churn_hazard,
            rows,
            model.ladder.spend_multiplier,
            np.float32(firm.price_index),
            np.float32(firm.margin_share),
            np.float32(firm.cost_to_serve_per_month),
            np.float32(1.0 + model.monthly_discount_rate),
            self.knowledge.timing == "start",
            clv,
        )
        if not in_range:  # a hazard that is not a number: margin_multiple's own refusal
            raise ValueError("retention_rate must satisfy 0 <= r < 1 for every customer")
        return clv

    def customer_equity(self, rows: np.ndarray | None = None) -> float:
        """Value of the customer base now: the summed expected CLV of the customers (None:
        the customers as this view knows them, ``FirmKnowledge.customers``)."""
        if rows is None:
            rows = self.knowledge.customers()
        return float(self.expected_clv(rows).sum(dtype=np.float64))

    def month_end_clv(
        self, active: np.ndarray, month_customers: np.ndarray, month_effects: Combined
    ) -> np.ndarray:
        """Expected CLV of the customers active at month end.

        The month's customers are valued with the month's effects (the same the
        books used); those who came back at month end with fresh ones.

        Args:
            active: Rows active at month end.
            month_customers: The month's customers (sorted rows).
            month_effects: The strategies' effects on ``month_customers``.
        """
        if month_effects is NO_EFFECTS or active.size == 0:
            return self.expected_clv(active, NO_EFFECTS)
        stayed = np.isin(active, month_customers, assume_unique=True)
        clv = np.empty(active.size, np.float32)
        kept = active[stayed]
        clv[stayed] = self.expected_clv(
            kept, month_effects.subset(np.searchsorted(month_customers, kept))
        )
        if not stayed.all():
            back = active[~stayed]
            clv[~stayed] = self.expected_clv(back)
        return clv


@compiled
def _truth_clv(
    order_value,
    tier,
    base_share_of_wallet,
    churn_hazard,
    rows,
    spend_multiplier,
    price,
    margin_share,
    cost_to_serve,
    one_plus_rate,
    start,
    clv,
):
    # Each step in float32, as the numpy expressions of the general path compute it.
    one, highest = np.float32(1.0), np.float32(0.999)
    for i in range(rows.size):
        row = rows[i]
        # A subscriber's expected spend (purchasing.expected_spend): one bill a month.
        spend = (order_value[row] * one) * purchasing.spend_factor_of(
            i, row, tier, base_share_of_wallet, spend_multiplier, ABSENT, False
        )
        margin = (spend * price) * margin_share - cost_to_serve
        retention = retention_after(churn_hazard[row], one, highest)
        if not (retention >= 0.0 and retention < 1.0):
            return False
        clv[i] = margin * margin_multiple_at(retention, one_plus_rate, start)
    return True
