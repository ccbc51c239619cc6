"""Defection: who leaves the firm this month, and why.

Each reason is its own monthly hazard, and a customer stays only by
surviving all of them:

- the customer's **own churn propensity** (contractual: a Beta-distributed
  per-customer probability; its reason drawn from the background mix),
- **price**: the competitor's offers, accepted more readily by price-sensitive
  customers,
- **product**: the competitor's better product,
- **service**: dissatisfaction (delivered value below expectation),
- **market**: customers leaving the market altogether,
- **technological**: a new technology making the product obsolete,
- **organisational**: problems inside the firm.

Switching hazards (own churn, price, product, service) are lower on higher
rungs of the loyalty ladder and under strategies that bond customers; market,
technological and organisational losses are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from crmsim.compiled import ABSENT, compiled
from crmsim.rules.loyalty import Ladder, price_sensitivity_on_rung_of
from crmsim.vocabulary import (
    DEFECTED,
    MARKET,
    ORGANISATIONAL,
    PRICE,
    PRODUCT,
    SERVICE,
    TECHNOLOGICAL,
)

if TYPE_CHECKING:
    from crmsim.engine.customers import CustomerTable


@dataclass(frozen=True)
class Pressures:
    """Market-wide pressures of one month, monthly probabilities.

    Attributes:
        poaching_chance: Chance a fully price-sensitive customer is poached.
        product_rate: Product defection hazard before ladder and bonds.
        service_sensitivity: Hazard per unit of dissatisfaction.
        market_rate: Hazard of leaving the market.
        technological_rate: Hazard of obsolescence.
        organisational_rate: Hazard from the firm's own problems.
        churn_scale: Multiplier of the whole chance of leaving (1 = as modelled), the lever
            sensitivity studies move.
    """

    poaching_chance: float
    product_rate: float
    service_sensitivity: float
    market_rate: float
    technological_rate: float
    organisational_rate: float
    churn_scale: float = 1.0


@dataclass(frozen=True)
class Hazards:
    """A month's hazards of leaving of some customers (arrays, one per customer).

    Attributes:
        own: Own churn (0 in the non-contractual setting).
        price: Price (poaching) hazard.
        product: Product hazard.
        service: Service (dissatisfaction) hazard.
        leave: The chance of leaving this month, all reasons together.
        pressures: The market pressures they were computed with.
    """

    own: np.ndarray
    price: np.ndarray
    product: np.ndarray
    service: np.ndarray
    leave: np.ndarray
    pressures: Pressures


def switching_hazards(
    table: CustomerTable,
    rows: np.ndarray,
    price_sensitivity: np.ndarray,
    churn_multiplier_by_tier: np.ndarray,
    pressures: Pressures,
    churn_factor: np.ndarray | None = None,
    contractual: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Monthly hazards of the four switching reasons for customers ``rows``.

    Each hazard is scaled by the customer's loyalty: the churn multiplier of their
    rung, times the strategies' ``churn_factor``; each is at most 1.

    Args:
        table: The customer table (own churn probability, rung and satisfaction).
        rows: The customers.
        price_sensitivity: Their effective price sensitivity (on their rung).
        churn_multiplier_by_tier: Switching on each rung relative to a "customer".
        pressures: This month's market pressures.
        churn_factor: The strategies' multiplier of each customer's switching, or None.
        contractual: False: customers have no churn probability of their own (their own
            hazard is 0; they drop out instead).

    Returns:
        Own-churn, price, product and service hazards, one per customer in ``rows``.
    """
    hazards = _pass_over_customers(
        table,
        rows,
        price_sensitivity,
        price_sensitivity.dtype,
        None,
        churn_multiplier_by_tier,
        pressures,
        churn_factor,
        contractual,
        with_leave=False,
    )
    return hazards[:4]


def hazards_on_rungs(
    table: CustomerTable,
    rows: np.ndarray,
    ladder: Ladder,
    pressures: Pressures,
    churn_factor: np.ndarray | None = None,
    contractual: bool = True,
) -> Hazards:
    """The month's hazards of customers ``rows`` with no per-reason factor of a strategy:
    ``switching_hazards`` at each one's price sensitivity on their rung
    (``loyalty.price_sensitivity_on_rung``), and ``leave_probability``, in one pass over
    the customers (the same numbers as the three one after the other).

    Args:
        table: The customer table.
        rows: The customers.
        ladder: The loyalty ladder (churn and price sensitivity multipliers by rung).
        pressures: This month's market pressures.
        churn_factor: The strategies' multiplier of each customer's switching, or None.
        contractual: False: customers have no churn probability of their own.
    """
    multiplier = ladder.price_sensitivity_multiplier
    return Hazards(
        *_pass_over_customers(
            table,
            rows,
            table.price_sensitivity,
            np.result_type(table.price_sensitivity, multiplier),
            multiplier,
            ladder.churn_multiplier,
            pressures,
            churn_factor,
            contractual,
            with_leave=True,
        ),
        pressures,
    )


