"""MarketView: everything a strategy may read or do, and nothing more.

A strategy sees the market through its own view: the customer table, the
month, a random stream of its own, and a few services of the model (charge a
cost, take customers back, end relationships, put prospects off, expected
CLV). It never holds the model, so what a strategy can change is listed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from crmsim.engine.customers import CustomerTable
    from crmsim.engine.model import CRMModel
    from crmsim.rules.acquisition import Channel
    from crmsim.strategies.base import Strategy
    from crmsim.strategies.effects import Effects


class MarketView:
    """One strategy's window on the market.

    Args:
        model: The running model.
        strategy: The strategy this view belongs to.
        stream: Name of the strategy's own random stream (the same whatever else runs).
    """

    def __init__(self, model: CRMModel, strategy: Strategy, stream: str) -> None:
        self._model = model
        self._strategy = strategy
        self.rng: np.random.Generator = model.strategy_rng(stream)
        """The strategy's own random stream."""

    # ------------------------------------------------------------------ reading
    @property
    def customers(self) -> CustomerTable:
        """The customer table (strategies write only their own columns: ``member``,
        ``opted_in``)."""
        return self._model.customers

    @property
    def month(self) -> int:
        """The month being simulated (0 = the first)."""
        return self._model.month

    @property
    def size(self) -> int:
        """Rows of the table: the people in the market and those kept for the people who
        will enter it later (a per-person array of a strategy has this length)."""
        return self._model.customers.size

    def per_market(self, per_1000_people: float | None) -> float | None:
        """An amount given per 1,000 people (a ``..._per_1000_people`` parameter) for this
        market: x ``simulation.customers`` / 1,000, the people at month 0 (None stays None)."""
        if per_1000_people is None:
            return None
        return per_1000_people * self._model.customers.initial_people / 1000.0

    @property
    def scenario_source(self) -> str:
        """File the scenario came from, for error messages."""
        return self._model.scenario.source

    @property
    def channels(self) -> list[Channel]:
        """The scenario's acquisition channels (by code)."""
        return self._model.funnel.channels

    @property
    def channels_this_month(self) -> list[Channel]:
        """The channels with this month's budget shares (after every plan)."""
        return self._model.firm.channels

    @property
    def acquisition_budget(self) -> float:
        """This month's acquisition budget, currency."""
        return self._model.firm.acquisition_budget_per_month

    @property
    def referral_code(self) -> int:
        """Source code of prospects referred by word of mouth."""
        return self._model.funnel.referral_code

    @property
    def referrals_per_month_by_tier(self) -> np.ndarray:
        """Word of mouth of each rung of the ladder, prospects per month (a copy)."""
        return self._model.ladder.referrals_per_month.copy()

    @property
    def monthly_discount_rate(self) -> float:
        """The firm's discount rate per month (realised CLV is discounted at it)."""
        return self._model.monthly_discount_rate

    @property
    def price_index(self) -> float:
        """The firm's price index this month (x market price)."""
        return self._model.firm.price_index

    @property
    def price_weight(self) -> float:
        """Value a fully price-sensitive customer loses per unit of price above market."""
        return self._model.scenario.params.firm.price_weight

    @property
    def competitor_offer_strength(self) -> float:
        """Chance a fully price-sensitive customer accepts the competitor's offer."""
        return self._model.competitor.offer_strength

    @property
    def market_mean_order_value(self) -> float:
        """Mean spend per purchase over everyone in the market, currency."""
        return self._model.market_mean_order_value

    @property
    def recoverability(self) -> np.ndarray:
        """Relative chance of return by reason code (a copy; fired customers 0)."""
        return self._model.relationships.recoverability.copy()

    @property
    def new_customers(self) -> np.ndarray:
        """Rows of this month's first purchases."""
        return self._model.month_rows.new

    @property
    def month_customers(self) -> np.ndarray:
        """Rows of the month's customers: active after acquisition, newcomers included."""
        return self._model.month_rows.customers

    @property
    def paying_customers(self) -> np.ndarray:
        """Rows of the customers who paid this month (known once they have paid)."""
        return self._model.month_rows.payers

    def draws(self) -> np.ndarray:
        """A fresh uniform draw in [0, 1) per person from the strategy's own stream.

        Drawing for everyone keeps each person's luck the same across the
        scenarios of a comparison (common random numbers).
        """
        return self.rng.random(self.size, dtype=np.float32)

    def effective_price_sensitivity(self, rows: np.ndarray) -> np.ndarray:
        """Price sensitivity of each customer on their current rung."""
        return self._model.effective_price_sensitivity(rows)

    def expected_spend(self, rows: np.ndarray) -> np.ndarray:
        """Each of the firm's customers' expected spend with it in a month at the market
        price, currency, as the firm reckons it.

        Where the firm sees every end: at the share of wallet of their rung, before any
        strategy's effect. A retailer that estimates reads it from its records: the
        BG/NBD's expected purchases next month of a customer alive now x the Gamma-Gamma's
        expected spend per purchase (``FirmKnowledge.expected_revenue_per_month``: at the
        prices and shares of wallet of their purchases so far), taken to the market price
        at this month's price index.
        """
        if self.sees_every_end:
            return self._model.valuation.expected_spend(rows, None)
        revenue = self._model.knowledge.expected_revenue_per_month(rows)
        return (revenue / self.price_index).astype(np.float32)

    def share_of_wallet(self, rows: np.ndarray) -> np.ndarray:
        """Share of each active customer's category spend the firm gets now."""
        return self._model.share_of_wallet(rows)

    def expected_clv(self, rows: np.ndarray) -> np.ndarray:
        """Expected (prospective) CLV of active customers ``rows`` as things stand, as the
        firm reckons it (``firm.knowledge``: its estimates, or the truth), currency."""
        return self._model.firm_valuation.expected_clv(rows)

    @property
    def sees_every_end(self) -> bool:
        """Whether the firm sees every customer who leaves, and why (contractual customers
        cancel; the oracle reads the truth); False for a retailer that estimates, which
        sees only that purchases stop."""
        return not self._model.knowledge.reads_purchases

    def firm_customers(self) -> np.ndarray:
        """Rows of the firm's customers as it knows them (``firm.knowledge``): the active
        customers, except for a retailer that estimates, which cannot see who has silently
        stopped buying and counts everyone who has bought and whom it has not fired
        (``crmsim.engine.knowledge.FirmKnowledge.customers``). Strategies choose whom to
        rank, fire or favour among these."""
        return self._model.knowledge.customers()

    def months_as_customer(self, rows: np.ndarray) -> np.ndarray:
        """How long the firm has known each of its customers ``rows``, months (tenure; for a
        retailer that estimates, the months since the first purchase)."""
        return self._model.knowledge.months_as_customer(rows)

    def months_since_purchase(self, rows: np.ndarray) -> np.ndarray:
        """Months since each of the firm's customers ``rows`` last bought, as the firm's
        records say (0 for subscribers, who pay every month)."""
        return self._model.knowledge.months_since_purchase(rows)

    def probability_alive(self, rows: np.ndarray) -> np.ndarray:
        """The firm's chance that each of its customers ``rows`` is still a customer now
        (1 where it sees every end: contractual customers, or the truth)."""
        return self._model.knowledge.probability_alive(rows)

    def return_factor(self, rows: np.ndarray) -> np.ndarray | None:
        """What every running strategy does to the chance that defectors ``rows`` come back."""
        return self._model.return_factor(rows)

    def own_effects(self) -> Effects | None:
        """This strategy's effects on the month's customers (``month_customers``)."""
        return self._model.month_effects_of(self._strategy)

    # ------------------------------------------------------------------- doing
    def charge(self, rows: np.ndarray, amount: Any, kind: str = "programme") -> None:
        """Spend ``amount`` (per customer, currency) on each customer in ``rows``.

        The cost is charged to those customers (their realised value falls) and
        booked in this month's accounts under ``kind`` (see
        ``crmsim.vocabulary.COST_KINDS``).
        """
        self._model.books.charge(rows, amount, kind)

    def reacquire(self, rows: np.ndarray, cost_per_customer: Any) -> None:
        """Win back defected customers ``rows`` now; each is charged ``cost_per_customer``."""
        self._model.relationships.reacquire(rows, cost_per_customer, won_back=True)

    def end_relationships(self, rows: np.ndarray) -> None:
        """End the relationships with the firm's customers ``rows`` (fired: they never
        return; those a retailer did not know had left are written off)."""
        self._model.relationships.end(rows)

    def deter_prospects(self, people: int, prospects_per_person: float) -> int:
        """What ``people`` say puts prospects off (each puts off ``prospects_per_person``
        on average); returns the number deterred, also counted in the month's record."""
        return self._model.funnel.deter_prospects(self.rng, people, prospects_per_person)
