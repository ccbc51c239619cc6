"""Reading a firm's records: a transaction log, or survivors by cohort, or start and end dates.

Every problem is one :class:`CalibrationError` naming the file, the row or
column and what is allowed; nothing is read half-way into a fit.
"""

from __future__ import annotations

import csv
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from crmsim.estimation import Fit

TRANSACTION_COLUMNS = ("customer_id", "date", "amount")
"""The columns of a transaction log as the lab writes and reads it by default."""

PROGRESS_BYTES = 20 * 2**20
"""Files larger than this are read in chunks behind a progress bar (when asked for one)."""

CHUNK_ROWS = 250_000
"""Rows read per chunk of a large file."""


class CalibrationError(ValueError):
    """Records that cannot be calibrated on, or a fit that failed: one line saying what
    is wrong and what is allowed."""


def refused_fit(model: str, fit: Fit, source: str) -> CalibrationError:
    """The one message of a fit that gave no estimates: why, the log-likelihood and the
    parameters where the optimiser stopped (when it ran)."""
    if not fit.reached:  # the optimiser never ran: too few records
        return CalibrationError(
            f"{source}: the {model} model cannot be fitted: {fit.reason}; no scenario was written"
        )
    reached = ", ".join(f"{k} = {v:.4g}" for k, v in fit.reached.items())
    return CalibrationError(
        f"{source}: the {model} fit did not converge: {fit.reason}; log-likelihood "
        f"{fit.log_likelihood:.2f} where it stopped ({reached}); no scenario was written"
    )


def _csv_frame(path: Path, what: str, progress: bool = False) -> pd.DataFrame:
    """A CSV file read as text columns, or one message saying why it cannot be."""
    if not path.exists():
        raise CalibrationError(f"{path}: no such file")
    if path.is_dir():
        raise CalibrationError(f"{path}: is a folder, not a CSV file of {what}")
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as error:
        raise CalibrationError(f"{path}: cannot be read ({error.strerror or error})") from None
    if not head.strip():
        raise CalibrationError(f"{path}: the file is empty; expected a CSV file of {what}")
    if b"\0" in head:
        raise CalibrationError(f"{path}: not a text file (it holds binary data); expected CSV")
    options = {
        "dtype": str,
        "keep_default_na": False,
        "encoding": "utf-8",
        "skipinitialspace": True,
    }
    try:
        if progress and path.stat().st_size > PROGRESS_BYTES:
            from tqdm.auto import tqdm

            chunks = []
            with tqdm(desc=f"reading {path.name}", unit=" rows", unit_scale=True) as bar:
                for chunk in pd.read_csv(path, chunksize=CHUNK_ROWS, **options):
                    chunks.append(chunk)
                    bar.update(len(chunk))
            return pd.concat(chunks, ignore_index=True)
        return pd.read_csv(path, **options)
    except UnicodeDecodeError as error:
        raise CalibrationError(
            f"{path}: not UTF-8 text (byte {error.start} cannot be read); save it as UTF-8 CSV"
        ) from None
    except (pd.errors.ParserError, csv.Error) as error:
        detail = " ".join(str(error).split())
        raise CalibrationError(f"{path}: not a readable CSV file ({detail})") from None
    except pd.errors.EmptyDataError:
        raise CalibrationError(
            f"{path}: the file is empty; expected a CSV file of {what}"
        ) from None


def _require_columns(frame: pd.DataFrame, path: Path, wanted: dict[str, str]) -> None:
    """Each wanted column (by the option that names it) is in the file, or one message."""
    columns = [str(c) for c in frame.columns]
    missing = [(option, name) for option, name in wanted.items() if name not in columns]
    if missing:
        option, name = missing[0]
        raise CalibrationError(
            f"{path}: no column {name!r} (the file's columns: {', '.join(columns)}); "
            f"name the right one with {option}"
        )


def _row(frame: pd.DataFrame, position: int) -> int:
    """The line of the file a row of ``frame`` came from (the header is line 1)."""
    return int(frame.index[position]) + 2


def parse_dates(values: pd.Series, path: Path, column: str, frame: pd.DataFrame) -> pd.Series:
    """Dates of a column (ISO 8601 such as 1997-01-31, or 19970131), or one message naming
    the first row that is not one."""
    text = values.str.strip()
    compact = text.str.fullmatch(r"\d{8}")
    dates = pd.to_datetime(text.where(~compact), errors="coerce", format="ISO8601")
    if compact.any():
        dates[compact] = pd.to_datetime(text[compact], errors="coerce", format="%Y%m%d")
    bad = dates.isna().to_numpy().nonzero()[0]
    if bad.size:
        first = bad[0]
        raise CalibrationError(
            f"{path}: line {_row(frame, first)}, column {column!r}: {values.iloc[first]!r} is "
            f"not a date ({bad.size} such rows); dates are written like 1997-01-31 or 19970131"
        )
    return dates.dt.normalize()


