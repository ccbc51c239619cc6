"""Retention bonds: financial, social, customisation and structural ties to the firm."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field
from crmsim.measures import Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Effects
from crmsim.vocabulary import ACTIVE, TIERS

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView

LEVELS: tuple[str, ...] = ("financial", "social", "customisation", "structural")
"""The four levels of retention bonds, weakest first (``level`` 1..4)."""

LEVEL_TABLE: dict[str, tuple[float, float, float, float]] = {
    # One number per level: financial, social, customisation, structural. Each level
    # builds on the ones below it, so strength and cost both rise.
    "churn_reduction": (0.10, 0.18, 0.26, 0.35),
    "value_gain": (0.00, 0.03, 0.05, 0.05),
    "cost_per_customer_per_month": (0.40, 0.80, 1.30, 1.80),
}
"""Default effect and cost of each level of bond (overridden by the parameters of that name)."""


@register
class RetentionBonds(Strategy):
    """Tie customers on or above a rung to the firm with bonds of increasing strength.

    Course concept: the four levels of retention bonds, in increasing strength
    (and cost): 1 **financial** (lower prices for volume), 2 **social** (treat
    customers as clients, known individually), 3 **customisation** (one-to-one
    solutions), 4 **structural** (technology that ties the customer's processes
    to the firm). Each level builds on those below it. At the start of each
    month every active customer on ``min_tier`` or above is bonded for the
    month; bonded customers switch ``churn_reduction`` less, experience
    ``value_gain`` more value, and cost ``cost_per_customer_per_month`` for
    each month they pay (programme cost, charged to them). At the structural
    level their processes are tied to the firm, so the competitor's offers
    pull less: their price defection is further multiplied by
    ``structural_price_factor``.

    Unless set, ``churn_reduction``, ``value_gain`` and
    ``cost_per_customer_per_month`` take the defaults of the chosen level:

    ==============  ===============  ==========  ========================
    level           churn_reduction  value_gain  cost per customer-month
    ==============  ===============  ==========  ========================
    1 financial     0.10             0.00        0.40
    2 social        0.18             0.03        0.80
    3 customisation 0.26             0.05        1.30
    4 structural    0.35             0.05        1.80 (and price x 0.6)
    ==============  ===============  ==========  ========================

    Side effects: bonds reach only customers already on ``min_tier``; the
    value they add lifts satisfaction and so helps customers climb.

    Whom the firm bonds: its customers as it knows them
    (``MarketView.firm_customers``). A retailer that estimates cannot see who has
    silently stopped buying, so it keeps bonding them too, and pays their bond each
    month (programme cost, charged to them) for no effect: only customers still
    there switch less or see more value.

    Measures: ``retention_bonds_bonded`` (bonded customers who paid this month)
    and ``retention_bonds_spend`` (currency: theirs, and those of silent dropouts
    the firm still bonds).
    """

    name: ClassVar[str] = "retention_bonds"
    concept: ClassVar[str] = "Retention: the four levels of retention bonds"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "level": Field(
            "positive_count",
            1,
            "1..4",
            "Level of bond: 1 financial, 2 social, 3 customisation, 4 structural.",
            maximum=4,
        ),
        "min_tier": Field(
            "choice", "customer", "rung", "Lowest ladder rung that is bonded.", choices=TIERS
        ),
        "churn_reduction": Field(
            "share",
            None,
            "share",
            "How much less bonded customers switch (null = the level's default: "
            "0.10, 0.18, 0.26, 0.35).",
            nullable=True,
        ),
        "value_gain": Field(
            "number",
            None,
            "value units",
            "Value bonded customers gain (null = the level's default: 0, 0.03, 0.05, 0.05).",
            nullable=True,
        ),
        "cost_per_customer_per_month": Field(
            "nonnegative",
            None,
            "currency per customer-month",
            "Cost of the bond for one customer-month (null = the level's default: "
            "0.4, 0.8, 1.3, 1.8).",
            nullable=True,
        ),
        "structural_price_factor": Field(
            "share",
            0.6,
            "x",
            "Structural level only: multiplier of bonded customers' price defection "
            "(competitor offers pull less).",
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure("retention_bonds_bonded", "Bonded customers who paid", "customers"),
        measure("retention_bonds_spend", "Spend on bonds", "currency per month"),
    )

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        level = params["level"]
        self.level_name = LEVELS[level - 1]
        self.effect = {
            key: float(params[key] if params[key] is not None else table[level - 1])
            for key, table in LEVEL_TABLE.items()
        }
        self.bonded = np.zeros(0, bool)
        self._silent_cost = 0.0

    def start(self, view: MarketView) -> None:
        """Nobody is bonded before the strategy runs."""
        self.bonded = np.zeros(view.size, bool)

    def act(self, view: MarketView) -> None:
        """Bond this month's customers, as the firm knows them, on the lowest bonded rung
        and above; pay the bonds of those who had silently left (a retailer's)."""
        table = view.customers
        lowest = TIERS.index(self.params["min_tier"])
        known = view.firm_customers()
        self.bonded[:] = False
        self.bonded[known[table.tier[known] >= lowest]] = True
        self._silent_cost = 0.0
        if not view.sees_every_end:
            silent = np.flatnonzero(self.bonded & (table.stage != ACTIVE))
            cost = self.effect["cost_per_customer_per_month"]
            view.charge(silent, cost, "programme")
            self._silent_cost = silent.size * cost

    def effects(self, view: MarketView, rows: np.ndarray) -> Effects:
        """Bonded customers switch less, see more value and cost the bond; at the structural
        level the competitor's offers pull them less."""
        bonded = self.bonded[rows]

        def where_bonded(if_bonded: float, otherwise: float) -> np.ndarray:
            return np.where(bonded, np.float32(if_bonded), np.float32(otherwise))

        reasons = {}
        if self.level_name == "structural":
            reasons["price"] = where_bonded(self.params["structural_price_factor"], 1.0)
        return Effects(
            churn=where_bonded(1.0 - self.effect["churn_reduction"], 1.0),
            value=where_bonded(self.effect["value_gain"], 0.0),
            reasons=reasons,
            cost_per_month=where_bonded(self.effect["cost_per_customer_per_month"], 0.0),
        )

    def report(self, view: MarketView) -> dict[str, float]:
        paying = view.paying_customers
        bonded = int(self.bonded[paying].sum())
        return {
            "retention_bonds_bonded": float(bonded),
            "retention_bonds_spend": float(bonded * self.effect["cost_per_customer_per_month"])
            + self._silent_cost,
        }
