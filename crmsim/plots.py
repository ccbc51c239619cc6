"""Figures of a run and of a comparison, for lessons, reports and the command line.

Every function takes the results of a run (the monthly series of
``CRMModel.monthly_series()``, the realised CLV of each customer, one
``Customer``, a ``Comparison``) and returns a :class:`matplotlib.figure.Figure`
with a title, labelled axes (with units) and a legend. Nothing is shown: in a
notebook end the cell with ``plt.show()``; in a script save the figure with
``fig.savefig(...)`` and close it with ``plt.close(fig)``.

Colours are fixed across figures: a stage of the lifecycle, a rung of the
ladder, a defection reason or a scenario always has the same colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter
from scipy import stats

from crmsim.vocabulary import DEFECTION_REASONS, STAGES, TIERS

if TYPE_CHECKING:
    from crmsim.engine.customers import Customer
    from crmsim.experiment import Comparison

STAGE_COLORS: dict[str, str] = {
    "suspect": "#cfcfcf",
    "prospect": "#9ecae1",
    "active": "#2171b5",
    "defected": "#e6735c",
}
TIER_COLORS: dict[str, str] = {
    "shopper": "#d9f0d3",
    "customer": "#a6dba0",
    "member": "#5aae61",
    "advocate": "#1b7837",
    "raving_fan": "#00441b",
}
REASON_COLORS: dict[str, str] = {
    "price": "#e6550d",
    "product": "#fdae6b",
    "service": "#756bb1",
    "market": "#969696",
    "technological": "#3182bd",
    "organisational": "#636363",
    "fired": "#252525",
}
SCENARIO_COLORS: tuple[str, ...] = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)

MEASURE_AXES: dict[str, tuple[str, str, float]] = {
    "mean_clv": ("Mean realised CLV", "currency per customer", 1.0),
    "customer_equity": ("Customer equity at the end", "currency", 1.0),
    "retention_rate": ("Retention rate", "% of customers per month", 100.0),
    "churn_rate": ("Churn rate", "% of customers per month", 100.0),
    "active_customers": ("Active customers at the end", "customers", 1.0),
    "total_profit_pv": ("Discounted profit of the run", "currency", 1.0),
    "value_of_customer_base": ("Value of the customer base", "currency", 1.0),
    "pareto_share_top20": ("Profit share of the top 20%", "% of total profit", 100.0),
}
"""How each measure of a study is drawn: title, axis label (unit) and scale."""

COMPARISON_MEASURES: tuple[str, ...] = (
    "mean_clv",
    "customer_equity",
    "retention_rate",
    "churn_rate",
    "active_customers",
)
"""Measures in the top row of :func:`plot_comparison` by default."""

STUDY_MEASURES: tuple[str, ...] = (
    "value_of_customer_base",
    "mean_clv",
    "retention_rate",
    "active_customers",
)
"""Measures drawn by :func:`plot_paired_differences` and :func:`plot_sweep` by default."""


def _pretty(name: str) -> str:
    """A column or code name for people: ``raving_fan`` -> ``raving fan``."""
    return name.replace("_", " ")


def _style(ax: Axes) -> None:
    """The common look: no top/right frame, a light grid behind the data."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


def _figure(
    nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (8.0, 4.5), **kwargs: Any
) -> tuple[Figure, Any]:
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", **kwargs)
    for ax in np.atleast_1d(axes).ravel():
        _style(ax)
    return fig, axes


