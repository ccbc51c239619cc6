"""The month's record: the monthly measures, counted as the month goes and closed at its end.

The names and order of the measures come from ``crmsim.measures`` (and the
strategies' own ``measures``); the model adds counts to ``stats`` while the
month runs (acquired, defections by reason, returns...) and
:func:`close_month` adds the month-end counts, the money and each running
strategy's report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crmsim import economics
from crmsim.compiled import compiled, sum_as_float64, sum_at
from crmsim.measures import MONTHLY_MEASURES, Measure
from crmsim.vocabulary import ACTIVE, DEFECTED, REASONS, STAGE_NAMES, STAGES, TIERS

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel
    from crmsim.strategies import Strategy

DEFECTION_COUNTS: tuple[str, ...] = tuple(f"defections_{reason}" for reason in REASONS)
TIER_COUNTS: tuple[str, ...] = tuple(f"tier_{tier}" for tier in TIERS)


class MonthRecord:
    """The monthly measures of a run, one row per month.

    Args:
        strategies: Every strategy of the run (their measures become columns).

    Attributes:
        stats: This month's measures so far, by name.
        measures: The measures of each row: the core ones, then the strategies'.
        month_end_clv: The customers active at the end of the last month kept (rows) and
            each one's expected CLV then (currency): what that month's customer equity
            sums, kept for the lifetime values of the run (``crmsim.economics``); None
            before the first month.
    """

    def __init__(self, strategies: Sequence[Strategy]) -> None:
        self.measures: tuple[Measure, ...] = (
            *MONTHLY_MEASURES,
            *(m for strategy in strategies for m in strategy.measures),
        )
        self._blank = dict.fromkeys((m.name for m in self.measures), 0)
        self.stats: dict[str, Any] = dict(self._blank)
        self._rows: list[dict[str, Any]] = []
        self.month_end_clv: tuple[np.ndarray, np.ndarray] | None = None

    def open_month(self, month: int) -> None:
        """Start the record of ``month`` with every count at 0."""
        self.stats = dict(self._blank)
        self.stats["month"] = month

    def add(self, name: str, count: float) -> None:
        """Add ``count`` to this month's measure ``name``."""
        self.stats[name] += count

    def keep(self) -> None:
        """Keep this month's row."""
        self._rows.append(self.stats)

    def frame(self) -> pd.DataFrame:
        """The monthly measures, one row per month simulated."""
        frame = pd.DataFrame(self._rows, columns=list(self._blank))
        frame["month"] = frame["month"].astype(int)
        return frame


def close_month(model: CRMModel, profit: float) -> None:
    """Count the month's end: stages, rungs, retention, money, equity, strategies' reports.

    Args:
        model: The model, at the end of the month.
        profit: The month's profit, currency.
    """
    table = model.customers
    stats = model.record.stats
    stages = np.zeros(len(STAGES), np.int64)
    tiers = np.zeros(len(TIERS), np.int64)
    active = np.empty(table.people, np.int64)
    members, n_active = _census(
        table.stage[: table.people], table.tier, table.member, stages, tiers, active
    )
    active = active[:n_active]
    stats.update(zip(STAGES, stages.tolist(), strict=True))
    stats.update(zip(TIER_COUNTS, tiers.tolist(), strict=True))
    at_risk = stats["active_at_start"]
    stats["defected_this_month"] = sum(stats[name] for name in DEFECTION_COUNTS)
    stats["retained"] = at_risk - stats["defected_this_month"]
    stats["retention_rate"] = economics.retention_rate(at_risk, stats["defected_this_month"])
    stats["churn_rate"] = economics.churn_rate(
        at_risk, stats["defected_this_month"], stats["defections_fired"]
    )
    stats["members"] = members
    stats.update(model.books.month)
    stats["profit"] = profit
    clv = model.month_end_clv(active)
    stats["customer_equity"] = sum_as_float64(clv)
    model.record.month_end_clv = (active, clv)
    # A float32 sum over a count, as np.mean does it.
    stats["mean_satisfaction"] = (
        float(np.float32(sum_at(table.satisfaction, active)) / active.size)
        if active.size
        else float("nan")
    )
    stats["market_expectation"] = model.market_expectation
    stats["competitor_offer_strength"] = model.competitor.offer_strength
    stats["price_index"] = model.firm.price_index
    for player in (model.firm, model.competitor):
        for strategy, view in zip(player.strategies, player.views, strict=True):
            if not strategy.measures:
                continue
            report = strategy.report(view) if strategy.is_running(model.month) else {}
            for name in strategy.measure_names():
                stats[name] = report.get(name, float("nan"))
    model.record.keep()


