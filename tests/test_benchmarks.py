"""The benchmark runs and reports its fields, and its per-agent yardstick is fair.

No speed is asserted here: timings depend on the machine. The fairness test
shows that the per-agent Mesa model implements the same rules as the
vectorised ``CRMModel``: on the same scenario their means agree within Monte
Carlo error.
"""

from __future__ import annotations

import json
import math
import statistics
from numbers import Real

import pytest

from benchmarks import run
from benchmarks.per_agent import (
    COLD_START,
    PerAgentCRMModel,
    active_and_revenue,
    run_per_agent,
)
from crmsim import CRMModel, load_scenario

SEEDS = range(1, 13)
CUSTOMERS = 3_000
MONTHS = 24


def _positive(value: object) -> bool:
    return (
        isinstance(value, Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > 0)
    )


def _run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert run.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_quick_benchmark_prints_one_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    result = _run_json(capsys, ["--quick", "--skip-memory"])
    vectorised = result["vectorised"]
    assert (vectorised["customers"], vectorised["months"], vectorised["repeats"]) == (20_000, 24, 3)
    for key in (
        "seconds",
        "seconds_min",
        "seconds_max",
        "customer_months_per_second",
        "customer_months_per_second_min",
        "customer_months_per_second_max",
        "people_months_per_second",
        "active_customer_months_per_second",
    ):
        assert _positive(vectorised[key]), key
    assert vectorised["seconds_min"] <= vectorised["seconds"] <= vectorised["seconds_max"]
    # Active customers are a part of the people in the market: fewer of them per second.
    share = vectorised["active_share_of_people_months"]
    assert 0 < share < 1
    assert vectorised["active_customer_months_per_second"] == pytest.approx(
        share * vectorised["people_months_per_second"], rel=1e-3
    )
    per_agent = result["per_agent"]
    assert (per_agent["customers"], per_agent["months"]) == (2_000, 24)
    assert _positive(per_agent["seconds"])
    assert _positive(per_agent["customer_months_per_second"])
    assert _positive(result["speedup"])
    assert "memory" not in result
    assert result["single_core"]["environment"] == run.THREAD_LIMITS
    machine = result["machine"]
    assert {"python", "numpy", "mesa", "cpu_count", "platform"} <= machine.keys()
    assert result["target_customer_months_per_second"] == 20e6
    assert result["target_speedup"] == 20
    assert result["target_peak_memory_mb"] == 500
    assert isinstance(result["meets_customer_months_per_second"], bool)
    assert isinstance(result["meets_speedup"], bool)
    assert result["meets_peak_memory_mb"] is None
    assert result["at_target_sizes"] is False


def test_memory_is_measured_in_a_separate_process(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--skip-per-agent", "--customers", "2000", "--months", "3", "--repeats", "1"]
    result = _run_json(capsys, [*argv, "--memory-customers", "2000"])
    memory = result["memory"]
    assert (memory["customers"], memory["months"], memory["months_collected"]) == (2_000, 3, 3)
    for key in ("peak_rss_mb", "peak_rss_mb_reported_by_child", "python_with_crmsim_imported_mb"):
        assert _positive(memory[key]), key
    assert memory["peak_rss_mb"] >= memory["python_with_crmsim_imported_mb"]
    assert "per_agent" not in result and result["meets_speedup"] is None
    assert isinstance(result["meets_peak_memory_mb"], bool)


def test_bench_command_takes_the_same_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run.bench_command(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--quick", "--skip-memory", "--skip-per-agent", "--memory-customers"):
        assert option in help_text


def test_per_agent_model_has_one_agent_per_person() -> None:
    model = run_per_agent(
        load_scenario("baseline").with_changes(COLD_START), customers=500, months=2, seed=3
    )
    assert len(model.agents) == 500
    active, revenue = active_and_revenue(model)
    assert len(active) == len(revenue) == 2
    assert all(a > 0 for a in active) and all(r > 0 for r in revenue)


def test_per_agent_model_refuses_strategies() -> None:
    with pytest.raises(ValueError, match="strategies"):
        PerAgentCRMModel("loyalty_program", rng=1, customers=100)


def _mean_and_se(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))


def test_per_agent_and_vectorised_models_agree_within_monte_carlo_error() -> None:
    scenario = load_scenario("baseline").with_changes(COLD_START)
    measures: dict[str, dict[str, list[float]]] = {
        "vectorised": {"active": [], "revenue": []},
        "per_agent": {"active": [], "revenue": []},
    }
    for seed in SEEDS:
        for name, model in (
            ("vectorised", CRMModel(scenario, rng=seed, customers=CUSTOMERS).run(MONTHS)),
            ("per_agent", run_per_agent(scenario, CUSTOMERS, MONTHS, seed)),
        ):
            active, revenue = active_and_revenue(model)
            assert len(active) == MONTHS
            measures[name]["active"].append(active[-1])
            measures[name]["revenue"].append(sum(revenue))
    for measure in ("active", "revenue"):
        mean_v, se_v = _mean_and_se(measures["vectorised"][measure])
        mean_a, se_a = _mean_and_se(measures["per_agent"][measure])
        se = math.hypot(se_v, se_a)
        assert abs(mean_v - mean_a) < 4 * se, (measure, mean_v, mean_a, se)


def test_the_lab_benchmark_times_a_click_and_says_what_it_counts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import lab

    assert lab.main(["--quick", "--workers", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["click"] == "2 options x 2 replications x 1,000 people x 12 months"
    assert report["active_customer_months"] > 0
    shares = report["months_share_of_serial_work"] + report["summary_share_of_serial_work"]
    assert shares == pytest.approx(1.0, abs=0.002)
    assert report["meets_click"] == (report["warm_seconds_median"] <= 1.0)
