"""Every measure the lab reports, declared once: name, label, unit, level and direction.

Tables, CSV headers, figure axes, the command line and the widgets all read
this registry, so adding a measure means adding one :class:`Measure` here and
computing it in one place (a run measure in ``crmsim.economics.summary``, a
monthly one in ``crmsim.engine.record`` or a strategy's ``report``)::

    Measure("reacquisition_rate", "Reacquisition rate", "returns per defector-month",
            RUN, HIGHER)

A run measure is one number per run (the headline results); a monthly
measure is one number per month (the monthly series). ``direction`` says
which way is better for the firm, so a report can say whether a difference
is good news.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from crmsim.vocabulary import COST_KINDS, REASONS, STAGES, TIERS

RUN = "run"
MONTH = "month"
SEGMENT = "segment"
LEVELS = (RUN, MONTH, SEGMENT)

HIGHER = "higher"
LOWER = "lower"
NEITHER = "neither"
DIRECTIONS = (HIGHER, LOWER, NEITHER)


@dataclass(frozen=True)
class Measure:
    """One measure of a run or of a month.

    Attributes:
        name: Column name in tables, CSV files and the monthly series.
        label: What it is, for people ("Mean lifetime CLV of customers acquired").
        unit: Unit of the value as shown ("currency per customer", "% per month").
        level: ``"run"`` (one number per run), ``"month"`` (one per month) or
            ``"segment"`` (one per segment of customers in a run).
        direction: Which way is better for the firm: ``"higher"``, ``"lower"`` or
            ``"neither"``.
        short: Short header for terminal tables (default: the label).
        scale: Factor from the stored value to the shown unit (100 for a share
            shown in %).
        study: Reported for every run of a study (comparisons, sweeps).
    """

    name: str
    label: str
    unit: str
    level: str
    direction: str
    short: str = ""
    scale: float = 1.0
    study: bool = False

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"measure {self.name}: level must be one of {LEVELS}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"measure {self.name}: direction must be one of {DIRECTIONS}")

    @property
    def header(self) -> str:
        """Column header for terminal tables."""
        return self.short or self.label

    def format(self, value: float | None, signed: bool = False) -> str:
        """The value in its shown unit for a line of text or a table (see :func:`format_value`)."""
        return format_value(value, self.scale, signed)

    def format_interval(
        self, mean: float | None, low: float | None, high: float | None, signed: bool = False
    ) -> str:
        """ "mean [low, high]" in the shown unit (see :func:`format_interval`)."""
        return format_interval(mean, low, high, signed, self.scale)


def _run(name: str, label: str, unit: str, direction: str, **options) -> Measure:
    return Measure(name, label, unit, RUN, direction, **options)


def _month(name: str, label: str, unit: str, direction: str = NEITHER, **options) -> Measure:
    return Measure(name, label, unit, MONTH, direction, **options)


RUN_MEASURES: tuple[Measure, ...] = (
    # Lifetime CLV = realised value to date + the value still to come (horizon-free), both
    # discounted to the first purchase (crmsim.economics.lifetime_clv).
    _run(
        "mean_lifetime_clv",
        "Mean lifetime CLV of customers acquired",
        "currency per customer",
        HIGHER,
        short="lifetime CLV, acquired",
        study=True,
    ),
    _run(
        "lifetime_clv_per_person",
        "Lifetime CLV of customers acquired per person",
        "currency per person",
        HIGHER,
        short="lifetime CLV/person",
        study=True,
    ),
    _run(
        "value_of_customer_base",
        "Value of the customer base",
        "currency",
        HIGHER,
        short="value of the base",
        study=True,
    ),
    _run(
        "value_of_customer_base_per_person",
        "Value of the customer base per person in the market",
        "currency per person",
        HIGHER,
        short="value of the base/person",
        study=True,
    ),
    # Horizon-free: the value still to come by the model's own rules (ladder, satisfaction,
    # returns of lost customers), from a run-off of the market (crmsim.engine.run_off).
    _run(
        "customer_equity",
        "Customer equity at the end (all still to come)",
        "currency",
        HIGHER,
        short="customer equity",
        study=True,
    ),
    _run(
        "firm_customer_equity",
        "Customer equity at the end as the firm reckons it (firm.knowledge)",
        "currency",
        NEITHER,
        short="firm's equity",
        study=True,
    ),
    _run(
        "customer_equity_per_person",
        "Customer equity per person in the market",
        "currency per person",
        HIGHER,
        short="customer equity/person",
        study=True,
    ),
    _run(
        "customer_equity_with_future_cohorts",
        "Customer equity with future cohorts",
        "currency",
        HIGHER,
        short="equity with future cohorts",
        study=True,
    ),
    _run(
        "customer_equity_with_future_cohorts_per_person",
        "Customer equity with future cohorts per person",
        "currency per person",
        HIGHER,
        short="equity with future/person",
        study=True,
    ),
    _run(
        "mean_lifetime_clv_initial_base",
        "Mean lifetime CLV of the initial base",
        "currency per customer",
        HIGHER,
        short="lifetime CLV, initial base",
        study=True,
    ),
    _run(
        "retention_rate",
        "Retention rate",
        "% of customers per month",
        HIGHER,
        short="retention/month",
        scale=100.0,
        study=True,
    ),
    _run(
        "churn_rate",
        "Churn rate",
        "% of customers per month",
        LOWER,
        short="churn/month",
        scale=100.0,
        study=True,
    ),
    _run(
        "active_customers",
        "Active customers at the end",
        "customers",
        HIGHER,
        short="active at end",
        study=True,
    ),
    _run(
        "total_profit_pv",
        "Discounted profit of the run",
        "currency",
        HIGHER,
        short="discounted profit",
        study=True,
    ),
    _run(
        "mean_realised_value",
        "Mean realised value to date",
        "currency per customer",
        HIGHER,
        short="realised value to date",
        study=True,
    ),
    _run(
        "lifetime_pareto_share_top20",
        "Lifetime CLV share of the top 20% (acquired)",
        "% of lifetime CLV",
        NEITHER,
        short="top-20% lifetime CLV share",
        scale=100.0,
        study=True,
    ),
    _run(
        "median_realised_value",
        "Median realised value to date",
        "currency per customer",
        HIGHER,
    ),
    _run(
        "realised_pareto_share_top20",
        "Realised value share of the top 20%",
        "% of realised value",
        NEITHER,
        short="top-20% realised value share",
        scale=100.0,
    ),
    _run("customers_ever", "Customers ever", "customers", HIGHER),
    # The divisor of every measure per person (``clv_per_person``, ``customers_per_1000_
    # people``): the people ever in the market by the end of the run, those of month 0 and
    # every entrant so far (market.entry_rate_per_month). Nobody leaves the table (customers
    # lost to the market stay, as lost customers), so these are also the people in the
    # market at the end; rows kept for people who have not entered yet do not count.
    _run("market_size", "People in the market by the end", "people", NEITHER),
    _run("months", "Months simulated", "months", NEITHER),
    _run("total_revenue", "Revenue of the run", "currency", HIGHER),
    _run("total_profit", "Profit of the run (undiscounted)", "currency", HIGHER),
    _run(
        "mean_monthly_retention",
        "Mean of the monthly retention rates",
        "% of customers per month",
        HIGHER,
        scale=100.0,
    ),
    _run("reacquisition_rate", "Reacquisition rate", "returns per defector-month", HIGHER),
    _run("share_of_wallet", "Share of wallet", "% of category spend", HIGHER, scale=100.0),
    _run("mean_satisfaction", "Mean satisfaction", "value units", HIGHER),
    _run("cost_per_acquisition", "Cost per acquisition", "currency per customer", LOWER),
    _run(
        "cost_per_retained_customer_year",
        "Cost per retained customer-year",
        "currency per customer-year",
        LOWER,
    ),
    _run("acquisition_to_retention_cost_ratio", "Acquisition cost / retention cost", "x", NEITHER),
)
"""Headline measures of a run (``CRMModel.summary()``)."""

MONTHLY_MEASURES: tuple[Measure, ...] = (
    _month("month", "Month", "month"),
    _month("active_at_start", "Customers at the start of the month", "customers"),
    _month("entered", "People who entered the market", "people"),
    _month("acquired", "New customers (first purchases)", "customers", HIGHER),
    _month("new_prospects", "New prospects", "people", HIGHER),
    _month("referrals", "Prospects referred by word of mouth", "people", HIGHER),
    _month("lapsed_prospects", "Prospects who lost interest", "people", LOWER),
    _month("deterred_prospects", "Prospects put off by what leavers said", "people", LOWER),
    _month("promoted", "Customers who climbed a rung", "customers", HIGHER),
    _month("demoted", "Customers who slipped a rung", "customers", LOWER),
    *(
        _month(f"defections_{reason}", f"Defections: {reason}", "customers", LOWER)
        for reason in REASONS
    ),
    _month("defected_this_month", "Defections (all reasons)", "customers", LOWER),
    _month("retained", "Customers kept this month", "customers", HIGHER),
    _month("retention_rate", "Retention rate", "% of customers", HIGHER, scale=100.0),
    _month("churn_rate", "Churn rate", "% of customers", LOWER, scale=100.0),
    _month("returned", "Lost customers who came back", "customers", HIGHER),
    _month("won_back", "Customers won back by a campaign", "customers", HIGHER),
    _month("paying_customers", "Paying customers", "customers", HIGHER),
    _month("revenue", "Revenue", "currency", HIGHER),
    _month("cost_of_sales", "Cost of sales", "currency", LOWER),
    *(
        _month(f"{kind}_cost", f"{kind.capitalize()} cost", "currency", LOWER)
        for kind in COST_KINDS
    ),
    _month("profit", "Profit", "currency", HIGHER),
    # The month's reckoning at today's margin and retention (the margin multiple), cheap
    # enough for every month; the run's customer equity (a run measure) is horizon-free,
    # from a run-off of the market at the end (crmsim.engine.run_off).
    _month(
        "customer_equity",
        "Customer equity at today's margin and retention",
        "currency",
        HIGHER,
        short="customer equity",
    ),
    *(_month(stage, f"{stage.capitalize()}s", "people") for stage in STAGES),
    *(
        _month(
            f"tier_{tier}", f"Active customers on the {tier.replace('_', ' ')} rung", "customers"
        )
        for tier in TIERS
    ),
    _month("members", "Loyalty programme members", "customers"),
    _month("mean_satisfaction", "Mean satisfaction", "value units", HIGHER),
    _month("market_expectation", "Market expectation", "value units"),
    _month("competitor_offer_strength", "Competitor offer strength", "0..1", LOWER),
    _month("price_index", "Price index", "x market price"),
)
"""Measures of each month (``CRMModel.monthly_series()``), strategies' own apart."""

