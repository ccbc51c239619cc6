"""Calibration speed: ``crmsim calibrate`` on a large transaction log.

Usage::

    python -m benchmarks.calibration                 # 1,000,000 purchases of 100,000 customers
    python -m benchmarks.calibration --customers 10000 --purchases 100000

Writes a BG/NBD log of the requested size (customers buying at Gamma-distributed
rates until they drop out, over two years, with a fixed seed) into a temporary
folder, then times the whole command: reading the CSV, the RFM summary, the fits,
the holdout checks, the figures and the scenario. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from crmsim.cli import main as crmsim

TARGET_SECONDS = 60.0
"""1,000,000 purchases of 100,000 customers calibrate in less than this."""


def synthetic_log(customers: int, purchases: int, seed: int = 1) -> pd.DataFrame:
    """About ``purchases`` purchases of ``customers`` customers over 730 days (BG/NBD).

    Each customer buys first on a day of the first quarter, then at a Gamma-distributed
    rate (a Poisson process) until dropping out after a repeat purchase, with a
    Beta-distributed chance.
    """
    rng = np.random.default_rng(seed)
    days = 730
    first = rng.integers(0, days // 4, customers)
    span = days - first
    # Repeat purchases ever are 1 / p, on average (2 + 18 - 1) / (2 - 1) = 19;
    # the rates are set so that, with dropout, the log holds about the size asked for.
    dropout = rng.beta(2.0, 18.0, customers)
    rate = rng.gamma(0.8, 3.5 * purchases / customers / days / 0.8, customers)
    arrivals = rng.poisson(rate * span)
    kept = np.minimum(arrivals, rng.geometric(dropout))
    who = np.repeat(np.arange(customers), arrivals)
    times = rng.random(who.size)
    order = np.lexsort((times, who))
    who, times = who[order], times[order]
    rank = np.arange(who.size) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    keep = rank < kept[who]
    who = np.concatenate([np.arange(customers), who[keep]])
    day = np.concatenate([first, first[who[customers:]] + times[keep] * span[who[customers:]]])
    return pd.DataFrame(
        {
            "customer_id": who,
            "date": pd.Timestamp("2022-01-01") + pd.to_timedelta(day.astype(int), unit="D"),
            "amount": np.round(rng.gamma(4.0, 10.0, who.size), 2),
        }
    )


def main(argv: list[str] | None = None) -> int:
    """Time ``crmsim calibrate`` on a synthetic log and print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transactions.csv"
        log = synthetic_log(args.customers, args.purchases)
        log.to_csv(path, index=False, date_format="%Y-%m-%d")
        started = time.perf_counter()
        status = crmsim(["calibrate", str(path), "--out", str(Path(folder) / "out"),
                         "--no-progress"])  # fmt: skip
        seconds = time.perf_counter() - started
    result = {
        "customers": int(log["customer_id"].nunique()),
        "purchases": len(log),
        "exit_status": status,
        "seconds": round(seconds, 2),
        "target_seconds": TARGET_SECONDS,
        "meets_target": status == 0 and seconds < TARGET_SECONDS,
    }
    print(json.dumps(result, indent=2))
    return 0 if status == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
