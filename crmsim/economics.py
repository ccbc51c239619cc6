"""Economics and measures: lifetime value, customer equity, retention and the rest.

Everything a strategist reads off a run is computed here, from the customer
table and the monthly series the model collects:

- **realised value to date** of each customer (``realised_clv``): the profit they
  brought so far (margins minus the acquisition, service, programme and win-back
  costs attributed to them), discounted to the month they first bought; it grows
  with the horizon, so it is never the headline;
- **expected CLV** of each active customer: their expected monthly margin times
  the margin multiple r / (1 + i - r) of their own retention r (the model
  supplies the margin, which depends on what the strategies do): the value as
  things stand, today's margin and retention taken to last, which the monthly
  record sums every month and the firm decides with (its own estimate of r);
- **the value still to come** of each customer at the end of the run: what the
  model's own rules will still bring from them (climbing the ladder, drifting
  satisfaction, coming back after leaving), from a run-off of the market without
  new customers (``crmsim.engine.run_off``), for those active at the end and
  for those lost who may come back (:func:`expected_remaining_value`);
- **lifetime CLV** of each customer: realised value plus the value still to come,
  discounted to their first purchase (the same time origin): a value of the whole
  relationship that does not depend on where the run stops (:func:`lifetime_clv`);
- **customer equity**: the summed value still to come at the end, and
  **customer equity including future cohorts** (:func:`future_cohorts_value`);
- retention and churn per month, cohort survival, funnel conversion rates,
  reacquisition rate, defections by reason, share of wallet, the Pareto share,
  and the cost of acquiring a customer against the cost of keeping one;
- the same customers **by segment** (acquisition channel, cohort, rung,
  programme membership): :func:`segment_table`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crmsim.analytic import MarginTiming, margin_multiple
from crmsim.compiled import compiled
from crmsim.measures import SEGMENT_DIMENSIONS, SEGMENT_MEANS, SEGMENT_MEASURES
from crmsim.vocabulary import ACTIVE, COST_KINDS, INITIAL_BASE, REASONS, REFERRAL, STAGES, TIERS

if TYPE_CHECKING:
    from crmsim.engine.customers import CustomerTable
    from crmsim.engine.model import CRMModel


def monthly_discount_rate(yearly_rate: float) -> float:
    """The monthly rate equivalent to a yearly discount rate: (1 + y)^(1/12) - 1."""
    return (1.0 + yearly_rate) ** (1.0 / 12.0) - 1.0


def expected_retention(table: CustomerTable, rows: np.ndarray, non_contractual: bool) -> np.ndarray:
    """Each active customer's chance of still being a customer next month.

    In the contractual setting, one minus the customer's hazard of leaving last
    month; in the non-contractual setting also the chance of not dropping out
    after next month's expected purchases. Capped at 0.999 so the margin
    multiple stays finite.
    """
    hazard = table.churn_hazard
    if non_contractual:
        stay = 1.0 - hazard[rows]
        stay = stay * (1.0 - table.dropout_probability[rows]) ** table.purchase_rate[rows]
        # np.minimum(np.maximum(...)) is np.clip without its Python layer.
        return np.minimum(np.maximum(stay, 0.0), 0.999)
    retention = np.empty(rows.size, hazard.dtype)
    _retention_after(hazard, rows, retention)
    return retention


@compiled
def _retention_after(hazard, rows, retention):
    kind = hazard.dtype.type
    one, highest = kind(1.0), kind(0.999)
    for i in range(rows.size):
        retention[i] = retention_after(hazard[rows[i]], one, highest)


@compiled
def retention_after(hazard, one, highest):  # noqa: ANN001, ANN201 (compiled)
    """Contractual :func:`expected_retention` of one customer in a compiled loop: one minus
    the hazard of leaving, within [0, 0.999], in the hazard's dtype (``one`` and
    ``highest`` are 1 and 0.999 in it)."""
    stay = one - hazard
    stay = one - one if stay < 0.0 else stay
    return highest if stay > highest else stay


def expected_clv(
    margin_per_month: np.ndarray,
    retention: np.ndarray,
    monthly_rate: float,
    margin_timing: MarginTiming = "end",
) -> np.ndarray:
    """Expected (prospective) CLV of an active customer at the end of a month: the
    margins still to come, discounted, times the margin multiple of
    ``crmsim.analytic``, currency.

    With margins at month end (``"end"``) the next margin is paid at the end of next
    month, only if the customer stays: margin x r / (1 + i - r). With margins at the
    start of the month (``"start"``) the customer pays next month's before deciding
    whether to leave, so the next margin is certain and due now: margin x (1 + i) /
    (1 + i - r).

    Args:
        margin_per_month: Expected margin of each customer next month, currency.
        retention: Each customer's chance of staying a month (``expected_retention``).
        monthly_rate: The firm's discount rate per month.
        margin_timing: When margins are paid (``firm.margin_timing``; always "start"
            for non-contractual customers, who buy before they drop out).
    """
    return margin_per_month * margin_multiple(retention, monthly_rate, margin_timing)


def retention_rate(active_at_start: float, defected: float) -> float:
    """Customers still active at the end / customers active in the period (NaN if none).

    A customer the firm fired is not retained.
    """
    if not active_at_start:
        return float("nan")
    return (active_at_start - defected) / active_at_start


def churn_rate(active_at_start: float, defected: float, fired: float) -> float:
    """Customers who left of their own accord / customers active in the period (NaN if none)."""
    if not active_at_start:
        return float("nan")
    return (defected - fired) / active_at_start


def realised_clv(table: CustomerTable, monthly_rate: float) -> np.ndarray:
    """Realised CLV of every person, discounted to their first purchase, currency.

    People who never bought have 0.
    """
    acquired = table.acquired_month
    growth = (1.0 + monthly_rate) ** np.maximum(acquired, 0).astype(np.float64)
    return np.where(acquired >= 0, table.value_at_start * growth, 0.0)


def customer_referral_value(
    table: CustomerTable, monthly_rate: float, referral_code: int
) -> np.ndarray:
    """Customer referral value (CRV) of every person, currency.

    The value of a customer's referrals (Kumar, Petersen & Leone 2007): the
    realised CLV of each customer first acquired by referral (profit discounted to
    their first purchase, the referral rewards charged to them included) is
    credited to the customer who referred them. A person who brought nobody has 0;
    the values add up to the realised CLV of all referred customers.

    Args:
        table: The customer table.
        monthly_rate: The discount rate per month (``CRMModel.monthly_discount_rate``).
        referral_code: Source code of referred customers (``CRMModel.funnel.referral_code``).
    """
    referred = referred_customers(table, referral_code)
    value = realised_clv(table, monthly_rate)[referred]
    return np.bincount(table.referred_by[referred], weights=value, minlength=table.size)


def referred_customers(table: CustomerTable, referral_code: int) -> np.ndarray:
    """Rows of the customers first acquired by referral, with who referred them
    (``CustomerTable.referred_by``)."""
    return np.flatnonzero(
        (table.source == referral_code) & (table.acquired_month >= 0) & (table.referred_by >= 0)
    )


def expected_remaining_value(model: CRMModel) -> np.ndarray:
    """Each person's expected value still to come at the end of the run, discounted to
    their first purchase, currency: 0 for those who never bought.

    The value to come is what the model's own rules will still bring from each customer
    active at the end, and from each customer lost by then who may come back
    (``CRMModel.value_to_come``, a run-off of the market without new customers,
    ``crmsim.engine.run_off``), valued at the end of the run, month T (the months
    simulated); a customer who first bought in month a gets it discounted by
    (1 + i)^-(T - a), the time origin of their realised value. Summed undiscounted, the
    values are the customer equity of the run summary.
    """
    table = model.customers
    value = model.value_to_come().value_at_end
    bought = table.acquired_month >= 0
    age = int(model.month) - table.acquired_month.astype(np.int64)
    return np.where(bought, value * (1.0 + model.monthly_discount_rate) ** -age, 0.0)


def lifetime_clv(model: CRMModel) -> np.ndarray:
    """Lifetime CLV of every person, discounted to their first purchase, currency.

    Realised value to date (:func:`realised_clv`) plus the expected value still to come
    (:func:`expected_remaining_value`): from customers still active at the end, and from
    those who left and may come back (those the firm ended never do). The value to come
    follows the model's own rules (``crmsim.engine.run_off``), so the lifetime CLV of a
    customer does not depend on where the run stops, apart from the run-off's Monte
    Carlo noise (the baseline's customers acquired in months 0-119 are worth the same
    at month 120 and at month 240 within 1 SE). People who never bought have 0.
    """
    return realised_clv(model.customers, model.monthly_discount_rate) + expected_remaining_value(
        model
    )


def acquired_in_run(model: CRMModel) -> np.ndarray:
    """Whether each person first bought during the run (the initial base apart)."""
    table = model.customers
    return (table.acquired_month >= 0) & (table.source != model.funnel.initial_base_code)


def in_initial_base(model: CRMModel) -> np.ndarray:
    """Whether each person was a customer at month 0 (the initial base)."""
    table = model.customers
    return (table.acquired_month >= 0) & (table.source == model.funnel.initial_base_code)


FUTURE_COHORT_WINDOW_MONTHS = 12
"""Months at the end of a run whose acquisitions stand for every month to come
(:func:`future_cohorts_value`)."""


def future_cohorts_value(
    model: CRMModel, lifetime: np.ndarray, window: int = FUTURE_COHORT_WINDOW_MONTHS
) -> float:
    """Value of the customers still to be acquired, at the end of the run, currency
    (Gupta & Lehmann 2003, 2005; Gupta, Lehmann & Stuart 2004).

    The run's last ``window`` months (all of them if the run is shorter) stand for
    every month to come. Each month brings the same net value at acquisition,

        F = (summed lifetime CLV of the customers acquired in those months
             - acquisition spend in them that reached no customer) / window,

    the lifetime CLVs being net of the acquisition cost charged to each customer. The
    customers acquired in month T + k (T the months simulated) are worth F at their
    first purchase, F (1 + i)^-k at the end of the run, so all cohorts to come are
    worth the perpetuity

        F (1 + i) / i,

    i the monthly discount rate. Added to the customer equity (the current and lost
    customers' value still to come, valued at the end too) it gives the customer equity
    including future cohorts. Assumptions: acquisitions go on forever at the recent
    rate, with the recent customers' value and cost (no growth, no saturation of the
    market, no change in the competition), and the recent customers' lifetime CLVs are
    what later ones will be worth.

    Args:
        model: The model at the end of the run.
        lifetime: Every person's lifetime CLV (:func:`lifetime_clv`).
        window: Months of recent acquisitions.

    Returns:
        The value, or NaN when no month was simulated or the discount rate is 0 (the
        perpetuity does not converge).
    """
    months = int(model.month)
    rate = model.monthly_discount_rate
    if months == 0 or rate <= 0:
        return float("nan")
    window = min(window, months)
    table = model.customers
    recent = acquired_in_run(model) & (table.acquired_month >= months - window)
    spend = float(model.monthly_series()["acquisition_cost"].iloc[-window:].sum())
    unattributed = spend - float(table.acquisition_cost[recent].sum())
    per_month = (float(lifetime[recent].sum()) - unattributed) / window
    return per_month * (1.0 + rate) / rate


def pareto_share(values: np.ndarray, top_share: float = 0.2) -> float:
    """Share of the total held by the top ``top_share`` of values (e.g. profit of the top 20%).

    Only positive totals are meaningful; returns NaN when the total is not positive.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return float("nan")
    total = values.sum()
    if total <= 0:
        return float("nan")
    n = max(1, int(round(top_share * values.size)))
    top = np.partition(values, values.size - n)[values.size - n :]
    return float(top.sum() / total)