REGISTRY: dict[tuple[str, str], Measure] = {
    (m.level, m.name): m for m in (*RUN_MEASURES, *MONTHLY_MEASURES)
}
"""Every core measure by (level, name); strategies add their monthly measures."""

STUDY_MEASURES: tuple[str, ...] = tuple(m.name for m in RUN_MEASURES if m.study)
"""Run measures kept for every run of a study, in the order tables show them."""

STUDY_SERIES: tuple[str, ...] = (
    "active",
    "retention_rate",
    "churn_rate",
    "profit",
    "customer_equity",
)
"""Monthly series kept for every run of a study (for confidence bands over time)."""


def run_measure(name: str) -> Measure:
    """The run measure called ``name``.

    Raises:
        KeyError: No such run measure; the message lists the allowed names.
    """
    return _lookup(RUN, name)


def monthly_measure(name: str) -> Measure:
    """The core monthly measure called ``name`` (strategies declare their own)."""
    return _lookup(MONTH, name)


def _lookup(level: str, name: str) -> Measure:
    try:
        return REGISTRY[(level, name)]
    except KeyError:
        allowed = ", ".join(n for lvl, n in REGISTRY if lvl == level)
        raise KeyError(f"unknown {level} measure {name!r}; allowed: {allowed}") from None


def format_value(value: float | None, scale: float = 1.0, signed: bool = False) -> str:
    """A number as every table and line of text shows it: the one number style.

    Shares shown in % (``scale`` 100) get two decimals; other numbers are whole
    from 1,000 up or when they are whole (thousands separated), else two decimals.

    Args:
        value: The stored value (None or NaN is shown as ``nan``).
        scale: Factor from the stored value to the shown unit (:attr:`Measure.scale`).
        signed: Write a ``+`` before positive numbers (for differences).
    """
    return _format(value, scale, signed, _decimals([value], scale))


