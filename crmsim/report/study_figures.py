"""Figures of a study: scenarios compared, paired differences, sweeps and sensitivity.

Every function takes the result of a study (a ``Comparison`` from
:func:`crmsim.study.compare`, a ``SweepResult`` from :func:`crmsim.study.sweep`,
the frame of :func:`crmsim.study.sensitivity`) and returns a
:class:`matplotlib.figure.Figure`. Any object with the same attributes
(``table``, ``monthly``, ``differences``, ``parameters``) will do.

The measures a figure can draw are the study measures of the registry
(``crmsim.measures.STUDY_MEASURES``); their titles, units and scales come
from the registry too, so a new study measure needs no change here. Which
measures a figure draws when none are named is a choice of the figure:
:data:`COMPARISON_MEASURES`, :data:`DIFFERENCE_MEASURES` and :data:`SWEEP_MEASURES`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter
from scipy import stats

from crmsim.measures import (
    SEGMENT_DIMENSIONS,
    SEGMENT_MEASURES,
    STUDY_MEASURES,
    run_measure,
    segment_measure,
)
from crmsim.report.style import (
    SCENARIO_COLORS,
    empty_panel,
    format_thousands,
    literal,
    new_figure,
    plain_label,
    pretty_name,
    setting_label,
    style_axes,
)
from crmsim.study.stats import mean_confidence_interval, paired_interval, welch_interval

if TYPE_CHECKING:
    from crmsim.study import Comparison, SweepResult

COMPARISON_MEASURES: tuple[str, ...] = (
    "mean_lifetime_clv",
    "value_of_customer_base",
    "customer_equity",
    "retention_rate",
    "active_customers",
)
"""Measures in the top row of :func:`plot_comparison` by default."""

DIFFERENCE_MEASURES: tuple[str, ...] = (
    "mean_lifetime_clv",
    "value_of_customer_base",
    "retention_rate",
    "active_customers",
)
"""Measures drawn by :func:`plot_paired_differences` by default."""

SWEEP_MEASURES: tuple[str, ...] = DIFFERENCE_MEASURES
"""Measures drawn by :func:`plot_sweep` by default: those of the paired differences, so a
sweep reads like a comparison."""


def scenario_colors(comparison: object, scenarios: Sequence[str]) -> dict[str, str]:
    """The colour of each scenario: its place in the study it comes from, in the palette.

    A comparison knows the order of the whole study it was run as (``scenario_order()``,
    kept by ``Comparison.subset``), so an option has the same colour in a figure of the
    whole study and in a figure of a subset of it. An object without that order colours
    the scenarios in the order given.

    Args:
        comparison: A :class:`crmsim.study.Comparison`, or any object like it.
        scenarios: The scenarios the figure draws.

    Returns:
        A colour (``crmsim.report.style.SCENARIO_COLORS``, repeating after the last) for
        each scenario.
    """
    order = getattr(comparison, "scenario_order", None)
    known = list(order()) if callable(order) else []
    places = known + [name for name in scenarios if name not in known]
    return {name: SCENARIO_COLORS[places.index(name) % len(SCENARIO_COLORS)] for name in scenarios}


def _check_measures(measures: Sequence[str]) -> None:
    # A study keeps only its study measures for every run, so only those can be drawn.
    unknown = [m for m in measures if m not in STUDY_MEASURES]
    if unknown:
        raise ValueError(
            f"unknown measure(s) {', '.join(unknown)}; allowed: {', '.join(STUDY_MEASURES)}"
        )


def _axis(measure: str) -> tuple[str, str, float]:
    """Title, unit and scale (stored value to shown unit) of a measure, from the registry."""
    shown = run_measure(measure)
    return shown.label, shown.unit, shown.scale


def _grid(count: int, width: float = 5.2, height: float = 3.6) -> tuple[Figure, list[Axes]]:
    """A figure with ``count`` panels, two per row."""
    ncols = 1 if count == 1 else 2
    nrows = (count + ncols - 1) // ncols
    fig, axes = new_figure(nrows, ncols, figsize=(width * ncols, height * nrows))
    axes = list(np.atleast_1d(axes).ravel())
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes[:count]


def _empty(message: str, title: str) -> Figure:
    fig, ax = new_figure(figsize=(7, 2.5))
    empty_panel(ax, message)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.suptitle(title, fontweight="bold")
    return fig


_NO_INTERVAL = "no confidence interval: it needs at least 2"
"""Said in a figure's title when every group has a single replication."""


