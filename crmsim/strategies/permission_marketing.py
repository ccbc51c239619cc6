"""Permission and event-based marketing: messages customers asked for, offers at key events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import HIGHER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Effects
from crmsim.vocabulary import ACTIVE

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView

MONTHS_OF_YEAR = 12


@register
class PermissionMarketing(Strategy):
    """Monthly messages to customers who opted in, and offers timed to their events.

    Course concept: permission marketing (the customer opts in to
    communications) and event-based marketing (act at key events: the end of a
    contract, a birthday, a season such as holiday sales).

    Permission: when the strategy starts, each active customer is asked once
    and opts in with chance ``opt_in_rate``; customers who join later are asked
    at the start of their first month after joining (newcomers are not messaged
    in the month they join). Each person's answer comes from one draw of the
    strategy's own random stream, so it is the same in every scenario run with
    the same seed. The answer is kept in the table's ``opted_in`` column and lasts
    if the customer leaves and comes back.

    Messages: every month each opted-in customer gets a message, which they
    asked for, so it carries no nuisance and lifts their spend by
    ``spend_uplift``. With ``message_everyone`` the firm also messages
    customers who did not opt in: they respond weakly (``unsolicited_spend_uplift``)
    and feel the nuisance (``nuisance``, value units lost every month, which
    lowers satisfaction and so raises service defection). A message costs
    ``cost_per_message`` per messaged customer who pays that month (programme
    cost, charged to them).

    Events: messaged customers get an offer at their events, each a reason to
    stay that month: the contract anniversary (tenure a whole number of years,
    when the renewal is decided), their birthday (a birth month drawn once per
    person) and the season (``season_first_month`` .. ``season_last_month`` of
    the calendar, month 0 of the run being January; null = no seasonal offers).
    An offer cuts all switching by ``event_churn_reduction`` that month and costs
    ``cost_per_event_offer``, charged to the customer as programme cost when it
    is made (one offer a month at most, whatever the number of events).

    Whom the firm asks, messages and makes offers to: its customers as it knows
    them (``MarketView.firm_customers``), with their anniversaries counted from
    when it first knew them (``MarketView.months_as_customer``). A retailer that
    estimates cannot see who has silently stopped buying, so it keeps messaging
    them (each message costs ``cost_per_message``, charged to them) and making
    them event offers (charged as made): spent for nothing, as only customers
    still there buy more or stay because of them.

    Measures: ``permission_marketing_opted_in_share`` (opted-in share of active
    customers at month end), ``permission_marketing_messaged`` (messaged
    customers who paid this month, margins at the start of the month) and
    ``permission_marketing_event_offers`` (offers made this month).
    """

    name: ClassVar[str] = "permission_marketing"
    concept: ClassVar[str] = "Retention: permission marketing and event-based offers"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "opt_in_rate": Field(
            "probability", 0.4, "per customer", "Chance a customer asked gives permission."
        ),
        "spend_uplift": Field(
            "nonnegative",
            0.05,
            "share",
            "How much more of their wallet opted-in customers spend (they respond).",
        ),
        "cost_per_message": Field(
            "nonnegative",
            0.2,
            "currency per customer-month",
            "Cost of a month's messages to one customer.",
        ),
        "message_everyone": Field(
            "bool",
            False,
            "",
            "Also message (and make event offers to) customers who did not opt in.",
        ),
        "unsolicited_spend_uplift": Field(
            "nonnegative",
            0.01,
            "share",
            "Spend uplift of customers messaged without permission.",
        ),
        "nuisance": Field(
            "nonnegative",
            0.05,
            "value units",
            "Value lost each month by a customer messaged without permission.",
        ),
        "anniversary_offers": Field(
            "bool", True, "", "Make an offer at each contract anniversary (renewal)."
        ),
        "birthday_offers": Field("bool", True, "", "Make an offer in the customer's birth month."),
        "season_first_month": Field(
            "positive_count",
            None,
            "month of the year (1-12)",
            "First calendar month of the season: offers to every messaged customer (null = none).",
            nullable=True,
            maximum=12,
        ),
        "season_last_month": Field(
            "positive_count",
            None,
            "month of the year (1-12)",
            "Last calendar month of the season (may wrap round the year end; null = the "
            "first month only).",
            nullable=True,
            maximum=12,
        ),
        "event_churn_reduction": Field(
            "share",
            0.5,
            "share",
            "How much less a customer who gets an event offer switches that month.",
        ),
        "cost_per_event_offer": Field(
            "nonnegative", 3.0, "currency per offer", "Cost of one event offer."
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure(
            "permission_marketing_opted_in_share",
            "Opted-in share of active customers",
            "share",
            HIGHER,
        ),
        measure("permission_marketing_messaged", "Customers messaged", "customers"),
        measure("permission_marketing_event_offers", "Event offers made", "offers"),
    )

    @classmethod
    def check(cls, params: dict[str, Any]) -> str | None:
        problem = super().check(params)
        if problem:
            return problem
        if params["season_last_month"] is not None and params["season_first_month"] is None:
            return "season_last_month is set but season_first_month is null"
        return None

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.asked = np.zeros(0, bool)
        self.answer_draw = np.zeros(0, np.float32)
        self.birth_month = np.zeros(0, np.int8)
        self.offered = np.zeros(0, np.int64)
        self._offer_flag = np.zeros(0, bool)
        first, last = params.get("season_first_month"), params.get("season_last_month")
        self.season: set[int] = set()
        if first is not None:
            last = first if last is None else last
            length = (last - first) % MONTHS_OF_YEAR + 1
            self.season = {(first - 1 + k) % MONTHS_OF_YEAR + 1 for k in range(length)}

    def start(self, view: MarketView) -> None:
        """Each person's answer to the permission request and their birth month, drawn once."""
        self.asked = np.zeros(view.size, bool)
        self.answer_draw = view.draws()
        self.birth_month = np.floor(view.draws() * MONTHS_OF_YEAR).astype(np.int8) + 1
        self._offer_flag = np.zeros(view.size, bool)

    def messaged(self, view: MarketView, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` the firm messages this month."""
        if self.params["message_everyone"]:
            return np.ones(rows.size, bool)
        return view.customers.opted_in[rows]

    def month_of_year(self, view: MarketView) -> int:
        """Calendar month (1 = January) of the month being simulated; month 0 is January."""
        return view.month % MONTHS_OF_YEAR + 1

    def act(self, view: MarketView) -> None:
        """Ask customers not yet asked for permission; make this month's event offers."""
        table = view.customers
        known = view.firm_customers()
        new = known[~self.asked[known]]
        self.asked[new] = True
        table.opted_in[new] = self.answer_draw[new] < np.float32(self.params["opt_in_rate"])

        self._offer_flag[self.offered] = False
        candidates = known[self.messaged(view, known)]
        if not view.sees_every_end:
            # This month's messages to those who have silently left: paid, unread.
            silent = candidates[table.stage[candidates] != ACTIVE]
            view.charge(silent, self.params["cost_per_message"], "programme")
        event = np.zeros(candidates.size, bool)
        if self.params["anniversary_offers"]:
            tenure = view.months_as_customer(candidates)
            event |= (tenure > 0) & (tenure % MONTHS_OF_YEAR == 0)
        if self.params["birthday_offers"]:
            event |= self.birth_month[candidates] == self.month_of_year(view)
        if self.month_of_year(view) in self.season:
            event[:] = True
        self.offered = candidates[event]
        self._offer_flag[self.offered] = True
        view.charge(self.offered, self.params["cost_per_event_offer"], "programme")

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects:
        """Event offers keep customers that month; messages lift spend and cost money;
        unsolicited ones annoy."""
        p = self.params
        opted = view.customers.opted_in[rows]
        unsolicited = p["unsolicited_spend_uplift"] if p["message_everyone"] else 0.0
        return Effects(
            churn=np.where(
                self._offer_flag[rows], np.float32(1.0 - p["event_churn_reduction"]), np.float32(1)
            ),
            spend=np.where(
                opted, np.float32(1.0 + p["spend_uplift"]), np.float32(1.0 + unsolicited)
            ),
            value=np.where(opted, np.float32(0), np.float32(-p["nuisance"]))
            if p["message_everyone"]
            else None,
            # A month of messages for each messaged customer (event offers are paid in act).
            cost_per_month=np.where(
                self.messaged(view, rows), np.float32(p["cost_per_message"]), np.float32(0)
            ),
        )

    def report(self, view: MarketView) -> dict[str, float]:
        table = view.customers
        active = table.stage == ACTIVE
        n_active = int(active.sum())
        messaged = self.messaged(view, view.month_customers)
        return {
            "permission_marketing_opted_in_share": float((table.opted_in & active).sum()) / n_active
            if n_active
            else float("nan"),
            "permission_marketing_messaged": float(messaged.sum()),
            "permission_marketing_event_offers": float(self.offered.size),
        }
