"""Peak memory of one large run, measured in a process of its own.

``python -m benchmarks.memory --customers 1000000 --months 120`` runs the
baseline scenario with the model's monthly ``DataCollector`` and prints one
JSON document with the process's peak resident memory (``ru_maxrss``) and the
memory held by the customer table. ``--import-only`` stops after importing
crmsim, which gives the interpreter's own share of the peak.

:mod:`benchmarks.run` starts this module as a subprocess, so the figure
covers exactly one model, and cross-checks it with
``resource.getrusage(resource.RUSAGE_CHILDREN)`` once the child has finished.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

KIB_PER_MB = 1024
"""``ru_maxrss`` is in KiB on Linux; memory is reported in MB of 2**20 bytes."""


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory of this process (or of its finished children), MB.

    Args:
        who: ``resource.RUSAGE_SELF`` or ``resource.RUSAGE_CHILDREN``.
    """
    kib = resource.getrusage(who).ru_maxrss
    if sys.platform == "darwin":  # bytes there, not KiB
        kib /= 1024
    return kib / KIB_PER_MB


def measure(
    customers: int, months: int, seed: int = 1, import_only: bool = False
) -> dict[str, Any]:
    """Run the baseline scenario (or only import crmsim) and report the peak memory.

    Args:
        customers: People in the market.
        months: Months to simulate.
        seed: Seed of the run.
        import_only: Only import crmsim (the interpreter's baseline).

    Returns:
        The measurements, JSON-ready.
    """
    import crmsim  # noqa: F401  (the interpreter's share includes crmsim and its imports)

    result: dict[str, Any] = {"import_only": import_only}
    if not import_only:
        from crmsim import CRMModel, load_scenario

        start = time.perf_counter()
        model = CRMModel(load_scenario("baseline"), rng=seed, customers=customers)
        model.run(months)
        collected = len(model.monthly_series())
        result.update(
            scenario="baseline",
            customers=customers,
            months=months,
            seed=seed,
            months_collected=collected,
            seconds=round(time.perf_counter() - start, 3),
            customer_table_mb=round(model.customers.nbytes / 2**20, 1),
        )
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: measure and print one JSON document; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.memory", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--customers", type=int, default=1_000_000, help="people in the market")
    parser.add_argument("--months", type=int, default=120, help="months to simulate")
    parser.add_argument("--seed", type=int, default=1, help="seed of the run")
    parser.add_argument(
        "--import-only", action="store_true", help="only import crmsim (baseline memory)"
    )
    args = parser.parse_args(argv)
    if args.customers < 1 or args.months < 0:
        parser.error("--customers must be >= 1 and --months >= 0")
    print(json.dumps(measure(args.customers, args.months, args.seed, args.import_only)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
