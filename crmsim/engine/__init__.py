"""The engine: the customer table, the players, the books, the month's record and the model.

- ``customers``: the columnar table of everyone in the market, and one customer's view;
- ``players``: the firm and its competitor (Mesa agents) and the strategies they run;
- ``accounts``: the books, every cost charged to the customer it was spent on;
- ``record``: the measures of each month;
- ``model``: :class:`~crmsim.engine.model.CRMModel`, the month in order.
"""

from crmsim.engine.model import CRMModel

__all__ = ["CRMModel"]
