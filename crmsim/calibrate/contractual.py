"""Contractual calibration: the shifted-beta-geometric model on survivors by cohort.

Records are customers still there at the start of each period of each cohort
(Fader & Hardie 2007), or one row per relationship with its start and end dates,
which are turned into the same table. The sBG fit is ``crmsim.estimation``'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.special import betaln

from crmsim.analytic import sbg_survival
from crmsim.calibrate.reading import CalibrationError, refused_fit
from crmsim.calibrate.transactions import (
    DAYS_PER_MONTH,
    NO_OTHER_LEAVING,
    UNIT_DAYS,
    UNIT_NAMES,
    unit_days,
)
from crmsim.estimation import ShiftedBetaGeometric
from crmsim.report.style import SCENARIO_COLORS, new_figure

MAX_POLARIZATION = 0.99
"""The largest spread of churn chances a scenario holds (``churn_probability_polarization``)."""


def survivors_from_relationships(
    relationships: pd.DataFrame, freq: str = "M", as_of: Any = None
) -> pd.DataFrame:
    """Survivors by cohort from one row per relationship (start, end or NaT).

    Args:
        relationships: Columns ``start`` and ``end`` (NaT: still a customer).
        freq: Length of a period: D, W, M (365.25 / 12 days) or Y (365.25 days).
        as_of: Date the records were taken (default: the latest start or end).

    Returns:
        Columns ``cohort`` (the period of the start, e.g. "1997-03" by month),
        ``period`` (0, 1, ... up to the last the cohort was watched whole) and ``alive``.
    """
    days = unit_days(freq)
    start, end = relationships["start"], relationships["end"]
    as_of = pd.Timestamp(as_of) if as_of is not None else max(start.max(), end.max())
    tenure = ((end.fillna(as_of) - start).dt.days // days).astype(np.int64)
    cohort = start.dt.to_period({"D": "D", "W": "W", "M": "M", "Y": "Y"}[freq]).astype(str)
    rows = []
    for name, group in pd.DataFrame({"cohort": cohort, "tenure": tenure,
                                     "start": start}).groupby("cohort"):  # fmt: skip
        watched = int((as_of - group["start"].max()).days // days)
        counts = np.bincount(group["tenure"].to_numpy(), minlength=watched + 1)
        alive = counts[::-1].cumsum()[::-1][: watched + 1]
        rows += [(name, k, int(n)) for k, n in enumerate(alive)]
    return pd.DataFrame(rows, columns=["cohort", "period", "alive"])


@dataclass
class CohortFit:
    """The sBG fitted on the first periods of each cohort, with the holdout check.

    Attributes:
        survivors: Columns cohort, period, alive, as given.
        freq: Length of a period (D, W, M or Y).
        calibration_periods: Periods of each cohort the fit used (0 .. this one).
        model: The fitted sBG (``.fit_result``: estimates, standard errors).
        source: Where the records came from, for messages and the report.
    """

    survivors: pd.DataFrame
    freq: str
    calibration_periods: int
    model: ShiftedBetaGeometric
    source: str = "cohorts"

    @property
    def unit(self) -> str:
        """The period's name (day, week, month, year)."""
        return UNIT_NAMES[self.freq]

    def parameters(self) -> pd.DataFrame:
        """alpha and beta with their standard errors."""
        fit = self.model.fit_result
        meaning = {"alpha": f"Beta alpha of the churn chance per {self.unit}",
                   "beta": f"Beta beta of the churn chance per {self.unit}"}  # fmt: skip
        return pd.DataFrame(
            [{"model": "sBG", "parameter": k, "estimate": v,
              "standard_error": fit.standard_errors[k], "meaning": meaning[k]}
             for k, v in fit.params.items()]
        )  # fmt: skip

    def survival(self) -> pd.DataFrame:
        """Survivors by cohort and period, actual and expected (start x sBG survival)."""
        p = self.model.params
        table = self.survivors.copy()
        start = table.groupby("cohort")["alive"].transform("first")
        table["expected"] = start * np.asarray(
            sbg_survival(table["period"].to_numpy(), p["alpha"], p["beta"])
        )
        table["holdout"] = table["period"] > self.calibration_periods
        return table

    def holdout(self) -> pd.DataFrame:
        """Survivors at the last period of each cohort with a holdout: forecast against actual."""
        table = self.survival()
        later = table[table["holdout"]]
        last = later.groupby("cohort").tail(1)
        frame = pd.DataFrame({"quantity": [f"survivors of cohort {c} at {self.unit} {k}"
                                           for c, k in zip(last["cohort"], last["period"],
                                                           strict=True)],
                              "forecast": last["expected"].to_numpy(),
                              "actual": last["alive"].to_numpy(float)})  # fmt: skip
        frame["error_percent"] = 100 * (frame["forecast"] - frame["actual"]) / frame["actual"]
        return frame

    def plot_survival(self) -> Figure:
        """Survivors by cohort, actual and the sBG's, with the calibration end."""
        table = self.survival()
        fig, ax = new_figure(figsize=(8, 4))
        for number, (name, group) in enumerate(table.groupby("cohort", sort=False)):
            color = SCENARIO_COLORS[number % len(SCENARIO_COLORS)]
            share = group["alive"].iloc[0]
            ax.plot(group["period"], group["alive"] / share, "o-", color=color,
                    label=f"cohort {name}" if number < 8 else None)  # fmt: skip
            ax.plot(group["period"], group["expected"] / share, "--", color=color)
        ax.axvline(self.calibration_periods, color="grey", linewidth=1)
        ax.set(title="Survival by cohort: actual (solid) and sBG (dashed)",
               xlabel=f"{self.unit}s since the start", ylabel="share still a customer")  # fmt: skip
        ax.legend()
        return fig

    def figures(self) -> dict[str, Figure]:
        """Every figure, by the file name it is written to."""
        return {"survival.png": self.plot_survival()}

    def monthly_churn(self) -> tuple[float, float]:
        """Mean and polarization of the monthly churn chance implied by the fit.

        A customer with churn chance theta per period stays a month with (1 - theta)**s,
        s = months per period to the power -1; the lab's Beta of monthly churn is matched
        to its first two moments, E[(1 - theta)**k] = B(alpha, beta + k) / B(alpha, beta).
        """
        p = self.model.params
        s = DAYS_PER_MONTH / UNIT_DAYS[self.freq]
        a, b = p["alpha"], p["beta"]
        stay = math.exp(betaln(a, b + s) - betaln(a, b))
        stay_twice = math.exp(betaln(a, b + 2 * s) - betaln(a, b))
        mean = 1.0 - stay
        variance = max(stay_twice - stay**2, 0.0)
        polarization = variance / (mean * (1.0 - mean)) if 0 < mean < 1 else 0.0
        return mean, min(polarization, MAX_POLARIZATION)

    def scenario_settings(self, name: str = "calibrated") -> dict[str, Any]:
        """A contractual scenario whose customers' churn chances follow the fit."""
        p = self.model.params
        mean, polarization = self.monthly_churn()
        months_per_period = UNIT_DAYS[self.freq] / DAYS_PER_MONTH
        n = int(self.survivors.groupby("cohort")["alive"].first().sum())
        longest = int(self.survivors["period"].max())
        description = (
            f"Calibrated on {self.source}: {n:,} customers in "
            f"{self.survivors['cohort'].nunique()} cohort(s), sBG fitted on their first "
            f"{self.calibration_periods} {self.unit}s: churn chance per {self.unit} ~ "
            f"Beta(alpha = {p['alpha']:.4f}, beta = {p['beta']:.4f}). Time: one {self.unit} "
            f"is {months_per_period:.4f} months (a month being 365.25 / 12 days); a customer "
            f"with churn chance theta per {self.unit} stays a month with (1 - theta) to the "
            f"power {1 / months_per_period:.4f}, and the lab's Beta of monthly churn matches "
            f"the first two moments of that: mean {mean:.5f}, polarization "
            f"{polarization:.5f}. Everyone starts at month 0; the fitted churn stands for "
            "every way a customer is lost, so the market's other reasons of leaving, "
            "returns, referrals, acquisition and the ladder's effects on churn and spend "
            "are off. The records say nothing of bills, margins or costs: the bill and the "
            "gross margin are the lab's defaults and the cost to serve 0 (set "
            "customers.order_value_mean, firm.gross_margin and firm.cost_to_serve_per_month "
            "to your own)."
        )
        return {
            "name": name,
            "description": description,
            "simulation": {"months": max(math.ceil(longest * months_per_period), 1),
                           "customers": n},
            "market": {"initial_active_share": 1.0, "entry_rate_per_month": 0.0,
                       "warm_start_months": 0, **NO_OTHER_LEAVING["market"]},
            "customers": {"behaviour": "contractual",
                          "churn_probability_mean": round(mean, 8),
                          "churn_probability_polarization": round(polarization, 8)},
            "ladder": {"spend_multiplier": [1.0] * 5, "churn_multiplier": [1.0] * 5,
                       "referrals_per_month": [0.0] * 5},
            "firm": {**NO_OTHER_LEAVING["firm"], "cost_to_serve_per_month": 0.0},
            "acquisition": {"budget_per_month_per_1000_people": 0.0},
            "competitor": dict(NO_OTHER_LEAVING["competitor"]),
            "reacquisition": {"return_probability_per_month": 0.0},
        }  # fmt: skip

    def summary(self) -> str:
        """A short text report: the records, the estimates with standard errors, the holdout."""
        f = self.model.fit_result
        lines = [
            f"{self.source}: {self.survivors['cohort'].nunique()} cohort(s), "
            f"{int(self.survivors.groupby('cohort')['alive'].first().sum()):,} customers, "
            f"up to {int(self.survivors['period'].max())} {self.unit}s",
            f"calibration: {self.unit}s 0 to {self.calibration_periods} of each cohort",
            "",
            "estimates (standard error):",
        ]
        for row in self.parameters().itertuples():
            lines.append(f"  sBG {row.parameter:<6} {row.estimate:>10.4f} "
                         f"({row.standard_error:.4f})  {row.meaning}")  # fmt: skip
        lines.append(f"  log-likelihood {f.log_likelihood:.2f}")
        mean, polarization = self.monthly_churn()
        lines.append(f"  monthly churn in the scenario: mean {mean:.5f}, polarization "
                     f"{polarization:.5f}")  # fmt: skip
        holdout = self.holdout()
        lines += ["", "holdout, forecast against actual:"]
        if holdout.empty:
            lines.append("  none: the calibration covers every period (give an earlier "
                         "calibration end to keep some back)")  # fmt: skip
        for row in holdout.itertuples():
            lines.append(f"  {row.quantity:<40} forecast {row.forecast:>10,.1f}  actual "
                         f"{row.actual:>10,.0f}  ({row.error_percent:+.1f}%)")  # fmt: skip
        return "\n".join(lines)


