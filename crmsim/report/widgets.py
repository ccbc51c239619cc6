"""Interactive explorers for students: move a slider, re-run the market, see what changes.

Each explorer re-runs a small, seeded market (a few thousand customers, a few
years) whenever a slider is released, and draws it next to the unchanged
scenario, so the effect of one lever can be read at a glance. The same seed is
used for every run: differences come from the lever, not from luck.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from matplotlib.ticker import FuncFormatter, PercentFormatter

from crmsim.analytic import margin_multiple
from crmsim.config.scenario import Scenario, load_scenario
from crmsim.economics import monthly_discount_rate
from crmsim.engine.model import CRMModel
from crmsim.measures import run_measure
from crmsim.report.lessons import clv_spreadsheet, plot_clv_build_up
from crmsim.report.style import format_thousands, literal, new_figure, set_retention_axis


@dataclass(frozen=True)
class Lever:
    """A slider on one scenario setting.

    Attributes:
        path: Dotted path of the setting, e.g. ``"firm.gross_margin"``.
        label: Short description shown next to the slider.
        minimum: Lowest value of the slider.
        maximum: Highest value of the slider.
        step: Step of the slider.
        fmt: Number format of the readout (``ipywidgets`` style, e.g. ``".3f"``).
        help: One sentence for students: what the lever is in the course.
        apply: Turns the slider value into scenario changes (default: set ``path``).
    """

    path: str
    label: str
    minimum: float
    maximum: float
    step: float
    fmt: str
    help: str
    apply: Callable[[Scenario, float], dict[str, Any]] | None = None

    def current(self, scenario: Scenario) -> float:
        """The value the scenario gives the lever."""
        value = scenario.get(self.path)
        if isinstance(value, list):  # the member rung of a ladder setting
            return float(value[2])
        return float(value)

    def changes(self, scenario: Scenario, value: float) -> dict[str, Any]:
        """Scenario changes (dotted path -> value) for a slider value."""
        if self.apply is not None:
            return self.apply(scenario, value)
        return {self.path: value}


def _member_churn(scenario: Scenario, value: float) -> dict[str, Any]:
    """Set the churn multiplier of members; advocates and raving fans keep their ratio to it."""
    ladder = list(scenario.get("ladder.churn_multiplier"))
    member = ladder[2] if ladder[2] > 0 else 1.0
    scaled = [ladder[0], ladder[1], value, value * ladder[3] / member, value * ladder[4] / member]
    return {"ladder.churn_multiplier": [round(float(x), 6) for x in scaled]}


LEVERS: tuple[Lever, ...] = (
    Lever(
        "competitor.offer_strength",
        "Competitor offer strength",
        0.0,
        1.0,
        0.05,
        ".2f",
        "Chance a fully price-sensitive customer takes the rival's deal (price defectors).",
    ),
    Lever(
        "market.expectation_drift_per_month",
        "Rise of expectations / month",
        0.0,
        0.01,
        0.0005,
        ".4f",
        "How fast the market's expectations rise (value units per month).",
    ),
    Lever(
        "firm.quality_improvement_per_month",
        "Firm's quality gain / month",
        0.0,
        0.01,
        0.0005,
        ".4f",
        "How fast the firm improves what it delivers (value units per month).",
    ),
    Lever(
        "acquisition.budget_per_month_per_1000_people",
        "Acquisition budget per 1,000 people",
        0.0,
        1_500.0,
        50.0,
        ",.0f",
        "Spend on mass and look-alike channels each month, per 1,000 people in the market "
        "(currency; 400 is 8,000 a month at 20,000 people, 2,000 at 5,000).",
    ),
    Lever(
        "firm.gross_margin",
        "Gross margin",
        0.05,
        0.8,
        0.05,
        ".2f",
        "Share of revenue kept after the cost of sales.",
    ),
    Lever(
        "ladder.churn_multiplier",
        "Churn multiplier, members",
        0.1,
        1.5,
        0.05,
        ".2f",
        "How much members switch relative to plain customers (higher rungs follow).",
        _member_churn,
    ),
    Lever(
        "reacquisition.half_life_months",
        "Win-back half-life (months)",
        1.0,
        36.0,
        1.0,
        ".0f",
        "Months after which a lost customer's chance of returning has halved.",
    ),
)
"""The levers of :func:`lifecycle_explorer`."""


@dataclass
class _Run:
    series: pd.DataFrame
    summary: dict[str, Any]


def _run(scenario: Scenario, customers: int, months: int, seed: int) -> _Run:
    model = CRMModel(scenario, rng=seed, customers=customers, follow=[])
    model.run(months)
    return _Run(model.monthly_series(), model.summary())


def _draw(run: _Run, reference: _Run) -> Any:
    fig, (left, right) = new_figure(1, 2, figsize=(11, 3.6))
    lowest = 100.0  # the lowest retention drawn, % per month
    for ax, column, label in (
        (left, "active", "Active customers"),
        (right, "retention_rate", "Customers kept (% per month)"),
    ):
        for data, color, style, name in (
            (reference, "#969696", "--", "unchanged scenario"),
            (run, "#2171b5", "-", "your settings"),
        ):
            values = data.series[column].astype(float)
            if column == "retention_rate":
                values = values.rolling(12, min_periods=1).mean() * 100
                lowest = min(lowest, float(np.nanmin(values, initial=100.0)))
            ax.plot(
                data.series["month"], values, color=color, linestyle=style, linewidth=2, label=name
            )
        ax.set_xlabel("Month")
        ax.set_ylabel(label)
    left.set_title("Active customers")
    left.yaxis.set_major_formatter(FuncFormatter(format_thousands))
    left.set_ylim(bottom=0)
    right.set_title("Monthly retention rate (12-month average)")
    set_retention_axis(right, [lowest])
    right.yaxis.set_major_formatter(PercentFormatter(decimals=1))
    left.legend(loc="lower left", frameon=False, fontsize=8)
    return fig


def _report(run: _Run, reference: _Run, months: int) -> str:
    # Labels are the registry's, except where the explorer says it shorter or names the month.
    rows = (
        ("mean_lifetime_clv", "Mean lifetime CLV, acquired", "{:,.0f} currency per customer"),
        ("customer_equity", f"Customer equity at month {months}", "{:,.0f} currency"),
        ("retention_rate", "Retention", "{:.2%} per month"),
        ("active_customers", None, "{:,.0f}"),
        ("total_profit_pv", None, "{:,.0f} currency"),
    )
    lines = []
    for key, own_label, fmt in rows:
        label = own_label or run_measure(key).label
        now, before = run.summary[key], reference.summary[key]
        lines.append(f"{label:<34} {fmt.format(now):>22}   (unchanged: {fmt.format(before)})")
    # A larger budget can use up the market: say how many people are left to win.
    now, before = (int(r.series["suspect"].iloc[-1]) for r in (run, reference))
    label = f"Suspects left at month {months}"
    lines.append(f"{label:<34} {now:>22,}   (unchanged: {before:,})")
    return "\n".join(lines)


def lifecycle_explorer(
    scenario: Scenario | str = "baseline",
    customers: int = 5_000,
    months: int = 60,
    seed: int = 1,
) -> widgets.VBox:
    """Sliders for the main levers of the customer lifecycle, re-running the model live.

    Levers: the competitor's offer strength, how fast expectations rise, how
    fast the firm improves, the acquisition budget, the gross margin, how much
    members switch, and how fast lost customers stop coming back. Each release
    of a slider re-runs the market (same seed) and redraws active customers and
    monthly retention next to the unchanged scenario, with mean lifetime CLV, customer
    equity, retention, active customers, profit and the suspects left (a big acquisition
    budget can use up the market) printed below.

    Args:
        scenario: A scenario or the name / path of one.
        customers: Market size of each run (people); small keeps runs fast.
        months: Months simulated in each run.
        seed: Seed of every run.

    Returns:
        The widget (display it, or leave it as the last line of a cell).
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    reference = _run(base, customers, months, seed)
    sliders: dict[Lever, widgets.FloatSlider] = {}
    for lever in LEVERS:
        value = lever.current(base)
        sliders[lever] = widgets.FloatSlider(
            value=value,
            min=min(lever.minimum, value),
            max=max(lever.maximum, value),
            step=lever.step,
            readout_format=lever.fmt,
            description=lever.label,
            tooltip=lever.help,
            continuous_update=False,
            style={"description_width": "190px"},
            layout=widgets.Layout(width="440px"),
        )
    reset = widgets.Button(
        description="Reset", tooltip="Back to the scenario's values", icon="undo"
    )
    output = widgets.Output()
    state = {"busy": False}

    def redraw(_change: Any = None) -> None:
        if state["busy"]:
            return
        changes: dict[str, Any] = {}
        for lever, slider in sliders.items():
            if not np.isclose(slider.value, lever.current(base)):
                changes.update(lever.changes(base, slider.value))
        with output:
            output.clear_output(wait=True)
            try:
                changed = base.with_changes(changes) if changes else base
            except ValueError as error:  # a setting the schema refuses
                print(f"These settings cannot run: {error}")
                return
            run = _run(changed, customers, months, seed) if changes else reference
            fig = _draw(run, reference)
            fig.suptitle(
                f"{literal(base.name)}: {customers:,} people, {months} months, seed {seed}",
                fontsize=11,
            )
            display(fig)
            plt.close(fig)
            print(_report(run, reference, months))

    def on_reset(_button: Any) -> None:
        state["busy"] = True
        try:
            for lever, slider in sliders.items():
                slider.value = lever.current(base)
        finally:
            state["busy"] = False
        redraw()

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    reset.on_click(on_reset)
    half = (len(LEVERS) + 1) // 2
    columns = widgets.HBox(
        [
            widgets.VBox(list(sliders.values())[:half]),
            widgets.VBox([*list(sliders.values())[half:], reset]),
        ]
    )
    redraw()
    return widgets.VBox([columns, output])


