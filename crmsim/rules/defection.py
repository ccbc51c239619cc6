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

from crmsim.vocabulary import (
    DEFECTED,
    DEFECTION_REASONS,
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
    own_churn: np.ndarray,
    price_sensitivity: np.ndarray,
    satisfaction: np.ndarray,
    loyalty: np.ndarray,
    pressures: Pressures,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Monthly hazards of the four switching reasons for each customer.

    Args:
        own_churn: The customer's own churn probability (0 in the non-contractual setting).
        price_sensitivity: Effective price sensitivity.
        satisfaction: Delivered value - expectation.
        loyalty: Multiplier of switching from the ladder rung and strategies (1 = none).
        pressures: This month's market pressures.

    Returns:
        Own-churn, price, product and service hazards.
    """
    own = np.minimum(own_churn * loyalty, 1.0)
    price = np.minimum(np.float32(pressures.poaching_chance) * price_sensitivity * loyalty, 1.0)
    product = np.minimum(np.float32(pressures.product_rate) * loyalty, 1.0)
    dissatisfaction = np.maximum(-satisfaction, 0.0)
    service = np.minimum(np.float32(pressures.service_sensitivity) * dissatisfaction * loyalty, 1.0)
    return own, price, product, service


def leave_probability(
    own: np.ndarray,
    price: np.ndarray,
    product: np.ndarray,
    service: np.ndarray,
    pressures: Pressures,
) -> np.ndarray:
    """Chance of leaving this month: one minus the chance of surviving every hazard,
    scaled by ``pressures.churn_scale`` (capped at 1)."""
    stay_market = (
        (1.0 - pressures.market_rate)
        * (1.0 - pressures.technological_rate)
        * (1.0 - pressures.organisational_rate)
    )
    stay = (1.0 - own) * (1.0 - price)
    stay *= 1.0 - product
    stay *= 1.0 - service
    stay *= np.float32(stay_market)
    leave = 1.0 - stay
    if pressures.churn_scale != 1.0:
        leave = np.minimum(leave * np.float32(pressures.churn_scale), 1.0)
    return leave


def draw_reasons(
    u: np.ndarray,
    own: np.ndarray,
    price: np.ndarray,
    product: np.ndarray,
    service: np.ndarray,
    pressures: Pressures,
    background_mix: np.ndarray,
) -> np.ndarray:
    """Why each leaving customer left, drawn in proportion to their hazards.

    The customer's own churn is split over reasons by the background mix.

    Args:
        u: A uniform draw in [0, 1) per leaving customer.
        own, price, product, service: The leaving customers' hazards.
        pressures: This month's market pressures.
        background_mix: Shares of the reasons behind a customer's own churn.

    Returns:
        Reason codes (indices into ``DEFECTION_REASONS``).
    """
    n = own.size
    if n == 0:
        return np.zeros(0, np.int8)
    weights = np.outer(own, background_mix)
    weights[:, PRICE] += price
    weights[:, PRODUCT] += product
    weights[:, SERVICE] += service
    weights[:, MARKET] += pressures.market_rate
    weights[:, TECHNOLOGICAL] += pressures.technological_rate
    weights[:, ORGANISATIONAL] += pressures.organisational_rate
    cumulative = np.cumsum(weights, axis=1)
    total = cumulative[:, -1:]
    u = u.reshape(n, 1) * total
    reasons = (u >= cumulative).sum(axis=1)
    return np.minimum(reasons, len(DEFECTION_REASONS) - 1).astype(np.int8)


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
    table.stage[rows] = DEFECTED
    table.defection_reason[rows] = reasons
    table.months_since_defection[rows] = 0
    table.member[rows] = False
    first = rows[table.first_defected_month[rows] < 0]
    table.first_defected_month[first] = month
