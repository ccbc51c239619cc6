"""The course covers every concept: the README's concept-coverage table, checked.

Each row of the table names a concept of the course, the lesson and section
that teach it, and where it lives in the model (a module, a setting or a
strategy's parameter). The test fails when a concept of the course has no
row, when a row points at a lesson section that does not exist, or when it
names a module, setting or parameter the lab does not have.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from crmsim.config.schema import SCHEMA
from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

CONCEPTS: tuple[str, ...] = (
    "The relationship lifecycle: acquisition, retention, reacquisition",
    "The funnel and conversion rates",
    "Acquisition stages: enquiring, interacting, exchange, use",
    "Look-alike targeting versus mass marketing",
    "Reducing fear, uncertainty and doubt",
    "Reaching the influencers",
    "Acquiring costs more than keeping",
    "Word of mouth and referrals",
    "The loyalty ladder",
    "Customers and clients",
    "Long-term customers are worth more",
    "Satisfaction = delivered value - expectation; rising expectations",
    "The four retention bonds",
    "Loyalty programmes: frequency and club (open, affinity, fee-based)",
    "The 80/20 rule",
    "Cross-selling, up-selling and share of wallet",
    "Permission marketing and event-based marketing",
    "Service elements before, during and after the transaction; the call centre",
    "Churn and churn reduction",
    "Defection analysis: the retention rate first",
    "Defector types",
    "Losing a customer loses the whole stream",
    "Customers in jeopardy",
    "The longer gone, the less likely to return",
    "Poor service: frequent and recoverable",
    "Customer lifetime value",
    "Customer equity and the value of the customer base",
    "The five CRM strategies",
    "Marginal customers: terminate or make profitable",
    "A base of only high-value customers is exposed",
    "Strategically significant customers",
    "Customer relationship capital and the customer base",
    "Cohort survival",
    "Cost per acquisition versus cost per retained customer",
    "Reacquisition rate",
    "One-to-one marketing in four steps",
)
"""The concepts of the course (docs: README, "Concept coverage")."""


def _table() -> list[tuple[str, str, str, str]]:
    text = (ROOT / "README.md").read_text()
    start = text.index("### Concept coverage")
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("#"):
            break
        if not line.startswith("| ") or line.startswith("| concept") or set(line) <= set("|- "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 4, line
        rows.append(tuple(cells))
    return rows


def _headings(notebook: Path) -> set[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return {
        line.lstrip("#").strip()
        for cell in cells
        if cell["cell_type"] == "markdown"
        for line in "".join(cell["source"]).splitlines()
        if line.startswith("#")
    }


def test_every_concept_of_the_course_has_a_row() -> None:
    concepts = [row[0] for row in _table()]
    missing = [c for c in CONCEPTS if c not in concepts]
    assert not missing, f"concepts with no row in the README's concept coverage: {missing}"
    assert len(concepts) == len(set(concepts)), "a concept has two rows"


@pytest.mark.parametrize("row", _table(), ids=lambda row: row[0][:40])
def test_each_row_points_at_a_lesson_section_that_exists(row: tuple[str, str, str, str]) -> None:
    concept, lesson, section, _ = row
    number = re.fullmatch(r"(\d\d)", lesson)
    assert number, f"{concept}: lesson {lesson!r} is not a two-digit number"
    found = sorted(NOTEBOOKS.glob(f"{lesson}_*.ipynb"))
    assert found, f"{concept}: no notebook {lesson}_*.ipynb"
    headings = _headings(found[0])
    for part in section.split(";"):
        assert part.strip() in headings, (
            f"{concept}: {found[0].name} has no section {part.strip()!r}"
        )


def _exists(name: str) -> bool:
    if name.endswith(".py") or "/" in name:
        return (ROOT / name).exists()
    parts = name.split(".")
    if parts[0] in ("strategies", "competitor_strategies") and len(parts) == 3:
        registry = REGISTRY if parts[0] == "strategies" else COMPETITOR_REGISTRY
        return parts[1] in registry and parts[2] in registry[parts[1]].parameters
    if parts[0] in SCHEMA and len(parts) >= 2:
        return parts[1] in SCHEMA[parts[0]]
    module, _, attribute = name.rpartition(".")
    try:
        return hasattr(importlib.import_module(module), attribute)
    except ImportError:
        return False


@pytest.mark.parametrize("row", _table(), ids=lambda row: row[0][:40])
def test_each_row_names_what_the_lab_has(row: tuple[str, str, str, str]) -> None:
    concept, _, _, where = row
    names = re.findall(r"`([^`]+)`", where)
    assert names, f"{concept}: no module, setting or parameter named"
    missing = [name for name in names if not _exists(name)]
    assert not missing, f"{concept}: the lab has no {missing}"
