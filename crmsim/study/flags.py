"""How well a churn flag picks out the customers who leave, at several shares flagged.

Flagging more customers catches more of those who will leave (recall rises) but
dilutes the flag with customers who would have stayed anyway (precision falls).
:func:`flag_tradeoff` measures that trade-off on the churn-reduction strategy's
random holdout (customers scored and flagged like everyone else but never made
an offer), so the offer's own effect does not blur it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from crmsim.config.scenario import Scenario, load_scenario
from crmsim.engine.model import CRMModel

STRATEGY = "churn_reduction"


def flag_tradeoff(
    scenario: Scenario | str,
    flag_shares: Sequence[float],
    seed: int = 2026,
    customers: int | None = None,
    months: int | None = None,
) -> pd.DataFrame:
    """Precision and recall of the churn-reduction flag for each share of customers flagged.

    One run per share, all with the same seed (common random numbers), so the rows
    differ only in the share flagged. Counts are pooled over the holdout's
    customer-months (:meth:`crmsim.strategies.churn_reduction.ChurnReduction.confusion_table`).

    Args:
        scenario: A scenario (or the name or path of one) that runs ``churn_reduction``.
        flag_shares: Shares of active customers flagged each month (0..1).
        seed: Seed of every run.
        customers: Market size (people at month 0); None keeps the scenario's.
        months: Months simulated; None keeps the scenario's.

    Returns:
        One row per share: ``flag_share``, ``precision`` (share of flagged holdout
        customer-months that ended in leaving), ``recall`` (share of holdout departures
        that had been flagged) and ``churn_rate`` (share of all holdout customer-months
        that ended in leaving: the precision of a flag drawn at random). NaN where
        nobody was flagged or nobody left.

    Raises:
        ValueError: The scenario does not run ``churn_reduction``, or a share is not in [0, 1].
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if STRATEGY not in base.strategies("strategies"):
        raise ValueError(
            f"scenario {base.name!r} does not run the {STRATEGY} strategy, so it has no flag "
            f"to measure; use a scenario with strategies: {{{STRATEGY}: ...}}, such as "
            f"the shipped {STRATEGY!r}"
        )
    rows = []
    for share in flag_shares:
        if not 0.0 <= float(share) <= 1.0:
            raise ValueError(f"flag_shares must be shares in [0, 1]; got {share!r}")
        changed = base.with_changes(
            {
                f"strategies.{STRATEGY}.flag_share": float(share),
                f"strategies.{STRATEGY}.risk_threshold": None,
            }
        )
        model = CRMModel(changed, rng=seed, customers=customers).run(months)
        strategy = next(s for s in model.firm.strategies if s.name == STRATEGY)
        table = strategy.confusion_table()
        model.release()
        hits = float(table.loc["flagged", "left"])
        rows.append(
            {
                "flag_share": float(share),
                "precision": _share(hits, table.loc["flagged", "all"]),
                "recall": _share(hits, table.loc["all", "left"]),
                "churn_rate": _share(table.loc["all", "left"], table.loc["all", "all"]),
            }
        )
    return pd.DataFrame(rows, columns=["flag_share", "precision", "recall", "churn_rate"])


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else float("nan")


__all__ = ["flag_tradeoff"]
