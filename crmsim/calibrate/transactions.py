"""Non-contractual calibration: RFM summary, BG/NBD and Gamma-Gamma fits, holdout checks.

A transaction log is reduced to one row per customer, ``(x, t_x, T, m_x)``: repeat
purchases in the calibration period, the time of the last one and the customer's
age at its end (both since the first purchase, in the chosen unit), and the mean
value of the repeat purchases. Purchases on the same day are one transaction (a
log with dates has no finer clock). The models are those of ``crmsim.estimation``;
this module adds the holdout checks of Fader, Hardie & Lee (2005) and the
translation of the estimates into a scenario of the lab.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from crmsim.analytic import bgnbd_expected_purchases
from crmsim.calibrate.reading import CalibrationError, refused_fit
from crmsim.estimation import MIN_CUSTOMERS, BetaGeometricNBD, GammaGamma
from crmsim.report.style import SCENARIO_COLORS, new_figure

DAYS_PER_MONTH = 365.25 / 12
"""The lab's month in days (a twelfth of the mean Gregorian year)."""

UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH, "Y": 365.25}
"""Length of each time unit in days (``Y`` for contractual records kept by year)."""

UNIT_NAMES = {"D": "day", "W": "week", "M": "month", "Y": "year"}

CONDITIONAL_GROUPS = 7
"""Conditional expectations are shown for 0 .. 6 calibration repeat purchases and 7+."""


def unit_days(freq: str) -> float:
    """Days in one time unit ``freq`` (D, W, M or Y), or one message naming what is allowed."""
    if freq not in UNIT_DAYS:
        raise CalibrationError(f"time unit {freq!r}: allowed are D (days), W (weeks), M (months)")
    return UNIT_DAYS[freq]