def whale_curve(values: np.ndarray) -> pd.DataFrame:
    """The whale curve: cumulative profit of customers ranked from most to least profitable.

    Customers are sorted by profit (e.g. realised or lifetime CLV, currency per
    customer), most profitable first; each row gives the share of customers counted so
    far and the running total of their profit as a share of the total profit of all
    customers. When some customers lose money the curve rises above 1 (100%) at the
    last profitable customer and falls back to 1 as the loss-makers are added.

    Args:
        values: Profit per customer (currency); NaN values are left out.

    Returns:
        A frame with columns ``share_of_customers`` and ``share_of_profit`` (shares, 0..1,
        the first row 0, 0), one row per customer plus the origin. ``share_of_profit`` is
        NaN throughout when the total profit is not positive (no share of it to show).
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    ordered = np.sort(values[np.isfinite(values)])[::-1]
    total = ordered.sum()
    customers = np.arange(ordered.size + 1) / max(ordered.size, 1)
    running = np.concatenate([[0.0], np.cumsum(ordered)])
    profit = running / total if total > 0 else np.full(running.size, np.nan)
    return pd.DataFrame({"share_of_customers": customers, "share_of_profit": profit})


def whale_summary(values: np.ndarray, top_share: float = 0.2) -> dict[str, float]:
    """The numbers a whale curve is read by (:func:`whale_curve`).

    Args:
        values: Profit per customer (currency); NaN values are left out.
        top_share: Share of the most profitable customers whose share of profit is given.

    Returns:
        ``top_share_of_profit`` (share of total profit brought by the top ``top_share``
        of customers, Pareto's 80/20 reading), ``peak_share_of_profit`` (the highest point
        of the curve: above 1 when some customers lose money), ``profitable_share`` (share
        of customers with a profit above 0, where the curve peaks) and
        ``loss_maker_share`` (share with a profit below 0). Shares of profit are NaN when
        the total profit is not positive; everything is NaN when there is no customer.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return dict.fromkeys(
            ("top_share_of_profit", "peak_share_of_profit", "profitable_share", "loss_maker_share"),
            float("nan"),
        )
    return {
        "top_share_of_profit": pareto_share(values, top_share),
        "peak_share_of_profit": float(whale_curve(values)["share_of_profit"].max()),
        "profitable_share": float((values > 0).mean()),
        "loss_maker_share": float((values < 0).mean()),
    }


