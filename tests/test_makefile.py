"""`make` checks its Python before it builds anything, and says how to fix it in one message.

Every test runs make on a copy of the Makefile in a temporary folder, with stand-ins
for the files its rules depend on, so the repository's own .venv is never touched.
The stand-in for Python 3.11 answers as 3.11 would and, asked to make a venv,
makes a folder: a test that finds no .venv knows none was started.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

FAKE_PYTHON_311 = """#!/bin/sh
case "$1" in
  --version) echo "Python 3.11.9" ;;
  -c) exit 1 ;;
  -m) mkdir -p "$3/bin" ;;
esac
"""


def _project(tmp_path: Path) -> Path:
    """A folder with the Makefile and empty stand-ins for the inputs of its .venv rule."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "constraints.txt").write_text("")
    fake = tmp_path / "python3.11"
    fake.write_text(FAKE_PYTHON_311)
    fake.chmod(0o755)
    return tmp_path


def _make(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _floor() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        requires = tomllib.load(f)["project"]["requires-python"]
    match = re.fullmatch(r">=\s*(\d+\.\d+)", requires.strip())
    assert match, f"cannot read the lowest Python from requires-python {requires!r}"
    return match.group(1)


def _assert_refused(result: subprocess.CompletedProcess[str], goal: str, found: str) -> None:
    floor = _floor()
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one message, got:\n{result.stderr}"
    message = lines[0]
    assert f"crmsim needs Python {floor} or newer, but PY=" in message
    assert found in message
    assert "nothing was installed" in message
    assert f"make {goal} PY=python{floor}" in message
    assert f"pyenv install {floor}" in message
    assert "conda env create -f environment.yml" in message


def test_the_makefile_floor_is_requires_python() -> None:
    text = (ROOT / "Makefile").read_text()
    match = re.search(r"^PY_FLOOR\s*:?=\s*(\S+)\s*$", text, flags=re.MULTILINE)
    assert match, "the Makefile must set PY_FLOOR (the oldest Python it builds .venv with)"
    assert match.group(1) == _floor(), (
        f"the Makefile's PY_FLOOR is {match.group(1)}, pyproject.toml requires >={_floor()}"
    )


@pytest.mark.parametrize("goal", ["venv", "test", "demo", "lab"])
def test_too_old_python_stops_before_a_venv_exists(tmp_path: Path, goal: str) -> None:
    folder = _project(tmp_path)
    result = _make(folder, goal, "PY=./python3.11")
    _assert_refused(result, goal, "PY=./python3.11 is Python 3.11.9")
    assert not (folder / ".venv").exists()


def test_a_missing_python_is_named(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    result = _make(folder, "test", "PY=no-such-python3")
    _assert_refused(result, "test", "PY=no-such-python3 is not a command that runs here")
    assert not (folder / ".venv").exists()


def test_a_real_python_311_is_refused_too(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    python = shutil.which("python3.11")
    if python is None:
        pytest.skip("no python3.11 on this machine")
    probe = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    if probe.stdout.strip() != "True":
        pytest.skip("python3.11 does not run here")
    result = _make(folder, "demo", f"PY={python}")
    _assert_refused(result, "demo", "is Python 3.11.")
    assert not (folder / ".venv").exists()


def test_a_new_enough_python_builds_quietly(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    result = _make(folder, "-n", "venv", f"PY={sys.executable}")
    assert result.returncode == 0, result.stderr
    assert f"{sys.executable} -m venv .venv || {{ rm -rf .venv; exit 1; }}" in result.stdout
    installs = [line for line in result.stdout.splitlines() if " -m pip " in line]
    assert len(installs) == 2 and all("--quiet --quiet" in line for line in installs), installs
    assert not (folder / ".venv").exists()


def test_a_working_venv_does_not_need_py(tmp_path: Path) -> None:
    # Once .venv works, the Python given as PY plays no part: an old one is no error.
    folder = _project(tmp_path)
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "python").symlink_to(sys.executable)
    earlier = (folder / "pyproject.toml").stat().st_mtime - 60
    for name in ("pyproject.toml", "requirements/constraints.txt"):
        os.utime(folder / name, (earlier, earlier))
    (folder / ".venv" / ".crmsim-installed").write_text("")
    before = sorted(p.name for p in (folder / ".venv").rglob("*"))
    result = _make(folder, "venv", "PY=./python3.11")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert sorted(p.name for p in (folder / ".venv").rglob("*")) == before


def test_a_broken_venv_is_named_and_left_alone(tmp_path: Path) -> None:
    # A .venv made earlier by Python 3.11 does not work: make says so and how to remove it.
    folder = _project(tmp_path)
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "python").symlink_to(folder / "python3.11")
    before = sorted(p.name for p in (folder / ".venv").rglob("*"))
    result = _make(folder, "test", "PY=./python3.11")
    _assert_refused(result, "test", "PY=./python3.11 is Python 3.11.9")
    assert result.stderr.rstrip().endswith(
        "The .venv here does not work: make clean removes it.  Stop."
    )
    assert sorted(p.name for p in (folder / ".venv").rglob("*")) == before
