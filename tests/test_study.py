"""The study layer's parts: scipy intervals, the atomic writer, optional Dask, sweep checks."""

from __future__ import annotations

import inspect
import math
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from crmsim import study
from crmsim.study import stats


def textbook_mean_interval(values: np.ndarray, level: float) -> tuple[float, float, float, float]:
    n = values.size
    mean = values.mean()
    se = values.std(ddof=1) / np.sqrt(n)
    half = scipy_stats.t.ppf(0.5 + level / 2, n - 1) * se
    return (mean - half, mean, mean + half, se)


def textbook_welch_interval(a: np.ndarray, b: np.ndarray, level: float) -> tuple[float, float]:
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = scipy_stats.t.ppf(0.5 + level / 2, dof) * math.sqrt(va + vb)
    diff = a.mean() - b.mean()
    return (diff - half, diff + half)


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_intervals_agree_with_the_textbook_formulas(level: float) -> None:
    rng = np.random.default_rng(4)
    for _ in range(50):
        n = int(rng.integers(2, 30))
        a = rng.normal(rng.uniform(-1e5, 1e5), rng.uniform(0.1, 1e4), n)
        b = a + rng.normal(rng.uniform(-50, 50), rng.uniform(0.1, 100), n)
        c = rng.normal(0.0, rng.uniform(0.1, 10), int(rng.integers(2, 30)))
        close = {"rel": 1e-12, "abs": 1e-9}
        assert stats.mean_confidence_interval(a, level) == pytest.approx(
            textbook_mean_interval(a, level), **close
        )
        assert stats.paired_interval(b, a, level) == pytest.approx(
            textbook_mean_interval(b - a, level), **close
        )
        assert stats.welch_interval(a, c, level) == pytest.approx(
            textbook_welch_interval(a, c, level), **close
        )


def test_intervals_at_the_edges() -> None:
    nan = pytest.approx((np.nan,) * 4, nan_ok=True)
    assert stats.mean_confidence_interval(np.array([])) == nan
    assert stats.mean_confidence_interval(np.array([np.nan, np.inf])) == nan
    assert stats.mean_confidence_interval(np.array([3.0, np.nan])) == pytest.approx(
        (np.nan, 3.0, np.nan, np.nan), nan_ok=True
    )
    assert stats.mean_confidence_interval(np.array([2.0, 2.0, 2.0])) == (2.0, 2.0, 2.0, 0.0)
    # A strategy that changes nothing yet: every paired difference is exactly 0.
    same = np.array([5.0, 7.0, 9.0])
    assert stats.paired_interval(same, same) == (0.0, 0.0, 0.0, 0.0)
    assert stats.paired_interval(np.array([1.0, np.nan, 3.0]), np.array([0.0, 1.0, 1.0]))[
        1
    ] == pytest.approx(1.5)
    assert stats.welch_interval(np.array([1.0]), np.array([1.0, 2.0])) == pytest.approx(
        (np.nan, np.nan), nan_ok=True
    )
    assert stats.welch_interval(np.array([4.0, 4.0]), np.array([1.0, 1.0, 1.0])) == (3.0, 3.0)