def clv_text(
    margin_per_month: float, retention_per_month: float, discount_rate_per_year: float
) -> str:
    """What :func:`clv_explorer` prints under its figure: the multiple and the CLV.

    Args:
        margin_per_month: Margin per customer and month (currency units).
        retention_per_month: Chance of staying another month, 0 <= r < 1.
        discount_rate_per_year: Yearly discount rate.

    Returns:
        Two lines: the margin multiple (months of margin) and the CLV (currency units),
        customers paying at the start of each month.
    """
    rate = monthly_discount_rate(discount_rate_per_year)
    multiple = margin_multiple(retention_per_month, rate, "start")
    return (
        f"Margin multiple: {multiple:,.1f} months of margin "
        f"(retention {retention_per_month:.1%} a month, discount {rate:.2%} a month)\n"
        f"CLV: {margin_per_month:,.2f} x {multiple:,.1f} = {margin_per_month * multiple:,.2f} "
        "currency units per customer"
    )


def clv_explorer(
    margin_per_month: float = 14.0,
    retention_per_month: float = 0.95,
    discount_rate_per_year: float = 0.10,
    months: int = 120,
) -> widgets.VBox:
    """Sliders for the three numbers of a CLV spreadsheet, redrawing its build-up live.

    Margin, monthly retention and the yearly discount rate; each release of a
    slider rebuilds the sheet (:func:`crmsim.report.lessons.clv_spreadsheet`, customers
    paying at the start of each month), redraws :func:`plot_clv_build_up` with the
    lifetime value of the margin multiple and prints :func:`clv_text`. Nothing is
    simulated: it is the spreadsheet of lesson 02, made live.

    Args:
        margin_per_month: Starting margin (currency units per customer-month).
        retention_per_month: Starting retention (share per month).
        discount_rate_per_year: Starting discount rate (per year).
        months: Rows of the sheet drawn.

    Returns:
        The widget (display it, or leave it as the last line of a cell).
    """
    style = {"description_width": "210px"}
    layout = widgets.Layout(width="480px")

    def slider(
        value: float, low: float, high: float, step: float, shown: str, what: str
    ) -> widgets.FloatSlider:
        return widgets.FloatSlider(
            value=value,
            min=low,
            max=high,
            step=step,
            readout_format=shown,
            description=what,
            continuous_update=False,
            style=style,
            layout=layout,
        )

    margin = slider(margin_per_month, 1.0, 50.0, 1.0, ",.0f", "Margin (currency units / month)")
    retention = slider(retention_per_month, 0.5, 0.99, 0.01, ".0%", "Retention (per month)")
    discount = slider(discount_rate_per_year, 0.0, 0.5, 0.01, ".0%", "Discount rate (per year)")
    output = widgets.Output()

    def redraw(_change: Any = None) -> None:
        rate = monthly_discount_rate(discount.value)
        sheet = clv_spreadsheet(margin.value, retention.value, rate, months)
        lifetime = margin.value * margin_multiple(retention.value, rate, "start")
        with output:
            output.clear_output(wait=True)
            fig = plot_clv_build_up(sheet, lifetime_value=lifetime)
            display(fig)
            plt.close(fig)
            print(clv_text(margin.value, retention.value, discount.value))

    for slider in (margin, retention, discount):
        slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([margin, retention, discount, output])


__all__ = ["LEVERS", "Lever", "clv_explorer", "clv_text", "lifecycle_explorer"]
