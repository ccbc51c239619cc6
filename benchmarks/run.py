"""Speed and memory benchmark: the vectorised CRMModel against a per-agent Mesa model.

Usage::

    python -m benchmarks.run            # full sizes
    python -m benchmarks.run --quick    # small sizes, a smoke test
    crmsim bench -- [options]           # the same, through the command line

Prints one JSON document with:

- ``vectorised``: :class:`~crmsim.engine.model.CRMModel` on the baseline scenario
  (default 100,000 people x 120 months): the median wall-clock seconds of
  ``--repeats`` runs, each a fresh model with seeds 1, 2, ..., their spread,
  and customer-months per second (people in the market x months / seconds);
- ``per_agent``: :class:`~benchmarks.per_agent.PerAgentCRMModel`, the same
  rules with one Mesa agent per person, at a smaller size (default 10,000 x
  120, one run) and its customer-months per second; ``speedup`` is the
  vectorised rate over the per-agent rate, both measured in this process;
- ``single_core``: how the figures were kept to one core;
- ``memory``: peak resident memory of a separate process running the
  baseline at ``--memory-customers`` (default 1,000,000) x 120 months with
  the monthly ``DataCollector`` (:mod:`benchmarks.memory`), and of an
  interpreter that only imported crmsim, so the model's own share shows;
- ``machine``: Python, numpy and Mesa versions, CPUs, platform;
- the targets and whether they are met (``meets_*``).

Model construction is timed apart from the months (``setup_seconds``).
"""

from __future__ import annotations

import os
import sys

