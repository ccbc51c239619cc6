"""Loyalty (frequency) programme: rewards that keep frequent, heavy buyers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import HIGHER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Effects
from crmsim.vocabulary import ACTIVE, DEFECTED, FIRED, TIERS

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView

POOLED = (
    "member_months",
    "member_left",
    "member_paid",
    "member_revenue",
    "member_basic",
    "holdout_months",
    "holdout_left",
    "holdout_paid",
    "holdout_revenue",
    "holdout_basic",
    "applied_months",
    "applied_churn_reduction",
    "applied_spend_uplift",
)
"""Counts pooled since the programme started (member-months, leavers, payers, revenue
and basic spend of members and of would-be members; the effects the model applied to
members)."""


def reward_response(
    reward_rate: np.ndarray, responsiveness: np.ndarray, saturation_reward_rate: float
) -> np.ndarray:
    """Share of a programme's largest effect a member shows: diminishing returns.

    The response is responsiveness x (1 - exp(-reward rate / saturation rate)): 0
    without rewards, rising ever more slowly with generosity, 63% (1 - 1/e) of the
    member's largest response at the saturation rate and 95% at three times it. A
    net reward rate below 0 (a fee larger than the rewards) gives no response.

    Args:
        reward_rate: Each member's net reward rate, share of their spend.
        responsiveness: Each member's responsiveness, 0..1.
        saturation_reward_rate: The saturation rate, share of spend (> 0).
    """
    rate = np.maximum(np.asarray(reward_rate, np.float32), np.float32(0))
    saturation = np.float32(saturation_reward_rate)
    return responsiveness * (np.float32(1) - np.exp(-rate / saturation))


@register
class LoyaltyProgram(Strategy):
    """A frequency programme with club membership, whose effect grows with its generosity.

    Course concept: retention through loyalty programmes (a financial bond),
    tiers of benefits, club fees, and measuring what a programme adds.
    Customers who reach ``enrolment_tier`` on the ladder are invited and join
    with a monthly chance; a fee-based club puts off price-sensitive customers
    (the chance falls by price sensitivity x fee / (fee + the customer's
    expected monthly spend)). Members get rewards worth ``reward_rate`` of what
    they spend, plus ``tier_reward_step`` for each rung above the enrolment
    rung (tiers of benefits), and the recognition of membership
    (``value_bonus``). The firm pays the rewards and a running cost per member,
    less any membership fee.

    **Effects in proportion to the design.** What a member gets is their net
    reward rate r: the reward rate of their rung, less the fee as a share of
    their expected monthly spend (a fee takes back rewards; never below 0).
    The member responds with diminishing returns (:func:`reward_response`):
    their switching hazards are multiplied by 1 - ``churn_reduction`` x w x (1 -
    exp(-r / ``saturation_reward_rate``)) and their share of wallet by 1 +
    ``spend_uplift`` x w x (1 - exp(-r / ``saturation_reward_rate``)), where w is
    the member's responsiveness, their own price sensitivity (0..1, whatever
    their rung): deal-prone
    customers care about rewards, price-insensitive ones hardly at all (they
    still value the recognition). ``churn_reduction`` and ``spend_uplift`` are
    therefore the largest effects, for a fully price-sensitive member of a
    saturated programme; the mean member of the default market (price
    sensitivity 0.5) at the default rates (rewards and saturation both 2%)
    switches about an eighth less (a monthly churn of 1% becomes 0.87%) and
    buys about 5% more of their wallet. Rewards cost r of spend in full while
    their effect levels off, so the most profitable reward rate lies inside
    the range (the sweep ``reward_rate``): higher the larger the margin on the
    extra spend and retention, and the more price-sensitive the members.

    **Evidence behind the defaults.** The effects of real programmes are
    modest. Sharp & Sharp (1997, International Journal of Research in
    Marketing) found only weak excess loyalty for the brands of a large
    Australian programme; Leenheer, van Heerde, Bijmolt & Smidts (2007,
    International Journal of Research in Marketing) found small positive
    effects on share of wallet once the self-selection of members was
    accounted for; Liu (2007, Journal of Marketing) found that light and
    moderate buyers bought more after joining while heavy buyers, who collect
    most rewards, changed little; Bolton, Kannan & Bramlett (2000, Journal of
    the Academy of Marketing Science) found that members of a reward
    programme discounted bad experiences with the firm. Dorotic, Bijmolt &
    Verhoef (2012, International Journal of Management Reviews) review the
    mixed evidence. The defaults give such modest effects (a tenth of a point
    of monthly retention, a few per cent of wallet), and a programme that
    roughly pays for itself at its best reward rate; ``churn_reduction`` and
    ``spend_uplift`` are the levers to test stronger or weaker programmes.

    **Incrementality from a holdout.** Members differ from non-members before
    they join (they chose to), so comparing the two overstates what the
    programme does. The firm therefore holds out a random ``holdout_share`` of
    the market (drawn once from the strategy's own stream): held-out customers
    are invited and "join" with the same chances and the same draws as everyone
    else, but get nothing (would-be members, as ghost ads are shown to no one:
    Johnson, Lewis & Nubbemeyer 2017, Journal of Marketing Research). Members
    and would-be members are then alike but for the programme, and the
    measures compare them, pooled over the months since the programme started:
    retention per month (leaving for any reason but being fired), revenue per
    paying customer-month, the churn reduction and spend uplift they imply
    (1 - churn of members / churn of would-be members; revenue per unit of
    basic spend, the bill at the basic share of wallet x purchases, of members
    over that of would-be members, less 1: relative to each customer's basic
    spend, which takes out who happens to be a heavy spender) next to the mean
    effects the model applied to members (``..._true_...``: what the firm
    could not see), and the
    incremental value per member: profit since first joining (realised,
    discounted to month 0, programme costs included) of members less that of
    would-be members. The pooled comparisons of a month include what the
    programme did before it (members who stay longer climb higher; survivors
    differ), which the value per member, counted from joining, does not
    suffer from. Held-out customers are customers the programme does not reach:
    a holdout costs some of the programme's effect (0 turns it off and leaves
    the measures undefined).

    **What the firm sees.** It invites its customers as it knows them
    (``MarketView.firm_customers``), and reckons their spend (the fee's bite) as it
    does (``MarketView.expected_spend``). A retailer that estimates invites them
    where it meets them, at a purchase: those on the rung whose last purchase, in
    its records, was last month. A retail customer may drop out silently after a
    purchase; such a customer may still have joined at the till, so the firm
    keeps them on its list of members and pays their running cost every month
    (charged to them; no fee and no rewards come from someone who no longer buys)
    for no effect: only members still there switch less, buy more or feel
    recognised. A member on the list who comes back and buys is invited again.

    Measures: ``loyalty_program_holdout_members`` (would-be members this month),
    ``loyalty_program_retention_members``, ``loyalty_program_retention_holdout``,
    ``loyalty_program_churn_reduction``, ``loyalty_program_true_churn_reduction``,
    ``loyalty_program_spend_members``, ``loyalty_program_spend_holdout``,
    ``loyalty_program_spend_uplift``, ``loyalty_program_true_spend_uplift`` and
    ``loyalty_program_incremental_value`` (all pooled since the start).
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
            "nonnegative",
            0.0,
            "currency per member-month",
            "Club fee (0 = open club); it puts price-sensitive customers off joining and "
            "takes back rewards (the net reward rate falls by fee / monthly spend).",
        ),
        "reward_rate": Field(
            "share", 0.02, "share of member spend", "Rewards given back to members."
        ),
        "saturation_reward_rate": Field(
            "nonnegative",
            0.02,
            "share of member spend",
            "Diminishing returns: at this net reward rate members show 63% (1 - 1/e) of "
            "their largest response, 95% at three times it.",
            minimum=0.001,
            maximum=1.0,
        ),
        "cost_per_member_per_month": Field(
            "nonnegative", 0.5, "currency per member-month", "Running cost of a member."
        ),
        "churn_reduction": Field(
            "share",
            0.4,
            "share",
            "Largest cut of members' switching, for a fully price-sensitive member of a "
            "saturated programme (0.4 = 40% less); a member gets it x their price "
            "sensitivity x their response to the rewards.",
        ),
        "spend_uplift": Field(
            "nonnegative",
            0.15,
            "share",
            "Largest rise of members' share of wallet, for a fully price-sensitive member of a "
            "saturated programme (0.15 = 15% more); scaled like churn_reduction.",
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
        "holdout_share": Field(
            "share",
            0.1,
            "share of customers",
            "Random holdout the programme does not reach (would-be members), to measure "
            "what it adds; 0 = none.",
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure("loyalty_program_holdout_members", "Would-be members in the holdout", "customers"),
        measure(
            "loyalty_program_retention_members", "Retention of members (pooled)", "share", HIGHER
        ),
        measure(
            "loyalty_program_retention_holdout",
            "Retention of would-be members (holdout, pooled)",
            "share",
        ),
        measure(
            "loyalty_program_churn_reduction",
            "Churn reduction measured against the holdout",
            "share",
            HIGHER,
        ),
        measure(
            "loyalty_program_true_churn_reduction",
            "Churn reduction the programme applied to members",
            "share",
        ),
        measure(
            "loyalty_program_spend_members",
            "Revenue per paying member-month (pooled)",
            "currency per customer-month",
            HIGHER,
        ),
        measure(
            "loyalty_program_spend_holdout",
            "Revenue per paying would-be member-month (holdout, pooled)",
            "currency per customer-month",
        ),
        measure(
            "loyalty_program_spend_uplift",
            "Spend uplift measured against the holdout",
            "share",
            HIGHER,
        ),
        measure(
            "loyalty_program_true_spend_uplift",
            "Spend uplift the programme applied to members",
            "share",
        ),
        measure(
            "loyalty_program_incremental_value",
            "Incremental value per member since joining (vs holdout)",
            "currency per member",
            HIGHER,
        ),
    )

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.holdout = np.zeros(0, bool)
        self.would_be_spell = np.zeros(0, np.int16)
        self.joined_month = np.zeros(0, np.int16)
        self.value_at_join = np.zeros(0, np.float64)
        self._joiners: list[np.ndarray] = []
        self._members = np.zeros(0, np.int64)
        self.listed = np.zeros(0, bool)
        self._would_be = np.zeros(0, np.int64)
        self._counted_month = -1
        self.totals = dict.fromkeys(POOLED, 0.0)

    def start(self, view: MarketView) -> None:
        """Draw the random holdout once: each person is in it with chance ``holdout_share``."""
        size = view.size
        self.holdout = view.draws() < self.params["holdout_share"]
        # A would-be member is marked with the relationship they joined in (times
        # returned at joining); leaving ends it, as leaving ends membership.
        self.would_be_spell = np.full(size, -1, np.int16)
        self.joined_month = np.full(size, -1, np.int16)
        self.value_at_join = np.zeros(size, np.float64)
        self.listed = np.zeros(size, bool)

    def would_be_members(self, view: MarketView) -> np.ndarray:
        """Mask of the held-out customers who joined (and have not left since)."""
        table = view.customers
        return (self.would_be_spell == table.times_returned) & (table.stage == ACTIVE)

    def act(self, view: MarketView) -> None:
        """Invite customers on the enrolment rung and above; some join (or would join)."""
        table = view.customers
        lowest = TIERS.index(self.params["enrolment_tier"])
        draws = view.draws()
        would_be = self.would_be_members(view)
        if view.sees_every_end:
            invited = np.flatnonzero(
                (table.stage == ACTIVE) & ~table.member & ~would_be & (table.tier >= lowest)
            )
        else:
            invited = self._invited_at_a_purchase(view, would_be, lowest)
        if invited.size:
            chance = np.full(invited.size, self.params["enrolment_rate_per_month"], np.float32)
            fee = self.params["fee_per_month"]
            if fee > 0:
                spend = view.expected_spend(invited) * np.float32(view.price_index)
                chance *= 1.0 - table.price_sensitivity[invited] * fee / (fee + spend)
            joins = invited[draws[invited] < chance]
            held = self.holdout[joins]
            if view.sees_every_end:
                table.member[joins[~held]] = True
            else:
                # Those who had left since their purchase are on the list, not members.
                self.listed[joins[~held]] = True
                table.member[joins[~held & (table.stage[joins] == ACTIVE)]] = True
            would_join = joins[held]
            self.would_be_spell[would_join] = table.times_returned[would_join]
            would_be[would_join] = True
            first = joins[self.joined_month[joins] < 0]
            self.joined_month[first] = view.month
            self.value_at_join[first] = table.value_at_start[first]
            self._joiners.append(first)
        self._members = np.flatnonzero(table.member)
        self._would_be = np.flatnonzero(would_be)
        if not view.sees_every_end:
            silent = np.flatnonzero(self.listed & (table.stage != ACTIVE))
            view.charge(silent, self.params["cost_per_member_per_month"], "programme")

    def _invited_at_a_purchase(
        self, view: MarketView, would_be: np.ndarray, lowest: int
    ) -> np.ndarray:
        """A retailer's invitations (it cannot see who has left): its customers on the
        rung, with a purchase last month in its records, not on its list of members."""
        table = view.customers
        known = view.firm_customers()
        # The list as the firm keeps it: those it wrote off are off it; a listed member
        # buying again without membership (back after leaving) is asked again.
        self.listed &= np.isin(np.arange(view.size), known)
        self.listed[known[(table.stage[known] == ACTIVE) & ~table.member[known]]] = False
        self.listed |= table.member
        bought = known[view.months_since_purchase(known) == 0]
        return bought[~self.listed[bought] & ~would_be[bought] & (table.tier[bought] >= lowest)]

    def net_reward_rate(self, view: MarketView, rows: np.ndarray) -> np.ndarray:
        """Each customer's net reward rate as a member: the rate of their rung, less
        the fee as a share of their expected monthly spend (share of spend)."""
        p = self.params
        table = view.customers
        rungs_above = np.maximum(table.tier[rows] - TIERS.index(p["enrolment_tier"]), 0)
        rate = np.float32(p["reward_rate"]) + np.float32(p["tier_reward_step"]) * rungs_above
        fee = p["fee_per_month"]
        if fee > 0:
            spend = view.expected_spend(rows) * np.float32(view.price_index)
            rate = rate - np.float32(fee) / np.maximum(spend, np.float32(1e-6))
        return rate.astype(np.float32)

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects:
        """Members switch less and spend more, in proportion to the response to their
        rewards; they feel recognised and cost their rewards."""
        p = self.params
        table = view.customers
        members = table.member[rows]
        rungs_above = np.maximum(table.tier[rows] - TIERS.index(p["enrolment_tier"]), 0).astype(
            np.float32
        )
        reward_rate = p["reward_rate"] + p["tier_reward_step"] * rungs_above
        churn = np.ones(rows.size, np.float32)
        spend = np.ones(rows.size, np.float32)
        picked = np.flatnonzero(members)
        if picked.size:
            in_programme = rows[picked]
            response = reward_response(
                self.net_reward_rate(view, in_programme),
                table.price_sensitivity[in_programme],
                p["saturation_reward_rate"],
            )
            churn[picked] -= np.float32(p["churn_reduction"]) * response
            spend[picked] += np.float32(p["spend_uplift"]) * response
        zero = np.float32(0)
        return Effects(
            churn=churn,
            spend=spend,
            value=np.where(members, np.float32(p["value_bonus"]), zero),
            cost_per_month=np.where(
                members, np.float32(p["cost_per_member_per_month"] - p["fee_per_month"]), zero
            ),
            cost_share_of_revenue=np.where(members, reward_rate, zero).astype(np.float32),
        )

    def report(self, view: MarketView) -> dict[str, float]:
        totals = self.totals
        if self._counted_month != view.month:
            self._counted_month = view.month  # count each month once, however often asked
            self._count_month(view)
        member_churn = _ratio(totals["member_left"], totals["member_months"])
        holdout_churn = _ratio(totals["holdout_left"], totals["holdout_months"])
        member_spend = _ratio(totals["member_revenue"], totals["member_paid"])
        holdout_spend = _ratio(totals["holdout_revenue"], totals["holdout_paid"])
        return {
            "loyalty_program_holdout_members": float(self._would_be.size),
            "loyalty_program_retention_members": 1.0 - member_churn,
            "loyalty_program_retention_holdout": 1.0 - holdout_churn,
            "loyalty_program_churn_reduction": 1.0 - _ratio(member_churn, holdout_churn),
            "loyalty_program_true_churn_reduction": _ratio(
                totals["applied_churn_reduction"], totals["applied_months"]
            ),
            "loyalty_program_spend_members": member_spend,
            "loyalty_program_spend_holdout": holdout_spend,
            "loyalty_program_spend_uplift": _ratio(
                _ratio(totals["member_revenue"], totals["member_basic"]),
                _ratio(totals["holdout_revenue"], totals["holdout_basic"]),
            )
            - 1.0,
            "loyalty_program_true_spend_uplift": _ratio(
                totals["applied_spend_uplift"], totals["applied_months"]
            ),
            "loyalty_program_incremental_value": self.incremental_value(view),
        }

    def _count_month(self, view: MarketView) -> None:
        """Add this month's members and would-be members to the pooled counts."""
        table = view.customers
        totals = self.totals
        paid = np.zeros(view.size, bool)
        paid[view.paying_customers] = True
        for group, rows in (("member", self._members), ("holdout", self._would_be)):
            left = (table.stage[rows] == DEFECTED) & (table.defection_reason[rows] != FIRED)
            payers = rows[paid[rows]]
            totals[f"{group}_months"] += rows.size
            totals[f"{group}_left"] += int(left.sum())
            totals[f"{group}_paid"] += payers.size
            totals[f"{group}_revenue"] += float(table.revenue[payers].sum(dtype=np.float64))
            basic = table.order_value[payers] * table.purchases[payers] * view.price_index
            totals[f"{group}_basic"] += float(basic.sum(dtype=np.float64))
        effects = view.own_effects()
        if effects is not None and effects.churn is not None:
            # The month's members, those who left since included (leaving ends membership).
            was_member = np.zeros(view.size, bool)
            was_member[self._members] = True
            picked = np.flatnonzero(was_member[view.month_customers])
            totals["applied_months"] += picked.size
            totals["applied_churn_reduction"] += float(
                (1.0 - effects.churn[picked]).sum(dtype=np.float64)
            )
            totals["applied_spend_uplift"] += float(
                (effects.spend[picked] - 1.0).sum(dtype=np.float64)
            )

    def incremental_value(self, view: MarketView) -> float:
        """Profit since first joining per member, less the same per would-be member,
        currency (discounted to month 0); NaN without both."""
        if not self._joiners:
            return float("nan")
        joiners = np.concatenate(self._joiners)
        self._joiners = [joiners]
        gained = view.customers.value_at_start[joiners] - self.value_at_join[joiners]
        held = self.holdout[joiners]
        if held.all() or not held.any():
            return float("nan")
        return float(gained[~held].mean() - gained[held].mean())


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")
