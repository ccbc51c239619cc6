"""Comparing scenarios over replications: confidence tables and paired differences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crmsim.config.fields import unknown_key
from crmsim.config.scenario import Scenario
from crmsim.measures import STUDY_MEASURES, run_measure
from crmsim.study.executors import run_study
from crmsim.study.runs import StudyError, monthly_frame, study_runs, tidy
from crmsim.study.stats import (
    interval_note,
    mean_confidence_interval,
    paired_interval,
    welch_interval,
)
from crmsim.study.store import OutputFolder


@dataclass
class Comparison:
    """Results of comparing scenarios over replications.

    Attributes:
        runs: One row per run: scenario, replication, seed and every measure.
        table: One row per scenario and measure: mean, 95% CI, standard error and
            a note when the interval is missing (one replication, a measure
            undefined in every run) or rests on fewer runs.
        monthly: One row per scenario, replication and month: the kept monthly series.
        differences: Paired differences of each scenario from the reference one.
    """

    runs: pd.DataFrame
    table: pd.DataFrame
    monthly: pd.DataFrame
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)

    def wide(self) -> pd.DataFrame:
        """The table with one row per scenario and 'mean [low, high]' text per measure
        (in the measure's shown unit: retention in %, say)."""
        cells = self.table.assign(
            text=lambda t: t.apply(
                lambda row: run_measure(row["measure"]).format_interval(
                    row["mean"], row["ci_low"], row["ci_high"]
                ),
                axis=1,
            )
        )
        wide = cells.pivot(index="scenario", columns="measure", values="text")
        order = [m for m in STUDY_MEASURES if m in wide.columns]
        scenarios = list(dict.fromkeys(self.table["scenario"]))
        return wide.loc[scenarios, order]


def compare(
    scenarios: Sequence[Scenario | str],
    replications: int = 10,
    seed: int = 2026,
    months: int | None = None,
    customers: int | None = None,
    progress: bool = False,
    workers: int | None = 1,
    scheduler: str | None = None,
    out: str | Path | OutputFolder | None = None,
    reference: str | None = None,
) -> Comparison:
    """Run each scenario ``replications`` times with common random numbers.

    With a single replication there is a mean but no confidence interval: the
    bounds are NaN and the tables' ``note`` column says so.

    Args:
        scenarios: Scenarios, scenario files or shipped scenario names.
        replications: Runs per scenario (at least 2 for a confidence interval).
        seed: Experiment seed; replication k of every scenario gets the same spawned seed.
        months: Override of the months simulated.
        customers: Override of the market size.
        progress: Show a progress bar.
        workers: Local processes (1 = in this process; None = all cores).
        scheduler: Dask scheduler address (overrides ``workers``).
        out: Folder to keep finished runs in (resumable); None keeps them in memory.
        reference: Name of the scenario the others are compared with, replication
            by replication (default: the first).

    Raises:
        StudyError: No replication, two scenarios of the same name, or a reference
            that is not one of the scenarios.
        ScenarioError: A scenario, ``months`` or ``customers`` outside what a
            scenario allows.
    """
    runs = study_runs(scenarios, None, replications, seed, months, customers)
    names = list(dict.fromkeys(run.scenario_name for run in runs))
    if reference is not None and reference not in names:
        raise StudyError(unknown_key(f"reference {reference!r}", "scenario", reference, names))
    results = run_study(runs, workers, scheduler, out, progress)
    frame = tidy(results)
    return Comparison(
        runs=frame,
        table=confidence_table(frame),
        monthly=monthly_frame(results),
        differences=paired_differences(frame, reference),
    )


def confidence_table(
    runs: pd.DataFrame, by: Sequence[str] = ("scenario",), level: float = 0.95
) -> pd.DataFrame:
    """Mean, standard error and t-based confidence interval of each measure per group.

    Args:
        runs: One row per run (see :func:`crmsim.study.tidy`).
        by: Columns that define a group.
        level: Confidence level.

    Returns:
        One row per group and measure: the group's columns, ``measure``, ``mean``,
        ``ci_low``, ``ci_high``, ``standard_error``, ``replications`` and ``note``
        (empty, or why the interval is missing; see
        :func:`crmsim.study.stats.interval_note`).
    """
    records = []
    for group_key, group in runs.groupby(list(by), sort=False):
        labels = dict(
            zip(by, group_key if isinstance(group_key, tuple) else (group_key,), strict=True)
        )
        for measure in STUDY_MEASURES:
            values = group[measure].to_numpy()
            low, mean, high, se = mean_confidence_interval(values, level)
            records.append(
                labels
                | {
                    "measure": measure,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "standard_error": se,
                    "replications": len(group),
                    "note": interval_note(values),
                }
            )
    return pd.DataFrame(records)


def paired_differences(
    runs: pd.DataFrame, reference: str | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Differences of each scenario from the reference, paired by replication.

    With common random numbers, replication k of two scenarios met the same
    customers and luck, so the difference of each pair removes most of the
    noise. The unpaired (Welch) interval is reported beside it for contrast.

    Args:
        runs: One row per run (see :func:`crmsim.study.tidy`).
        reference: Scenario the others are compared with (default: the first).
        level: Confidence level.

    Returns:
        One row per scenario and measure: mean difference, paired CI, unpaired CI,
        and a ``note`` when the interval is missing or rests on fewer pairs.
    """
    scenarios = list(dict.fromkeys(runs["scenario"]))
    if not scenarios:
        return pd.DataFrame()
    reference = reference or scenarios[0]
    base = runs[runs["scenario"] == reference].set_index("replication").sort_index()
    records = []
    for scenario in scenarios:
        if scenario == reference:
            continue
        other = runs[runs["scenario"] == scenario].set_index("replication").sort_index()
        common = base.index.intersection(other.index)
        for measure in STUDY_MEASURES:
            a = other.loc[common, measure].to_numpy(float)
            b = base.loc[common, measure].to_numpy(float)
            low, mean, high, se = paired_interval(a, b, level)
            u_low, u_high = welch_interval(a, b, level)
            records.append(
                {
                    "scenario": scenario,
                    "reference": reference,
                    "measure": measure,
                    "difference": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "standard_error": se,
                    "unpaired_ci_low": u_low,
                    "unpaired_ci_high": u_high,
                    "replications": len(common),
                    "note": interval_note(a - b),
                }
            )
    return pd.DataFrame(records)