def format_interval(
    mean: float | None,
    low: float | None,
    high: float | None,
    signed: bool = False,
    scale: float = 1.0,
) -> str:
    """ "mean [low, high]" (with signs for differences), the one way intervals are written;
    "mean [no CI]" when there is no interval (a single replication, say).

    The three numbers share one number of decimals (see :func:`format_value`),
    chosen by the largest of them, so an interval reads as one quantity.
    """
    if not all(v is not None and math.isfinite(v) for v in (low, high)):
        return f"{_format(mean, scale, signed, _decimals([mean], scale))} [no CI]"
    decimals = _decimals([mean, low, high], scale)
    mean_text, low_text, high_text = (
        _format(v, scale, signed, decimals) for v in (mean, low, high)
    )
    return f"{mean_text} [{low_text}, {high_text}]"


def _decimals(values: list[float | None], scale: float) -> int:
    shown = [v * scale for v in values if v is not None and math.isfinite(v)]
    if scale == 1.0 and shown:
        if max(abs(v) for v in shown) >= 1000 or all(float(v).is_integer() for v in shown):
            return 0
    return 2


def _format(value: float | None, scale: float, signed: bool, decimals: int) -> str:
    if value is None or not math.isfinite(value):
        return "nan"
    return f"{value * scale:{'+' if signed else ''},.{decimals}f}"


