"""Kinds of value a setting may take, and the checks that say what is wrong.

A :class:`Field` is one setting: its kind, default, unit and meaning. The
same field drives validation (:func:`check_value`), the defaults a short
scenario inherits, and the generated reference (``crmsim.config.docs``).

Kinds of value:

- ``probability``: a number in [0, 1];
- ``share``: a number in [0, 1] that is a fraction of something;
- ``nonnegative``: a number >= 0 (costs, budgets, rates);
- ``number``: any real number;
- ``count``: an integer >= 0;
- ``positive_count``: an integer >= 1;
- ``month``: an integer month >= 0, or ``null`` where allowed;
- ``seed``: an integer >= 0 of any size (a seed names a random stream; it counts nothing);
- ``bool``: true or false;
- ``choice``: one of the listed strings;
- ``ladder``: five numbers, one per rung of the loyalty ladder;
- ``reasons``: a number for each defection reason.

Besides the bounds of its kind and field, every number obeys two limits of
size (:data:`LARGEST` and :data:`SMALLEST`), so no setting the checks let
through can overflow the engine's arithmetic or its 32-bit columns.

Messages show values with :func:`shown`, which keeps them short whatever a
file holds.
"""

from __future__ import annotations

import difflib
import math
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crmsim.vocabulary import DEFECTION_REASONS, TIERS


class ScenarioError(ValueError):
    """A scenario that cannot run: names the file, the field path and what is allowed."""


LARGEST = 1e9
"""Largest size of any number a setting takes (seeds aside), whole or not.

A billion is more than any budget, cost, count or weight of a market the engine
can hold (see ``simulation.customers``), and small enough that products of a
few settings stay finite in single precision and sums of months and counts fit
the engine's 32-bit columns."""

SMALLEST = 1e-9
"""Smallest size of a number other than 0 that a setting takes.

The engine's single-precision draws cannot tell a smaller chance from 0, and
dividing a budget by a smaller cost overflows."""

NAMES_SHOWN = 3
"""Unknown names a message spells out (with a suggestion) before it counts the rest."""

_SHORT = reprlib.Repr(
    maxlevel=2, maxdict=4, maxlist=4, maxtuple=4, maxset=4, maxfrozenset=4,
    maxstring=60, maxother=60, maxlong=40,
)  # fmt: skip


