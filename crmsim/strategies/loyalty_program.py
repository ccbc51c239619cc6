"""Loyalty (frequency) programme: rewards that keep frequent, heavy buyers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.strategies.base import TIMING, Strategy, register
from crmsim.strategies.effects import Effects
from crmsim.vocabulary import ACTIVE, TIERS

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


@register
class LoyaltyProgram(Strategy):
    """A frequency programme with club membership.

    Course concept: retention through loyalty programmes (a financial bond).
    Customers who reach ``enrolment_tier`` on the ladder are invited and join
    with a monthly chance; a fee-based club puts off price-sensitive customers.
    Members get rewards worth ``reward_rate`` of what they spend (plus
    ``tier_reward_step`` for each rung above the enrolment rung: tiers of
    benefits) and the recognition of membership; in return they switch less (``churn_reduction``)
    and buy a larger share of their wallet (``spend_uplift``). The firm pays the
    rewards and a running cost per member, less any membership fee.
    """

    name: ClassVar[str] = "loyalty_program"
    concept: ClassVar[str] = "Retention: loyalty / frequency programme (financial bond)"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "enrolment_tier": Field(
            "choice", "customer", "rung", "Lowest ladder rung invited to join.", choices=TIERS
        ),
        "enrolment_rate_per_month": Field(
            "probability", 0.3, "per month", "Chance an invited customer joins each month."
        ),
        "fee_per_month": Field(
            "nonnegative", 0.0, "currency per member-month", "Club fee (0 = open club)."
        ),
        "reward_rate": Field(
            "share", 0.02, "share of member spend", "Rewards given back to members."
        ),
        "cost_per_member_per_month": Field(
            "nonnegative", 0.5, "currency per member-month", "Running cost of a member."
        ),
        "churn_reduction": Field(
            "share", 0.25, "share", "How much less members switch (0.25 = a quarter less)."
        ),
        "spend_uplift": Field(
            "nonnegative", 0.1, "share", "How much more of their wallet members spend."
        ),
        "value_bonus": Field(
            "number", 0.03, "value units", "Value members see in being recognised and rewarded."
        ),
        "tier_reward_step": Field(
            "share",
            0.005,
            "share of spend per rung",
            "Tiers of benefits: extra rewards for each rung above the enrolment rung.",
        ),
    }

    def act(self, view: MarketView) -> None:
        """Invite customers on the enrolment rung and above; some join."""
        table = view.customers
        lowest = TIERS.index(self.params["enrolment_tier"])
        draws = view.draws()
        invited = np.flatnonzero((table.stage == ACTIVE) & ~table.member & (table.tier >= lowest))
        if invited.size == 0:
            return
        chance = np.full(invited.size, self.params["enrolment_rate_per_month"], np.float32)
        fee = self.params["fee_per_month"]
        if fee > 0:
            bill = table.order_value[invited]
            chance *= 1.0 - table.price_sensitivity[invited] * fee / (fee + bill)
        joins = invited[draws[invited] < chance]
        table.member[joins] = True

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects:
        """Members switch less, spend more, feel recognised and cost their rewards."""
        p = self.params
        table = view.customers
        members = table.member[rows]
        rungs_above = np.maximum(table.tier[rows] - TIERS.index(p["enrolment_tier"]), 0).astype(
            np.float32
        )
        reward_rate = p["reward_rate"] + p["tier_reward_step"] * rungs_above
        zero = np.float32(0)
        return Effects(
            churn=np.where(members, np.float32(1.0 - p["churn_reduction"]), np.float32(1)),
            spend=np.where(members, np.float32(1.0 + p["spend_uplift"]), np.float32(1)),
            value=np.where(members, np.float32(p["value_bonus"]), zero),
            cost_per_month=np.where(
                members, np.float32(p["cost_per_member_per_month"] - p["fee_per_month"]), zero
            ),
            cost_share_of_revenue=np.where(members, reward_rate, zero).astype(np.float32),
        )
