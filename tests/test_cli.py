"""The crmsim command: run, compare and list, and how it fails on bad input."""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
import yaml

import crmsim
from crmsim import load_scenario, study
from crmsim.cli import _parser, main
from crmsim.config.scenario import shipped_scenarios_dir, shipped_sweeps_dir
from crmsim.measures import run_measure

matplotlib.use("Agg")

SMALL = ["--months", "12", "--customers", "2000", "--no-progress"]
ROOT = Path(crmsim.__file__).resolve().parents[1]


def test_list_prints_one_line_per_shipped_scenario(capsys: pytest.CaptureFixture) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    shipped = sorted(p.stem for p in shipped_scenarios_dir().glob("*.yaml"))
    assert [line.split()[0] for line in lines] == shipped


def test_list_schema_and_strategies(capsys: pytest.CaptureFixture) -> None:
    assert main(["list", "--schema"]) == 0
    assert "gross_margin" in capsys.readouterr().out
    assert main(["list", "--strategies"]) == 0
    out = capsys.readouterr().out
    assert "loyalty_program" in out and "reward_rate" in out and "fire_marginal_customers" in out


def test_run_writes_series_customers_summary_and_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "run"
    assert main(["run", "baseline", "--seed", "3", "--out", str(out), *SMALL]) == 0
    assert {p.name for p in out.iterdir()} == {
        "monthly.csv",
        "customers.csv",
        "summary.json",
        "scenario.yaml",
        "figure.png",
    }
    monthly = pd.read_csv(out / "monthly.csv")
    assert len(monthly) == 12 and list(monthly["month"]) == list(range(12))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["months"] == 12
    # The 2,000 people of month 0 and 0.5% of them entering each month.
    assert summary["market_size"] == 2_000 + 10 * 12
    customers = pd.read_csv(out / "customers.csv")
    assert len(customers) == summary["customers_ever"]
    assert (out / "figure.png").stat().st_size > 10_000
    assert "mean realised value to date" in capsys.readouterr().out


def test_same_seed_same_files_different_seed_different(tmp_path: Path) -> None:
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert main(["run", "baseline", "--seed", seed, "--out", str(tmp_path / name), *SMALL]) == 0
    read = lambda name: (tmp_path / name / "monthly.csv").read_text()  # noqa: E731
    assert read("a") == read("b")
    assert read("a") != read("c")


