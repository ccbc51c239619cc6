"""What the firm knows of its customers: estimates from its own records, or the truth.

Every simulated customer carries a hidden true chance of leaving; no firm sees
it. With ``firm.knowledge: estimated`` (the default) the firm values and ranks
its customers from what it can observe in its own records: how many months
each relationship has lasted (its renewals) and how it ended (the customer
left: a churn; the firm ended it: censored, the customer was still there). It
fits the shifted-beta-geometric model (``crmsim.estimation.ShiftedBetaGeometric``,
Fader & Hardie 2007) to them at month 0, on the records of the months lived
before (the warm start), and again every ``firm.refit_every_months`` months. A
customer who has renewed ``n`` times is then expected to renew once more with
chance (beta + n) / (alpha + beta + n), and is worth, per unit of monthly
margin, their discounted expected residual lifetime (DERL, Fader & Hardie 2010,
``crmsim.analytic.expected_derl``):

- margins at month end (paid only by those who stay): DERL(n) / (1 + i), DERL
  counting the next renewal's margin undiscounted, a month after the value is
  taken;
- margins at month start (paid before the customer decides): the month's margin,
  certain, and then the same stream: 1 + DERL(n) / (1 + i) (in the homogeneous
  limit both are the oracle's multiples below).

Unlike the margin multiple at a constant retention, DERL counts the sorting of
a heterogeneous base: those who have stayed long are the ones likely to stay.
When the records are too few, the model keeps its documented prior (alpha = 1,
beta = 24) and the run summary says so.

The sBG takes each customer's chance of leaving as fixed for life. Where the
market makes it drift, the firm believes what its records show: in the baseline,
expectations rise toward their ceiling, satisfaction falls and service churn
rises year after year, so the records (from the warm start on) show the lower
churn of happier years and the firm puts its customer equity about 30% above the
truth's (7.5M against 5.7M at month 120, 20,000 people, seeds 1-2); with
``market.expectation_drift_per_month: 0`` the two agree within 1% (10.4M against
10.3M). That is what a firm using the sBG would honestly believe, not a fault of
the fit.

The lab's own measures (customer equity, lifetime CLV) read the truth whatever
the firm knows (``CRMModel.valuation``); the firm decides with its view
(``CRMModel.firm_valuation``, what ``MarketView`` reads), and the run summary
sets its reckoning of its customer equity beside the truth.

With ``firm.knowledge: oracle`` the firm reads the truth (each customer's
hazard of leaving last month, and whether a retail customer is still alive),
the view of the model before the firm had to estimate, kept for teaching.
Non-contractual customers are valued from the truth in either view for now.

Both views cap the margin multiple at that of a retention of 0.999 a month, so
no customer is worth an unbounded amount (at a discount rate of 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from crmsim import economics
from crmsim.analytic import expected_derl, margin_multiple
from crmsim.estimation import ShiftedBetaGeometric
from crmsim.vocabulary import ACTIVE

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel

HIGHEST_RETENTION = 0.999
"""The highest monthly retention either view counts on (as ``economics.expected_retention``)."""

NOT_ESTIMATED_YET = (
    "non-contractual customers: the firm's estimates from purchase records are not built "
    "yet, so it values them from the truth"
)


class FirmKnowledge:
    """The firm's view of its customers' future: estimated from its records, or the truth.

    Args:
        model: The model whose firm this is.
        oracle: True reads the truth whatever ``firm.knowledge`` says (the lab's own
            measures); None follows the setting.

    Attributes:
        oracle: Whether the firm reads the truth.
        reason: Why it does ("" when it estimates).
        retention_model: The sBG model the firm fits (estimated view).
        fits: Fits made so far. The records are taken at every refit date, but fitted
            only when the firm's view is asked for (a strategy ranks its customers, the
            run summary reports the fit): a run whose strategies never ask fits once.
        fits_on_prior: Of those, fits that kept the prior (too few records).
    """

    def __init__(self, model: CRMModel, oracle: bool | None = None) -> None:
        self._model = model
        p = model.scenario.params
        self.refit_every_months = int(p.firm.refit_every_months)
        self.oracle = bool(oracle) or p.firm.knowledge == "oracle" or model.non_contractual
        if oracle:
            self.reason = "the lab's measures read the truth"
        elif p.firm.knowledge == "oracle":
            self.reason = "firm.knowledge is oracle"
        elif model.non_contractual:
            self.reason = NOT_ESTIMATED_YET
        else:
            self.reason = ""
        self.timing = "start" if model.pays_at_start else "end"
        self.retention_model = ShiftedBetaGeometric()
        self.fits = 0
        self.fits_on_prior = 0
        self.prior_reasons: list[str] = []
        # Renewals a relationship reaches in a run: the months before month 0 and the run's
        # (the tables grow if a run goes on longer); the truth keeps no records.
        longest = 0 if self.oracle else p.market.warm_start_months + p.simulation.months + 1
        self._ended = np.zeros((2, longest), np.int64)
        """Relationships that ended, by [churned (1) or censored (0), renewals made]."""
        self._retention = self._multiple = np.zeros(0)
        """Expected retention and margin multiple by renewals made, for the current fit."""
        self._records: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        """The records of the last refit date, while they wait to be fitted."""

    # ------------------------------------------------------------- the records
    def relationships_ended(self, rows: np.ndarray, churned: bool) -> None:
        """The relationships of ``rows`` end now: the customers left (``churned``) or the
        firm ended them (censored: the customer was still there)."""
        if self.oracle or rows.size == 0:
            return
        counts = np.bincount(self._model.customers.tenure_months[rows])
        self._ended = _widened(self._ended, counts.size)
        self._ended[int(churned), : counts.size] += counts

    def month_closed(self, month: int) -> None:
        """At the end of ``month``, refit when the next month starts a new fitting period."""
        if (month + 1) % self.refit_every_months == 0:
            self.refit()

    def refit(self) -> None:
        """Take the records so far (ended relationships and running ones) for the sBG: the
        firm's view from now until the next refit date (fitted when first asked for)."""
        if self.oracle:
            return
        model = self._model
        table = model.customers
        running = np.bincount(table.tenure_months[table.stage == ACTIVE])
        self._ended = _widened(self._ended, running.size)
        longest = self._ended.shape[1]
        renewals = np.tile(np.arange(longest), 2)
        churned = np.repeat([False, True], longest)
        censored = self._ended[0].copy()
        censored[: running.size] += running
        count = np.concatenate([censored, self._ended[1]])
        seen = count > 0
        self._records = (renewals[seen], churned[seen], count[seen])

    def _fitted(self) -> None:
        """Fit the records of the last refit date, if not done yet."""
        if self._records is None:
            return
        renewals, churned, count = self._records
        self._records = None
        fit = self.retention_model.fit(renewals, churned, weights=count)
        self.fits += 1
        if fit.fell_back:
            self.fits_on_prior += 1
            self.prior_reasons.append(fit.reason)
        self._tabulate(int(renewals.max(initial=0)) + 1)

    def _tabulate(self, renewals: int) -> None:
        """Expected retention and margin multiple of the current fit for 0 .. ``renewals``."""
        p = self.retention_model.params
        n = np.arange(renewals + 1)
        self._retention = np.minimum(self.retention_model.expected_retention(n), HIGHEST_RETENTION)
        rate = self._model.monthly_discount_rate
        derl = np.asarray(expected_derl(rate, p["alpha"], p["beta"], n))
        after_this_month = derl / (1.0 + rate)
        multiple = 1.0 + after_this_month if self.timing == "start" else after_this_month
        self._multiple = np.minimum(multiple, margin_multiple(HIGHEST_RETENTION, rate, self.timing))

    def _renewals(self, rows: np.ndarray) -> np.ndarray:
        """Renewals made by ``rows`` in their current relationship (the tables cover them)."""
        self._fitted()
        renewals = self._model.customers.tenure_months[rows]
        if renewals.size and renewals.max() >= self._multiple.size:
            self._tabulate(2 * int(renewals.max()))
        return renewals

    # ------------------------------------------------------------- the answers
    def expected_retention(self, rows: np.ndarray) -> np.ndarray:
        """Each active customer's chance of still being a customer next month."""
        model = self._model
        if self.oracle:
            return economics.expected_retention(model.customers, rows, model.non_contractual)
        renewals = self._renewals(rows)  # first: it may widen the table
        return self._retention[renewals]

    def probability_alive(self, rows: np.ndarray, months_ahead: int = 0) -> np.ndarray:
        """Chance that each active customer is still a customer ``months_ahead`` months on.

        A contractual firm sees who cancels, so an active customer is alive now (1).
        """
        if self.oracle:
            return self.expected_retention(rows).astype(np.float64) ** months_ahead
        self._fitted()
        tenure = self._model.customers.tenure_months[rows]
        return self.retention_model.probability_alive(tenure, months_ahead)

    def margin_multiple(self, rows: np.ndarray) -> np.ndarray:
        """Expected discounted months of margin still to come from each active customer,
        the first as ``firm.margin_timing`` says (expected CLV = margin x this)."""
        if self.oracle:
            rate = self._model.monthly_discount_rate
            return margin_multiple(self.expected_retention(rows), rate, self.timing)
        renewals = self._renewals(rows)  # first: it may widen the table
        return self._multiple[renewals]

    def expected_residual_lifetime(self, rows: np.ndarray) -> np.ndarray:
        """Each active customer's discounted expected residual lifetime (DERL), months:
        the renewals still to come, the next one undiscounted."""
        multiple = self.margin_multiple(rows)
        if self.timing == "start":
            multiple = multiple - 1.0
        return multiple * (1.0 + self._model.monthly_discount_rate)

    def summary(self) -> dict[str, Any]:
        """What the firm knew, for the run summary (JSON-ready)."""
        if self.oracle:
            return {"knowledge": "oracle", "reason": self.reason}
        self._fitted()
        return {
            "knowledge": "estimated",
            "model": "shifted_beta_geometric",
            "refit_every_months": self.refit_every_months,
            "fits": self.fits,
            "fits_on_prior": self.fits_on_prior,
            "prior_reasons": sorted(set(self.prior_reasons)),
            **self.retention_model.fit_result.as_dict(),
        }


def _widened(counts: np.ndarray, length: int) -> np.ndarray:
    """``counts`` with at least ``length`` columns (new ones zero), at least doubled when
    widened, so a market run on month after month does not widen it every month."""
    if length <= counts.shape[1]:
        return counts
    return np.pad(counts, ((0, 0), (0, max(length, 2 * counts.shape[1]) - counts.shape[1])))
