"""The firm and its competitor: the few agents who act on the market each month.

Customers are many and live in the columnar table; the players are few, so
they are ordinary Mesa agents with their own ``step``. Both run strategies
the same way (:class:`Player`): each running strategy plans, then acts,
through its own :class:`~crmsim.strategies.view.MarketView`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import mesa
import numpy as np

from crmsim.compiled import sum_as_float64_at
from crmsim.rules.acquisition import Channel
from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY, Strategy
from crmsim.strategies.effects import Plan
from crmsim.strategies.view import MarketView

if TYPE_CHECKING:
    from crmsim.config.scenario import Scenario
    from crmsim.engine.model import CRMModel


class Player(mesa.Agent):
    """A player of the market that runs strategies (the firm or its competitor).

    Attributes:
        strategies: The strategies the scenario turned on for this player.
        views: Each strategy's view of the market, by position in ``strategies``.
    """

    stream_prefix: str = ""
    """Prefix of the strategies' own random streams (kept apart between players)."""

    def __init__(self, model: CRMModel, registry: dict[str, type[Strategy]], section: str) -> None:
        super().__init__(model)
        self.strategies: list[Strategy] = [
            registry[name](params) for name, params in model.scenario.strategies(section).items()
        ]
        self.views: list[MarketView] = [
            MarketView(model, strategy, f"{self.stream_prefix}{strategy.name}")
            for strategy in self.strategies
        ]
        self._running: list[tuple[Strategy, MarketView]] = []
        self._running_month: int | None = None

    def running(self) -> list[tuple[Strategy, MarketView]]:
        """The strategies that act this month, each with its view."""
        month = self.model.month
        if self._running_month != month:
            self._running = [
                (s, v)
                for s, v in zip(self.strategies, self.views, strict=True)
                if s.is_running(month)
            ]
            self._running_month = month
        return self._running

    def release(self) -> None:
        """Let go of the strategies (they keep per-person arrays of their own)."""
        self.strategies, self.views, self._running = [], [], []

    def start_strategies(self) -> None:
        """Let every strategy set up its per-person state (once, when the market exists)."""
        for strategy, view in zip(self.strategies, self.views, strict=True):
            strategy.start(view)

    def plans(self) -> list[Plan]:
        """This month's plans of the running strategies."""
        plans = []
        for strategy, view in self.running():
            plan = strategy.plan(view)
            if plan is not None:
                plan.check_aligned(self.model.customers.size, strategy.name)
                plans.append(plan)
        return plans

    def act(self) -> None:
        """Each running strategy acts, in the order the scenario lists them."""
        for strategy, view in self.running():
            strategy.act(view)


class Firm(Player):
    """The firm whose customers we follow.

    Attributes:
        price_index: Price relative to the market price, this month.
        gross_margin: Gross margin on sales at the market price (share of revenue).
        cost_to_serve_per_month: Cost of serving one customer for a month, currency.
        service_quality: Service delivered, value units.
        product_quality: Product delivered, value units.
        quality_improvement_per_month: How fast quality improves, value units per month.
        base_acquisition_budget: The scenario's acquisition budget for this market
            (``acquisition.budget_per_month_per_1000_people`` x the people of month 0 /
            1,000), currency per month.
        acquisition_budget_per_month: Spend on acquisition channels this month, currency.
        channels: The acquisition channels with this month's budget shares.
        plan: This month's combined plan of the running strategies.
    """

    def __init__(self, model: CRMModel) -> None:
        super().__init__(model, REGISTRY, "strategies")
        firm = model.scenario.params.firm
        self.list_price_index: float = firm.price_index
        self.price_index: float = firm.price_index
        self.gross_margin: float = firm.gross_margin
        self.cost_to_serve_per_month: float = firm.cost_to_serve_per_month
        self.service_quality: float = firm.service_quality
        self.product_quality: float = firm.product_quality
        self.quality_improvement_per_month: float = firm.quality_improvement_per_month
        self.base_acquisition_budget: float = (
            model.scenario.params.acquisition.budget_per_month_per_1000_people
            * model.customers.initial_people
            / 1000.0
        )
        self.acquisition_budget_per_month: float = self.base_acquisition_budget
        self.channels: list[Channel] = list(model.funnel.channels)
        self.plan = Plan()

    def revise_budgets(self, scenario: Scenario) -> None:
        """From now on, the acquisition budget and the running strategies' parameters of
        the revised ``scenario`` (``CRMModel.revise``, which allows only budgets to change,
        each read afresh every month)."""
        self.base_acquisition_budget = (
            scenario.params.acquisition.budget_per_month_per_1000_people
            * self.model.customers.initial_people
            / 1000.0
        )
        revised = scenario.strategies()
        for strategy in self.strategies:
            strategy.params = revised[strategy.name]

    @property
    def delivered_quality(self) -> float:
        """Service plus product quality, value units."""
        return self.service_quality + self.product_quality

    @property
    def margin_share(self) -> float:
        """Gross margin as a share of revenue at this month's price.

        The cost of goods is a cost per unit sold that does not move with price:
        at the market price it is ``1 - gross_margin`` of revenue, so at price
        index p the margin is 1 - (1 - gross_margin) / p of revenue (a 5% rise on
        a 35% margin gives 38.1%, a 10% cut 27.8%).
        """
        return 1.0 - (1.0 - self.gross_margin) / self.price_index

    def step(self) -> None:
        """Improve what the firm delivers, set this month's price and acquisition plan,
        then let each running strategy act."""
        self.service_quality += self.quality_improvement_per_month
        self.plan = combine_plans(self.plans())
        self.price_index = self.list_price_index * self.plan.price_factor
        self.acquisition_budget_per_month = self.base_acquisition_budget * self.plan.budget_factor
        if self.plan.budget_shares:
            shares = {c.name: c.budget_share for c in self.model.funnel.channels}
            shares.update(self.plan.budget_shares)
            self.channels = [
                replace(c, budget_share=shares[c.name]) for c in self.model.funnel.channels
            ]
        else:
            self.channels = self.model.funnel.channels
        self.act()


