"""The customer table: every person in the market as one row of numpy columns.

Each person is an individual with their own traits (spend, purchase rate,
churn propensity, price sensitivity, share of wallet, taste) and their own
state (stage, rung of the loyalty ladder, tenure, satisfaction, expectation,
months since defection, why they left, the value they have brought). Keeping
them as columns lets every rule act on all customers in a few array
operations; :class:`Customer` reads one row back as an object for teaching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from crmsim import economics
from crmsim.analytic import beta_parameters_from_mean_polarization
from crmsim.config.scenario import market_capacity
from crmsim.vocabulary import COST_KINDS, NO_REASON, OUTSIDE, REASONS, STAGE_NAMES, SUSPECT, TIERS

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel


class CustomerTable:
    """Columnar state of every person in the market, and of those who will enter it.

    A renewing market (``market.entry_rate_per_month``) gains people as it goes. Their
    rows are kept from the start, after the people of month 0, so the columns never grow
    (nor move in memory) and every person keeps the same row, the same traits and the
    same luck in every scenario of a comparison. A row not yet entered has the stage
    ``OUTSIDE``: no rule selects it, and it counts in no measure. People enter in row
    order (:meth:`enter`), so the people in the market are always rows ``0 ..
    people - 1``.

    Attributes:
        size: Number of rows: the people of month 0 and those kept for later entrants.
        initial_people: People in the market at month 0 (``simulation.customers``).
        people: People in the market now (rows ``0 .. people - 1``); nobody leaves the
            table (customers lost to the market stay, as lost customers).
        stage: Stage code per person (suspect, prospect, active, defected; ``OUTSIDE``
            for a row not yet entered).
        tier: Rung of the loyalty ladder (0 = shopper .. 4 = raving fan); kept when they leave.
        tenure_months: Months as an active customer in the current relationship.
        months_since_defection: Months since the customer last left (0 while not defected).
        defection_reason: Code of the last defection reason (-1 = never left).
        source: How the customer was first acquired (channel code, or initial base, referral).
        prospect_source: Channel that turned a suspect into a prospect.
        referred_by: Row of the customer whose word of mouth last made the person a
            prospect (-1 = never referred); a customer keeps it only when the first
            purchase came from that referral (customer referral value credits their
            value to the referrer).
        acquired_month: Month of first purchase (-1 = never bought).
        first_defected_month: Month the first relationship ended (-1 = not yet).
        times_returned: How often the customer came back after leaving.
        churn_probability: Own monthly churn probability (contractual setting).
        purchase_rate: Own purchases per month while alive (non-contractual setting).
        dropout_probability: Own chance of dropping out after a purchase (non-contractual).
        purchases_left: Purchases before the (unobserved) dropout (non-contractual).
        order_value: Spend per purchase at the basic share of wallet, currency.
        base_share_of_wallet: Share of the customer's category spend won at first.
        price_sensitivity: 0..1, how readily the customer follows a cheaper offer.
        taste: Personal offset to the value the customer sees, value units.
        resemblance: How much the person resembles the firm's best customers (mean 1).
        expectation: What the customer expects, value units.
        satisfaction: Delivered value minus expectation, value units.
        churn_hazard: Last month's total chance of leaving (for expected CLV).
        member: Enrolled in the loyalty programme.
        opted_in: Gave permission to be contacted (permission marketing).
        purchases: Purchases this month.
        revenue: Revenue this month, currency.
        months_since_purchase: Recency, months.
        purchases_total: Purchases the firm has recorded of the person, all relationships
            (non-contractual: its records for the BG/NBD and Gamma-Gamma fits).
        first_purchase_month: Month of the first recorded purchase (-1 = none;
            non-contractual).
        last_purchase_month: Month of the last recorded purchase (-1 = none;
            non-contractual).
        value_at_start: Profit the customer brought, discounted to month 0, currency.
        revenue_total, acquisition_cost, service_cost, programme_cost, return_cost:
            Undiscounted totals per customer, currency.
    """

    def __init__(self, size: int, people: int | None = None) -> None:
        self.size = size
        self.initial_people = size if people is None else people
        self.people = self.initial_people
        self.stage = np.full(size, SUSPECT, np.int8)
        self.stage[self.people :] = OUTSIDE
        self.tier = np.zeros(size, np.int8)
        self.tenure_months = np.zeros(size, np.int16)
        self.months_since_defection = np.zeros(size, np.int16)
        self.defection_reason = np.full(size, NO_REASON, np.int8)
        self.source = np.zeros(size, np.int8)
        self.prospect_source = np.zeros(size, np.int8)
        self.referred_by = np.full(size, -1, np.int32)
        self.acquired_month = np.full(size, -1, np.int16)
        self.first_defected_month = np.full(size, -1, np.int16)
        self.times_returned = np.zeros(size, np.int16)
        self.churn_probability = np.zeros(size, np.float32)
        self.purchase_rate = np.zeros(size, np.float32)
        self.dropout_probability = np.zeros(size, np.float32)
        self.purchases_left = np.zeros(size, np.int32)
        self.order_value = np.zeros(size, np.float32)
        self.base_share_of_wallet = np.zeros(size, np.float32)
        self.price_sensitivity = np.zeros(size, np.float32)
        self.taste = np.zeros(size, np.float32)
        self.resemblance = np.ones(size, np.float32)
        self.expectation = np.zeros(size, np.float32)
        self.satisfaction = np.zeros(size, np.float32)
        self.churn_hazard = np.zeros(size, np.float32)
        self.member = np.zeros(size, bool)
        self.opted_in = np.zeros(size, bool)
        self.purchases = np.zeros(size, np.int32)
        self.revenue = np.zeros(size, np.float32)
        self.months_since_purchase = np.zeros(size, np.int16)
        self.purchases_total = np.zeros(size, np.int32)
        self.first_purchase_month = np.full(size, -1, np.int16)
        self.last_purchase_month = np.full(size, -1, np.int16)
        self.value_at_start = np.zeros(size, np.float64)
        self.revenue_total = np.zeros(size, np.float64)
        self.acquisition_cost = np.zeros(size, np.float64)
        self.service_cost = np.zeros(size, np.float64)
        self.programme_cost = np.zeros(size, np.float64)
        self.return_cost = np.zeros(size, np.float64)

    def enter(self, people: int) -> np.ndarray:
        """People enter the market, as suspects, until it holds ``people`` (at most every
        row); returns the rows of those who entered."""
        people = min(max(people, self.people), self.size)
        rows = np.arange(self.people, people)
        self.stage[rows] = SUSPECT
        self.people = people
        return rows

    @property
    def nbytes(self) -> int:
        """Memory held by the columns, bytes."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))


