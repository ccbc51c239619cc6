"""Figures of one run: the lifecycle, the ladder, defections, retention, CLV, one customer.

Every function takes the results of a run (the monthly series of
``CRMModel.monthly_series()``, the realised CLV of each customer, one
``Customer``) and returns a :class:`matplotlib.figure.Figure` with a title,
labelled axes (with units) and a legend. Nothing is shown: in a notebook end
the cell with ``plt.show()``; in a script save the figure with
``fig.savefig(...)`` and close it with ``plt.close(fig)``.

Any run that ran can be drawn, however small: a single month is drawn as
bars and points, and a panel with nothing to draw (nobody bought, no customer
to keep, nobody left, no finite CLV, no cohort) keeps its title and labels and
says why it is empty. A monthly series with no month at all (a model not yet
run) is refused with a ``ValueError`` that says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from crmsim.economics import pareto_share, whale_curve
from crmsim.report.style import (
    REASON_COLORS,
    STAGE_COLORS,
    TIER_COLORS,
    empty_panel,
    format_thousands,
    legend_beside_stack,
    literal,
    new_figure,
    pretty_name,
    set_retention_axis,
)
from crmsim.rules.reacquisition import return_chance_by_month
from crmsim.vocabulary import DEFECTION_REASONS, STAGES, TIERS

if TYPE_CHECKING:
    from crmsim.engine.customers import Customer
    from crmsim.engine.model import CRMModel


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
    if series.empty:
        raise ValueError(
            f"{what} needs at least one simulated month; this series has none "
            "(run the model first: model.run(months))"
        )


def _single_month(ax: Axes, months: np.ndarray) -> dict[str, Any]:
    """Line options for ``months``; with a single month also centre the month axis on it.

    A one-month run is a point on each line: a marker shows it, where a line would not.
    """
    if months.size != 1:
        return {}
    ax.set_xlim(months[0] - 1, months[0] + 1)
    ax.set_xticks(months)
    return {"marker": "o"}


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
    nothing: str = "",
) -> None:
    """Counts stacked over months, the legend in the order of the stack (top first).

    When every count is zero in every month, the panel says ``nothing`` instead.
    """
    months = _months(series)
    ax.set_title(title)
    ax.set_xlabel("Month")
    ax.set_ylabel(ylabel)
    if nothing and not series[columns].to_numpy(dtype=float).any():
        empty_panel(ax, nothing)
        return
    if months.size == 1:
        # An area over a single month has no width: stack a bar so the counts show.
        bottom = 0.0
        for column, label, color in zip(columns, labels, colors, strict=True):
            count = float(series[column].iloc[0])
            ax.bar(months, [count], 0.6, bottom=bottom, color=color, alpha=alpha, label=label)
            bottom += count
        _single_month(ax, months)
    else:
        ax.stackplot(
            months,
            [series[c].to_numpy() for c in columns],
            labels=labels,
            colors=colors,
            alpha=alpha,
            linewidth=0,
        )
        ax.set_xlim(months.min(), months.max())
    ax.yaxis.set_major_formatter(FuncFormatter(format_thousands))
    legend_beside_stack(ax, legend_title)


def _draw_lifecycle(ax: Axes, series: pd.DataFrame) -> None:
    _require(series, STAGES, "plot_lifecycle")
    _stacked_area(
        ax,
        series,
        list(STAGES),
        [pretty_name(s) for s in STAGES],
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
        [pretty_name(t) for t in TIERS],
        [TIER_COLORS[t] for t in TIERS],
        "Active customers on each rung of the loyalty ladder",
        "Active customers",
        "Rung",
        nothing="No active customers in any month.",
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
    ax.set_xlabel("Month")
    if months_per_bar == 1:
        ax.set_title("Defections each month, by reason")
        ax.set_ylabel("Customers lost per month")
    else:
        ax.set_title(f"Defections per {months_per_bar} months, by reason")
        ax.set_ylabel(f"Customers lost per {months_per_bar} months")
    if not series[[f"defections_{r}" for r in reasons]].to_numpy(dtype=float).any():
        empty_panel(ax, "Nobody left in the months simulated.")
        return
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
            label=pretty_name(reason),
            linewidth=0,
        )
        bottom += values
    legend_beside_stack(ax, "Reason")


def _draw_defection_totals(ax: Axes, series: pd.DataFrame) -> None:
    reasons = _reasons_present(series)
    totals = np.array([series[f"defections_{r}"].sum() for r in reasons], dtype=float)
    positions = np.arange(len(reasons))[::-1]
    ax.barh(positions, totals, color=[REASON_COLORS[r] for r in reasons])
    grand = totals.sum()
    for y, total in zip(positions, totals, strict=True):
        share = total / grand if grand else 0.0
        ax.annotate(f" {total:,.0f} ({share:.0%})", (total, y), va="center", fontsize=8)
    ax.set_yticks(positions, [pretty_name(r) for r in reasons])
    ax.set_xlim(0, max(grand, 1.0) * 0.01 + totals.max(initial=1.0) * 1.35)
    ax.set_title("All defections of the run")
    ax.set_xlabel("Customers lost (whole run)")
    ax.set_ylabel("Reason")
    ax.grid(False, axis="y")


@dataclass(frozen=True)
class _Rate:
    """How a monthly rate is drawn.

    Attributes:
        title: Title of the panel; may quote the run's mean rate as ``{mean}``
            (per month) and ``{year}`` (compounded over twelve months).
        name: Title of the panel when the rate is undefined in every month.
        ylabel: Label of the rate axis.
        color: Colour of both lines.
        legend: Prefix of the legend entries.
        from_zero: Start the rate axis at zero.
        retention_scale: Run the rate axis to 100% over at least ten points
            (:func:`crmsim.report.style.set_retention_axis`), so small gaps look small.
    """

    title: str
    name: str
    ylabel: str
    color: str
    legend: str = ""
    from_zero: bool = False
    retention_scale: bool = False


_MONTHLY_RATES: dict[str, _Rate] = {
    "retention_rate": _Rate(
        "Monthly retention rate (average {mean:.1%} per month, about {year:.0%} a year)",
        "Monthly retention rate",
        "Customers kept (% per month)",
        "#2171b5",
        retention_scale=True,
    ),
    "churn_rate": _Rate(
        "Monthly churn (customers who chose to leave)",
        "Monthly churn (customers who chose to leave)",
        "Customers lost (% per month)",
        "#e6550d",
        legend="churn, ",
        from_zero=True,
    ),
}


def _draw_monthly_rate(ax: Axes, series: pd.DataFrame, column: str) -> None:
    """A monthly rate (retention or churn) in % per month: each month and its 12-month average."""
    _require(series, [column], "plot_retention")
    look = _MONTHLY_RATES[column]
    months = _months(series)
    window = min(12, len(series))
    rate = series[column].astype(float)
    ax.set_xlabel("Month")
    ax.set_ylabel(look.ylabel)
    if not np.isfinite(rate).any():
        ax.set_title(look.name)
        empty_panel(ax, "No customers in any month:\nthe rate is undefined (NaN).")
        return
    point = _single_month(ax, months)
    ax.plot(
        months,
        rate * 100,
        color=look.color,
        linewidth=0.9,
        alpha=0.5,
        label=f"{look.legend}each month",
        **point,
    )
    ax.plot(
        months,
        (rate * 100).rolling(window, min_periods=1).mean(),
        color=look.color,
        linewidth=2,
        label=f"{look.legend}{window}-month average",
        **point,
    )
    if look.from_zero:
        ax.set_ylim(bottom=0)
    if look.retention_scale:
        set_retention_axis(ax, rate * 100)
    mean = float(np.nanmean(rate))
    ax.set_title(look.title.format(mean=mean, year=mean**12))
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=1))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)


def _clean_clv(clv: Any) -> tuple[np.ndarray, str]:
    """The finite CLV values, and why there is nothing to draw when none is left ("" if some)."""
    values = np.asarray(clv, dtype=float).ravel()
    finite = values[np.isfinite(values)]
    if finite.size:
        return finite, ""
    if values.size == 0:
        return finite, "Nobody bought in this run:\nthere is no customer lifetime value to show."
    return finite, f"None of the {values.size:,} CLV values is a finite number:\nnothing to show."


def _draw_clv_histogram(ax: Axes, clv: np.ndarray, nothing: str = "") -> None:
    ax.set_title("Realised customer lifetime value")
    ax.set_xlabel("Realised CLV (currency per customer)")
    ax.set_ylabel("Customers")
    if nothing:
        empty_panel(ax, nothing)
        return
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
    ax.legend(loc="upper right", frameon=False, fontsize=8)


def _draw_every_customer_equal(ax: Axes) -> None:
    """The diagonal of a whale or Pareto curve: every customer bringing the same profit."""
    ax.plot([0, 100], [0, 100], color="#969696", linestyle=":", linewidth=1,
            label="every customer equal")  # fmt: skip


def _draw_pareto(ax: Axes, clv: np.ndarray, top_share: float = 0.2, nothing: str = "") -> None:
    ax.set_title("Who brings the profit (Pareto curve)")
    ax.set_xlabel("Share of customers, most valuable first (%)")
    ax.set_ylabel("Share of total realised profit (%)")
    if nothing:
        empty_panel(ax, nothing)
        return
    curve = whale_curve(clv)
    share_customers = curve["share_of_customers"].to_numpy() * 100
    _draw_every_customer_equal(ax)
    if np.isfinite(curve["share_of_profit"].iloc[-1]):
        share_profit = curve["share_of_profit"].to_numpy() * 100
        ax.plot(
            share_customers,
            share_profit,
            color="#08519c",
            linewidth=2,
            label="customers ranked by CLV",
        )
        top = pareto_share(clv, top_share) * 100
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
    ax.legend(loc="lower right", frameon=False, fontsize=8)


# ---------------------------------------------------------------- public figures
def plot_lifecycle(series: pd.DataFrame) -> Figure:
    """Stacked area of suspects, prospects, active customers and defectors over months.

    Args:
        series: The monthly series of a run (``CRMModel.monthly_series()``).

    Returns:
        The figure.
    """
    fig, ax = new_figure(figsize=(8.5, 4.2))
    _draw_lifecycle(ax, series)
    return fig


def plot_ladder(series: pd.DataFrame) -> Figure:
    """Active customers by rung of the loyalty ladder (shopper .. raving fan) over months.

    Args:
        series: The monthly series of a run.

    Returns:
        The figure.
    """
    fig, ax = new_figure(figsize=(8.5, 4.2))
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
    fig, (left, right) = new_figure(1, 2, figsize=(12, 4.2), width_ratios=[1.7, 1])
    _draw_defections_over_time(left, series, months_per_bar)
    _draw_defection_totals(right, series)
    return fig


def plot_retention(series: pd.DataFrame) -> Figure:
    """Monthly retention rate and churn rate, each with its 12-month average.

    Retention counts every customer kept; churn counts only those who chose to
    leave (customers the firm let go are not churn), so the two differ when
    the firm fires customers. The retention axis runs to 100% over at least ten
    points (:func:`crmsim.report.style.set_retention_axis`), so that half a point of
    retention looks like half a point; the churn axis starts at zero, so that churn
    rising from 1.5% to 2% a month shows as the third more it is.

    Args:
        series: The monthly series of a run.

    Returns:
        The figure (two panels sharing the month axis).
    """
    _require(series, ["retention_rate", "churn_rate"], "plot_retention")
    fig, (top, bottom) = new_figure(2, 1, figsize=(8.5, 6), sharex=True)
    _draw_monthly_rate(top, series, "retention_rate")
    _draw_monthly_rate(bottom, series, "churn_rate")
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
    fig, (left, right) = new_figure(1, 2, figsize=(12, 4))
    left.plot(
        months,
        series["market_expectation"],
        color="#333333",
        linewidth=2,
        label="market expectation",
        **_single_month(left, months),
    )
    left.set_title("What the market expects")
    left.set_xlabel("Month")
    left.set_ylabel("Expectation (value units)")
    left.legend(loc="upper left", frameon=False, fontsize=8)
    right.set_title("Satisfaction = delivered value − expectation")
    right.set_xlabel("Month")
    right.set_ylabel("Satisfaction (value units)")
    satisfaction = series["mean_satisfaction"].astype(float)
    if not np.isfinite(satisfaction).any():
        empty_panel(right, "No active customers in any month:\nno satisfaction to show.")
        return fig
    right.axhline(0, color="#333333", linewidth=0.8)
    right.plot(
        months,
        satisfaction,
        color="#756bb1",
        linewidth=2,
        label="mean satisfaction of active customers",
        **_single_month(right, months),
    )
    right.legend(loc="upper right", frameon=False, fontsize=8)
    return fig


def plot_cohort_survival(table_frame: pd.DataFrame) -> Figure:
    """Survival curves of acquisition cohorts.

    Args:
        table_frame: Output of :func:`crmsim.economics.cohort_survival_table`:
            one column per cohort, indexed by age in months, values in [0, 1].

    Returns:
        The figure; a panel that says so when the table has no cohort (nobody
        was acquired in a month it covers).
    """
    fig, ax = new_figure(figsize=(8.5, 4.5))
    ax.set_title("Cohort survival: share of each cohort still in its first relationship")
    ax.set_xlabel("Months since first purchase")
    ax.set_ylabel("Still a customer (% of cohort)")
    if table_frame.shape[1] == 0:
        empty_panel(ax, "No cohort to follow:\nnobody was acquired in a month the table covers.")
        return fig
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, table_frame.shape[1]))
    for color, column in zip(colors, table_frame.columns, strict=True):
        curve = table_frame[column].dropna()
        ax.plot(
            curve.index,
            curve.to_numpy() * 100,
            color=color,
            linewidth=1.8,
            marker="o" if len(curve) == 1 else None,
            label=literal(column),
        )
    ax.set_ylim(0, 102)
    ax.set_xlim(left=0)
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
        The figure (two panels); panels that say why when no customer has a
        finite CLV (nobody bought, say, in a tiny or short run).
    """
    values, nothing = _clean_clv(clv)
    fig, (left, right) = new_figure(1, 2, figsize=(12, 4.5))
    _draw_clv_histogram(left, values, nothing)
    _draw_pareto(right, values, top_share, nothing)
    return fig