def _runs_text(replications: int, what: str = "runs") -> str:
    """``"10 runs"``, or ``"1 run"``: how many replications a mean is over."""
    return f"{replications} {what if replications != 1 else what.removesuffix('s')}"


_UNDEFINED = "Undefined in every run\n(see the note column of the table)."
"""Said in a panel whose measure is NaN in every run (no customers, say)."""


def _band(frame: pd.DataFrame, band: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and band across replications (columns) for each month (rows)."""
    values = frame.to_numpy(dtype=float)
    mean = values.mean(axis=1)
    n = values.shape[1]
    if band == "runs":
        low, high = np.percentile(values, [2.5, 97.5], axis=1)
    elif n < 2:
        low = high = mean
    else:
        half = stats.t.ppf(0.975, n - 1) * values.std(axis=1, ddof=1) / np.sqrt(n)
        low, high = mean - half, mean + half
    return mean, low, high


RETENTION_AXIS_POINTS = 2.0
"""Percentage points a retention panel spans at least (:func:`plot_comparison`)."""


def _draw_retention(
    ax: Axes,
    positions: np.ndarray,
    mean: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    colors: Sequence[str],
) -> None:
    """Retention rates (%) as dots with their intervals, on an axis that shows gaps true to size.

    Retention sits near 100%: bars from zero hide every difference, and bars on an axis
    cut just below the lowest rate blow a gap of a tenth of a point up to half the panel.
    Dots need no zero, and an axis at least :data:`RETENTION_AXIS_POINTS` percentage points
    tall keeps a small gap small.
    """
    for x, m, lo, hi, color in zip(positions, mean, low, high, colors, strict=True):
        if not np.isfinite(m):
            continue
        below, above = np.nan_to_num(m - lo), np.nan_to_num(hi - m)
        ax.errorbar(
            x,
            m,
            yerr=[[below], [above]],
            fmt="o",
            color=color,
            markersize=8,
            capsize=5,
            ecolor="#222222",
            linewidth=1.2,
        )
    values = np.concatenate([low, high, mean])
    values = values[np.isfinite(values)]
    middle = (values.max() + values.min()) / 2
    half = max(0.6 * (values.max() - values.min()), RETENTION_AXIS_POINTS / 2)
    top = min(100.0, middle + half)
    ax.set_ylim(max(0.0, top - 2 * half), top)
    ax.set_xlim(positions.min() - 0.6, positions.max() + 0.6)


def plot_comparison(
    comparison: Comparison, band: str = "ci", measures: Sequence[str] | None = None
) -> Figure:
    """Scenarios side by side: headline measures with 95% CIs, and active customers over time.

    Top row: one bar chart per measure (mean over replications, error bars the
    95% confidence interval of the mean); the retention rate as dots on an axis at
    least :data:`RETENTION_AXIS_POINTS` percentage points tall, since bars of a rate
    near 100% either hide its differences or, on a cut axis, exaggerate them. Bottom:
    active customers each month, the mean over replications with a band per scenario.

    Args:
        comparison: Result of :func:`crmsim.study.compare`.
        band: ``"ci"``: the 95% confidence interval of the monthly mean (Student
            t); ``"runs"``: the middle 95% of the runs (2.5-97.5 percentiles).
        measures: Measures in the top row, study measures of the registry
            (default: :data:`COMPARISON_MEASURES`).

    Returns:
        The figure.
    """
    if band not in ("ci", "runs"):
        raise ValueError(f"band must be 'ci' or 'runs'; got {band!r}")
    measures = list(measures or COMPARISON_MEASURES)
    _check_measures(measures)
    table = comparison.table
    scenarios = list(dict.fromkeys(table["scenario"]))
    colors = scenario_colors(comparison, scenarios)
    replications = int(table["replications"].max()) if len(table) else 0

    fig = plt.figure(figsize=(max(12.0, 3.2 * len(measures)), 8.5), layout="constrained")
    grid = fig.add_gridspec(2, len(measures), height_ratios=[1, 1.15])
    positions = np.arange(len(scenarios))
    for k, measure in enumerate(measures):
        ax = fig.add_subplot(grid[0, k])
        style_axes(ax)
        name, unit, scale = _axis(measure)
        rows = table[table["measure"] == measure].set_index("scenario").reindex(scenarios)
        mean = rows["mean"].to_numpy(dtype=float) * scale
        low = rows["ci_low"].to_numpy(dtype=float) * scale
        high = rows["ci_high"].to_numpy(dtype=float) * scale
        error = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("Scenario")
        ax.set_ylabel(unit)
        if not np.isfinite(mean).any():
            empty_panel(ax, _UNDEFINED)
            continue
        ax.set_xticks(positions, [pretty_name(s) for s in scenarios], rotation=20, ha="right")
        ax.yaxis.set_major_formatter(FuncFormatter(format_thousands))
        ax.grid(False, axis="x")
        if measure == "retention_rate":
            _draw_retention(ax, positions, mean, low, high, [colors[s] for s in scenarios])
            ax.set_ylabel(unit + " (axis not from 0)")
            continue
        ax.bar(positions, mean, color=[colors[s] for s in scenarios], alpha=0.85)
        ax.errorbar(
            positions, mean, yerr=error, fmt="none", ecolor="#222222", capsize=5, linewidth=1.2
        )

    ax = fig.add_subplot(grid[1, :])
    style_axes(ax)
    monthly = comparison.monthly
    for scenario in scenarios:
        runs = monthly[monthly["scenario"] == scenario].pivot_table(
            index="month", columns="replication", values="active"
        )
        mean, low, high = _band(runs, band)
        ax.plot(runs.index, mean, color=colors[scenario], linewidth=2, label=pretty_name(scenario))
        ax.fill_between(runs.index, low, high, color=colors[scenario], alpha=0.2, linewidth=0)
    band_text = (
        "band: 95% confidence interval of the mean"
        if band == "ci"
        else "band: middle 95% of the runs"
    )
    if replications == 1:
        ax.set_title("Active customers each month (one run per scenario: no band)")
    else:
        ax.set_title(
            f"Active customers each month (line: mean of {replications} runs; {band_text})"
        )
    ax.set_xlabel("Month")
    ax.set_ylabel("Active customers")
    ax.yaxis.set_major_formatter(FuncFormatter(format_thousands))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title="Scenario")
    bars = "error bars: 95% CI of the mean" if replications != 1 else _NO_INTERVAL
    fig.suptitle(
        f"Scenarios compared over {_runs_text(replications, 'replications')} ({bars})",
        fontsize=14,
        fontweight="bold",
    )
    return fig


def plot_paired_differences(
    comparison: Comparison, measures: Sequence[str] | None = None
) -> Figure:
    """Each scenario's difference from the reference scenario, paired by replication.

    With common random numbers, replication k of every scenario meets the same
    customers and the same luck, so the paired confidence interval (thick bar)
    is much narrower than the interval that treats the runs as independent
    (thin bar): a difference is clear when the thick bar does not cross zero.

    Args:
        comparison: Result of :func:`crmsim.study.compare` (its ``differences``).
        measures: Measures to draw, study measures of the registry (default:
            :data:`DIFFERENCE_MEASURES`).

    Returns:
        The figure, one panel per measure.
    """
    measures = list(measures or DIFFERENCE_MEASURES)
    _check_measures(measures)
    differences = getattr(comparison, "differences", None)
    title = "Paired differences from the reference scenario"
    if differences is None or differences.empty:
        return _empty("Only one scenario: there is no difference to show.", title)
    reference = str(differences["reference"].iloc[0])
    scenarios = list(dict.fromkeys(differences["scenario"]))
    colors = scenario_colors(comparison, [reference, *scenarios])
    positions = np.arange(len(scenarios))[::-1]
    fig, axes = _grid(len(measures), width=6.0, height=0.9 + 0.55 * len(scenarios) + 1.2)
    for ax, measure in zip(axes, measures, strict=True):
        name, unit, scale = _axis(measure)
        rows = differences[differences["measure"] == measure].set_index("scenario")
        rows = rows.reindex(scenarios)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("Scenario")
        unit_text = "percentage points" if scale == 100.0 else unit
        ax.set_xlabel(f"Difference from {pretty_name(reference)} ({unit_text})")
        if not np.isfinite(rows["difference"].to_numpy(float)).any():
            empty_panel(ax, _UNDEFINED)
            continue
        for y, scenario in zip(positions, scenarios, strict=True):
            row = rows.loc[scenario]
            color = colors[scenario]
            ax.plot(
                [row["unpaired_ci_low"] * scale, row["unpaired_ci_high"] * scale],
                [y, y],
                color=color,
                alpha=0.35,
                linewidth=1.5,
                label="unpaired 95% CI" if y == positions[0] else None,
            )
            ax.plot(
                [row["ci_low"] * scale, row["ci_high"] * scale],
                [y, y],
                color=color,
                linewidth=5,
                solid_capstyle="butt",
                label="paired 95% CI" if y == positions[0] else None,
            )
            ax.plot(
                row["difference"] * scale,
                y,
                "o",
                color="white",
                markeredgecolor=color,
                markersize=6,
            )
        ax.axvline(0, color="#333333", linewidth=1)
        ax.set_yticks(positions, [pretty_name(s) for s in scenarios])
        ax.set_ylim(positions.min() - 0.7, positions.max() + 0.7)
        ax.xaxis.set_major_formatter(FuncFormatter(format_thousands))
        ax.grid(False, axis="y")
    replications = int(differences["replications"].max())
    if replications > 1:
        # The interval lines are drawn only where there are intervals to name.
        for ax in axes:
            if ax.lines:
                ax.legend(loc="best", frameon=False, fontsize=8)
                break
    fig.suptitle(
        f"{title} ({pretty_name(reference)}), "
        f"{_runs_text(replications, 'paired replications')}"
        + (f" ({_NO_INTERVAL})" if replications == 1 else ""),
        fontweight="bold",
    )
    return fig


def plot_sweep(result: SweepResult, measures: Sequence[str] | None = None) -> Figure:
    """Measures against the swept parameter: mean over replications with 95% CIs.

    The first swept parameter is on the x axis; each scenario (and each value
    of any further swept parameter) is a line of its own.

    Args:
        result: A :class:`crmsim.study.SweepResult` (``table`` and ``parameters``).
        measures: Measures to draw, study measures of the registry (default:
            :data:`SWEEP_MEASURES`).

    Returns:
        The figure, one panel per measure.
    """
    measures = list(measures or SWEEP_MEASURES)
    _check_measures(measures)
    table = result.table
    parameters = list(result.parameters)
    if table.empty:
        return _empty("The sweep has no finished runs.", "Sweep")
    x_name = parameters[0] if parameters else "scenario"
    others = ["scenario", *parameters[1:]]
    groups = list(table.groupby(others, sort=False)) if parameters else [("all", table)]
    fig, axes = _grid(len(measures))
    categorical = not parameters or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in table[x_name]
    )
    for ax, measure in zip(axes, measures, strict=True):
        name, unit, scale = _axis(measure)
        for k, (key, group) in enumerate(groups):
            rows = group[group["measure"] == measure]
            x_values = rows[x_name].tolist()
            x = np.arange(len(x_values)) if categorical else np.asarray(x_values, float)
            mean = rows["mean"].to_numpy(float) * scale
            low = rows["ci_low"].to_numpy(float) * scale
            high = rows["ci_high"].to_numpy(float) * scale
            error = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
            label = ", ".join(
                pretty_name(v) if c == "scenario" else literal(f"{c.split('.')[-1]}={v}")
                for c, v in zip(others, key if isinstance(key, tuple) else (key,), strict=False)
            )
            ax.errorbar(
                x,
                mean,
                yerr=error,
                marker="o",
                capsize=4,
                linewidth=1.8,
                color=SCENARIO_COLORS[k % len(SCENARIO_COLORS)],
                label=label,
            )
            if categorical:
                ax.set_xticks(x, [pretty_name(v) for v in x_values], rotation=20, ha="right")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(setting_label(x_name) if parameters else "Scenario")
        ax.set_ylabel(unit)
        ax.yaxis.set_major_formatter(FuncFormatter(format_thousands))
    if len(groups) > 1 or parameters:
        axes[0].legend(loc="best", frameon=False, fontsize=8)
    replications = int(table["replications"].max())
    swept = literal(", ".join(map(plain_label, parameters))) if parameters else "scenarios"
    bars = "error bars: 95% CI" if replications != 1 else _NO_INTERVAL
    fig.suptitle(
        f"Sweep of {swept}: mean of {_runs_text(replications)} per point ({bars})",
        fontweight="bold",
    )
    return fig


def plot_steps(
    comparison: Comparison,
    values: Mapping[str, float],
    setting: str,
    measure: str = "value_of_customer_base",
) -> Figure:
    """One setting stepped up through scenarios of a study: the measure at each value, and
    what each step adds, paired.

    Left: the mean of ``measure`` in each scenario, at its value of the setting, with the
    95% confidence interval of the mean. Right: what each step up adds, the difference
    between each scenario and the one with the next lower value, paired by replication
    (common random numbers): the thick bar is its paired 95% interval, the thin bar the
    interval the runs would give without pairing. Steps that add less and less are
    diminishing returns.

    Args:
        comparison: A study that ran the scenarios (:func:`crmsim.study.compare`).
        values: Each scenario's value of the setting, e.g. ``{"budget 0": 0, "baseline":
            400, "budget 800": 800}``.
        setting: The setting in plain words, with its unit (the x axis).
        measure: A study measure of the registry.

    Returns:
        The figure, two panels.

    Raises:
        ValueError: Fewer than two scenarios, a scenario the study did not run, or an
            unknown measure (the message lists what is allowed).
    """
    _check_measures([measure])
    runs = comparison.runs.pivot(index="replication", columns="scenario", values=measure)
    unknown = [name for name in values if name not in runs.columns]
    if unknown or len(values) < 2:
        raise ValueError(
            f"give at least two scenarios of the study with their values; not in the study: "
            f"{unknown}; it ran {list(runs.columns)}"
        )
    name, unit, scale = _axis(measure)
    lowered = setting[:1].lower() + setting[1:]
    ordered = sorted(values, key=lambda scenario: values[scenario])
    colors = scenario_colors(comparison, ordered)
    fig, (left, right) = new_figure(1, 2, figsize=(12.5, 4.4))
    x = np.array([values[scenario] for scenario in ordered], float)
    means = []
    for position, scenario in zip(x, ordered, strict=True):
        low, mean, high, _ = mean_confidence_interval(runs[scenario].to_numpy(float) * scale)
        means.append(mean)
        left.errorbar(
            position,
            mean,
            yerr=[[np.nan_to_num(mean - low)], [np.nan_to_num(high - mean)]],
            fmt="o",
            color=colors[scenario],
            markersize=8,
            capsize=5,
            ecolor="#222222",
            label=pretty_name(scenario),
        )
    left.plot(x, means, color="#969696", linewidth=1, zorder=0)
    left.set(title=f"{name} at each value", xlabel=literal(setting), ylabel=unit)
    left.yaxis.set_major_formatter(FuncFormatter(format_thousands))
    left.legend(frameon=False, fontsize=8, loc="best")
    steps = list(itertools.pairwise(ordered))
    positions = np.arange(len(steps))
    for position, (lower, upper) in zip(positions, steps, strict=True):
        a, b = runs[upper].to_numpy(float) * scale, runs[lower].to_numpy(float) * scale
        low, mean, high, _ = paired_interval(a, b)
        loose_low, loose_high = welch_interval(a, b)
        color = colors[upper]
        right.plot(
            [position, position],
            [loose_low, loose_high],
            color=color,
            alpha=0.35,
            linewidth=1.5,
            label="unpaired 95% CI" if position == 0 else None,
        )
        right.plot(
            [position, position],
            [low, high],
            color=color,
            linewidth=6,
            solid_capstyle="butt",
            label="paired 95% CI" if position == 0 else None,
        )
        right.plot(position, mean, "o", color="white", markeredgecolor=color, markersize=7)
    right.axhline(0, color="#333333", linewidth=1)
    right.set_xticks(
        positions, [f"{values[lower]:g} to {values[upper]:g}" for lower, upper in steps]
    )
    right.set_xlim(-0.6, len(steps) - 0.4)
    unit_text = "percentage points" if scale == 100.0 else unit
    right.set(
        title="What each step up adds (paired)",
        xlabel=literal(f"Step of the {lowered}"),
        ylabel=f"Change in {name[:1].lower() + name[1:]} ({unit_text})",
    )
    right.yaxis.set_major_formatter(FuncFormatter(format_thousands))
    right.legend(frameon=False, fontsize=8, loc="best")
    right.grid(False, axis="x")
    replications = len(runs)
    bars = _NO_INTERVAL if replications == 1 else "bars: 95% CI"
    fig.suptitle(
        f"{name} as the {literal(lowered.split(' (')[0])} steps up "
        f"({_runs_text(replications, 'paired replications')}; "
        f"{bars})",
        fontweight="bold",
    )
    return fig


def plot_tornado(frame: pd.DataFrame) -> Figure:
    """Elasticities of customer value to its levers, largest first, with 95% CIs.

    Args:
        frame: Output of :func:`crmsim.study.sensitivity`: one row per lever
            with ``label``, ``elasticity``, ``ci_low``, ``ci_high`` and ``measure``.

    Returns:
        The figure.
    """
    if frame.empty:
        return _empty("No levers were measured.", "Sensitivity")
    ordered = frame.assign(size=frame["elasticity"].abs()).sort_values("size", na_position="first")
    positions = np.arange(len(ordered))
    fig, ax = new_figure(figsize=(8, 1.2 + 0.7 * len(ordered)))
    mean = ordered["elasticity"].to_numpy(float)
    error = np.vstack(
        [
            np.nan_to_num(mean - ordered["ci_low"].to_numpy(float)),
            np.nan_to_num(ordered["ci_high"].to_numpy(float) - mean),
        ]
    )
    colors = ["#2171b5" if m >= 0 else "#d62728" for m in mean]
    ax.barh(positions, mean, color=colors, alpha=0.85)
    ax.errorbar(mean, positions, xerr=error, fmt="none", ecolor="#222222", capsize=4)
    ends = np.nan_to_num(np.where(mean >= 0, mean + error[1], mean - error[0]))
    for y, value, end in zip(positions, mean, ends, strict=True):
        ax.annotate(
            f" {value:.2f} " if np.isfinite(value) else " undefined (NaN) ",
            (end, y),
            va="center",
            fontsize=8,
            ha="right" if value < 0 else "left",
        )
    ax.axvline(0, color="#333333", linewidth=1)
    ax.set_yticks(positions, [literal(label) for label in ordered["label"]])
    ax.set_ylabel("Lever")
    measure = str(frame["measure"].iloc[0]) if "measure" in frame else "customer value"
    try:
        name = run_measure(measure).label
    except KeyError:
        name = pretty_name(measure)
    lowered = name[:1].lower() + name[1:]
    single = "replications" in frame and int(frame["replications"].max()) == 1
    bars = "one run per lever: no CI" if single else "error bars: 95% CI"
    ax.set_xlabel(f"% change of the {lowered} per 1% of lever (elasticity)")
    ax.set_title(f"What moves the {lowered} most ({bars})")
    ax.grid(False, axis="y")
    return fig


def plot_sweep_heatmap(result: SweepResult, measure: str = "customer_equity") -> Figure:
    """A two-parameter sweep as a heat map of one measure's mean, per scenario.

    Args:
        result: A :class:`crmsim.study.SweepResult` with exactly two swept parameters.
        measure: The study measure to colour by (``crmsim.measures.STUDY_MEASURES``).

    Returns:
        The figure: one heat map per scenario, cells annotated with the mean and, below
        it, the half-width of its 95% confidence interval.
    """
    _check_measures([measure])
    parameters = list(result.parameters)
    if len(parameters) != 2:
        raise ValueError(
            f"a heat map needs exactly two swept parameters; this sweep has {len(parameters)}"
        )
    name, unit, scale = _axis(measure)
    table = result.table[result.table["measure"] == measure]
    if table.empty:
        return _empty("The sweep has no finished runs.", "Sweep")
    scenarios = list(dict.fromkeys(table["scenario"]))
    fig, axes = new_figure(
        1, len(scenarios), figsize=(max(7.5, 5.6 * len(scenarios)), 4.8), squeeze=False
    )
    row_name, col_name = parameters
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        part = table[table["scenario"] == scenario]
        means = part.pivot(index=row_name, columns=col_name, values="mean") * scale
        half = (part.assign(h=(part["ci_high"] - part["ci_low"]) / 2 * scale)).pivot(
            index=row_name, columns=col_name, values="h"
        )
        values = means.to_numpy(float)
        image = ax.imshow(values, cmap="viridis", aspect="auto", origin="lower")
        ax.set_xticks(range(means.shape[1]), [_tick(v) for v in means.columns])
        ax.set_yticks(range(means.shape[0]), [_tick(v) for v in means.index])
        ax.set_xlabel(setting_label(col_name))
        ax.set_ylabel(setting_label(row_name))
        ax.set_title(pretty_name(scenario))
        ax.grid(False)
        finite = values[np.isfinite(values)]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        for i in range(means.shape[0]):
            for j in range(means.shape[1]):
                value, spread = means.iat[i, j], half.iat[i, j]
                bright = high > low and (value - low) / (high - low) > 0.6
                text = format_thousands(value) if np.isfinite(value) else "undefined"
                if np.isfinite(spread):
                    text += f"\n±{format_thousands(spread)}"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="black" if bright else "white" if np.isfinite(value) else "#555555",
                )
        colorbar = fig.colorbar(image, ax=ax, shrink=0.85)
        colorbar.set_label(f"{name} ({unit})")
    single = int(table["replications"].max()) == 1
    what = "one run per cell (no CI)" if single else "mean ± 95% CI"
    fig.suptitle(f"{name}: {what} over the sweep", fontweight="bold")
    return fig


def _tick(value: object) -> str:
    """A swept value as a tick label: numbers short (``0.05``), anything else as written."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return literal(value)


