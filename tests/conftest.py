"""Shared helpers for the model tests: docking scenarios and small runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pandas as pd

from crmsim.config.scenario import Scenario
from crmsim.engine.model import CRMModel

# Everything but the mechanism under test is switched off: the whole market is a
# customer at month 0, nobody enters it later, nobody is acquired, referred, poached,
# lost to the market or won back, every rung of the ladder behaves the same, serving
# costs nothing and every bill equals the mean order value.
DOCKING: dict[str, dict[str, Any]] = {
    "simulation": {"months": 24, "customers": 2_000, "follow_customers": 0},
    "market": {
        "initial_active_share": 1.0,
        "warm_start_months": 0,  # one cohort, brand new at month 0
        "entry_rate_per_month": 0.0,  # a closed market: nobody enters later
        "exit_rate_per_month": 0.0,
        "obsolescence_rate_per_month": 0.0,
        "technology_shock_month": None,
    },
    "customers": {
        "order_value_spread": 0.0,
        "share_of_wallet_polarization": 0.0,
    },
    "ladder": {
        "churn_multiplier": [1.0] * 5,
        "spend_multiplier": [1.0] * 5,
        "price_sensitivity_multiplier": [1.0] * 5,
        "referrals_per_month": [0.0] * 5,
    },
    "firm": {
        "cost_to_serve_per_month": 0.0,
        "service_defection_sensitivity": 0.0,
        "organisational_failure_rate_per_month": 0.0,
    },
    "acquisition": {"budget_per_month_per_1000_people": 0.0, "deterrence_per_defector": 0.0},
    "competitor": {"reach_per_month": 0.0, "product_advantage_rate_per_month": 0.0},
    "reacquisition": {"return_probability_per_month": 0.0},
}


def docking_scenario(changes: Mapping[str, Any] | None = None, name: str = "docking") -> Scenario:
    """The docking scenario, with settings changed at dotted paths (``"firm.margin_timing"``)."""
    data: dict[str, Any] = {"name": name, "description": "docking against a closed form"}
    data.update({section: dict(values) for section, values in DOCKING.items()})
    for path, value in (changes or {}).items():
        node = data
        *sections, key = path.split(".")
        for part in sections:
            node = node.setdefault(part, {})
        node[key] = value
    return Scenario(data)


def run_crmsim(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user types it (``python -m crmsim ARGS``), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "crmsim", *args], capture_output=True, text=True, timeout=60
    )


def run_with_series(
    scenario: Scenario, seed: int, months: int, customers: int | None = None
) -> tuple[CRMModel, pd.DataFrame]:
    """Run a scenario and return the model with its monthly series (strategy measures too)."""
    model = CRMModel(scenario, rng=seed, customers=customers).run(months)
    return model, model.monthly_series()


def the_strategy(model: CRMModel, name: str):
    """The firm's running strategy called ``name``."""
    return next(s for s in model.firm.strategies if s.name == name)


def the_view(model: CRMModel, name: str):
    """The market view of the firm's strategy called ``name``."""
    pairs = zip(model.firm.strategies, model.firm.views, strict=True)
    return next(view for strategy, view in pairs if strategy.name == name)
