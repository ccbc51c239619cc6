"""Benchmark of the study layer (crmsim.study): many replications on local processes.

Measures a study of ``--replications`` runs of the baseline scenario
(default 100 x 10,000 customers x 120 months = 120 million customer-months)
with 1 and with 2 local worker processes, and the peak memory of the process
driving a study as the number of replications grows (it should stay flat:
only summaries and a few monthly series come back from each run).

Run ``python -m benchmarks.experiments`` (or ``crmsim bench -- --experiments``);
it prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

TARGET_SECONDS = 20.0
TARGET_SPEEDUP = 1.7


def timed_study(replications: int, customers: int, months: int, workers: int) -> float:
    """Wall-clock seconds of a study on ``workers`` local processes (pool start included)."""
    from crmsim import study

    runs = study.study_runs(["baseline"], None, replications, 2026, months, customers)
    start = time.perf_counter()
    executor = study.ProcessExecutor(workers)
    try:
        results = study.run_all(runs, executor, progress=False)
    finally:
        executor.close()
    assert len(results) == replications
    return time.perf_counter() - start


def peak_memory_of_study(replications: int, customers: int, months: int) -> float:
    """Peak resident memory (MB) of a fresh process that drives a serial study."""
    code = (
        "import json, resource\n"
        "from crmsim import study\n"
        f"runs = study.study_runs(['baseline'], None, {replications}, 1, {months}, "
        f"{customers})\n"
        "study.run_all(runs, study.SerialExecutor(), progress=False)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return round(float(out.strip().splitlines()[-1]), 1)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments")
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.replications, args.customers, args.months = 6, 2_000, 24

    one = timed_study(args.replications, args.customers, args.months, workers=1)
    two = timed_study(args.replications, args.customers, args.months, workers=2)
    customer_months = args.replications * args.customers * args.months
    small = max(2, args.replications // 5)
    memory = {
        f"{small}_replications_mb": peak_memory_of_study(small, args.customers, args.months),
        f"{args.replications}_replications_mb": peak_memory_of_study(
            args.replications, args.customers, args.months
        ),
    }
    report = {
        "benchmark": "crmsim study layer: replications of the baseline on local processes",
        "replications": args.replications,
        "customers": args.customers,
        "months": args.months,
        "customer_months": customer_months,
        "seconds_1_worker": round(one, 2),
        "seconds_2_workers": round(two, 2),
        "customer_months_per_second_2_workers": round(customer_months / two),
        "speedup_2_over_1": round(one / two, 2),
        "peak_memory_driver": memory,
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "max_rss_self_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
        "target_seconds": TARGET_SECONDS,
        "target_speedup": TARGET_SPEEDUP,
        "meets_seconds": two <= TARGET_SECONDS,
        "meets_speedup": one / two >= TARGET_SPEEDUP,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
