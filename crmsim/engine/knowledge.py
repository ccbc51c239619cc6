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

A retailer (``customers.behaviour: non_contractual``) has no renewals to count: a
customer who drops out says nothing and simply stops buying. Its records are its
sales: for each person, how many purchases, in which month the first and the last
(``purchases_total``, ``first_purchase_month``, ``last_purchase_month`` of the
customer table, kept by ``crmsim.rules.purchasing.record_purchases``) and what they
paid in all (``revenue_total``). From them it takes every buyer's repeat purchases x,
recency t_x and age T in months (``FirmKnowledge.purchase_history``: the clock starts
at the first purchase; a repeat purchase is placed at the middle of its month) and
fits the BG/NBD (``crmsim.estimation.BetaGeometricNBD``, Fader, Hardie & Lee 2005) on
them, and the Gamma-Gamma (``crmsim.estimation.GammaGamma``) on each buyer's number of
purchases and mean spend per purchase, on the same dates and as lazily as the sBG.
A customer is then alive with P(alive | x, t_x, T) and, if alive, buys at a rate
lambda ~ Gamma(r + x, alpha + T) and drops out after each purchase with a chance
p ~ Beta(a, b + x); month k ahead holds purchases E[(S(k - 1) - S(k)) / p] and
E[S(k - 1)] months alive, S(s) = exp(-lambda p s)
(``crmsim.analytic.bgnbd_outlook_if_alive``, summed over ``OUTLOOK_MONTHS``: the
first ``OUTLOOK_MONTH_BY_MONTH`` month by month, the rest in blocks whose error is
bounded, within 0.1% of the month-by-month sum). Margins are paid at the start of a month
in retail, so

