"""The loyalty ladder: shopper -> customer -> member -> advocate -> raving fan.

Customers climb one rung at a time once they have been with the firm long
enough, are satisfied enough and spend enough for the next rung; each month
an eligible customer climbs with a given chance. Dissatisfied customers slip
down a rung. Higher rungs churn less, buy a larger share of their wallet,
are less price sensitive and recommend the firm (see ``ladder`` in the
scenario schema).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from crmsim.compiled import compiled

if TYPE_CHECKING:
    from crmsim.engine.customers import CustomerTable


@dataclass(frozen=True)
class Ladder:
    """The loyalty ladder of a scenario: what each rung takes and what it changes.

    Per-rung arrays (one number per rung, shopper first) hold what it takes to
    stand on a rung and how a customer on it behaves.

    Attributes:
        tenure_needed: Months with the firm needed to stand on each rung.
        satisfaction_needed: Satisfaction needed, value units.
        spend_needed: Expected spend needed, currency per month.
        churn_multiplier: Switching on each rung relative to a "customer".
        spend_multiplier: Share of wallet relative to a new customer's basic share.
        price_sensitivity_multiplier: Price sensitivity on each rung.
        referrals_per_month: Prospects referred by word of mouth per customer-month.
        value_bonus: Extra value each rung experiences (recognition), value units.
        promotion_probability: Chance per month an eligible customer climbs.
        demotion_satisfaction: Below this satisfaction a customer may slip.
        demotion_probability: Chance per month a dissatisfied customer slips.
    """

    tenure_needed: np.ndarray
    satisfaction_needed: np.ndarray
    spend_needed: np.ndarray
    churn_multiplier: np.ndarray
    spend_multiplier: np.ndarray
    price_sensitivity_multiplier: np.ndarray
    referrals_per_month: np.ndarray
    value_bonus: np.ndarray
    promotion_probability: float
    demotion_satisfaction: float
    demotion_probability: float

    @classmethod
    def from_settings(cls, ladder: Any) -> Ladder:
        """The ladder of a scenario's ``ladder`` section (``scenario.params.ladder``)."""

        def rungs(values: list[float]) -> np.ndarray:
            return np.asarray(values, np.float32)

        return cls(
            tenure_needed=rungs(ladder.promotion_tenure_months),
            satisfaction_needed=rungs(ladder.promotion_satisfaction),
            spend_needed=rungs(ladder.promotion_spend_per_month),
            churn_multiplier=rungs(ladder.churn_multiplier),
            spend_multiplier=rungs(ladder.spend_multiplier),
            price_sensitivity_multiplier=rungs(ladder.price_sensitivity_multiplier),
            referrals_per_month=rungs(ladder.referrals_per_month),
            value_bonus=rungs(ladder.value_bonus),
            promotion_probability=ladder.promotion_probability_per_month,
            demotion_satisfaction=ladder.demotion_satisfaction,
            demotion_probability=ladder.demotion_probability_per_month,
        )


def move_on_ladder(
    table: CustomerTable,
    rows: np.ndarray,
    draws: np.ndarray,
    satisfaction: np.ndarray,
    spend_per_month: np.ndarray,
    ladder: Ladder,
) -> tuple[int, int]:
    """Promote eligible customers one rung and demote dissatisfied ones.

    Args:
        table: The customer table.
        rows: Active customers.
        draws: This month's uniform draw for every person in the table.
        satisfaction: Satisfaction of each customer in ``rows``.
        spend_per_month: Expected spend of each customer in ``rows``, currency per month.
        ladder: What each rung takes, and the chances of climbing and slipping.

    Returns:
        Numbers promoted and demoted.
    """
    promoted, demoted = _move_on_ladder(
        table.tier,
        table.tenure_months,
        rows,
        draws,
        satisfaction,
        spend_per_month,
        ladder.tenure_needed,
        ladder.satisfaction_needed,
        ladder.spend_needed,
        np.float32(ladder.promotion_probability),
        np.float32(ladder.demotion_satisfaction),
        np.float32(ladder.demotion_probability),
    )
    return int(promoted), int(demoted)


@compiled
def _move_on_ladder(
    tier,
    tenure_months,
    rows,
    draws,
    satisfaction,
    spend_per_month,
    tenure_needed,
    satisfaction_needed,
    spend_needed,
    promotion_probability,
    demotion_satisfaction,
    demotion_probability,
):
    top = tenure_needed.size - 1
    promoted = demoted = 0
    for i in range(rows.size):
        row = rows[i]
        rung = tier[row]
        next_rung = min(rung + 1, top)
        u = draws[row]
        # Both tests use the rung at the start of the month: a customer may do both. (The
        # tests are combined with & rather than "and": no branches to mispredict.)
        climbs = (
            (rung < top)
            & (tenure_months[row] >= tenure_needed[next_rung])
            & (satisfaction[i] >= satisfaction_needed[next_rung])
            & (spend_per_month[i] >= spend_needed[next_rung])
            & (u < promotion_probability)
        )
        slips = (rung > 0) & (satisfaction[i] < demotion_satisfaction) & (u < demotion_probability)
        tier[row] = rung + climbs - slips
        promoted += climbs
        demoted += slips
    return promoted, demoted


def price_sensitivity_on_rung(table: CustomerTable, rows: np.ndarray, ladder: Ladder) -> np.ndarray:
    """Price sensitivity of customers ``rows`` on their rung: their own, times the rung's
    ``price_sensitivity_multiplier``."""
    multiplier = ladder.price_sensitivity_multiplier
    sensitivity = np.empty(rows.size, np.result_type(table.price_sensitivity, multiplier))
    _price_sensitivity_on_rung(table.price_sensitivity, table.tier, rows, multiplier, sensitivity)
    return sensitivity


@compiled
def _price_sensitivity_on_rung(price_sensitivity, tier, rows, multiplier, sensitivity):
    for i in range(rows.size):
        sensitivity[i] = price_sensitivity_on_rung_of(rows[i], price_sensitivity, tier, multiplier)


@compiled
def price_sensitivity_on_rung_of(row, price_sensitivity, tier, multiplier):  # noqa: ANN001, ANN201
    """:func:`price_sensitivity_on_rung` of customer ``row`` in a compiled loop."""
    return price_sensitivity[row] * multiplier[tier[row]]
