"""Relationships begin, age, end and begin again.

Every event that starts or ends a customer's relationship with the firm goes
through :class:`Relationships`: the initial base of month 0, a first purchase,
a month lived together, the firm ending a relationship (firing), and a lost
customer coming back, on their own or won back. Each start puts the customer
at the bottom of the ladder with the market's expectation of the day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from crmsim.compiled import compiled
from crmsim.engine.customers import draw_purchases_left
from crmsim.engine.warm_start import warm_up
from crmsim.rules import defection, reacquisition
from crmsim.vocabulary import ACTIVE, FIRED, REASONS

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel


class Relationships:
    """The starts and ends of relationships in a market.

    Args:
        model: The model whose customers these are.

    Attributes:
        recoverability: Relative chance that a customer lost for each reason comes
            back, by reason code (fired last).
        return_chance: Chance of coming back by months since defection.
    """

    def __init__(self, model: CRMModel) -> None:
        self._model = model
        p = model.scenario.params.reacquisition
        self.recoverability = reacquisition.recoverability_table(
            vars(p.reason_recoverability), REASONS
        )
        self.return_chance = reacquisition.return_chance_by_month(
            p.return_probability_per_month,
            p.half_life_months,
            max_months=model.scenario.params.simulation.months + 1,
        )
        self.newcomers = np.zeros(0, np.int64)
        """Rows of this month's first purchases (they make their first purchase as they
        pay, in the non-contractual setting)."""

    def open_with_initial_base(self, share: float, warm_start_months: int) -> None:
        """A ``share`` of the market are customers at month 0 (traits are random): brand
        new, or after ``warm_start_months`` of uncounted life (``crmsim.engine.warm_start``)."""
        model = self._model
        table = model.customers
        n = int(round(share * table.initial_people))
        code = model.funnel.initial_base_code
        if warm_start_months == 0:
            self.welcome(np.arange(n), source=np.full(n, code, np.int8))
            return
        rng = model.streams["warm_start"]
        table.stage[:n] = ACTIVE
        self.start(np.arange(n), rng)
        warm_up(model, warm_start_months, rng)
        base = (table.stage == ACTIVE).nonzero()[0]
        table.acquired_month[base] = 0
        table.source[base] = code

    def welcome(self, rows: np.ndarray, source: np.ndarray) -> None:
        """New customers (first purchase this month, from ``source``) start a relationship."""
        model = self._model
        table = model.customers
        _welcome(
            table.stage,
            table.acquired_month,
            table.source,
            rows,
            model.month,
            source,
            *self._starting(),
        )
        self._draw_purchases_left(rows, None)
        self.newcomers = np.concatenate([self.newcomers, rows])

    def start(self, rows: np.ndarray, rng: np.random.Generator | None = None) -> None:
        """A relationship (first or renewed) starts at the bottom of the ladder.

        Args:
            rows: The customers whose relationship starts.
            rng: Stream of the non-contractual purchases to come (default: purchasing).
        """
        _start(rows, *self._starting())
        self._draw_purchases_left(rows, rng)

    def _starting(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.floating]:
        """What a relationship's start writes (``_start_at``): the columns of the rung, the
        tenure, the expectation and the months since a purchase, and the market's
        expectation (in the expectation's dtype)."""
        model = self._model
        table = model.customers
        return (
            table.tier,
            table.tenure_months,
            table.expectation,
            table.months_since_purchase,
            table.expectation.dtype.type(model.market_expectation),
        )

    def _draw_purchases_left(self, rows: np.ndarray, rng: np.random.Generator | None) -> None:
        # A retail relationship starts with the purchases to come before a silent dropout.
        model = self._model
        table = model.customers
        if model.non_contractual and rows.size:
            table.purchases_left[rows] = draw_purchases_left(
                model.streams["purchasing"] if rng is None else rng,
                table.dropout_probability[rows],
            )

    def age(self, rows: np.ndarray) -> None:
        """Customers of ``rows`` who stayed the whole month are a month older in the
        relationship; this month's newcomers are newcomers no more."""
        table = self._model.customers
        _age(table.stage, table.tenure_months, rows)
        self.newcomers = np.zeros(0, np.int64)

    def end(self, rows: np.ndarray) -> None:
        """The firm ends the relationships with its customers in ``rows`` (fired).

        A retailer cannot see who has silently left, so some of ``rows`` may be gone
        already: the firm writes them off in its own records, but they leave no second
        time (only those still active are fired and counted).
        """
        model = self._model
        model.knowledge.relationships_ended(rows, churned=False)  # censored: still there
        rows = rows[model.customers.stage[rows] == ACTIVE]
        defection.record_defections(
            model.customers, rows, np.full(rows.size, FIRED, np.int8), model.month
        )
        model.record.add("defections_fired", rows.size)

    def reacquire(self, rows: np.ndarray, cost_per_customer: Any, won_back: bool = False) -> None:
        """Customers in ``rows`` (defected) come back; the cost is charged to each of them.

        Used by the natural return of lost customers (at the end of a month, counted in
        ``returned``) and by win-back campaigns (at its start, counted in ``won_back``).
        """
        if rows.size == 0:
            return
        model = self._model
        table = model.customers
        _come_back(
            table.stage, table.months_since_defection, table.times_returned, rows, *self._starting()
        )
        self._draw_purchases_left(rows, None)
        model.books.charge(rows, cost_per_customer, "return")
        model.record.add("won_back" if won_back else "returned", rows.size)

    def natural_returns(self, draws: np.ndarray) -> None:
        """Some of those who left come back on their own, fewer the longer they have been
        gone (each on their "leaving" draw in ``draws``)."""
        model = self._model
        back = reacquisition.return_defectors(
            model.customers,
            # Only customers gone since an earlier month can return: their draws are unused.
            draws,
            self.return_chance,
            self.recoverability,
            factor_of=model.return_factor,
        )
        self.reacquire(back, model.scenario.params.reacquisition.cost_per_return)


@compiled
def _age(stage, tenure_months, rows):
    for row in rows:
        if stage[row] == ACTIVE:
            tenure_months[row] += 1


@compiled
def _welcome(
    stage,
    acquired_month,
    source_column,
    rows,
    month,
    source,
    tier,
    tenure_months,
    expectation,
    months_since_purchase,
    market_expectation,
):
    # Customers from their first purchase, and a relationship starts (``start``).
    for i in range(rows.size):
        row = rows[i]
        stage[row] = ACTIVE
        acquired_month[row] = month
        source_column[row] = source[i]
        _start_at(row, tier, tenure_months, expectation, months_since_purchase, market_expectation)


@compiled
def _start(rows, tier, tenure_months, expectation, months_since_purchase, market_expectation):
    for row in rows:
        _start_at(row, tier, tenure_months, expectation, months_since_purchase, market_expectation)


@compiled
def _come_back(
    stage,
    months_since_defection,
    times_returned,
    rows,
    tier,
    tenure_months,
    expectation,
    months_since_purchase,
    market_expectation,
):
    # Customers again, back from being gone, and a relationship starts (``start``).
    for row in rows:
        stage[row] = ACTIVE
        months_since_defection[row] = 0
        times_returned[row] += 1
        _start_at(row, tier, tenure_months, expectation, months_since_purchase, market_expectation)


@compiled
def _start_at(row, tier, tenure_months, expectation, months_since_purchase, market_expectation):
    # At the bottom of the ladder, new in the relationship, expecting what the market does.
    tier[row] = 0
    tenure_months[row] = 0
    expectation[row] = market_expectation
    months_since_purchase[row] = 0