def beta_draws(rng: np.random.Generator, mean: float, polarization: float, size: int) -> np.ndarray:
    """Draw ``size`` values from the Beta with this mean and polarization (0 = all equal).

    Polarization is 1 / (alpha + beta + 1): 0 gives every customer the mean,
    values near 1 split customers into extremes.
    """
    if polarization <= 0.0 or mean <= 0.0 or mean >= 1.0:
        return np.full(size, mean, np.float32)
    alpha, beta = beta_parameters_from_mean_polarization(mean, polarization)
    if not np.isfinite(alpha + beta):  # polarization so small that 1/polarization overflows
        return np.full(size, mean, np.float32)
    return rng.beta(alpha, beta, size).astype(np.float32)


def draw_traits(
    table: CustomerTable,
    rng: np.random.Generator,
    customers: Any,
    rows: slice | None = None,
    mean_worth: float | None = None,
) -> float:
    """Give every person their own traits, drawn once from the scenario's distributions.

    Spend per purchase is lognormal and purchase rates are Gamma, so a minority
    of heavy users ends up with most of the revenue without that being imposed.

    Args:
        table: The table to fill.
        rng: Random stream for traits.
        customers: The scenario's ``customers`` section.
        rows: The rows to fill (default: every row).
        mean_worth: The mean worth resemblance is measured against (default: the mean of
            these rows); later entrants are measured against the market of month 0.

    Returns:
        The mean worth used (expected monthly spend x chance of staying).
    """
    rows = slice(0, table.size) if rows is None else rows
    n = len(range(*rows.indices(table.size)))
    c = customers
    sigma = c.order_value_spread
    # Lognormal with the requested mean: mu = log(mean) - sigma^2 / 2.
    mu = np.log(max(c.order_value_mean, 1e-12)) - 0.5 * sigma**2
    table.order_value[rows] = rng.lognormal(mu, sigma, n) if c.order_value_mean > 0 else 0.0
    table.churn_probability[rows] = beta_draws(
        rng, c.churn_probability_mean, c.churn_probability_polarization, n
    )
    table.purchase_rate[rows] = rng.gamma(c.purchase_rate_r, 1.0 / c.purchase_rate_alpha, n)
    table.dropout_probability[rows] = rng.beta(c.dropout_a, c.dropout_b, n)
    table.base_share_of_wallet[rows] = beta_draws(
        rng, c.share_of_wallet_mean, c.share_of_wallet_polarization, n
    )
    table.price_sensitivity[rows] = beta_draws(
        rng, c.price_sensitivity_mean, c.price_sensitivity_polarization, n
    )
    table.taste[rows] = rng.uniform(-c.taste_spread, c.taste_spread, n)
    expected_rate = table.purchase_rate[rows] if c.behaviour == "non_contractual" else 1.0
    worth = table.order_value[rows] * expected_rate * (1.0 - table.churn_probability[rows])
    if mean_worth is None:
        mean_worth = float(worth.mean()) if n else 0.0
    table.resemblance[rows] = worth / mean_worth if mean_worth > 0 else 1.0
    return mean_worth


