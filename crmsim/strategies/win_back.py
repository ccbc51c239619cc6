"""Win-back campaigns: reacquire customers who left, by why they left and how long ago."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import HIGHER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.vocabulary import DEFECTED, DEFECTION_REASONS, FIRED, REASONS, SERVICE

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


@register
class WinBack(Strategy):
    """Contact customers who left and make them an offer to come back.

    Course concept: reacquisition. Contact those who left; the longer a
    customer has been gone, the less likely they return; poor service is a
    frequent and recoverable reason for loss. Each month the campaign targets
    the defectors whose reason has a ``target_reasons`` weight of 1 (by default
    price, product and service defectors) and who have been gone between one
    and ``max_months_gone`` months, contacting each again every
    ``contact_every_months`` (at 1, 1 + every, 1 + 2 x every ... months gone).
    A contacted customer comes back with chance ``offer_success_rate`` x
    0.5 ^ ((months gone - 1) / ``success_half_life_months``) x the
    recoverability of their reason (the scenario's
    ``reacquisition.reason_recoverability``), times 1 + ``service_recovery_boost``
    for service defectors (the firm puts right what went wrong), times whatever
    keeps lost customers away (the competitor's loyalty programme). Returning
    customers start again at the bottom of the ladder (``view.reacquire``)
    and are among the month's customers, at risk of leaving again.

    Customers the firm fired refuse by design: they are never targeted and
    nothing is spent on them. Costs, charged to each targeted customer as
    return cost: ``cost_per_offer`` per contact whether or not they come back,
    plus ``cost_per_return`` (the incentive) for each who does. With
    ``budget_per_month_per_1000_people`` (per 1,000 people in the market at
    month 0, so the campaign keeps its size relative to the market) the
    campaign works down its list, most likely returners first, and stops
    before its spend on contacts and returns would exceed the budget. The
    natural return of lost customers goes on as before (at the scenario's
    ``reacquisition.cost_per_return``).

    A retailer that estimates (``firm.knowledge: estimated``, non-contractual
    customers) sees neither who left nor why: it takes a customer with no purchase
    for ``lapsed_after_months`` months as lapsed and contacts them as a defector
    gone (months without a purchase - ``lapsed_after_months`` + 1) months, freshest
    lapses first, whatever their reason (``target_reasons`` is not used). Of those,
    the ones who had really left respond as above; an offer to one who is still
    buying now and then is spent for nothing.

    Measures: ``win_back_targeted`` (defectors eligible this month),
    ``win_back_offers`` (contacts made), ``win_back_returns`` (customers won
    back), ``win_back_rate`` (returns per offer this month), ``win_back_spend``
    (currency: contacts plus returns).
    """

    name: ClassVar[str] = "win_back"
    concept: ClassVar[str] = "Reacquisition: win-back campaigns by defection reason"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "target_reasons": Field(
            "reasons",
            {
                "price": 1.0,
                "product": 1.0,
                "service": 1.0,
                "market": 0.0,
                "technological": 0.0,
                "organisational": 0.0,
            },
            "1 = target, 0 = leave out",
            "Defectors the campaign contacts, by why they left (reasons not set keep their "
            "default; fired customers are never contacted).",
        ),
        "max_months_gone": Field(
            "positive_count", 12, "months", "Defectors gone longer than this are not contacted."
        ),
        "contact_every_months": Field(
            "positive_count",
            3,
            "months",
            "Months between contacts of the same defector (1 = every month).",
        ),
        "lapsed_after_months": Field(
            "positive_count",
            3,
            "months",
            "A retailer that estimates (it cannot see who left, nor why) takes a customer "
            "with no purchase for this many months as lapsed and contacts them as a defector.",
        ),
        "offer_success_rate": Field(
            "probability",
            0.15,
            "per offer",
            "Chance a customer who left last month for a fully recoverable reason comes back.",
        ),
        "success_half_life_months": Field(
            "nonnegative",
            4.0,
            "months",
            "Months gone after which the chance of success has halved.",
            minimum=1e-6,
        ),
        "service_recovery_boost": Field(
            "nonnegative",
            1.0,
            "share",
            "How much more often service defectors come back (1 = twice as often): the firm "
            "fixes what went wrong.",
        ),
        "cost_per_offer": Field(
            "nonnegative", 3.0, "currency per contact", "Cost of contacting one defector."
        ),
        "cost_per_return": Field(
            "nonnegative",
            25.0,
            "currency per customer",
            "Incentive paid to each customer won back (e.g. a free month).",
        ),
        "budget_per_month_per_1000_people": Field(
            "nonnegative",
            None,
            "currency per month per 1,000 people",
            "Most the campaign spends on contacts and returns in a month, per 1,000 people in "
            "the market at month 0 (simulation.customers; null = no limit).",
            nullable=True,
        ),
    }
    renamed: ClassVar[dict[str, str]] = {"budget_per_month": "budget_per_month_per_1000_people"}
    measures: ClassVar[tuple[Measure, ...]] = (
        measure("win_back_targeted", "Defectors eligible for an offer", "customers"),
        measure("win_back_offers", "Win-back offers made", "contacts"),
        measure("win_back_returns", "Customers won back", "customers", HIGHER),
        measure("win_back_rate", "Returns per offer", "share of offers", HIGHER),
        measure("win_back_spend", "Win-back spend", "currency per month"),
    )

    @classmethod
    def check(cls, params: dict[str, Any]) -> str | None:
        problem = super().check(params)
        if problem:
            return problem
        odd = [r for r, w in params["target_reasons"].items() if w not in (0, 1)]
        if odd:
            return (
                f"target_reasons: {', '.join(odd)} must be 1 (target) or 0 (leave out); "
                f"got {', '.join(str(params['target_reasons'][r]) for r in odd)}"
            )
        return None

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        targeted = [params["target_reasons"].get(r, 0.0) > 0 for r in DEFECTION_REASONS]
        # Indexed by reason code; customers the firm fired are never targeted.
        self.targeted_reason = np.zeros(len(REASONS), bool)
        self.targeted_reason[: len(targeted)] = targeted
        self.targeted_reason[FIRED] = False
        self._month: dict[str, float] = {}

    def success_chance(
        self, view: MarketView, reasons: np.ndarray, months_gone: np.ndarray
    ) -> np.ndarray:
        """Chance that defectors with these reasons, gone this long, accept an offer."""
        return self.offer_chance(view.recoverability, reasons, months_gone)

    def offer_chance(
        self, recoverability: np.ndarray, reasons: np.ndarray, months_gone: np.ndarray
    ) -> np.ndarray:
        """Chance that a defector accepts an offer, by reason and months gone.

        ``offer_success_rate`` x 0.5 ^ ((months gone - 1) / ``success_half_life_months``)
        x the reason's recoverability, times 1 + ``service_recovery_boost`` for service
        defectors, capped at 1 (before anything that keeps lost customers away, such as
        the competitor's loyalty programme).

        Args:
            recoverability: Relative chance of return by reason code
                (``model.relationships.recoverability``; fired customers 0).
            reasons: Reason codes of the defectors.
            months_gone: Whole months since each left (1 = left last month).

        Returns:
            The chance of each (float32, 0..1).
        """
        p = self.params
        by_reason = np.array(recoverability, np.float64)
        by_reason[SERVICE] *= 1.0 + p["service_recovery_boost"]
        fading = 0.5 ** ((months_gone.astype(np.float64) - 1.0) / p["success_half_life_months"])
        chance = p["offer_success_rate"] * fading * by_reason[reasons]
        return np.minimum(chance, 1.0).astype(np.float32)

    def _retail_chance(self, view: MarketView, targets: np.ndarray) -> np.ndarray:
        """Chance that each lapsed customer a retailer contacts comes back: as any
        defector's (``success_chance``, by their true reason and months gone) for those
        who had left, unless the firm fired them; 0 for those still its customers."""
        table = view.customers
        left = (table.stage[targets] == DEFECTED) & (table.defection_reason[targets] != FIRED)
        chance = np.zeros(targets.size, np.float32)
        gone = targets[left]
        months = np.maximum(table.months_since_defection[gone].astype(np.int64), 1)
        reasons = table.defection_reason[gone].astype(np.int64)
        chance[left] = self.success_chance(view, reasons, months)
        return chance

    def act(self, view: MarketView) -> None:
        """Contact this month's targets, most likely returners first, within the budget."""
        p = self.params
        table = view.customers
        draws = view.draws()
        if view.sees_every_end:
            gone = np.flatnonzero(table.stage == DEFECTED)
            reasons = table.defection_reason[gone].astype(np.int64)
            months = table.months_since_defection[gone].astype(np.int64)
            wanted = (reasons >= 0) & self.targeted_reason[np.maximum(reasons, 0)]
        else:  # a retailer: the lapsed, as its records show them
            gone = view.firm_customers()
            months = view.months_since_purchase(gone).astype(np.int64)
            months -= p["lapsed_after_months"] - 1
            wanted = np.ones(gone.size, bool)
        due = (months >= 1) & (months <= p["max_months_gone"])
        due &= (months - 1) % p["contact_every_months"] == 0
        due &= wanted
        targets = gone[due]
        if view.sees_every_end:
            chance = self.success_chance(view, reasons[due], months[due])
        else:
            targets = targets[np.argsort(months[due], kind="stable")]  # freshest lapses first
            chance = self._retail_chance(view, targets)
        # Whatever keeps lost customers away (e.g. the competitor's own loyalty programme)
        # also weighs against the offer.
        held_back = view.return_factor(targets)
        if held_back is not None:
            chance = np.minimum(chance * held_back, 1.0).astype(np.float32)
        if view.sees_every_end:  # most likely returners first (a retailer cannot tell)
            order = np.argsort(-chance, kind="stable")
            targets, chance = targets[order], chance[order]
        success = draws[targets] < chance
        budget = view.per_market(p["budget_per_month_per_1000_people"])
        if budget is not None:
            spend = p["cost_per_offer"] + success * p["cost_per_return"]
            within = np.cumsum(spend, dtype=np.float64) <= budget + 1e-9
            targets, success = targets[within], success[within]
        won = targets[success]
        view.charge(targets, p["cost_per_offer"], "return")
        view.reacquire(won, p["cost_per_return"])
        self._month = {
            "win_back_targeted": float(due.sum()),
            "win_back_offers": float(targets.size),
            "win_back_returns": float(won.size),
            "win_back_rate": float(won.size / targets.size) if targets.size else float("nan"),
            "win_back_spend": float(
                targets.size * p["cost_per_offer"] + won.size * p["cost_per_return"]
            ),
        }

    def report(self, view: MarketView) -> dict[str, float]:
        return {**dict.fromkeys(self.measure_names(), 0.0), **self._month}