def yearly_retention_by_tenure(table: CustomerTable, months: int, years: int = 4) -> pd.Series:
    """Share of customers in each year of their tenure who stay for the whole year.

    Pools every customer acquired early enough to be followed for ``years`` whole years
    (:func:`cohort_survival`) and divides survival at the end of each year by survival
    at its start: ``S(12 k) / S(12 (k - 1))``, first relationships only. In a market of
    identical customers who never change this is flat; when customers differ in their
    propensity to leave it rises with tenure, because the quick leavers leave first.

    Args:
        table: The customer table at the end of a run.
        months: Months simulated (``model.month``).
        years: Years of tenure reported.

    Returns:
        Retention (0..1) indexed by year of tenure 1 .. ``years``; NaN when no customer
        was followed that long (a run shorter than ``years`` years, say).
    """
    index = pd.RangeIndex(1, years + 1, name="year_of_tenure")
    if months < 12 * years:
        return pd.Series(np.nan, index=index, name="yearly_retention")
    survival = cohort_survival(table, 12 * years, end_month=months)
    with np.errstate(invalid="ignore", divide="ignore"):
        yearly = survival[12::12] / survival[: 12 * years : 12]
    return pd.Series(yearly, index=index, name="yearly_retention")


def cohort_survival(
    table: CustomerTable,
    max_age: int,
    cohort_month: int | None = None,
    end_month: int | None = None,
    among: np.ndarray | None = None,
) -> np.ndarray:
    """Share of a cohort still in its first relationship after each month of age.

    Args:
        table: The customer table at the end of a run.
        max_age: Last age (months) reported.
        cohort_month: Month of first purchase of the cohort; None pools every customer
            acquired early enough to be seen for ``max_age`` months, which needs ``end_month``.
        end_month: Months simulated (the run's ``model.month``), for pooling.
        among: Only these rows (a boolean mask over the table): a year's new customers,
            say, or the firm's customers at month 0 without anyone else acquired then.

    Returns:
        Survival at ages 0..max_age (1 at age 0); NaN at every age when the cohort is empty.
    """
    acquired = table.acquired_month.astype(np.int64)
    ended = table.first_defected_month.astype(np.int64)
    if cohort_month is None:
        if end_month is None:
            raise ValueError("pooling cohorts needs end_month (the months simulated)")
        # Only customers observed for max_age whole months, so nobody counts as a survivor
        # merely because the run ended.
        members = (acquired >= 0) & (acquired <= end_month - max_age)
    else:
        members = acquired == cohort_month
    if among is not None:
        among = np.asarray(among, dtype=bool)
        if among.shape != members.shape:
            raise ValueError(
                f"among must be a mask with one entry per row of the table ({members.size}), "
                f"got shape {among.shape}"
            )
        members &= among
    start = acquired[members]
    end = ended[members]
    lifetime = np.where(end >= 0, end - start + 1, np.iinfo(np.int64).max)
    ages = np.arange(max_age + 1)
    if start.size == 0:
        return np.full(ages.size, np.nan)
    return (lifetime[None, :] > ages[:, None]).mean(axis=1)


