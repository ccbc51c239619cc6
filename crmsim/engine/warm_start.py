"""A warm start: the firm's customers at month 0 have lived with it for a while.

A firm is not founded at month 0 with a base of brand-new customers: its
customers have been with it for different lengths of time, stand on
different rungs of the ladder and have had time to be pleased or
disappointed. Starting them all at tenure 0 on the bottom rung makes the
first months artefacts (retention far below its level later on, waves of
promotions as the cohort reaches each rung's tenure together).

Before month 0 the market lives ``market.warm_start_months`` months that are
not counted: the customers are satisfied or not, move on the ladder and
leave, and each one who leaves is replaced by someone new from the rest of
the market (as far as anyone is left), so the base keeps its size while
tenure, rungs, satisfaction and who is in the base (those who stay long are
over-represented, as in any mature base) reach their running mix. Nothing is booked or recorded
but the firm's own records of how long relationships lasted and how they ended
(``crmsim.engine.knowledge``), which its month-0 estimates use; the
warm-up draws from a random stream of its own. The firm's strategies do not
act, the market's expectation stays at its month-0 level, and in the
non-contractual setting the silent dropout of the BG/NBD story is left to
the run itself (only switching moves customers during the warm-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from crmsim.compiled import sample_without_replacement
from crmsim.strategies.effects import NO_EFFECTS
from crmsim.vocabulary import ACTIVE, SUSPECT

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel


def warm_up(model: CRMModel, months: int, rng: np.random.Generator) -> None:
    """Live ``months`` uncounted months with the initial base before month 0.

    Args:
        model: The model, with its initial base just welcomed.
        months: Months of warm-up (0 = none: the base is brand new at month 0).
        rng: The warm-up's own random stream.
    """
    table = model.customers
    market = model.scenario.params.market
    at_month_0 = model.market_expectation
    for month in range(-months, 0):
        # Expectations have been rising toward their month-0 level at the drift's pace,
        # so customers' expectations lag the market's at month 0 as they will later on.
        model.market_expectation = at_month_0 + market.expectation_drift_per_month * month
        rows = (table.stage == ACTIVE).nonzero()[0]
        if rows.size == 0:
            break
        draws = rng.random(table.people, dtype=np.float32)
        satisfied = model.satisfy(rows, NO_EFFECTS)
        model.climb(rows, draws, satisfied, NO_EFFECTS)
        hazards = model.leaving.hazards(rows, NO_EFFECTS)
        table.churn_hazard[rows] = hazards.leave
        leaving = rng.random(rows.size, dtype=np.float32) < hazards.leave
        leavers, stayers = rows[leaving], rows[~leaving]
        model.knowledge.relationships_ended(leavers, churned=True)  # the firm's records
        table.tenure_months[stayers] += 1
        # Leavers go back to the market, unknown to the firm; as many people from the
        # rest of the market take their places, as brand-new customers.
        outside = (table.stage == SUSPECT).nonzero()[0]
        newcomers = outside[
            sample_without_replacement(rng, outside.size, min(leavers.size, outside.size))
        ]
        table.stage[leavers] = SUSPECT
        table.tier[leavers] = 0
        table.tenure_months[leavers] = 0
        table.satisfaction[leavers] = 0.0
        table.churn_hazard[leavers] = 0.0
        model.relationships.start(np.sort(newcomers))
        table.stage[newcomers] = ACTIVE
    model.market_expectation = at_month_0
