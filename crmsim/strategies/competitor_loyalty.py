"""The competitor's loyalty programme: it keeps the customers it won from the firm."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import LOWER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register_competitor
from crmsim.strategies.effects import Effects
from crmsim.vocabulary import DEFECTED, PRICE, PRODUCT

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


@register_competitor
class CompetitorLoyaltyProgram(Strategy):
    """The competitor runs a loyalty programme of its own ("what if the competitor copies us").

    Course concept: retention bonds work for competitors too; a firm's
    defectors are the competitor's new customers, and reacquisition gets
    harder when the competitor holds on to them. Customers the competitor won
    from the firm (those away for price or product reasons) join its programme,
    each with chance ``enrolment_share`` (one draw per person from the
    strategy's own stream, so the same people join in every scenario with the
    same seed). While they are in it, their own chance of coming back to the
    firm (the natural return of lost customers) is cut by ``lock_in``; a
    firm's win-back campaign that calls customers back directly is not. The
    programme may also make the competitor's offers more attractive to the
    firm's customers: price and product defection are multiplied by
    ``1 + offer_boost``. It costs the firm nothing directly.

    Measure: ``competitor_loyalty_program_members`` (the firm's former customers
    in the competitor's programme at month end).
    """

    name: ClassVar[str] = "loyalty_program"
    concept: ClassVar[str] = "Reacquisition: the competitor's loyalty programme locks in its gains"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "enrolment_share": Field(
            "probability",
            0.7,
            "share of customers won",
            "Chance a customer the competitor won joins its programme.",
        ),
        "lock_in": Field(
            "share",
            0.5,
            "share",
            "How much less often a member of the competitor's programme comes back "
            "(0.5 = half as often).",
        ),
        "offer_boost": Field(
            "nonnegative",
            0.1,
            "share",
            "How much more often the firm's customers take the competitor's offers and "
            "product because of its programme (price and product defection).",
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure(
            "competitor_loyalty_program_members",
            "Former customers in the competitor's programme",
            "customers",
            LOWER,
        ),
    )

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.joins = np.zeros(0, bool)

    def start(self, view: MarketView) -> None:
        """Who would join the programme if the competitor won them: one draw per person."""
        self.joins = view.draws() < np.float32(self.params["enrolment_share"])

    def members(self, view: MarketView, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` (any people) are in the competitor's programme now."""
        table = view.customers
        reason = table.defection_reason[rows]
        won = (table.stage[rows] == DEFECTED) & ((reason == PRICE) | (reason == PRODUCT))
        return won & self.joins[rows]

    def return_factor(self, view: MarketView, rows: np.ndarray) -> np.ndarray:
        return np.where(
            self.members(view, rows), np.float32(1.0 - self.params["lock_in"]), np.float32(1)
        )

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects:
        """The programme makes the competitor's offers and product more attractive."""
        boost = np.full(rows.size, 1.0 + self.params["offer_boost"], np.float32)
        return Effects(reasons={"price": boost, "product": boost})

    def report(self, view: MarketView) -> dict[str, float]:
        everyone = np.arange(view.size)
        return {"competitor_loyalty_program_members": float(self.members(view, everyone).sum())}
