"""Referral programme: reward advocates for the new customers they bring."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from crmsim.config.fields import Field
from crmsim.measures import HIGHER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Plan

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


@register
class ReferralProgram(Strategy):
    """Reward advocates and raving fans for referrals that turn into customers.

    Course concept: acquisition by word of mouth and referrals from satisfied
    customers, the cheap way to win prospects (and the top rungs of the loyalty
    ladder, advocates and raving fans, who recommend the firm). With a reward
    on offer, advocates and raving fans make ``referral_factor`` times as many
    referrals, and a referred prospect, who comes with a friend's endorsement
    (and any welcome reward), converts ``conversion_boost`` more often. The
    firm pays ``reward_per_referral`` to the advocate for each referred
    prospect who makes a first purchase, plus ``reward_to_referred`` to the
    new customer; both are charged to the new customer as acquisition cost,
    so they count in that customer's lifetime value and in the cost per
    acquisition. Nothing is paid for referrals who never buy.

    Side effects: referred customers are people who resemble nobody in
    particular (referrals are drawn from all suspects), so they tend to be
    worth less than look-alike customers; and the programme only pays off if
    the base holds enough advocates, so it works best with strategies that
    lift customers up the ladder.

    Measures: ``referral_program_referred_customers`` (referred prospects who
    made a first purchase this month) and ``referral_program_rewards_paid``
    (currency).
    """

    name: ClassVar[str] = "referral_program"
    concept: ClassVar[str] = "Acquisition: referral rewards for advocates (word of mouth)"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "referral_factor": Field(
            "nonnegative",
            1.5,
            "x",
            "Referrals advocates and raving fans make, relative to no programme.",
        ),
        "conversion_boost": Field(
            "nonnegative",
            0.2,
            "share",
            "How much more often a referred prospect makes a first purchase (0.2 = 20% more).",
        ),
        "reward_per_referral": Field(
            "nonnegative",
            20.0,
            "currency per referred customer",
            "Reward paid to the advocate when a referred prospect makes a first purchase.",
        ),
        "reward_to_referred": Field(
            "nonnegative",
            0.0,
            "currency per referred customer",
            "Welcome reward for the referred new customer (its pull is in conversion_boost).",
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure(
            "referral_program_referred_customers",
            "Referred prospects who bought",
            "customers",
            HIGHER,
        ),
        measure("referral_program_rewards_paid", "Referral rewards paid", "currency per month"),
    )

    def plan(self, view: MarketView) -> Plan:
        """More referrals, referred prospects more likely to buy, a reward for each who does."""
        p = self.params
        return Plan(
            referral_factor=p["referral_factor"],
            referral_conversion_factor=1.0 + p["conversion_boost"],
            referral_reward=p["reward_per_referral"] + p["reward_to_referred"],
        )

    def report(self, view: MarketView) -> dict[str, float]:
        new = view.new_customers
        referred = int((view.customers.prospect_source[new] == view.referral_code).sum())
        reward = self.params["reward_per_referral"] + self.params["reward_to_referred"]
        return {
            "referral_program_referred_customers": float(referred),
            "referral_program_rewards_paid": float(reward * referred),
        }
