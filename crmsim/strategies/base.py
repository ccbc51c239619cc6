"""The strategy base class and the registries of strategies by name.

A strategy has a small, even interface; the model calls each hook at one
point of the month, for the firm's and the competitor's strategies alike:

1. ``start(view)``: once, when the model is built (allocate per-person state,
   take one-off draws);
2. ``plan(view) -> Plan``: at the start of the month, the price and the
   acquisition terms;
3. ``act(view)``: then, what the strategy does (enrol, review, contact, win back);
4. ``effects(view, rows) -> Effects``: pure, what it does to the month's customers
   (churn, spend, value, cost, per-reason hazards), asked once a month after
   acquisition and used for the books and for expected CLV;
5. ``return_factor(view, rows)``: pure, what it does to the chance that
   defectors come back;
6. ``report(view) -> dict``: at month end, its own measures.

A strategy touches the market only through its :class:`~crmsim.strategies.view.MarketView`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import MONTH, NEITHER, Measure

if TYPE_CHECKING:
    from crmsim.strategies.effects import Effects, Plan
    from crmsim.strategies.view import MarketView

REGISTRY: dict[str, type[Strategy]] = {}
"""The firm's strategies by name (the ``strategies`` section of a scenario)."""

COMPETITOR_REGISTRY: dict[str, type[Strategy]] = {}
"""The competitor's strategies by name (the ``competitor_strategies`` section)."""

TIMING: dict[str, Field] = {
    "start_month": Field("month", 0, "month", "First month the strategy runs."),
    "end_month": Field(
        "month", None, "month", "Month the strategy stops (null = never).", nullable=True
    ),
}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a firm strategy available to scenarios under ``cls.name``."""
    REGISTRY[cls.name] = cls
    return cls


def register_competitor(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a competitor strategy available under ``cls.name``."""
    COMPETITOR_REGISTRY[cls.name] = cls
    return cls


def measure(
    name: str, label: str, unit: str, direction: str = NEITHER, scale: float = 1.0
) -> Measure:
    """A monthly measure a strategy reports (see ``crmsim.measures``)."""
    return Measure(name, label, unit, MONTH, direction, scale=scale)


class Strategy:
    """A firm (or competitor) policy that acts each month while it runs.

    Subclasses set ``name``, ``concept`` (the course concept it embodies),
    ``parameters`` (fields a scenario may set) and ``measures`` (the monthly
    measures ``report`` returns), and override the hooks they need (see the
    module docstring). Array hooks receive rows of the table and return arrays
    aligned with them.

    Attributes:
        params: The validated parameters, by name.
        start_month: First month the strategy runs.
        end_month: Month it stops, or None.
    """

    name: ClassVar[str] = ""
    concept: ClassVar[str] = ""
    parameters: ClassVar[dict[str, Field]] = {}
    measures: ClassVar[tuple[Measure, ...]] = ()
    """Monthly measures ``report`` adds to the model's series."""
    renamed: ClassVar[dict[str, str]] = {}
    """Parameters that were renamed: old name -> new name (an absolute amount that became an
    amount per 1,000 people, whose name ends ``_per_1000_people``, or a plain new name); a
    scenario using an old name is told what it became."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.start_month: int = params.get("start_month", 0)
        self.end_month: int | None = params.get("end_month")

    @classmethod
    def check(cls, params: dict[str, Any]) -> str | None:
        """Cross-field checks of validated parameters; a message or None."""
        end = params.get("end_month")
        if end is not None and end <= params.get("start_month", 0):
            return f"end_month ({end}) must come after start_month ({params['start_month']})"
        return None

    @classmethod
    def measure_names(cls) -> tuple[str, ...]:
        """Names of the strategy's monthly measures."""
        return tuple(m.name for m in cls.measures)

    def is_running(self, month: int) -> bool:
        """Whether the strategy acts in ``month``."""
        return month >= self.start_month and (self.end_month is None or month < self.end_month)

    def start(self, view: MarketView) -> None:
        """Once, when the model is built: per-person state and one-off draws."""

    def plan(self, view: MarketView) -> Plan | None:
        """This month's price and acquisition terms (None = no change)."""
        return None

    def hold_for_run_off(self, view: MarketView) -> None:
        """The market is about to run on without new customers, to value the ones it has
        (``crmsim.engine.run_off``): hold what the strategy sets relative to the whole
        base (a share of it) at the level it stands at now, as a firm that goes on
        acquiring would keep it; otherwise a share of an ageing base falls ever more on
        the customers being valued."""

    def act(self, view: MarketView) -> None:
        """Act at the start of the month (enrol, review, end relationships...)."""

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects | None:
        """What the strategy does this month to active customers ``rows`` (pure)."""
        return None

    def return_factor(self, view: MarketView, rows: np.ndarray) -> np.ndarray | None:
        """Multiplier of the chance that each defected customer in ``rows`` comes back (pure)."""
        return None

    def fixed_cost(self, view: MarketView) -> float:
        """Running cost this month not spent on any one customer, currency."""
        return 0.0

    def report(self, view: MarketView) -> dict[str, float]:
        """Measures the strategy adds to each month's record (name -> value)."""
        return {}

    def describe(self) -> str:
        """One line: the strategy and its parameters."""
        settings = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name} ({settings})"
