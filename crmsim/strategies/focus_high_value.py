"""Focus on high-value customers: the most valuable become clients with a professional."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import HIGHER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Effects
from crmsim.vocabulary import ACTIVE

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


@register
class FocusHighValue(Strategy):
    """Treat the customers of highest expected lifetime value as clients.

    Course concept: focus more effort on high-profit (strategically significant)
    customers, the fifth CRM strategy for the value of the customer base, and
    the difference between nameless *customers*, served by whoever is free, and
    *clients*, known individually and served by an assigned professional (a
    social bond). Every ``review_every_months`` the firm ranks its
    customers (those it knows of, ``view.firm_customers``) by expected CLV
    (``view.expected_clv``) and makes the top ``client_share`` its clients;
    clients who are no longer in the top at the next review go back to being
    customers, and a client the firm sees leave stops being one (a returning
    customer waits for the next review; a retailer's client who silently drops
    out stays one, at no cost, until the firm's estimates drop them).

    Clients experience ``value_gain`` more value (being known), switch
    ``churn_reduction`` less and buy ``spend_uplift`` more of their wallet. The
    assigned professional costs ``cost_per_client_per_month`` for each client
    who pays that month, charged to that client as programme cost. Side
    effects: expected CLV already counts a client's better treatment, so
    clients tend to stay in the top at the next review (incumbency); and the
    effort is spent where the competitor's value-focused poaching hurts most.

    Measures: ``focus_high_value_clients`` (clients among the month's paying
    customers, margins at the start of the month), ``focus_high_value_client_retention``
    and ``focus_high_value_other_retention`` (share of the month's clients, and
    of its other customers, still active at month end), and the clients gained
    and dropped at a review.
    """

    name: ClassVar[str] = "focus_high_value"
    concept: ClassVar[str] = "Value: focus effort on high-profit customers (clients, not customers)"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "review_every_months": Field(
            "positive_count", 6, "months", "Months between reviews of who is a client."
        ),
        "client_share": Field(
            "share",
            0.1,
            "share of active customers",
            "Top share by expected CLV made clients at each review.",
        ),
        "value_gain": Field(
            "number",
            0.05,
            "value units",
            "Value a client sees in being known and served by an assigned professional.",
        ),
        "churn_reduction": Field(
            "share", 0.3, "share", "How much less clients switch (0.3 = 30% less)."
        ),
        "spend_uplift": Field(
            "nonnegative", 0.1, "share", "How much more of their wallet clients spend."
        ),
        "cost_per_client_per_month": Field(
            "nonnegative",
            6.0,
            "currency per client-month",
            "Cost of the assigned professional's time for one client.",
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure("focus_high_value_clients", "Clients among the month's customers", "customers"),
        measure("focus_high_value_new_clients", "Clients gained at a review", "customers"),
        measure("focus_high_value_dropped_clients", "Clients dropped at a review", "customers"),
        measure(
            "focus_high_value_client_retention", "Retention of clients", "share per month", HIGHER
        ),
        measure(
            "focus_high_value_other_retention",
            "Retention of other customers",
            "share per month",
            HIGHER,
        ),
    )

    def __init__(self, params: dict) -> None:
        super().__init__(params)
        self.client = np.zeros(0, bool)
        self._new = 0
        self._dropped = 0

    def start(self, view: MarketView) -> None:
        """Nobody is a client before the first review."""
        self.client = np.zeros(view.size, bool)

    held_cutoff: float | None = None
    """The expected CLV that puts a customer in the top ``client_share`` now, held in a
    run-off."""

    def hold_for_run_off(self, view: MarketView) -> None:
        """Choose as clients those worth at least what the top ``client_share`` is worth now."""
        active = view.firm_customers()
        n = int(round(self.params["client_share"] * active.size))
        if 0 < n:
            self.held_cutoff = float(np.sort(view.expected_clv(active))[::-1][n - 1])

    def act(self, view: MarketView) -> None:
        """Clients who left are clients no more; on review months, choose the clients again."""
        known = view.firm_customers()
        client = self.client
        still = np.zeros(view.size, bool)
        still[known] = True
        client &= still
        self._new = self._dropped = 0
        if (view.month - self.start_month) % self.params["review_every_months"] != 0:
            return
        active = known
        n = int(round(self.params["client_share"] * active.size))
        chosen = np.zeros(view.size, bool)
        if self.held_cutoff is not None:
            chosen[active[view.expected_clv(active) >= self.held_cutoff]] = True
        elif n > 0:
            value = view.expected_clv(active)
            chosen[active[np.argsort(-value, kind="stable")[:n]]] = True
        self._new = int((chosen & ~client).sum())
        self._dropped = int((client & ~chosen).sum())
        client[:] = chosen

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects:
        """Clients see more value, switch less, spend more and cost their professional's time."""
        p = self.params
        clients = self.client[rows]

        def where_client(if_client: float, otherwise: float) -> np.ndarray:
            return np.where(clients, np.float32(if_client), np.float32(otherwise))

        return Effects(
            churn=where_client(1.0 - p["churn_reduction"], 1.0),
            spend=where_client(1.0 + p["spend_uplift"], 1.0),
            value=where_client(p["value_gain"], 0.0),
            cost_per_month=where_client(p["cost_per_client_per_month"], 0.0),
        )

    def report(self, view: MarketView) -> dict[str, float]:
        stage = view.customers.stage
        # The month's customers (newcomers are not clients yet), split by treatment.
        month = view.month_customers
        is_client = self.client[month]
        clients, others = month[is_client], month[~is_client]
        return {
            "focus_high_value_clients": float(clients.size),
            "focus_high_value_new_clients": float(self._new),
            "focus_high_value_dropped_clients": float(self._dropped),
            "focus_high_value_client_retention": _still_active(stage, clients),
            "focus_high_value_other_retention": _still_active(stage, others),
        }


def _still_active(stage: np.ndarray, rows: np.ndarray) -> float:
    return float((stage[rows] == ACTIVE).mean()) if rows.size else float("nan")
