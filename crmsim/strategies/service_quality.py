"""Service quality: a call centre that resolves problems, at a cost per contact."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import LOWER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Effects

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


@register
class ServiceQuality(Strategy):
    """Invest in the call centre: better service, problems resolved, fewer service defectors.

    Course concept: service elements (post-transaction: complaint resolution,
    returns) and call-centre efficiency and effectiveness; poor service is a
    frequent reason for defection and a manageable one. While it runs, every
    customer experiences ``value_gain`` more value (satisfaction rises, so
    more customers climb the ladder), and a share ``resolution_rate`` of the
    problems that would have made customers leave over service is resolved:
    the service defection hazard is multiplied by 1 - ``resolution_rate``.

    Costs: each paying customer contacts the service
    ``contacts_per_customer_per_month`` times a month on average, each contact
    costing ``cost_per_contact`` (programme cost, charged to that customer, so
    it counts in their lifetime value), plus ``fixed_cost_per_month_per_1000_people``
    of systems and training, booked as unattributed programme cost. That cost is
    fixed in that it does not vary with the contacts, but not absolute: a call
    centre for a market twice the size needs twice the systems and training, so
    it is given per 1,000 people in the market at month 0 (25 is 500 a month at
    20,000 people).

    Resolution time, a simple model: a share ``resolution_rate`` of contacts
    is resolved at the first contact, in ``first_contact_days``; the rest need
    a follow-up and take ``follow_up_days`` longer, so the average resolution
    time is first_contact_days + (1 - resolution_rate) x follow_up_days. It does
    not depend on the load (no queue is modelled).

    Measures: ``service_quality_contacts`` (expected contacts of the month's
    paying customers), ``service_quality_resolution_days`` (average resolution
    time), ``service_quality_cost_per_contact`` (all-in: contact costs plus the
    fixed cost, per contact) and ``service_quality_spend`` (currency).
    """

    name: ClassVar[str] = "service_quality"
    concept: ClassVar[str] = "Retention: service quality and the call centre (complaint resolution)"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "value_gain": Field(
            "number", 0.05, "value units", "Value every customer gains from better service."
        ),
        "resolution_rate": Field(
            "share",
            0.3,
            "share",
            "Share of service problems resolved (at the first contact): service defection is "
            "cut by this share.",
        ),
        "contacts_per_customer_per_month": Field(
            "nonnegative",
            0.25,
            "contacts per customer-month",
            "How often a paying customer contacts the service.",
        ),
        "cost_per_contact": Field(
            "nonnegative", 4.0, "currency per contact", "Cost of handling one contact."
        ),
        "fixed_cost_per_month_per_1000_people": Field(
            "nonnegative",
            0.0,
            "currency per month per 1,000 people",
            "Monthly investment in systems and training, not spent on any one customer, per "
            "1,000 people in the market at month 0 (simulation.customers).",
        ),
        "first_contact_days": Field(
            "nonnegative", 1.0, "days", "Time to resolve a problem solved at the first contact."
        ),
        "follow_up_days": Field(
            "nonnegative",
            5.0,
            "days",
            "Extra time a problem not solved at the first contact takes.",
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure("service_quality_contacts", "Service contacts", "contacts per month"),
        measure("service_quality_resolution_days", "Average resolution time", "days", LOWER),
        measure(
            "service_quality_cost_per_contact",
            "All-in cost per contact",
            "currency per contact",
            LOWER,
        ),
        measure("service_quality_spend", "Service spend", "currency per month"),
    )
    renamed: ClassVar[dict[str, str]] = {
        "fixed_cost_per_month": "fixed_cost_per_month_per_1000_people"
    }

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        p = params
        self.cost_per_customer = p["contacts_per_customer_per_month"] * p["cost_per_contact"]

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects:
        """Better service for everyone, fewer service defections, the contacts' cost."""
        kept = np.float32(1.0 - self.params["resolution_rate"])
        return Effects(
            value=np.full(rows.size, self.params["value_gain"], np.float32),
            reasons={"service": np.full(rows.size, kept, np.float32)},
            cost_per_month=np.full(rows.size, self.cost_per_customer, np.float32),
        )

    def fixed_cost(self, view: MarketView) -> float:
        return float(view.per_market(self.params["fixed_cost_per_month_per_1000_people"]))

    def resolution_days(self) -> float:
        """Average time to resolve a contact, days."""
        p = self.params
        return p["first_contact_days"] + (1.0 - p["resolution_rate"]) * p["follow_up_days"]

    def report(self, view: MarketView) -> dict[str, float]:
        p = self.params
        # The month's paying customers were each charged their contacts.
        payers = view.paying_customers.size
        contacts = payers * p["contacts_per_customer_per_month"]
        spend = contacts * p["cost_per_contact"] + self.fixed_cost(view)
        return {
            "service_quality_contacts": float(contacts),
            "service_quality_resolution_days": self.resolution_days(),
            "service_quality_cost_per_contact": float(spend / contacts)
            if contacts
            else float("nan"),
            "service_quality_spend": float(spend),
        }