def test_nearly_identical_replications_give_a_narrow_interval_quietly() -> None:
    values = np.array([0.1, 0.1, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, mean, high, _ = stats.mean_confidence_interval(values)
        welch = stats.welch_interval(values, np.array([0.0, 1.0, 2.0]))
    assert low == pytest.approx(0.1) and mean == pytest.approx(0.1) and high == pytest.approx(0.1)
    assert all(np.isfinite(welch))


def test_the_package_exposes_the_functions_not_the_same_named_modules() -> None:
    for name in ("compare", "sweep", "sensitivity"):
        assert inspect.isfunction(getattr(study, name)), name
    assert set(study.__all__) <= set(dir(study))


def test_a_serial_study_needs_neither_dask_nor_the_layers_above() -> None:
    code = (
        "import sys\n"
        "from crmsim import study\n"
        "runs = study.study_runs(['baseline'], None, 2, 1, 3, 300)\n"
        "study.run_study(runs, workers=1, progress=False)\n"
        "loaded = {m.split('.')[0] for m in sys.modules} | set(sys.modules)\n"
        "print(sorted(loaded & {'dask', 'distributed', 'crmsim.cli', 'crmsim.plots',"
        " 'crmsim.widgets', 'crmsim.report'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"


def test_a_scheduler_without_dask_installed_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with pytest.raises(study.StudyError, match=r"pip install 'crmsim\[dask\]'"):
        study.make_executor(scheduler="tcp://127.0.0.1:9")


def _normal_file_mode(folder: Path) -> int:
    plain = folder / "plain.txt"
    plain.write_text("x")
    return plain.stat().st_mode


def test_the_atomic_writer_writes_text_frames_and_figures(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    study.write_text_atomically(tmp_path / "deep" / "a.txt", "hello")
    assert (tmp_path / "deep" / "a.txt").read_text() == "hello"
    frame = pd.DataFrame({"x": [1, 2], "y": [0.5, np.nan]})
    study.write_frame_atomically(tmp_path / "f.csv", frame)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "f.csv"), frame)
    figure = plt.figure()
    study.save_figure_atomically(tmp_path / "g.png", figure)
    plt.close(figure)
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Output files get the permissions of any file the user creates, not a private 0600.
    mode = _normal_file_mode(tmp_path)
    for name in ("deep/a.txt", "f.csv", "g.png"):
        assert (tmp_path / name).stat().st_mode == mode, name


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "figure.png"
    target.write_bytes(b"old")

    class Failing:
        def savefig(self, path: Path, dpi: int) -> None:
            Path(path).write_bytes(b"half")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        study.save_figure_atomically(target, Failing())
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["figure.png"]


def test_an_atomic_folder_moves_everything_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier")
    (out / "table.csv").write_text("old table")
    with pytest.raises(RuntimeError), study.atomic_folder(out) as folder:
        (folder / "table.csv").write_text("new table")
        raise RuntimeError("figure failed")
    assert (out / "table.csv").read_text() == "old table"
    assert sorted(os.listdir(tmp_path)) == ["out"], "the temporary folder is removed"
    with study.atomic_folder(out) as folder:
        (folder / "table.csv").write_text("new table")
        (folder / "figure.png").write_text("png")
    assert sorted(os.listdir(out)) == ["figure.png", "keep.txt", "table.csv"]
    assert (out / "table.csv").read_text() == "new table"
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_an_interrupt_while_a_folder_is_committed_waits_until_every_file_is_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    renamed: list[str] = []

    def rename_after_a_real_ctrl_c(source: str, destination: str) -> None:
        if not renamed:
            os.kill(os.getpid(), signal.SIGINT)
        renamed.append(Path(destination).name)
        os.rename(source, destination)

    monkeypatch.setattr("crmsim.study.store.os.replace", rename_after_a_real_ctrl_c)
    with pytest.raises(KeyboardInterrupt), study.atomic_folder(out) as folder:
        for name in ("a.csv", "b.csv", "c.png"):
            (folder / name).write_text(name)
    assert sorted(renamed) == ["a.csv", "b.csv", "c.png"]
    assert sorted(os.listdir(out)) == ["a.csv", "b.csv", "c.png"]
    assert sorted(os.listdir(tmp_path)) == ["out"]


def _runs_in(folder: Path, *keys: str) -> None:
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    for key in keys:
        (folder / "runs" / f"{key}.json").write_text("{}")


def test_an_output_folder_takes_only_its_own_study(tmp_path: Path) -> None:
    files = ("runs.csv", "summary.csv")
    new = study.OutputFolder(tmp_path / "new", files)
    new.claim(["a", "b"])
    assert (tmp_path / "new").is_dir() and new.claimed
    # The study's own folder, part done: resumed; with more runs: extended.
    _runs_in(tmp_path / "own", "a")
    (tmp_path / "own" / "runs.csv").write_text("tables of a")
    (tmp_path / "own" / ".DS_Store").write_text("hidden names are never results")
    leftover = tmp_path / "own" / "runs" / ".b.json.0123456789ab.tmp.json"
    leftover.write_text("half a run, left by a killed writer")
    study.OutputFolder(tmp_path / "own", files).claim(["a", "b", "c"])
    assert not leftover.exists()
    refusals = {
        "other files": ("notes.txt", None, "holds files this command does not write (notes.txt)"),
        "another study": (None, ("a", "z"), "holds 1 stored run(s) of a different study"),
        "tables only": ("runs.csv", None, "holds results (runs.csv) without the stored runs"),
    }
    for name, (file, stored, problem) in refusals.items():
        folder = tmp_path / name
        folder.mkdir()
        if file:
            (folder / file).write_text("x")
        if stored:
            _runs_in(folder, *stored)
        with pytest.raises(study.OutputError) as refused:
            study.OutputFolder(folder, files, hint="try elsewhere").claim(["a", "b"])
        message = str(refused.value)
        assert message.startswith(f"{folder}: {problem}") and message.endswith("; try elsewhere")
        forced = study.OutputFolder(folder, files, force=True)
        forced.claim(["a", "b"])
        forced.settle()
        assert forced.store.keys() <= {"a", "b"}, name
        assert not file or (folder / file).exists(), "--force removes no file of another name"
    # A command that stores no runs takes only a new or empty folder.
    study.OutputFolder(tmp_path / "empty", files).claim()
    (tmp_path / "empty" / "runs.csv").write_text("tables")
    with pytest.raises(study.OutputError, match="already holds results \\(runs.csv\\)"):
        study.OutputFolder(tmp_path / "empty", files).claim()


def test_an_output_folder_in_the_way_of_a_file_is_refused_at_once(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(study.OutputError, match="is a file, not a folder"):
        study.OutputFolder(tmp_path / "file", ["a.csv"])
    with pytest.raises(study.OutputError, match="is under .*file, which is a file"):
        study.OutputFolder(tmp_path / "file" / "deeper" / "out", ["a.csv"])


def _sweep_file(tmp_path: Path, extra: str) -> Path:
    file = tmp_path / "study.yaml"
    file.write_text("scenarios: [baseline]\nparameters: {firm.gross_margin: [0.3]}\n" + extra)
    return file


def test_sweep_numbers_are_checked_like_scenario_settings(tmp_path: Path) -> None:
    spec = study.load_sweep(_sweep_file(tmp_path, "replications: 4.0\nseed: null\nmonths: 12\n"))
    assert spec.replications == 4 and isinstance(spec.replications, int)
    assert spec.seed == 2026 and spec.months == 12 and spec.customers is None
    for extra, expected in (
        ("months: 1.5\n", "months: must be a whole number in [1, 1200]; got 1.5"),
        ("seed: -3\n", "seed: must be a whole number >= 0; got -3"),
        ("customers: many\n", "customers: must be a whole number in [1, 10_000_000]; got str"),
        ("replicatons: 3\n", "replicatons: unknown field (did you mean replications?)"),
    ):
        with pytest.raises(study.StudyError) as caught:
            study.load_sweep(_sweep_file(tmp_path, extra))
        assert expected in str(caught.value) and "study.yaml" in str(caught.value)


def test_a_study_too_large_to_hold_is_refused_before_it_runs() -> None:
    from crmsim.study import MAX_REPLICATIONS, MAX_RUNS, StudyError, study_runs

    with pytest.raises(StudyError, match=f"at most {MAX_REPLICATIONS:_}; got 1_000_000_000"):
        study_runs(["baseline"], replications=1_000_000_000)
    grid = {"firm.gross_margin": [0.3 + i * 1e-4 for i in range(2_000)]}
    with pytest.raises(StudyError, match=f"at most {MAX_RUNS:_} runs"):
        study_runs(["baseline", "win_back"], grid=grid, replications=100)
