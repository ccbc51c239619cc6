"""What the package ships and what stays in the repository (quick checks, no build).

tests/test_wheel.py builds and installs the wheel; these tests read pyproject.toml
and run the package from a copy, so they catch the same mistakes in seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setuptools() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]


def _env_without_pythonpath() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    return env


def test_every_package_folder_is_shipped_and_nothing_else():
    listed = set(_setuptools()["packages"])
    mapped = _setuptools().get("package-dir", {})
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "crmsim").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    missing = sorted(folders - listed)
    assert not missing, (
        f"package folders missing from [tool.setuptools] packages in pyproject.toml: {missing} "
        "(the wheel would leave them out)"
    )
    unknown = sorted(listed - folders - set(mapped))
    assert not unknown, f"[tool.setuptools] packages lists packages with no folder: {unknown}"
    outside = sorted(p for p in listed if p.split(".")[0] != "crmsim")
    assert not outside, f"only crmsim is shipped; pyproject.toml also packages {outside}"


def test_lessons_are_mapped_into_the_package_from_notebooks():
    setuptools = _setuptools()
    assert setuptools["package-dir"]["crmsim.notebooks"] == "notebooks"
    assert setuptools["package-data"]["crmsim.notebooks"] == ["*.ipynb"]
    assert sorted((ROOT / "notebooks").glob("*.ipynb")), "notebooks/ holds no lessons"


def test_license_is_mit_and_declared():
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 crmsim contributors" in text


def test_bench_finds_the_benchmarks_of_a_checkout_not_on_sys_path(tmp_path: Path):
    # As the `crmsim` script of an editable install runs it: crmsim importable,
    # the repository root not on sys.path, the working folder elsewhere.
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import crmsim.cli
sys.path.remove({str(ROOT)!r})
try:
    crmsim.cli.main(["bench", "--", "--help"])
except SystemExit as done:
    status = done.code
print("benchmarks from", sys.modules["benchmarks"].__file__)
sys.exit(status)
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_env_without_pythonpath(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: python -m benchmarks.run" in done.stdout
    assert f"benchmarks from {ROOT / 'benchmarks' / '__init__.py'}" in done.stdout


def test_bench_without_the_repository_exits_2_and_says_where_benchmarks_are(tmp_path: Path):
    # The package alone, as an installed wheel has it: no benchmarks/ beside it.
    site = tmp_path / "site"
    shutil.copytree(ROOT / "crmsim", site / "crmsim", ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    env = _env_without_pythonpath() | {"PYTHONPATH": str(site)}
    code = "import sys, crmsim.cli; sys.exit(crmsim.cli.main(['bench', '--quick']))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "benchmarks" in lines[0] and "python -m benchmarks.run" in lines[0]
    assert "from a checkout" in lines[0]
