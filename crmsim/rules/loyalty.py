"""The loyalty ladder: shopper -> customer -> member -> advocate -> raving fan.

Customers climb one rung at a time once they have been with the firm long
enough, are satisfied enough and spend enough for the next rung; each month
an eligible customer climbs with a given chance. Dissatisfied customers slip
down a rung. Higher rungs churn less, buy a larger share of their wallet,
are less price sensitive and recommend the firm (see ``ladder`` in the
scenario schema).
"""

from __future__ import annotations

import numpy as np

from crmsim.customers import CustomerTable


def move_on_ladder(
    table: CustomerTable,
    rows: np.ndarray,
    draws: np.ndarray,
    satisfaction: np.ndarray,
    spend_per_month: np.ndarray,
    tenure_needed: np.ndarray,
    satisfaction_needed: np.ndarray,
    spend_needed: np.ndarray,
    promotion_probability: float,
    demotion_satisfaction: float,
    demotion_probability: float,
) -> tuple[int, int]:
    """Promote eligible customers one rung and demote dissatisfied ones.

    Args:
        table: The customer table.
        rows: Active customers.
        draws: This month's uniform draw for every person in the table.
        satisfaction: Satisfaction of each customer in ``rows``.
        spend_per_month: Expected spend of each customer in ``rows``, currency per month.
        tenure_needed, satisfaction_needed, spend_needed: Per rung, what it takes to stand on it.
        promotion_probability: Chance per month an eligible customer climbs.
        demotion_satisfaction: Below this satisfaction a customer may slip.
        demotion_probability: Chance per month a dissatisfied customer slips.

    Returns:
        Numbers promoted and demoted.
    """
    tier = table.tier[rows]
    top = len(tenure_needed) - 1
    next_tier = np.minimum(tier + 1, top)
    eligible = (
        (tier < top)
        & (table.tenure_months[rows] >= tenure_needed[next_tier])
        & (satisfaction >= satisfaction_needed[next_tier])
        & (spend_per_month >= spend_needed[next_tier])
    )
    u = draws[rows]
    promoted = eligible & (u < promotion_probability)
    demoted = (tier > 0) & (satisfaction < demotion_satisfaction) & (u < demotion_probability)
    tier = tier + promoted.astype(np.int8) - demoted.astype(np.int8)
    table.tier[rows] = tier
    return int(promoted.sum()), int(demoted.sum())
