"""Comparing scenarios over replications: confidence tables and paired differences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crmsim.config.fields import unknown_key
from crmsim.config.scenario import Scenario
from crmsim.economics import segment_order
from crmsim.measures import SEGMENT_DIMENSIONS, SEGMENT_MEASURES, STUDY_MEASURES, run_measure
from crmsim.study.executors import Executor, Progress, run_study
from crmsim.study.runs import (
    StudyError,
    check_split,
    monthly_frame,
    segment_frame,
    study_runs,
    tidy,
)
from crmsim.study.stats import (
    interval_note,
    mean_confidence_interval,
    paired_interval,
    welch_interval,
)
from crmsim.study.store import OutputFolder, RunMemory


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
        segments: For each split of the customers (``crmsim.measures.SEGMENT_DIMENSIONS``:
            channel, cohort, rung, member), one row per run and segment with every
            segment measure (:func:`crmsim.study.segment_frame`); :meth:`by` summarises it.
        reference: The scenario the others are compared with (None: the first).
        order: The scenarios of the study this comparison was run as, in the study's order
            (empty: those of ``table``). A subset keeps its study's order, so a figure of
            one family of options colours each option as a figure of the whole study does.
    """

    runs: pd.DataFrame
    table: pd.DataFrame
    monthly: pd.DataFrame
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: dict[str, pd.DataFrame] = field(default_factory=dict)
    reference: str | None = None
    order: tuple[str, ...] = ()

    def scenario_order(self) -> list[str]:
        """Every scenario of the study, in the study's order (:attr:`order`, or the table's)."""
        return list(self.order) or list(dict.fromkeys(self.table["scenario"]))

    def by(self, split: str, level: float = 0.95) -> pd.DataFrame:
        """Every segment measure per scenario and segment, with confidence intervals and
        paired differences from the reference scenario.

        Split ``"channel"`` (acquisition source, the initial base apart), ``"cohort"``
        (year of first purchase), ``"rung"`` (at the end; the last one held for those who
        left) or ``"member"`` (in the loyalty programme at the end); see
        :func:`crmsim.economics.segment_table`. Intervals are those of
        :func:`confidence_table`; the differences pair replication k of each scenario
        with replication k of the reference (same seed: common random numbers), as
        :func:`paired_differences` does. A segment a run does not have (a channel one
        scenario has not) counts as missing in that run, and the ``note`` columns say
        over how many runs a mean rests.

        Args:
            split: How to split the customers.
            level: Confidence level.

        Returns:
            One row per scenario, segment and segment measure: ``mean``, ``ci_low``,
            ``ci_high``, ``standard_error``, ``replications``, ``note``, and for the
            scenarios other than the reference ``difference``, ``difference_ci_low``,
            ``difference_ci_high`` and ``difference_note`` (NaN or empty for the reference).

        Raises:
            StudyError: ``split`` is not one of the splits; the message lists them.
        """
        check_split(split)
        frame = self.segments.get(split)
        if frame is None:
            raise StudyError(f"this comparison kept no segments by {split}")
        return segment_comparison(frame, split, self.reference, level)

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

    def subset(self, scenarios: Sequence[str]) -> Comparison:
        """The same comparison kept to some of its scenarios (the reference always kept).

        One study can hold several families of options against one baseline; a
        figure or table of one family takes its subset, without running the
        baseline again. Nothing is recomputed: the intervals and paired
        differences are those of the whole study.

        Args:
            scenarios: Names of the scenarios to keep, in the order to show them.

        Returns:
            A comparison of the reference and ``scenarios``.

        Raises:
            StudyError: A name that is not a scenario of this comparison (the message
                lists them).
        """
        present = list(dict.fromkeys(self.table["scenario"]))
        unknown = [name for name in scenarios if name not in present]
        if unknown:
            raise StudyError(
                f"not scenarios of this comparison: {', '.join(map(repr, unknown))}; "
                f"it has {', '.join(map(repr, present))}"
            )
        reference = self.reference or present[0]
        kept = [reference, *(name for name in scenarios if name != reference)]

        def keep(frame: pd.DataFrame) -> pd.DataFrame:
            if frame.empty or "scenario" not in frame:
                return frame
            rows = frame[frame["scenario"].isin(kept)]
            order = rows["scenario"].map({name: k for k, name in enumerate(kept)})
            return rows.iloc[order.argsort(kind="stable")].reset_index(drop=True)

        return Comparison(
            runs=keep(self.runs),
            table=keep(self.table),
            monthly=keep(self.monthly),
            differences=keep(self.differences),
            segments={split: keep(frame) for split, frame in self.segments.items()},
            reference=self.reference,
            order=tuple(self.scenario_order()),
        )

    def joined(self, other: Comparison, *, same_seeds: bool = True) -> Comparison:
        """This comparison with the scenarios of another study added, compared with this
        one's reference.

        A study of further options alone, run with this study's seed, replications, market
        size and months, gives replication ``k`` the seed this study gave it: its runs meet
        the same people with the same luck (common random numbers) and pair with this
        study's runs, so the reference need not run again. The confidence table and the
        paired differences are computed afresh over the joined runs.

        Args:
            other: A comparison of the further scenarios (its own reference, if it has one,
                may be left out of it).
            same_seeds: Refuse runs whose seeds differ from this study's (the default);
                ``False`` pairs the runs by replication number whatever their seeds, which
                shows what pairing without common random numbers gives.

        Returns:
            A comparison of this study's scenarios and then the other's.

        Raises:
            StudyError: A scenario in both, runs that do not pair (other replication numbers,
                other seeds unless ``same_seeds`` is False, other months). The market size is
                not recorded in a comparison and cannot be checked: run both alike.
        """
        clash = sorted(set(self.scenario_order()) & set(other.scenario_order()))
        if clash:
            raise StudyError(
                f"both comparisons have the scenario(s) {', '.join(map(repr, clash))}: "
                "give the other study's scenarios names of their own "
                "(scenario.with_changes({}, name=...))"
            )
        mine = self.runs.groupby("replication")["seed"].first().sort_index()
        theirs = other.runs.groupby("replication")["seed"].unique()
        if list(theirs.index) != list(mine.index):
            raise StudyError(
                f"the other study has replications {list(theirs.index)}; this one has "
                f"{list(mine.index)}: run it with the same number of replications"
            )
        if same_seeds and any(list(seeds) != [mine[k]] for k, seeds in theirs.items()):
            raise StudyError(
                "the other study's runs have other seeds, so they do not share this study's "
                "random numbers: run it with the same seed and replications (or pass "
                "same_seeds=False to pair the runs by replication number anyway)"
            )
        months = {
            len(part)
            for frame in (self.monthly, other.monthly)
            if not frame.empty
            for _, part in frame.groupby(["scenario", "replication"])
        }
        if len(months) > 1:
            raise StudyError(
                f"the runs lasted different numbers of months ({sorted(months)}): "
                "run the other study for as many months as this one"
            )
        runs = pd.concat([self.runs, other.runs], ignore_index=True)
        names = self.scenario_order()
        reference = self.reference or names[0]
        splits = dict.fromkeys([*self.segments, *other.segments])
        return Comparison(
            runs=runs,
            table=confidence_table(runs),
            monthly=pd.concat([self.monthly, other.monthly], ignore_index=True),
            differences=paired_differences(runs, reference),
            segments={
                split: pd.concat(
                    [
                        f
                        for f in (self.segments.get(split), other.segments.get(split))
                        if f is not None
                    ],
                    ignore_index=True,
                )
                for split in splits
            },
            reference=reference,
            order=(*names, *other.scenario_order()),
        )


