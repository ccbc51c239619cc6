"""The wheel: built from this repository, installed in a fresh venv, used from elsewhere.

The wheel is built from a copy of the repository (so a stale ``build/`` folder of
the checkout cannot leak into it) with pip's isolated build, which needs setuptools
from the pip cache or PyPI. The fresh venv installs it with the pinned
dependencies (``-c requirements/constraints.txt``) and no extras: the commands
below must work without Dask, the benchmarks or the repository. Building and
installing take about a minute; the commands run in a folder outside the
repository with ``PYTHONPATH`` unset, so only the installed copy can answer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
SMALL = ["--customers", "2000", "--months", "12", "--no-progress"]
# Not copied into the build: version control, environments and generated files.
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "out",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    ".ipynb_checkpoints",
)


def _run(args: list[str | Path], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, (
        f"{' '.join(done.args)} exited with {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "crmsim"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    dist = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _ok(_run([*pip, "wheel", "--no-deps", "-w", dist, source], cwd=dist))
    wheels = sorted(dist.glob("crmsim-*.whl"))
    assert len(wheels) == 1, f"expected one crmsim wheel in {dist}, found {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("venv") / "venv"
    _ok(_run([sys.executable, "-m", "venv", folder], cwd=folder.parent))
    python = folder / "bin" / "python"
    pip = [python, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _ok(_run([*pip, "install", wheel, "-c", CONSTRAINTS], cwd=folder.parent, timeout=900))
    return folder


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working folder outside the repository."""
    work = tmp_path / "work"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)
    return work


def test_wheel_ships_the_package_its_data_and_the_license_only(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        path.relative_to(ROOT).as_posix()
        for folder in ("scenarios", "sweeps")
        for path in (ROOT / "crmsim" / folder).iterdir()
        if path.suffix in (".yaml", ".md")
    }
    expected |= {f"crmsim/notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    expected |= {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "crmsim").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert "crmsim/scenarios/baseline.yaml" in expected
    assert "crmsim/sweeps/reward_rate.yaml" in expected
    missing = sorted(expected - names)
    assert not missing, f"{wheel.name} lacks {missing}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"crmsim"}, f"{wheel.name} ships more than crmsim: {sorted(tops)}"
    assert not any(n.startswith("benchmarks/") for n in names)


def test_installed_wheel_lists_runs_and_compares_from_elsewhere(
    venv: Path, elsewhere: Path
) -> None:
    crmsim = venv / "bin" / "crmsim"
    listed = _ok(_run([crmsim, "list"], cwd=elsewhere)).stdout.splitlines()
    shipped = sorted(p.stem for p in (ROOT / "crmsim" / "scenarios").glob("*.yaml"))
    assert [line.split()[0] for line in listed] == shipped

    out = elsewhere / "run_out"
    _ok(_run([crmsim, "run", "baseline", *SMALL, "--out", out], cwd=elsewhere))
    for name in ("monthly.csv", "customers.csv", "summary.json", "scenario.yaml", "figure.png"):
        assert (out / name).is_file(), f"crmsim run wrote no {name}"
    assert json.loads((out / "summary.json").read_text())["scenario"] == "baseline"

    out2 = elsewhere / "compare_out"
    args = ["compare", "baseline", "loyalty_program", "--replications", "2", "--workers", "1"]
    _ok(_run([crmsim, *args, *SMALL, "--out", out2], cwd=elsewhere))
    for name in (
        "comparison.csv",
        "runs.csv",
        "monthly.csv",
        "differences.csv",
        "comparison.png",
        "differences.png",
    ):
        assert (out2 / name).is_file(), f"crmsim compare wrote no {name}"


def test_installed_wheel_is_what_runs_and_has_no_benchmarks(venv: Path, elsewhere: Path) -> None:
    python = venv / "bin" / "python"
    where = _ok(_run([python, "-c", "import crmsim; print(crmsim.__file__)"], cwd=elsewhere))
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    done = _run([python, "-c", "import benchmarks"], cwd=elsewhere)
    assert done.returncode != 0 and "No module named 'benchmarks'" in done.stderr, done.stderr
    dask = _run([python, "-c", "import distributed"], cwd=elsewhere)
    assert dask.returncode != 0, "Dask is an extra (crmsim[dask]), not a dependency"
    bench = _run([venv / "bin" / "crmsim", "bench", "--quick"], cwd=elsewhere)
    assert bench.returncode == 2, (bench.stdout, bench.stderr)
    assert "python -m benchmarks.run" in bench.stderr and "checkout" in bench.stderr


def test_installed_wheel_reads_its_shipped_files_as_package_resources(
    venv: Path, elsewhere: Path
) -> None:
    code = (
        "from importlib.resources import files\n"
        "root = files('crmsim')\n"
        "for folder in ('scenarios', 'sweeps', 'notebooks'):\n"
        "    print(folder, sorted(p.name for p in (root / folder).iterdir()))\n"
        "from crmsim.config.scenario import resolve_sweep_path\n"
        "print('sweep', resolve_sweep_path('reward_rate'))\n"
    )
    done = _ok(_run([venv / "bin" / "python", "-c", code], cwd=elsewhere))
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert "'baseline.yaml'" in lines["scenarios"] and "'README.md'" in lines["scenarios"]
    assert "'reward_rate.yaml'" in lines["sweeps"]
    assert "'01_customer_lifecycle.ipynb'" in lines["notebooks"]
    assert Path(lines["sweep"]).is_relative_to(venv)