def shown(value: Any) -> str:
    """``value`` as a message shows it: its repr, shortened to a few dozen characters.

    A file may hold a value of megabytes (a long list, a shared alias expanded
    many times, a number of hundreds of digits); a message echoes a glimpse of
    it, never the whole.
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        # repr of an int of thousands of digits is refused (and slow): say its size.
        return f"a whole number of {math.floor(math.log10(abs(value))) + 1} digits"
    return _SHORT.repr(value)


def shown_name(key: Any) -> str:
    """A name as a message shows it: plain when it is short text, YAML's words for
    null, true and false, else :func:`shown`."""
    if isinstance(key, str) and len(key) <= 60 and key.isprintable():
        return key
    if key is None or isinstance(key, bool):
        return {None: "null", True: "true", False: "false"}[key]
    return shown(key)


@dataclass(frozen=True)
class Field:
    """One scenario setting.

    Attributes:
        kind: Kind of value (see the module docstring).
        default: Value used when the scenario file does not set it.
        unit: Unit of the value, for people.
        doc: What the setting means.
        choices: Allowed strings for ``choice`` fields.
        nullable: Whether ``null`` is allowed.
        minimum: Optional lower bound (inclusive) for numbers.
        maximum: Optional upper bound (inclusive) for numbers.
    """

    kind: str
    default: Any
    unit: str = ""
    doc: str = ""
    choices: tuple[str, ...] = ()
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Record:
    """A mapping of free names (e.g. acquisition channels) to records of fields.

    Attributes:
        fields: Fields of each record.
        default: The records used when the scenario does not give any.
        doc: What the records are.
        item: What one record is, for messages (``"channel"``).
        most: Most records allowed, or None for no limit.
    """

    fields: dict[str, Field]
    default: dict[str, dict[str, Any]]
    doc: str = ""
    item: str = "record"
    most: int | None = None


def check_value(spec: Field, value: Any) -> str | None:
    """Return what is wrong with ``value`` for ``spec``, or None when it is allowed."""
    if value is None:
        return None if spec.nullable else f"is required ({_allowed(spec)})"
    kind = spec.kind
    if kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            return f"must be one of {', '.join(spec.choices)}; got {shown(value)}"
        return None
    if kind == "bool":
        return None if isinstance(value, bool) else f"must be true or false; got {shown(value)}"
    if kind == "ladder":
        item_spec = Field("number", 0, minimum=spec.minimum, maximum=spec.maximum)
        if not isinstance(value, list) or len(value) != len(TIERS):
            return (
                f"must be a list of {len(TIERS)} numbers ({', '.join(TIERS)}); got {shown(value)}"
            )
        for item in value:
            problem = _check_number(item_spec, item)
            if problem:
                return f"must be a list of {len(TIERS)} numbers; item {shown(item)} {problem}"
        return None
    if kind == "reasons":
        if not isinstance(value, dict):
            return f"must map each of {', '.join(DEFECTION_REASONS)} to a number >= 0"
        unknown = [key for key in value if key not in DEFECTION_REASONS]
        if unknown:
            return f"has unknown reason(s) {_some_names(unknown)}; allowed: " + ", ".join(
                DEFECTION_REASONS
            )
        weight_spec = Field("nonnegative", 0, minimum=spec.minimum, maximum=spec.maximum)
        for reason, weight in value.items():
            problem = _check_number(weight_spec, weight)
            if problem:
                return f"{reason} {problem}"
        return None
    return _check_number(spec, value)


INTEGER_KINDS = ("count", "positive_count", "month", "seed")
"""Kinds of value that are whole numbers (a float such as 2e4 is taken when it is whole)."""


def _check_number(spec: Field, value: Any) -> str | None:
    allowed = _allowed(spec)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be {allowed}; got {type(value).__name__} {shown(value)}"
    try:
        number = float(value)
    except OverflowError:  # a whole number too large for a float: it fails the size checks
        number = math.inf if value > 0 else -math.inf
    if math.isnan(number):
        return f"must be {allowed}; got {shown(value)}"
    if spec.kind in INTEGER_KINDS and isinstance(value, float) and not value.is_integer():
        return f"must be {allowed}; got {shown(value)}"
    lower, upper = value_bounds(spec)
    if (lower is not None and number < lower) or (upper is not None and number > upper):
        return f"must be {allowed}; got {shown(value)}"
    if spec.kind == "seed":
        return None
    if abs(number) > LARGEST:
        return f"must be {allowed}, at most {number_text(LARGEST)} in size; got {shown(value)}"
    if 0 < abs(number) < SMALLEST:
        return (
            f"must be {allowed}, 0 or at least {number_text(SMALLEST)} in size; got {shown(value)}"
        )
    return None


def value_bounds(spec: Field) -> tuple[float | None, float | None]:
    """The lowest and highest values ``spec`` allows (None: no bound), from its kind and its
    own ``minimum`` and ``maximum``."""
    lower, upper = {
        "probability": (0.0, 1.0),
        "share": (0.0, 1.0),
        "nonnegative": (0.0, None),
        "count": (0, None),
        "positive_count": (1, None),
        "month": (0, None),
        "seed": (0, None),
        "number": (None, None),
    }.get(spec.kind, (None, None))
    if spec.minimum is not None:
        lower = spec.minimum
    if spec.maximum is not None:
        upper = spec.maximum
    return lower, upper


def _allowed(spec: Field) -> str:
    lower, upper = value_bounds(spec)
    names = {
        "probability": "a probability",
        "share": "a share",
        "nonnegative": "a number",
        "number": "a number",
        "count": "a whole number",
        "positive_count": "a whole number",
        "month": "a whole month",
        "seed": "a whole number",
    }
    text = names.get(spec.kind, spec.kind)
    if lower is not None and upper is not None:
        text += f" in [{number_text(lower)}, {number_text(upper)}]"
    elif lower is not None:
        text += f" >= {number_text(lower)}"
    elif upper is not None:
        text += f" <= {number_text(upper)}"
    if spec.nullable:
        text += " or null"
    return text


def number_text(value: float) -> str:
    """A bound as people (and YAML) read it: 1200, 10_000_000, 0.99, 1e-06."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):_}" if abs(value) >= 10_000 else str(int(value))
    return f"{value:g}"