def plot_funnel_costs(summary: Mapping[str, Any]) -> Figure:
    """What paid contacts bring, and what winning a customer costs against keeping one.

    Left: per 1,000 contacts of each paid channel, the people who became prospects and
    those who made a first purchase. Right: the cost per acquisition of each paid channel
    and of every new customer (referrals, which cost nothing, included), beside the cost
    of keeping a customer for a year (``cost_per_retained_customer_year``).

    Args:
        summary: ``model.summary()`` of a run.

    Returns:
        The figure, two panels; a panel says why when no channel made a contact or no
        customer was won or kept.
    """
    fig, (left, right) = new_figure(1, 2, figsize=(12.5, 4.5))
    left.set(
        title="What 1,000 contacts bring",
        xlabel="Acquisition channel",
        ylabel="People per 1,000 contacts",
    )
    right.set(
        xlabel="Cost (currency per customer won; keeping: per customer-year)",
        ylabel="What it costs",
    )
    funnel = pd.DataFrame(summary.get("funnel") or {}).T
    paid = funnel[(funnel.index != "referral") & (funnel.get("contacts", 0) > 0)]
    if paid.empty:
        empty_panel(left, "No paid channel made a contact in this run.")
    else:
        per_1000 = 1000 * paid[["new_prospects", "conversions"]].div(paid["contacts"], axis=0)
        x = np.arange(len(paid))
        for k, (column, label, stage) in enumerate(
            [
                ("new_prospects", "became prospects", "prospect"),
                ("conversions", "made a first purchase", "active"),
            ]
        ):
            bars = left.bar(
                x + (k - 0.5) * 0.38, per_1000[column], 0.38, color=STAGE_COLORS[stage], label=label
            )
            left.bar_label(bars, fmt="%.0f", fontsize=8)
        left.set_xticks(x, [pretty_name(name) for name in paid.index])
        left.legend(frameon=False, fontsize=8)
        left.grid(False, axis="x")
    win = float(summary.get("cost_per_acquisition", np.nan))
    keep = float(summary.get("cost_per_retained_customer_year", np.nan))
    costs = {
        f"win one: {pretty_name(name)}": row["cost_per_acquisition"]
        for name, row in paid.iterrows()
    }
    costs["win one: any new customer\n(referrals included)"] = win
    costs["keep one for a year"] = keep
    values = np.array(list(costs.values()), float)
    values[~np.isfinite(values)] = np.nan  # a channel that won nobody has no cost per customer
    if not np.isfinite(values).any():
        right.set_title("Winning and keeping a customer")
        empty_panel(right, "No customer was won or kept in this run.")
        return fig
    rows = np.arange(len(costs))[::-1]
    colors = [STAGE_COLORS["prospect"]] * (len(costs) - 1) + [STAGE_COLORS["active"]]
    bars = right.barh(rows, np.nan_to_num(values), color=colors)
    right.bar_label(bars, fmt=" %.0f", fontsize=8)
    right.set_yticks(rows, list(costs))
    right.set_xlim(0, np.nanmax(values) * 1.15)
    right.grid(False, axis="y")
    ratio = win / keep if keep > 0 else np.nan
    right.set_title(
        f"Winning a customer costs {ratio:.1f} times keeping one for a year"
        if np.isfinite(ratio)
        else "Winning and keeping a customer"
    )
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
            f"customer {customer.id} has no history: only followed customers are recorded, "
            "month by month once the model runs (see CRMModel(follow=[...]) and model.followed)"
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

    fig, (top, middle, bottom) = new_figure(
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
    bottom.set_yticks(range(len(TIERS)), [pretty_name(t) for t in TIERS])
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
                        f"left: {pretty_name(str(reason))}",
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
        f"Customer {customer.id}: now {customer.stage} ({pretty_name(customer.tier)}), "
        f"realised CLV {customer.realised_clv:,.0f} currency units",
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
        title: Title of the page (default "Run dashboard"), shown as written.

    Returns:
        The figure (2 x 2, or 2 x 3 with CLV).
    """
    ncols = 2 if clv is None else 3
    fig, axes = new_figure(2, ncols, figsize=(8.0 * ncols, 9))
    _draw_lifecycle(axes[0, 0], series)
    _draw_ladder(axes[0, 1], series)
    _draw_monthly_rate(axes[1, 0], series, "retention_rate")
    _draw_defections_over_time(axes[1, 1], series)
    if clv is not None:
        values, nothing = _clean_clv(clv)
        _draw_clv_histogram(axes[0, 2], values, nothing)
        _draw_pareto(axes[1, 2], values, nothing=nothing)
    fig.suptitle(literal(title or "Run dashboard"), fontsize=15, fontweight="bold")
    return fig


def plot_whale_curves(curves: Mapping[str, Any], top_share: float = 0.2) -> Figure:
    """Whale curves of one or more runs: cumulative profit by customers ranked by profit.

    For each run the customers are ranked from most to least profitable
    (:func:`crmsim.economics.whale_curve`) and the running total of their profit is
    drawn as a share of the run's total profit. A curve that rises above 100% and
    comes back down shows customers who lose money; the share of profit brought by
    the top ``top_share`` of customers (Pareto's 80/20 rule) is given in the legend.

    Args:
        curves: Profit per customer (currency) of each run, by the label to show
            (e.g. ``{"baseline": customers["lifetime_clv"]}``), in the order to draw.
        top_share: Share of customers whose share of profit the legend gives.

    Returns:
        The figure; a panel that says why when no run has a positive total profit.
    """
    fig, ax = new_figure(figsize=(8.5, 4.8))
    ax.set_title("The whale curve: who brings the profit")
    ax.set_xlabel("Share of customers, most profitable first (%)")
    ax.set_ylabel("Cumulative share of total profit (%)")
    _draw_every_customer_equal(ax)
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, max(len(curves), 1)))
    drawn, peak = 0, 100.0
    for color, (label, values) in zip(colors, curves.items(), strict=False):
        curve = whale_curve(values)
        profit = curve["share_of_profit"].to_numpy() * 100
        if curve.shape[0] < 2 or not np.isfinite(profit[-1]):
            continue
        top = pareto_share(np.asarray(values, dtype=np.float64)[np.isfinite(values)], top_share)
        ax.plot(
            curve["share_of_customers"].to_numpy() * 100,
            profit,
            color=color,
            linewidth=2,
            label=literal(
                f"{label}: top {top_share:.0%} bring {top:.0%}, peak {profit.max():.0f}%"
            ),
        )
        drawn, peak = drawn + 1, max(peak, float(profit.max()))
    if not drawn:
        empty_panel(ax, "No run has a positive total profit:\nno share of it to show.")
        return fig
    ax.axhline(100, color="#333333", linewidth=0.8)
    ax.axvline(top_share * 100, color="#333333", linewidth=0.8, linestyle="--")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, peak * 1.08)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    return fig


def plot_return_chances(model: CRMModel, max_months_gone: int = 24) -> Figure:
    """The door closes: a lost customer's chance of coming back, by months gone and reason.

    Left: the chance per month of coming back on their own (the scenario's
    ``reacquisition`` settings: it halves every half-life and depends on why the
    customer left). Right: the chance that a contacted defector accepts a win-back
    offer (the ``win_back`` strategy's own half-life and service recovery), for the
    reasons the campaign targets, or a panel saying the run has no campaign.

    Args:
        model: A model (run or not) of the scenario to draw.
        max_months_gone: Months gone shown on the horizontal axis.

    Returns:
        The figure (two panels).
    """
    fig, (left, right) = new_figure(1, 2, figsize=(12, 4.3))
    months = np.arange(1, max(int(max_months_gone), 1) + 1)
    p = model.scenario.params.reacquisition
    natural = return_chance_by_month(p.return_probability_per_month, p.half_life_months, months[-1])
    recoverability = model.relationships.recoverability
    win_back = next((s for s in model.firm.strategies if s.name == "win_back"), None)
    left.set_title("Coming back on their own")
    right.set_title("Accepting a win-back offer")
    left.set_ylabel("Chance of coming back (% per month)")
    right.set_ylabel("Chance of accepting (% per offer)")
    for ax in (left, right):
        ax.set_xlabel("Months since the customer left")
    for code, reason in enumerate(DEFECTION_REASONS):
        # Dashes as well as colours: reasons equally recoverable draw the same line.
        dashes = ("-", "--", "-.", ":")[code % 4]
        style = {
            "color": REASON_COLORS[reason],
            "linewidth": 2,
            "linestyle": dashes,
            "label": reason,
        }
        left.plot(months, natural[months] * recoverability[code] * 100, **style)
        if win_back is not None and win_back.targeted_reason[code]:
            reasons = np.full(months.size, code)
            right.plot(
                months, win_back.offer_chance(recoverability, reasons, months) * 100, **style
            )
    if win_back is None:
        empty_panel(right, "This run has no win-back campaign\n(the win_back strategy is off).")
    else:
        right.legend(loc="upper right", frameon=False, fontsize=8, title="Why they left")
    left.legend(loc="upper right", frameon=False, fontsize=8, title="Why they left")
    for ax in (left, right):
        ax.set_xlim(1, months[-1] if months.size > 1 else 2)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=1))
    return fig


__all__ = [
    "plot_funnel_costs",
    "plot_clv_distribution",
    "plot_cohort_survival",
    "plot_customer_history",
    "plot_defections_by_reason",
    "plot_ladder",
    "plot_lifecycle",
    "plot_retention",
    "plot_run_dashboard",
    "plot_return_chances",
    "plot_satisfaction",
    "plot_whale_curves",
]
