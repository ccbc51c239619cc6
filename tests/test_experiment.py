"""Experiments: replications, common random numbers, sweeps, resuming, executors, sensitivity."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmsim import load_scenario, study
from crmsim.measures import STUDY_MEASURES

SMALL = {"months": 24, "customers": 2000}


def test_replication_seeds_are_reproducible_and_distinct() -> None:
    seeds = study.replication_seeds(7, 50)
    assert seeds == study.replication_seeds(7, 50)
    assert len(set(seeds)) == 50
    assert seeds != study.replication_seeds(8, 50)


def test_replication_k_shares_its_seed_across_scenarios_and_grid_points() -> None:
    runs = study.study_runs(
        ["baseline", "loyalty_program"],
        {"firm.gross_margin": [0.3, 0.4]},
        replications=3,
        seed=1,
        **SMALL,
    )
    assert len(runs) == 2 * 2 * 3
    by_replication: dict[int, set[int]] = {}
    for run in runs:
        by_replication.setdefault(run.replication, set()).add(run.seed)
    assert all(len(seeds) == 1 for seeds in by_replication.values())
    assert len({run.key for run in runs}) == len(runs)


def test_compare_reports_confidence_intervals_that_contain_the_mean() -> None:
    result = study.compare(["baseline", "loyalty_program"], replications=4, seed=3, **SMALL)
    table = result.table
    assert set(table["scenario"]) == {"baseline", "loyalty_program"}
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()
    assert len(result.runs) == 8
    assert set(result.monthly["month"]) == set(range(24))


def test_paired_interval_is_narrower_than_unpaired_under_common_random_numbers() -> None:
    result = study.compare(["baseline", "loyalty_program"], replications=8, seed=11, **SMALL)
    diff = result.differences.set_index("measure")
    for measure in ("mean_realised_value", "total_profit_pv", "active_customers"):
        row = diff.loc[measure]
        paired = row["ci_high"] - row["ci_low"]
        unpaired = row["unpaired_ci_high"] - row["unpaired_ci_low"]
        assert paired < unpaired, measure


def test_paired_differences_match_a_direct_computation() -> None:
    runs = pd.DataFrame(
        {
            "scenario": ["a"] * 3 + ["b"] * 3,
            "replication": [0, 1, 2, 0, 1, 2],
            **{m: [1.0, 2.0, 3.0, 2.0, 3.5, 4.0] for m in STUDY_MEASURES},
        }
    )
    diff = study.paired_differences(runs).set_index("measure").loc["mean_realised_value"]
    d = np.array([1.0, 1.5, 1.0])
    assert diff["difference"] == pytest.approx(d.mean())
    assert diff["standard_error"] == pytest.approx(d.std(ddof=1) / np.sqrt(3))


def test_sweep_writes_one_tidy_row_per_run(tmp_path: Path) -> None:
    spec = study.SweepSpec(
        name="t",
        scenarios=["loyalty_program"],
        parameters={
            "strategies.loyalty_program.reward_rate": [0.01, 0.05],
            "strategies.loyalty_program.churn_reduction": [0.1, 0.3],
        },
        replications=2,
        seed=5,
        **SMALL,
    )
    result = study.sweep(spec, workers=1, out=tmp_path, progress=False)
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert len(runs) == 2 * 2 * 2
    for column in ["scenario", "replication", "seed", *spec.parameters, *STUDY_MEASURES]:
        assert column in runs.columns
    assert len(list((tmp_path / "runs").glob("*.json"))) == 8
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == 4 * len(STUDY_MEASURES)
    assert result.parameters == list(spec.parameters)


class CountingExecutor(study.SerialExecutor):
    """Serial executor that counts the runs it computes."""

    def __init__(self) -> None:
        self.executed = 0

    def map_unordered(self, runs):  # type: ignore[no-untyped-def]
        for run in runs:
            self.executed += 1
            yield study.execute(run)


def test_an_interrupt_while_a_run_is_saved_leaves_no_temporary_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = study.study_runs(["baseline"], {"firm.gross_margin": [0.3, 0.4]}, 3, seed=2, **SMALL)
    store = study.ResultStore(tmp_path)
    renames: list[str] = []

    def interrupted_at_the_fifth(source: str, destination: str) -> None:
        renames.append(destination)
        if len(renames) == 5:
            # Ctrl-C once the fifth run's temporary file is written, before it is renamed.
            assert Path(source).stat().st_size > 0
            raise KeyboardInterrupt
        os.rename(source, destination)

    monkeypatch.setattr("crmsim.study.store.os.replace", interrupted_at_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        study.run_all(runs, study.SerialExecutor(), store, progress=False)
    monkeypatch.undo()
    assert sorted(os.listdir(store.runs)) == sorted(f"{k}.json" for k in store.keys())
    assert len(store.keys()) == 4, "the finished runs are kept, and no temporary file"
    again = CountingExecutor()
    results = study.run_all(runs, again, store, progress=False)
    assert again.executed == len(runs) - 4
    fresh = study.run_all(runs, study.SerialExecutor(), None, progress=False)
    assert study.tidy(results).equals(study.tidy(fresh))
    third = CountingExecutor()
    study.run_all(runs, third, store, progress=False)
    assert third.executed == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"key": "trunc', "not a readable JSON file"),
        ("[1, 2]", "holds list, not a run"),
        ('{"key": "KEY", "scenario": "baseline"}', "no field replication, seed, point"),
        ("RESULT_WITHOUT_A_MEASURE", "no mean_realised_value"),
        ("RESULT_OF_ANOTHER_RUN", "holds run OTHER, not KEY"),
    ],
)
def test_a_damaged_run_file_is_reported_and_recomputed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, problem: str
) -> None:
    runs = study.study_runs(["baseline"], None, 2, seed=2, **SMALL)
    store = study.ResultStore(tmp_path)
    study.run_all(runs, study.SerialExecutor(), store, progress=False)
    key, other = runs[0].key, runs[1].key
    whole = json.loads(store.path(key).read_text())
    if text == "RESULT_WITHOUT_A_MEASURE":
        del whole["measures"]["mean_realised_value"]
        text = json.dumps(whole)
    elif text == "RESULT_OF_ANOTHER_RUN":
        text = store.path(other).read_text()
    store.path(key).write_text(text.replace("KEY", key))
    counter = CountingExecutor()
    with caplog.at_level("WARNING", logger="crmsim"):
        study.run_all(runs, counter, store, progress=False)
    assert counter.executed == 1
    (record,) = caplog.records
    message = record.getMessage()
    assert message.startswith(f"{store.path(key)} is damaged (")
    assert problem.replace("OTHER", other).replace("KEY", key) in message
    assert message.endswith("computing this run again")
    assert json.loads(store.path(key).read_text())["key"] == key


EXECUTOR_SWEEP = """name: executors
scenarios: [baseline, loyalty_program]
parameters:
  firm.gross_margin: [0.3, 0.4]
