"""A simulated run's purchases as a transaction log, in the format calibration reads.

A base whose truth is known: any estimator can be tried on it and its estimates
set against the scenario's settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import gammainc, gammaincinv

from crmsim.calibrate.transactions import DAYS_PER_MONTH

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel

START_DATE = "2000-01-01"
"""Date of the first day of month 0 in a simulated log."""


def transaction_log(
    model: CRMModel, seed: int | None = None, start: str = START_DATE
) -> pd.DataFrame:
    """The purchases of a run made with ``log_purchases=True``, one row per purchase.

    The lab counts purchases by month; a log needs days. A customer's repeat
    purchases of a month fall on distinct days drawn uniformly within it (given
    their number, a Poisson process's purchases fall uniformly; a log with dates
    counts one purchase a day, so a customer buying more often than once a day
    would lose purchases); a customer's first purchase is dated the last day of its
    month, because the lab starts repeat buying the month after it (so ``T`` and
    ``t_x`` measured from that day match the lab's clock). Each purchase costs the
    month's spend divided by the month's purchases.

    Args:
        model: A model run with ``log_purchases=True``.
        seed: Seed of the days drawn within months (default: the run's seed); the
            run's own streams are not touched.
        start: Date of the first day of month 0.

    Returns:
        Columns ``customer_id`` (the customer's row), ``date`` and ``amount``, sorted by
        date and customer.
    """
    if model.purchase_log is None:
        raise ValueError(
            "the run kept no purchases: make it with CRMModel(..., log_purchases=True)"
        )
    if not model.purchase_log:
        return pd.DataFrame({"customer_id": pd.Series(dtype=str),
                             "date": pd.Series(dtype="datetime64[ns]"),
                             "amount": pd.Series(dtype=float)})  # fmt: skip
    months = np.concatenate([np.full(rows.size, m) for m, rows, _, _ in model.purchase_log])
    rows = np.concatenate([r for _, r, _, _ in model.purchase_log])
    counts = np.concatenate([c for _, _, c, _ in model.purchase_log]).astype(np.int64)
    revenue = np.concatenate([v for _, _, _, v in model.purchase_log]).astype(float)
    # The first logged month of each customer holds their first purchase.
    order = np.lexsort((months, rows))
    first = np.zeros(rows.size, bool)
    first[order[np.r_[True, rows[order][1:] != rows[order][:-1]]]] = True
    rng = np.random.default_rng([model.seed if seed is None else seed, 0x7A5])
    month_start = np.floor(months * DAYS_PER_MONTH).astype(np.int64)
    length = np.floor((months + 1) * DAYS_PER_MONTH).astype(np.int64) - month_start
    # Each customer's purchases of a month fall on distinct days, drawn uniformly (a log
    # with dates counts a day's purchases once); beyond one a day they share the last.
    widest = int(length.max())
    keys = rng.random((rows.size, widest))
    keys[np.arange(widest)[None, :] >= length[:, None]] = np.inf
    order = np.argsort(keys, axis=1)
    taken = np.minimum(counts, length)
    chosen = order[np.arange(widest)[None, :] < taken[:, None]]
    each = np.repeat(np.arange(rows.size), taken)
    offset = chosen.astype(np.int64)
    # A customer's first purchase is on the last day of its month (repeat buying starts
    # the month after).
    offset[first[each]] = length[each][first[each]] - 1
    _dropout_month_days(model, rng, rows, months, counts, taken, first, each, offset, length)
    day = month_start[each] + offset
    each_amount = revenue / counts
    extra = counts - taken
    if extra.any():
        late = np.repeat(np.arange(rows.size), extra)
        each = np.concatenate([each, late])
        day = np.concatenate([day, month_start[late] + length[late] - 1])
    frame = pd.DataFrame(
        {
            "customer_id": rows[each].astype(str),
            "date": pd.Timestamp(start) + pd.to_timedelta(day, unit="D"),
            "amount": np.round(each_amount[each], 2),
        }
    )
    return frame.sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)


def _dropout_month_days(
    model: CRMModel,
    rng: np.random.Generator,
    rows: np.ndarray,
    months: np.ndarray,
    counts: np.ndarray,
    taken: np.ndarray,
    first: np.ndarray,
    each: np.ndarray,
    offset: np.ndarray,
    length: np.ndarray,
) -> None:
    """Days of the purchases of the month a customer dropped out in, changed in place.

    A customer who drops out after the month's b-th purchase made the first b of the
    month's arrivals, not b uniform ones: the b-th falls at S ~ Gamma(b, rate) cut at
    the month's end, the others uniformly before it (drawn exactly, by the inverse of
    the incomplete Gamma function).
    """
    table = model.customers
    if table is None:
        return
    last = np.zeros(rows.size, bool)
    order = np.lexsort((-months, rows))
    last[order[np.r_[True, rows[order][1:] != rows[order][:-1]]]] = True
    dropped = last & ~first & (table.purchases_left[rows] == 0) & (counts == taken)
    if not dropped.any():
        return
    b = counts[dropped].astype(float)
    rate = np.maximum(table.purchase_rate[rows[dropped]].astype(float), 1e-12)
    reach = gammainc(b, rate)
    end = gammaincinv(b, rng.random(b.size) * reach) / rate
    end = np.where(np.isfinite(end) & (end > 0), np.minimum(end, 1.0), 1.0)
    which = np.flatnonzero(dropped)
    slot = np.full(rows.size, -1)
    slot[which] = np.arange(which.size)
    mine = slot[each] >= 0
    group = slot[each[mine]]
    times = rng.random(group.size) * end[group]
    # The latest of each customer's draws is the b-th arrival itself.
    position = np.lexsort((times, group))
    is_last = np.r_[group[position][1:] != group[position][:-1], True]
    times[position[is_last]] = end[group[position[is_last]]]
    offset[mine] = np.minimum(np.floor(times * length[each[mine]]), length[each[mine]] - 1)