def open_market(
    params: Any, rng: np.random.Generator, entrant_rng: np.random.Generator
) -> CustomerTable:
    """The table of a scenario's market: the people of month 0, then rows kept for those who
    will enter it (``market.entry_rate_per_month`` over ``simulation.months``), all with
    their traits.

    The people of month 0 draw their traits from ``rng`` exactly as a closed market's
    would; the entrants from ``entrant_rng``, their resemblance measured against the
    market of month 0. So the entry rate and the months change nothing of the people of
    month 0.

    Args:
        params: The scenario's settings (``scenario.params``).
        rng: Random stream of the traits of the people of month 0.
        entrant_rng: Random stream of the traits of later entrants.
    """
    people = params.simulation.customers
    rows = market_capacity(people, params.market.entry_rate_per_month, params.simulation.months)
    table = CustomerTable(rows, people=people)
    worth = draw_traits(table, rng, params.customers, slice(0, people))
    if rows > people:
        draw_traits(table, entrant_rng, params.customers, slice(people, rows), mean_worth=worth)
    return table


def draw_purchases_left(rng: np.random.Generator, dropout_probability: np.ndarray) -> np.ndarray:
    """Purchases a customer makes before dropping out (geometric on 1, 2, ...).

    In the BG/NBD story a customer may drop out after each purchase with their
    own probability p; the purchase after which they go is geometric.
    """
    p = np.clip(dropout_probability.astype(np.float64), 1e-9, 1.0)
    return np.minimum(rng.geometric(p), np.iinfo(np.int32).max).astype(np.int32)


