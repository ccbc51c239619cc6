"""The lessons keep their shape: a glossary link in the first cell, the map of the course and
the README list every lesson, and the lessons that check the student keep their code light,
their solutions folded and their outputs committed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GLOSSARY = "../docs/glossary.md"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"])


def _lines(cell: dict) -> int:
    return sum(1 for line in _text(cell).splitlines() if line.strip())


STUDENT_CHECKED = [p for p in NOTEBOOKS if any("Prediction." in _text(c) for c in _cells(p))]


def test_the_lessons_are_there() -> None:
    names = {p.stem for p in NOTEBOOKS}
    assert {
        "00_start_here",
        "02_clv_and_customer_equity",
        "04_loyalty_programmes_and_bonds",
    } <= names
    assert {p.stem for p in STUDENT_CHECKED} >= {
        "00_start_here",
        "01_customer_lifecycle",
        "02_clv_and_customer_equity",
        "03_acquisition_vs_retention",
        "04_loyalty_programmes_and_bonds",
        "05_firing_marginal_customers",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lesson_links_to_the_glossary_from_its_first_cell(path: Path) -> None:
    first = _cells(path)[0]
    assert first["cell_type"] == "markdown" and f"]({GLOSSARY})" in _text(first)
    assert (path.parent / GLOSSARY).resolve().is_file()


def test_the_map_of_the_course_and_the_readme_list_every_lesson() -> None:
    course_map = next(
        _text(c)
        for c in _cells(ROOT / "notebooks" / "00_start_here.ipynb")
        if "The map of the course" in _text(c)
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lessons = readme[readme.index("## Lessons") : readme.index("## The model in one month")]
    for path in NOTEBOOKS:
        number = path.stem[:2]
        row = re.search(rf"^\| {number} \|.*\| (ready|this lesson) \|$", course_map, re.M)
        assert row, f"lesson {number} is not marked ready in the map of lesson 00"
        assert f"`{path.name}`" in lessons, f"{path.name} is missing from the README's Lessons"


@pytest.mark.parametrize("path", STUDENT_CHECKED, ids=lambda p: p.stem)
def test_a_lesson_that_checks_the_student_keeps_its_shape(path: Path) -> None:
    cells = _cells(path)
    first = _text(cells[0])
    assert first.startswith("# ") and "Run All Cells" in first  # how to make the sliders live
    prose = sum(_lines(c) for c in cells if c["cell_type"] == "markdown")
    code_cells = [c for c in cells if c["cell_type"] == "code"]
    code = sum(_lines(c) for c in code_cells)
    assert prose >= 2 * code, f"{code} lines of code for {prose} of prose"
    headings = [
        line
        for c in cells
        if c["cell_type"] == "markdown"
        for line in _text(c).splitlines()
        if line.startswith("## ")
    ]
    for part in (
        "## Learning goals",
        "## The idea",
        "## The model",
        "## Experiments",
        "## What does it mean?",
        "## Exercises",
        "## Solutions",
        "## Next",
    ):
        assert any(h == part or h.startswith(part + ":") for h in headings), part
    assert all(c["execution_count"] is not None for c in code_cells), "commit it executed"
    assert not any(re.search(r"^\s*assert ", _text(c), re.M) for c in code_cells)
    assert any("check(" in _text(c) for c in code_cells)
    after = cells[next(k for k, c in enumerate(cells) if "## Solutions" in _text(c)) :]
    assert all(
        c["metadata"].get("jupyter", {}).get("source_hidden")
        for c in after
        if c["cell_type"] == "code"
    ), "solution code is folded"
    figures = {
        int(n)
        for c in cells
        if c["cell_type"] == "markdown"
        for n in re.findall(r"\*\*Figure (\d+)\.\*\*", _text(c))
    }
    assert figures == set(range(1, len(figures) + 1)), "figures are numbered 1, 2, ..."
