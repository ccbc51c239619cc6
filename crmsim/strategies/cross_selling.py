"""Cross-selling and up-selling: related products and upgrades that grow share of wallet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import HIGHER, LOWER, Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Effects
from crmsim.vocabulary import ACTIVE

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


@register
class CrossSelling(Strategy):
    """Offer customers who just bought a related product or an upgrade.

    Course concept: cross-selling (related products after the first purchase)
    and up-selling (a more expensive item, upgrades, add-ons), the third CRM
    strategy for the value of the customer base (enhance growth potential),
    measured by share of wallet. Each month a share ``offer_rate_per_month`` of
    the active customers who bought last month (contractual: every active
    customer, who pays every month) gets an offer; a customer takes it with
    chance ``take_rate`` times the ``take_rate_multiplier`` of their rung
    (customers higher on the loyalty ladder trust the firm more). Each product
    taken raises the customer's share of wallet by ``spend_uplift_per_product``
    of their basic share, for as long as the relationship lasts (a customer
    who leaves and comes back starts again with the core product only); the
    model caps the share at the whole wallet. A customer holding
    ``max_products`` extra products gets no more offers.

    Each offer costs ``cost_per_offer`` (programme cost, charged to the
    customer when it is made). Side effect, nuisance: a customer who refuses
    an offer they did not ask for loses ``nuisance_value`` value units that
    month (lower satisfaction) and switches ``nuisance_churn_factor`` times as
    readily that month; customers who opted in to the firm's messages
    (the table's ``opted_in`` column, permission marketing) feel no nuisance.

    Whom the firm offers: its customers as it knows them
    (``MarketView.firm_customers``) whose last purchase, in its records, was last
    month (``MarketView.months_since_purchase``): the offer follows a purchase,
    which the firm sees. A retail customer may drop out silently after a
    purchase; a retailer that estimates cannot tell, so it makes them offers too
    (each charged to them) that nobody takes: only customers still there can take
    a product or be annoyed by one.

    Measures: ``cross_selling_offers`` and ``cross_selling_takeups`` this month,
    ``cross_selling_nuisance`` (refusals that annoyed), ``cross_selling_spend``
    (offer cost, currency), ``cross_selling_products_per_customer`` (products
    held per active customer at month end, the core product included) and
    ``cross_selling_share_of_wallet`` (mean share of wallet of the active
    customers at month end, ladder and products included).
    """

    name: ClassVar[str] = "cross_selling"
    concept: ClassVar[str] = "Retention: cross-selling and up-selling (share of wallet)"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "offer_rate_per_month": Field(
            "share",
            0.2,
            "share per month",
            "Share of the customers who bought last month who get an offer.",
        ),
        "take_rate": Field(
            "probability",
            0.15,
            "per offer",
            "Chance a customer on the 'member' rung takes an offer (before the rung multiplier).",
        ),
        "take_rate_multiplier": Field(
            "ladder",
            [0.5, 0.8, 1.0, 1.3, 1.6],
            "x",
            "Take rate on each rung relative to take_rate (higher rungs trust the firm more).",
        ),
        "spend_uplift_per_product": Field(
            "nonnegative",
            0.1,
            "share of basic share of wallet",
            "How much more of their wallet a customer spends per product taken, for good.",
        ),
        "max_products": Field(
            "positive_count", 3, "products", "Extra products a customer can hold at most."
        ),
        "cost_per_offer": Field(
            "nonnegative", 1.5, "currency per offer", "Cost of making one offer."
        ),
        "nuisance_value": Field(
            "number",
            -0.05,
            "value units",
            "Value a customer who refuses an unsolicited offer feels that month (<= 0).",
            maximum=0.0,
        ),
        "nuisance_churn_factor": Field(
            "nonnegative",
            1.1,
            "x",
            "Switching that month of a customer who refused an unsolicited offer (1 = none).",
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure("cross_selling_offers", "Cross-selling offers made", "offers"),
        measure("cross_selling_takeups", "Offers taken", "products", HIGHER),
        measure("cross_selling_nuisance", "Refusals that annoyed", "customers", LOWER),
        measure("cross_selling_spend", "Cross-selling spend", "currency per month"),
        measure(
            "cross_selling_products_per_customer",
            "Products per active customer",
            "products",
            HIGHER,
        ),
        measure(
            "cross_selling_share_of_wallet",
            "Share of wallet of active customers",
            "share",
            HIGHER,
        ),
    )

    @classmethod
    def check(cls, params: dict[str, Any]) -> str | None:
        problem = super().check(params)
        if problem:
            return problem
        if any(m < 0 for m in params["take_rate_multiplier"]):
            return "take_rate_multiplier: the multipliers must be >= 0"
        return None

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.products = np.zeros(0, np.int16)
        self.relationship = np.zeros(0, np.int16)
        self.nuisance_month = np.zeros(0, np.int32)
        self._month: dict[str, float] = {}

    def start(self, view: MarketView) -> None:
        """Nobody holds an extra product yet."""
        self.products = np.zeros(view.size, np.int16)
        self.relationship = np.zeros(view.size, np.int16)
        self.nuisance_month = np.full(view.size, -1, np.int32)

    def act(self, view: MarketView) -> None:
        """Offer a share of last month's buyers a product; some take it, some are annoyed."""
        p = self.params
        table = view.customers
        # Products belong to a relationship: one that ended (the customer left, and may
        # have come back since) took its products with it.
        ended = (self.relationship != table.times_returned) | (table.stage != ACTIVE)
        self.products[ended] = 0
        self.relationship[:] = table.times_returned
        products = self.products
        # Two draws a month, whoever is offered: each person keeps their luck across scenarios.
        offer_draw = view.draws()
        take_draw = view.draws()
        known = view.firm_customers()
        bought = known[view.months_since_purchase(known) == 0]
        eligible = bought[products[bought] < p["max_products"]]
        offered = eligible[offer_draw[eligible] < p["offer_rate_per_month"]]
        multiplier = np.asarray(p["take_rate_multiplier"], np.float32)[table.tier[offered]]
        chance = np.minimum(np.float32(p["take_rate"]) * multiplier, 1.0)
        # Only customers still there take a product, or refuse one (the silently gone
        # read nothing).
        there = table.stage[offered] == ACTIVE
        takes = (take_draw[offered] < chance) & there
        taken, refused = offered[takes], offered[~takes & there]
        products[taken] += 1
        annoyed = refused[~table.opted_in[refused]]
        self.nuisance_month[annoyed] = view.month
        view.charge(offered, p["cost_per_offer"], "programme")
        self._month = {
            "cross_selling_offers": float(offered.size),
            "cross_selling_takeups": float(taken.size),
            "cross_selling_nuisance": float(annoyed.size),
            "cross_selling_spend": float(offered.size * p["cost_per_offer"]),
        }

    def products_held(self, view: MarketView, rows: np.ndarray) -> np.ndarray:
        """Extra products of customers ``rows`` in their current relationship."""
        current = self.relationship[rows] == view.customers.times_returned[rows]
        return np.where(current, self.products[rows], 0)

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects:
        """Each product held raises spend; a refused offer annoys that month."""
        p = self.params
        products = self.products_held(view, rows)
        annoyed = self.nuisance_month[rows] == view.month
        return Effects(
            spend=np.float32(1.0) + np.float32(p["spend_uplift_per_product"]) * products,
            value=np.where(annoyed, np.float32(p["nuisance_value"]), np.float32(0)),
            churn=np.where(annoyed, np.float32(p["nuisance_churn_factor"]), np.float32(1)),
        )

    def report(self, view: MarketView) -> dict[str, float]:
        table = view.customers
        active = np.flatnonzero(table.stage == ACTIVE)
        if active.size:
            held = 1.0 + float(self.products_held(view, active).mean(dtype=np.float64))
            wallet = float(view.share_of_wallet(active).mean(dtype=np.float64))
        else:
            held = wallet = float("nan")
        return {
            **dict.fromkeys(self.measure_names(), 0.0),
            **self._month,
            "cross_selling_products_per_customer": held,
            "cross_selling_share_of_wallet": wallet,
        }
