"""What the lessons show besides the run figures: settings in plain words, CLV row by row.

A lesson keeps its code short and its prose long, so the tables and figures it
needs live here:

- :func:`settings_table`: a scenario's settings with plain labels, values, units
  and meanings (never a dotted code path in front of a student);
- :func:`clv_spreadsheet` and :func:`plot_clv_build_up`: customer lifetime value
  built month by month, as in the classic spreadsheet exercise, for one customer
  or a cohort;
- :func:`textbook_scenario`: the market of the textbook formula (one cohort,
  the same bill and the same chance of leaving for everyone, nobody won or won
  back), in which the lab must agree with the margin multiple;
- :func:`plot_programme_holdout`: a loyalty programme's members against the
  would-be members of its holdout, and the effect measured against the one applied;
- :func:`win_back_campaigns`: what a win-back campaign achieved in several runs;
- :func:`lifetime_values`, :func:`retention_by_tenure` and :func:`cohort_values`:
  where the 80/20 pattern comes from (whale curves, sorting, early and late customers);
- :func:`standard_error_by_replications`: how the precision of a paired difference
  grows with the number of runs;
- for the lifecycle (lesson 01): :func:`run_tracking_satisfaction` and
  :func:`plot_value_and_expectation` (both sides of satisfaction, month by month),
  :func:`yearly_cohort_survival`
  and :func:`yearly_cohorts` (whole years of new customers beside the firm's customers
  at month 0), :func:`eventful_customer` (a followed life worth telling),
  :func:`acquisition_sources` (what each way of winning customers brought) and
  :func:`lifecycle_facts` (the run's main numbers, each with its unit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from crmsim.analytic import margin_multiple
from crmsim.config.scenario import Scenario, load_scenario
from crmsim.economics import (
    cohort_survival,
    funnel_conversion,
    segment_table,
    yearly_retention_by_tenure,
)
from crmsim.engine.customers import Customer
from crmsim.engine.model import CRMModel
from crmsim.measures import run_measure
from crmsim.report.style import (
    SCENARIO_COLORS,
    TIER_COLORS,
    empty_panel,
    format_thousands,
    literal,
    new_figure,
    pretty_name,
)
from crmsim.strategies.fire_marginal_customers import lowest_share
from crmsim.study.compare import compare
from crmsim.study.runs import scenario_for_months, study_runs
from crmsim.study.stats import mean_confidence_interval, paired_interval
from crmsim.vocabulary import ACTIVE, INITIAL_BASE, REFERRAL, TIERS

SPREADSHEET_COLUMNS: dict[str, str] = {
    "month": "months since the first purchase (0 = the month of the first purchase)",
    "survival": "share of the customers still with the firm that month (retention ** month)",
    "customers": "expected customers still with the firm (cohort size x survival)",
    "margin": "margin per customer still with the firm (currency per customer-month)",
    "discount factor": "1 / (1 + monthly discount rate) ** month",
    "discounted margin": "customers x margin x discount factor (currency)",
    "cumulative": "discounted margins summed up to this month (currency)",
}
"""The columns of :func:`clv_spreadsheet` and what each holds, with its unit."""

HOLDOUT_MEASURES: tuple[str, ...] = (
    "loyalty_program_retention_members",
    "loyalty_program_retention_holdout",
    "loyalty_program_churn_reduction",
    "loyalty_program_true_churn_reduction",
)
"""The loyalty programme's monthly measures :func:`plot_programme_holdout` draws."""


def clv_spreadsheet(
    margin_per_month: float,
    retention_per_month: float,
    discount_rate_per_month: float,
    months: int,
    customers: float = 1.0,
    margin_timing: str = "start",
) -> pd.DataFrame:
    """Customer lifetime value built month by month, as in the classic spreadsheet.

    Each row is a month of the relationship. A share ``retention ** month`` of the
    customers is still there (constant retention); each pays ``margin_per_month``;
    a margin ``month`` months away is worth ``1 / (1 + i) ** month`` today. The
    discounted margins, summed, are the cohort's value; divided by ``customers``,
    one customer's CLV. With ``margin_timing="start"`` (the lab's default)
    customers pay at the start of each month, the month of the first purchase
    included; with ``"end"`` they pay at its end, only if they stayed, so the
    first row is month 1 and its survival already ``retention``.

    Summed over an endless horizon the rows give ``margin x`` the margin multiple
    (:func:`crmsim.analytic.margin_multiple`); a finite sheet falls short of it by
    the margins beyond its last row.

    Args:
        margin_per_month: Margin per customer and month (currency per customer-month).
        retention_per_month: Chance a customer stays another month, 0 <= r < 1.
        discount_rate_per_month: Monthly discount rate, >= 0.
        months: Rows of the sheet (months of margins), >= 1.
        customers: Size of the cohort at its first purchase (1 = one customer).
        margin_timing: ``"start"`` or ``"end"``.

    Returns:
        One row per month, the columns of :data:`SPREADSHEET_COLUMNS`.

    Raises:
        ValueError: A retention outside [0, 1), a negative discount rate, fewer than
            one month or cohort member, or an unknown timing.
    """
    # margin_multiple checks the rates and the timing with the closed form's own messages.
    margin_multiple(retention_per_month, discount_rate_per_month, margin_timing)  # type: ignore[arg-type]
    if isinstance(months, bool) or int(months) != months or months < 1:
        raise ValueError(f"months must be a whole number >= 1, got {months!r}")
    if not customers > 0:
        raise ValueError(f"customers must be > 0, got {customers!r}")
    first = 0 if margin_timing == "start" else 1
    month = np.arange(first, first + int(months))
    survival = retention_per_month**month
    factor = 1.0 / (1.0 + discount_rate_per_month) ** month
    discounted = customers * survival * margin_per_month * factor
    return pd.DataFrame(
        {
            "month": month,
            "survival": survival,
            "customers": customers * survival,
            "margin": np.full(month.size, float(margin_per_month)),
            "discount factor": factor,
            "discounted margin": discounted,
            "cumulative": np.cumsum(discounted),
        }
    )


def plot_clv_build_up(sheet: pd.DataFrame, lifetime_value: float | None = None) -> Figure:
    """How the discounted margins of :func:`clv_spreadsheet` add up to the lifetime value.

    Bars: each month's discounted margin (it shrinks as customers leave and the
    future is discounted). Line: the running total, which levels off towards the
    lifetime value (dashed, when given).

    Args:
        sheet: A table from :func:`clv_spreadsheet`.
        lifetime_value: The value of the endless sheet (the closed form), drawn as a
            dashed line; None draws none.

    Returns:
        The figure, two panels.
    """
    fig, (bars, total) = new_figure(1, 2, figsize=(12.0, 4.2))
    per = "per customer" if np.isclose(sheet["customers"].iloc[0], 1.0) else "for the cohort"
    bars.bar(sheet["month"], sheet["discounted margin"], color="#2171b5", width=0.85)
    bars.set(
        title=f"Each month's discounted margin, {per}",
        xlabel="Months since the first purchase",
        ylabel="Discounted margin (currency)",
    )
    total.plot(
        sheet["month"],
        sheet["cumulative"],
        color="#2171b5",
        linewidth=2.2,
        label="running total of the sheet",
    )
    if lifetime_value is not None:
        total.axhline(
            lifetime_value,
            color="#333333",
            linestyle="--",
            linewidth=1.3,
            label="lifetime value (endless horizon, closed form)",
        )
    total.set(
        title=f"CLV adds up, {per}",
        xlabel="Months since the first purchase",
        ylabel="Discounted margins so far (currency)",
    )
    total.set_ylim(bottom=0)
    for ax in (bars, total):
        ax.yaxis.set_major_formatter(FuncFormatter(format_thousands))
    total.legend(frameon=False, loc="lower right")
    return fig