def test_compare_prints_confidence_intervals_and_writes_files(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "cmp"
    args = ["compare", "baseline", "loyalty_program", "--replications", "3", "--out", str(out)]
    assert main([*args, *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "baseline" in printed and "loyalty_program" in printed and "[" in printed
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["scenario"]) == {"baseline", "loyalty_program"}
    # Short small runs can lose money overall: a Pareto share is then undefined (NaN).
    defined = table.dropna(subset=["mean", "ci_low", "ci_high"])
    assert set(defined["measure"]) >= {"mean_realised_value", "customer_equity", "retention_rate"}
    assert (defined["ci_low"] <= defined["mean"]).all()
    assert (defined["mean"] <= defined["ci_high"]).all()
    assert (out / "differences.csv").exists() and (out / "differences.png").exists()
    assert len(pd.read_csv(out / "runs.csv")) == 6
    assert (out / "comparison.png").exists()


def test_invalid_scenario_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("firm:\n  gross_margin: 1.5\n")
    out = tmp_path / "out"
    assert main(["run", str(bad), "--out", str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "firm.gross_margin" in err and "[0, 1]" in err
    assert not out.exists()


def test_invalid_scenario_in_a_comparison_stops_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    assert main(["compare", "baseline", str(tmp_path / "missing.yaml"), "--out", str(out)]) == 2
    assert "missing.yaml: no such scenario file" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    "args",
    [
        ["run", "baseline", "--months", "0"],
        ["run", "baseline", "--seed", "-1"],
        ["run", "baseline", "--customers", "many"],
        ["run", "baseline", "--customers", "0"],
        ["compare", "baseline", "loyalty_program", "--replications", "0"],
        ["compare", "baseline", "baseline"],
    ],
)
def test_impossible_options_exit_2(args: list[str], tmp_path: Path) -> None:
    assert main([*args, "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_out_must_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x")
    assert main(["run", "baseline", "--out", str(file), *SMALL]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert file.read_text() == "x"


SWEEP = """name: tiny
scenarios: [loyalty_program]
parameters:
  strategies.loyalty_program.reward_rate: [0.01, 0.05]
  strategies.loyalty_program.churn_reduction: [0.1, 0.4]
replications: 2
seed: 3
months: 12
customers: 1500
"""


def test_sweep_writes_a_tidy_table_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    file = tmp_path / "tiny.yaml"
    file.write_text(SWEEP)
    out = tmp_path / "sweep"
    args = ["sweep", str(file), "--workers", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 2 * 2 * 2
    assert {"strategies.loyalty_program.reward_rate", "mean_realised_value"} <= set(runs.columns)
    for name in ("summary.csv", "monthly.csv", "sweep.png", "heatmap.png"):
        assert (out / name).exists(), name
    stored = sorted(p.name for p in (out / "runs").iterdir())
    assert len(stored) == 8
    modified = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    assert "8 runs of tiny;" in capsys.readouterr().out
    # Running it again computes nothing new and gives the same table.
    assert main(args) == 0
    assert "8 runs of tiny (0 computed now, 8 stored before)" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == modified
    pd.testing.assert_frame_equal(pd.read_csv(out / "runs.csv"), runs)


def test_invalid_sweep_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("scenarios: [baseline]\nparameters: {firm.gross_margin: [2.0]}\n")
    assert main(["sweep", str(file), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "firm.gross_margin" in err
    assert not (tmp_path / "o").exists()


def test_sensitivity_writes_elasticities_and_a_tornado(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "sens"
    args = ["sensitivity", "baseline", "--replications", "3", "--workers", "1", "--out", str(out)]
    assert main([*args, *SMALL]) == 0
    frame = pd.read_csv(out / "sensitivity.csv")
    assert list(frame["lever"]) == ["retention", "margin", "acquisition_cost"]
    assert (out / "tornado.png").exists()
    assert "+1% retention" in capsys.readouterr().out


def test_number_options_say_which_option_and_what_is_allowed(
    capsys: pytest.CaptureFixture,
) -> None:
    assert main(["compare", "baseline", "loyalty_program", "--replications", "two"]) == 2
    err = capsys.readouterr().err
    assert "--replications: must be a whole number in [1, 10_000]; got str 'two'" in err
    assert main(["run", "baseline", "--seed", "-1"]) == 2
    assert "--seed: must be a whole number >= 0; got -1" in capsys.readouterr().err
    assert main(["sensitivity", "baseline", "--step", "0.7"]) == 2
    assert "--step: must be a number between 0 and 0.5; got 0.7" in capsys.readouterr().err


# Output folders: checked before anything is simulated, never silently replaced or mixed.


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything is simulated (a single run or a run of a study)."""

    def simulated(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated before the output folder was checked")

    monkeypatch.setattr("crmsim.engine.model.CRMModel.run", simulated)
    monkeypatch.setattr("crmsim.study.executors.execute", simulated)


@pytest.mark.parametrize("command", [["run", "baseline"], ["sweep", "reward_rate"]])
def test_out_under_a_file_is_refused_before_simulating(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture, no_simulation: None
) -> None:
    file = tmp_path / "some_file"
    file.write_text("x")
    assert main([*command, "--out", str(file / "sub")]) == 2
    err = capsys.readouterr().err
    assert err == f"crmsim: error: {file / 'sub'}: is under {file}, which is a file, not a folder\n"
    assert file.read_text() == "x"


def test_a_full_disk_is_refused_before_simulating(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    no_simulation: None,
) -> None:
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        "crmsim.study.store.shutil.disk_usage", lambda path: usage._replace(free=2**20)
    )
    assert main(["compare", "baseline", "win_back", "--out", str(tmp_path / "o"), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "o: its disk has only 1.0 MB free, less than the 16 MB results need" in err


def test_a_read_only_disk_is_refused_before_simulating(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    no_simulation: None,
) -> None:
    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("crmsim.study.store.tempfile.TemporaryFile", read_only)
    assert main(["sweep", "reward_rate", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err == f"crmsim: error: {tmp_path / 'o'}: cannot write there (Read-only file system)\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_refused_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture, no_simulation: None
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["run", "baseline", "--out", str(locked / "run"), *SMALL]) == 2
    assert "cannot write there (Permission denied)" in capsys.readouterr().err


def test_a_disk_filling_up_while_writing_keeps_the_runs_and_says_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "tiny.yaml"
    file.write_text(SWEEP)
    out = tmp_path / "sweep"

    def full(figure: object, path: Path, **kwargs: object) -> None:
        Path(path).write_bytes(b"half a figure")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", full)
    args = ["sweep", str(file), "--workers", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "sweep.png: No space left on device; no file was left half-written" in line
    assert f"8 of 8 runs are kept in {out / 'runs'}; to resume, run again: crmsim sweep" in line
    assert not (out / "sweep.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep", "tiny.yaml"]
    monkeypatch.undo()
    assert main(args) == 0
    assert "8 runs of tiny (0 computed now, 8 stored before)" in capsys.readouterr().out
    assert (out / "sweep.png").exists()


def test_earlier_results_are_refused_unless_force(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "run"
    assert main(["run", "baseline", "--seed", "1", "--out", str(out), *SMALL]) == 0
    before = (out / "monthly.csv").read_text()
    capsys.readouterr()
    assert main(["run", "baseline", "--seed", "2", "--out", str(out), *SMALL]) == 2
    assert capsys.readouterr().err == (
        f"crmsim: error: {out}: already holds results (customers.csv, figure.png, monthly.csv, "
        "scenario.yaml, summary.json); give --out a new or empty folder, or add --force to "
        "write there anyway\n"
    )
    assert (out / "monthly.csv").read_text() == before
    assert main(["run", "baseline", "--seed", "2", "--out", str(out), "--force", *SMALL]) == 0
    assert (out / "monthly.csv").read_text() != before


def test_a_folder_of_other_files_is_refused_and_force_keeps_them(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / ".DS_Store").write_text("hidden names are never results")
    assert main(["run", "baseline", "--out", str(out), *SMALL]) == 2
    assert "holds files this command does not write (notes.txt)" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [".DS_Store", "notes.txt"]
    assert main(["run", "baseline", "--out", str(out), "--force", *SMALL]) == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "summary.json").exists()


def test_a_study_resumes_in_its_own_folder_but_not_in_another_studys(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    file = tmp_path / "tiny.yaml"
    file.write_text(SWEEP)
    out = tmp_path / "sweep"
    args = ["sweep", str(file), "--workers", "1", "--out", str(out), "--no-progress"]
    assert main([*args, "--replications", "1"]) == 0
    # More replications extend the same study: the stored ones are reused.
    assert main(args) == 0
    assert "8 runs of tiny (4 computed now, 4 stored before)" in capsys.readouterr().out
    other = tmp_path / "other.yaml"
    other.write_text(SWEEP.replace("seed: 3", "seed: 4"))
    other_args = ["sweep", str(other), "--workers", "1", "--out", str(out), "--no-progress"]
    assert main(other_args) == 2
    assert "holds 8 stored run(s) of a different study" in capsys.readouterr().err
    # --force replaces the other study: its stored runs go once the new ones are in.
    assert main([*other_args, "--force"]) == 0
    assert len(list((out / "runs").glob("*.json"))) == 8
    assert set(pd.read_csv(out / "runs.csv")["seed"]) == set(study.replication_seeds(4, 2))
    assert main(args) == 2  # the first study's runs are gone
    capsys.readouterr()


def test_compare_and_sensitivity_write_to_folders_named_after_what_they_study(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    compare = ["compare", "loyalty_program", "baseline", "--replications", "2", "--workers", "1"]
    assert main([*compare, *SMALL]) == 0
    assert (tmp_path / "out" / "loyalty_program-vs-baseline" / "comparison.csv").exists()
    assert main([*compare, "--seed", "5", *SMALL]) == 2
    assert "holds 4 stored run(s) of a different study" in capsys.readouterr().err
    sensitivity = ["sensitivity", "baseline", "--replications", "2", "--workers", "1"]
    assert main([*sensitivity, *SMALL]) == 0
    assert (tmp_path / "out" / "baseline-sensitivity" / "sensitivity.csv").exists()
    # Run again, each resumes its own folder: nothing is computed twice.
    assert main([*sensitivity, *SMALL]) == 0
    assert "8 runs (0 computed now, 8 stored before)" in capsys.readouterr().out


def test_reference_chooses_what_the_others_are_compared_with(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "cmp"
    args = ["compare", "baseline", "win_back", "--replications", "2", "--workers", "1"]
    assert main([*args, "--reference", "win_back", "--out", str(out), *SMALL]) == 0
    differences = pd.read_csv(out / "differences.csv")
    assert set(differences["reference"]) == {"win_back"}
    assert set(differences["scenario"]) == {"baseline"}
    assert "paired differences from win_back" in capsys.readouterr().out
    assert main([*args, "--reference", "win_bak", "--out", str(tmp_path / "x"), *SMALL]) == 2
    assert capsys.readouterr().err == (
        "crmsim: error: --reference win_bak: unknown scenario (did you mean win_back?); "
        "allowed: baseline, win_back\n"
    )
    assert not (tmp_path / "x").exists()


def test_a_stored_run_with_the_wrong_fields_is_recomputed_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    file = tmp_path / "tiny.yaml"
    file.write_text(SWEEP)
    out = tmp_path / "sweep"
    args = ["sweep", str(file), "--workers", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    runs = (out / "runs.csv").read_bytes()
    damaged = sorted((out / "runs").glob("*.json"))[0]
    damaged.write_text(json.dumps({"key": damaged.stem, "scenario": "loyalty_program"}))
    capsys.readouterr()
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f"crmsim: {damaged} is damaged (no field replication, seed, point, measures, series, "
        "segments): "
        "computing this run again\n"
    )
    assert "8 runs of tiny (1 computed now, 7 stored before)" in captured.out
    assert (out / "runs.csv").read_bytes() == runs


# Ctrl-C: one line, status 130, the finished runs kept, and a resume that computes the rest.

INTERRUPTED_SWEEP = """name: long
scenarios: [loyalty_program]
parameters:
  strategies.loyalty_program.reward_rate: [0.01, 0.05]
  strategies.loyalty_program.churn_reduction: [0.1, 0.4]
replications: 5
seed: 11
months: 60
customers: 20000
"""


def _crmsim(args: list[str], cwd: Path, **options: object) -> subprocess.Popen:
    """The command as a user starts it (``python -m crmsim``), from this tree, in its own
    process group so that a signal can go to all its processes as a terminal's Ctrl-C does."""
    env = os.environ | {"PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    return subprocess.Popen(
        [sys.executable, "-m", "crmsim", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **options,
    )


def _finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def test_ctrl_c_keeps_the_finished_runs_and_the_rerun_computes_only_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "long.yaml").write_text(INTERRUPTED_SWEEP)
    command = ["sweep", "long.yaml", "--workers", "2", "--out", "out"]
    sweep = _crmsim(command, tmp_path)
    store = tmp_path / "out" / "runs"
    deadline = time.monotonic() + 240
    while not (store.is_dir() and len(list(store.glob("*.json"))) >= 2):
        assert sweep.poll() is None, "the sweep ended before it was interrupted"
        assert time.monotonic() < deadline, "no run was stored in time"
        time.sleep(0.02)
    os.killpg(sweep.pid, signal.SIGINT)
    status, out, err = _finish(sweep)

    assert status == 130
    kept = sorted(store.glob("*.json"))
    assert 2 <= len(kept) < 20, "interrupted mid-way"
    assert err.splitlines() == [
        f"crmsim: interrupted; {len(kept)} of 20 runs are kept in out/runs; "
        "to resume, run again: crmsim sweep long.yaml --workers 2 --out out"
    ]
    assert out == ""
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".")]
    assert leftovers == [], "no temporary files are left behind"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["runs"], "no tables yet"
    with pytest.raises(ProcessLookupError):  # the workers stopped with the command
        for _ in range(100):
            os.killpg(sweep.pid, 0)
            time.sleep(0.05)
    stamps = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in kept}

    status, out, err = _finish(_crmsim(command, tmp_path))
    assert (status, err) == (0, "")
    assert out.startswith(f"20 runs of long ({20 - len(kept)} computed now, {len(kept)} stored")
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in kept} == stamps

    # An uninterrupted run (in this process, one run after another) writes the same bytes.
    fresh = [
        "sweep",
        str(tmp_path / "long.yaml"),
        "--workers",
        "1",
        "--out",
        str(tmp_path / "fresh"),
    ]
    assert main(fresh) == 0
    written = sorted(p.name for p in (tmp_path / "fresh").glob("*.csv"))
    assert written == ["monthly.csv", "runs.csv", "summary.csv"]
    for name in written:
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()


def test_ctrl_c_during_a_single_run_writes_nothing(tmp_path: Path) -> None:
    run = _crmsim(["run", "baseline", "--months", "600", "--out", "out"], tmp_path)
    deadline = time.monotonic() + 120
    while not (tmp_path / "out").is_dir():  # the folder is made just before simulating
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGINT)
    status, out, err = _finish(run)
    assert status == 130
    assert err.splitlines() == [
        "crmsim: interrupted; nothing was written to out (a run keeps nothing)"
    ]
    assert list(tmp_path.glob("out/*")) == [] and not list(tmp_path.glob(".*"))


# Usage: suggestions, help, version, listings, tables.


def test_misspelt_scenarios_and_options_get_a_suggestion(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "baselin"]) == 2
    err = capsys.readouterr().err
    assert "crmsim run: error: argument scenario: baselin: unknown scenario " in err
    assert "(did you mean baseline?); allowed: baseline, churn_reduction" in err
    assert main(["compare", "baseline", "loyalty_program", "--replicatons", "3"]) == 2
    assert err_line(capsys) == (
        "crmsim compare: error: unrecognized arguments: --replicatons 3 "
        "(did you mean --replications?)"
    )
    assert main(["compare", "baseline", "reward_rate"]) == 2
    assert err_line(capsys) == (
        "crmsim compare: error: argument SCENARIO: reward_rate is a shipped sweep, not a "
        "scenario: run it with crmsim sweep reward_rate"
    )


def err_line(capsys: pytest.CaptureFixture) -> str:
    """The error line argparse prints after the usage."""
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_scenario_given_for_a_sweep_points_to_the_shipped_sweeps(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["sweep", "baseline"]) == 2
    err = err_line(capsys)
    assert "argument file: baseline is a scenario, not a sweep file" in err
    assert "shipped sweeps: loyalty_design, reward_rate" in err
    assert str(shipped_sweeps_dir() / "README.md") in err
    assert "to run the scenario itself: crmsim run baseline" in err
    assert main(["sweep", "reward_rat"]) == 2
    assert "reward_rat: unknown sweep (did you mean reward_rate?)" in err_line(capsys)
    scenario_file = shipped_scenarios_dir() / "baseline.yaml"
    assert main(["sweep", str(scenario_file), "--out", str(tmp_path / "o")]) == 2
    assert f"{scenario_file} is a scenario, not a sweep file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_python_m_crmsim_version_and_help_with_examples(tmp_path: Path) -> None:
    status, out, err = _finish(_crmsim(["--version"], tmp_path))
    assert (status, out, err) == (0, f"crmsim {crmsim.__version__}\n", "")
    status, out, err = _finish(_crmsim(["--help"], tmp_path))
    assert status == 0 and "examples:" in out and "crmsim sweep reward_rate" in out
    assert "exit status: 0 done" in out


def _parsers() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"crmsim": parser, **commands.choices}


@pytest.mark.parametrize("command", list(_parsers()))
def test_every_argument_says_what_it_is_and_its_default(command: str) -> None:
    parser = _parsers()[command]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._VersionAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            continue
        assert action.help, f"{command} {action.dest}: no help"
        assert "default" in action.help or "required" in action.help, (
            f"{command} {action.dest}: no default stated in {action.help!r}"
        )
    assert "examples:" in (parser.epilog or ""), f"{command}: no examples in --help"


def test_listings_show_null_and_fit_the_terminal(capsys: pytest.CaptureFixture) -> None:
    for args in (["list"], ["list", "--full"], ["list", "--sweeps"], ["list", "--schema"]):
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "None" not in out, args
        assert max(len(line) for line in out.splitlines()) <= 100, args
    assert main(["list", "--strategies"]) == 0
    out = capsys.readouterr().out
    assert "end_month: a whole month >= 0 or null [month]; default null." in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_list_shows_a_description_in_full(capsys: pytest.CaptureFixture) -> None:
    scenario = load_scenario("loyalty_program")
    whole = " ".join(scenario.description.split())
    assert main(["list", "loyalty_program", "reward_rate"]) == 0
    out = capsys.readouterr().out
    assert " ".join(out.split()).count(whole) == 1
    assert "firm strategies: loyalty_program" in out
    assert "reward_rate (sweep," in out
    assert main(["list", "--full"]) == 0
    assert whole in " ".join(capsys.readouterr().out.split())
    assert main(["list", "loyalty_programme"]) == 2
    assert "loyalty_programme: unknown scenario or sweep (did you mean loyalty_program?)" in (
        capsys.readouterr().err
    )


def test_tables_fit_100_columns_with_scenarios_in_the_order_given(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    scenarios = ["win_back", "baseline", "price_discount", "loyalty_program"]
    args = ["compare", *scenarios, "--replications", "2", "--workers", "1"]
    assert main([*args, "--out", str(tmp_path / "c"), *SMALL]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    headers = [line.split() for line in out.splitlines() if set(line.split()) <= set(scenarios)]
    assert [name for line in headers if line for name in line] == [*scenarios, *scenarios[1:]]
    assert "retention/month (% of customers per month)" in out
    retention = pd.read_csv(tmp_path / "c" / "comparison.csv").query("measure == 'retention_rate'")
    shown = run_measure("retention_rate").format(retention["mean"].iloc[0])
    assert shown in out and float(shown) > 1, "shares are shown in %, as crmsim run shows them"
    file = tmp_path / "tiny.yaml"
    file.write_text(SWEEP)
    assert main(["sweep", str(file), "--workers", "1", "--out", str(tmp_path / "s")]) == 0
    assert main(["run", "baseline", "--out", str(tmp_path / "r"), *SMALL]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_progress_bars_only_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["run", "baseline", "--months", "12", "--customers", "2000"]
    assert main([*args, "--out", str(tmp_path / "pipe")]) == 0
    assert capsys.readouterr().err == "", "no progress bar in a pipe or a log"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main([*args, "--out", str(tmp_path / "terminal")]) == 0
    assert "0/12 [" in capsys.readouterr().err, "a progress bar on a terminal"
    assert main([*args, "--out", str(tmp_path / "quiet"), "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_set_changes_settings_of_the_scenario_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [
        "run",
        "baseline",
        "--set",
        "firm.gross_margin=0.3",
        "--set",
        "market.expectation_start=1e-1",
    ]
    assert main([*args, "--out", str(out), *SMALL]) == 0
    written = yaml.safe_load((out / "scenario.yaml").read_text())
    assert written["firm"]["gross_margin"] == 0.3
    assert written["market"]["expectation_start"] == 0.1


def test_set_changes_every_scenario_of_a_comparison(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [
        "compare",
        "baseline",
        "loyalty_program",
        "--replications",
        "2",
        "--set",
        "firm.gross_margin=0.9",
    ]
    assert main([*args, "--out", str(out), *SMALL]) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(set(runs["scenario"])) == ["baseline", "loyalty_program"] and len(runs) == 4


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("firm.gross_margn=0.3", "firm.gross_margn: unknown setting (did you mean gross_margin?)"),
        ("firm.gross_margin=3", "firm.gross_margin: must be a share in [0, 1]; got 3"),
        ("gross_margin", "a change is written section.setting=value"),
    ],
)
def test_a_bad_set_exits_2_with_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture, change: str, expected: str
) -> None:
    out = tmp_path / "out"
    assert main(["run", "baseline", "--set", change, "--out", str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("crmsim: error:") == 1
    assert not out.exists()


def test_months_beyond_the_limit_are_refused_before_running(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "baseline", "--months", "40000"]) == 2
    assert "--months: must be a whole number in [1, 1200]; got 40000" in capsys.readouterr().err
