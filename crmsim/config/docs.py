"""The generated reference of every setting and strategy (``crmsim/scenarios/README.md``).

``make docs`` rewrites the generated part of the README from the schema and the
strategy registry, so the reference never drifts from the code.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from crmsim.config import reading
from crmsim.config.fields import (
    LARGEST,
    NAME_CHARACTERS,
    SMALLEST,
    Field,
    Record,
    allowed_text,
)
from crmsim.config.schema import MAX_PEOPLE, PER_1000_PEOPLE, RENAMED, SCHEMA
from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY


def schema_markdown() -> str:
    """The reference of every setting as Markdown tables (in ``crmsim/scenarios/README.md``)."""
    lines = [limits_markdown(), ""]
    for section, fields in SCHEMA.items():
        lines += [f"### `{section}`", "", "| setting | allowed | unit | default | meaning |"]
        lines.append("|---|---|---|---|---|")
        for name, spec in fields.items():
            if isinstance(spec, Record):
                most = f" (at most {spec.most})" if spec.most is not None else ""
                lines.append(
                    f"| `{name}` | mapping of {spec.item} name -> record{most} | | see below "
                    f"| {spec.doc} |"
                )
                continue
            lines.append(_markdown_row(f"`{name}`", spec))
        for name, spec in fields.items():
            if isinstance(spec, Record):
                lines += ["", f"Each record of `{section}.{name}`:", ""]
                lines += [
                    "| setting | allowed | unit | default | meaning |",
                    "|---|---|---|---|---|",
                ]
                lines += [_markdown_row(f"`{sub}`", s) for sub, s in spec.fields.items()]
                lines += ["", "Default records:", "", "```yaml", f"{name}:"]
                for record, values in spec.default.items():
                    inner = ", ".join(f"{k}: {v}" for k, v in values.items())
                    lines.append(f"  {record}: {{{inner}}}")
                lines.append("```")
        lines.append("")
    return "\n".join(lines)


def limits_markdown() -> str:
    """What every setting and every file obeys, besides the bounds of each row."""
    return (
        f"Every number a setting takes is at most {LARGEST:,.0f} in size and, "
        f"unless it is 0, at least {SMALLEST:g} (whole numbers too), besides "
        "the bounds in its row. A scenario file is UTF-8 text of at most "
        f"{reading.MAX_FILE_BYTES:,} bytes, nested at most {reading.MAX_DEPTH} deep, with "
        f"at most {reading.MAX_ALIASES} aliases (`*name`), {reading.MAX_VALUES:,} values "
        "once they are expanded, and no key twice in one mapping. Numbers may be written "
        "in scientific notation (`1e4`). A scenario's `name` (by default the file's name) "
        f"is 1 to {NAME_CHARACTERS} printable characters without `/` or `\\`, not starting "
        "with a dot: it names the output folder. A renewing market holds at most "
        f"{MAX_PEOPLE:,} people by the end of a run (`simulation.customers` and "
        "`market.entry_rate_per_month` x `simulation.customers` x `simulation.months` "
        "entrants): each has a row of the customer table from the start."
    )


def renamed_markdown() -> str:
    """The settings that were renamed, with what each became."""
    rows = [
        (f"{section}.{old}", f"{section}.{new}")
        for section, names in RENAMED.items()
        for old, new in names.items()
    ]
    for section, registry in (
        ("strategies", REGISTRY),
        ("competitor_strategies", COMPETITOR_REGISTRY),
    ):
        for name, cls in sorted(registry.items()):
            rows += [
                (f"{section}.{name}.{o}", f"{section}.{name}.{n}") for o, n in cls.renamed.items()
            ]
    lines = [
        "### Renamed settings",
        "",
        f"Amounts that grow with the market are given {PER_1000_PEOPLE}: a file that still "
        "uses an old name is refused with one message saying what its amount comes to in "
        "its market (8,000 a month at 20,000 people is 400 per 1,000). A setting renamed "
        "with the same meaning (a name ending otherwise) is refused with its new name.",
        "",
        "| old name | new name |",
        "|---|---|",
    ]
    lines += [f"| `{old}` | `{new}` |" for old, new in rows]
    return "\n".join(lines) + "\n"


def _markdown_row(name: str, spec: Field) -> str:
    allowed = allowed_text(spec, choice_separator=" \\| ")
    default = spec.default
    if isinstance(default, dict):
        default = ", ".join(f"{k} {v}" for k, v in default.items())
    elif default is None:
        default = "null"
    return f"| {name} | {allowed} | {spec.unit} | {default} | {spec.doc} |"


def strategies_markdown() -> str:
    """The strategies of both registries with their parameters, as Markdown."""
    lines = []
    for title, section, registry in (
        ("Firm strategies", "strategies", REGISTRY),
        ("Competitor strategies", "competitor_strategies", COMPETITOR_REGISTRY),
    ):
        lines += [f"### {title} (`{section}`)", ""]
        for name, cls in sorted(registry.items()):
            doc = " ".join((cls.__doc__ or "").split("\n\n")[0].split())
            lines += [f"#### `{name}`", "", f"*{cls.concept}.* {doc}", ""]
            lines += ["| parameter | allowed | unit | default | meaning |", "|---|---|---|---|---|"]
            lines += [_markdown_row(f"`{p}`", spec) for p, spec in cls.parameters.items()]
            lines.append("")
    return "\n".join(lines)


def update_scenario_readme(path: str) -> None:
    """Rewrite the generated reference at the end of ``crmsim/scenarios/README.md``."""
    marker = "<!-- generated from crmsim"
    with open(path, encoding="utf-8") as file:
        text = file.read()
    head = text[: text.index(marker)]
    note = f"{marker}/config/docs.py by `make docs`; do not edit by hand -->\n\n"
    body = (
        schema_markdown()
        + "\n"
        + renamed_markdown()
        + "\n## Every strategy\n\n"
        + strategies_markdown()
    )
    start, end = (
        "<!-- shipped scenarios: generated by `make docs` -->",
        "<!-- end of shipped scenarios",
    )
    head = (
        head[: head.index(start) + len(start)]
        + "\n\n"
        + shipped_markdown(path)
        + "\n"
        + (head[head.index(end) :])
    )
    with open(path, "w", encoding="utf-8") as file:
        file.write(head + note + body)


def shipped_markdown(readme_path: str) -> str:
    """A table of the scenario files next to the README, with their descriptions."""
    rows = ["| file | what-if |", "|---|---|"]
    for file in sorted(Path(readme_path).parent.glob("*.yaml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        text = " ".join(str(data.get("description", "")).split())
        rows.append(f"| `{file.name}` | {text} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    import sys

    update_scenario_readme(sys.argv[1] if len(sys.argv) > 1 else "crmsim/scenarios/README.md")