def cohort_survival_table(table: CustomerTable, months: int, every: int = 12) -> pd.DataFrame:
    """Survival curves of the cohorts acquired at month 0, every, 2*every, ...

    Ages a cohort has not reached by the end of the run are left empty.
    """
    curves = {}
    for cohort in range(0, months, every):
        max_age = months - cohort
        if max_age < 1 or not np.any(table.acquired_month == cohort):
            continue
        curves[f"month {cohort}"] = pd.Series(cohort_survival(table, max_age, cohort))
    frame = pd.DataFrame(curves)
    frame.index.name = "age_months"
    return frame


def customer_frame(model: CRMModel) -> pd.DataFrame:
    """The final customer table, one row per person who ever bought, for CSV and study.

    ``realised_clv`` is the realised value to date, ``expected_remaining_clv`` the
    expected value still to come (both discounted to the first purchase) and
    ``lifetime_clv`` their sum (:func:`lifetime_clv`).
    """
    table = model.customers
    bought = np.flatnonzero(table.acquired_month >= 0)
    clv = realised_clv(table, model.monthly_discount_rate)[bought]
    remaining = expected_remaining_value(model)[bought]
    source_names = model.funnel.source_names
    reason = table.defection_reason[bought]
    frame = pd.DataFrame(
        {
            "customer_id": bought,
            "stage": np.array(STAGES)[table.stage[bought]],
            "tier": np.array(TIERS)[table.tier[bought]],
            "acquired_month": table.acquired_month[bought],
            "source": np.array(source_names)[table.source[bought]],
            "tenure_months": table.tenure_months[bought],
            "times_returned": table.times_returned[bought],
            "last_defection_reason": np.where(
                reason >= 0, np.array(REASONS)[np.maximum(reason, 0)], ""
            ),
            "months_since_defection": table.months_since_defection[bought],
            "member": table.member[bought],
            "satisfaction": table.satisfaction[bought].round(4),
            "share_of_wallet": model.share_of_wallet(bought).round(4),
            "price_sensitivity": table.price_sensitivity[bought].round(4),
            "churn_probability": table.churn_probability[bought].round(5),
            "order_value": table.order_value[bought].round(2),
            "revenue_total": table.revenue_total[bought].round(2),
            "acquisition_cost": table.acquisition_cost[bought].round(2),
            "service_cost": table.service_cost[bought].round(2),
            "programme_cost": table.programme_cost[bought].round(2),
            "return_cost": table.return_cost[bought].round(2),
            "expected_remaining_clv": remaining.round(2),
            "lifetime_clv": (clv + remaining).round(2),
            "realised_clv": clv.round(2),
        }
    )
    return frame


