"""Sensitivity: how strongly retention, margin and acquisition cost move customer value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmsim.config.scenario import Scenario, load_scenario
from crmsim.study.executors import run_study
from crmsim.study.runs import StudyError, study_runs, tidy
from crmsim.study.stats import interval_note, mean_confidence_interval
from crmsim.study.store import OutputFolder

LEVERS: dict[str, str] = {
    "retention": "+1% retention (annual)",
    "margin": "+1% margin",
    "acquisition_cost": "-1% acquisition cost",
}
"""The levers of customer value, with the label used in tables and figures."""


def lever_changes(scenario: Scenario, lever: str, step: float = 0.01) -> dict[str, Any]:
    """Scenario changes that move one lever of customer value by ``step`` (1% = 0.01).

    - retention: every chance of leaving scaled so that the baseline's yearly
      retention rises by ``step`` (relative), as in Gupta, Lehmann & Stuart (2004);
    - margin: the margin each customer brings per month (gross margin on sales less
      the cost to serve) up by ``step`` (relative): both are scaled by ``1 + step``;
    - acquisition cost: the acquisition budget and every cost per contact down by
      ``step``, so the same prospects are reached for less.

    Args:
        scenario: The unchanged scenario.
        lever: One of :data:`LEVERS`.
        step: Relative size of the move.

    Returns:
        Dotted path -> new value, for :meth:`Scenario.with_changes`.

    Raises:
        StudyError: An unknown lever.
    """
    p = scenario.params
    if lever == "retention":
        churn = _baseline_monthly_churn(scenario)
        yearly = (1.0 - churn) ** 12
        target_monthly = min((yearly * (1.0 + step)) ** (1.0 / 12.0), 0.999999)
        scale = (1.0 - target_monthly) / churn if churn > 0 else 1.0
        return {"firm.churn_scale": p.firm.churn_scale * scale}
    if lever == "margin":
        return {
            "firm.gross_margin": min(p.firm.gross_margin * (1.0 + step), 1.0),
            "firm.cost_to_serve_per_month": p.firm.cost_to_serve_per_month * (1.0 + step),
        }
    if lever == "acquisition_cost":
        channels = {
            name: spec | {"cost_per_contact": spec["cost_per_contact"] * (1.0 - step)}
            for name, spec in scenario.channels().items()
        }
        return {
            "acquisition.budget_per_month_per_1000_people": (
                p.acquisition.budget_per_month_per_1000_people * (1.0 - step)
            ),
            "acquisition.channels": channels,
        }
    raise StudyError(f"unknown lever {lever!r}; allowed: {', '.join(LEVERS)}")


def _baseline_monthly_churn(scenario: Scenario) -> float:
    """Monthly chance of leaving in a short seeded pilot run (to size the retention lever)."""
    from crmsim.engine.model import CRMModel

    months = min(scenario.params.simulation.months, 60)
    customers = min(scenario.params.simulation.customers, 10_000)
    model = CRMModel(scenario, rng=0, customers=customers).run(months)
    return 1.0 - float(model.summary()["retention_rate"])


def sensitivity(
    scenario: Scenario | str,
    replications: int = 10,
    seed: int = 2026,
    step: float = 0.01,
    measure: str = "value_of_customer_base",
    months: int | None = None,
    customers: int | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
    out: str | Path | OutputFolder | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Elasticities of customer value to retention, margin and acquisition cost.

    Each lever is moved by ``step`` and the change in ``measure`` (by default
    the discounted profit of the run plus the equity left at the end) is
    measured against the unchanged scenario, replication by replication with
    common random numbers.

    Args:
        scenario: The scenario, a scenario file or a shipped name.
        replications: Runs per lever (and of the unchanged scenario).
        seed: Experiment seed.
        step: Relative size of each lever's move (0.01 = 1%).
        measure: The study measure whose change is measured.
        months: Override of the months simulated.
        customers: Override of the market size.
        workers: Local processes (1 = in this process; None = all cores).
        scheduler: Dask scheduler address (overrides ``workers``).
        out: Folder to keep finished runs in (resumable); None keeps them in memory.
        progress: Show a progress bar.

    Returns:
        One row per lever: the lever, its label, the mean percent change of the
        measure per percent of lever (the elasticity), its 95% CI and a ``note``
        when the interval is missing (one replication; a measure of 0 in the
        unchanged run, against which no percent change is defined).
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    overrides = {"simulation.months": months, "simulation.customers": customers}
    base = base.with_changes({k: v for k, v in overrides.items() if v is not None})
    variants = [base, *lever_scenarios(base, step)]
    runs = study_runs(variants, None, replications, seed, months, customers)
    results = run_study(runs, workers, scheduler, out, progress)
    return elasticity_table(tidy(results), base.name, step, measure)


def lever_scenarios(scenario: Scenario, step: float = 0.01) -> list[Scenario]:
    """The scenario with each lever of customer value moved by ``step``, one scenario a lever.

    Each is named after its lever (the keys of :data:`LEVERS`), so a study that runs them
    beside the unchanged scenario, with common random numbers, measures the elasticities
    (:func:`elasticity_table`); :func:`sensitivity` does both. Other scenarios may run in
    the same study (what-ifs compared with the same reference), which saves running the
    reference twice.

    Args:
        scenario: The unchanged scenario.
        step: Relative size of each lever's move (0.01 = 1%).

    Returns:
        One scenario per lever, in the order of :data:`LEVERS`.
    """
    return [
        scenario.with_changes(lever_changes(scenario, lever, step), name=lever) for lever in LEVERS
    ]


def elasticity_table(
    runs: pd.DataFrame, reference: str, step: float, measure: str = "value_of_customer_base"
) -> pd.DataFrame:
    """Elasticities of a measure to the levers of :func:`lever_scenarios`, from a study's runs.

    Args:
        runs: One row per run (``Comparison.runs``, or :func:`crmsim.study.tidy`), with the
            unchanged scenario and the lever scenarios, replication by replication.
        reference: Name of the unchanged scenario.
        step: The step the levers were moved by.
        measure: The study measure whose change is measured.

    Returns:
        The frame of :func:`sensitivity`.

    Raises:
        StudyError: The runs hold no reference or no lever scenario (the message names it).
    """
    present = set(runs["scenario"])
    missing = [name for name in (reference, *LEVERS) if name not in present]
    if missing:
        raise StudyError(
            f"the runs have no scenario(s) {', '.join(map(repr, missing))}: run the unchanged "
            "scenario and lever_scenarios(scenario, step) in one study"
        )
    baseline = runs[runs["scenario"] == reference].set_index("replication")[measure]
    records = []
    for lever, label in LEVERS.items():
        moved = runs[runs["scenario"] == lever].set_index("replication")[measure]
        relative = _percent_change(moved, baseline) / step
        low, mean, high, se = mean_confidence_interval(relative.to_numpy(float))
        records.append(
            {
                "lever": lever,
                "label": label,
                "elasticity": mean,
                "ci_low": low,
                "ci_high": high,
                "standard_error": se,
                "replications": len(relative),
                "measure": measure,
                "note": interval_note(relative.to_numpy(float)),
            }
        )
    return pd.DataFrame(records)


def _percent_change(moved: pd.Series, reference: pd.Series) -> pd.Series:
    """Relative change ``moved / reference - 1`` of each replication; NaN where the
    reference is 0 (or not finite), where no relative change is defined."""
    usable = reference.where(np.isfinite(reference) & (reference != 0))
    return moved / usable - 1.0