@compiled
def _census(stage, tier, member, stages, tiers, active):
    # People by stage (a pass over the market for each, a loop the compiler turns into
    # vector instructions), the active customers' rows (each row written, kept only when
    # active) and their rungs, and members of the loyalty programme.
    for code in range(stages.size):
        count = 0
        for row in range(stage.size):
            count += stage[row] == code
        stages[code] = count
    n_active = 0
    for row in range(stage.size):
        active[n_active] = row
        n_active += stage[row] == ACTIVE
    for i in range(n_active):
        tiers[tier[active[i]]] += 1
    members = 0
    for row in range(member.size):
        members += member[row]
    return members, n_active


FOLLOWED_COLUMNS: tuple[str, ...] = (
    "stage",
    "tier",
    "satisfaction",
    "expectation",
    "revenue",
    "churn_hazard",
    "member",
    "defection_reason",
)
"""Columns of the table kept each month for the followed customers."""


class FollowedHistory:
    """The month-by-month states of a few followed customers.

    Each month keeps only the followed rows of a few columns; the readable
    history (one dict per month) is built when asked for.

    Args:
        rows: The followed rows of the table.
    """

    def __init__(self, rows: list[int]) -> None:
        self.rows = list(rows)
        self._picked = np.asarray(self.rows, np.int64)
        self._months: list[int] = []
        self._states: list[tuple[np.ndarray, ...]] = []

    @staticmethod
    def default_rows(table: Any, count: int) -> list[int]:
        """Whom to follow by default: ``count`` people, half of them customers at month 0
        and half not yet customers."""
        active = table.stage[: table.people] == ACTIVE
        half = count // 2
        first = np.flatnonzero(active)[: count - half].tolist()
        later = np.flatnonzero(~active)[:half].tolist()
        return first + later

    def keep(self, table: Any, month: int) -> None:
        """Keep this month's state of the followed customers."""
        if self.rows:
            self._months.append(month)
            self._states.append(tuple(getattr(table, c)[self._picked] for c in FOLLOWED_COLUMNS))

    def by_customer(self) -> dict[int, list[dict[str, Any]]]:
        """Each followed customer's history: one dict per month simulated."""
        return {i: self.of_customer(i) for i in self.rows}

    def of_customer(self, i: int) -> list[dict[str, Any]]:
        """Row ``i``'s history, one dict per month simulated (empty if not followed)."""
        if i not in self.rows:
            return []
        k = self.rows.index(i)
        history = []
        for month, state in zip(self._months, self._states, strict=True):
            stage, tier, satisfaction, expectation, revenue, hazard, member, reason = (
                column[k].item() for column in state
            )
            history.append(
                {
                    "month": month,
                    "stage": STAGE_NAMES[stage],
                    "tier": TIERS[tier],
                    "satisfaction": round(satisfaction, 4),
                    "expectation": round(expectation, 4),
                    "revenue": round(revenue if stage == ACTIVE else 0.0, 2),
                    "churn_hazard": round(hazard, 5),
                    "member": member,
                    "defection_reason": REASONS[reason] if stage == DEFECTED else None,
                }
            )
        return history
