"""Reacquisition: customers who left may come back, less likely the longer they are gone.

From the month after they left, the chance of a return is
``return_probability_per_month`` and halves every ``half_life_months``; it depends on why
the customer left (a service failure can be put right; a customer who left
the market rarely returns). Customers the firm ended itself do not return.
Returning customers start again at the bottom of the ladder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from crmsim.vocabulary import DEFECTED, FIRED

if TYPE_CHECKING:
    from crmsim.engine.customers import CustomerTable


def return_chance_by_month(
    return_probability: float, half_life_months: float, max_months: int
) -> np.ndarray:
    """Chance of returning, by months since defection (0 .. max_months).

    Nobody returns in the month they left (0 months); one month after leaving the
    chance is ``return_probability`` and it halves every ``half_life_months``.
    """
    months = np.arange(max_months + 1, dtype=np.float64)
    chance = return_probability * 0.5 ** ((months - 1.0) / half_life_months)
    chance[0] = 0.0
    return chance.astype(np.float32)


def return_defectors(
    table: CustomerTable,
    draws: np.ndarray,
    chance_by_month: np.ndarray,
    recoverability_by_reason: np.ndarray,
    factor_of: Callable[[np.ndarray], np.ndarray | None] | None = None,
) -> np.ndarray:
    """Defected customers come back with a chance that fades with time gone.

    Args:
        table: The customer table.
        draws: This month's uniform draw for every person in the table.
        chance_by_month: Chance of return by months since defection.
        recoverability_by_reason: Relative chance by reason code (fired last, 0).
        factor_of: Optional multiplier of the chance for given defected rows (strategies).

    Those who stay away are one month further gone; the caller restarts the
    relationships of those who come back.

    Returns:
        Rows of the customers who come back.
    """
    gone = (table.stage == DEFECTED).nonzero()[0]
    months = np.minimum(table.months_since_defection[gone], chance_by_month.size - 1)
    recoverability = recoverability_by_reason[table.defection_reason[gone]].astype(np.float32)
    chance = chance_by_month[months] * recoverability
    if factor_of is not None:
        factor = factor_of(gone)
        if factor is not None:
            chance = chance * factor
    returns = draws[gone] < chance
    back = gone[returns]
    still_gone = gone[~returns]
    table.months_since_defection[still_gone] += 1
    return back


def recoverability_table(recoverability: dict[str, float], reasons: tuple[str, ...]) -> np.ndarray:
    """Recoverability by reason code (float64); customers the firm fired never come back."""
    values = [recoverability.get(reason, 0.0) for reason in reasons]
    values[FIRED] = 0.0
    return np.array(values, np.float64)
