"""The crmsim command: run, compare and list, and how it fails on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
import yaml

from crmsim.cli import main
from crmsim.config.scenario import shipped_scenarios_dir

matplotlib.use("Agg")

SMALL = ["--months", "12", "--customers", "2000", "--no-progress"]


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
    assert summary["seed"] == 3 and summary["months"] == 12 and summary["market_size"] == 2000
    customers = pd.read_csv(out / "customers.csv")
    assert len(customers) == summary["customers_ever"]
    assert (out / "figure.png").stat().st_size > 10_000
    assert "mean realised CLV" in capsys.readouterr().out


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
    assert set(defined["measure"]) >= {"mean_clv", "customer_equity", "retention_rate"}
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
        ["compare", "baseline", "loyalty_program", "--replications", "1"],
        ["compare", "baseline", "baseline"],
    ],
)
def test_impossible_options_exit_2(args: list[str], tmp_path: Path) -> None:
    try:
        status = main([*args, "--out", str(tmp_path / "x")])
    except SystemExit as exit_:  # argparse rejects the value itself
        status = exit_.code
    assert status == 2
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
    assert {"strategies.loyalty_program.reward_rate", "mean_clv"} <= set(runs.columns)
    for name in ("summary.csv", "monthly.csv", "sweep.png", "heatmap.png"):
        assert (out / name).exists(), name
    stored = sorted(p.name for p in (out / "runs").iterdir())
    assert len(stored) == 8
    modified = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    assert "8 runs" in capsys.readouterr().out
    # Running it again computes nothing new and gives the same table.
    assert main(args) == 0
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
    with pytest.raises(SystemExit):
        main(["compare", "baseline", "loyalty_program", "--replications", "two"])
    err = capsys.readouterr().err
    assert "--replications: must be a whole number >= 1; got str 'two'" in err
    with pytest.raises(SystemExit):
        main(["run", "baseline", "--seed", "-1"])
    assert "--seed: must be a whole number >= 0; got -1" in capsys.readouterr().err


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
    with pytest.raises(SystemExit) as exit_:
        main(["run", "baseline", "--months", "40000"])
    assert exit_.value.code == 2
    assert "--months: must be a whole number in [1, 1200]; got 40000" in capsys.readouterr().err