def textbook_scenario(
    churn_per_month: float = 0.05,
    monthly_bill: float = 40.0,
    gross_margin: float = 0.35,
    discount_rate_per_year: float = 0.10,
    name: str = "textbook",
) -> Scenario:
    """The market the textbook CLV formula assumes, as a scenario the lab can run.

    One cohort, all of them new customers at month 0; every customer pays the same
    bill and has the same chance of leaving each month; nobody is acquired, enters,
    is referred, poached, lost to the market or won back; every rung of the ladder
    behaves alike and serving costs nothing. Its customers' mean CLV must then
    agree with the margin multiple (``tests/test_docking.py`` checks the model in
    this market to four standard errors).

    Args:
        churn_per_month: Every customer's chance of leaving each month.
        monthly_bill: Every customer's bill (currency per month).
        gross_margin: Share of the bill the firm keeps.
        discount_rate_per_year: The firm's discount rate per year.
        name: The scenario's name.

    Returns:
        The scenario (validated; a setting out of range raises its usual message).
    """
    return load_scenario("baseline").with_changes(
        {
            "market.initial_active_share": 1.0,
            "market.warm_start_months": 0,
            "market.entry_rate_per_month": 0.0,
            "market.exit_rate_per_month": 0.0,
            "market.obsolescence_rate_per_month": 0.0,
            "market.technology_shock_month": None,
            "customers.churn_probability_mean": churn_per_month,
            "customers.churn_probability_polarization": 0.0,
            "customers.order_value_mean": monthly_bill,
            "customers.order_value_spread": 0.0,
            "customers.share_of_wallet_polarization": 0.0,
            "ladder.churn_multiplier": [1.0] * 5,
            "ladder.spend_multiplier": [1.0] * 5,
            "ladder.price_sensitivity_multiplier": [1.0] * 5,
            "ladder.referrals_per_month": [0.0] * 5,
            "firm.gross_margin": gross_margin,
            "firm.discount_rate_per_year": discount_rate_per_year,
            "firm.cost_to_serve_per_month": 0.0,
            "firm.service_defection_sensitivity": 0.0,
            "firm.organisational_failure_rate_per_month": 0.0,
            "acquisition.budget_per_month_per_1000_people": 0.0,
            "acquisition.deterrence_per_defector": 0.0,
            "competitor.reach_per_month": 0.0,
            "competitor.product_advantage_rate_per_month": 0.0,
            "reacquisition.return_probability_per_month": 0.0,
        },
        name=name,
    )


def plot_programme_holdout(series: pd.DataFrame) -> Figure:
    """A loyalty programme measured against its holdout, month by month.

    Left: monthly retention of members and of would-be members (customers held
    out at random, who "join" but get nothing), pooled since the programme
    started. Right: the churn reduction this comparison measures, beside the one
    the model applied to members (which no firm can see).

    Args:
        series: The monthly series of a run with the ``loyalty_program`` strategy
            (``model.monthly_series()``).

    Returns:
        The figure, two panels; a panel says so when the programme has no holdout
        or has not started.
    """
    fig, (left, right) = new_figure(1, 2, figsize=(12.0, 4.2))
    left.set(
        title="Retention: members and would-be members (pooled)",
        xlabel="Month",
        ylabel="Retention (% per month)",
    )
    right.set(
        title="Churn reduction: measured and applied",
        xlabel="Month",
        ylabel="Churn reduction (% of churn)",
    )
    missing = [name for name in HOLDOUT_MEASURES if name not in series.columns]
    shown = series.dropna(subset=[n for n in HOLDOUT_MEASURES if n in series.columns])
    if missing or shown.empty:
        why = (
            "The run has no loyalty programme."
            if missing
            else "No month with members and would-be members yet (no holdout, or not started)."
        )
        empty_panel(left, why)
        empty_panel(right, why)
        return fig
    month = shown["month"]
    lines = (
        (left, "retention_members", TIER_COLORS["member"], "-", 2.2, "members"),
        (left, "retention_holdout", "#969696", "-", 2.2, "would-be members (holdout)"),
        (
            right,
            "churn_reduction",
            "#2171b5",
            "-",
            2.2,
            "measured: 1 - churn of members / churn of holdout",
        ),
        (
            right,
            "true_churn_reduction",
            "#333333",
            "--",
            1.5,
            "applied by the model (hidden from the firm)",
        ),
    )
    for ax, series, colour, style, width, label in lines:
        ax.plot(
            month,
            100 * shown[f"loyalty_program_{series}"],
            color=colour,
            linestyle=style,
            linewidth=width,
            label=label,
        )
    right.axhline(0, color="#999999", linewidth=0.8)
    for ax in (left, right):
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=1))
        ax.legend(frameon=False, loc="lower right", fontsize=9)
    return fig


def headline_table(summary: Mapping[str, object], names: Sequence[str]) -> pd.DataFrame:
    """A run's headline measures as a student reads them: label, value, unit.

    Args:
        summary: ``model.summary()`` of a run.
        names: Run measures to show (names of :data:`crmsim.measures.RUN_MEASURES`).

    Returns:
        One row per measure, indexed by its label, with the value formatted in the
        measure's shown unit (a retention rate in %) and the unit.

    Raises:
        KeyError: A name that is not a run measure (the registry's message).
    """
    rows = []
    for name in names:
        measure = run_measure(name)
        shown_unit = measure.unit if measure.scale == 1.0 else measure.unit.replace("share", "%")
        rows.append(
            {
                "measure": measure.label,
                "value": measure.format(summary[name]),  # type: ignore[arg-type]
                "unit": shown_unit,
            }
        )
    return pd.DataFrame(rows).set_index("measure")


def clv_by_horizon(
    scenario: Scenario | str, horizons: Sequence[int], seed: int, customers: int
) -> pd.DataFrame:
    """Realised and lifetime CLV of the firm's customers at month 0, as the run grows longer.

    The same market (same seed) is run for each horizon. Realised value counts only
    the margins and costs up to the end of the run, so it grows with the horizon;
    lifetime CLV adds what each customer still active is expected to bring, so it
    should hardly move. Both are the mean over the customers of month 0 (the initial
    base), who are the same people whatever the horizon.

    Args:
        scenario: A scenario, or the name or path of one.
        horizons: Lengths of the run, in months.
        seed: The seed of every run.
        customers: People in the market at month 0.

    Returns:
        One row per horizon: ``months``, ``realised`` and ``lifetime`` (currency per
        customer), and ``still active`` (share of the initial base active at the end).
    """
    rows = []
    for months in horizons:
        model = CRMModel(scenario, rng=seed, customers=customers).run(int(months))
        base = model.customer_frame().query("source == 'initial_base'")
        rows.append(
            {
                "months": int(months),
                "realised": float(base["realised_clv"].mean()),
                "lifetime": float(base["lifetime_clv"].mean()),
                "still active": float((base["stage"] == "active").mean()),
            }
        )
    return pd.DataFrame(rows)