def summary(model: CRMModel) -> dict[str, Any]:
    """The headline measures of a run, as plain numbers (JSON-ready).

    Lifetime CLV (:func:`lifetime_clv`) is reported over the customers acquired during
    the run (``mean_lifetime_clv``, its Pareto share and its total per person in the
    market) and, apart, over the initial base (valued from month 0: what they brought
    before is not counted). Realised value to date is over everyone ever a customer.
    Customer equity (the value still to come from current and lost customers,
    :func:`expected_remaining_value`, undiscounted to their first purchase), with and
    without future cohorts (:func:`future_cohorts_value`), is valued at the end of the
    run; the value of the customer base at month 0. The firm's customer equity is its
    own reckoning of its active customers (``firm.knowledge``), as things stand. Totals
    are also given per person in the market.

    A measure the run leaves undefined is NaN: a mean over nobody (no customer
    acquired in the run, say), satisfaction when nobody is active, a Pareto share
    when the total is not positive, rates when no customer was there to keep, costs
    per customer when there was none, the reacquisition rate and the equity including
    future cohorts before the first month.
    """
    table = model.customers
    series = model.monthly_series()
    bought = table.acquired_month >= 0
    clv = realised_clv(table, model.monthly_discount_rate)[bought]
    lifetime = lifetime_clv(model)
    acquired_lifetime = lifetime[acquired_in_run(model)]
    base_lifetime = lifetime[in_initial_base(model)]
    people = int(table.people)  # in the market by the end (entrants included)
    active = np.flatnonzero(table.stage == ACTIVE)
    months = len(series)
    acquired = float(series["acquired"].sum())
    acquisition_spend = float(series["acquisition_cost"].sum())
    retained = float(series["retained"].sum())
    retention_spend = float(series["service_cost"].sum() + series["programme_cost"].sum())
    at_risk = float(series["active_at_start"].sum())
    defections = {reason: int(series[f"defections_{reason}"].sum()) for reason in REASONS}
    defected_total = sum(defections.values())
    cost_per_acquisition = acquisition_spend / acquired if acquired else float("nan")
    # A year of keeping a customer, to compare with the one-off cost of winning one.
    cost_per_retained_year = 12 * retention_spend / retained if retained else float("nan")
    share = model.share_of_wallet(active)
    # The value still to come from the current customers and those who may come back.
    equity = float(model.value_to_come().value_at_end.sum())
    value_of_base = (
        float(model.books.profit_pv) + equity * (1.0 + model.monthly_discount_rate) ** -months
    )
    with_future = equity + future_cohorts_value(model, lifetime)
    return {
        "scenario": model.scenario.name,
        "seed": model.seed,
        "months": months,
        "market_size": people,
        "customers_ever": int(bought.sum()),
        "active_customers": int(active.size),
        "mean_lifetime_clv": _mean(acquired_lifetime),
        "lifetime_clv_per_person": float(acquired_lifetime.sum()) / people,
        "mean_lifetime_clv_initial_base": _mean(base_lifetime),
        "lifetime_pareto_share_top20": pareto_share(acquired_lifetime, 0.2),
        "mean_realised_value": _mean(clv),
        "median_realised_value": float(np.median(clv)) if clv.size else float("nan"),
        "customer_equity": equity,
        # What the firm believes its base is worth (its estimates), beside the truth above.
        "firm_customer_equity": (
            equity
            if model.firm_valuation is model.valuation
            else model.firm_valuation.customer_equity()
        ),
        "customer_equity_per_person": equity / people,
        "customer_equity_with_future_cohorts": with_future,
        "customer_equity_with_future_cohorts_per_person": with_future / people,
        "total_profit_pv": float(model.books.profit_pv),
        "value_of_customer_base": value_of_base,
        "value_of_customer_base_per_person": value_of_base / people,
        "total_revenue": float(series["revenue"].sum()),
        "total_profit": float(series["profit"].sum()),
        "retention_rate": retention_rate(at_risk, defected_total),
        "churn_rate": churn_rate(at_risk, defected_total, defections["fired"]),
        "mean_monthly_retention": float(series["retention_rate"].mean()),
        "reacquisition_rate": float(
            (series["returned"].sum() + series["won_back"].sum())
            / max(series["defected"].mean(), 1)
        )
        / months
        if months
        else float("nan"),
        "defections_by_reason": defections,
        "realised_pareto_share_top20": pareto_share(clv, 0.2),
        "share_of_wallet": float(share.mean()) if share.size else float("nan"),
        "mean_satisfaction": float(table.satisfaction[active].mean())
        if active.size
        else float("nan"),
        "cost_per_acquisition": cost_per_acquisition,
        "cost_per_retained_customer_year": cost_per_retained_year,
        "acquisition_to_retention_cost_ratio": cost_per_acquisition / cost_per_retained_year
        if cost_per_retained_year
        else float("nan"),
        "funnel": funnel_conversion(model),
        "tiers": {name: int((table.tier[active] == k).sum()) for k, name in enumerate(TIERS)},
        "firm_knowledge": model.knowledge.summary(),
    }


