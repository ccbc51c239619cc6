"""Firm strategies: policies the firm runs each month, chosen by name in a scenario.

A strategy is a class registered under its name with the parameters a
scenario may set (each with a default and a unit). A scenario turns it on::

    strategies:
      loyalty_program:
        start_month: 12
        reward_rate: 0.03

Every strategy runs from ``start_month`` to an optional ``end_month`` (so
before/after comparisons work). Several can run at once: their costs add up,
their effects on a customer multiply (churn, spend) or add (value). Each
acts at the start of the month and pays its own costs, which are charged to
the customers they were spent on and so flow into each customer's lifetime
value. Defined interactions:

- customers the firm fired never come back: a win-back offer to them is
  refused by design;
- customers who gave permission (``opted_in``) feel no nuisance from offers;
- the competitor's strategies (``competitor_strategies`` in a scenario) act
  on the same customers: its poaching offers raise price defection, its own
  loyalty programme keeps the customers it won from coming back.

Each module in this package holds one strategy; importing the package
registers them all (``REGISTRY`` for the firm, ``COMPETITOR_REGISTRY`` for the
competitor). ``crmsim list --strategies`` prints them with their parameters.
"""

import importlib
import pkgutil

from crmsim.strategies.base import (
    COMPETITOR_REGISTRY,
    REGISTRY,
    Strategy,
    register,
    register_competitor,
)

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["COMPETITOR_REGISTRY", "REGISTRY", "Strategy", "register", "register_competitor"]
