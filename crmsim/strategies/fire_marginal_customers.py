"""Firing marginal customers: end relationships that are not worth their cost."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.strategies.base import TIMING, Strategy, register

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


def lowest_share(value: np.ndarray, share: float) -> np.ndarray:
    """Positions of the ``share`` of ``value`` that is lowest: the bottom of a review's ranking.

    The review ranks from the lowest value up (ties keep their order) and takes
    ``round(share x count)`` of them.

    Args:
        value: Expected CLV of each reviewed customer (currency).
        share: Share of them to take, 0 to 1.

    Returns:
        Positions into ``value``, lowest value first.
    """
    count = int(round(share * value.size))
    return np.argsort(value, kind="stable")[:count]


@register
class FireMarginalCustomers(Strategy):
    """Rank customers by expected CLV and end the relationships at the bottom.

    Course concept: terminate low-profit customers (the fourth CRM strategy for
    the value of the customer base). Every ``review_every_months`` the firm
    ranks customers who have been with it at least ``min_tenure_months`` by
    their expected (prospective) CLV and ends the relationships below
    ``clv_threshold`` (if set) or else the ``bottom_share`` with the lowest
    value. It saves their cost to serve; fired customers never come back, and
    a win-back offer to them is refused by design. Side effects: fired
    customers talk (each puts off ``deterrence_per_fired_customer`` prospects),
    and a base of only high-value customers draws more of the competitor's
    poaching (``competitor.value_focus``).

    It reviews the customers it knows of (``view.firm_customers``) by how long it
    has known them (``view.months_as_customer``): a retailer that estimates cannot
    tell a silent dropout from a customer, so some of those it ends had already
    gone; they are written off, and only those still active count as fired.
    """

    name: ClassVar[str] = "fire_marginal_customers"
    concept: ClassVar[str] = "Value: terminate low-profit customers"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "review_every_months": Field(
            "positive_count", 12, "months", "Months between reviews of the customer base."
        ),
        "bottom_share": Field(
            "share", 0.1, "share of reviewed customers", "Share ended at each review."
        ),
        "clv_threshold": Field(
            "number",
            None,
            "currency",
            "End every reviewed customer whose expected CLV is below this (overrides "
            "bottom_share; null = use bottom_share).",
            nullable=True,
        ),
        "min_tenure_months": Field(
            "count", 6, "months", "Customers newer than this are not judged yet."
        ),
        "cost_per_termination": Field(
            "nonnegative", 0.0, "currency per customer", "Cost of ending one relationship."
        ),
        "deterrence_per_fired_customer": Field(
            "nonnegative",
            0.2,
            "prospects per fired customer",
            "Prospects put off by what a fired customer tells others.",
        ),
    }

    held_threshold: float | None = None
    """The expected CLV below which ``bottom_share`` falls now, held in a run-off."""

    def _reviewed(self, view: MarketView) -> np.ndarray:
        """The customers the firm knows of who have been with it long enough to review."""
        known = view.firm_customers()
        return known[view.months_as_customer(known) >= self.params["min_tenure_months"]]

    def hold_for_run_off(self, view: MarketView) -> None:
        """Fire below the expected CLV that ``bottom_share`` of the base falls under now."""
        reviewed = self._reviewed(view)
        n = int(round(self.params["bottom_share"] * reviewed.size))
        if self.params["clv_threshold"] is None and 0 < n < reviewed.size:
            self.held_threshold = float(np.sort(view.expected_clv(reviewed))[n])

    def act(self, view: MarketView) -> None:
        """On review months, end the relationships with the least valuable customers."""
        months_running = view.month - self.start_month
        if months_running % self.params["review_every_months"] != 0:
            return
        reviewed = self._reviewed(view)
        if reviewed.size == 0:
            return
        value = view.expected_clv(reviewed)
        threshold = self.params["clv_threshold"]
        if threshold is None:
            threshold = self.held_threshold
        if threshold is not None:
            fired = reviewed[value < threshold]
        else:
            fired = reviewed[lowest_share(value, self.params["bottom_share"])]
        if fired.size == 0:
            return
        view.end_relationships(fired)
        view.charge(fired, self.params["cost_per_termination"], "programme")
        # What fired customers say puts some prospects off.
        view.deter_prospects(fired.size, self.params["deterrence_per_fired_customer"])