- expected CLV = P(alive) x [gross margin per month x discounted expected purchases
  per next month's - monthly costs x discounted expected months alive], the first
  month undiscounted;
- gross margin per month = expected purchases next month x the Gamma-Gamma's expected
  spend per purchase, E[z | n, m_n] = p (gamma + n m_n) / (p n + q - 1), at the prices
  and shares of wallet of the customer's purchases so far, x the margin share.

The firm's customers (``FirmKnowledge.customers``) are everyone who has bought and
whose relationship it has not seen end: it sees its own firings, not a silent
dropout or a quiet switch to the competitor, so its customer equity counts those at
their probability of being alive. With too few records the BG/NBD keeps its prior
(r = 1, alpha = 1, a = 1, b = 20) and the spend falls back to each customer's own mean
spend per purchase; the run summary says which and why.

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

What strategies may know of who is a customer comes from here too
(``MarketView.firm_customers``, ``months_as_customer``, ``months_since_purchase``,
``probability_alive``, ``sees_every_end``): a retailer's strategies that rank or flag
customers (firing, focusing, churn flags) choose among everyone it has not seen
leave, by its estimates and its own recency, so a silent dropout is reviewed,
flagged or written off like a customer (an offer to them is spent for nothing; one
written off leaves no second time, ``Relationships.end``); its win-back contacts
the lapsed (no purchase for ``lapsed_after_months``), not the hidden defectors.
The programmes that reach customers choose among the same customers, so a retailer
pays for silent dropouts it cannot tell apart, while the effects act only on
customers still there (a strategy's ``effects`` are asked for the month's true
customers; costs of reaching the rest are charged in its ``act``):

- retention bonds: the firm's customers on the bonded rungs, each silent dropout's
  bond paid every month;
- permission marketing: asked, messaged and offered among the firm's customers,
  anniversaries counted from ``months_as_customer``; messages and offers to silent
  dropouts are paid;
- cross-selling: offers follow a purchase the firm recorded last month
  (``months_since_purchase`` 0); a buyer who dropped out after it is offered and
  charged, and takes nothing;
- loyalty programme: invitations at a recorded purchase (last month's), the fee
  weighed against the firm's estimate of the customer's spend
  (``MarketView.expected_spend``: BG/NBD purchases next month x Gamma-Gamma spend);
  a buyer who joined and then dropped out stays on the firm's member list at its
  running cost (no fee, no rewards) and is no member of anything;
- referral programme: the eligible customer-months it counts are the firm's
  customers on a rung that refers; its rewards are paid for referred first
  purchases, which the firm sees.

Contractual customers and the oracle see every end: all of these choose among the
truly active, as before.

Both views cap the margin multiple at that of a retention of 0.999 a month, so
no customer is worth an unbounded amount (at a discount rate of 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from crmsim import economics
from crmsim.analytic import (
    bgnbd_outlook_if_alive,
    bgnbd_survival_if_alive,
    expected_derl,
    margin_multiple,
)
from crmsim.estimation import BetaGeometricNBD, GammaGamma, ShiftedBetaGeometric
from crmsim.vocabulary import ACTIVE

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel

HIGHEST_RETENTION = 0.999
"""The highest monthly retention either view counts on (as ``economics.expected_retention``)."""

OUTLOOK_MONTHS = 2400
"""Months of a retail customer's future the firm sums (the rest is added as a geometric
tail: ``crmsim.analytic.bgnbd_outlook_if_alive``)."""

OUTLOOK_MONTH_BY_MONTH = 24
"""Of those, the first months summed one by one; the rest in blocks, within 0.1% of the
month-by-month sum (``crmsim.analytic.bgnbd_outlook_if_alive``)."""


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
        self.oracle = bool(oracle) or p.firm.knowledge == "oracle"
        self.reads_purchases = model.non_contractual and not self.oracle
        """Whether the firm reckons from purchase records (BG/NBD and Gamma-Gamma)."""
        if oracle:
            self.reason = "the lab's measures read the truth"
        elif p.firm.knowledge == "oracle":
            self.reason = "firm.knowledge is oracle"
        else:
            self.reason = ""
        self.timing = "start" if model.pays_at_start else "end"
        self.retention_model = ShiftedBetaGeometric()
        self.purchase_model = BetaGeometricNBD()
        self.spend_model = GammaGamma()
        self.fits = 0
        self.fits_on_prior = 0
        self.prior_reasons: list[str] = []
        # Renewals a relationship reaches in a run: the months before month 0 and the run's
        # (the tables grow if a run goes on longer); the truth and a retailer keep none.
        keeps_tenures = not (self.oracle or self.reads_purchases)
        longest = p.market.warm_start_months + p.simulation.months + 1 if keeps_tenures else 0
        self._ended = np.zeros((2, longest), np.int64)
        """Relationships that ended, by [churned (1) or censored (0), renewals made]."""
        self._retention = self._multiple = np.zeros(0)
        """Expected retention and margin multiple by renewals made, for the current fit."""
        self._records: tuple[np.ndarray, ...] | None = None
        """The records of the last refit date, while they wait to be fitted."""
        self._mean_order_value = 0.0
        """Retail: mean spend per purchase over the records of the last fit, currency."""
        self._outlook = _Outlook()
        """Retail: the BG/NBD outlook of the current fit, by (repeat purchases, age)."""
        size = model.customers.size if self.reads_purchases else 0
        self._ended_month = np.full(size, -1, np.int16)
        """Retail: the month the firm ended each relationship (-1 = never), its own record."""

    # ------------------------------------------------------------- the records
    def relationships_ended(self, rows: np.ndarray, churned: bool) -> None:
        """The relationships of ``rows`` end now: the customers left (``churned``) or the
        firm ended them (censored: the customer was still there).

        A retailer sees only the ends it makes: it keeps the month of each (a customer
        who had already left silently is written off all the same, unknowingly).
        """
        if self.oracle or rows.size == 0:
            return
        if self.reads_purchases:
            if not churned:
                self._ended_month[rows] = self._model.month
            return
        counts = np.bincount(self._model.customers.tenure_months[rows])
        self._ended = _widened(self._ended, counts.size)
        self._ended[int(churned), : counts.size] += counts

    def month_closed(self, month: int) -> None:
        """At the end of ``month``, refit when the next month starts a new fitting period."""
        if (month + 1) % self.refit_every_months == 0:
            self.refit(month)

    def refit(self, completed: int | None = None) -> None:
        """Take the records so far for the firm's models: the firm's view from now until
        the next refit date (fitted when first asked for).

        Contractual: ended relationships and running ones, for the sBG. Retail: every
        buyer's purchase history (``purchase_history``) for the BG/NBD and their mean
        spend per purchase for the Gamma-Gamma.

        Args:
            completed: The last month whose purchases are in the records (default: the
                month before the one about to be simulated).
        """
        if self.oracle:
            return
        if self.reads_purchases:
            self._take_purchase_records(self._model.month - 1 if completed is None else completed)
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
        if self.reads_purchases:
            self._fit_purchases()
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
        if self.reads_purchases:
            return self.probability_alive(rows, 1)
        renewals = self._renewals(rows)  # first: it may widen the table
        return self._retention[renewals]

    def probability_alive(self, rows: np.ndarray, months_ahead: int = 0) -> np.ndarray:
        """Chance that each active customer is still a customer ``months_ahead`` months on.

        A contractual firm sees who cancels, so an active customer is alive now (1). A
        retailer sees only purchases: P(alive | x, t_x, T) of its BG/NBD fit (Fader, Hardie
        & Lee 2005, eq. 12), times the chance of no dropout in the months ahead.
        """
        if self.oracle:
            return self.expected_retention(rows).astype(np.float64) ** months_ahead
        if self.reads_purchases:
            outlook = self._purchase_outlook(rows, months_ahead)
            return outlook["alive"] * outlook["survival"]
        self._fitted()
        tenure = self._model.customers.tenure_months[rows]
        return self.retention_model.probability_alive(tenure, months_ahead)

    def margin_multiple(self, rows: np.ndarray) -> np.ndarray:
        """Expected discounted months of margin still to come from each active customer,
        the first as ``firm.margin_timing`` says (expected CLV = margin x this)."""
        if self.oracle:
            rate = self._model.monthly_discount_rate
            return margin_multiple(self.expected_retention(rows), rate, self.timing)
        if self.reads_purchases:
            outlook = self._purchase_outlook(rows)
            return outlook["alive"] * outlook["months"]
        renewals = self._renewals(rows)  # first: it may widen the table
        return self._multiple[renewals]

    def purchase_multiple(self, rows: np.ndarray) -> np.ndarray:
        """Retail: expected discounted purchases still to come from each customer, in units
        of next month's expected purchases (the first month undiscounted); the months'
        margin multiple (``margin_multiple``) where the firm does not read purchase records.

        Purchases thin out faster than the months a customer stays: the heaviest buyers
        are also the quickest to reach the purchase after which they drop out.
        """
        if not self.reads_purchases:
            return self.margin_multiple(rows)
        outlook = self._purchase_outlook(rows)
        return outlook["alive"] * outlook["purchases"]

    def expected_revenue_per_month(self, rows: np.ndarray) -> np.ndarray:
        """Retail: the revenue each customer is expected to bring next month if still alive,
        currency: the BG/NBD's expected purchases next month x the Gamma-Gamma's expected
        spend per purchase (from what they paid: at the prices and shares of wallet of
        their purchases so far)."""
        outlook = self._purchase_outlook(rows)
        return outlook["rate"] * self.expected_spend_per_purchase(rows)

    def customers(self) -> np.ndarray:
        """Rows of the firm's customers as it knows them.

        Contractual (and the truth): the active customers. Retail: everyone who has
        bought and whose relationship the firm has not seen end (it sees its own firings;
        a silent dropout or a quiet switch to the competitor shows only as purchases that
        stop, so such customers stay on its books, at their probability of being alive).
        """
        table = self._model.customers
        if not self.reads_purchases:
            return (table.stage == ACTIVE).nonzero()[0]
        people = slice(0, table.people)
        bought = (table.first_purchase_month[people] >= 0) | (table.stage[people] == ACTIVE)
        return (bought & ~self._written_off(np.arange(table.people))).nonzero()[0]

    def months_as_customer(self, rows: np.ndarray) -> np.ndarray:
        """How long the firm has known each customer of ``rows``, months: the current
        relationship's tenure (contractual, and the truth), or the months since the first
        purchase (retail: its age T in the firm's records)."""
        if not self.reads_purchases:
            return self._model.customers.tenure_months[rows]
        return self.purchase_history(rows, self._model.month - 1)[2]

    def months_since_purchase(self, rows: np.ndarray) -> np.ndarray:
        """Months since each customer of ``rows`` last bought (recency), by the firm's
        records: a retailer's months since the last recorded purchase (counted from the
        start of its relationship if it has none); otherwise the table's recency, always
        0 for subscribers."""
        table = self._model.customers
        if not self.reads_purchases:
            return table.months_since_purchase[rows]
        last = table.last_purchase_month[rows].astype(np.int64)
        since = np.where(last >= 0, last, np.maximum(table.acquired_month[rows], 0) - 1)
        return np.maximum(self._model.month - 1 - since, 0)

    def _written_off(self, rows: np.ndarray) -> np.ndarray:
        """Retail: whether the firm ended the relationship with each of ``rows`` and has
        seen no purchase since (someone it wrote off who comes back and buys is a
        customer again)."""
        ended = self._ended_month[rows]
        return (ended >= 0) & (self._model.customers.last_purchase_month[rows] < ended)

    # ------------------------------------------------------- the retail records
    def purchase_history(
        self, rows: np.ndarray, completed: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the firm's records say of ``rows`` after month ``completed``: repeat
        purchases x, recency t_x and age T, months (the BG/NBD's summary).

        A customer's clock starts at their first recorded purchase (for one of the base
        at month 0 who has not bought yet, at month 0); the purchases after it are repeat
        purchases. Purchases are recorded by month: T counts the months since the first
        purchase's month, and a repeat purchase is taken at the middle of its month
        (t_x = its month - the first's - 1/2), which is where the likelihood of a last
        purchase followed by a dropout is best approximated when a month holds one
        purchase; repeat purchases in the first month are at t_x = 0. A customer the
        firm fired is seen until the month before (the record is censored there).
        """
        table = self._model.customers
        first = table.first_purchase_month[rows].astype(np.int64)
        origin = np.where(first >= 0, first, np.maximum(table.acquired_month[rows], 0))
        repeat = np.maximum(table.purchases_total[rows].astype(np.int64) - 1, 0)
        end = np.full(rows.size, completed, np.int64)
        ended = self._written_off(rows)
        end[ended] = self._ended_month[rows[ended]] - 1
        age = np.maximum(end - origin, 0).astype(np.float64)
        last = table.last_purchase_month[rows].astype(np.int64)
        later = (repeat > 0) & (last > origin)
        recency = np.where(later, last - origin - 0.5, 0.0)
        return repeat.astype(np.float64), recency, age

    def _take_purchase_records(self, completed: int) -> None:
        """Every buyer's purchase history and mean spend, for the next fit."""
        table = self._model.customers
        buyers = (table.first_purchase_month[: table.people] >= 0).nonzero()[0]
        repeat, recency, age = self.purchase_history(buyers, completed)
        purchases = table.purchases_total[buyers].astype(np.float64)
        mean_spend = table.revenue_total[buyers] / np.maximum(purchases, 1.0)
        self._records = (repeat, recency, age, purchases, mean_spend)

    def _fit_purchases(self) -> None:
        """Fit the BG/NBD and the Gamma-Gamma on the records of the last refit date."""
        assert self._records is not None
        repeat, recency, age, purchases, mean_spend = self._records
        self._records = None
        # The records of a refit hold those of the last one, grown: the search starts at
        # the last fit's maximum (the same maximum, within the optimiser's tolerance, in
        # about half the steps).
        last, last_spend = self.purchase_model.fit_result, self.spend_model.fit_result
        start_at = None if self.fits == 0 or last.fell_back else last.params
        bought = self.purchase_model.fit(repeat, recency, age, start_at)
        # Every recorded purchase, the first too, is a draw of the customer's spend.
        start_at = None if self.fits == 0 or last_spend.fell_back else last_spend.params
        spent = self.spend_model.fit(purchases, mean_spend, start_at)
        self.fits += 1
        if bought.fell_back or spent.fell_back:
            self.fits_on_prior += 1
        if bought.fell_back:
            self.prior_reasons.append(f"purchases (BG/NBD prior): {bought.reason}")
        if spent.fell_back:
            self.prior_reasons.append(
                f"spend (each customer's own mean spend per purchase): {spent.reason}"
            )
        paid = mean_spend > 0
        self._mean_order_value = float(mean_spend[paid].mean()) if paid.any() else 0.0

    def expected_spend_per_purchase(self, rows: np.ndarray) -> np.ndarray:
        """Expected spend of each customer's next purchase, currency (Gamma-Gamma; when it
        fell back, their own mean spend, or the records' mean for one who has not bought).

        A Gamma-Gamma with q <= 1 has no mean spend for a customer with few purchases (p n
        + q - 1 <= 0): those keep their own mean too.
        """
        self._fitted()
        table = self._model.customers
        purchases = table.purchases_total[rows].astype(np.float64)
        mean_spend = table.revenue_total[rows] / np.maximum(purchases, 1.0)
        own = np.where(purchases > 0, mean_spend, self._mean_order_value)
        if self.spend_model.fit_result.fell_back:
            return own
        params = self.spend_model.params
        defined = params["p"] * purchases + params["q"] - 1.0 > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = self.spend_model.expected_order_value(purchases, mean_spend)
        return np.where(defined, expected, own)

    def _purchase_outlook(self, rows: np.ndarray, months_ahead: int = 1) -> dict[str, np.ndarray]:
        """The BG/NBD outlook of ``rows`` now: P(alive) and, if alive, next month's expected
        purchases, the discounted expected months and purchases to come, and the chance of
        no dropout in ``months_ahead`` months."""
        self._fitted()
        model = self._model
        repeat, recency, age = self.purchase_history(rows, model.month - 1)
        outlook = self._outlook.of(
            self.purchase_model.params,
            repeat,
            age,
            model.monthly_discount_rate,
            margin_multiple(HIGHEST_RETENTION, model.monthly_discount_rate, "start"),
            months_ahead,
        )
        outlook["alive"] = self.purchase_model.probability_alive(repeat, recency, age)
        return outlook

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
        if self.reads_purchases:
            purchases = self.purchase_model.fit_result
            return {
                "knowledge": "estimated",
                "model": "bg_nbd_gamma_gamma",
                "refit_every_months": self.refit_every_months,
                "fits": self.fits,
                "fits_on_prior": self.fits_on_prior,
                "prior_reasons": sorted(set(self.prior_reasons)),
                **purchases.as_dict(),
                "spend": self.spend_model.fit_result.as_dict(),
            }
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


class _Outlook:
    """The BG/NBD outlook by (repeat purchases, age), on which alone it depends for given
    parameters: kept for the pairs already met until the parameters change."""

    def __init__(self) -> None:
        self._params: dict[str, float] = {}
        self._keys = np.zeros(0, np.int64)
        self._values: dict[str, np.ndarray] = {}

    def of(
        self,
        params: dict[str, float],
        repeat: np.ndarray,
        age: np.ndarray,
        monthly_rate: float,
        cap: float,
        months_ahead: int,
    ) -> dict[str, np.ndarray]:
        """Per row, for a customer alive now: next month's expected purchases ("rate"),
        the discounted expected months ("months") and purchases per next month's
        ("purchases"), both capped at ``cap``, and the chance of no dropout in
        ``months_ahead`` months ("survival")."""
        if params != self._params:  # a new fit
            self._params = dict(params)
            self._keys = np.zeros(0, np.int64)
            self._values = {name: np.zeros(0) for name in ("rate", "months", "purchases")}
        keys = repeat.astype(np.int64) * _AGES + age.astype(np.int64)
        unique, where = np.unique(keys, return_inverse=True)
        missing = np.setdiff1d(unique, self._keys, assume_unique=True)
        if missing.size:
            found = bgnbd_outlook_if_alive(
                missing // _AGES,
                missing % _AGES,
                params,
                monthly_rate,
                OUTLOOK_MONTHS,
                OUTLOOK_MONTH_BY_MONTH,
            )
            found["months"] = np.minimum(found["months"], cap)
            found["purchases"] = np.minimum(found["purchases"] / found["rate"], cap)
            keys = np.concatenate([self._keys, missing])
            order = np.argsort(keys, kind="stable")
            self._keys = keys[order]
            for name, values in self._values.items():
                self._values[name] = np.concatenate([values, found[name]])[order]
        at = np.searchsorted(self._keys, unique)[where.ravel()]
        outlook = {name: values[at] for name, values in self._values.items()}
        survival = (
            bgnbd_survival_if_alive(months_ahead, unique // _AGES, unique % _AGES, params)
            if months_ahead
            else np.ones(unique.size)
        )
        outlook["survival"] = survival[where.ravel()]
        return outlook


_AGES = 2**21
"""Ages (months) a key of (repeat purchases, age) holds apart."""
