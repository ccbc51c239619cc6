"""Throughput and the fixed cost of a month, optionally against another source tree.

Usage::

    python -m benchmarks.throughput                     # this checkout
    python -m benchmarks.throughput --against ../old    # also an older checkout, interleaved

Counts three things, each the median of ``--repeats`` runs on one core, each run
the second of its fresh process (the first, of the same market with another seed,
is timed apart as ``median_first_run_seconds``: it also loads the rules' compiled
loops, once per process, as the first run of a study or of the lab's worker does):

- **people-months per second**: everyone in the market (suspects included)
  times the months simulated, over the seconds of the run;
- **active-customer-months per second**: the customers active at the start of
  each month (``active_at_start`` of the monthly series), summed over the
  months, over the same seconds: the work the lifecycle rules do;
- **the fixed cost of a month**: the seconds of a small run (5,000 people x 60
  months of the baseline, where the Python work that does not grow with the
  market dominates), and per month; and of a tiny one (250 people x 60 months,
  ``small_market``), nearly all of it that Python work.

Two markets: the shipped baseline (about a fifth of the market is active)
and a busy one (the baseline with 90% of the market customers at month 0).
With ``--against DIR`` every measurement runs alternately in a process
importing crmsim from this checkout and from DIR (same machine, same moment),
so the two can be compared as ratios. Only the public API is used
(``CRMModel``, ``load_scenario``, ``monthly_series``), so any version of the
package can be measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARKETS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "busy": {"market.initial_active_share": 0.9},
}
"""Changes to the shipped baseline of each market measured."""


def measure(
    market: str,
    customers: int,
    months: int,
    seed: int,
    changes: dict[str, Any] | None = None,
) -> dict[str, float]:
    """One timed run after a first one: seconds (and the first run's), people-months
    and active-customer-months of the timed run.

    ``changes`` (dotted setting -> value) are laid over the market's, e.g. to give a
    newer checkout the work of an older one.
    """
    from crmsim import CRMModel, load_scenario

    scenario = load_scenario("baseline")
    if MARKETS[market] or changes:
        scenario = scenario.with_changes({**MARKETS[market], **(changes or {})})
    timed = {}
    for run_seed in (seed + 10_000, seed):
        model = CRMModel(scenario, rng=run_seed, customers=customers)
        start = time.perf_counter()
        model.run(months)
        timed[run_seed] = time.perf_counter() - start
    seconds, first = timed[seed], timed[seed + 10_000]
    series = model.monthly_series()
    active = float(series["active_at_start"].sum())
    # Everyone in the market each month (a renewing market grows as people enter it).
    people = float(series[["suspect", "prospect", "active", "defected"]].sum().sum())
    return {
        "seconds": seconds,
        "first_run_seconds": first,
        "people_months": people,
        "active_months": active,
    }


def _one(source: Path, task: dict[str, Any]) -> dict[str, float]:
    """Run ``measure`` in a fresh one-thread process importing crmsim from ``source``."""
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    # Load this file by path, so crmsim itself comes from ``source`` (the cwd).
    code = (
        "import importlib.util, json\n"
        f"spec = importlib.util.spec_from_file_location('throughput', {__file__!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "import crmsim\n"
        f"assert crmsim.__file__.startswith({str(source)!r}), crmsim.__file__\n"
        f"print(json.dumps(module.measure(**{task!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(source),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _summary(runs: list[dict[str, float]], months: int) -> dict[str, float]:
    seconds = statistics.median(r["seconds"] for r in runs)
    return {
        "median_seconds": round(seconds, 4),
        "median_first_run_seconds": round(
            statistics.median(r["first_run_seconds"] for r in runs), 4
        ),
        "people_months_per_second": round(runs[0]["people_months"] / seconds),
        "active_customer_months_per_second": round(runs[0]["active_months"] / seconds),
        "active_share": round(runs[0]["active_months"] / runs[0]["people_months"], 3),
        "milliseconds_per_month": round(1000 * seconds / months, 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000, help="people (throughput)")
    parser.add_argument("--months", type=int, default=120, help="months (throughput)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement")
    parser.add_argument("--against", type=Path, help="another checkout to measure alongside")
    parser.add_argument(
        "--this-set",
        action="append",
        default=[],
        metavar="SETTING=VALUE",
        help="a change of this checkout's scenarios only (repeatable), so that it does the "
        "work of the --against checkout: e.g. --this-set market.entry_rate_per_month=0",
    )
    parser.add_argument(
        "--only",
        choices=[*(f"{m}_throughput" for m in MARKETS), "fixed_cost", "small_market"],
        action="append",
        help="measure only these (repeatable; default: all)",
    )
    args = parser.parse_args(argv)
    import yaml

    this_changes = {}
    for item in args.this_set:
        setting, _, value = item.partition("=")
        this_changes[setting] = yaml.safe_load(value)
    sources = {"this": ROOT}
    if args.against is not None:
        sources["against"] = args.against.resolve()
    tasks = {
        f"{market}_throughput": {
            "market": market,
            "customers": args.customers,
            "months": args.months,
        }
        for market in MARKETS
    }
    tasks["fixed_cost"] = {"market": "baseline", "customers": 5_000, "months": 60}
    tasks["small_market"] = {"market": "baseline", "customers": 250, "months": 60}
    if args.only:
        tasks = {name: task for name, task in tasks.items() if name in args.only}
    results: dict[str, Any] = {
        "sources": {k: str(v) for k, v in sources.items()},
        "this_changes": this_changes,
    }
    for name, task in tasks.items():
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in sources}
        for seed in range(1, args.repeats + 1):
            for key, source in sources.items():  # interleaved, so load hits both alike
                extra = {"changes": this_changes} if key == "this" and this_changes else {}
                runs[key].append(_one(source, {**task, "seed": seed, **extra}))
        results[name] = {
            "what": task,
            **{key: _summary(found, task["months"]) for key, found in runs.items()},
        }
        if "against" in runs:
            this, other = results[name]["this"], results[name]["against"]
            results[name]["this_over_against_seconds"] = round(
                this["median_seconds"] / other["median_seconds"], 3
            )
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
