"""Churn reduction: score customers' risk of leaving, and make the riskiest a retention offer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from crmsim.config.fields import Field
from crmsim.measures import HIGHER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Effects
from crmsim.vocabulary import ACTIVE, DEFECTED, FIRED

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView

COMPONENTS = ("satisfaction", "recency", "rung", "competitor")


@register
class ChurnReduction(Strategy):
    """Flag the customers most at risk each month and make them a retention offer.

    Course concept: churn reduction and defection analysis in action: find the
    customers in jeopardy before they are lost. At the start of each month the
    firm scores every active customer's risk from what it can observe, not
    from the model's true hazard: the score is the weighted mean of four
    components, each standardised over the active customers (z-scores, so the
    weights say how much each counts): dissatisfaction (minus last month's
    satisfaction), recency (months since the last purchase,
    ``view.months_since_purchase``; it is always 0 for subscribers, so it only
    counts for a retailer), a low rung (minus the
    ladder rung) and competitor pressure (price sensitivity x the competitor's
    offer strength). It flags the ``flag_share`` of active customers with the
    highest scores, or, with ``risk_threshold``, everyone scoring above it.

    Flagged customers get a retention offer (a call and a discount), riskiest
    first, while ``budget_per_month_per_1000_people`` lasts (per 1,000 people
    in the market at month 0, so the programme keeps its size relative to the
    market: 50 is 1,000 a month at 20,000 people); an offer costs ``cost_per_offer``
    (programme cost, charged to the customer when made) and cuts all their
    switching hazards by ``churn_reduction`` for ``effect_months`` months
    (this one included). A customer still covered by an offer gets no new one.

    Measuring the flag: the offer changes the outcome, so the share of treated
    customers who leave understates how well the score picks out leavers (a
    treated customer who stays may have been saved, not wrongly flagged), and
    customers treated in earlier months still carry its effect. The firm
    therefore keeps a random holdout: each person belongs to it with chance
    ``holdout_share`` (drawn once), is scored and flagged like everyone else,
    and never gets an offer, so the holdout shows what the score predicts
    without treatment. Precision (share of flagged holdout customers who left
    the same month) and recall (share of holdout customers who left that month
    who had been flagged) are computed on the holdout, pooled over the months
    so far; ``churn_reduction_lift`` is precision over the holdout's churn
    rate (1 = no better than chance).

    Measures: ``churn_reduction_flagged``, ``churn_reduction_offers``,
    ``churn_reduction_covered`` (customers under an offer this month who are
    still active at month end),
    ``churn_reduction_spend`` (currency), ``churn_reduction_precision``,
    ``churn_reduction_recall``, ``churn_reduction_lift`` (holdout, pooled) and
    ``churn_reduction_precision_treated`` (the naive precision among the
    treated, pooled, lowered by the offer's own effect).
    """

    name: ClassVar[str] = "churn_reduction"
    concept: ClassVar[str] = "Defection: churn scoring and retention offers (churn reduction)"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "flag_share": Field(
            "share",
            0.1,
            "share of active customers",
            "Share of active customers with the highest risk scores flagged each month.",
        ),
        "risk_threshold": Field(
            "number",
            None,
            "score (standard deviations)",
            "Flag every customer scoring above this instead of flag_share (null = use flag_share).",
            nullable=True,
        ),
        "weight_satisfaction": Field(
            "nonnegative", 1.0, "weight", "Weight of dissatisfaction in the risk score."
        ),
        "weight_recency": Field(
            "nonnegative", 1.0, "weight", "Weight of months since the last purchase."
        ),
        "weight_rung": Field("nonnegative", 1.0, "weight", "Weight of a low ladder rung."),
        "weight_competitor": Field(
            "nonnegative",
            1.0,
            "weight",
            "Weight of competitor pressure (price sensitivity x competitor offer strength).",
        ),
        "cost_per_offer": Field(
            "nonnegative", 5.0, "currency per offer", "Cost of one retention offer."
        ),
        "budget_per_month_per_1000_people": Field(
            "nonnegative",
            50.0,
            "currency per month per 1,000 people",
            "Most spent on retention offers in a month, per 1,000 people in the market at "
            "month 0 (simulation.customers; 50 is 1,000 a month at 20,000 people; "
            "null = no limit).",
            nullable=True,
        ),
        "churn_reduction": Field(
            "share",
            0.3,
            "share",
            "How much less a customer under an offer switches (0.3 = 30% less).",
        ),
        "effect_months": Field(
            "positive_count", 3, "months", "Months an offer keeps working, its own included."
        ),
        "holdout_share": Field(
            "share",
            0.1,
            "share of customers",
            "Random holdout never made an offer, to measure the flag without its effect.",
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure("churn_reduction_flagged", "Customers flagged at risk", "customers"),
        measure("churn_reduction_offers", "Retention offers made", "offers"),
        measure("churn_reduction_covered", "Customers under an offer", "customers"),
        measure("churn_reduction_spend", "Retention offer spend", "currency per month"),
        measure("churn_reduction_precision", "Precision of the flag (holdout)", "share", HIGHER),
        measure("churn_reduction_recall", "Recall of the flag (holdout)", "share", HIGHER),
        measure("churn_reduction_lift", "Lift of the flag over chance (holdout)", "x", HIGHER),
        measure("churn_reduction_precision_treated", "Naive precision among the treated", "share"),
    )
    renamed: ClassVar[dict[str, str]] = {
        "budget_per_month": "budget_per_month_per_1000_people",
        "control_share": "holdout_share",  # the name the programmes' holdouts use
    }

    @classmethod
    def check(cls, params: dict[str, Any]) -> str | None:
        problem = super().check(params)
        if problem:
            return problem
        if sum(params[f"weight_{c}"] for c in COMPONENTS) <= 0:
            return "the risk score needs a weight > 0 (weight_satisfaction, weight_recency, ...)"
        return None

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.holdout = np.zeros(0, bool)
        self.covered_until = np.zeros(0, np.int32)
        self._flagged = np.zeros(0, np.int64)
        self._treated = np.zeros(0, np.int64)
        self._scored_holdout = np.zeros(0, np.int64)
        self._month: dict[str, float] = {}
        self._counted_month = -1
        # Pooled counts since the start: holdout scored / left / flagged / flagged and left,
        # treated / treated and left.
        self.totals = dict.fromkeys(
            (
                "holdout_scored",
                "holdout_left",
                "holdout_flagged",
                "holdout_flagged_left",
                "treated",
                "treated_left",
            ),
            0,
        )

    def start(self, view: MarketView) -> None:
        """Draw the random holdout once: each person is in it with chance ``holdout_share``."""
        self.holdout = view.draws() < self.params["holdout_share"]
        self.covered_until = np.full(view.size, -1, np.int32)

    def risk_score(self, view: MarketView, rows: np.ndarray) -> np.ndarray:
        """Risk score of active customers ``rows``: weighted mean of standardised components."""
        table = view.customers
        p = self.params
        if rows.size == 0:
            return np.zeros(0, np.float64)
        components = {
            "satisfaction": -table.satisfaction[rows].astype(np.float64),
            "recency": view.months_since_purchase(rows).astype(np.float64),
            "rung": -table.tier[rows].astype(np.float64),
            "competitor": table.price_sensitivity[rows].astype(np.float64)
            * view.competitor_offer_strength,
        }
        score = np.zeros(rows.size, np.float64)
        weights = 0.0
        for name, values in components.items():
            weight = p[f"weight_{name}"]
            weights += weight
            spread = values.std()
            if weight > 0 and spread > 0:
                score += weight * (values - values.mean()) / spread
        return score / weights

    def act(self, view: MarketView) -> None:
        """Score the active customers, flag the riskiest and make offers within the budget."""
        p = self.params
        table = view.customers
        active = view.firm_customers()  # a retailer cannot tell who has silently left
        known = np.zeros(view.size, bool)
        known[active] = True
        self.covered_until[~known] = -1  # an offer ends with the relationship
        score = self.risk_score(view, active)
        order = np.argsort(-score, kind="stable")
        if p["risk_threshold"] is not None:
            flagged = active[order[score[order] > p["risk_threshold"]]]
        else:
            flagged = active[order[: int(round(p["flag_share"] * active.size))]]
        # Riskiest first; the holdout and customers still covered by an offer get none.
        candidates = flagged[~self.holdout[flagged] & (self.covered_until[flagged] <= view.month)]
        budget, cost = view.per_market(p["budget_per_month_per_1000_people"]), p["cost_per_offer"]
        if budget is not None and cost > 0:
            candidates = candidates[: int(np.floor(budget / cost + 1e-9))]
        self.covered_until[candidates] = view.month + p["effect_months"]
        view.charge(candidates, cost, "programme")
        # The measures judge the score by the truth: who was still a customer when scored
        # (all of them, where the firm sees every end) and left this month.
        still = table.stage == ACTIVE
        self._flagged = flagged[still[flagged]]
        self._treated = candidates[still[candidates]]
        self._scored_holdout = active[self.holdout[active] & still[active]]
        self._month = {
            "churn_reduction_flagged": float(flagged.size),
            "churn_reduction_offers": float(candidates.size),
            "churn_reduction_spend": float(candidates.size * cost),
        }

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects:
        """Customers under an offer switch less."""
        covered = self.covered_until[rows] > view.month
        kept = np.float32(1.0 - self.params["churn_reduction"])
        return Effects(churn=np.where(covered, kept, np.float32(1)))

    def report(self, view: MarketView) -> dict[str, float]:
        table = view.customers

        def left(rows: np.ndarray) -> np.ndarray:
            # Scored customers were active at the start of the month; the firm's own
            # firings are not churn.
            return (table.stage[rows] == DEFECTED) & (table.defection_reason[rows] != FIRED)

        totals = self.totals
        if self._counted_month != view.month:
            self._counted_month = view.month  # count each month once, however often asked
            holdout = self._scored_holdout
            flagged_holdout = self._flagged[self.holdout[self._flagged]]
            totals["holdout_scored"] += holdout.size
            totals["holdout_left"] += int(left(holdout).sum())
            totals["holdout_flagged"] += flagged_holdout.size
            totals["holdout_flagged_left"] += int(left(flagged_holdout).sum())
            totals["treated"] += self._treated.size
            totals["treated_left"] += int(left(self._treated).sum())
        precision = _ratio(totals["holdout_flagged_left"], totals["holdout_flagged"])
        base_rate = _ratio(totals["holdout_left"], totals["holdout_scored"])
        return {
            **dict.fromkeys(self.measure_names(), 0.0),
            **self._month,
            "churn_reduction_covered": float(
                ((self.covered_until > view.month) & (table.stage == ACTIVE)).sum()
            ),
            "churn_reduction_precision": precision,
            "churn_reduction_recall": _ratio(
                totals["holdout_flagged_left"], totals["holdout_left"]
            ),
            "churn_reduction_lift": precision / base_rate if base_rate > 0 else float("nan"),
            "churn_reduction_precision_treated": _ratio(totals["treated_left"], totals["treated"]),
        }

    def confusion_table(self) -> pd.DataFrame:
        """How the flag did on the holdout: customer-months flagged or not, left or stayed.

        Pooled over the months reported so far. Each holdout customer counts once per
        month they were scored (active at the start of the month). Precision is
        ``flagged & left / flagged``, recall ``flagged & left / left``: the measures
        ``churn_reduction_precision`` and ``churn_reduction_recall``.

        Returns:
            Rows ``flagged``, ``not flagged``, ``all``; columns ``left``, ``stayed``,
            ``all`` (customer-months, whole numbers).
        """
        t = self.totals
        flagged_left = t["holdout_flagged_left"]
        flagged_stayed = t["holdout_flagged"] - flagged_left
        unflagged_left = t["holdout_left"] - flagged_left
        unflagged_stayed = t["holdout_scored"] - t["holdout_flagged"] - unflagged_left
        table = pd.DataFrame(
            {"left": [flagged_left, unflagged_left], "stayed": [flagged_stayed, unflagged_stayed]},
            index=["flagged", "not flagged"],
        )
        table.loc["all"] = table.sum()
        table["all"] = table.sum(axis=1)
        return table.astype(np.int64)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")
