"""Keep the ways of installing crmsim consistent with each other.

pyproject.toml is the source of truth for dependencies. environment.yml (conda),
requirements/constraints.txt (pins used by ``make venv``), ``.python-version``,
the Makefile and ``.ci/run`` must agree with it; these tests fail when they drift.
"""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

# Optional-dependency groups of pyproject.toml that environment.yml must carry:
# the Makefile's EXTRAS (test_conda_and_make_install_the_same_extras checks it).
EXTRAS = ("lab", "test", "dev", "dask", "app")
# Extras that the conda environment must install through the pip entry.
PIP_EXTRAS = {"lab", "test"}
# Packages that an extra of a dependency pulls in and that conda lists by name.
EXTRA_PACKAGES = {("mesa", "network"): ("networkx",), ("dask", "distributed"): ("distributed",)}


def _name(name: str) -> str:
    """Normalise a package name: lower case, ``_``/``.`` -> ``-``."""
    return canonicalize_name(name)


def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _requirements() -> list[Requirement]:
    """Runtime dependencies plus the lab/test/dev extras, as declared in pyproject."""
    project = _pyproject()["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def _implied_packages() -> set[str]:
    """Packages that must be present because of extras such as ``mesa[network]``."""
    implied = set()
    for req in _requirements():
        for extra in req.extras:
            key = (_name(req.name), extra)
            assert key in EXTRA_PACKAGES, (
                f"{req}: extra {extra!r} is not mapped to conda packages; "
                "add it to EXTRA_PACKAGES in tests/test_environment.py"
            )
            implied.update(EXTRA_PACKAGES[key])
    return implied


def _environment() -> dict:
    with open(ROOT / "environment.yml") as f:
        return yaml.safe_load(f)


def _conda_specs() -> tuple[dict[str, SpecifierSet], str | None, list[str]]:
    """Split environment.yml dependencies into (conda specs, python pin, pip entries)."""
    specs: dict[str, SpecifierSet] = {}
    python = None
    pip_entries: list[str] = []
    for dep in _environment()["dependencies"]:
        if isinstance(dep, dict):
            pip_entries += dep.get("pip", [])
            continue
        dep = str(dep).strip()
        match = re.fullmatch(r"python\s*=?=\s*(\S+)", dep)
        if match:
            python = match.group(1)
            continue
        try:
            req = Requirement(dep)
        except InvalidRequirement:
            pytest.fail(f"environment.yml: cannot parse conda spec {dep!r}")
        name = _name(req.name)
        assert name not in specs, f"environment.yml lists {name} twice"
        specs[name] = req.specifier
    return specs, python, pip_entries


def _minor(version: str) -> str:
    return ".".join(version.strip().split(".")[:2])


def _requires_python_floor() -> str:
    spec = SpecifierSet(_pyproject()["project"]["requires-python"])
    floors = [s.version for s in spec if s.operator in (">=", "~=", "==")]
    assert len(floors) == 1, f"cannot find the lower bound of requires-python {spec}"
    return _minor(floors[0])


def _python_version_file() -> str:
    return (ROOT / ".python-version").read_text().split()[0]


def test_environment_yml_matches_pyproject_dependencies():
    specs, _, _ = _conda_specs()
    for req in _requirements():
        name = _name(req.name)
        assert name in specs, f"{req} (pyproject.toml) is missing from environment.yml"
        assert specs[name] == req.specifier, (
            f"{name}: environment.yml has {str(specs[name]) or 'no version'!r}, "
            f"pyproject.toml has {str(req.specifier) or 'no version'!r}"
        )


def test_environment_yml_has_packages_implied_by_extras():
    specs, _, _ = _conda_specs()
    for name in _implied_packages():
        assert name in specs, (
            f"{name} (needed by an extra in pyproject.toml) is not in environment.yml"
        )


def test_environment_yml_has_nothing_pyproject_does_not_declare():
    specs, _, _ = _conda_specs()
    declared = {_name(r.name) for r in _requirements()} | _implied_packages() | {"pip"}
    extra = sorted(set(specs) - declared)
    assert not extra, f"environment.yml lists packages pyproject.toml does not declare: {extra}"


def test_environment_yml_pins_the_project_python():
    _, python, _ = _conda_specs()
    assert python is not None, "environment.yml must pin python"
    floor = _requires_python_floor()
    assert _minor(python) == floor, (
        f"environment.yml has python={python}, requires-python floor is {floor}"
    )
    assert _minor(_python_version_file()) == floor, (
        f".python-version says {_python_version_file()}, requires-python floor is {floor}"
    )


def test_environment_yml_installs_the_project_with_pip():
    deps = _environment()["dependencies"]
    assert "pip" in deps, "environment.yml must list pip before its pip: section"
    assert isinstance(deps[-1], dict) and "pip" in deps[-1], "the last entry must be pip:"
    entry = deps[-1]["pip"][-1]
    match = re.fullmatch(r"-e\s+\.\[([\w,\s-]*)\]", entry.strip())
    assert match, f"the final pip entry must be '-e .[lab,test]', found {entry!r}"
    extras = {e.strip() for e in match.group(1).split(",")}
    assert PIP_EXTRAS <= extras, f"pip entry {entry!r} must include the extras {PIP_EXTRAS}"


def _pip_entry_extras() -> set[str]:
    """The extras of environment.yml's final ``-e .[...]`` pip entry."""
    entry = _environment()["dependencies"][-1]["pip"][-1]
    match = re.fullmatch(r"-e\s+\.\[([\w,\s-]*)\]", entry.strip())
    assert match, f"the final pip entry must be '-e .[extras]', found {entry!r}"
    return {e.strip() for e in match.group(1).split(",") if e.strip()}


def _makefile_extras() -> set[str]:
    """The extras ``make venv`` installs (``EXTRAS := ...`` in the Makefile)."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(r"^EXTRAS\s*:?=\s*(.*)$", text, flags=re.MULTILINE)
    assert match, "the Makefile must set EXTRAS (the extras `make venv` installs)"
    return {e.strip() for e in match.group(1).split(",") if e.strip()}


def test_conda_and_make_install_the_same_extras():
    make, conda = _makefile_extras(), _pip_entry_extras()
    assert conda == make, (
        f"environment.yml installs .[{','.join(sorted(conda))}], the Makefile's EXTRAS are "
        f"{','.join(sorted(make))}: they must be the same extras"
    )
    declared = set(_pyproject()["project"]["optional-dependencies"])
    assert make <= declared, (
        f"the Makefile's EXTRAS name extras pyproject.toml does not declare: "
        f"{sorted(make - declared)}; declared: {sorted(declared)}"
    )
    assert set(EXTRAS) == make, (
        f"tests/test_environment.py checks the conda packages of the extras {sorted(EXTRAS)}, "
        f"but environment.yml and the Makefile install {sorted(make)}: update EXTRAS"
    )


def test_constraints_header_names_the_makefile_extras():
    first = (ROOT / "requirements" / "constraints.txt").read_text().splitlines()[0]
    match = re.search(r"\.\[([\w,-]*)\]", first)
    assert match, f"constraints.txt must say which extras it pins in its first line: {first!r}"
    pinned = {e for e in match.group(1).split(",") if e}
    assert pinned == _makefile_extras(), (
        f"constraints.txt pins .[{match.group(1)}], the Makefile installs "
        f"{','.join(sorted(_makefile_extras()))} (run make lock)"
    )


def _constraints() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        assert not line.startswith("-e") and "file://" not in line, (
            f"constraints.txt must not contain local or editable entries: {line!r}"
        )
        name, sep, version = line.partition("==")
        assert sep, f"constraints.txt entries must be exact pins (name==version): {line!r}"
        pins[_name(name)] = Version(version.strip())
    return pins


def test_constraints_pin_every_declared_dependency():
    pins = _constraints()
    for req in _requirements():
        name = _name(req.name)
        assert name in pins, f"{name} is not pinned in requirements/constraints.txt (run make lock)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside {req.specifier} (run make lock)"
        )
    for name in _implied_packages():
        assert name in pins, f"{name} is not pinned in requirements/constraints.txt (run make lock)"


def test_python_version_file_is_312():
    assert _minor(_python_version_file()) == "3.12"


def _make_recipe(target: str) -> str:
    """The recipe of a Makefile target, with line continuations joined."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(
        (i for i, line in enumerate(lines) if re.match(rf"{re.escape(target)}\s*:(?!=)", line)),
        None,
    )
    assert start is not None, f"Makefile has no {target!r} target"
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return " ".join(recipe).replace("\\ ", " ")


def test_ci_runs_the_readme_test_command():
    script = ROOT / ".ci" / "run"
    commands = [
        line.strip()
        for line in script.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert "make test" in commands, ".ci/run must run `make test`"
    assert script.stat().st_mode & 0o111, ".ci/run must be executable"


def test_make_test_runs_pytest_on_tests_and_notebooks():
    recipe = _make_recipe("test")
    assert "-m pytest" in recipe, recipe
    assert "--nbval" in recipe.split(), recipe
    words = recipe.split()
    assert "tests" in words and "notebooks" in words, recipe
