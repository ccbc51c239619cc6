"""The value still to come of a market's customers: the market run on without new ones.

The lab's lifetime CLV and customer equity need, for every customer, the
discounted value they will still bring. Taking today's margin and retention to
last (the margin multiple, ``crmsim.engine.valuation``) misses what the model's
own rules will do to them: a young customer climbs the loyalty ladder (buys a
larger share of wallet, churns less), satisfaction drifts as expectations rise
toward their ceiling, the competitor keeps poaching, a lost customer comes
back (on their own or won back) and starts again at the bottom of the ladder.
Measured on the baseline, the margin multiple valued customers acquired in
months 0-119 at 437.1 at month 120 but 452.8 at month 240 (+15.7 +- 1.1, 20,000
people, 6 seeds): the value to come depended on where the run stopped.

Two ways to count those rules were weighed:

- a closed form: a Markov chain over each customer's rung, tenure, satisfaction
  and the months since they left, with the rules' parameters. The chain is not
  time-homogeneous (expectations rise for centuries of simulated time, tenure
  gates the rungs, satisfaction depends on the rung), strategies act on churn,
  spend and returns in ways of their own, and the competitor moves; a chain
  would be a second copy of every rule, wrong the day a rule changes;
- a **run-off** (chosen): at the moment the value is asked, the market is copied
  and run on for :data:`RUN_OFF_MONTHS` months with the same rules, the same
  strategies of the firm and the competitor, and no new people or acquisitions,
  on random streams of its own (:func:`run_off_seed`, from the run's seed and
  the month valued), so the run's own draws are untouched and the value is
  reproducible from the seed. The firm is a going concern that would go on
  acquiring: its base would keep its mix, so the competitor courts the run-off's
  customers as it courts the base now (``Competitor.hold_attention``; a base
  left to age keeps its richer survivors and would draw ever more poaching,
  which undervalued the baseline's customers by about 1 a head); for the same
  reason a strategy that treats a share of the base (firing the bottom share,
  serving the top share as clients) holds the value line that share stands at
  now (``Strategy.hold_for_run_off``). Entrants,
  prospects and referrals bring nobody in a run-off, so the value a customer's
  referrals bring is not in their value to come (it is the customers they
  refer who carry it). What each customer brings in those months is
  booked as the run books it (margins less every cost charged to them,
  returns' costs included); what they are still worth at the end of the
  run-off is the margin multiple of the customers active then (the run-off's
  own month-end expected CLV).

The truncation: the closing value is discounted by (1 + i)^-RUN_OFF_MONTHS
(0.15 at the baseline's 10% a year over 240 months) and held only by the
customers still active then, so the error it leaves is at most that share of
what the margin multiple misses for them; :attr:`ValueToCome.tail_share` is
the share of the whole value that the closing value makes (about 2% on the
baseline), an upper bound on the truncation's effect. A customer lost at the
end of the run-off is not expected back (their returns are at most a few per
cent of a discounted 0.15).

The value to come of one customer is the mean over :data:`RUN_OFF_PATHS` run-offs,
an unbiased estimate of their expectation under the model's rules with Monte
Carlo noise of its own; totals and means over many customers (customer
equity, mean lifetime CLV) are precise, one customer's value is not, and a
measure of their spread carries the noise: on the baseline (20,000 people, 120
months, seed 1) the top 20%'s share of lifetime CLV is 0.876 with one run-off,
0.870 with two, 0.864 with eight, while the mean moves by less than 1.

The cost is that of running the market on for RUN_OFF_PATHS x RUN_OFF_MONTHS
months without acquisition or a monthly record (about twice a 120-month run of
the same market), paid once, when the value to come is first asked for (the run
summary, the customer table); the run itself is as fast as before, and the
monthly record's customer equity stays the margin multiple, computed every
month (``crmsim.engine.record``): a run-off every month would cost the run's
months times as much. The copy holds a second customer table while it runs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from crmsim.engine.streams import RandomStreams
from crmsim.vocabulary import ACTIVE

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel

RUN_OFF_MONTHS = 240
"""Months a run-off runs the market on before closing with the margin multiple."""

RUN_OFF_PATHS = 2
"""Run-offs averaged for each customer's value to come."""

