"""The layers contract of pyproject.toml ([tool.importlinter]) holds, and can fail.

``make lint`` runs ``lint-imports``; these tests run the same contract through
import-linter (a subprocess, so it reads the package from the folder given,
not the copy this interpreter imported) on the repository and on copies of the
package with a deliberately upward import added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LINT = (
    "import sys\n"
    "from importlinter.cli import lint_imports\n"
    "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True))\n"
)


def _contract() -> dict:
    with open(PYPROJECT, "rb") as f:
        config = tomllib.load(f)["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return config | {"layers": layers}


def _lint(folder: Path) -> subprocess.CompletedProcess:
    """Run the contracts of pyproject.toml on the crmsim package inside ``folder``."""
    importlinter = pytest.importorskip(
        "importlinter", reason="import-linter is not installed (the dev extra: .[dev])"
    )
    site = Path(importlinter.__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHOME"}
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(site)])
    return subprocess.run(
        [sys.executable, "-c", LINT, str(PYPROJECT)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_with(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package with ``line`` appended to ``module`` (a path in crmsim/)."""
    shutil.copytree(
        ROOT / "crmsim", tmp_path / "crmsim", ignore=shutil.ignore_patterns("__pycache__")
    )
    file = tmp_path / "crmsim" / module
    file.write_text(file.read_text() + "\n" + line + "\n")
    return tmp_path


def test_the_package_keeps_its_layers() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "crmsim layers KEPT" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "reported"),
    [
        ("vocabulary.py", "import crmsim.cli", "crmsim.vocabulary -> crmsim.cli"),
        (
            "strategies/base.py",
            "from crmsim.engine.players import Firm",
            "crmsim.strategies.base -> crmsim.engine.players",
        ),
        (
            "config/fields.py",
            "from crmsim.config.scenario import Scenario",
            "crmsim.config.fields -> crmsim.config.scenario",
        ),
        (
            "rules/loyalty.py",
            "from crmsim.report import style",
            "crmsim.rules.loyalty -> crmsim.report",
        ),
    ],
)
def test_an_upward_import_breaks_the_contract(
    tmp_path: Path, module: str, line: str, reported: str
) -> None:
    done = _lint(_copy_with(tmp_path, module, line))
    assert done.returncode != 0, done.stdout
    assert "crmsim layers BROKEN" in done.stdout, done.stdout + done.stderr
    assert reported in done.stdout, done.stdout


def test_imports_only_for_type_checking_do_not_count(tmp_path: Path) -> None:
    line = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from crmsim.engine.model import CRMModel  # the model is above: only for annotations"
    )
    done = _lint(_copy_with(tmp_path, "vocabulary.py", line))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_module_of_the_package_has_a_layer() -> None:
    contract = _contract()
    assert contract["root_package"] == "crmsim"
    assert contract["exclude_type_checking_imports"] is True
    layered = {
        name.strip().strip("()")
        for layer in contract["layers"]["layers"]
        for name in layer.replace("|", ":").split(":")
    }
    modules = set()
    for path in (ROOT / "crmsim").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "__pycache__" in parts or parts[-1] == "__init__":
            continue
        modules.add(".".join(parts))
    unplaced = sorted(
        m for m in modules if not any(m == n or m.startswith(n + ".") for n in layered)
    )
    assert not unplaced, (
        f"modules in no layer of the [tool.importlinter] layers contract: {unplaced}; "
        "add each where it belongs in pyproject.toml"
    )


def _import_circles(package: str) -> list[str]:
    """Chains by which a module of ``package`` imports itself back at run time."""
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (.[dev])")
    graph = grimp.build_graph(package, exclude_type_checking_imports=True, cache_dir=None)
    circles = []
    for module in sorted(graph.modules):
        if module == package:
            continue  # the package's front door re-exports from below; nothing imports it
        for imported in graph.find_modules_directly_imported_by(module):
            if imported == package or imported.startswith(module + "."):
                continue  # a package importing its own submodules is not a circle
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain and package not in chain:
                circles.append(" -> ".join((module, *chain)))
    return circles


def test_no_module_imports_itself_back_at_run_time() -> None:
    """No import circle in crmsim (imports only for type annotations aside)."""
    assert _import_circles("crmsim") == []


def test_an_import_circle_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "circular"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from circular import b\n")
    (package / "b.py").write_text("from circular import c\n")
    (package / "c.py").write_text("import circular.a\n")
    (package / "d.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import circular.e\n"
    )
    (package / "e.py").write_text("import circular.d\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    circles = _import_circles("circular")
    assert "circular.a -> circular.b -> circular.c -> circular.a" in circles
    assert not any("circular.d" in c or "circular.e" in c for c in circles)