@dataclass
class Customer:
    """One customer read from the table, for following a single life.

    Attributes:
        id: Row of the customer in the table.
        stage: suspect, prospect, active or defected (outside: not in the market yet).
        tier: Rung of the loyalty ladder.
        tenure_months: Months in the current relationship.
        satisfaction: Delivered value minus expectation, value units.
        expectation: What the customer expects, value units.
        share_of_wallet: Share of the customer's category spend the firm gets now.
        price_sensitivity: 0..1.
        churn_probability: Own monthly churn probability (contractual).
        defection_reason: Why the customer last left (or None).
        months_since_defection: Months since leaving (0 if not defected).
        acquired_month: Month of first purchase (None if never).
        source: How the customer was first acquired.
        times_returned: How often the customer came back.
        member: In the loyalty programme.
        realised_clv: Profit to date discounted to the month of first purchase, currency.
        revenue_total: Undiscounted revenue to date, currency.
        costs: Undiscounted costs to date by kind, currency.
        history: Month-by-month record (if the customer was followed), a list of dicts.
    """

    id: int
    stage: str
    tier: str
    tenure_months: int
    satisfaction: float
    expectation: float
    share_of_wallet: float
    price_sensitivity: float
    churn_probability: float
    defection_reason: str | None
    months_since_defection: int
    acquired_month: int | None
    source: str
    times_returned: int
    member: bool
    realised_clv: float
    revenue_total: float
    costs: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def read(cls, model: CRMModel, i: int) -> Customer:
        """Customer ``i`` of a model's table as it stands, with their followed history."""
        table = model.customers
        if not 0 <= i < table.size:
            raise IndexError(f"customer {i} does not exist; rows are 0..{table.size - 1}")
        reason = int(table.defection_reason[i])
        acquired = int(table.acquired_month[i])
        clv = economics.realised_clv(table, model.monthly_discount_rate)[i]
        return cls(
            id=i,
            stage=STAGE_NAMES[table.stage[i]],
            tier=TIERS[table.tier[i]],
            tenure_months=int(table.tenure_months[i]),
            satisfaction=float(table.satisfaction[i]),
            expectation=float(table.expectation[i]),
            share_of_wallet=float(model.share_of_wallet(np.array([i]))[0]),
            price_sensitivity=float(table.price_sensitivity[i]),
            churn_probability=float(table.churn_probability[i]),
            defection_reason=REASONS[reason] if reason >= 0 else None,
            months_since_defection=int(table.months_since_defection[i]),
            acquired_month=acquired if acquired >= 0 else None,
            source=model.funnel.source_names[table.source[i]] if acquired >= 0 else "none",
            times_returned=int(table.times_returned[i]),
            member=bool(table.member[i]),
            realised_clv=float(clv),
            revenue_total=float(table.revenue_total[i]),
            costs={kind: float(getattr(table, f"{kind}_cost")[i]) for kind in COST_KINDS},
            history=model.history_of(i),
        )

    def story(self) -> str:
        """The customer's life in plain words, one line per change of state."""
        if not self.history:
            return (
                f"Customer {self.id} is {self.stage} ({self.tier}); "
                "follow them from the start to see their story."
            )
        lines = []
        previous: dict[str, Any] | None = None
        for row in self.history:
            if previous is None or (row["stage"], row["tier"]) != (
                previous["stage"],
                previous["tier"],
            ):
                lines.append(_describe_change(row, previous))
            previous = row
        lines.append(
            f"Realised lifetime value so far: {self.realised_clv:,.2f} currency units "
            f"(revenue {self.revenue_total:,.2f})."
        )
        return "\n".join(lines)


def _describe_change(row: dict[str, Any], previous: dict[str, Any] | None) -> str:
    month = row["month"]
    if row["stage"] == "active" and (previous is None or previous["stage"] != "active"):
        verb = "returns" if previous is not None and previous["stage"] == "defected" else "buys"
        if previous is None and month == 0:
            verb = "is a customer"
        return f"month {month:3d}: {verb} as {row['tier']}"
    if row["stage"] == "active":
        direction = "up" if TIERS.index(row["tier"]) > TIERS.index(previous["tier"]) else "down"
        return f"month {month:3d}: moves {direction} to {row['tier']}"
    if row["stage"] == "defected":
        return f"month {month:3d}: leaves ({row['defection_reason']})"
    if row["stage"] == "outside":
        return f"month {month:3d}: not in the market yet"
    if previous is not None and previous["stage"] == "outside":
        return f"month {month:3d}: enters the market as a {row['stage']}"
    return f"month {month:3d}: {row['stage']}"