def read_transactions(
    path: str | Path,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    progress: bool = False,
) -> pd.DataFrame:
    """A transaction log: one row per purchase, with a customer, a date and an amount.

    Args:
        path: CSV file (UTF-8, with a header row).
        customer_col: Column of the customer's id (any text).
        date_col: Column of the purchase date (ISO 8601 like 1997-01-31, or 19970131).
        amount_col: Column of the amount spent (a number >= 0, in the firm's currency).
        progress: Show a progress bar while reading a large file.

    Returns:
        Columns ``customer_id`` (str), ``date`` (datetime64, day) and ``amount`` (float),
        in the file's order.

    Raises:
        CalibrationError: The file is missing, empty, not UTF-8 CSV, lacks a column, or
            holds a missing id, a date that is not one, or an amount that is not a number
            >= 0.
    """
    path = Path(path)
    frame = _csv_frame(path, "transactions (customer, date, amount)", progress)
    _require_columns(
        frame, path, {"--customer-col": customer_col, "--date-col": date_col,
                      "--amount-col": amount_col}
    )  # fmt: skip
    if frame.empty:
        raise CalibrationError(f"{path}: a header but no transactions")
    ids = frame[customer_col].str.strip()
    blank = (ids == "").to_numpy().nonzero()[0]
    if blank.size:
        raise CalibrationError(
            f"{path}: line {_row(frame, blank[0])}, column {customer_col!r}: no customer id "
            f"({blank.size} such rows); every transaction needs its customer"
        )
    dates = parse_dates(frame[date_col], path, date_col, frame)
    amounts = pd.to_numeric(frame[amount_col].str.strip(), errors="coerce")
    bad = (~np.isfinite(amounts.to_numpy(float)) | (amounts < 0).to_numpy()).nonzero()[0]
    if bad.size:
        first = bad[0]
        raise CalibrationError(
            f"{path}: line {_row(frame, first)}, column {amount_col!r}: "
            f"{frame[amount_col].iloc[first]!r} is not an amount ({bad.size} such rows); "
            "amounts are numbers >= 0 (take refunds out first)"
        )
    return pd.DataFrame(
        {"customer_id": ids.to_numpy(), "date": dates.to_numpy(), "amount": amounts.to_numpy(float)}
    )


def read_cohort_file(path: str | Path) -> pd.DataFrame:
    """Contractual records, in either of two shapes, told apart by their columns.

    - survivors: ``period, alive`` (one cohort) or ``cohort, period, alive``: customers
      still there at the start of each period, period 0 being the cohort's start;
    - relationships: ``customer_id, start, end`` (dates; ``end`` empty while the
      customer is still there).

    Returns:
        The survivors (columns cohort, period, alive) or the relationships (customer_id,
        start, end with NaT for those still there), as read.

    Raises:
        CalibrationError: The file cannot be read, has neither shape, or holds a value
            that is not allowed.
    """
    path = Path(path)
    frame = _csv_frame(path, "survivors by cohort or relationships")
    columns = {str(c).strip() for c in frame.columns}
    if frame.empty:
        raise CalibrationError(f"{path}: a header but no rows")
    if {"period", "alive"} <= columns:
        return _survivors(frame, path)
    if {"customer_id", "start", "end"} <= columns:
        start = parse_dates(frame["start"], path, "start", frame)
        open_ = frame["end"].str.strip() == ""
        end = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        if (~open_).any():
            end[~open_] = parse_dates(frame["end"][~open_], path, "end", frame[~open_])
        early = (end < start).to_numpy().nonzero()[0]
        if early.size:
            raise CalibrationError(
                f"{path}: line {_row(frame, early[0])}: the relationship ends before it starts"
            )
        return pd.DataFrame({"customer_id": frame["customer_id"].str.strip(), "start": start,
                             "end": end})  # fmt: skip
    raise CalibrationError(
        f"{path}: columns {', '.join(sorted(columns))}; contractual records need either "
        "'period' and 'alive' (and 'cohort' for several cohorts: customers still there at "
        "the start of each period) or 'customer_id', 'start' and 'end' (end empty while "
        "still a customer)"
    )


def _survivors(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    cohort = frame["cohort"].str.strip() if "cohort" in frame else pd.Series("all", frame.index)
    numbers = {}
    for column in ("period", "alive"):
        values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        bad = (~np.isfinite(values.to_numpy(float)) | (values < 0).to_numpy()
               | (values != values.round()).to_numpy()).nonzero()[0]  # fmt: skip
        if bad.size:
            raise CalibrationError(
                f"{path}: line {_row(frame, bad[0])}, column {column!r}: "
                f"{frame[column].iloc[bad[0]]!r} is not a whole number >= 0"
            )
        numbers[column] = values.astype(np.int64)
    table = pd.DataFrame({"cohort": cohort, **numbers}).sort_values(["cohort", "period"])
    for name, group in table.groupby("cohort", sort=False):
        periods = group["period"].to_numpy()
        if periods[0] != 0 or np.any(np.diff(periods) != 1):
            raise CalibrationError(
                f"{path}: cohort {name}: periods must run 0, 1, 2, ... without gaps; got "
                f"{', '.join(map(str, periods[:8]))}"
            )
        if np.any(np.diff(group["alive"].to_numpy()) > 0):
            raise CalibrationError(
                f"{path}: cohort {name}: customers alive rise from one period to the next; "
                "'alive' counts the cohort's survivors, which can only fall"
            )
        if group["alive"].iloc[0] == 0:
            raise CalibrationError(f"{path}: cohort {name}: no customers at period 0")
    return table.reset_index(drop=True)


def cdnow_sample() -> pd.DataFrame:
    """The CDNOW 1/10 sample: 6,919 purchases of 2,357 customers, 1997-01-01 to 1998-06-30.

    Every customer made their first purchase at CDNOW in the first quarter of 1997
    (see ``crmsim/calibrate/data/README.md`` for the source). Columns as
    :func:`read_transactions` returns them, plus ``cds`` (compact discs bought).
    """
    raw = files("crmsim.calibrate") / "data" / "CDNOW_sample.txt"
    with raw.open("r", encoding="ascii") as handle:
        table = pd.read_csv(
            handle,
            sep=r"\s+",
            header=None,
            names=["master_id", "customer_id", "date", "cds", "amount"],
            dtype={"master_id": str, "customer_id": str, "date": str},
        )
    return pd.DataFrame(
        {
            "customer_id": table["customer_id"],
            "date": pd.to_datetime(table["date"], format="%Y%m%d"),
            "amount": table["amount"].astype(float),
            "cds": table["cds"].astype(int),
        }
    )