def _pass_over_customers(
    table: CustomerTable,
    rows: np.ndarray,
    price_sensitivity: np.ndarray,
    sensitivity_dtype: np.dtype,
    sensitivity_by_tier: np.ndarray | None,
    churn_multiplier_by_tier: np.ndarray,
    pressures: Pressures,
    churn_factor: np.ndarray | None,
    contractual: bool,
    with_leave: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Own, price, product and service hazards, and (``with_leave``) the chance of leaving
    (else an empty array), in numpy's dtypes. ``price_sensitivity`` is one per customer
    asked about, or with ``sensitivity_by_tier`` the table's column, put on the rung."""
    bond = (
        churn_multiplier_by_tier.dtype
        if churn_factor is None
        else np.result_type(churn_multiplier_by_tier, churn_factor)
    )
    own = np.empty(rows.size, np.result_type(table.churn_probability, bond))
    price = np.empty(rows.size, np.result_type(np.float32, sensitivity_dtype, bond))
    product = np.empty(rows.size, np.result_type(np.float32, bond))
    service = np.empty(rows.size, np.result_type(np.float32, table.satisfaction, bond))
    leave = np.empty(rows.size if with_leave else 0, np.result_type(own, price))
    _switching_hazards(
        table.churn_probability,
        table.tier,
        table.satisfaction,
        rows,
        price_sensitivity,
        ABSENT if sensitivity_by_tier is None else sensitivity_by_tier,
        sensitivity_by_tier is not None,
        churn_multiplier_by_tier,
        ABSENT if churn_factor is None else churn_factor,
        churn_factor is not None,
        contractual,
        np.float32(pressures.poaching_chance),
        np.float32(pressures.product_rate),
        np.float32(pressures.service_sensitivity),
        own,
        price,
        product,
        service,
        leave,
        *_leaving_terms(pressures),
        with_leave,
    )
    return own, price, product, service, leave


@compiled
def _switching_hazards(
    churn_probability,
    tier,
    satisfaction,
    rows,
    price_sensitivity,
    sensitivity_by_tier,
    on_rung,
    churn_multiplier_by_tier,
    churn_factor,
    by_strategy,
    contractual,
    poaching,
    product_rate,
    service_rate,
    own,
    price,
    product,
    service,
    leave,
    stay_market,
    churn_scale,
    scaled,
    with_leave,
):
    # The price sensitivity is each customer's (one per row asked about), or on their rung
    # (read from the table's column). With ``with_leave``, the chance of leaving follows.
    for i in range(rows.size):
        row = rows[i]
        bond = churn_multiplier_by_tier[tier[row]]
        if by_strategy:
            bond = bond * churn_factor[i]
        own_churn = churn_probability[row] if contractual else churn_probability.dtype.type(0.0)
        own[i] = _at_most_one(own_churn * bond)
        if on_rung:
            sensitivity = price_sensitivity_on_rung_of(
                row, price_sensitivity, tier, sensitivity_by_tier
            )
        else:
            sensitivity = price_sensitivity[i]
        price[i] = _at_most_one(poaching * sensitivity * bond)
        product[i] = _at_most_one(product_rate * bond)
        dissatisfaction = max(-satisfaction[row], satisfaction.dtype.type(0.0))
        service[i] = _at_most_one(service_rate * dissatisfaction * bond)
        if with_leave:
            _leave_at(i, own, price, product, service, stay_market, churn_scale, scaled, leave)


@compiled
def _at_most_one(x):
    # np.minimum(x, 1.0) for a value stored in an array: a nan stays nan.
    return 1.0 if x > 1.0 else x


def leave_probability(
    own: np.ndarray,
    price: np.ndarray,
    product: np.ndarray,
    service: np.ndarray,
    pressures: Pressures,
) -> np.ndarray:
    """Chance of leaving this month: one minus the chance of surviving every hazard,
    scaled by ``pressures.churn_scale`` (capped at 1)."""
    leave = np.empty(own.size, np.result_type(own, price))
    _leave_probability(own, price, product, service, *_leaving_terms(pressures), leave)
    return leave


def _leaving_terms(pressures: Pressures) -> tuple[np.float32, np.float32, bool]:
    """The chance of surviving the market's own pressures, the churn scale, and whether
    it scales, as the loops of the chance of leaving take them."""
    stay_market = (
        (1.0 - pressures.market_rate)
        * (1.0 - pressures.technological_rate)
        * (1.0 - pressures.organisational_rate)
    )
    return (
        np.float32(stay_market),
        np.float32(pressures.churn_scale),
        pressures.churn_scale != 1.0,
    )


@compiled
def _leave_probability(own, price, product, service, stay_market, churn_scale, scaled, leave):
    for i in range(leave.size):
        _leave_at(i, own, price, product, service, stay_market, churn_scale, scaled, leave)


@compiled
def _leave_at(i, own, price, product, service, stay_market, churn_scale, scaled, leave):
    # numpy's order and dtypes: ((1 - own) * (1 - price)), then *= each in turn (``stay``
    # is (1 - own) * (1 - price), multiplied in place by the others).
    kind = leave.dtype.type
    stay = kind((own.dtype.type(1.0) - own[i]) * (price.dtype.type(1.0) - price[i]))
    stay = kind(stay * (product.dtype.type(1.0) - product[i]))
    stay = kind(stay * (service.dtype.type(1.0) - service[i]))
    stay = kind(stay * stay_market)
    chance = kind(1.0) - stay
    if scaled:
        chance = _at_most_one(chance * churn_scale)
    leave[i] = chance


@compiled
def _reason(u, own, price, product, service, market, technological, organisational, mix):
    # Reason r is drawn when u x total lands in [cumulative[r - 1], cumulative[r]), with
    # numpy's float64 sums in its order (np.outer, then np.cumsum along the reasons).
    total = 0.0
    for r in range(mix.size):
        total += _reason_weight(
            r, own, price, product, service, market, technological, organisational, mix
        )
    landing = u * total
    cumulative = 0.0
    reason = 0
    for r in range(mix.size):
        cumulative += _reason_weight(
            r, own, price, product, service, market, technological, organisational, mix
        )
        reason += landing >= cumulative
    return min(reason, mix.size - 1)


@compiled
def _reason_weight(r, own, price, product, service, market, technological, organisational, mix):
    # The customer's own churn split by the background mix, plus the reason's own hazard.
    weight = own * mix[r]
    if r == PRICE:
        weight += price
    elif r == PRODUCT:
        weight += product
    elif r == SERVICE:
        weight += service
    elif r == MARKET:
        weight += market
    elif r == TECHNOLOGICAL:
        weight += technological
    elif r == ORGANISATIONAL:
        weight += organisational
    return weight


_NO_DROPOUTS = np.zeros(0, bool)
"""``dropped`` left out, for the compiled loop (a boolean array, as ``dropped`` is)."""


def leave_or_stay(
    draws: np.ndarray,
    rows: np.ndarray,
    hazards: Hazards,
    background_mix: np.ndarray,
    dropped: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Who of customers ``rows`` leaves this month, and why.

    A customer leaves when their draw is below their chance of leaving (or, in the
    non-contractual setting, when they silently dropped out); given that, the draw
    over the chance is a fresh uniform draw, which picks the reason in proportion to
    the hazards (the customer's own churn split over the reasons by the background mix).

    Args:
        draws: This month's uniform draw for every person in the table.
        rows: The month's customers.
        hazards: Their hazards of leaving (``Hazards``, one per customer in ``rows``).
        background_mix: Shares of the reasons behind a customer's own churn.
        dropped: Non-contractual: who of ``rows`` silently dropped out (else None).

    Returns:
        Positions in ``rows`` of those who leave, and their reason codes.
    """
    pressures = hazards.pressures
    leavers = np.empty(rows.size, np.int64)
    reasons = np.empty(rows.size, np.int8)
    left = _leave_or_stay(
        draws,
        rows,
        hazards.leave,
        hazards.own,
        hazards.price,
        hazards.product,
        hazards.service,
        pressures.market_rate,
        pressures.technological_rate,
        pressures.organisational_rate,
        np.asarray(background_mix, np.float64),
        _NO_DROPOUTS if dropped is None else dropped,
        dropped is not None,
        leavers,
        reasons,
    )
    return leavers[:left], reasons[:left]


@compiled
def _leave_or_stay(
    draws,
    rows,
    leave,
    own,
    price,
    product,
    service,
    market,
    technological,
    organisational,
    mix,
    dropped,
    may_drop,
    leavers,
    reasons,
):
    floor = leave.dtype.type(1e-12)
    below_one = leave.dtype.type(0.999999)
    left = 0
    for i in range(rows.size):
        u = draws[rows[i]]
        chance = leave[i]
        if not (u < chance or (may_drop and dropped[i])):
            continue
        # Given that a customer leaves (u < chance), u / chance is a fresh uniform draw.
        reason_draw = u / (chance if chance >= floor else floor)
        if reason_draw > below_one:
            reason_draw = below_one
        leavers[left] = i
        reasons[left] = _reason(
            reason_draw,
            own[i],
            price[i],
            product[i],
            service[i],
            market,
            technological,
            organisational,
            mix,
        )
        left += 1
    return left


def draw_background_reasons(
    rng: np.random.Generator, n: int, background_mix: np.ndarray
) -> np.ndarray:
    """Reasons for ``n`` customers who left of their own accord, drawn from the background mix."""
    return rng.choice(background_mix.size, size=n, p=background_mix).astype(np.int8)


def record_defections(
    table: CustomerTable, rows: np.ndarray, reasons: np.ndarray, month: int
) -> None:
    """Customers in ``rows`` leave for ``reasons`` this month."""
    if rows.size == 0:
        return
    _record_defections(
        table.stage,
        table.defection_reason,
        table.months_since_defection,
        table.member,
        table.first_defected_month,
        rows,
        reasons,
        month,
    )


@compiled
def _record_defections(
    stage,
    defection_reason,
    months_since_defection,
    member,
    first_defected_month,
    rows,
    reasons,
    month,
):
    for i in range(rows.size):
        row = rows[i]
        stage[row] = DEFECTED
        defection_reason[row] = reasons[i]
        months_since_defection[row] = 0
        member[row] = False
        if first_defected_month[row] < 0:
            first_defected_month[row] = month