replications: 2
seed: 9
months: 24
customers: 2000
"""

STUDY_CSVS = {
    "sweep": ["monthly.csv", "runs.csv", "summary.csv"],
    "compare": ["comparison.csv", "differences.csv", "monthly.csv", "runs.csv"],
}
"""Every CSV file each study command writes."""


def _study_csvs(folder: Path, options: list[str]) -> dict[str, dict[str, bytes]]:
    """The bytes of every CSV file `crmsim sweep` and `crmsim compare` write with ``options``."""
    from crmsim.cli import main

    (folder / "executors.yaml").write_text(EXECUTOR_SWEEP)
    commands = {
        "sweep": ["sweep", str(folder / "executors.yaml")],
        "compare": ["compare", "baseline", "loyalty_program", "--replications", "3", "--seed", "9"],
    }
    written = {}
    for name, command in commands.items():
        out = folder / name
        sizes = [] if name == "sweep" else ["--months", "24", "--customers", "2000"]
        assert main([*command, *sizes, *options, "--out", str(out), "--no-progress"]) == 0
        written[name] = {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}
        assert sorted(written[name]) == STUDY_CSVS[name]
    return written


@pytest.fixture(scope="module")
def serial_csvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    return _study_csvs(tmp_path_factory.mktemp("serial"), ["--workers", "1"])


def test_every_csv_is_identical_with_local_processes(
    tmp_path: Path, serial_csvs: dict[str, dict[str, bytes]]
) -> None:
    parallel = _study_csvs(tmp_path, ["--workers", "2"])
    for command, files in serial_csvs.items():
        for name, content in files.items():
            assert parallel[command][name] == content, f"{command}: {name}"


def test_every_csv_is_identical_on_a_dask_cluster(
    tmp_path: Path, serial_csvs: dict[str, dict[str, bytes]]
) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        executor = study.make_executor(scheduler=cluster.scheduler_address)
        assert executor.workers == 2
        executor.close()
        on_cluster = _study_csvs(tmp_path, ["--scheduler", cluster.scheduler_address])
    for command, files in serial_csvs.items():
        for name, content in files.items():
            assert on_cluster[command][name] == content, f"{command}: {name}"


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    with pytest.raises(
        study.StudyError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"
    ):
        study.make_executor(scheduler="tcp://127.0.0.1:9")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "scenarios: [baseline]\nparameters: {firm.gross_margin: [0.3]}\ncolour: red\n",
            "colour: unknown field",
        ),
        ("parameters: {firm.gross_margin: [0.3]}\n", "scenarios: must be a list"),
        (
            "scenarios: [baseline]\nparameters: {firm.gross_margin: 0.3}\n",
            "parameters: must map dotted paths to non-empty lists",
        ),
        (
            "scenarios: [baseline]\nparameters: {firm.gross_margin: [3.0]}\n",
            "firm.gross_margin: must be a share in [0, 1]",
        ),
        (
            "scenarios: [baseline]\nparameters: {firm.gross_margn: [0.3]}\n",
            "firm.gross_margn: unknown setting",
        ),
        ("scenarios: [nowhere]\nparameters: {}\n", "no such scenario"),
        (
            "scenarios: [baseline]\nreplications: 0\n",
            "replications: must be a whole number in [1, 10_000]",
        ),
    ],
)
def test_invalid_sweep_files_name_the_file_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    file = tmp_path / "study.yaml"
    file.write_text(text)
    with pytest.raises(study.StudyError) as caught:
        study.load_sweep(file)
    assert expected in str(caught.value) and "study.yaml" in str(caught.value)


def test_shipped_sweeps_are_valid() -> None:
    folder = Path(__file__).resolve().parent.parent / "crmsim" / "sweeps"
    files = sorted(folder.glob("*.yaml"))
    assert files
    for file in files:
        spec = study.load_sweep(file)
        assert spec.parameters


def test_retention_moves_customer_value_more_than_margin_and_margin_more_than_acquisition() -> None:
    """Gupta, Lehmann & Stuart (2004): retention >> margin >> acquisition cost."""
    frame = study.sensitivity("baseline", replications=12, seed=2026, months=120, customers=20_000)
    e = frame.set_index("lever")
    assert e.loc["acquisition_cost", "ci_low"] > 0
    assert e.loc["margin", "ci_low"] > e.loc["acquisition_cost", "ci_high"]
    assert e.loc["retention", "ci_low"] > e.loc["margin", "ci_high"]
    # Several times in the published study (about 5 : 1 : 0.1); here about 4 : 1.1 : 0.07
    # (the default market of 20,000 people: a smaller one measures the tiny retention
    # nudge too loosely to order it), the order and the separations that matter.
    assert e.loc["retention", "elasticity"] > 1.5 * e.loc["margin", "elasticity"]
    assert e.loc["margin", "elasticity"] > 3 * e.loc["acquisition_cost", "elasticity"]


def test_lever_changes_move_what_they_say() -> None:
    base = load_scenario("baseline")
    margin = study.lever_changes(base, "margin")
    assert margin["firm.gross_margin"] == pytest.approx(base.params.firm.gross_margin * 1.01)
    # The net margin per customer-month, g * revenue - cost to serve, rises by 1%.
    assert margin["firm.cost_to_serve_per_month"] == pytest.approx(
        base.params.firm.cost_to_serve_per_month * 1.01
    )
    cost = study.lever_changes(base, "acquisition_cost")
    assert cost["acquisition.budget_per_month_per_1000_people"] == pytest.approx(
        base.params.acquisition.budget_per_month_per_1000_people * 0.99
    )
    retention = study.lever_changes(base, "retention")
    assert retention["firm.churn_scale"] < 1.0
    with pytest.raises(study.StudyError, match="unknown lever"):
        study.lever_changes(base, "luck")


def test_a_study_of_further_options_joins_an_earlier_study_and_pairs_with_its_runs() -> None:
    base = load_scenario("baseline")
    richer = base.with_changes({"firm.gross_margin": 0.4}, name="richer")
    cheaper = base.with_changes({"firm.price_index": 0.95}, name="cheaper")
    small = dict(replications=3, seed=5, months=12, customers=800)
    together = study.compare([base, richer, cheaper], **small)
    first = study.compare([base, richer], **small)
    joined = first.joined(study.compare([cheaper], **small))
    assert joined.scenario_order() == ["baseline", "richer", "cheaper"]
    pd.testing.assert_frame_equal(
        joined.differences.reset_index(drop=True), together.differences.reset_index(drop=True)
    )
    assert joined.subset(["cheaper"]).scenario_order() == ["baseline", "richer", "cheaper"]
    with pytest.raises(study.StudyError, match="other seeds"):
        first.joined(study.compare([cheaper], **(small | {"seed": 6})))
    unpaired = first.joined(study.compare([cheaper], **(small | {"seed": 6})), same_seeds=False)
    assert set(unpaired.differences["scenario"]) == {"richer", "cheaper"}
    with pytest.raises(study.StudyError, match="both comparisons have the scenario"):
        first.joined(study.compare([richer], **small))
    with pytest.raises(study.StudyError, match="replications"):
        first.joined(study.compare([cheaper], **(small | {"replications": 2})))
    with pytest.raises(study.StudyError, match="months"):
        first.joined(study.compare([cheaper], **(small | {"months": 6})))


def test_elasticities_measured_inside_a_larger_study_are_those_of_sensitivity() -> None:
    # sensitivity sizes the retention lever on the scenario at the study's size: so here
    small = dict(replications=2, seed=9, months=12, customers=800)
    base = load_scenario("baseline").with_changes(
        {"simulation.months": 12, "simulation.customers": 800}
    )
    alone = study.sensitivity(base, step=0.05, **small)
    what_if = base.with_changes({"firm.churn_scale": 0.8}, name="less churn")
    inside = study.compare([base, what_if, *study.lever_scenarios(base, 0.05)], **small)
    table = study.elasticity_table(inside.runs, "baseline", 0.05)
    pd.testing.assert_frame_equal(table, alone)
    assert list(table["lever"]) == list(study.LEVERS)
    with pytest.raises(study.StudyError, match="'margin'"):
        study.elasticity_table(inside.runs.query("scenario != 'margin'"), "baseline", 0.05)