def fit_cohorts(
    survivors: pd.DataFrame,
    calibration_end: int | None = None,
    freq: str = "M",
    source: str = "cohorts",
) -> CohortFit:
    """Fit the sBG on each cohort's survivors up to ``calibration_end``.

    Args:
        survivors: Columns ``cohort`` (optional), ``period`` (0, 1, ...) and ``alive``
            (customers there at the start of the period).
        calibration_end: Last period used by the fit (default: half the longest cohort's
            periods, rounded up; the longest cohort's last period: no holdout).
        freq: Length of a period: D, W, M or Y.
        source: Name of the records in messages and the report.

    Raises:
        CalibrationError: A calibration end outside the periods, too few customers or
            churns, or a fit that did not converge.
    """
    unit_days(freq)
    table = survivors.copy()
    if "cohort" not in table:
        table["cohort"] = "all"
    table = table.sort_values(["cohort", "period"], kind="stable")
    longest = int(table["period"].max())
    if longest < 1:
        raise CalibrationError(f"{source}: only period 0; survival needs at least two periods")
    if calibration_end is None:
        calibration_end = math.ceil(longest / 2)
    if not 1 <= calibration_end <= longest:
        raise CalibrationError(
            f"{source}: calibration end {calibration_end} is outside the periods (1 to "
            f"{longest}); it is the last period the fit uses"
        )
    tenure, churned, weight = [], [], []
    for _, group in table.groupby("cohort", sort=False):
        alive = group["alive"].to_numpy(np.int64)[: calibration_end + 1]
        lost = alive[:-1] - alive[1:]
        tenure += [*range(len(lost)), len(lost)]
        churned += [True] * len(lost) + [False]
        weight += [*lost, alive[-1]]
    model = ShiftedBetaGeometric()
    fit = model.fit(np.array(tenure), np.array(churned), weights=np.array(weight))
    if fit.fell_back:
        raise refused_fit("sBG", fit, source)
    return CohortFit(table.reset_index(drop=True), freq, calibration_end, model, source)