_RUN_OFF_KEY = 0x52554E4F4646  # "RUNOFF": keeps the run-off's seeds apart from the run's


def run_off_seed(seed: int, month: int, path: int) -> int:
    """The seed of the random streams of run-off ``path`` of a run with ``seed`` valued
    at ``month``: a function of the three only, so a run valued at the same month
    gets the same value, and no draw of the run itself is used."""
    state = np.random.SeedSequence([seed, _RUN_OFF_KEY, month, path]).generate_state(2)
    return int(state[0]) << 32 | int(state[1])


@dataclass(frozen=True)
class ValueToCome:
    """The discounted value every person of a market will still bring.

    Attributes:
        month: The month valued (``model.month``: months simulated).
        value_at_end: Per row of the table, the value still to come valued at the end
            of the run (time ``month``, where the margins of month ``month`` paid at its
            start count in full, as in the month-end expected CLV), currency; 0 for
            people who never bought and customers the firm ended.
        tail_share: Share of the summed value held by the run-offs' closing value
            (the customers still active after RUN_OFF_MONTHS, at the margin multiple).
        months: Months each run-off ran.
        paths: Run-offs averaged.
    """

    month: int
    value_at_end: np.ndarray
    tail_share: float
    months: int
    paths: int


def value_to_come(
    model: CRMModel, months: int = RUN_OFF_MONTHS, paths: int = RUN_OFF_PATHS
) -> ValueToCome:
    """Run the market on from where ``model`` stands (without touching it) and value
    what every person still brings.

    Args:
        model: The market, at the end of a month (or before the first).
        months: Months of each run-off (>= 1).
        paths: Run-offs to average (>= 1).
    """
    if months < 1 or paths < 1:
        raise ValueError(f"a run-off needs months >= 1 and paths >= 1; got {months}, {paths}")
    rate = model.monthly_discount_rate
    end = int(model.month)
    booked = np.zeros(model.customers.size, np.float64)
    closing = np.zeros(model.customers.size, np.float64)
    for path in range(paths):
        market = _copy_for_run_off(model, run_off_seed(model.seed, end, path))
        before = market.customers.value_at_start.copy()
        month = type(market).step  # the month itself: a run-off's months keep no Mesa clock
        for _ in range(months):
            month(market)
        booked += market.customers.value_at_start - before
        rows = (market.customers.stage == ACTIVE).nonzero()[0]
        clv = market.month_end_clv(rows)
        # The month-end expected CLV of the run-off's last month is valued at its end.
        closing[rows] += clv.astype(np.float64) * (1.0 + rate) ** -(end + months)
    # Discounted to month 0 by the books; valued at the end of the run instead.
    to_end = (1.0 + rate) ** end / paths
    value = (booked + closing) * to_end
    total = float(np.abs(value).sum())
    tail = float(np.abs(closing).sum()) * to_end
    return ValueToCome(end, value, tail / total if total else 0.0, months, paths)


def _copy_for_run_off(model: CRMModel, seed: int) -> CRMModel:
    """A copy of the market that goes on with no new people and no acquisitions, drawing
    from streams of its own (the strategies' streams included)."""
    market = copy.deepcopy(model)
    market.recording = False  # it values the customers; its months are nobody's record
    market.streams = RandomStreams(seed)
    market.funnel.close()
    market.competitor.hold_attention((market.customers.stage == ACTIVE).nonzero()[0])
    for player in (market.firm, market.competitor):
        for strategy, view in zip(player.strategies, player.views, strict=True):
            view.rng = market.strategy_rng(f"{player.stream_prefix}{strategy.name}")
            strategy.hold_for_run_off(view)
    return market