__all__ = [
    "scenario_colors",
    "COMPARISON_MEASURES",
    "DIFFERENCE_MEASURES",
    "SWEEP_MEASURES",
    "plot_comparison",
    "plot_flag_tradeoff",
    "plot_paired_differences",
    "plot_steps",
    "plot_sweep",
    "plot_sweep_heatmap",
    "plot_tornado",
]


SEGMENT_FIGURE_MEASURE = "mean_lifetime_clv"
"""The segment measure :func:`plot_segment_comparison` draws by default."""


def plot_segment_comparison(
    comparison: Comparison, split: str, measure: str = SEGMENT_FIGURE_MEASURE
) -> Figure:
    """One segment measure per segment and scenario, and each scenario's paired difference
    from the reference within every segment.

    The left panel shows each scenario's mean over replications with its 95%
    confidence interval, segment by segment (acquisition channel, cohort, rung or
    programme membership); the right panel the difference from the reference
    scenario in the same segment, paired by replication (common random numbers),
    so a strategy that helps one segment and hurts another shows it.

    Args:
        comparison: Result of :func:`crmsim.study.compare` (its ``by(split)``).
        split: ``"channel"``, ``"cohort"``, ``"rung"`` or ``"member"``
            (``crmsim.measures.SEGMENT_DIMENSIONS``).
        measure: A segment measure of the registry (``crmsim.measures.SEGMENT_MEASURES``).

    Returns:
        The figure.

    Raises:
        ValueError: ``measure`` is not a segment measure (the message lists them).
        crmsim.study.StudyError: ``split`` is not a split (the message lists them).
    """
    names = [m.name for m in SEGMENT_MEASURES]
    if measure not in names:
        raise ValueError(f"unknown segment measure {measure!r}; allowed: {', '.join(names)}")
    shown = segment_measure(measure)
    frame = comparison.by(split)
    frame = frame[frame["measure"] == measure]
    dimension = SEGMENT_DIMENSIONS[split].split(" (")[0]
    title = f"{shown.label} by {dimension.lower()}"
    if frame.empty or not np.isfinite(frame["mean"].to_numpy(float)).any():
        return _empty("No customers in any segment: nothing to show.", title)
    scenarios = list(dict.fromkeys(frame["scenario"]))
    segments = list(dict.fromkeys(frame["segment"]))
    colors = scenario_colors(comparison, scenarios)
    reference = str(getattr(comparison, "reference", None) or scenarios[0])
    others = [s for s in scenarios if s != reference] if "difference" in frame else []
    panels = 2 if others else 1
    height = 1.2 + 0.45 * len(segments) * max(1, len(scenarios)) ** 0.5
    fig, axes = new_figure(1, panels, figsize=(max(6.0 * panels, 9.0), height + 1.0))
    axes = list(np.atleast_1d(axes).ravel())
    positions = np.arange(len(segments))[::-1]
    offset = 0.7 / max(1, len(scenarios))
    scale = shown.scale

    def draw(ax: Axes, column: str, low: str, high: str, drawn: list[str]) -> None:
        for scenario in drawn:
            k = scenarios.index(scenario)  # the same place in both panels
            rows = frame[frame["scenario"] == scenario].set_index("segment").reindex(segments)
            y = positions + 0.35 - offset * (k + 0.5)
            value = rows[column].to_numpy(float) * scale
            ax.hlines(
                y,
                rows[low].to_numpy(float) * scale,
                rows[high].to_numpy(float) * scale,
                color=colors[scenario],
                linewidth=4,
                alpha=0.6,
            )
            ax.plot(value, y, "o", color=colors[scenario], label=pretty_name(scenario))
        ax.set_yticks(positions, [pretty_name(str(s)) for s in segments])
        ax.set_ylabel(dimension)
        ax.xaxis.set_major_formatter(FuncFormatter(format_thousands))
        ax.grid(False, axis="y")
        ax.legend(loc="best", frameon=False, fontsize=8)

    draw(axes[0], "mean", "ci_low", "ci_high", scenarios)
    axes[0].set_title("Mean with 95% confidence interval", fontsize=10)
    axes[0].set_xlabel(f"{shown.label} ({shown.unit})")
    if others:
        draw(axes[1], "difference", "difference_ci_low", "difference_ci_high", others)
        axes[1].axvline(0, color="#333333", linewidth=1)
        axes[1].set_title(f"Paired difference from {pretty_name(reference)} (95% CI)", fontsize=10)
        unit = "percentage points" if scale == 100.0 else shown.unit
        axes[1].set_xlabel(f"Difference ({unit})")
    replications = int(frame["replications"].max())
    fig.suptitle(
        f"{title}, {_runs_text(replications)} per scenario"
        + (f" ({_NO_INTERVAL})" if replications == 1 else ""),
        fontweight="bold",
    )
    return fig