def plot_clv_by_horizon(table: pd.DataFrame) -> Figure:
    """Realised against lifetime CLV as the run grows longer (:func:`clv_by_horizon`).

    Args:
        table: The table of :func:`clv_by_horizon`.

    Returns:
        The figure.
    """
    fig, ax = new_figure(figsize=(8.0, 4.2))
    ax.plot(
        table["months"],
        table["realised"],
        "o-",
        color="#2171b5",
        linewidth=2,
        label="realised CLV (margins and costs so far)",
    )
    ax.plot(
        table["months"],
        table["lifetime"],
        "s--",
        color="#333333",
        linewidth=1.5,
        label="lifetime CLV (so far + expected to come)",
    )
    ax.set(
        title="The firm's customers at month 0: CLV measured at the end of runs of each length",
        xlabel="Length of the run (months)",
        ylabel="Mean CLV (currency per customer)",
    )
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(format_thousands))
    ax.legend(frameon=False, loc="lower right")
    return fig


def standard_error_by_replications(
    reference: Scenario | str,
    option: Scenario | str,
    replications: Sequence[int],
    *,
    seed: int,
    customers: int,
    months: int,
    measure: str = "value_of_customer_base",
    workers: int | None = 1,
) -> pd.Series:
    """The standard error of one option's paired difference, as the number of runs grows.

    Each number of replications is a study of its own (``compare`` with the same seed),
    so each standard error carries its own luck: it falls with the square root of the
    number of runs only on average.

    Args:
        reference: The base scenario (or its name).
        option: The option compared with it (or its name).
        replications: Numbers of paired runs to try (each at least 2).
        seed: The seed of every study.
        customers: People in the market.
        months: Months simulated.
        measure: The run measure whose difference is read.
        workers: Processes to run on (1: this one; None: one per core); the numbers
            are the same.

    Returns:
        The standard error (in the measure's unit), indexed by ``replications``.
    """
    errors = {}
    for count in replications:
        study = compare(
            [reference, option],
            replications=int(count),
            seed=seed,
            customers=customers,
            months=months,
            workers=workers,
        )
        rows = study.differences.query("measure == @measure")
        errors[int(count)] = float(rows.iloc[0]["standard_error"])
    return pd.Series(errors, name="standard error").rename_axis("replications")


def lifetime_values(
    scenarios: Mapping[str, Scenario | str],
    *,
    seed: int,
    customers: int,
    months: int,
    measure: str = "lifetime_clv",
) -> dict[str, pd.Series]:
    """Run each market once and keep every customer's value: the input of a whale curve.

    Args:
        scenarios: Markets to run, by label.
        seed: The seed of every run (the same luck for every market).
        customers: People in each market.
        months: Months simulated.
        measure: A per-customer column of ``customer_frame()``: ``"lifetime_clv"`` or
            ``"realised_clv"`` (currency per customer).

    Returns:
        For each label, in the order given, the value of every person who ever bought.
    """
    values = {}
    for label, scenario in scenarios.items():
        model = CRMModel(scenario, rng=seed, customers=customers).run(months)
        values[label] = model.customer_frame()[measure].rename(label)
    return values


def retention_by_tenure(
    scenarios: Mapping[str, Scenario | str],
    *,
    seed: int,
    customers: int,
    months: int,
    years: int = 4,
) -> pd.DataFrame:
    """The share of customers who stay through each year of their tenure, market by market.

    Pools, in each market, every customer acquired early enough to be followed for
    ``years`` years (:func:`crmsim.economics.yearly_retention_by_tenure`). Among customers
    who differ in their propensity to leave and never change, it rises with tenure:
    the flighty leave first (sorting).

    Args:
        scenarios: Markets to run once each, by label.
        seed: The seed of every run.
        customers: People in each market.
        months: Months simulated (at least ``12 * years``).
        years: Years of tenure to follow.

    Returns:
        One column per market, one row per year of tenure, in % of the customers there
        at the start of the year.
    """
    table = pd.DataFrame(
        {
            label: yearly_retention_by_tenure(
                CRMModel(scenario, rng=seed, customers=customers).run(months).customers,
                months,
                years,
            )
            for label, scenario in scenarios.items()
        }
    )
    return table.mul(100).round(1).rename_axis("year of tenure")


def cohort_values(model: CRMModel) -> pd.DataFrame:
    """Early and late customers of a run: each cohort's size, mean lifetime CLV and survivors.

    Args:
        model: A run (``CRMModel(...).run(months)``).

    Returns:
        One row per cohort (``initial base``, the firm's customers at month 0, then
        ``year 1``, ``year 2``, ... by the year of their first purchase): ``customers``,
        ``mean lifetime CLV`` (currency per customer) and ``still active at the end (%)``.
    """
    table = segment_table(model.customer_frame(), "cohort", int(model.summary()["market_size"]))
    shown = pd.DataFrame(
        {
            "customers": table["customers"].astype(int),
            "mean lifetime CLV": table["mean_lifetime_clv"],
            "still active at the end (%)": 100 * table["active_share"],
        }
    )
    shown.index = [str(name).replace("_", " ") for name in shown.index]
    return shown.rename_axis("cohort").round(1)


WIN_BACK_COLUMNS: dict[str, str] = {
    "offers": "win-back offers made (offers)",
    "won back": "customers who accepted an offer and came back (customers)",
    "spend": "spent on the campaign: offers and returns (currency)",
    "cost per customer won back": "spend / won back (currency per customer)",
}
"""The columns of :func:`win_back_campaigns` and what each holds, with its unit."""


