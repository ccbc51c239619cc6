"""Benchmark of the strategy lab: how long a Run click takes, and how fast the live view steps.

The Run click is the lab's standard comparison: the base and one option (the
loyalty programme), ``--replications`` runs each of ``--customers`` people
over ``--months`` months (default 2 x 20 x 5,000 x 60, the click the lab's
speed target names). It is timed three ways, each the median of ``--repeats``
clicks:

- ``serial``: in the page's own process (``run_lab(setup)``);
- ``warm``: on the page's worker processes (``LabWorkers``) once they run, each
  click with a seed of its own (the page remembers the runs it made); the first
  click, which starts them, is reported on its own as ``first_click``; then the
  first set-up clicked again (every run remembered) and with the programme's
  reward rate changed (only the option runs again);
- its parts, in one process: simulating the months of every run, and the run
  summary (whose lifetime CLV values each run's customers by a run-off of the
  market, ``crmsim.engine.run_off``), per run.

The work counted is **active-customer-months** (customers active at the start
of each month of the runs), the work the lifecycle rules do; the run-offs are
work on top of it, reported as their share of the click.

The live view (``/live``) is timed as months per second of ``LiveMarket.step`` at
``--customers`` people: the market alone, not the browser's redrawing of the
figures (the page redraws every few months, as its "months between redraws"
control says).

Run ``python -m benchmarks.lab`` (``--quick`` for a smoke test); it prints one
JSON document.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time

TARGET_CLICK_SECONDS = 1.0
TARGET_LIVE_MONTHS_PER_SECOND = 10.0


def click_setup(customers: int, months: int, replications: int):  # noqa: ANN201
    """The benchmark's set-up: the baseline and the loyalty programme."""
    from crmsim.report.lab import LabSetup, Option

    return LabSetup(
        base="baseline",
        options=(Option("loyalty_program"),),
        customers=customers,
        months=months,
        replications=replications,
        seed=2026,
    )


def run_parts(setup) -> dict[str, float]:  # noqa: ANN001
    """Seconds spent simulating the months and summarising, summed over the click's
    runs, and the active-customer-months simulated (one process)."""
    from crmsim.engine.model import CRMModel
    from crmsim.study.runs import replication_seeds

    months_seconds = summary_seconds = 0.0
    active_months = 0
    for scenario in setup.scenarios():
        for seed in replication_seeds(setup.seed, setup.replications):
            start = time.perf_counter()
            model = CRMModel(scenario, rng=seed, customers=setup.customers)
            model.run(setup.months)
            middle = time.perf_counter()
            model.summary()
            summary_seconds += time.perf_counter() - middle
            months_seconds += middle - start
            active_months += int(model.monthly_series()["active_at_start"].sum())
    return {
        "months_seconds": round(months_seconds, 3),
        "summary_seconds": round(summary_seconds, 3),
        "active_customer_months": active_months,
    }


def live_months_per_second(customers: int, months: int) -> float:
    """Months per second of the live view's market at ``customers`` people."""
    from crmsim.report.live import LiveMarket

    market = LiveMarket(what_if="baseline", customers=customers, rng=1)
    start = time.perf_counter()
    for _ in range(months):
        market.step()
    return months / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    from crmsim.report.lab import LabWorkers, Option, run_lab

    parser = argparse.ArgumentParser(prog="python -m benchmarks.lab")
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.replications, args.customers, args.months, args.repeats = 2, 1_000, 12, 1
    setup = click_setup(args.customers, args.months, args.replications)

    serial = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run_lab(setup)
        serial.append(time.perf_counter() - start)
    workers = LabWorkers(args.workers)
    warm = []
    try:
        start = time.perf_counter()
        run_lab(setup, workers=workers)
        first = time.perf_counter() - start
        for repeat in range(args.repeats):
            # Another seed each time: runs the page has not made (made runs are remembered).
            fresh = dataclasses.replace(setup, seed=setup.seed + 1 + repeat)
            start = time.perf_counter()
            run_lab(fresh, workers=workers)
            warm.append(time.perf_counter() - start)
        start = time.perf_counter()
        run_lab(setup, workers=workers)
        repeated = time.perf_counter() - start
        changed = dataclasses.replace(
            setup, options=(Option("loyalty_program", params={"reward_rate": 0.01}),)
        )
        start = time.perf_counter()
        run_lab(changed, workers=workers)
        one_changed = time.perf_counter() - start
    finally:
        workers.stop()
    parts = run_parts(setup)
    spent = parts["months_seconds"] + parts["summary_seconds"]
    live = live_months_per_second(args.customers, 120 if not args.quick else 12)
    report = {
        "benchmark": "crmsim strategy lab: a Run click and the live view",
        "click": f"2 options x {args.replications} replications x {args.customers:,} people "
        f"x {args.months} months",
        "active_customer_months": parts["active_customer_months"],
        "serial_seconds_median": round(statistics.median(serial), 2),
        "first_click_seconds": round(first, 2),
        "warm_seconds_median": round(statistics.median(warm), 2),
        "repeated_click_seconds": round(repeated, 2),
        "one_option_changed_seconds": round(one_changed, 2),
        "workers": args.workers,
        "months_share_of_serial_work": round(parts["months_seconds"] / spent, 3),
        "summary_share_of_serial_work": round(parts["summary_seconds"] / spent, 3),
        "live_model_months_per_second": round(live, 1),
        "target_click_seconds": TARGET_CLICK_SECONDS,
        "meets_click": statistics.median(warm) <= TARGET_CLICK_SECONDS,
        "target_live_months_per_second": TARGET_LIVE_MONTHS_PER_SECOND,
        "meets_live": live >= TARGET_LIVE_MONTHS_PER_SECOND,
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_average_1_min": round(os.getloadavg()[0], 2),
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
