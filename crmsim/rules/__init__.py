"""Lifecycle rules: one module per part of the customer relationship.

Each rule is a small function over the columns of the customer table
(``crmsim.engine.customers.CustomerTable``) and is named after the course concept it
embodies. ``CRMModel.step`` calls them in the order of a month's story:

1. :mod:`~crmsim.rules.acquisition`: suspects -> prospects -> first purchase,
   through paid channels and word of mouth.
2. :mod:`~crmsim.rules.satisfaction`: satisfaction = delivered value - expectation,
   with expectations that rise over time.
3. :mod:`~crmsim.rules.loyalty`: up and down the loyalty ladder.
4. :mod:`~crmsim.rules.purchasing`: spend, share of wallet, purchases.
5. :mod:`~crmsim.rules.defection`: who leaves, and why.
6. :mod:`~crmsim.rules.reacquisition`: who comes back.
"""