def win_back_campaigns(runs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """What a win-back campaign achieved in each of several runs, side by side.

    Args:
        runs: Monthly series (``model.monthly_series()``) of runs with the ``win_back``
            strategy, keyed by the label of their row.

    Returns:
        One row per run, the columns of :data:`WIN_BACK_COLUMNS` summed over the run;
        the cost per customer won back is missing (NaN) when nobody came back.

    Raises:
        ValueError: A run without the win-back campaign's measures.
    """
    rows = {}
    for label, series in runs.items():
        missing = {"win_back_offers", "win_back_returns", "win_back_spend"} - set(series.columns)
        if missing:
            raise ValueError(
                f"run {label!r} has no win-back campaign (missing {sorted(missing)}); "
                "pass the monthly series of runs with the win_back strategy"
            )
        offers, won, spend = (
            float(series[f"win_back_{name}"].sum()) for name in ("offers", "returns", "spend")
        )
        rows[label] = {
            "offers": offers,
            "won back": won,
            "spend": spend,
            "cost per customer won back": spend / won if won else float("nan"),
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(WIN_BACK_COLUMNS))


SATISFACTION_TRACK_COLUMNS: dict[str, str] = {
    "month": "month of the run",
    "customers": "the month's customers: active after the month's first purchases, those "
    "who then left included (customers)",
    "market_expectation": "what the market expected of a firm that month (value units)",
    "expectation": "mean expectation the month's customers judged the firm by (value units)",
    "delivered_value": "mean value the firm delivered to them (value units)",
    "satisfaction": "mean of delivered value - expectation (value units)",
}
"""The columns of :func:`run_tracking_satisfaction` and what each holds, with its unit."""


def run_tracking_satisfaction(model: CRMModel, months: int) -> pd.DataFrame:
    """Run a model on, month by month, keeping what its customers expected and what they got.

    The monthly series keeps one side of satisfaction = delivered value - expectation: its
    mean. This keeps both sides, each month, for the customers the month judged (the
    month's customers, those who then left included): the expectation they came into the
    month with (a relationship that starts this month starts with the market's
    expectation, ``crmsim.engine.relationships``) and the value they got, so that the
    means obey ``delivered_value - expectation == satisfaction``. The model runs exactly
    as ``model.run(months)`` would: its series, summary and customers are the same.

    Args:
        model: A model, run or not.
        months: Months to run on, a whole number >= 1 (the model's own limits apply: in a
            renewing market, no further than ``simulation.months``).

    Returns:
        One row per month run, the columns of :data:`SATISFACTION_TRACK_COLUMNS`; the means
        are NaN in a month without customers.

    Raises:
        ValueError: ``months`` is not a whole number >= 1, or runs past what the model
            allows (as ``CRMModel.run`` says it); the model has then not run.
    """
    model.check_months(months)  # the whole run, before any month runs rather than half-way
    rows = []
    for _ in range(int(months)):
        table = model.customers
        was_customer = table.stage == ACTIVE
        expected_before = table.expectation.copy()
        market = model.market_expectation
        model.run(1)
        judged = model.month_rows.customers
        expectation = np.where(
            was_customer[judged], expected_before[judged], np.float32(market)
        ).astype(np.float64)
        satisfaction = model.customers.satisfaction[judged].astype(np.float64)
        some = judged.size > 0
        rows.append(
            {
                "month": model.month - 1,
                "customers": int(judged.size),
                "market_expectation": float(market),
                "expectation": float(expectation.mean()) if some else float("nan"),
                "delivered_value": float((expectation + satisfaction).mean())
                if some
                else float("nan"),
                "satisfaction": float(satisfaction.mean()) if some else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=list(SATISFACTION_TRACK_COLUMNS))


def plot_value_and_expectation(track: pd.DataFrame) -> Figure:
    """Both sides of satisfaction, month by month (:func:`run_tracking_satisfaction`).

    Left: the mean value the firm delivered to its customers beside the mean expectation
    they judged it by (and the market's expectation, which theirs follows); the gap is
    shaded, green where customers got more than they expected, red where less. Right:
    the gap itself, the mean satisfaction.

    Args:
        track: The table of :func:`run_tracking_satisfaction`.

    Returns:
        The figure, two panels; a panel says so when no month had customers.
    """
    fig, (left, right) = new_figure(1, 2, figsize=(12.0, 4.2))
    left.set(
        title="What customers expect and what the firm delivers",
        xlabel="Month",
        ylabel="Value (value units, mean per customer)",
    )
    right.set(
        title="Satisfaction = delivered value − expectation",
        xlabel="Month",
        ylabel="Satisfaction (value units, mean)",
    )
    shown = track.dropna(subset=["delivered_value", "expectation"])
    if shown.empty:
        for ax in (left, right):
            empty_panel(ax, "No month had customers: nothing was delivered or expected.")
        return fig
    month = shown["month"].to_numpy()
    value = shown["delivered_value"].to_numpy()
    expected = shown["expectation"].to_numpy()
    marker = {"marker": "o"} if month.size == 1 else {}
    left.plot(month, value, color="#2171b5", linewidth=2.2, label="delivered value", **marker)
    left.plot(
        month,
        expected,
        color="#333333",
        linewidth=2.2,
        label="customers' expectation",
        **marker,
    )
    left.plot(
        month,
        shown["market_expectation"],
        color="#969696",
        linestyle=":",
        linewidth=1.5,
        label="the market's expectation",
        **marker,
    )
    left.fill_between(
        month,
        value,
        expected,
        where=value >= expected,
        color="#5aae61",
        alpha=0.3,
        interpolate=True,
        label="satisfied: more than expected",
    )
    left.fill_between(
        month,
        value,
        expected,
        where=value < expected,
        color="#d62728",
        alpha=0.3,
        interpolate=True,
        label="dissatisfied: less than expected",
    )
    left.legend(frameon=False, loc="lower right", fontsize=8)
    right.axhline(0, color="#333333", linewidth=0.8)
    right.plot(
        month,
        shown["satisfaction"],
        color="#756bb1",
        linewidth=2.2,
        label="mean satisfaction",
        **marker,
    )
    right.legend(frameon=False, loc="upper right", fontsize=8)
    return fig


FUNNEL_SOURCE_NAMES: dict[str, str] = {
    "mass": "mass marketing",
    "lookalike": "look-alike targeting",
    REFERRAL: "referral (word of mouth)",
}
"""How :func:`acquisition_sources` names the shipped sources of customers."""


def _source_label(name: str) -> str:
    if name == INITIAL_BASE:
        return "customers at month 0"
    return FUNNEL_SOURCE_NAMES.get(name, pretty_name(name))


BASE_COHORT = "before month 0 (the base)"
"""How :func:`yearly_cohort_survival` and :func:`yearly_cohorts` name the firm's customers at
month 0, acquired before the run (a warm-started base, ``market.warm_start_months``)."""


def _base_and_years(model: CRMModel, years: Sequence[int]) -> dict[str, tuple[np.ndarray, int]]:
    """The firm's customers at month 0 and each year's new customers: their rows (a mask)
    and the last month of first purchase of the group."""
    table = model.customers
    acquired = table.acquired_month.astype(np.int64)
    base = table.source == model.funnel.source_names.index(INITIAL_BASE)
    groups = {BASE_COHORT: (base, 0)}
    for year in years:
        if isinstance(year, bool) or int(year) != year or year < 1:
            raise ValueError(f"years must be whole numbers >= 1, got {year!r}")
        first, last = 12 * (int(year) - 1), 12 * int(year) - 1
        if last >= model.month:
            raise ValueError(
                f"year {year} is not over by the end of the run ({model.month} months): "
                f"choose years up to {model.month // 12}"
            )
        groups[f"year {year}"] = ((acquired >= first) & (acquired <= last) & ~base, last)
    return groups


def yearly_cohort_survival(model: CRMModel, years: Sequence[int]) -> pd.DataFrame:
    """Survival curves of whole years of new customers, beside the firm's customers at month 0.

    A month's new customers are too few for a smooth curve; a year of them (about twelve
    times as many) is not. Each curve is the share still in their first relationship, by
    months since their first purchase (:func:`crmsim.economics.cohort_survival`), up to the
    age every member of the group has reached by the end of the run.

    Args:
        model: A run.
        years: Years of the run whose new customers to follow (1 = months 0-11), each over
            by the end of the run.

    Returns:
        One column per group, named by when its customers were acquired (:data:`BASE_COHORT`
        for the firm's customers at month 0, then ``year 1``...), indexed by months since
        the first purchase, values 0..1 (empty past the ages a group has reached), as
        :func:`crmsim.report.plot_cohort_survival` draws it.

    Raises:
        ValueError: A year that is not a whole number >= 1 or is not over by the end.
    """
    curves = {}
    for label, (members, last) in _base_and_years(model, years).items():
        max_age = model.month - last
        curves[label] = pd.Series(
            cohort_survival(model.customers, max_age, end_month=model.month, among=members)
        )
    return pd.DataFrame(curves).rename_axis("age_months")


def yearly_cohorts(
    model: CRMModel, years: Sequence[int], ages: Sequence[int] = (12, 24)
) -> pd.DataFrame:
    """The groups of :func:`yearly_cohort_survival` side by side: size, survival, propensity.

    Beside each group's survival at a few ages it gives the mean of its customers' own
    propensity to leave (the ``churn_probability`` each customer is born with, before the
    ladder, satisfaction or the competitor act), so that a group which leaves faster can be
    told apart from a group of flightier people.

    Args:
        model: A run.
        years: As for :func:`yearly_cohort_survival`.
        ages: Months since the first purchase at which survival is read.

    Returns:
        One row per group: ``customers``, ``still customers after <age> months (%)`` for each
        age (NaN where the group has not reached it), and ``own propensity to leave (% per
        month)``.
    """
    survival = yearly_cohort_survival(model, years)
    table = model.customers
    rows = {}
    for label, (members, _) in _base_and_years(model, years).items():
        row: dict[str, float] = {"customers": int(members.sum())}
        for age in ages:
            curve = survival[label]
            row[f"still customers after {age} months (%)"] = (
                100 * float(curve.iloc[age]) if age < len(curve) else float("nan")
            )
        row["own propensity to leave (% per month)"] = 100 * float(
            table.churn_probability[members].mean(dtype=np.float64)
        )
        rows[label] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("acquired in").round(1)


def eventful_customer(model: CRMModel) -> Customer:
    """The followed customer whose life tells the most: who left and came back, and climbed.

    Among the followed customers (``CRMModel(follow=[...])``) it prefers, in this order,
    someone who left and came back, then the highest rung reached while a customer, then
    the longest history; the lowest row breaks a tie, so the choice is the same every run.

    Args:
        model: A run that followed some customers.

    Returns:
        The customer, with their history.

    Raises:
        ValueError: The model followed nobody.
    """
    if not model.followed:
        raise ValueError("the model followed nobody: run it with CRMModel(follow=[...])")

    def telling(person: Customer) -> tuple[bool, int, int, int]:
        stages = [month["stage"] for month in person.history]
        came_back = any(
            a == "defected" and b == "active" for a, b in zip(stages, stages[1:], strict=False)
        )
        highest = max(
            (TIERS.index(m["tier"]) for m in person.history if m["stage"] == "active"),
            default=-1,
        )
        return came_back, highest, len(person.history), -person.id

    return max((model.customer(i) for i in model.followed), key=telling)


def acquisition_sources(model: CRMModel) -> pd.DataFrame:
    """What each way of winning customers brought: cost, lifetime CLV and loss-makers.

    Args:
        model: A run.

    Returns:
        One row per source (the paid channels, referrals, the customers at month 0),
        indexed by a plain name: ``customers``, ``cost per acquisition (currency per
        customer)`` (NaN for the customers at month 0, won before the run), ``mean lifetime
        CLV`` and ``median lifetime CLV`` (currency per customer), and ``losing money (%)``
        (customers with a negative lifetime CLV).
    """
    frame = model.customer_frame()
    costs = {name: row["cost_per_acquisition"] for name, row in funnel_conversion(model).items()}
    rows = {}
    for name in model.funnel.source_names:
        clv = frame.loc[frame["source"] == name, "lifetime_clv"]
        if clv.empty:
            continue
        rows[_source_label(name)] = {
            "customers": int(clv.size),
            "cost per acquisition (currency per customer)": costs.get(name, float("nan")),
            "mean lifetime CLV (currency per customer)": float(clv.mean()),
            "median lifetime CLV (currency per customer)": float(clv.median()),
            "losing money (%)": 100 * float((clv < 0).mean()),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("source").round(0)


def lifecycle_facts(model: CRMModel, summary: Mapping[str, object]) -> pd.DataFrame:
    """The main numbers of a run of the lifecycle, each with its unit, for a lesson to discuss.

    Args:
        model: A run of at least three years.
        summary: ``model.summary()`` of that run (passed in: it is dear to compute).

    Returns:
        One row per fact, indexed by what it is: ``value`` (formatted) and ``unit``.

    Raises:
        ValueError: A run shorter than three years (it has no "from year three on").
    """
    series = model.monthly_series()
    if len(series) < 36:
        raise ValueError(
            f"the facts compare years one and three on: run at least 36 months, not {len(series)}"
        )
    clv = model.customer_frame()["realised_clv"].to_numpy()
    reasons = {k: float(v) for k, v in summary["defections_by_reason"].items()}  # type: ignore[union-attr]
    lost = sum(reasons.values())
    service = series["defections_service"]
    retention = 100 * series["retention_rate"]
    facts = [
        (
            "Mean satisfaction of active customers, first month",
            f"{series['mean_satisfaction'].iloc[0]:+.2f}",
            "value units",
        ),
        (
            "Mean satisfaction of active customers, last month",
            f"{series['mean_satisfaction'].iloc[-1]:+.2f}",
            "value units",
        ),
        ("Service defections, first two years", f"{service.iloc[:24].sum():,.0f}", "customers"),
        ("Service defections, last two years", f"{service.iloc[-24:].sum():,.0f}", "customers"),
        (
            "Lost to the competitor (price and product)",
            f"{100 * (reasons['price'] + reasons['product']) / lost:.0f}",
            "% of all defections",
        ),
        ("Retention, first year", f"{retention.iloc[:12].mean():.1f}", "% per month"),
        ("Retention, year three on", f"{retention.iloc[24:].mean():.1f}", "% per month"),
        (
            "Cost to win a customer",
            f"{summary['cost_per_acquisition']:,.0f}",
            "currency per customer",
        ),
        (
            "Cost to keep a customer for a year",
            f"{summary['cost_per_retained_customer_year']:,.0f}",
            "currency per customer-year",
        ),
        (
            "Realised profit brought by the top 20% of customers",
            f"{100 * summary['realised_pareto_share_top20']:.0f}",
            "% of realised profit",
        ),
        (
            "Customers who lost the firm money so far",
            f"{100 * (clv < 0).mean():.0f}",
            "% of customers",
        ),
    ]
    return pd.DataFrame(facts, columns=["fact", "value", "unit"]).set_index("fact")


# ------------------------------------------------------------------ firing customers
REVIEW_COLUMNS: dict[str, str] = {
    "expected CLV (firm)": "expected CLV as the firm estimates it, the ranking (currency)",
    "expected CLV (truth)": "expected CLV with each customer's own chance of staying (currency)",
    "margin per month": "expected margin next month, after the cost to serve (currency)",
    "stay a month (firm)": "chance of staying another month, the firm's estimate (0-1)",
    "stay a month (truth)": "each customer's own chance of staying another month (0-1)",
    "monthly bill": "the customer's bill at their basic share of wallet (currency per month)",
    "rung": "rung of the loyalty ladder",
    "price sensitivity": "price sensitivity on their rung (0-1)",
    "bottom": "in the bottom share of the firm's ranking: the share rule fires them",
    "bottom (truth)": "in the bottom share of a ranking by the true expected CLV",
}
"""The columns of :func:`review_ranking` and what each holds, with its unit."""


def review_ranking(model: CRMModel, min_tenure_months: int, bottom_share: float) -> pd.DataFrame:
    """The customers a firing review would judge now, ranked as the firm ranks them.

    As the ``fire_marginal_customers`` strategy does in a subscription market (where the
    firm knows every customer): the active customers who have been with the firm at least
    ``min_tenure_months`` are ranked by their expected CLV as the firm estimates it, and
    the lowest ``bottom_share`` of the ranking is marked (the same rule,
    :func:`crmsim.strategies.fire_marginal_customers.lowest_share`). Nobody is fired: the
    run is only read. The truth (each customer's own chance of staying) stands beside the
    estimate.

    Args:
        model: A run stopped at the month of the review.
        min_tenure_months: Months with the firm before a customer is judged (>= 0).
        bottom_share: Share of the reviewed customers the share rule fires (0 to 1).

    Returns:
        One row per reviewed customer, lowest expected CLV (the firm's) first, indexed by
        the customer's row in the customer table; the columns of :data:`REVIEW_COLUMNS`.

    Raises:
        ValueError: A negative tenure or a share outside 0 to 1.
    """
    if (
        isinstance(min_tenure_months, bool)
        or int(min_tenure_months) != min_tenure_months
        or (min_tenure_months < 0)
    ):
        raise ValueError(
            f"min_tenure_months must be a whole number >= 0; got {min_tenure_months!r}"
        )
    if not 0 <= bottom_share <= 1:
        raise ValueError(f"bottom_share must be a share from 0 to 1; got {bottom_share!r}")
    table = model.customers
    reviewed = np.flatnonzero((table.stage == ACTIVE) & (table.tenure_months >= min_tenure_months))
    firm_value = model.firm_valuation.expected_clv(reviewed).astype(float)
    true_value = model.expected_clv(reviewed).astype(float)
    frame = pd.DataFrame(
        {
            "expected CLV (firm)": firm_value,
            "expected CLV (truth)": true_value,
            "margin per month": model.firm_valuation.expected_margin_per_month(reviewed),
            "stay a month (firm)": model.firm_valuation.expected_retention(reviewed),
            "stay a month (truth)": model.expected_retention(reviewed),
            "monthly bill": table.order_value[reviewed],
            "rung": [TIERS[k] for k in table.tier[reviewed]],
            "price sensitivity": model.effective_price_sensitivity(reviewed),
            "bottom": False,
            "bottom (truth)": False,
        },
        index=pd.Index(reviewed, name="customer"),
    )
    frame.iloc[lowest_share(firm_value, bottom_share), frame.columns.get_loc("bottom")] = True
    frame.iloc[lowest_share(true_value, bottom_share), frame.columns.get_loc("bottom (truth)")] = (
        True
    )
    order = np.argsort(firm_value, kind="stable")
    return frame.iloc[order].astype({c: float for c in REVIEW_COLUMNS if c not in _NOT_FLOAT})


_NOT_FLOAT = ("rung", "bottom", "bottom (truth)")


def review_profile(ranking: pd.DataFrame) -> pd.DataFrame:
    """Who the bottom of a review's ranking is, against the rest of the reviewed customers.

    Args:
        ranking: The table of :func:`review_ranking`.

    Returns:
        Two columns, ``bottom`` and ``the rest``; one row per trait, its unit in its name:
        how many, their mean bill, margin, chances of staying (the firm's estimate and the
        truth), expected CLV (both), the share on the two lowest rungs, their price
        sensitivity and the share with an expected CLV above 0 (the firm's).
    """
    low_rungs = ranking["rung"].isin(TIERS[:2])
    columns = {}
    for label, rows in (("bottom", ranking["bottom"]), ("the rest", ~ranking["bottom"])):
        part = ranking[rows]
        columns[label] = {
            "customers": float(len(part)),
            "monthly bill (currency per month)": part["monthly bill"].mean(),
            "expected margin (currency per month)": part["margin per month"].mean(),
            "chance of staying a month, the firm's estimate (%)": 100
            * part["stay a month (firm)"].mean(),
            "chance of staying a month, the truth (%)": 100 * part["stay a month (truth)"].mean(),
            "expected CLV, the firm's estimate (currency)": part["expected CLV (firm)"].mean(),
            "expected CLV, the truth (currency)": part["expected CLV (truth)"].mean(),
            "on the two lowest rungs (%)": 100 * low_rungs[rows].mean(),
            "price sensitivity on their rung (0-1)": part["price sensitivity"].mean(),
            "expected CLV above 0, the firm's estimate (%)": 100
            * (part["expected CLV (firm)"] > 0).mean(),
        }
    return pd.DataFrame(columns).rename_axis("trait")


def plot_review_ranking(
    ranking: pd.DataFrame,
    share_color: str = SCENARIO_COLORS[1],
    threshold_color: str = SCENARIO_COLORS[2],
) -> Figure:
    """The ranking a firing review sees: who falls in the bottom share, and where zero lies.

    Left: the distribution of the firm's expected CLV among the reviewed customers (the
    top 5% left out of the frame, so the bottom shows), the bottom share in its own
    colour, the cut-off and the threshold rule's line at 0. Right: the lowest 40% of the
    ranking, customer by customer.

    Args:
        ranking: The table of :func:`review_ranking`.
        share_color: Colour of the share rule (the bottom share and its cut-off).
        threshold_color: Colour of the threshold rule (fire below 0).

    Returns:
        The figure, two panels; panels that say why when nobody was reviewed.
    """
    fig, (left, right) = new_figure(1, 2, figsize=(12.5, 4.6))
    left.set(
        title="Expected CLV of the reviewed customers\n"
        "(the firm's estimate; the top 5% lie off the frame)",
        xlabel="Expected CLV, the firm's estimate (currency per customer)",
        ylabel="Customers",
    )
    right.set(
        title="The bottom of the ranking: the lowest 40% of the reviewed",
        xlabel="Rank among the reviewed customers (%, lowest value first)",
        ylabel="Expected CLV, the firm's estimate (currency per customer)",
    )
    if ranking.empty:
        for ax in (left, right):
            empty_panel(ax, "Nobody was reviewed: no active customer has the tenure yet.")
        return fig
    value = ranking["expected CLV (firm)"].to_numpy(float)
    bottom = ranking["bottom"].to_numpy(bool)
    share = bottom.mean()
    cut_off = value[bottom].max() if bottom.any() else np.nan
    top = max(np.percentile(value, 95), value.min() + 1.0)  # one value still gets a bin
    bins = np.linspace(value.min(), top, 60)
    left.hist(value[~bottom & (value <= top)], bins=bins, color="#bdbdbd", label="kept")
    left.hist(value[bottom], bins=bins, color=share_color, label=f"bottom {share:.0%}: fired")
    left.axvline(0, color=threshold_color, linewidth=2, label="threshold rule: fire below 0")
    if np.isfinite(cut_off):
        left.axvline(cut_off, color=share_color, linestyle="--", linewidth=1.5, label="cut-off")
    left.legend(frameon=False, fontsize=8)
    left.xaxis.set_major_formatter(FuncFormatter(format_thousands))

    shown = max(1, int(0.4 * value.size))
    rank = np.arange(1, shown + 1) / value.size * 100
    right.plot(rank, value[:shown], color="#333333", linewidth=2, label="customers, lowest first")
    right.axvspan(0, 100 * share, color=share_color, alpha=0.15, label=f"bottom {share:.0%}")
    right.axhline(0, color=threshold_color, linewidth=2, label="expected CLV = 0 (threshold rule)")
    if np.isfinite(cut_off):
        right.axhline(cut_off, color=share_color, linestyle="--", linewidth=1.5, label="cut-off")
    right.legend(frameon=False, fontsize=8, loc="upper left")
    return fig


# ------------------------------------------------------------------ the firm's books
BOOK_COLUMNS: dict[str, str] = {
    "seed": "the seed of the replication (the study's seed for it)",
    "fired": "customers the firm fired (customers)",
    "acquired": "first purchases: new customers won (customers)",
    "mean month of first purchase": "when the new customers were won, on average (month)",
    "gross margin": "revenue less the cost of sales (currency, summed, undiscounted)",
    "cost to serve": "the cost of serving paying customers (currency, summed, undiscounted)",
    "other costs": "acquisition, programme and return costs (currency, summed, undiscounted)",
    "profit": "gross margin - cost to serve - other costs (currency, summed, undiscounted)",
    "discounted profit": "the profit discounted to month 0 (currency; a study's total_profit_pv)",
    "price defections": "customers lost to the competitor's offers (customers)",
    "customer-months": "customers at the start of each month, summed (customer-months)",
    "price defections per 1,000 customer-months": "price defections / customer-months x 1,000",
    "suspects left": "people not yet contacted or put off, at the end (% of the market)",
}
"""The columns of :attr:`FirmBooks.totals` and what each holds, with its unit."""


@dataclass(frozen=True)
class FirmBooks:
    """The firm's books over each replication of a study, without valuing the customers.

    Attributes:
        totals: One row per replication (its index), the columns of :data:`BOOK_COLUMNS`.
        attention: How hard the competitor courts the firm's base each month (1 = as hard
            as an average base; :meth:`crmsim.engine.players.Competitor.attention`): one
            row per month, one column per replication.
    """

    totals: pd.DataFrame
    attention: pd.DataFrame


def firm_books(
    scenario: Scenario | str, *, seed: int, replications: int, customers: int, months: int
) -> FirmBooks:
    """Run a scenario as a study does and add up the firm's books, replication by replication.

    Replication ``k`` has the seed a study (:func:`crmsim.study.compare`) with the same
    ``seed`` gives it, so these are the very runs of such a study (common random numbers):
    the discounted profit equals the study's ``total_profit_pv``. The customers are not
    valued (no run-off), which makes the books several times cheaper than a study's run.

    Args:
        scenario: A scenario, or the name or path of one.
        seed: The study's seed.
        replications: Runs (>= 1).
        customers: People in the market.
        months: Months simulated.

    Returns:
        The books (:class:`FirmBooks`).

    Raises:
        StudyError: Fewer than one replication (the study's message).
    """
    runs = study_runs([scenario], None, replications, seed, months, customers)
    totals, attention = [], {}
    for run in runs:
        chosen = scenario_for_months(Scenario(run.scenario, source="<books>"), months)
        model = CRMModel(chosen, rng=run.seed, customers=customers)
        courted = []
        for _ in range(months):
            model.step()
            courted.append(
                model.competitor.attention(np.flatnonzero(model.customers.stage == ACTIVE))
            )
        series = model.monthly_series()
        market = model.customers.size
        other = series[["acquisition_cost", "programme_cost", "return_cost"]].to_numpy().sum()
        acquired = float(series["acquired"].sum())
        totals.append(
            {
                "seed": run.seed,
                "fired": float(series["defections_fired"].sum()),
                "acquired": acquired,
                "mean month of first purchase": float((series["acquired"] * series["month"]).sum())
                / acquired
                if acquired
                else np.nan,
                "gross margin": float((series["revenue"] - series["cost_of_sales"]).sum()),
                "cost to serve": float(series["service_cost"].sum()),
                "other costs": float(other),
                "profit": float(series["profit"].sum()),
                "discounted profit": float(model.books.profit_pv),
                "price defections": float(series["defections_price"].sum()),
                "customer-months": float(series["active_at_start"].sum()),
                "suspects left": 100 * float(series["suspect"].iloc[-1]) / market,
            }
        )
        attention[run.replication] = courted
    frame = pd.DataFrame(
        totals, index=pd.Index([run.replication for run in runs], name="replication")
    )
    frame.insert(
        list(frame.columns).index("customer-months") + 1,
        "price defections per 1,000 customer-months",
        1000 * frame["price defections"] / frame["customer-months"],
    )
    monthly = pd.DataFrame(attention, index=pd.RangeIndex(1, months + 1, name="month"))
    return FirmBooks(frame[list(BOOK_COLUMNS)], monthly.rename_axis("replication", axis=1))


def books_difference(
    option: FirmBooks, reference: FirmBooks, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """What an option changes in the firm's books, paired replication by replication.

    Args:
        option: The books of the option (:func:`firm_books`).
        reference: The books of the scenario it is compared with, run with the same seeds.
        columns: Columns of :data:`BOOK_COLUMNS` to compare (default: every one but the seed).

    Returns:
        One row per column: the ``reference`` and ``option`` means, the mean paired
        ``difference`` (option - reference) and its 95% interval (``ci_low``, ``ci_high``).

    Raises:
        ValueError: The two were not run with the same seeds (their runs do not pair), or a
            column that is not a column of the books.
    """
    if not option.totals["seed"].equals(reference.totals["seed"]):
        raise ValueError(
            "the books were not run with the same seeds, so their runs do not pair: "
            "run both with firm_books(..., seed=, replications=) alike"
        )
    columns = [c for c in BOOK_COLUMNS if c != "seed"] if columns is None else list(columns)
    unknown = [c for c in columns if c not in BOOK_COLUMNS or c == "seed"]
    if unknown:
        raise ValueError(f"not columns of the books: {unknown}; allowed: {list(BOOK_COLUMNS)[1:]}")
    rows = {}
    for column in columns:
        a, b = option.totals[column].to_numpy(float), reference.totals[column].to_numpy(float)
        low, mean, high, _ = paired_interval(a, b)
        rows[column] = {
            "reference": float(np.nanmean(b)),
            "option": float(np.nanmean(a)),
            "difference": mean,
            "ci_low": low,
            "ci_high": high,
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("books")


def plot_profit_bridge(
    option: FirmBooks, reference: FirmBooks, title: str, color: str = SCENARIO_COLORS[1]
) -> Figure:
    """How an option's change in profit is made up: gross margin, cost to serve, other costs.

    Each bar is one part's effect on the profit of the run (a cost saved counts as a gain),
    the mean of the paired differences with its 95% interval; the last bar, their sum, is
    the change in profit.

    Args:
        option: The option's books (:func:`firm_books`).
        reference: The books it is compared with (same seeds).
        title: The figure's title (what the option is).
        color: The option's colour.

    Returns:
        The figure.
    """
    change = books_difference(
        option, reference, ["gross margin", "cost to serve", "other costs", "profit"]
    )
    sign = pd.Series({"gross margin": 1, "cost to serve": -1, "other costs": -1, "profit": 1})
    labels = {
        "gross margin": "gross margin (revenue - cost of sales)",
        "cost to serve": "cost to serve (a saving is a gain)",
        "other costs": "acquisition, programme and return costs",
        "profit": "change in profit",
    }
    effect = change["difference"] * sign
    # Without an interval (a single run) each bar stands alone: its interval is the bar's end.
    low = np.where(sign > 0, change["ci_low"], -change["ci_high"])
    high = np.where(sign > 0, change["ci_high"], -change["ci_low"])
    low = np.where(np.isfinite(low), low, effect)
    high = np.where(np.isfinite(high), high, effect)
    fig, ax = new_figure(figsize=(9.0, 3.8))
    positions = np.arange(len(effect))[::-1]
    shades = [to_rgba(color, 0.5)] * (len(effect) - 1) + [to_rgba(color, 0.95)]
    ax.barh(positions, effect, color=shades)
    ax.errorbar(
        effect,
        positions,
        xerr=[effect - low, high - effect],
        fmt="none",
        ecolor="#222222",
        capsize=4,
    )
    # Each number sits beyond its interval's far end, clear of the error bar.
    ends = np.where(effect >= 0, np.nan_to_num(high), np.nan_to_num(low))
    for y, value, end in zip(positions, effect, ends, strict=True):
        ax.annotate(
            f" {value:+,.0f} ",
            (end, y),
            va="center",
            ha="left" if value >= 0 else "right",
            fontsize=8,
        )
    ends = np.concatenate([low, high])
    ends = ends[np.isfinite(ends)]
    span = float(np.abs(ends).max()) if ends.size and np.abs(ends).max() > 0 else 1.0
    ax.set_xlim(min(0.0, *ends) - 0.25 * span, max(0.0, *ends) + 0.25 * span)
    ax.axvline(0, color="#333333", linewidth=1)
    ax.set_yticks(positions, [labels[name] for name in effect.index])
    replications = len(option.totals)
    runs = (
        "1 paired run: no confidence interval"
        if replications == 1
        else (f"mean of {replications} paired runs; error bars: 95% CI")
    )
    ax.set(
        title=f"{literal(title)}\n({runs})",
        xlabel="Effect on the profit of the run (currency, summed over the run, undiscounted)",
        ylabel="Part of the books",
    )
    ax.xaxis.set_major_formatter(FuncFormatter(format_thousands))
    ax.grid(False, axis="y")
    return fig


def plot_competitor_attention(
    books: Mapping[str, Mapping[str, FirmBooks]], colors: Mapping[str, str] | None = None
) -> Figure:
    """How hard competitors court the firm's base, and how often they take its customers.

    One panel per competitor: the competitor's attention month by month (mean over the
    replications), one line per option, each option in its own colour and line style, so
    lines that coincide stay visible (the panel says so when they do). The last panel: the
    price defections per 1,000 customer-months of each option against each competitor,
    with 95% intervals of the mean.

    Args:
        books: For each competitor (the panel's title), the books of each option
            (:func:`firm_books`), in the same option order for every competitor.
        colors: Colour of each option (default: the study palette in order).

    Returns:
        The figure.
    """
    competitors = list(books)
    options = list(dict.fromkeys(name for pair in books.values() for name in pair))
    colors = dict(colors or {})
    for k, name in enumerate(options):
        colors.setdefault(name, SCENARIO_COLORS[k % len(SCENARIO_COLORS)])
    styles = [("-", None, 2.6), ("--", "o", 1.8), (":", "s", 1.8), ("-.", "^", 1.8)]
    fig, axes = new_figure(
        1, len(competitors) + 1, figsize=(4.6 * (len(competitors) + 1), 4.4), squeeze=False
    )
    axes = list(axes[0])
    for ax, competitor in zip(axes, competitors, strict=False):
        means = {}
        for k, (name, part) in enumerate(books[competitor].items()):
            line, marker, width = styles[k % len(styles)]
            mean = part.attention.mean(axis=1)
            means[name] = mean.to_numpy(float)
            ax.plot(
                mean.index,
                mean,
                linestyle=line,
                marker=marker,
                markevery=12,
                linewidth=width,
                color=colors[name],
                label=literal(name),
            )
        ax.axhline(1, color="#969696", linewidth=0.8)
        values = list(means.values())
        if len(values) > 1 and all(np.allclose(v, values[0]) for v in values[1:]):
            ax.text(
                0.5,
                0.9,
                "the lines coincide: this competitor\ndoes not look at the base",
                transform=ax.transAxes,
                ha="center",
                va="top",
                fontsize=8,
                color="#555555",
            )
        ax.set(title=literal(competitor), xlabel="Month", ylabel="Attention (x an average base)")
        ax.legend(frameon=False, fontsize=8, loc="center right")
    top = max(ax.get_ylim()[1] for ax in axes[:-1])
    for ax in axes[:-1]:
        ax.set_ylim(0, top)
    bars = axes[-1]
    width = 0.8 / max(1, len(options))
    for k, name in enumerate(options):
        means, errors = [], [[], []]
        for competitor in competitors:
            rate = books[competitor][name].totals["price defections per 1,000 customer-months"]
            low, mean, high, _ = mean_confidence_interval(rate.to_numpy(float))
            means.append(mean)
            errors[0].append(np.nan_to_num(mean - low))
            errors[1].append(np.nan_to_num(high - mean))
        x = np.arange(len(competitors)) + (k - (len(options) - 1) / 2) * width
        bars.bar(x, means, width, color=colors[name], yerr=errors, capsize=4, label=literal(name))
    bars.set_xticks(range(len(competitors)), [literal(c) for c in competitors])
    bars.set(
        title="Price defections of the firm's customers",
        xlabel="Competitor",
        ylabel="Price defections per 1,000 customer-months",
    )
    bars.legend(frameon=False, fontsize=8, loc="upper left")
    bars.grid(False, axis="x")
    replications = max(len(part.totals) for pair in books.values() for part in pair.values())
    runs = (
        "1 run: no confidence interval"
        if replications == 1
        else (f"mean of {replications} runs; error bars: 95% CI")
    )
    fig.suptitle(f"The competitor's attention and its catch ({runs})", fontweight="bold")
    return fig


__all__ = [
    "BASE_COHORT",
    "FUNNEL_SOURCE_NAMES",
    "BOOK_COLUMNS",
    "FirmBooks",
    "REVIEW_COLUMNS",
    "books_difference",
    "firm_books",
    "plot_competitor_attention",
    "plot_profit_bridge",
    "plot_review_ranking",
    "review_profile",
    "review_ranking",
    "HOLDOUT_MEASURES",
    "SATISFACTION_TRACK_COLUMNS",
    "SPREADSHEET_COLUMNS",
    "acquisition_sources",
    "eventful_customer",
    "lifecycle_facts",
    "plot_value_and_expectation",
    "run_tracking_satisfaction",
    "yearly_cohort_survival",
    "yearly_cohorts",
    "clv_by_horizon",
    "clv_spreadsheet",
    "cohort_values",
    "headline_table",
    "lifetime_values",
    "plot_clv_build_up",
    "plot_clv_by_horizon",
    "plot_programme_holdout",
    "retention_by_tenure",
    "standard_error_by_replications",
    "WIN_BACK_COLUMNS",
    "textbook_scenario",
    "win_back_campaigns",
]