def rfm_summary(
    transactions: pd.DataFrame, calibration_end: pd.Timestamp, freq: str = "W"
) -> pd.DataFrame:
    """Recency, frequency and monetary value per customer, calibration and holdout.

    Args:
        transactions: Columns ``customer_id``, ``date``, ``amount`` (one row per purchase).
        calibration_end: Last day of the calibration period (its purchases included).
        freq: Unit of t_x and T: D, W or M (a month is 365.25 / 12 days).

    Returns:
        One row per customer whose first purchase falls in the calibration period,
        indexed by ``customer_id``: ``x`` (repeat purchases), ``t_x`` (time of the last
        since the first), ``T`` (age at the calibration end), ``mean_spend`` (mean value
        of the repeat purchases, NaN without any), ``first_spend``, ``first_purchase``
        (date), ``holdout_x`` and ``holdout_spend`` (purchases and spend after the
        calibration end).
    """
    days = unit_days(freq)
    daily = transactions.groupby(["customer_id", "date"], sort=True, observed=True)["amount"].sum()
    customer = daily.index.get_level_values(0)
    date = daily.index.get_level_values(1)
    amount = daily.to_numpy(float)
    codes, ids = pd.factorize(customer, sort=False)
    n = ids.size
    day = ((date - date.min()) // pd.Timedelta(days=1)).to_numpy(np.int64)
    # Rows are sorted by customer then date: the first of each customer is their first purchase.
    first_row = np.ones(codes.size, bool)
    first_row[1:] = codes[1:] != codes[:-1]
    first_day = np.zeros(n, np.int64)
    first_day[codes[first_row]] = day[first_row]
    first_spend = np.zeros(n)
    first_spend[codes[first_row]] = amount[first_row]
    end_day = int((calibration_end - date.min()) // pd.Timedelta(days=1))
    in_calibration = day <= end_day
    repeat = in_calibration & ~first_row
    x = np.bincount(codes[repeat], minlength=n)
    last_day = first_day.copy()
    np.maximum.at(last_day, codes[in_calibration], day[in_calibration])
    repeat_spend = np.bincount(codes[repeat], weights=amount[repeat], minlength=n)
    holdout = ~in_calibration
    frame = pd.DataFrame(
        {
            "x": x,
            "t_x": (last_day - first_day) / days,
            "T": (end_day - first_day) / days,
            "mean_spend": np.where(x > 0, repeat_spend / np.maximum(x, 1), np.nan),
            "first_spend": first_spend,
            "first_purchase": date.min() + pd.to_timedelta(first_day, unit="D"),
            "holdout_x": np.bincount(codes[holdout], minlength=n),
            "holdout_spend": np.bincount(codes[holdout], weights=amount[holdout], minlength=n),
        },
        index=pd.Index(ids, name="customer_id"),
    )
    return frame[first_day <= end_day]


def _as_date(value: Any, what: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise CalibrationError(f"{what} {value!r} is not a date; write it like 1997-09-30")
    return stamp.normalize()


@dataclass
class TransactionFit:
    """BG/NBD and Gamma-Gamma fitted on a transaction log, with the holdout checks.

    Attributes:
        rfm: The RFM summary (:func:`rfm_summary`), one row per calibration customer.
        freq: Time unit of the fit (D, W or M).
        calibration_end: Last day of the calibration period.
        data_start: First day of the log.
        data_end: Last day of the log (the end of the holdout period).
        bgnbd: The fitted BG/NBD model (``.fit_result``: estimates, standard errors).
        gamma_gamma: The fitted Gamma-Gamma spend model.
        transactions: Rows of the log (purchases as recorded, before same-day merging).
        repeat_days: Day (since ``data_start``) of every repeat purchase of the
            calibration customers, calibration and holdout, for the tracking figures.
        source: Where the log came from (a file name), for messages and the report.
    """

    rfm: pd.DataFrame
    freq: str
    calibration_end: pd.Timestamp
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    bgnbd: BetaGeometricNBD
    gamma_gamma: GammaGamma
    transactions: int
    repeat_days: np.ndarray
    source: str = "transactions"

    @property
    def unit(self) -> str:
        """The time unit's name (day, week, month)."""
        return UNIT_NAMES[self.freq]

    @property
    def months_per_unit(self) -> float:
        """Months in one time unit of the fit (a month being 365.25 / 12 days)."""
        return UNIT_DAYS[self.freq] / DAYS_PER_MONTH

    @property
    def holdout_length(self) -> float:
        """Length of the holdout period, in the fit's unit."""
        return (self.data_end - self.calibration_end).days / UNIT_DAYS[self.freq]

    def parameters(self) -> pd.DataFrame:
        """Every estimate with its standard error and what it means."""
        u = self.unit
        meaning = {
            "r": "shape of the Gamma of purchase rates",
            "alpha": f"rate of the Gamma of purchase rates ({u}s)",
            "a": "Beta a of the dropout chance after a purchase",
            "b": "Beta b of the dropout chance after a purchase",
            "p": "shape of the Gamma of a purchase's value",
            "q": "shape of the Gamma of customers' spend rates",
            "gamma": "scale of the Gamma of customers' spend rates (currency)",
        }
        rows = []
        for model, fit in (("BG/NBD", self.bgnbd.fit_result),
                           ("Gamma-Gamma", self.gamma_gamma.fit_result)):  # fmt: skip
            for name, value in fit.params.items():
                rows.append({"model": model, "parameter": name, "estimate": value,
                             "standard_error": fit.standard_errors[name],
                             "meaning": meaning[name]})  # fmt: skip
        return pd.DataFrame(rows)

    # -- the holdout -----------------------------------------------------------------

    def tracking(self) -> pd.DataFrame:
        """Repeat purchases of the calibration customers per period, actual and expected.

        The expectation is the model's for a customer of each one's age (FHL 2005,
        eq. 7), summed: it uses nothing of the holdout, nor of each customer's history.

        Returns:
            One row per period of the fit's unit since the log's first day: ``period``,
            ``period_end`` (date), ``actual``, ``expected``, their cumulative sums and
            ``holdout`` (whether the period lies after the calibration end).
        """
        days = UNIT_DAYS[self.freq]
        rfm = self.rfm
        birth = (rfm["first_purchase"] - self.data_start).dt.days.to_numpy(float)
        span = (self.data_end - self.data_start).days + 1
        periods = math.ceil(span / days)
        ends = np.minimum(np.arange(1, periods + 1) * days, span)
        births, weight = np.unique(birth, return_counts=True)
        p = self.bgnbd.params
        ages = np.maximum(ends[:, None] - births[None, :], 0.0) / days
        cumulative = (
            np.asarray(bgnbd_expected_purchases(ages, p["r"], p["alpha"], p["a"], p["b"])) @ weight
        )
        actual = self._repeat_days_by_period(days, periods)
        end_day = (self.calibration_end - self.data_start).days
        return pd.DataFrame(
            {
                "period": np.arange(1, periods + 1),
                "period_end": self.data_start + pd.to_timedelta(np.ceil(ends) - 1, unit="D"),
                "actual": actual,
                "expected": np.diff(cumulative, prepend=0.0),
                "cumulative_actual": np.cumsum(actual),
                "cumulative_expected": cumulative,
                "holdout": ends > end_day + 1,
            }
        )

    def _repeat_days_by_period(self, days: float, periods: int) -> np.ndarray:
        period = np.minimum((self.repeat_days // days).astype(np.int64), periods - 1)
        return np.bincount(period, minlength=periods)

    def conditional_expectations(self) -> pd.DataFrame:
        """Holdout purchases per customer by calibration repeat purchases, actual and
        expected from each customer's own history (FHL 2005, eq. 10)."""
        rfm = self.rfm.assign(expected=self.expected_holdout_purchases())
        group = np.minimum(rfm["x"], CONDITIONAL_GROUPS)
        table = rfm.groupby(group).agg(
            customers=("x", "size"), actual=("holdout_x", "mean"), expected=("expected", "mean")
        )
        table.index = [str(i) if i < CONDITIONAL_GROUPS else f"{CONDITIONAL_GROUPS}+"
                       for i in table.index]  # fmt: skip
        table.index.name = "calibration_repeat_purchases"
        return table.reset_index()

    def expected_holdout_purchases(self) -> np.ndarray:
        """Each calibration customer's expected purchases in the holdout period."""
        r = self.rfm
        return self.bgnbd.conditional_expected_purchases(
            self.holdout_length, r["x"].to_numpy(), r["t_x"].to_numpy(), r["T"].to_numpy()
        )

    def holdout(self) -> pd.DataFrame:
        """The holdout period's totals: forecast against actual.

        Rows: repeat purchases forecast for the cohort by age alone (the tracking
        forecast), purchases forecast from each customer's history (conditional), and
        spend (conditional purchases x expected value per purchase).
        """
        track = self.tracking()
        later = track[track["holdout"]]
        conditional = self.expected_holdout_purchases()
        r = self.rfm
        gg = self.gamma_gamma.params
        mean_value = gg["p"] * gg["gamma"] / (gg["q"] - 1.0) if gg["q"] > 1 else np.nan
        value = np.where(
            r["x"] > 0,
            self.gamma_gamma.expected_order_value(r["x"].to_numpy(), r["mean_spend"].fillna(0)),
            mean_value,
        )
        rows = [
            ("repeat purchases (by age only)", later["expected"].sum(), later["actual"].sum()),
            ("purchases (from each history)", conditional.sum(), r["holdout_x"].sum()),
            ("spend (from each history)", float((conditional * value).sum()),
             r["holdout_spend"].sum()),
        ]  # fmt: skip
        frame = pd.DataFrame(rows, columns=["quantity", "forecast", "actual"])
        frame["error_percent"] = 100 * (frame["forecast"] - frame["actual"]) / frame["actual"]
        return frame

    # -- figures ---------------------------------------------------------------------

    def plot_tracking(self) -> Figure:
        """Cumulative repeat purchases, actual and forecast, with the calibration end."""
        fig = self._plot_against_forecast(
            "cumulative_actual", "cumulative_expected",
            "Tracking cumulative repeat purchases", "repeat purchases (cumulative)",
        )  # fmt: skip
        fig.axes[0].annotate("calibration end", (self.calibration_end, 0), xytext=(4, 4),
                             textcoords="offset points", color="grey")  # fmt: skip
        return fig

    def plot_per_period(self) -> Figure:
        """Repeat purchases per period, actual and forecast."""
        return self._plot_against_forecast(
            "actual", "expected",
            f"Repeat purchases per {self.unit}", f"repeat purchases per {self.unit}",
        )  # fmt: skip

    def _plot_against_forecast(self, actual: str, expected: str, title: str, ylabel: str) -> Figure:
        """Columns ``actual`` and ``expected`` of the tracking table over the dates, with
        the calibration end marked."""
        track = self.tracking()
        fig, ax = new_figure(figsize=(8, 4))
        ax.plot(track["period_end"], track[actual], color="black", label="actual")
        ax.plot(track["period_end"], track[expected], color=SCENARIO_COLORS[0],
                linestyle="--", label="BG/NBD")  # fmt: skip
        ax.axvline(self.calibration_end, color="grey", linewidth=1)
        ax.set(title=title, xlabel="Date", ylabel=ylabel)
        ax.legend()
        return fig

    def plot_conditional(self) -> Figure:
        """Holdout purchases per customer by calibration repeat purchases."""
        table = self.conditional_expectations()
        fig, ax = new_figure(figsize=(7, 4))
        where = np.arange(len(table))
        ax.plot(where, table["actual"], "o-", color="black", label="actual")
        ax.plot(where, table["expected"], "s--", color=SCENARIO_COLORS[0], label="BG/NBD")
        ax.set_xticks(where, table["calibration_repeat_purchases"])
        ax.set(title="Conditional expectations in the holdout period",
               xlabel="repeat purchases in the calibration period",
               ylabel="holdout purchases per customer")  # fmt: skip
        ax.legend()
        return fig

    def figures(self) -> dict[str, Figure]:
        """Every figure, by the file name it is written to."""
        return {
            "tracking.png": self.plot_tracking(),
            "per_period.png": self.plot_per_period(),
            "conditional.png": self.plot_conditional(),
        }

    # -- the scenario ----------------------------------------------------------------

    def spend_distribution(self) -> tuple[float, float, str]:
        """Mean and lognormal spread of customers' mean spend per purchase, and how.

        Gamma-Gamma makes a customer's mean spend p / nu with nu ~ Gamma(q, gamma): an
        inverse Gamma with mean p gamma / (q - 1) and squared coefficient of variation
        1 / (q - 2). The lab draws a lognormal of the same mean and spread; each
        purchase costs the customer's mean (the scatter of single purchases around it,
        p, leaves totals unchanged).
        """
        g = self.gamma_gamma.params
        p, q, gamma = g["p"], g["q"], g["gamma"]
        if q <= 1:
            mean = float(self.rfm["mean_spend"].mean())
            return (
                mean,
                5.0,
                (
                    f"q = {q:.3g} <= 1 gives no finite mean spend: the mean of the repeat buyers' "
                    f"means ({mean:.2f}) and the widest spread the lab allows (5)"
                ),
            )
        mean = p * gamma / (q - 1.0)
        if q <= 2:
            return (
                mean,
                5.0,
                (
                    f"mean p gamma / (q - 1) = {mean:.2f}; q = {q:.3g} <= 2 gives an infinite "
                    "variance, so the widest spread the lab allows (5)"
                ),
            )
        spread = min(math.sqrt(math.log1p(1.0 / (q - 2.0))), 5.0)
        return (
            mean,
            spread,
            (
                f"mean p gamma / (q - 1) = {mean:.2f} and the same coefficient of variation "
                f"(1 / sqrt(q - 2) = {1 / math.sqrt(q - 2):.3f}): a lognormal of log-sd "
                f"{spread:.3f}"
            ),
        )

    def scenario_settings(self, name: str = "calibrated") -> dict[str, Any]:
        """A scenario of the lab whose customers are this log's, as a cohort.

        The calibration customers start together at month 0 (their first purchase);
        purchase rates, dropout and spend come from the estimates, converted to months.
        The fitted dropout stands for every way a customer is lost, so the market's
        other reasons of leaving, returns, referrals, acquisition and the ladder's spend
        effects are off (the log cannot tell them apart); margins and costs are the
        lab's defaults, to be set to the firm's own.
        """
        b = self.bgnbd.params
        per_month = self.months_per_unit
        alpha_month = b["alpha"] * per_month
        mean, spread, how = self.spend_distribution()
        months = math.ceil((self.data_end - self.data_start).days / DAYS_PER_MONTH)
        n = len(self.rfm)
        description = (
            f"Calibrated on {self.source}: {n:,} customers whose first purchase fell between "
            f"{self.data_start:%Y-%m-%d} and {self.calibration_end:%Y-%m-%d}, BG/NBD and "
            f"Gamma-Gamma fitted on their purchases up to {self.calibration_end:%Y-%m-%d} "
            f"in {self.unit}s. Time: one month is 365.25 / 12 = {DAYS_PER_MONTH:.4f} days = "
            f"{1 / per_month:.4f} {self.unit}s, so a purchase rate per month is "
            f"{1 / per_month:.4f} times the rate per {self.unit}: r = {b['r']:.4f} stays, alpha "
            f"= {b['alpha']:.4f} {self.unit}s becomes {alpha_month:.4f} months "
            f"(alpha x {per_month:.6f}); the dropout chance after a purchase, a = "
            f"{b['a']:.4f}, b = {b['b']:.4f}, needs no time unit. Spend per purchase: "
            f"{how}. The lab counts months: a newcomer's repeat buying starts the month "
            "after the first purchase. Everyone starts at month 0; the fitted dropout stands "
            "for every way a customer is lost, so the market's other reasons of leaving, "
            "returns, referrals, acquisition and the ladder's effect on spend are off. The "
            "log says nothing of margins or costs: the gross margin is the lab's default "
            "and the cost to serve 0 (set firm.gross_margin and firm.cost_to_serve_per_month "
            "to your own)."
        )
        return {
            "name": name,
            "description": description,
            "simulation": {"months": max(months, 1), "customers": n},
            "market": {
                "initial_active_share": 1.0,
                "entry_rate_per_month": 0.0,
                "warm_start_months": 0,
                **NO_OTHER_LEAVING["market"],
            },
            "customers": {
                "behaviour": "non_contractual",
                "purchase_rate_r": round(b["r"], 6),
                "purchase_rate_alpha": round(alpha_month, 6),
                "dropout_a": round(b["a"], 6),
                "dropout_b": round(b["b"], 6),
                "order_value_mean": round(mean, 4),
                "order_value_spread": round(spread, 6),
            },
            "ladder": {
                "spend_multiplier": [1.0] * 5,
                "churn_multiplier": [1.0] * 5,
                "referrals_per_month": [0.0] * 5,
            },
            "firm": {**NO_OTHER_LEAVING["firm"], "cost_to_serve_per_month": 0.0},
            "acquisition": {"budget_per_month_per_1000_people": 0.0},
            "competitor": dict(NO_OTHER_LEAVING["competitor"]),
            "reacquisition": {"return_probability_per_month": 0.0},
        }

    def summary(self) -> str:
        """A short text report: the data, the estimates with standard errors, the holdout."""
        r = self.rfm
        lines = [
            f"{self.source}: {self.transactions:,} transactions of {len(r):,} customers "
            f"(first purchase by {self.calibration_end:%Y-%m-%d}), {self.data_start:%Y-%m-%d} "
            f"to {self.data_end:%Y-%m-%d}",
            f"calibration: up to {self.calibration_end:%Y-%m-%d}; holdout: "
            f"{self.holdout_length:.2f} {self.unit}s after it; time unit: {self.unit} "
            "(purchases on one day count once)",
            f"repeat purchases in the calibration period: {int(r['x'].sum()):,} "
            f"({int((r['x'] > 0).sum()):,} repeat buyers)",
            "",
            "estimates (standard error):",
        ]
        for row in self.parameters().itertuples():
            lines.append(f"  {row.model:<12} {row.parameter:<6} {row.estimate:>10.4f} "
                         f"({row.standard_error:.4f})  {row.meaning}")  # fmt: skip
        b = self.bgnbd.fit_result
        g = self.gamma_gamma.fit_result
        lines += [
            f"  log-likelihood: BG/NBD {b.log_likelihood:.2f}, Gamma-Gamma {g.log_likelihood:.2f}",
            "",
            "holdout period, forecast against actual:",
        ]
        for row in self.holdout().itertuples():
            lines.append(f"  {row.quantity:<32} forecast {row.forecast:>12,.1f}  actual "
                         f"{row.actual:>12,.1f}  ({row.error_percent:+.1f}%)")  # fmt: skip
        lines += ["", "holdout purchases per customer by calibration repeat purchases:"]
        table = self.conditional_expectations()
        for row in table.itertuples():
            lines.append(
                f"  {row.calibration_repeat_purchases:>3}: {row.customers:>6,} customers, "
                f"actual {row.actual:.3f}, expected {row.expected:.3f}"
            )
        return "\n".join(lines)


NO_OTHER_LEAVING: dict[str, dict[str, Any]] = {
    "market": {"exit_rate_per_month": 0.0, "obsolescence_rate_per_month": 0.0,
               "technology_shock_month": None},
    "firm": {"organisational_failure_rate_per_month": 0.0,
             "service_defection_sensitivity": 0.0},
    "competitor": {"reach_per_month": 0.0, "product_advantage_rate_per_month": 0.0},
}  # fmt: skip
"""Settings that leave a calibrated model as the only way customers are lost."""


def fit_transactions(
    transactions: pd.DataFrame,
    calibration_end: Any = None,
    freq: str = "W",
    source: str = "transactions",
) -> TransactionFit:
    """Fit BG/NBD and Gamma-Gamma on a transaction log, keeping a holdout period.

    Args:
        transactions: Columns ``customer_id``, ``date`` and ``amount`` (as
            :func:`crmsim.calibrate.read_transactions` returns them).
        calibration_end: Last day of the calibration period (a date or text such as
            "1997-09-30"); default: the middle of the log's dates.
        freq: Time unit of the fit: D (days), W (weeks) or M (months of 365.25 / 12 days).
        source: Name of the log in messages and the report.

    Returns:
        The fit, with its RFM summary, estimates, holdout checks, figures and scenario.

    Raises:
        CalibrationError: Too few customers, all purchases on one day, a calibration end
            outside the log, or a fit that did not converge.
    """
    unit_days(freq)
    if freq == "Y":
        raise CalibrationError("time unit 'Y' is for contractual records; use D, W or M")
    missing = [c for c in ("customer_id", "date", "amount") if c not in transactions]
    if missing:
        raise CalibrationError(f"{source}: no column {missing[0]!r}; the log needs "
                               "customer_id, date and amount")  # fmt: skip
    if transactions.empty:
        raise CalibrationError(f"{source}: no transactions")
    dates = pd.to_datetime(transactions["date"]).dt.normalize()
    start, end = dates.min(), dates.max()
    customers = transactions["customer_id"].nunique()
    if customers < MIN_CUSTOMERS:
        raise CalibrationError(
            f"{source}: {customers} customer{'s' * (customers != 1)}; a fit needs the "
            f"purchases of at least {MIN_CUSTOMERS} customers"
        )
    if start == end:
        raise CalibrationError(
            f"{source}: every purchase is on {start:%Y-%m-%d}; repeat buying can only be "
            "seen in purchases spread over time"
        )
    if calibration_end is None:
        cut = start + pd.Timedelta(days=(end - start).days // 2)
    else:
        cut = _as_date(calibration_end, "calibration end")
        if not start <= cut < end:
            raise CalibrationError(
                f"{source}: calibration end {cut:%Y-%m-%d} is outside the log's dates "
                f"({start:%Y-%m-%d} to {end:%Y-%m-%d}); it must fall on or after the first "
                "and before the last, so that a holdout period is left"
            )
    log = pd.DataFrame({"customer_id": transactions["customer_id"].astype(str).to_numpy(),
                        "date": dates.to_numpy(),
                        "amount": transactions["amount"].to_numpy(float)})  # fmt: skip
    rfm = rfm_summary(log, cut, freq)
    if len(rfm) < MIN_CUSTOMERS:
        raise CalibrationError(
            f"{source}: {len(rfm)} customers made their first purchase by {cut:%Y-%m-%d}; "
            f"a fit needs at least {MIN_CUSTOMERS}: choose a later calibration end"
        )
    bgnbd = BetaGeometricNBD()
    fit = bgnbd.fit(rfm["x"].to_numpy(), rfm["t_x"].to_numpy(), rfm["T"].to_numpy())
    if fit.fell_back:
        raise refused_fit("BG/NBD", fit, source)
    spend = GammaGamma()
    buyers = rfm["x"] > 0
    fit = spend.fit(rfm["x"][buyers].to_numpy(), rfm["mean_spend"][buyers].to_numpy())
    if fit.fell_back:
        raise refused_fit("Gamma-Gamma", fit, source)
    return TransactionFit(
        rfm, freq, cut, start, end, bgnbd, spend, len(transactions),
        _repeat_days(rfm, log, start), source,
    )  # fmt: skip


def _repeat_days(rfm: pd.DataFrame, log: pd.DataFrame, start: pd.Timestamp) -> np.ndarray:
    """Days (since the log's start) of the calibration customers' repeat purchases."""
    daily = log[log["customer_id"].isin(rfm.index)][["customer_id", "date"]].drop_duplicates()
    first = daily.groupby("customer_id")["date"].transform("min")
    return (daily["date"][daily["date"] > first] - start).dt.days.to_numpy(np.int64)