# ----------------------------------------------------------------- segments
SEGMENT_DIMENSIONS: dict[str, str] = {
    "channel": "Acquisition channel",
    "cohort": "Cohort (year of first purchase)",
    "rung": "Rung at the end (the last one held, for those who left)",
    "member": "Loyalty programme membership at the end",
}
"""Ways to split a run's customers into segments (``crmsim.economics.segment_table``),
with what each segment is, for tables and figure axes."""


def _segment(name: str, label: str, unit: str, direction: str, **options) -> Measure:
    return Measure(name, label, unit, SEGMENT, direction, **options)


_SEGMENT_SPECS: tuple[tuple[Measure, str | None], ...] = (
    (_segment("customers", "Customers ever", "customers", NEITHER, short="customers"), None),
    (
        _segment(
            "customer_share",
            "Share of customers ever",
            "% of customers",
            NEITHER,
            short="share of customers",
            scale=100.0,
        ),
        None,
    ),
    (
        _segment(
            "customers_per_1000_people",
            "Customers per 1,000 people in the market",
            "customers per 1,000 people",
            HIGHER,
            short="customers/1,000 people",
        ),
        None,
    ),
    (
        _segment(
            "mean_lifetime_clv",
            "Mean lifetime CLV",
            "currency per customer",
            HIGHER,
            short="lifetime CLV",
        ),
        "lifetime_clv",
    ),
    (
        _segment(
            "lifetime_clv_per_person",
            "Lifetime CLV per person in the market",
            "currency per person",
            HIGHER,
            short="lifetime CLV/person",
        ),
        None,
    ),
    (
        _segment(
            "mean_realised_value",
            "Mean realised value to date",
            "currency per customer",
            HIGHER,
            short="realised value",
        ),
        "realised_clv",
    ),
    (
        _segment(
            "realised_value_per_person",
            "Realised value to date per person in the market",
            "currency per person",
            HIGHER,
            short="realised value/person",
        ),
        None,
    ),
    (
        _segment(
            "active_share",
            "Share still active at the end",
            "% of the segment's customers",
            HIGHER,
            short="active at end",
            scale=100.0,
        ),
        None,
    ),
    (
        _segment(
            "revenue_per_customer",
            "Revenue per customer (undiscounted)",
            "currency per customer",
            HIGHER,
            short="revenue/customer",
        ),
        "revenue_total",
    ),
    (
        _segment(
            "cost_per_customer",
            "Attributed costs per customer (undiscounted)",
            "currency per customer",
            LOWER,
            short="costs/customer",
        ),
        "attributed_cost",
    ),
)
"""Each segment measure with the ``customer_frame`` column it is the mean per customer of
(None: computed otherwise by ``crmsim.economics.segment_table``). A mean of a new column
is one line here; a column missing from the customer frame gives NaN. Measures per person
divide by the run's ``market_size``: the people ever in the market by the end of the run."""

SEGMENT_MEASURES: tuple[Measure, ...] = tuple(m for m, _ in _SEGMENT_SPECS)
"""Measures of each segment of a run's customers, in the order tables show them."""

SEGMENT_MEANS: dict[str, str] = {m.name: column for m, column in _SEGMENT_SPECS if column}
"""Segment measure -> the customer frame column it averages over the segment's customers."""

REGISTRY.update({(m.level, m.name): m for m in SEGMENT_MEASURES})


def segment_measure(name: str) -> Measure:
    """The segment measure called ``name``.

    Raises:
        KeyError: No such segment measure; the message lists the allowed names.
    """
    return _lookup(SEGMENT, name)


__all__ = [
    "DIRECTIONS",
    "HIGHER",
    "LEVELS",
    "LOWER",
    "MONTH",
    "MONTHLY_MEASURES",
    "NEITHER",
    "REGISTRY",
    "RUN",
    "RUN_MEASURES",
    "SEGMENT",
    "SEGMENT_DIMENSIONS",
    "SEGMENT_MEANS",
    "SEGMENT_MEASURES",
    "STUDY_MEASURES",
    "STUDY_SERIES",
    "Measure",
    "format_interval",
    "format_value",
    "monthly_measure",
    "run_measure",
    "segment_measure",
]
