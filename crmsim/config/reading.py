"""Reading settings files: YAML with limits, so any file gives data or one clear message.

A settings file (a scenario, a sweep) is data written by people, or by anyone:
:func:`read_yaml` reads it with YAML's safe loader and a few limits that no
real file comes near, and turns every way a file can be unreadable into a
:class:`~crmsim.config.fields.ScenarioError` naming the file and the place:

- at most :data:`MAX_FILE_BYTES` bytes, read as UTF-8 text;
- mappings and lists nested at most :data:`MAX_DEPTH` deep;
- at most :data:`MAX_ALIASES` aliases (``*name``), none inside the value it
  names, and at most :data:`MAX_VALUES` values once aliases are expanded (a
  few hundred bytes of nested aliases can otherwise stand for billions);
- numbers written in at most :data:`MAX_NUMBER_CHARACTERS` characters;
- no key twice in one mapping (YAML would quietly keep the last).

Numbers in scientific notation (``1e4``, ``2.5E-3``) are numbers, as people
mean them; YAML 1.1 alone reads ``1e4`` as text.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

import yaml

from crmsim.config.fields import ScenarioError, shown, shown_name

MAX_FILE_BYTES = 1_000_000
"""Largest settings file, bytes (a full scenario with every setting is a few kilobytes)."""

MAX_DEPTH = 20
"""Deepest nesting of mappings and lists (a scenario needs 4 levels)."""

MAX_ALIASES = 100
"""Most aliases (``*name``) in one file."""

MAX_VALUES = 100_000
"""Most values (scalars, mappings and lists) in one file once aliases are expanded."""

MAX_NUMBER_CHARACTERS = 1_000
"""Longest number, characters: longer digit strings cost time to convert and are never meant."""

# The C parser when PyYAML was built with it; the checks below work with either.
_SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_SCIENTIFIC = re.compile(r"^[-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*[eE][-+]?[0-9]+$")
"""Scientific notation YAML 1.1 leaves as text: ``1e4``, ``-2E-3``, ``1.5e+3``, ``.5e3``."""

_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class _Refused(yaml.MarkedYAMLError):
    """A file YAML could read but that breaks one of the limits or rules above."""


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, with numbers in scientific notation and no duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            # Merge keys (<<: *defaults) may repeat names on purpose; the file's own may not.
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                key_node, yaml.ScalarNode
            ):
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            try:
                earlier = first_line.get(key)
            except TypeError:
                continue  # an unhashable key: the constructor says so
            first_line[key] = line
            if earlier is not None:
                places = (
                    f"twice on line {line}" if earlier == line else f"lines {earlier} and {line}"
                )
                raise _Refused(
                    None,
                    None,
                    f"key {shown(key)} is given twice in one mapping ({places}); "
                    "allowed: each name once",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag in (
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
        ):
            if len(node.value) > MAX_NUMBER_CHARACTERS:
                raise _Refused(
                    None,
                    None,
                    f"a number written with {len(node.value):_} characters; "
                    f"allowed: at most {MAX_NUMBER_CHARACTERS:_}",
                    node.start_mark,
                )
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as error:
            # e.g. a date that does not exist (2024-02-30): YAML's constructors raise
            # Python's own errors for these.
            raise _Refused(
                None, None, f"cannot read {shown(node.value)}: {error}", node.start_mark
            ) from None


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _SCIENTIFIC, list("-+.0123456789"))


def read_yaml(path: str | Path, what: str = "scenario") -> Any:
    """The data of a settings file, read safely and within the limits of this module.

    Args:
        path: The file.
        what: What the file is, for messages (``"scenario"``, ``"sweep"``).

    Returns:
        The file's data (plain dicts, lists, text and numbers); None for an empty file.

    Raises:
        ScenarioError: The file cannot be read, is not UTF-8 text, is not valid YAML or
            breaks a limit; the message names the file and the line.
    """
    file = Path(path)
    try:
        with file.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)  # never more, whatever the file claims
    except OSError as error:
        raise ScenarioError(
            f"{file}: cannot read the {what} file ({error.strerror or error})"
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{file}: the {what} file is larger than {MAX_FILE_BYTES:_} bytes; "
            f"allowed: at most {MAX_FILE_BYTES:_} (a {what} is a few kilobytes of settings)"
        )
    return parse_yaml(_decoded(raw, file, what), str(file), f"{what} file")


def parse_yaml(text: str, source: str, what: str = "scenario file") -> Any:
    """The data of YAML text, within the limits of this module.

    Args:
        text: The YAML text.
        source: Where the text comes from, for messages (a file, an option).
        what: What the text is, for messages (``"scenario file"``, ``"value"``).

    Raises:
        ScenarioError: The text is not valid YAML or breaks a limit.
    """
    try:
        _check_shape(text)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        code = error.character
        character = f"#x{code:04x}" if isinstance(code, int) else shown(code)
        raise ScenarioError(
            f"{source}: not valid YAML at line {line}: character {character} is not "
            f"allowed ({error.reason}). A {what} is plain YAML: numbers, text, lists and "
            "mappings."
        ) from None
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark is not None else None
        if isinstance(error, _Refused):
            raise ScenarioError(f"{source}: line {line}: {error.problem}") from None
        where = f" at line {line}" if line is not None else ""
        problem = ", ".join(part for part in (error.context, error.problem) if part)
        raise ScenarioError(
            f"{source}: not valid YAML{where}: {problem}. "
            f"A {what} is plain YAML: numbers, text, lists and mappings."
        ) from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{source}: not valid YAML: {shown(str(error))}") from None


def _decoded(raw: bytes, file: Path, what: str) -> str:
    for mark, encoding in _BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            raise ScenarioError(
                f"{file}: the {what} file is {encoding} text; allowed: UTF-8 "
                "(save it again as UTF-8)"
            )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ScenarioError(
            f"{file}: line {line}: byte {raw[error.start]:#04x} is not UTF-8 text; allowed: "
            f"a {what} file of UTF-8 text (save it again as UTF-8)"
        ) from None


def _check_shape(text: str) -> None:
    """Refuse deep nesting, many aliases and alias bombs before building any value.

    Works on YAML's event stream, which the parser produces without recursion,
    so it is safe on any input; sizes of anchored values are counted once and
    added at each alias, so expansion is measured without expanding.
    """
    depth = aliases = values = 0
    open_anchors: list[tuple[str | None, int]] = []  # collections being read: anchor, start
    sizes: dict[str, int] = {}  # anchor -> values it stands for
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(
                    None,
                    None,
                    f"mappings and lists nested more than {MAX_DEPTH} deep; "
                    f"allowed: at most {MAX_DEPTH} (a scenario needs 4)",
                    event.start_mark,
                )
            open_anchors.append((event.anchor, values))
            values += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, start = open_anchors.pop()
            if anchor is not None:
                sizes[anchor] = values - start
        elif isinstance(event, yaml.ScalarEvent):
            values += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _Refused(
                    None,
                    None,
                    f"more than {MAX_ALIASES} aliases (*name); allowed: at most {MAX_ALIASES}",
                    event.start_mark,
                )
            if any(anchor == event.anchor for anchor, _ in open_anchors):
                raise _Refused(
                    None,
                    None,
                    f"alias *{shown_name(event.anchor)} stands for a value that contains it; "
                    "allowed: aliases of values already complete",
                    event.start_mark,
                )
            values += sizes.get(event.anchor, 1)
        else:
            continue
        if values > MAX_VALUES:
            raise _Refused(
                None,
                None,
                f"more than {MAX_VALUES:_} values (each alias counting as the value it "
                f"stands for); allowed: at most {MAX_VALUES:_}",
                event.start_mark,
            )