THREAD_LIMITS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Set before numpy is imported, so the numeric libraries start one thread each."""
NUMPY_IMPORTED_BEFORE_LIMITS = "numpy" in sys.modules
os.environ.update(THREAD_LIMITS)

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import mesa  # noqa: E402
import numpy as np  # noqa: E402

import crmsim  # noqa: E402
from benchmarks.memory import peak_rss_mb  # noqa: E402
from benchmarks.per_agent import COLD_START, PerAgentCRMModel  # noqa: E402
from crmsim import CRMModel, Scenario, load_scenario  # noqa: E402

TARGET_CUSTOMER_MONTHS_PER_SECOND = 20e6
TARGET_SPEEDUP = 20.0
TARGET_PEAK_MEMORY_MB = 500.0

FULL = {"customers": 100_000, "months": 120, "per_agent_customers": 10_000, "memory": 1_000_000}
QUICK = {"customers": 20_000, "months": 24, "per_agent_customers": 2_000, "memory": 50_000}

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "baseline"


def time_vectorised(
    scenario: Scenario, customers: int, months: int, repeats: int
) -> dict[str, Any]:
    """Time ``repeats`` runs of :class:`~crmsim.engine.model.CRMModel`, seeds 1, 2, ...

    Args:
        scenario: The scenario.
        customers: People in the market.
        months: Months per run.
        repeats: Number of runs (each a fresh model).

    Returns:
        Median, min and max wall-clock seconds of the months, the rate at the median
        (customer-months per second) and its range, and the setup time.
    """
    seconds, setup, cpu, active_months = [], [], [], []
    for seed in range(1, repeats + 1):
        gc.collect()
        start = time.perf_counter()
        model = CRMModel(scenario, rng=seed, customers=customers)
        built = time.perf_counter()
        cpu_start = time.process_time()
        model.run(months)
        cpu.append(time.process_time() - cpu_start)
        seconds.append(time.perf_counter() - built)
        setup.append(built - start)
        active_months.append(float(model.monthly_series()["active_at_start"].sum()))
        del model
    gc.collect()
    work = customers * months
    median = statistics.median(seconds)
    return {
        "customers": customers,
        "months": months,
        "repeats": repeats,
        "seeds": list(range(1, repeats + 1)),
        "seconds": round(median, 4),
        "seconds_min": round(min(seconds), 4),
        "seconds_max": round(max(seconds), 4),
        "seconds_all": [round(s, 4) for s in seconds],
        "setup_seconds": round(statistics.median(setup), 4),
        "customer_months_per_second": work / median,
        "customer_months_per_second_min": work / max(seconds),
        "customer_months_per_second_max": work / min(seconds),
        "people_months_per_second": work / median,
        "active_customer_months_per_second": statistics.mean(active_months) / median,
        "active_share_of_people_months": round(statistics.mean(active_months) / work, 4),
        "counts": "people-months: everyone in the market, suspects included, x months "
        "(also customer_months_per_second); active-customer-months: the customers active at "
        "the start of each month, summed over the months (the work the lifecycle rules do)",
        "cpu_seconds_per_wall_second": round(sum(cpu) / sum(seconds), 3),
    }


def time_per_agent(
    scenario: Scenario, customers: int, months: int, seed: int = 1
) -> dict[str, Any]:
    """Time one run of the per-agent model.

    Args:
        scenario: The scenario.
        customers: People in the market.
        months: Months to simulate.
        seed: Seed of the run.

    Returns:
        Wall-clock seconds of the months, the rate (customer-months per second)
        and the setup time.
    """
    gc.collect()
    start = time.perf_counter()
    model = PerAgentCRMModel(scenario, rng=seed, customers=customers)
    built = time.perf_counter()
    model.run(months)
    seconds = time.perf_counter() - built
    del model
    gc.collect()
    return {
        "customers": customers,
        "months": months,
        "seed": seed,
        "seconds": round(seconds, 4),
        "setup_seconds": round(built - start, 4),
        "customer_months_per_second": customers * months / seconds,
    }


def measure_memory(customers: int, months: int) -> dict[str, Any]:
    """Peak resident memory of a separate process running the baseline scenario.

    The child is ``python -m benchmarks.memory``; its peak is read with
    ``getrusage(RUSAGE_CHILDREN)`` once it has finished (the largest child this
    process has waited for, so it runs before any other). A second child that
    only imports crmsim gives the interpreter's share.

    Args:
        customers: People in the market.
        months: Months to simulate.

    Returns:
        Peak memory of the run and of the bare interpreter (MB), and the model's share.

    Raises:
        RuntimeError: A child process failed.
    """
    run = _child(["--customers", str(customers), "--months", str(months)])
    peak = peak_rss_mb(resource.RUSAGE_CHILDREN)
    bare = _child(["--import-only"])
    return {
        "customers": customers,
        "months": months,
        "scenario": SCENARIO,
        "measured_with": "resource.getrusage(RUSAGE_CHILDREN).ru_maxrss of the child process",
        "peak_rss_mb": round(peak, 1),
        "peak_rss_mb_reported_by_child": run["peak_rss_mb"],
        "python_with_crmsim_imported_mb": bare["peak_rss_mb"],
        "model_share_mb": round(peak - bare["peak_rss_mb"], 1),
        "customer_table_mb": run["customer_table_mb"],
        "months_collected": run["months_collected"],
        "seconds": run["seconds"],
    }


def machine() -> dict[str, Any]:
    """The interpreter, libraries and hardware the figures were measured on."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "crmsim": crmsim.__version__,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    cpu = _cpu_model()
    if cpu:
        info["cpu_model"] = cpu
    return info


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one JSON document; returns the exit status.

    Args:
        argv: Command-line options (default: ``sys.argv[1:]``); see ``--help``.
    """
    args = _parser().parse_args(argv)
    sizes = QUICK if args.quick else FULL
    customers = args.customers or sizes["customers"]
    months = args.months or sizes["months"]
    per_agent_customers = args.per_agent_customers or sizes["per_agent_customers"]
    memory_customers = args.memory_customers or sizes["memory"]
    # The per-agent model starts cold, so both run the same rules from a brand-new base.
    scenario = load_scenario(SCENARIO).with_changes(COLD_START)

    result: dict[str, Any] = {
        "benchmark": "crmsim vectorised CRMModel vs per-agent Mesa model",
        "scenario": SCENARIO,
        "quick": args.quick,
        "argv": list(sys.argv[1:] if argv is None else argv),
    }
    status = 0
    if not args.skip_memory:
        try:
            result["memory"] = measure_memory(memory_customers, months)
        except RuntimeError as error:
            result["memory"] = {"error": str(error)}
            status = 1
    vectorised = time_vectorised(scenario, customers, months, args.repeats)
    result["vectorised"] = vectorised
    if not args.skip_per_agent:
        per_agent = time_per_agent(scenario, per_agent_customers, months)
        result["per_agent"] = per_agent
        result["speedup"] = (
            vectorised["customer_months_per_second"] / per_agent["customer_months_per_second"]
        )
    when = (
        "after numpy had already been imported (so they bind only the memory child process)"
        if NUMPY_IMPORTED_BEFORE_LIMITS
        else "before numpy is imported"
    )
    result["single_core"] = {
        "how": (
            "one process and one thread: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and "
            f"MKL_NUM_THREADS are set to 1 at the top of benchmarks/run.py, {when}; the "
            "model's array operations are single-threaded numpy, and the CPU seconds per "
            "wall-clock second of the vectorised runs show it"
        ),
        "environment": {name: os.environ.get(name) for name in THREAD_LIMITS},
        "numpy_imported_before_limits": NUMPY_IMPORTED_BEFORE_LIMITS,
        "vectorised_cpu_seconds_per_wall_second": vectorised["cpu_seconds_per_wall_second"],
    }
    result["machine"] = machine()
    result.update(_targets(result))
    print(json.dumps(result, indent=2))
    return status


def bench_command(args: list[str]) -> int:
    """Entry point of ``crmsim bench [options]``: the same as :func:`main`."""
    return main(args)


def _targets(result: dict[str, Any]) -> dict[str, Any]:
    rate = result["vectorised"]["customer_months_per_second"]
    speedup = result.get("speedup")
    peak = result.get("memory", {}).get("peak_rss_mb")
    return {
        "target_customer_months_per_second": TARGET_CUSTOMER_MONTHS_PER_SECOND,
        "target_speedup": TARGET_SPEEDUP,
        "target_peak_memory_mb": TARGET_PEAK_MEMORY_MB,
        "meets_customer_months_per_second": rate >= TARGET_CUSTOMER_MONTHS_PER_SECOND,
        "meets_speedup": None if speedup is None else speedup >= TARGET_SPEEDUP,
        "meets_peak_memory_mb": None if peak is None else peak <= TARGET_PEAK_MEMORY_MB,
        "at_target_sizes": not result["quick"]
        and result["vectorised"]["customers"] == FULL["customers"]
        and result["vectorised"]["months"] == FULL["months"],
    }


def _child(options: list[str]) -> dict[str, Any]:
    """Run ``python -m benchmarks.memory`` with ``options``; its JSON output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-5:]
        raise RuntimeError(
            f"benchmarks.memory {' '.join(options)} failed ({done.returncode}): " + " | ".join(tail)
        )
    return json.loads(done.stdout)


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Speed and memory of the vectorised CRMModel against a per-agent Mesa model "
        "(prints one JSON document).",
    )
    full, quick = FULL, QUICK
    parser.add_argument(
        "--customers",
        type=_positive,
        help=f"people in the market, vectorised model (default {full['customers']:,}; "
        f"quick {quick['customers']:,})",
    )
    parser.add_argument(
        "--months",
        type=_positive,
        help=f"months of every run (default {full['months']}; quick {quick['months']})",
    )
    parser.add_argument(
        "--repeats", type=_positive, default=3, help="vectorised runs, seeds 1.. (default 3)"
    )
    parser.add_argument(
        "--per-agent-customers",
        type=_positive,
        help=f"people in the market, per-agent model (default {full['per_agent_customers']:,}; "
        f"quick {quick['per_agent_customers']:,})",
    )
    parser.add_argument(
        "--memory-customers",
        type=_positive,
        help=f"people in the market, memory run (default {full['memory']:,}; "
        f"quick {quick['memory']:,})",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--skip-memory", action="store_true", help="do not measure memory")
    parser.add_argument(
        "--skip-per-agent", action="store_true", help="do not run the per-agent model"
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