def _thousands(value: float, _position: Any = None) -> str:
    """Axis labels such as 750, 2.5k, 12k or 1.5M."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.4g}M"
    if size >= 1e3:
        return f"{value / 1e3:.4g}k"
    return f"{value:.4g}"


def _months(series: pd.DataFrame) -> np.ndarray:
    if "month" in series.columns:
        return series["month"].to_numpy()
    return np.arange(len(series))


def _require(series: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in series.columns]
    if missing:
        raise ValueError(
            f"{what} needs the monthly series of a run (CRMModel.monthly_series()); "
            f"missing columns: {', '.join(missing)}"
        )


# ---------------------------------------------------------------- panels
def _stacked_area(
    ax: Axes,
    series: pd.DataFrame,
    columns: list[str],
    labels: list[str],
    colors: list[str],
    title: str,
    ylabel: str,
    legend_title: str,
    alpha: float = 1.0,
) -> None:
    """Counts stacked over months, the legend in the order of the stack (top first)."""
    months = _months(series)
    ax.stackplot(
        months,
        [series[c].to_numpy() for c in columns],
        labels=labels,
        colors=colors,
        alpha=alpha,
        linewidth=0,
    )
    ax.set_xlim(months.min(), months.max())
    ax.set_title(title)
    ax.set_xlabel("Month")
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    handles, legend_labels = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],
        legend_labels[::-1],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        title=legend_title,
    )


def _draw_lifecycle(ax: Axes, series: pd.DataFrame) -> None:
    _require(series, STAGES, "plot_lifecycle")
    _stacked_area(
        ax,
        series,
        list(STAGES),
        [_pretty(s) for s in STAGES],
        [STAGE_COLORS[s] for s in STAGES],
        "The market by stage of the relationship",
        "People",
        "Stage",
        alpha=0.95,
    )


def _draw_ladder(ax: Axes, series: pd.DataFrame) -> None:
    columns = [f"tier_{t}" for t in TIERS]
    _require(series, columns, "plot_ladder")
    _stacked_area(
        ax,
        series,
        columns,
        [_pretty(t) for t in TIERS],
        [TIER_COLORS[t] for t in TIERS],
        "Active customers on each rung of the loyalty ladder",
        "Active customers",
        "Rung",
    )


def _reasons_present(series: pd.DataFrame) -> list[str]:
    """The defection reasons to draw: all course reasons, plus 'fired' if anyone was."""
    reasons = [r for r in DEFECTION_REASONS if f"defections_{r}" in series.columns]
    if "defections_fired" in series.columns and series["defections_fired"].sum() > 0:
        reasons.append("fired")
    return reasons


def _draw_defections_over_time(
    ax: Axes, series: pd.DataFrame, months_per_bar: int | None = None
) -> None:
    reasons = _reasons_present(series)
    _require(
        series,
        [f"defections_{r}" for r in reasons] or ["defections_price"],
        "plot_defections_by_reason",
    )
    months = _months(series)
    if months_per_bar is None:
        months_per_bar = 12 if len(months) > 36 else 1
    period = (months - months.min()) // months_per_bar
    counts = series[[f"defections_{r}" for r in reasons]].groupby(period).sum()
    starts = months.min() + counts.index.to_numpy() * months_per_bar
    bottom = np.zeros(len(counts))
    for reason in reasons:
        values = counts[f"defections_{reason}"].to_numpy(dtype=float)
        ax.bar(
            starts,
            values,
            width=months_per_bar * 0.9,
            bottom=bottom,
            align="edge",
            color=REASON_COLORS[reason],
            label=_pretty(reason),
            linewidth=0,
        )
        bottom += values
    if months_per_bar == 1:
        ax.set_title("Defections each month, by reason")
        ax.set_ylabel("Customers lost per month")
    else:
        ax.set_title(f"Defections per {months_per_bar} months, by reason")
        ax.set_ylabel(f"Customers lost per {months_per_bar} months")
    ax.set_xlabel("Month")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],
        labels[::-1],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        title="Reason",
    )


def _draw_defection_totals(ax: Axes, series: pd.DataFrame) -> None:
    reasons = _reasons_present(series)
    totals = np.array([series[f"defections_{r}"].sum() for r in reasons], dtype=float)
    positions = np.arange(len(reasons))[::-1]
    ax.barh(positions, totals, color=[REASON_COLORS[r] for r in reasons])
    grand = totals.sum()
    for y, total in zip(positions, totals, strict=True):
        share = total / grand if grand else 0.0
        ax.annotate(f" {total:,.0f} ({share:.0%})", (total, y), va="center", fontsize=8)
    ax.set_yticks(positions, [_pretty(r) for r in reasons])
    ax.set_xlim(0, max(grand, 1.0) * 0.01 + totals.max(initial=1.0) * 1.35)
    ax.set_title("All defections of the run")
    ax.set_xlabel("Customers lost (whole run)")
    ax.set_ylabel("Reason")
    ax.grid(False, axis="y")


def _draw_retention(ax: Axes, series: pd.DataFrame) -> None:
    _require(series, ["retention_rate", "churn_rate"], "plot_retention")
    months = _months(series)
    window = min(12, len(series))
    retention = series["retention_rate"].astype(float) * 100
    ax.plot(months, retention, color="#2171b5", linewidth=0.9, alpha=0.5, label="each month")
    ax.plot(
        months,
        retention.rolling(window, min_periods=1).mean(),
        color="#2171b5",
        linewidth=2,
        label=f"{window}-month average",
    )
    kept = float(np.nanmean(series["retention_rate"].astype(float)))
    ax.set_title(
        f"Monthly retention rate (average {kept:.1%} per month, about {kept**12:.0%} a year)"
    )
    ax.set_xlabel("Month")
    ax.set_ylabel("Customers kept (% per month)")
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=1))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)


def _draw_churn(ax: Axes, series: pd.DataFrame) -> None:
    months = _months(series)
    window = min(12, len(series))
    churn = series["churn_rate"].astype(float) * 100
    ax.plot(months, churn, color="#e6550d", linewidth=0.9, alpha=0.5, label="churn, each month")
    ax.plot(
        months,
        churn.rolling(window, min_periods=1).mean(),
        color="#e6550d",
        linewidth=2,
        label=f"churn, {window}-month average",
    )
    ax.set_ylim(bottom=0)
    ax.set_title("Monthly churn (customers who chose to leave)")
    ax.set_xlabel("Month")
    ax.set_ylabel("Customers lost (% per month)")
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=1))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)


def _clean_clv(clv: Any) -> np.ndarray:
    values = np.asarray(clv, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("plot_clv_distribution needs at least one finite CLV value")
    return values


def _draw_clv_histogram(ax: Axes, clv: np.ndarray) -> None:
    low, high = np.percentile(clv, [0.5, 99.0])
    if high <= low:
        low, high = clv.min() - 0.5, clv.max() + 0.5
    shown = clv[(clv >= low) & (clv <= high)]
    ax.hist(shown, bins=50, color="#6baed6", edgecolor="white", linewidth=0.4)
    mean, median = clv.mean(), np.median(clv)
    ax.axvline(0, color="#333333", linewidth=1)
    ax.axvline(
        median, color="#1b7837", linewidth=1.5, linestyle="--", label=f"median {median:,.0f}"
    )
    ax.axvline(mean, color="#d62728", linewidth=1.5, label=f"mean {mean:,.0f}")
    above = int((clv > high).sum())
    below = int((clv < low).sum())
    note = f"loss-makers (CLV < 0): {(clv < 0).mean():.0%}"
    if above or below:
        note += f"\nnot shown: {below + above:,} customers outside {low:,.0f} .. {high:,.0f}"
    ax.text(0.98, 0.70, note, transform=ax.transAxes, ha="right", va="top", fontsize=8)
    ax.set_title("Realised customer lifetime value")
    ax.set_xlabel("Realised CLV (currency per customer)")
    ax.set_ylabel("Customers")
    ax.legend(loc="upper right", frameon=False, fontsize=8)


def _draw_pareto(ax: Axes, clv: np.ndarray, top_share: float = 0.2) -> None:
    from crmsim.economics import pareto_share

    ordered = np.sort(clv)[::-1]
    total = ordered.sum()
    share_customers = np.arange(ordered.size + 1) / ordered.size * 100
    ax.plot(
        [0, 100],
        [0, 100],
        color="#969696",
        linestyle=":",
        linewidth=1,
        label="every customer equal",
    )
    if total > 0:
        share_profit = np.concatenate([[0.0], np.cumsum(ordered) / total]) * 100
        ax.plot(
            share_customers,
            share_profit,
            color="#08519c",
            linewidth=2,
            label="customers ranked by CLV",
        )
        top = pareto_share(ordered, top_share) * 100
        x = top_share * 100
        ax.plot([x, x, 0], [0, top, top], color="#d62728", linewidth=1, linestyle="--")
        ax.scatter([x], [top], color="#d62728", zorder=3)
        ax.annotate(
            f"top {x:.0f}% of customers\nbring {top:.0f}% of the profit",
            (x, top),
            xytext=(x + 12, top * 0.55),
            fontsize=9,
            arrowprops={"arrowstyle": "->", "color": "#d62728"},
        )
        peak = share_profit.max()
        if peak > 101:
            ax.axhline(100, color="#333333", linewidth=0.8)
            ax.annotate(
                f"peak {peak:.0f}%: customers right of it\nlose money and pull the total down",
                (share_customers[share_profit.argmax()], peak),
                xytext=(45, peak * 0.80),
                fontsize=8,
                arrowprops={"arrowstyle": "->", "color": "#333333"},
            )
        ax.set_ylim(0, max(105.0, peak * 1.08))
    else:
        ax.text(
            0.5,
            0.5,
            "Total profit is not positive:\nno Pareto share",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    ax.set_xlim(0, 100)
    ax.set_title("Who brings the profit (Pareto curve)")
    ax.set_xlabel("Share of customers, most valuable first (%)")
    ax.set_ylabel("Share of total realised profit (%)")
    ax.legend(loc="lower right", frameon=False, fontsize=8)


# ---------------------------------------------------------------- public figures
def plot_lifecycle(series: pd.DataFrame) -> Figure:
    """Stacked area of suspects, prospects, active customers and defectors over months.

    Args:
        series: The monthly series of a run (``CRMModel.monthly_series()``).

    Returns:
        The figure.
    """
    fig, ax = _figure(figsize=(8.5, 4.2))
    _draw_lifecycle(ax, series)
    return fig


def plot_ladder(series: pd.DataFrame) -> Figure:
    """Active customers by rung of the loyalty ladder (shopper .. raving fan) over months.

    Args:
        series: The monthly series of a run.

    Returns:
        The figure.
    """
    fig, ax = _figure(figsize=(8.5, 4.2))
    _draw_ladder(ax, series)
    return fig


def plot_defections_by_reason(series: pd.DataFrame, months_per_bar: int | None = None) -> Figure:
    """Defections by reason: stacked bars over time and the totals of the run.

    The course's defector types (price, product, service, market,
    technological, organisational), plus customers the firm let go ("fired")
    when there are any.

    Args:
        series: The monthly series of a run.
        months_per_bar: Months summed in each bar (default: 12 for runs longer
            than three years, else 1).

    Returns:
        The figure (two panels).
    """
    fig, (left, right) = _figure(1, 2, figsize=(12, 4.2), width_ratios=[1.7, 1])
    _draw_defections_over_time(left, series, months_per_bar)
    _draw_defection_totals(right, series)
    return fig


def plot_retention(series: pd.DataFrame) -> Figure:
    """Monthly retention rate and churn rate, each with its 12-month average.

    Retention counts every customer kept; churn counts only those who chose to
    leave (customers the firm let go are not churn), so the two differ when
    the firm fires customers.

    Args:
        series: The monthly series of a run.

    Returns:
        The figure (two panels sharing the month axis).
    """
    fig, (top, bottom) = _figure(2, 1, figsize=(8.5, 6), sharex=True)
    _draw_retention(top, series)
    _draw_churn(bottom, series)
    top.set_xlabel("")
    return fig


def plot_satisfaction(series: pd.DataFrame) -> Figure:
    """Rising expectations and the satisfaction of active customers over months.

    Left: what the market expects of a firm. Right: the mean satisfaction
    (delivered value - expectation) of the active customers.

    Args:
        series: The monthly series of a run.

    Returns:
        The figure (two panels).
    """
    _require(series, ["market_expectation", "mean_satisfaction"], "plot_satisfaction")
    months = _months(series)
    fig, (left, right) = _figure(1, 2, figsize=(12, 4))
    left.plot(
        months,
        series["market_expectation"],
        color="#333333",
        linewidth=2,
        label="market expectation",
    )
    left.set_title("What the market expects")
    left.set_xlabel("Month")
    left.set_ylabel("Expectation (value units)")
    left.legend(loc="upper left", frameon=False, fontsize=8)
    right.axhline(0, color="#333333", linewidth=0.8)
    right.plot(
        months,
        series["mean_satisfaction"],
        color="#756bb1",
        linewidth=2,
        label="mean satisfaction of active customers",
    )
    right.set_title("Satisfaction = delivered value − expectation")
    right.set_xlabel("Month")
    right.set_ylabel("Satisfaction (value units)")
    right.legend(loc="upper right", frameon=False, fontsize=8)
    return fig


def plot_cohort_survival(table_frame: pd.DataFrame) -> Figure:
    """Survival curves of acquisition cohorts.

    Args:
        table_frame: Output of :func:`crmsim.economics.cohort_survival_table`:
            one column per cohort, indexed by age in months, values in [0, 1].

    Returns:
        The figure.
    """
    if table_frame.shape[1] == 0:
        raise ValueError("plot_cohort_survival needs at least one cohort column")
    fig, ax = _figure(figsize=(8.5, 4.5))
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, table_frame.shape[1]))
    for color, column in zip(colors, table_frame.columns, strict=True):
        curve = table_frame[column].dropna()
        ax.plot(curve.index, curve.to_numpy() * 100, color=color, linewidth=1.8, label=str(column))
    ax.set_ylim(0, 102)
    ax.set_xlim(left=0)
    ax.set_title("Cohort survival: share of each cohort still in its first relationship")
    ax.set_xlabel("Months since first purchase")
    ax.set_ylabel("Still a customer (% of cohort)")
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title="Acquired in", fontsize=8
    )
    return fig


def plot_clv_distribution(clv: Any, top_share: float = 0.2) -> Figure:
    """Histogram of realised CLV and the Pareto curve of who brings the profit.

    The right panel ranks customers from most to least valuable and plots the
    cumulative share of total profit against the share of customers, with the
    share of the top ``top_share`` annotated (Pareto's 80/20 rule). When some
    customers lose money the curve rises above 100% and falls back (a "whale
    curve").

    Args:
        clv: Realised CLV per customer (array-like, currency), e.g.
            ``model.customer_frame()["realised_clv"]``.
        top_share: Share of customers whose profit share is annotated.

    Returns:
        The figure (two panels).
    """
    values = _clean_clv(clv)
    fig, (left, right) = _figure(1, 2, figsize=(12, 4.5))
    _draw_clv_histogram(left, values)
    _draw_pareto(right, values, top_share)
    return fig


def plot_customer_history(customer: Customer) -> Figure:
    """One customer's life: value against expectation, satisfaction, and the ladder.

    Top: what the customer expects and the value they get (satisfaction is the
    gap, green when positive, red when negative). Middle: satisfaction itself.
    Bottom: their rung of the loyalty ladder. Months before the first purchase
    and months after leaving are shaded; values are drawn only while the
    customer is active.

    Args:
        customer: A followed customer, ``model.customer(i)`` (with a history).

    Returns:
        The figure (three panels sharing the month axis).

    Raises:
        ValueError: The customer has no recorded history (not followed).
    """
    if not customer.history:
        raise ValueError(
            f"customer {customer.id} has no history: only followed customers are recorded "
            "(see CRMModel(follow=[...]) and model.followed)"
        )
    history = pd.DataFrame(customer.history)
    months = history["month"].to_numpy()
    active = (history["stage"] == "active").to_numpy()
    # A customer who comes back is first asked how satisfied they are the month
    # after their return: in the month of return the record still holds the
    # satisfaction they left with, so it is not drawn.
    returned = active & (history["stage"].shift() == "defected").to_numpy()
    measured = active & ~returned
    expectation = history["expectation"].where(measured).to_numpy(dtype=float)
    satisfaction = history["satisfaction"].where(measured).to_numpy(dtype=float)
    value = expectation + satisfaction
    rung = history["tier"].map(TIERS.index).where(active).to_numpy(dtype=float)
    # A lone active month draws no line: mark such months with a dot.
    before = np.concatenate([[False], active[:-1]])
    after = np.concatenate([active[1:], [False]])
    dots = {"marker": "o", "markersize": 4, "markevery": list(active & ~before & ~after)}
    lone = (
        measured
        & ~np.concatenate([[False], measured[:-1]])
        & ~np.concatenate([measured[1:], [False]])
    )
    value_dots = {**dots, "markevery": list(lone)}

    fig, (top, middle, bottom) = _figure(
        3, 1, figsize=(9, 7.5), sharex=True, height_ratios=[1.4, 1, 1]
    )
    top.plot(months, expectation, color="#333333", linewidth=1.6, label="expectation", **value_dots)
    top.plot(months, value, color="#2171b5", linewidth=1.6, label="delivered value", **value_dots)
    top.fill_between(
        months,
        value,
        expectation,
        where=value >= expectation,
        color="#5aae61",
        alpha=0.35,
        interpolate=True,
        label="satisfied (gap > 0)",
    )
    top.fill_between(
        months,
        value,
        expectation,
        where=value < expectation,
        color="#d62728",
        alpha=0.30,
        interpolate=True,
        label="dissatisfied (gap < 0)",
    )
    top.set_ylabel("Value units")
    top.set_title("What the customer expects and what they get")

    middle.axhline(0, color="#333333", linewidth=0.8)
    middle.plot(
        months,
        satisfaction,
        color="#756bb1",
        linewidth=1.6,
        label="satisfaction = value − expectation",
        **value_dots,
    )
    middle.set_ylabel("Value units")
    middle.set_title("Satisfaction")

    bottom.step(months, rung, where="post", color="#1b7837", linewidth=2, label="rung", **dots)
    bottom.set_yticks(range(len(TIERS)), [_pretty(t) for t in TIERS])
    bottom.set_ylim(-0.5, len(TIERS) - 0.5)
    bottom.set_ylabel("Ladder rung")
    bottom.set_xlabel("Month")
    bottom.set_title("Loyalty ladder")

    # Shade the months the customer was not active, and name why they left.
    shades = {"defected": "#f4b6a8", "suspect": "#ececec", "prospect": "#d6e8f5"}
    stages = history["stage"].to_numpy()
    start = 0
    for k in range(1, len(stages) + 1):
        if k == len(stages) or stages[k] != stages[start]:
            stage = stages[start]
            if stage in shades:
                left, right = months[start], months[k - 1] + 1
                for ax in (top, middle, bottom):
                    ax.axvspan(left, right, color=shades[stage], alpha=0.6, linewidth=0)
                if stage == "defected":
                    reason = history["defection_reason"].iloc[start]
                    bottom.annotate(
                        f"left: {_pretty(str(reason))}",
                        (left, len(TIERS) - 0.6),
                        fontsize=8,
                        rotation=90,
                        ha="left",
                        va="top",
                        color="#7f2704",
                    )
            start = k
    top.set_xlim(months.min(), months.max() + 1)
    shade_handles = [
        Patch(color=shades[s], alpha=0.6, label=label)
        for s, label in (
            ("prospect", "prospect"),
            ("suspect", "suspect"),
            ("defected", "gone (defected)"),
        )
        if (stages == s).any()
    ]
    handles, labels = top.get_legend_handles_labels()
    top.legend(
        handles + shade_handles,
        labels + [h.get_label() for h in shade_handles],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        fontsize=8,
    )
    middle.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    fig.suptitle(
        f"Customer {customer.id}: now {customer.stage} ({_pretty(customer.tier)}), "
        f"realised CLV {customer.realised_clv:,.0f}",
        fontweight="bold",
    )
    return fig


def plot_run_dashboard(
    series: pd.DataFrame, clv: Any | None = None, title: str | None = None
) -> Figure:
    """One page of a run: lifecycle, ladder, retention and defections (and CLV if given).

    Args:
        series: The monthly series of a run.
        clv: Optional realised CLV per customer; adds the CLV histogram and the
            Pareto curve as a third column.
        title: Title of the page (default "Run dashboard").

    Returns:
        The figure (2 x 2, or 2 x 3 with CLV).
    """
    ncols = 2 if clv is None else 3
    fig, axes = _figure(2, ncols, figsize=(8.0 * ncols, 9))
    _draw_lifecycle(axes[0, 0], series)
    _draw_ladder(axes[0, 1], series)
    _draw_retention(axes[1, 0], series)
    _draw_defections_over_time(axes[1, 1], series)
    if clv is not None:
        values = _clean_clv(clv)
        _draw_clv_histogram(axes[0, 2], values)
        _draw_pareto(axes[1, 2], values)
    fig.suptitle(title or "Run dashboard", fontsize=15, fontweight="bold")
    return fig


def _check_measures(measures: Sequence[str]) -> None:
    unknown = [m for m in measures if m not in MEASURE_AXES]
    if unknown:
        raise ValueError(
            f"unknown measure(s) {', '.join(unknown)}; allowed: {', '.join(MEASURE_AXES)}"
        )


def _grid(count: int, width: float = 5.2, height: float = 3.6) -> tuple[Figure, list[Axes]]:
    """A figure with ``count`` panels, two per row."""
    ncols = 1 if count == 1 else 2
    nrows = (count + ncols - 1) // ncols
    fig, axes = _figure(nrows, ncols, figsize=(width * ncols, height * nrows))
    axes = list(np.atleast_1d(axes).ravel())
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes[:count]


def _empty(message: str, title: str) -> Figure:
    fig, ax = _figure(figsize=(7, 2.5))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(title, fontweight="bold")
    return fig


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


def plot_comparison(
    comparison: Comparison, band: str = "ci", measures: Sequence[str] | None = None
) -> Figure:
    """Scenarios side by side: headline measures with 95% CIs, and active customers over time.

    Top row: one bar chart per measure (mean over replications, error bars the
    95% confidence interval of the mean). Bottom: active customers each month,
    the mean over replications with a band per scenario.

    Args:
        comparison: Result of :func:`crmsim.experiment.compare`.
        band: ``"ci"``: the 95% confidence interval of the monthly mean (Student
            t); ``"runs"``: the middle 95% of the runs (2.5-97.5 percentiles).
        measures: Measures in the top row (default: mean CLV, customer equity,
            retention, churn, active customers).

    Returns:
        The figure.
    """
    if band not in ("ci", "runs"):
        raise ValueError(f"band must be 'ci' or 'runs'; got {band!r}")
    measures = list(measures or COMPARISON_MEASURES)
    _check_measures(measures)
    table = comparison.table
    scenarios = list(dict.fromkeys(table["scenario"]))
    colors = {s: SCENARIO_COLORS[k % len(SCENARIO_COLORS)] for k, s in enumerate(scenarios)}
    replications = int(table["replications"].max()) if len(table) else 0

    fig = plt.figure(figsize=(max(12.0, 3.2 * len(measures)), 8.5), layout="constrained")
    grid = fig.add_gridspec(2, len(measures), height_ratios=[1, 1.15])
    positions = np.arange(len(scenarios))
    for k, measure in enumerate(measures):
        ax = fig.add_subplot(grid[0, k])
        _style(ax)
        name, unit, scale = MEASURE_AXES[measure]
        rows = table[table["measure"] == measure].set_index("scenario").reindex(scenarios)
        mean = rows["mean"].to_numpy(dtype=float) * scale
        low = rows["ci_low"].to_numpy(dtype=float) * scale
        high = rows["ci_high"].to_numpy(dtype=float) * scale
        error = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
        ax.bar(positions, mean, color=[colors[s] for s in scenarios], alpha=0.85)
        ax.errorbar(
            positions, mean, yerr=error, fmt="none", ecolor="#222222", capsize=5, linewidth=1.2
        )
        ax.set_xticks(positions, [_pretty(s) for s in scenarios], rotation=20, ha="right")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("Scenario")
        ax.set_ylabel(unit)
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        finite = np.isfinite(np.concatenate([low, high, mean]))
        if measure == "retention_rate" and finite.any():
            # Retention sits near 100%: cut the axis so differences show, and say so.
            values = np.concatenate([low, high, mean])[finite]
            spread = max(values.max() - values.min(), 0.5)
            ax.set_ylim(max(0.0, values.min() - spread), min(100.0, values.max() + spread / 2))
            ax.set_ylabel(unit + " (axis cut)")
        ax.grid(False, axis="x")

    ax = fig.add_subplot(grid[1, :])
    _style(ax)
    monthly = comparison.monthly
    for scenario in scenarios:
        runs = monthly[monthly["scenario"] == scenario].pivot_table(
            index="month", columns="replication", values="active"
        )
        mean, low, high = _band(runs, band)
        ax.plot(runs.index, mean, color=colors[scenario], linewidth=2, label=_pretty(scenario))
        ax.fill_between(runs.index, low, high, color=colors[scenario], alpha=0.2, linewidth=0)
    band_text = (
        "band: 95% confidence interval of the mean"
        if band == "ci"
        else "band: middle 95% of the runs"
    )
    ax.set_title(f"Active customers each month (line: mean of {replications} runs; {band_text})")
    ax.set_xlabel("Month")
    ax.set_ylabel("Active customers")
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title="Scenario")
    fig.suptitle(
        f"Scenarios compared over {replications} replications (error bars: 95% CI of the mean)",
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
        comparison: Result of :func:`crmsim.experiment.compare` (its ``differences``).
        measures: Measures to draw (default: ``STUDY_MEASURES``).

    Returns:
        The figure, one panel per measure.
    """
    measures = list(measures or STUDY_MEASURES)
    _check_measures(measures)
    differences = getattr(comparison, "differences", None)
    title = "Paired differences from the reference scenario"
    if differences is None or differences.empty:
        return _empty("Only one scenario: there is no difference to show.", title)
    reference = str(differences["reference"].iloc[0])
    scenarios = list(dict.fromkeys(differences["scenario"]))
    all_scenarios = [reference, *scenarios]
    colors = {s: SCENARIO_COLORS[k % len(SCENARIO_COLORS)] for k, s in enumerate(all_scenarios)}
    positions = np.arange(len(scenarios))[::-1]
    fig, axes = _grid(len(measures), width=6.0, height=0.9 + 0.55 * len(scenarios) + 1.2)
    for ax, measure in zip(axes, measures, strict=True):
        name, unit, scale = MEASURE_AXES[measure]
        rows = differences[differences["measure"] == measure].set_index("scenario")
        rows = rows.reindex(scenarios)
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
        ax.set_yticks(positions, [_pretty(s) for s in scenarios])
        ax.set_ylim(positions.min() - 0.7, positions.max() + 0.7)
        ax.set_ylabel("Scenario")
        unit_text = "percentage points" if scale == 100.0 else unit
        ax.set_xlabel(f"Difference from {_pretty(reference)} ({unit_text})")
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.set_title(name, fontsize=10)
        ax.grid(False, axis="y")
    axes[0].legend(loc="best", frameon=False, fontsize=8)
    replications = int(differences["replications"].max())
    fig.suptitle(
        f"{title} ({_pretty(reference)}), {replications} paired replications",
        fontweight="bold",
    )
    return fig


def plot_sweep(result: Any, measures: Sequence[str] | None = None) -> Figure:
    """Measures against the swept parameter: mean over replications with 95% CIs.

    The first swept parameter is on the x axis; each scenario (and each value
    of any further swept parameter) is a line of its own.

    Args:
        result: A :class:`crmsim.experiment.SweepResult` (``table`` and ``parameters``).
        measures: Measures to draw (default: ``STUDY_MEASURES``).

    Returns:
        The figure, one panel per measure.
    """
    measures = list(measures or STUDY_MEASURES)
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
        name, unit, scale = MEASURE_AXES[measure]
        for k, (key, group) in enumerate(groups):
            rows = group[group["measure"] == measure]
            x_values = rows[x_name].tolist()
            x = np.arange(len(x_values)) if categorical else np.asarray(x_values, float)
            mean = rows["mean"].to_numpy(float) * scale
            low = rows["ci_low"].to_numpy(float) * scale
            high = rows["ci_high"].to_numpy(float) * scale
            error = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
            label = ", ".join(
                f"{_pretty(str(v))}" if c == "scenario" else f"{c.split('.')[-1]}={v}"
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
                ax.set_xticks(x, [_pretty(str(v)) for v in x_values], rotation=20, ha="right")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(setting_label(x_name) if parameters else "Scenario")
        ax.set_ylabel(unit)
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    if len(groups) > 1 or parameters:
        axes[0].legend(loc="best", frameon=False, fontsize=8)
    replications = int(table["replications"].max())
    swept = ", ".join(parameters) if parameters else "scenarios"
    fig.suptitle(
        f"Sweep of {swept}: mean of {replications} runs per point (error bars: 95% CI)",
        fontweight="bold",
    )
    return fig


def plot_tornado(frame: pd.DataFrame) -> Figure:
    """Elasticities of customer value to its levers, largest first, with 95% CIs.

    Args:
        frame: Output of :func:`crmsim.experiment.sensitivity`: one row per lever
            with ``label``, ``elasticity``, ``ci_low``, ``ci_high`` and ``measure``.

    Returns:
        The figure.
    """
    if frame.empty:
        return _empty("No levers were measured.", "Sensitivity")
    ordered = frame.assign(size=frame["elasticity"].abs()).sort_values("size")
    positions = np.arange(len(ordered))
    fig, ax = _figure(figsize=(8, 1.2 + 0.7 * len(ordered)))
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
    ends = np.where(mean >= 0, mean + error[1], mean - error[0])
    for y, value, end in zip(positions, mean, ends, strict=True):
        ax.annotate(
            f" {value:.2f} ",
            (end, y),
            va="center",
            fontsize=8,
            ha="left" if value >= 0 else "right",
        )
    ax.axvline(0, color="#333333", linewidth=1)
    ax.set_yticks(positions, ordered["label"].astype(str).tolist())
    ax.set_ylabel("Lever")
    measure = str(frame["measure"].iloc[0]) if "measure" in frame else "customer value"
    name = MEASURE_AXES.get(measure, (_pretty(measure), "", 1.0))[0]
    lowered = name[:1].lower() + name[1:]
    ax.set_xlabel(f"% change of the {lowered} per 1% of lever (elasticity)")
    ax.set_title(f"What moves the {lowered} most (error bars: 95% CI)")
    ax.grid(False, axis="y")
    return fig


__all__ = [
    "plot_clv_distribution",
    "plot_cohort_survival",
    "plot_comparison",
    "plot_customer_history",
    "plot_defections_by_reason",
    "plot_ladder",
    "plot_lifecycle",
    "plot_paired_differences",
    "plot_retention",
    "plot_run_dashboard",
    "plot_satisfaction",
    "plot_sweep",
    "plot_tornado",
]


def setting_label(path: str) -> str:
    """An axis label for a scenario setting at a dotted path, with its unit when known."""
    from crmsim.config.fields import Field
    from crmsim.config.schema import SCHEMA
    from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY

    parts = path.split(".")
    spec = None
    if len(parts) == 2 and isinstance(SCHEMA.get(parts[0], {}).get(parts[1]), Field):
        spec = SCHEMA[parts[0]][parts[1]]
    elif len(parts) == 3 and parts[0] in ("strategies", "competitor_strategies"):
        registry = REGISTRY if parts[0] == "strategies" else COMPETITOR_REGISTRY
        if parts[1] in registry:
            spec = registry[parts[1]].parameters.get(parts[2])
    label = _pretty(parts[-1])
    return f"{label} ({spec.unit})" if spec is not None and spec.unit else label


def plot_sweep_heatmap(result: Any, measure: str = "customer_equity") -> Figure:
    """A two-parameter sweep as a heat map of one measure's mean, per scenario.

    Args:
        result: A :class:`crmsim.experiment.SweepResult` with exactly two swept parameters.
        measure: The measure to colour by (see ``MEASURE_AXES``).

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
    name, unit, scale = MEASURE_AXES[measure]
    table = result.table[result.table["measure"] == measure]
    if table.empty:
        return _empty("The sweep has no finished runs.", "Sweep")
    scenarios = list(dict.fromkeys(table["scenario"]))
    fig, axes = _figure(
        1, len(scenarios), figsize=(max(7.5, 5.6 * len(scenarios)), 4.8), squeeze=False
    )
    row_name, col_name = parameters
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        part = table[table["scenario"] == scenario]
        means = part.pivot(index=row_name, columns=col_name, values="mean") * scale
        half = (part.assign(h=(part["ci_high"] - part["ci_low"]) / 2 * scale)).pivot(
            index=row_name, columns=col_name, values="h"
        )
        image = ax.imshow(means.to_numpy(float), cmap="viridis", aspect="auto", origin="lower")
        ax.set_xticks(range(means.shape[1]), [f"{v:g}" for v in means.columns])
        ax.set_yticks(range(means.shape[0]), [f"{v:g}" for v in means.index])
        ax.set_xlabel(setting_label(col_name))
        ax.set_ylabel(setting_label(row_name))
        ax.set_title(_pretty(scenario))
        ax.grid(False)
        low, high = np.nanmin(means.to_numpy(float)), np.nanmax(means.to_numpy(float))
        for i in range(means.shape[0]):
            for j in range(means.shape[1]):
                value = means.iat[i, j]
                bright = high > low and (value - low) / (high - low) > 0.6
                ax.text(
                    j,
                    i,
                    f"{_thousands(value)}\n±{_thousands(half.iat[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="black" if bright else "white",
                )
        colorbar = fig.colorbar(image, ax=ax, shrink=0.85)
        colorbar.set_label(f"{name} ({unit})")
    fig.suptitle(f"{name}: mean ± 95% CI over the sweep", fontweight="bold")
    return fig
