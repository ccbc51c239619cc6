"""Confidence intervals of study results (Student t), computed with scipy.

Non-finite values (a measure undefined in some run) are left out. With fewer
than two values an interval is undefined (NaN); when the values do not vary
at all, the interval is the single value itself. :func:`interval_note` says
in words, for a table, why an interval is missing or rests on fewer runs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from scipy import stats

NAN = float("nan")


def mean_confidence_interval(
    values: np.ndarray, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Lower bound, mean, upper bound and standard error of the mean (Student t).

    Args:
        values: The sample (non-finite values are left out).
        level: Confidence level.

    Returns:
        ``(low, mean, high, standard_error)``: all NaN for an empty sample, all
        but the mean NaN for one value.
    """
    values = _finite(values)
    return _t_interval(values, level, lambda: stats.ttest_1samp(values, 0.0))


def paired_interval(
    a: np.ndarray, b: np.ndarray, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Confidence interval of the mean difference ``a - b`` of paired samples.

    Args:
        a: One value per pair.
        b: The other value of each pair, in the same order.
        level: Confidence level.

    Returns:
        ``(low, mean, high, standard_error)`` of the differences, over the pairs
        whose difference is finite; NaN as for :func:`mean_confidence_interval`.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    differences = a - b
    keep = np.isfinite(differences)
    return _t_interval(differences[keep], level, lambda: stats.ttest_rel(a[keep], b[keep]))


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of mean(a) - mean(b) treating the samples as independent (Welch).

    Args:
        a: One sample (non-finite values are left out).
        b: The other sample.
        level: Confidence level.

    Returns:
        ``(low, high)``; NaN when either sample has fewer than two values.
    """
    a = _finite(a)
    b = _finite(b)
    if a.size < 2 or b.size < 2:
        return (NAN, NAN)
    if math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size) == 0:
        difference = float(a.mean() - b.mean())
        return (difference, difference)
    with _identical_values_allowed():
        interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
    return (float(interval.low), float(interval.high))


def interval_note(values: np.ndarray) -> str:
    """Why a confidence interval of ``values`` is missing or rests on fewer runs, for tables.

    Args:
        values: The sample as given to :func:`mean_confidence_interval` (or the
            paired differences), non-finite values included.

    Returns:
        An empty string when every value is finite and there are at least two;
        otherwise a short note, e.g. ``"1 replication: no confidence interval
        (needs at least 2)"`` or ``"undefined in every run (NaN)"``.
    """
    values = np.asarray(values, dtype=float)
    runs = values.size
    finite = int(np.isfinite(values).sum())
    if runs == 0:
        return "no runs"
    if finite == 0:
        return "undefined in every run (NaN)"
    if runs == 1:
        return "1 replication: no confidence interval (needs at least 2)"
    if finite == 1:
        return f"defined in 1 of {runs} runs: no confidence interval (needs at least 2)"
    if finite < runs:
        return f"defined in {finite} of {runs} runs; mean and interval over those"
    return ""


def _t_interval(
    sample: np.ndarray, level: float, test: Callable[[], Any]
) -> tuple[float, float, float, float]:
    """``(low, mean, high, standard_error)`` of a sample's mean from scipy's ``test``,
    with the edge cases of :func:`mean_confidence_interval`."""
    if sample.size == 0:
        return (NAN, NAN, NAN, NAN)
    mean = float(sample.mean())
    if sample.size < 2:
        return (NAN, mean, NAN, NAN)
    se = float(stats.sem(sample))
    if se == 0:
        return (mean, mean, mean, 0.0)
    with _identical_values_allowed():
        interval = test().confidence_interval(level)
    return (float(interval.low), mean, float(interval.high), se)


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


@contextmanager
def _identical_values_allowed() -> Iterator[None]:
    """Silence scipy's warning about samples whose values agree to the last digits.

    Replications that agree that closely are a legitimate result (a measure the
    scenario pins down), and the interval scipy returns for them is the right,
    nearly zero-width one. A standard error of exactly 0 is handled before
    scipy is asked, which would divide 0 by 0 and return NaN.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="Precision loss occurred in moment calculation",
            category=RuntimeWarning,
        )
        yield