class Competitor(Player):
    """A rival that makes offers to the firm's customers and sells a product of its own.

    Attributes:
        reach_per_month: Share of the firm's customers offered a deal each month.
        offer_strength: Chance a fully price-sensitive customer takes the deal.
        strength_growth_per_year: Yearly growth of the offer strength.
        product_advantage_rate_per_month: Monthly hazard of product defection.
        poached_total: Customers won from the firm so far.
    """

    stream_prefix = "competitor_"

    def __init__(self, model: CRMModel) -> None:
        super().__init__(model, COMPETITOR_REGISTRY, "competitor_strategies")
        rival = model.scenario.params.competitor
        self.reach_per_month: float = rival.reach_per_month
        self.base_offer_strength: float = rival.offer_strength
        self.offer_strength: float = rival.offer_strength
        self.strength_growth_per_year: float = rival.strength_growth_per_year
        self.product_advantage_rate_per_month: float = rival.product_advantage_rate_per_month
        self.value_focus: float = rival.value_focus
        self.poached_total = 0
        self.held_attention: float | None = None
        """The attention held whatever the base becomes (a run-off, ``hold_attention``)."""

    def attention(self, rows: np.ndarray) -> float:
        """How much more the competitor goes after this firm's customers than an average base.

        A rival looks for valuable customers: the richer the firm's base (mean spend of its
        active customers against the market's), the harder it is courted, to the power
        ``value_focus``. A base of only high-value customers draws more poaching.
        """
        if self.held_attention is not None:
            return self.held_attention
        model = self.model
        if self.value_focus == 0 or rows.size == 0 or model.market_mean_order_value <= 0:
            return 1.0
        base = sum_as_float64_at(model.customers.order_value, rows) / rows.size
        return (base / model.market_mean_order_value) ** self.value_focus

    def hold_attention(self, rows: np.ndarray) -> None:
        """From now on the competitor courts the firm's customers as it courts ``rows`` now.

        A market run on without new customers (``crmsim.engine.run_off``) keeps its
        survivors, a richer base than a firm that goes on acquiring keeps, which would
        draw ever more poaching; the firm goes on acquiring, so its base's mix, and the
        competitor's interest in it, are held as they stand.
        """
        self.held_attention = self.attention(rows)

    @property
    def poaching_chance(self) -> float:
        """Chance this month that a fully price-sensitive customer is poached."""
        return self.reach_per_month * self.offer_strength

    def step(self) -> None:
        """Set this month's offer (its strength grows or fades year on year), then let each
        running strategy act."""
        years = self.model.month / 12.0
        growth = max(0.0, 1.0 + self.strength_growth_per_year)
        self.offer_strength = min(1.0, self.base_offer_strength * growth**years)
        if self.plans():
            raise TypeError("competitor strategies act on customers; they set no price or budget")
        self.act()


def combine_plans(plans: list[Plan]) -> Plan:
    """One plan from several: factors multiply, shares are overridden in order, rewards add."""
    combined = Plan()
    for plan in plans:
        combined = Plan(
            price_factor=combined.price_factor * plan.price_factor,
            budget_factor=combined.budget_factor * plan.budget_factor,
            budget_shares={**combined.budget_shares, **plan.budget_shares},
            referral_factor=combined.referral_factor * plan.referral_factor,
            referral_conversion_factor=combined.referral_conversion_factor
            * plan.referral_conversion_factor,
            referral_reward=combined.referral_reward + plan.referral_reward,
        )
    return combined