def _mean(values: np.ndarray) -> float:
    """The mean, or NaN over nobody."""
    return float(values.mean()) if values.size else float("nan")


def funnel_conversion(model: CRMModel) -> dict[str, dict[str, float]]:
    """Conversion rates of the funnel by source over the whole run.

    ``suspect_to_prospect``: new prospects per contact; ``prospect_to_customer``:
    first purchases per prospect-month; ``cost_per_acquisition``: channel spend
    per customer it brought.
    """
    funnel = model.funnel.totals
    out = {}
    for code, name in enumerate(model.funnel.source_names[:-1]):
        contacts = funnel["contacts"][code]
        prospects = funnel["new_prospects"][code]
        prospect_months = funnel["prospects_at_start"][code]
        conversions = funnel["conversions"][code]
        spend = funnel["spend"][code]
        out[name] = {
            "contacts": float(contacts),
            "new_prospects": float(prospects),
            "conversions": float(conversions),
            "suspect_to_prospect": float(prospects / contacts) if contacts else float("nan"),
            "prospect_to_customer": float(conversions / prospect_months)
            if prospect_months
            else float("nan"),
            "cost_per_acquisition": float(spend / conversions) if conversions else float("nan"),
        }
    return out


IN_PROGRAMME = "in_programme"
NOT_IN_PROGRAMME = "not_in_programme"
"""Segments of the ``member`` split (named apart from the ladder's ``member`` rung)."""


