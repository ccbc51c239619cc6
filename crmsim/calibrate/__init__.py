"""From a firm's records to a scenario of the lab: calibration on real customers.

A transaction log (one row per purchase: customer, date, amount) is summarised
into recency, frequency and monetary value, fitted with BG/NBD and Gamma-Gamma
(``crmsim.estimation``), checked on a holdout period, and written as a scenario
whose customers draw their purchase rates, dropout and spend from the estimates.
Contractual records (survivors by cohort, or start and end dates) are fitted with
the shifted-beta-geometric model the same way. ``crmsim calibrate`` is the command;
``fit_transactions`` and ``fit_cohorts`` the Python entry points.
"""

from crmsim.calibrate import writing
from crmsim.calibrate.contractual import CohortFit, fit_cohorts, survivors_from_relationships
from crmsim.calibrate.reading import (
    CalibrationError,
    cdnow_sample,
    read_cohort_file,
    read_transactions,
)
from crmsim.calibrate.transactions import (
    DAYS_PER_MONTH,
    TransactionFit,
    fit_transactions,
    rfm_summary,
)
from crmsim.calibrate.writing import write_calibration

__all__ = [
    "writing",
    "DAYS_PER_MONTH",
    "CalibrationError",
    "CohortFit",
    "TransactionFit",
    "cdnow_sample",
    "fit_cohorts",
    "fit_transactions",
    "read_cohort_file",
    "read_transactions",
    "rfm_summary",
    "survivors_from_relationships",
    "write_calibration",
]
