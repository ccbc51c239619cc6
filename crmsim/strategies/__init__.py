"""Firm strategies: policies the firm runs each month, chosen by name in a scenario.

A strategy is a class registered under its name with the parameters a
scenario may set (each with a default and a unit). A scenario turns it on::

    strategies:
      loyalty_program:
        start_month: 12
        reward_rate: 0.03

Several strategies can run at once; each acts at the start of the month and
may change customers' churn, spend and experienced value, and it pays its
own costs, which flow into each customer's lifetime value.
"""

from crmsim.strategies.base import (
    COMPETITOR_REGISTRY,
    REGISTRY,
    Strategy,
    register,
    register_competitor,
)
from crmsim.strategies.fire_marginal_customers import FireMarginalCustomers
from crmsim.strategies.loyalty_program import LoyaltyProgram

__all__ = [
    "COMPETITOR_REGISTRY",
    "REGISTRY",
    "FireMarginalCustomers",
    "LoyaltyProgram",
    "Strategy",
    "register",
    "register_competitor",
]