def allowed_text(spec: Field, choice_separator: str = " | ") -> str:
    """What a setting allows, in words (e.g. "a probability in [0, 1]")."""
    if spec.kind == "choice":
        return choice_separator.join(spec.choices)
    if spec.kind == "ladder":
        text = f"{len(TIERS)} numbers: " + ", ".join(TIERS)
        if spec.minimum is not None or spec.maximum is not None:
            text += ", each " + _allowed(
                Field("number", 0, minimum=spec.minimum, maximum=spec.maximum)
            )
        return text
    if spec.kind == "reasons":
        return "a weight per reason"
    return _allowed(spec)


def describe(spec: Field) -> str:
    """One line for people: the allowed values, default and unit of a setting."""
    unit = f" [{spec.unit}]" if spec.unit else ""
    return f"{allowed_text(spec)}{unit}; default {spec.default!r}. {spec.doc}"


NAME_CHARACTERS = 100
"""Longest name of a scenario or a study, characters (it names their output folder)."""

_NAME_BYTES = 200  # a folder name is at most 255 bytes; temporary folders add a few


def name_problem(value: Any) -> str | None:
    """What is wrong with the name of a scenario or a study, or None when it is allowed.

    The name becomes the default output folder (``out/<name>``), so it must make one
    folder name: printable text without a path separator, not hidden, not too long.
    """
    rule = (
        f"must be text of 1 to {NAME_CHARACTERS} printable characters without / or \\, "
        "not starting with a dot (it names the output folder)"
    )
    if not isinstance(value, str):
        return f"{rule}; got {type(value).__name__} {shown(value)}"
    if (
        not value.strip()
        or len(value) > NAME_CHARACTERS
        or not value.isprintable()
        or "/" in value
        or "\\" in value
        or value.startswith(".")
    ):
        return f"{rule}; got {shown(value)}"
    if len(value.encode("utf-8")) > _NAME_BYTES:
        return f"{rule}, at most {_NAME_BYTES} bytes as UTF-8; got {shown(value)}"
    return None


def did_you_mean(key: Any, allowed: Any) -> str:
    """`` (did you mean X?)`` for the allowed name closest to ``key``, or an empty string."""
    if not isinstance(key, str) or len(key) > 200:
        return ""  # no allowed name is like a number, or like text of that length
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_key(path: str, what: str, key: Any, allowed: Any) -> str:
    """The message for an unknown name: where, what, a suggestion and what is allowed."""
    return f"{path}: unknown {what}{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}"


def name_problems(
    prefix: str, what: str, keys: Iterable[Any], allowed: Iterable[str] | None = None
) -> list[str]:
    """What is wrong with the names of one mapping of a file, in a few lines.

    Names must be text and, when ``allowed`` is given, one of those. The first
    few wrong names get a line each (with a suggestion); the rest are counted,
    so a mapping of a million unknown names gives a short message.

    Args:
        prefix: Dotted path of the mapping (``""`` for the top of the file).
        what: What the names are (``"setting"``, ``"strategy"``, ``"channel"``).
        keys: The names the mapping has.
        allowed: The allowed names, or None when any text is a name.
    """
    listed = None if allowed is None else list(allowed)
    known = None if listed is None else set(listed)
    not_text = [key for key in keys if not isinstance(key, str)]
    unknown = [] if known is None else [k for k in keys if isinstance(k, str) and k not in known]
    where = f"{prefix}: " if prefix else ""
    lines = []
    if not_text:
        lines.append(
            f"{where}{what} names must be text; got {_some_names(not_text)} "
            "(write a name in quotes to keep it text, e.g. '1' or 'yes')"
        )
    for key in unknown[:NAMES_SHOWN]:
        path = f"{prefix}.{shown_name(key)}" if prefix else shown_name(key)
        lines.append(unknown_key(path, what, key, listed))
    if len(unknown) > NAMES_SHOWN:
        lines.append(
            f"{where}{len(unknown) - NAMES_SHOWN:_} more unknown {_plural(what)} "
            f"({_some_names(unknown[NAMES_SHOWN:])}); allowed: {', '.join(listed or ())}"
        )
    return lines


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _some_names(keys: list[Any]) -> str:
    """A few of ``keys`` (each shortened), and how many more there are."""
    text = ", ".join(shown_name(key) for key in keys[:NAMES_SHOWN])
    if len(keys) > NAMES_SHOWN:
        text += f" and {len(keys) - NAMES_SHOWN:_} more"
    return text
