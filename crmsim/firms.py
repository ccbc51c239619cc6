"""The firm and its competitor: the few agents who act on the market each month.

Customers are many and live in the columnar table; firms are few, so they are
ordinary Mesa agents with their own ``step``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import mesa
import numpy as np

from crmsim.rules.acquisition import Channel
from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY, Strategy

if TYPE_CHECKING:
    from crmsim.model import CRMModel


class Firm(mesa.Agent):
    """The firm whose customers we follow.

    Attributes:
        price_index: Price relative to the market price.
        gross_margin: Gross margin on sales (share of revenue).
        cost_to_serve_per_month: Cost of serving one customer for a month, currency.
        service_quality: Service delivered, value units.
        product_quality: Product delivered, value units.
        quality_improvement_per_month: How fast quality improves, value units per month.
        acquisition_budget_per_month: Spend on acquisition channels each month, currency.
        strategies: The strategies the scenario turned on.
    """

    def __init__(self, model: CRMModel) -> None:
        super().__init__(model)
        firm = model.scenario.params.firm
        self.list_price_index: float = firm.price_index
        self.price_index: float = firm.price_index
        self.gross_margin: float = firm.gross_margin
        self.cost_to_serve_per_month: float = firm.cost_to_serve_per_month
        self.service_quality: float = firm.service_quality
        self.product_quality: float = firm.product_quality
        self.quality_improvement_per_month: float = firm.quality_improvement_per_month
        self.base_acquisition_budget: float = model.scenario.params.acquisition.budget_per_month
        self.acquisition_budget_per_month: float = self.base_acquisition_budget
        self.channels: list[Channel] = list(model.channels)
        self.strategies: list[Strategy] = [
            REGISTRY[name](params) for name, params in model.scenario.data["strategies"].items()
        ]

    @property
    def delivered_quality(self) -> float:
        """Service plus product quality, value units."""
        return self.service_quality + self.product_quality

    def running_strategies(self) -> list[Strategy]:
        """Strategies that act this month."""
        return [s for s in self.strategies if s.is_running(self.model.month)]

    def step(self) -> None:
        """Improve what the firm delivers, set this month's price and acquisition plan,
        then let each running strategy act."""
        self.service_quality += self.quality_improvement_per_month
        running = self.running_strategies()
        self.price_index = self.list_price_index
        self.acquisition_budget_per_month = self.base_acquisition_budget
        shares = {c.name: c.budget_share for c in self.model.channels}
        for strategy in running:
            factor = strategy.price_factor(self.model)
            if factor is not None:
                self.price_index *= factor
            plan = strategy.acquisition_plan(self.model) or {}
            self.acquisition_budget_per_month *= plan.get("budget_factor", 1.0)
            shares.update(plan.get("budget_shares", {}))
        self.channels = [replace(c, budget_share=shares[c.name]) for c in self.model.channels]
        for strategy in running:
            strategy.act(self.model)


class Competitor(mesa.Agent):
    """A rival that makes offers to the firm's customers and sells a product of its own.

    Attributes:
        reach_per_month: Share of the firm's customers offered a deal each month.
        offer_strength: Chance a fully price-sensitive customer takes the deal.
        strength_growth_per_year: Yearly growth of the offer strength.
        product_advantage_rate_per_month: Monthly hazard of product defection.
        poached_total: Customers won from the firm so far.
    """

    def __init__(self, model: CRMModel) -> None:
        super().__init__(model)
        rival = model.scenario.params.competitor
        self.reach_per_month: float = rival.reach_per_month
        self.base_offer_strength: float = rival.offer_strength
        self.offer_strength: float = rival.offer_strength
        self.strength_growth_per_year: float = rival.strength_growth_per_year
        self.product_advantage_rate_per_month: float = rival.product_advantage_rate_per_month
        self.value_focus: float = rival.value_focus
        self.poached_total = 0
        self.strategies: list[Strategy] = [
            COMPETITOR_REGISTRY[name](params)
            for name, params in model.scenario.data["competitor_strategies"].items()
        ]

    def running_strategies(self) -> list[Strategy]:
        """The competitor's strategies that act this month."""
        return [s for s in self.strategies if s.is_running(self.model.month)]

    def attention(self, model: CRMModel, rows: np.ndarray) -> float:
        """How much more the competitor goes after this firm's customers than an average base.

        A rival looks for valuable customers: the richer the firm's base (mean spend of its
        active customers against the market's), the harder it is courted, to the power
        ``value_focus``. A base of only high-value customers draws more poaching.
        """
        if self.value_focus == 0 or rows.size == 0 or model.market_mean_order_value <= 0:
            return 1.0
        base = float(model.customers.order_value[rows].mean(dtype=np.float64))
        return (base / model.market_mean_order_value) ** self.value_focus

    @property
    def poaching_chance(self) -> float:
        """Chance this month that a fully price-sensitive customer is poached."""
        return self.reach_per_month * self.offer_strength

    def step(self) -> None:
        """Set this month's offer: the strength grows (or fades) year on year."""
        years = self.model.month / 12.0
        growth = max(0.0, 1.0 + self.strength_growth_per_year)
        self.offer_strength = min(1.0, self.base_offer_strength * growth**years)
        for strategy in self.running_strategies():
            strategy.act(self.model)
