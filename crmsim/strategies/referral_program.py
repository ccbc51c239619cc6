"""Referral programme: reward advocates for the new customers they bring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.economics import realised_clv, referred_customers
from crmsim.measures import HIGHER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Plan
from crmsim.vocabulary import PROSPECT

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView

POOLED = (
    "treated_months",
    "holdout_months",
    "treated_referred",
    "holdout_referred",
)
"""Counts pooled since the programme started: eligible customer-months and the
referred customers they brought, of the customers offered the programme and of the
holdout."""


@register
class ReferralProgram(Strategy):
    """Reward advocates and raving fans for referrals that turn into customers.

    Course concept: acquisition by word of mouth and referrals from satisfied
    customers, the cheap way to win prospects (and the top rungs of the loyalty
    ladder, advocates and raving fans, who recommend the firm); the value of a
    customer's referrals (customer referral value); measuring what a programme
    adds. With a reward on offer, advocates and raving fans make
    ``referral_factor`` times as many referrals, and a referred prospect, who
    comes with a friend's endorsement (and any welcome reward), converts
    ``conversion_boost`` more often. The firm pays ``reward_per_referral`` to
    the advocate for each referred prospect who makes a first purchase, plus
    ``reward_to_referred`` to the new customer; both are charged to the new
    customer as acquisition cost, so they count in that customer's lifetime
    value and in the cost per acquisition. Nothing is paid for referrals who
    never buy. Referred customers were found to be more loyal and more
    valuable than others in a bank's referral programme (Schmitt, Skiera & Van
    den Bulte 2011, Journal of Marketing); here they are people who resemble
    nobody in particular (referrals are drawn from all suspects), so they tend
    to be worth less than look-alike customers, and the programme only pays off
    if the base holds enough advocates: it works best with strategies that lift
    customers up the ladder.

    **Customer referral value.** Every referred prospect is credited to the
    customer whose word of mouth brought them (drawn in proportion to each
    customer's referral rate; ``CustomerTable.referred_by``), with or without
    the programme. A customer's referral value is the realised CLV of the
    customers they brought (:func:`customer_referral_value`), after Kumar,
    Petersen & Leone (2007, Harvard Business Review; 2010, Journal of
    Marketing), who showed that the customers worth most as buyers are not the
    ones worth most as referrers.

    **Incrementality from a holdout.** Advocates refer friends without a
    reward too, so counting the referred customers overstates what the
    programme adds. A random ``holdout_share`` of the market (drawn once from
    the strategy's own stream) is not offered the programme: held-out
    advocates refer at the usual rate, their friends convert at the usual rate
    and nobody is paid for them. The measures compare the referred customers
    brought per eligible customer-month (a month as an active customer on a
    rung that refers, pooled since the programme started; referrals made
    before it are not counted) by those offered the programme and by the
    holdout; the difference is the programme's incremental referred customers
    per eligible customer-month, and its value the difference in customer
    referral value per eligible customer-month (realised so far, rewards
    included). 0 turns the holdout off and leaves these measures undefined.

    Whom the firm counts as eligible: its customers as it knows them
    (``MarketView.firm_customers``) on a rung that refers. A retailer that
    estimates cannot see who has silently stopped buying, so it counts them too
    (and would mail them the programme's terms): its referred customers per
    eligible customer-month are those its records can measure, lower than the
    truth would say, while only customers still there refer anyone (word of
    mouth comes from the active customers, ``crmsim.rules.acquisition``). The
    programme pays for referrals that buy, which the firm sees, so its costs need
    no view of who is still there.

    Measures: ``referral_program_referred_customers`` (referred prospects who
    made a first purchase this month), ``referral_program_rewards_paid``
    (currency), ``referral_program_referred_per_eligible`` and
    ``referral_program_referred_per_eligible_holdout`` (pooled),
    ``referral_program_incremental_referred``,
    ``referral_program_incremental_value`` (currency per eligible
    customer-month), ``referral_program_referrers`` (customers who have brought
    at least one referred customer) and ``referral_program_mean_crv`` (their mean
    customer referral value).
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
        "holdout_share": Field(
            "share",
            0.1,
            "share of customers",
            "Random holdout not offered the programme, to measure what it adds; 0 = none.",
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
        measure(
            "referral_program_referred_per_eligible",
            "Referred customers per eligible customer-month (offered, pooled)",
            "customers per customer-month",
            HIGHER,
        ),
        measure(
            "referral_program_referred_per_eligible_holdout",
            "Referred customers per eligible customer-month (holdout, pooled)",
            "customers per customer-month",
        ),
        measure(
            "referral_program_incremental_referred",
            "Incremental referred customers per eligible customer-month (vs holdout)",
            "customers per customer-month",
            HIGHER,
        ),
        measure(
            "referral_program_incremental_value",
            "Incremental referral value per eligible customer-month (vs holdout)",
            "currency per customer-month",
            HIGHER,
        ),
        measure(
            "referral_program_referrers",
            "Customers who brought a referred customer",
            "customers",
            HIGHER,
        ),
        measure(
            "referral_program_mean_crv",
            "Mean customer referral value of referrers",
            "currency per referrer",
            HIGHER,
        ),
    )

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.holdout = np.zeros(0, bool)
        self._terms: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._before = np.zeros(0, bool)
        self._started = False
        self._counted: list[np.ndarray] = []
        self._counted_month = -1
        self._month_referred = np.zeros(0, np.int64)
        self.totals = dict.fromkeys(POOLED, 0.0)

    def start(self, view: MarketView) -> None:
        """Draw the random holdout once: each person is in it with chance ``holdout_share``;
        the programme's terms per person (held-out people get none of them)."""
        p = self.params
        self.holdout = view.draws() < p["holdout_share"]
        if self.holdout.any():
            offered = ~self.holdout
            self._terms = (
                np.where(offered, np.float32(p["referral_factor"]), np.float32(1)),
                np.where(offered, np.float32(1.0 + p["conversion_boost"]), np.float32(1)),
                np.where(offered, p["reward_per_referral"] + p["reward_to_referred"], 0.0),
            )

    def plan(self, view: MarketView) -> Plan:
        """More referrals, referred prospects more likely to buy, a reward for each who
        does: for everyone but the holdout, by who made the referral."""
        p = self.params
        if self._terms is None:
            return Plan(
                referral_factor=p["referral_factor"],
                referral_conversion_factor=1.0 + p["conversion_boost"],
                referral_reward=p["reward_per_referral"] + p["reward_to_referred"],
            )
        factor, conversion, reward = self._terms
        return Plan(
            referral_factor=factor,
            referral_conversion_factor=conversion,
            referral_reward=reward,
        )

    def act(self, view: MarketView) -> None:
        """Count the month's eligible customers (the firm's, on a rung that refers),
        offered the programme or held out."""
        table = view.customers
        if not self._started:
            # Prospects referred before the programme started are not its referrals.
            self._started = True
            self._before = (table.stage == PROSPECT) & (table.prospect_source == view.referral_code)
        refers = view.referrals_per_month_by_tier > 0
        known = view.firm_customers()
        eligible = known[refers[table.tier[known]]]
        held = int(self.holdout[eligible].sum())
        self.totals["holdout_months"] += held
        self.totals["treated_months"] += eligible.size - held

    def report(self, view: MarketView) -> dict[str, float]:
        table = view.customers
        new = view.new_customers
        referred = new[table.prospect_source[new] == view.referral_code]
        referrer = table.referred_by[referred]
        credited = referrer >= 0
        reward = self.params["reward_per_referral"] + self.params["reward_to_referred"]
        paid = credited & ~self.holdout[np.maximum(referrer, 0)]
        if self._counted_month != view.month:
            self._counted_month = view.month  # count each month once, however often asked
            counted = referred[credited]
            counted = counted[~self._before[counted]]
            self._counted.append(counted)
            held = self.holdout[table.referred_by[counted]]
            self.totals["holdout_referred"] += int(held.sum())
            self.totals["treated_referred"] += int((~held).sum())
        totals = self.totals
        treated = _ratio(totals["treated_referred"], totals["treated_months"])
        held_out = _ratio(totals["holdout_referred"], totals["holdout_months"])
        # Customer referral value (as customer_referral_value), of those who referred anyone.
        clv = realised_clv(table, view.monthly_discount_rate)
        brought = referred_customers(table, view.referral_code)
        credit_to = table.referred_by[brought]
        referrers = np.flatnonzero(np.bincount(credit_to))
        crv = np.bincount(credit_to, weights=clv[brought])[referrers]
        return {
            "referral_program_referred_customers": float(referred.size),
            "referral_program_rewards_paid": float(reward * paid.sum()),
            "referral_program_referred_per_eligible": treated,
            "referral_program_referred_per_eligible_holdout": held_out,
            "referral_program_incremental_referred": treated - held_out,
            "referral_program_incremental_value": self.incremental_value(view, clv),
            "referral_program_referrers": float(referrers.size),
            "referral_program_mean_crv": float(crv.mean()) if crv.size else float("nan"),
        }

    def incremental_value(self, view: MarketView, clv: np.ndarray) -> float:
        """Realised CLV (``clv``, one per person) of the referred customers each group
        brought, per eligible customer-month, offered less held out (currency); NaN
        without both groups."""
        totals = self.totals
        if not (totals["treated_months"] and totals["holdout_months"]):
            return float("nan")
        counted = np.concatenate(self._counted) if self._counted else np.zeros(0, np.int64)
        self._counted = [counted]
        held = self.holdout[view.customers.referred_by[counted]]
        value = clv[counted]
        return float(
            value[~held].sum() / totals["treated_months"]
            - value[held].sum() / totals["holdout_months"]
        )


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")
