"""The competitor's poaching campaign: more and better offers, aimed at valuable customers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import LOWER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register_competitor
from crmsim.strategies.effects import Effects
from crmsim.vocabulary import ACTIVE

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


@register_competitor
class PoachingOffers(Strategy):
    """A competitor campaign that poaches the firm's customers with price offers.

    Course concept: price defectors (customers lost to lower prices elsewhere),
    and the risk of a base of high-value customers, whom competitors court
    hardest. While the campaign runs, the competitor makes more offers, or
    better ones: each customer's price-defection hazard is multiplied by
    ``1 + extra_poaching x (order value / market mean order value) ^ value_targeting``.
    With ``value_targeting`` 0 the campaign is untargeted (every customer's
    price defection rises by ``extra_poaching``); with 1 a customer who spends
    twice the market mean draws twice the extra offers. It acts on top of the
    competitor's own offers (``competitor`` section of the scenario) and is
    cut, like them, by the ladder and by the firm's bonds; it costs the firm
    nothing directly: the cost is the customers and margins lost.

    Measure: ``poaching_offers_mean_factor`` (mean multiplier of price defection
    over the firm's active customers at month end).
    """

    name: ClassVar[str] = "poaching_offers"
    concept: ClassVar[str] = "Defection: a competitor poaches with price offers (price defectors)"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "extra_poaching": Field(
            "nonnegative",
            1.0,
            "share",
            "Extra price defection the campaign causes for a customer of mean spend "
            "(1 = twice the competitor's usual poaching).",
        ),
        "value_targeting": Field(
            "nonnegative",
            1.0,
            "exponent",
            "How much the campaign is aimed at heavy spenders: the extra offers scale with "
            "(order value / market mean) to this power (0 = untargeted).",
            maximum=10.0,
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure("poaching_offers_mean_factor", "Mean multiplier of price defection", "x", LOWER),
    )

    def price_factor_of(self, view: MarketView, rows: np.ndarray) -> np.ndarray:
        """Multiplier of each customer's price-defection hazard."""
        mean = view.market_mean_order_value
        targeting = self.params["value_targeting"]
        if targeting == 0 or mean <= 0:
            weight = np.ones(rows.size, np.float32)
        else:
            weight = (view.customers.order_value[rows] / np.float32(mean)) ** np.float32(targeting)
        return (1.0 + np.float32(self.params["extra_poaching"]) * weight).astype(np.float32)

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects:
        """More (or better-aimed) offers raise price defection."""
        return Effects(reasons={"price": self.price_factor_of(view, rows)})

    def report(self, view: MarketView) -> dict[str, float]:
        active = np.flatnonzero(view.customers.stage == ACTIVE)
        if active.size == 0:
            return {"poaching_offers_mean_factor": float("nan")}
        return {"poaching_offers_mean_factor": float(self.price_factor_of(view, active).mean())}
