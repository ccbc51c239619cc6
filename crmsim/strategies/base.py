"""The strategy base class and the registry of strategies by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.schema import Field

if TYPE_CHECKING:
    from crmsim.model import CRMModel

REGISTRY: dict[str, type[Strategy]] = {}

TIMING: dict[str, Field] = {
    "start_month": Field("month", 0, "month", "First month the strategy runs."),
    "end_month": Field(
        "month", None, "month", "Month the strategy stops (null = never).", nullable=True
    ),
}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a strategy available to scenarios under ``cls.name``."""
    REGISTRY[cls.name] = cls
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

    def describe(self) -> str:
        """One line: the strategy and its parameters."""
        settings = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name} ({settings})"
