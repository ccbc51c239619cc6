"""Loyalty (frequency) programme: rewards that keep frequent, heavy buyers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.strategies.base import TIMING, Strategy, register
from crmsim.vocabulary import ACTIVE, TIERS

if TYPE_CHECKING:
    from crmsim.model import CRMModel


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

    def act(self, model: CRMModel) -> None:
        """Invite customers on the enrolment rung and above; some join."""
        table = model.customers
        lowest = TIERS.index(self.params["enrolment_tier"])
        invited = np.flatnonzero((table.stage == ACTIVE) & ~table.member & (table.tier >= lowest))
        if invited.size == 0:
            return
        chance = np.full(invited.size, self.params["enrolment_rate_per_month"], np.float32)
        fee = self.params["fee_per_month"]
        if fee > 0:
            bill = table.order_value[invited]
            chance *= 1.0 - table.price_sensitivity[invited] * fee / (fee + bill)
        joins = invited[model.draws("strategies")[invited] < chance]
        table.member[joins] = True

    def churn_factor(self, model: CRMModel, rows: np.ndarray) -> np.ndarray | None:
        members = model.customers.member[rows]
        return np.where(members, np.float32(1.0 - self.params["churn_reduction"]), np.float32(1))

    def spend_factor(self, model: CRMModel, rows: np.ndarray) -> np.ndarray | None:
        members = model.customers.member[rows]
        return np.where(members, np.float32(1.0 + self.params["spend_uplift"]), np.float32(1))

    def extra_value(self, model: CRMModel, rows: np.ndarray) -> np.ndarray | None:
        members = model.customers.member[rows]
        return np.where(members, np.float32(self.params["value_bonus"]), np.float32(0))

    def costs(self, model: CRMModel, rows: np.ndarray, revenue: np.ndarray) -> np.ndarray | None:
        """Rewards on members' spend plus the running cost, net of the fee."""
        table = model.customers
        members = table.member[rows]
        rungs_above = np.maximum(
            table.tier[rows] - TIERS.index(self.params["enrolment_tier"]), 0
        ).astype(np.float32)
        reward_rate = self.params["reward_rate"] + self.params["tier_reward_step"] * rungs_above
        per_member = (
            self.params["cost_per_member_per_month"] - self.params["fee_per_month"]
        ) + reward_rate * revenue
        return np.where(members, per_member, np.float32(0)).astype(np.float32)
