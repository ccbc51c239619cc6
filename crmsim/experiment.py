"""Experiments: replications of scenarios with confidence intervals.

A single run is an anecdote. :func:`compare` runs each scenario several times
with independent random streams spawned from one experiment seed and reports
each measure's mean with a 95% confidence interval. Replication ``k`` of every
scenario uses the same seed (common random numbers), so the scenarios of one
comparison meet the same customers and the same luck, and their differences
are paired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from crmsim.model import CRMModel
from crmsim.scenario import Scenario, load_scenario

MEASURES: dict[str, str] = {
    "mean_clv": "Mean realised CLV per customer (currency)",
    "customer_equity": "Customer equity at the end (currency)",
    "retention_rate": "Retention rate (per month)",
    "churn_rate": "Churn rate (per month)",
    "active_customers": "Active customers at the end",
    "total_profit_pv": "Discounted profit of the run (currency)",
    "pareto_share_top20": "Profit share of the top 20% of customers",
}
"""Measures compared across scenarios, with the label used in tables and figures."""


@dataclass
class Comparison:
    """Results of comparing scenarios over replications.

    Attributes:
        runs: One row per run: scenario, replication, seed and every measure.
        table: One row per scenario and measure: mean, 95% CI, standard error.
        monthly: One row per scenario, replication and month: the monthly series.
    """

    runs: pd.DataFrame
    table: pd.DataFrame
    monthly: pd.DataFrame

    def wide(self) -> pd.DataFrame:
        """The table with one row per scenario and 'mean [low, high]' text per measure."""
        cells = self.table.assign(
            text=lambda t: t.apply(
                lambda row: f"{_fmt(row['mean'])} [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]",
                axis=1,
            )
        )
        wide = cells.pivot(index="scenario", columns="measure", values="text")
        order = [m for m in MEASURES if m in wide.columns]
        scenarios = list(dict.fromkeys(self.table["scenario"]))
        return wide.loc[scenarios, order]


def replication_seeds(seed: int, replications: int) -> list[int]:
    """Independent seeds for the replications, spawned from one experiment seed."""
    children = np.random.SeedSequence(seed).spawn(replications)
    return [int(child.generate_state(1, np.uint64)[0] % 2**63) for child in children]


def run_once(
    scenario: Scenario, seed: int, months: int | None = None, customers: int | None = None
) -> tuple[dict, pd.DataFrame]:
    """Run one replication; return its summary and monthly series."""
    model = CRMModel(scenario, rng=seed, customers=customers)
    model.run(months)
    return model.summary(), model.monthly_series()


def compare(
    scenarios: Sequence[Scenario | str],
    replications: int = 10,
    seed: int = 2026,
    months: int | None = None,
    customers: int | None = None,
    progress: bool = False,
) -> Comparison:
    """Run each scenario ``replications`` times with common random numbers.

    Args:
        scenarios: Scenarios, scenario files or shipped scenario names.
        replications: Runs per scenario (at least 2 for a confidence interval).
        seed: Experiment seed; replication k of every scenario gets the same spawned seed.
        months: Override of the months simulated.
        customers: Override of the market size.
        progress: Show a progress bar.

    Returns:
        A :class:`Comparison`.
    """
    if replications < 2:
        raise ValueError(
            f"replications must be at least 2 for a confidence interval; got {replications}"
        )
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names must differ to be compared; got {names}")
    seeds = replication_seeds(seed, replications)
    jobs = [(s, k, seeds[k]) for s in loaded for k in range(replications)]
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc="runs", unit="run")
    rows, series = [], []
    for scenario, k, run_seed in jobs:
        summary, monthly = run_once(scenario, run_seed, months, customers)
        rows.append(
            {"scenario": scenario.name, "replication": k, "seed": run_seed}
            | {m: summary[m] for m in MEASURES}
        )
        series.append(monthly.assign(scenario=scenario.name, replication=k))
    runs = pd.DataFrame(rows)
    return Comparison(runs=runs, table=confidence_table(runs), monthly=pd.concat(series))


def confidence_table(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean, standard error and t-based confidence interval of each measure per scenario."""
    records = []
    for scenario, group in runs.groupby("scenario", sort=False):
        for measure in MEASURES:
            low, mean, high, se = mean_confidence_interval(group[measure].to_numpy(), level)
            records.append(
                {
                    "scenario": scenario,
                    "measure": measure,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "standard_error": se,
                    "replications": len(group),
                }
            )
    return pd.DataFrame(records)


def mean_confidence_interval(
    values: np.ndarray, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Lower bound, mean, upper bound and standard error of the mean (Student t)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = values.size
    if n == 0:
        return (np.nan, np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if n < 2:
        return (np.nan, mean, np.nan, np.nan)
    se = float(values.std(ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
    return (mean - half, mean, mean + half, se)


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "nan"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.4f}"
