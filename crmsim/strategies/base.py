"""The strategy base class and the registry of strategies by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field

if TYPE_CHECKING:
    from crmsim.model import CRMModel

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


class Strategy:
    """A firm policy that acts each month while it runs.

    Subclasses set ``name``, ``concept`` (the course concept it embodies) and
    ``parameters`` (fields a scenario may set), and override the hooks they need.
    The hooks receive the rows of active customers and return per-customer
    arrays for those rows, or None for "no effect".

    Attributes:
        params: The validated parameters, by name.
        start_month: First month the strategy runs.
        end_month: Month it stops, or None.
    """

    name: ClassVar[str] = ""
    concept: ClassVar[str] = ""
    parameters: ClassVar[dict[str, Field]] = {}
    measures: ClassVar[tuple[str, ...]] = ()
    """Names of the monthly measures ``report`` adds to the model's series."""

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

    def is_running(self, month: int) -> bool:
        """Whether the strategy acts in ``month``."""
        return month >= self.start_month and (self.end_month is None or month < self.end_month)

    def act(self, model: CRMModel) -> None:
        """Act at the start of the month (enrol, review, end relationships...)."""

    def churn_factor(self, model: CRMModel, rows: np.ndarray) -> np.ndarray | None:
        """Multiplier of each customer's switching hazards (1 = no change)."""
        return None

    def spend_factor(self, model: CRMModel, rows: np.ndarray) -> np.ndarray | None:
        """Multiplier of each customer's share of wallet (1 = no change)."""
        return None

    def extra_value(self, model: CRMModel, rows: np.ndarray) -> np.ndarray | None:
        """Value each customer gains from the strategy, value units."""
        return None

    def costs(self, model: CRMModel, rows: np.ndarray, revenue: np.ndarray) -> np.ndarray | None:
        """Cost the strategy spends on each customer this month, currency."""
        return None

    def reason_factors(self, model: CRMModel, rows: np.ndarray) -> dict[str, np.ndarray] | None:
        """Multipliers of particular switching hazards ("price", "product", "service")."""
        return None

    def return_factor(self, model: CRMModel, rows: np.ndarray) -> np.ndarray | None:
        """Multiplier of the chance that each defected customer in ``rows`` comes back."""
        return None

    def price_factor(self, model: CRMModel) -> float | None:
        """Multiplier of the firm's price index this month."""
        return None

    def acquisition_plan(self, model: CRMModel) -> dict[str, Any] | None:
        """Changes to acquisition this month: ``budget_factor`` and/or ``budget_shares``."""
        return None

    def referral_factor(self, model: CRMModel) -> float | None:
        """Multiplier of word-of-mouth referrals this month."""
        return None

    def referral_conversion_factor(self, model: CRMModel) -> float | None:
        """Multiplier of the conversion rate of referred prospects this month."""
        return None

    def after_acquisition(self, model: CRMModel, converted: np.ndarray) -> None:
        """React to this month's first purchases (e.g. pay a referral reward)."""

    def fixed_cost(self, model: CRMModel) -> float:
        """Running cost this month not spent on any one customer, currency."""
        return 0.0

    def report(self, model: CRMModel) -> dict[str, float]:
        """Measures the strategy adds to each month's record (name -> value)."""
        return {}

    def describe(self) -> str:
        """One line: the strategy and its parameters."""
        settings = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name} ({settings})"
