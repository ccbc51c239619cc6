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
- ``bool``: true or false;
- ``choice``: one of the listed strings;
- ``ladder``: five numbers, one per rung of the loyalty ladder;
- ``reasons``: a number for each defection reason.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

from crmsim.vocabulary import DEFECTION_REASONS, TIERS


class ScenarioError(ValueError):
    """A scenario that cannot run: names the file, the field path and what is allowed."""


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
    """

    fields: dict[str, Field]
    default: dict[str, dict[str, Any]]
    doc: str = ""


def check_value(spec: Field, value: Any) -> str | None:
    """Return what is wrong with ``value`` for ``spec``, or None when it is allowed."""
    if value is None:
        return None if spec.nullable else f"is required ({_allowed(spec)})"
    kind = spec.kind
    if kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            return f"must be one of {', '.join(spec.choices)}; got {value!r}"
        return None
    if kind == "bool":
        return None if isinstance(value, bool) else f"must be true or false; got {value!r}"
    if kind == "ladder":
        if not isinstance(value, list) or len(value) != len(TIERS):
            return f"must be a list of {len(TIERS)} numbers ({', '.join(TIERS)}); got {value!r}"
        for item in value:
            problem = _check_number(Field("number", 0), item)
            if problem:
                return f"must be a list of {len(TIERS)} numbers; item {item!r} {problem}"
        return None
    if kind == "reasons":
        if not isinstance(value, dict):
            return f"must map each of {', '.join(DEFECTION_REASONS)} to a number >= 0"
        unknown = sorted(set(value) - set(DEFECTION_REASONS))
        if unknown:
            return f"has unknown reason(s) {', '.join(unknown)}; allowed: " + ", ".join(
                DEFECTION_REASONS
            )
        for reason, weight in value.items():
            problem = _check_number(Field("nonnegative", 0), weight)
            if problem:
                return f"{reason} {problem}"
        return None
    return _check_number(spec, value)


def _check_number(spec: Field, value: Any) -> str | None:
    integer_kinds = ("count", "positive_count", "month")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be {_allowed(spec)}; got {type(value).__name__} {value!r}"
    if not math.isfinite(value):
        return f"must be {_allowed(spec)}; got {value!r}"
    if spec.kind in integer_kinds and not float(value).is_integer():
        return f"must be {_allowed(spec)}; got {value!r}"
    lower, upper = _bounds(spec)
    if (lower is not None and value < lower) or (upper is not None and value > upper):
        return f"must be {_allowed(spec)}; got {value!r}"
    return None


def _bounds(spec: Field) -> tuple[float | None, float | None]:
    lower, upper = {
        "probability": (0.0, 1.0),
        "share": (0.0, 1.0),
        "nonnegative": (0.0, None),
        "count": (0, None),
        "positive_count": (1, None),
        "month": (0, None),
        "number": (None, None),
    }.get(spec.kind, (None, None))
    if spec.minimum is not None:
        lower = spec.minimum
    if spec.maximum is not None:
        upper = spec.maximum
    return lower, upper


def _allowed(spec: Field) -> str:
    lower, upper = _bounds(spec)
    names = {
        "probability": "a probability",
        "share": "a share",
        "nonnegative": "a number",
        "number": "a number",
        "count": "a whole number",
        "positive_count": "a whole number",
        "month": "a whole month",
    }
    text = names.get(spec.kind, spec.kind)
    if lower is not None and upper is not None:
        text += f" in [{lower:g}, {upper:g}]"
    elif lower is not None:
        text += f" >= {lower:g}"
    if spec.nullable:
        text += " or null"
    return text


def allowed_text(spec: Field, choice_separator: str = " | ") -> str:
    """What a setting allows, in words (e.g. "a probability in [0, 1]")."""
    if spec.kind == "choice":
        return choice_separator.join(spec.choices)
    if spec.kind == "ladder":
        return "5 numbers: " + ", ".join(TIERS)
    if spec.kind == "reasons":
        return "a weight per reason"
    return _allowed(spec)


def describe(spec: Field) -> str:
    """One line for people: the allowed values, default and unit of a setting."""
    unit = f" [{spec.unit}]" if spec.unit else ""
    return f"{allowed_text(spec)}{unit}; default {spec.default!r}. {spec.doc}"


def did_you_mean(key: Any, allowed: Any) -> str:
    """`` (did you mean X?)`` for the allowed name closest to ``key``, or an empty string."""
    close = difflib.get_close_matches(str(key), list(allowed), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_key(path: str, what: str, key: Any, allowed: Any) -> str:
    """The message for an unknown name: where, what, a suggestion and what is allowed."""
    return f"{path}: unknown {what}{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}"