def cohort_name(acquired_month: int) -> str:
    """The cohort of a customer acquired in ``acquired_month``: months 0-11 are ``"year 1"``,
    12-23 ``"year 2"``, and so on (the initial base is a segment of its own)."""
    return f"year {acquired_month // 12 + 1}"


def segment_of(customers: pd.DataFrame, by: str) -> pd.Series:
    """Each customer's segment when the customers are split ``by`` one of
    :data:`crmsim.measures.SEGMENT_DIMENSIONS`.

    - ``channel``: the source that brought them (a paid channel, ``referral``, or
      ``initial_base`` for the customers the firm had at month 0);
    - ``cohort``: the year of their first purchase (:func:`cohort_name`), the initial
      base apart;
    - ``rung``: their rung at the end of the run; a customer who left keeps the last
      rung they held (a relationship that starts again starts on the bottom rung);
    - ``member``: in the loyalty programme at the end (``in_programme``) or not;
      leaving ends membership, so nobody who left at the end is counted in it.

    Args:
        customers: The frame of :func:`customer_frame` (columns ``source``,
            ``acquired_month``, ``tier``, ``member``).
        by: The split.

    Raises:
        ValueError: ``by`` is not a split; the message lists the allowed ones.
    """
    if by == "channel":
        values = customers["source"].astype(str)
    elif by == "cohort":
        years = customers["acquired_month"].to_numpy(np.int64) // 12 + 1
        values = pd.Series([f"year {y}" for y in years], index=customers.index, dtype=object)
        values[customers["source"].to_numpy() == INITIAL_BASE] = INITIAL_BASE
    elif by == "rung":
        values = customers["tier"].astype(str)
    elif by == "member":
        member = customers["member"].to_numpy(bool)
        values = pd.Series(np.where(member, IN_PROGRAMME, NOT_IN_PROGRAMME), index=customers.index)
    else:
        raise ValueError(f"unknown segment split {by!r}; allowed: {', '.join(SEGMENT_DIMENSIONS)}")
    return values.rename(by)