def compare(
    scenarios: Sequence[Scenario | str],
    replications: int = 10,
    seed: int = 2026,
    months: int | None = None,
    customers: int | None = None,
    progress: Progress = False,
    workers: int | None = 1,
    scheduler: str | None = None,
    out: str | Path | OutputFolder | None = None,
    reference: str | None = None,
    executor: Executor | None = None,
    memory: RunMemory | None = None,
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
        progress: Show a progress bar, or a function told (runs done, runs in all) after
            each run (:func:`crmsim.study.executors.run_all`).
        workers: Local processes (1 = in this process; None = all cores).
        scheduler: Dask scheduler address (overrides ``workers``).
        out: Folder to keep finished runs in (resumable); None keeps them in memory.
        reference: Name of the scenario the others are compared with, replication
            by replication (default: the first).
        executor: Workers already running, kept running afterwards (the strategy lab's
            warm workers); ``workers`` and ``scheduler`` are then not used.
        memory: Runs remembered from earlier studies (:class:`crmsim.study.store.RunMemory`):
            a run with the same description is given back, not run again.

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
    results = run_study(runs, workers, scheduler, out, progress, executor, memory)
    frame = tidy(results)
    return Comparison(
        runs=frame,
        table=confidence_table(frame),
        monthly=monthly_frame(results),
        differences=paired_differences(frame, reference),
        segments={split: segment_frame(results, split) for split in SEGMENT_DIMENSIONS},
        reference=reference or (names[0] if names else None),
        order=tuple(names),
    )


def confidence_table(
    runs: pd.DataFrame,
    by: Sequence[str] = ("scenario",),
    level: float = 0.95,
    measures: Sequence[str] = STUDY_MEASURES,
) -> pd.DataFrame:
    """Mean, standard error and t-based confidence interval of each measure per group.

    Args:
        runs: One row per run (see :func:`crmsim.study.tidy`).
        by: Columns that define a group.
        level: Confidence level.
        measures: Columns to summarise (default: the study measures).

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
        for measure in measures:
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
    runs: pd.DataFrame,
    reference: str | None = None,
    level: float = 0.95,
    measures: Sequence[str] = STUDY_MEASURES,
) -> pd.DataFrame:
    """Differences of each scenario from the reference, paired by replication.

    With common random numbers, replication k of two scenarios met the same
    customers and luck, so the difference of each pair removes most of the
    noise. The unpaired (Welch) interval is reported beside it for contrast.

    Args:
        runs: One row per run (see :func:`crmsim.study.tidy`).
        reference: Scenario the others are compared with (default: the first).
        level: Confidence level.
        measures: Columns to compare (default: the study measures).

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
        for measure in measures:
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


def segment_comparison(
    segments: pd.DataFrame, split: str, reference: str | None = None, level: float = 0.95
) -> pd.DataFrame:
    """The table of :meth:`Comparison.by` from one split's rows of
    :func:`crmsim.study.segment_frame`.

    Args:
        segments: One row per run and segment (scenario, replication, seed, segment and
            the segment measures).
        split: The split the segments are of (orders them).
        reference: Scenario the others are compared with (default: the first).
        level: Confidence level.
    """
    names = [m.name for m in SEGMENT_MEASURES]
    columns = ["scenario", "segment", "measure", "mean", "ci_low", "ci_high"]
    if segments.empty:
        return pd.DataFrame(columns=[*columns, "standard_error", "replications", "note"])
    scenarios = list(dict.fromkeys(segments["scenario"]))
    reference = reference or scenarios[0]
    order = segment_order(split, list(segments["segment"]))
    # Every run has a row for every segment of the comparison: a segment a run lacks is
    # missing there (NaN), so notes count the runs it rests on.
    runs = segments[["scenario", "replication", "seed"]].drop_duplicates()
    full = runs.merge(pd.DataFrame({"segment": order}), how="cross").merge(
        segments, on=["scenario", "replication", "seed", "segment"], how="left"
    )
    table = confidence_table(full, ("scenario", "segment"), level, names)
    differences = []
    for segment in order:
        part = paired_differences(full[full["segment"] == segment], reference, level, names)
        if not part.empty:
            differences.append(part.assign(segment=segment))
    if differences:
        paired = pd.concat(differences, ignore_index=True)[
            ["scenario", "segment", "measure", "difference", "ci_low", "ci_high", "note"]
        ].rename(
            columns={
                "ci_low": "difference_ci_low",
                "ci_high": "difference_ci_high",
                "note": "difference_note",
            }
        )
        table = table.merge(paired, on=["scenario", "segment", "measure"], how="left")
        table["difference_note"] = table["difference_note"].fillna("")
    rank = {s: k for k, s in enumerate(order)}
    table = table.sort_values(
        ["scenario", "segment", "measure"],
        key=lambda column: column.map(
            {"scenario": {s: k for k, s in enumerate(scenarios)}, "segment": rank}.get(
                column.name, {m: k for k, m in enumerate(names)}
            )
        ),
        kind="stable",
    )
    return table.reset_index(drop=True)