def plot_flag_tradeoff(tradeoff: pd.DataFrame) -> Figure:
    """Precision and recall of a churn flag against the share of customers flagged.

    Left: precision (the share of flagged customers who left that month) beside the
    churn rate, which is what a flag drawn at random would achieve. Right: recall (the
    share of the customers who left that had been flagged) beside the share flagged,
    which is what a random flag would recall.

    Args:
        tradeoff: The frame of :func:`crmsim.study.flags.flag_tradeoff` (columns
            ``flag_share``, ``precision``, ``recall``, ``churn_rate``; shares 0..1).

    Returns:
        The figure (two panels); panels that say why when no share has a defined
        precision or recall.
    """
    fig, (left, right) = new_figure(1, 2, figsize=(12, 4.3))
    left.set_title("Precision: of the customers flagged, who left")
    right.set_title("Recall: of the customers who left, who was flagged")
    left.set_ylabel("Flagged customers who left that month (%)")
    right.set_ylabel("Customers who left who had been flagged (%)")
    frame = tradeoff.sort_values("flag_share")
    x = frame["flag_share"].to_numpy(dtype=float) * 100
    for ax in (left, right):
        ax.set_xlabel("Share of active customers flagged each month (%)")
    if not np.isfinite(frame[["precision", "recall"]].to_numpy(dtype=float)).any():
        for ax in (left, right):
            empty_panel(
                ax, "Nobody was flagged or nobody left in the holdout:\nno precision or recall."
            )
        return fig
    flag = {"color": "#2171b5", "marker": "o", "linewidth": 2}
    chance = {"color": "#737373", "linestyle": ":", "linewidth": 1.5}
    left.plot(x, frame["precision"].to_numpy(dtype=float) * 100, label="the firm's flag", **flag)
    left.plot(
        x,
        frame["churn_rate"].to_numpy(dtype=float) * 100,
        label="a random flag (the churn rate)",
        **chance,
    )
    right.plot(x, frame["recall"].to_numpy(dtype=float) * 100, label="the firm's flag", **flag)
    right.plot(x, x, label="a random flag (the share flagged)", **chance)
    for ax in (left, right):
        ax.set_xlim(0, float(np.nanmax(x)) * 1.05 if x.size else 100.0)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=1 if ax is left else 0))
        ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.legend(loc="upper left" if ax is right else "lower left", frameon=False, fontsize=8)
    return fig
