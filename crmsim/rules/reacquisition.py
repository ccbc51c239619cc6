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

from crmsim.compiled import ABSENT, compiled
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
    factor = factor_of(gone) if factor_of is not None else None
    back = np.empty(gone.size, gone.dtype)
    returned = _return_defectors(
        table.months_since_defection,
        table.defection_reason,
        gone,
        draws,
        chance_by_month,
        recoverability_by_reason,
        ABSENT if factor is None else factor,
        factor is not None,
        back,
    )
    return back[:returned]


@compiled
def _return_defectors(
    months_since_defection,
    defection_reason,
    gone,
    draws,
    chance_by_month,
    recoverability_by_reason,
    factor,
    by_factor,
    back,
):
    # The chance in numpy's dtypes: float32 chance x float32 recoverability (x factor).
    last = chance_by_month.size - 1
    returned = 0
    for i in range(gone.size):
        row = gone[i]
        chance = chance_by_month[min(months_since_defection[row], last)] * np.float32(
            recoverability_by_reason[defection_reason[row]]
        )
        if by_factor:
            chance = chance * factor[i]
        if draws[row] < chance:
            back[returned] = row
            returned += 1
        else:
            months_since_defection[row] += 1
    return returned


def recoverability_table(recoverability: dict[str, float], reasons: tuple[str, ...]) -> np.ndarray:
    """Recoverability by reason code (float64); customers the firm fired never come back."""
    values = [recoverability.get(reason, 0.0) for reason in reasons]
    values[FIRED] = 0.0
    return np.array(values, np.float64)