def segment_names(by: str, sources: list[str] | tuple[str, ...], months: int) -> list[str]:
    """Every segment a run can have along ``by``, in the order tables show them.

    Args:
        by: The split (:data:`crmsim.measures.SEGMENT_DIMENSIONS`).
        sources: The run's source names (``model.funnel.source_names``: the paid
            channels, then referral, then the initial base).
        months: Months simulated (the cohorts are the years they span).
    """
    if by == "channel":
        return list(sources)
    if by == "cohort":
        return [*(cohort_name(12 * k) for k in range(-(-months // 12))), INITIAL_BASE]
    if by == "rung":
        return list(TIERS)
    if by == "member":
        return [IN_PROGRAMME, NOT_IN_PROGRAMME]
    raise _unknown_split(by)


def _unknown_split(by: str) -> ValueError:
    return ValueError(f"unknown segment split {by!r}; allowed: {', '.join(SEGMENT_DIMENSIONS)}")


def segment_order(by: str, names: list[str]) -> list[str]:
    """Segments of several runs (scenarios with other channels, say) in one order: as
    :func:`segment_names` orders them, paid channels alphabetically."""

    def key(name: str) -> tuple[int, int, str]:
        if by == "cohort":
            return (1, 0, name) if name == INITIAL_BASE else (0, int(name.split()[-1]), name)
        if by == "rung":
            return (0, TIERS.index(name), name) if name in TIERS else (1, 0, name)
        if by == "member":
            return (0, int(name != IN_PROGRAMME), name)
        return (0 if name not in (REFERRAL, INITIAL_BASE) else 1 + (name == INITIAL_BASE), 0, name)

    return sorted(dict.fromkeys(names), key=key)


def segment_table(
    customers: pd.DataFrame,
    by: str,
    market_size: int,
    segments: list[str] | None = None,
) -> pd.DataFrame:
    """The segment measures (:data:`crmsim.measures.SEGMENT_MEASURES`) of a run's customers
    split ``by`` channel, cohort, rung or programme membership.

    Every customer who ever bought is in exactly one segment, so the counts add up to the
    customers ever, the shares to 1, the contributions per person in the market to the
    run's total, and the segments' mean values weighted by their shares to the mean over
    all customers. Split by channel or cohort, the initial base is a segment of its own,
    so the other segments' mean lifetime CLV is the CLV at acquisition of the customers
    acquired in the run through that channel or in that year (net of the acquisition
    cost charged to them). ``active_share`` is the share of the segment's
    customers still active at the end (a retention over the run, not per month: the
    customer table keeps only the current relationship's tenure, so months at risk in
    earlier relationships cannot be counted). Revenue and costs per customer are
    undiscounted sums over the run; the realised value is the discounted profit to date,
    the lifetime CLV adds the expected value still to come (:func:`lifetime_clv`).

    Args:
        customers: The frame of :func:`customer_frame` (one row per person who ever bought).
        by: The split (:data:`crmsim.measures.SEGMENT_DIMENSIONS`).
        market_size: People in the market (for the measures per person).
        segments: Segments to report, in order (default: those present, in the order of
            :func:`segment_order`); a segment without customers has 0 customers and
            undefined (NaN) means.

    Returns:
        One row per segment (the index, named ``by``), one column per segment measure.
    """
    frame = customers.assign(
        attributed_cost=sum(customers[f"{kind}_cost"] for kind in COST_KINDS),
        active=customers["stage"] == STAGES[ACTIVE],
    )
    groups = frame.groupby(segment_of(frame, by), sort=False)
    present = list(groups.groups)
    order = list(segments) if segments is not None else segment_order(by, present)
    order += [s for s in segment_order(by, present) if s not in order]
    count = groups.size().reindex(order, fill_value=0).astype(float)
    total = float(len(frame))
    columns: dict[str, pd.Series] = {
        "customers": count,
        "customer_share": count / total if total else count * np.nan,
        "customers_per_1000_people": 1000.0 * count / market_size,
        "lifetime_clv_per_person": _segment_sums(groups, frame, "lifetime_clv", order)
        / market_size,
        "realised_value_per_person": _segment_sums(groups, frame, "realised_clv", order)
        / market_size,
        "active_share": groups["active"].mean().reindex(order),
    }
    for measure, column in SEGMENT_MEANS.items():
        columns[measure] = (
            groups[column].mean().reindex(order)
            if column in frame
            else pd.Series(np.nan, index=order)
        )
    table = pd.DataFrame({m.name: columns[m.name].astype(float) for m in SEGMENT_MEASURES})
    table.index.name = by
    return table


def _segment_sums(groups: Any, frame: pd.DataFrame, column: str, order: list[str]) -> pd.Series:
    """Each segment's sum of ``column`` (0 for a segment without customers; NaN throughout
    when the frame has no such column)."""
    if column not in frame:
        return pd.Series(np.nan, index=order)
    return groups[column].sum().reindex(order, fill_value=0.0)


def segment_tables(model: CRMModel) -> dict[str, pd.DataFrame]:
    """The run's :func:`segment_table` along every split, each with every segment the run
    could have (segments without customers included)."""
    customers = customer_frame(model)
    return {
        by: segment_table(
            customers,
            by,
            int(model.customers.people),
            segment_names(by, model.funnel.source_names, int(model.month)),
        )
        for by in SEGMENT_DIMENSIONS
    }
