"""Scenarios: what-if settings read from YAML files, checked before anything runs.

A scenario file is data, never code: it sets fields of the schema in
``crmsim.config.schema`` and names firm strategies from the registry in
``crmsim.strategies`` with their parameters. Everything not set takes its
default, so a scenario can be as short as its what-if::

    name: loyalty_program
    description: A frequency programme for members and above.
    strategies:
      loyalty_program:
        reward_rate: 0.03

A scenario can build on another: ``extends: baseline`` (a shipped name) or
``extends: other.yaml`` (a file, relative to this one) lays the file's settings
over those of the other, mapping by mapping, and the result is validated as
one scenario. Its name and description are the file's own.

Problems are all reported at once, each with the file, the field path and
what is allowed, in a single :class:`ScenarioError` (at most
:data:`PROBLEMS_SHOWN` of them, then a count).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from crmsim.config.fields import (
    INTEGER_KINDS,
    Field,
    Record,
    ScenarioError,
    check_value,
    name_problem,
    name_problems,
    shown,
    shown_name,
)
from crmsim.config.reading import parse_yaml, read_yaml
from crmsim.config.schema import MAX_PEOPLE, PER_1000_PEOPLE, RENAMED, SCHEMA
from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY

TOP_LEVEL_TEXT = ("name", "description")

EXTENDS = "extends"
"""The key of a scenario file that names the scenario it builds on."""

PROBLEMS_SHOWN = 20
"""Most problems one message lists; the rest are counted."""


class Scenario:
    """A validated scenario with every default filled in; read-only.

    A scenario never changes once made: ``with_changes`` makes a changed copy
    (validated again), so one scenario can be shared by many runs.

    Attributes:
        name: Short name of the what-if.
        description: One or two sentences for people.
        source: File the scenario came from, or ``"<dict>"``.
        data: The full settings as nested (read-only) mappings, defaults included.
        params: The same settings by attribute, e.g. ``params.firm.gross_margin``.
    """

    def __init__(self, data: Mapping[str, Any], source: str = "<dict>") -> None:
        full = _validated(data, source)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "data", _frozen(full))
        object.__setattr__(self, "name", full["name"])
        object.__setattr__(self, "description", full["description"])
        object.__setattr__(self, "params", _namespace(full))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(READ_ONLY)

    def strategies(self, section: str = "strategies") -> Mapping[str, Mapping[str, Any]]:
        """The strategies a scenario runs, by name, with their parameters (``section``:
        ``"strategies"`` for the firm's, ``"competitor_strategies"`` for the competitor's)."""
        return self.data[section]

    def channels(self) -> Mapping[str, Mapping[str, Any]]:
        """The acquisition channels by name, each with its settings."""
        return self.data["acquisition"]["channels"]

    def get(self, path: str) -> Any:
        """The value at a dotted path, e.g. ``"firm.gross_margin"``."""
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"{self.source}: no setting {path!r}")
            node = node[part]
        return node

    def with_changes(self, changes: Mapping[str, Any], name: str | None = None) -> Scenario:
        """A new scenario with settings changed at dotted paths (validated again).

        Setting a parameter of a strategy the scenario does not run turns that
        strategy on, with defaults for its other parameters (that is how a sweep
        can switch a strategy on); apply strategy changes only to scenarios that
        run the strategy when that is not what you mean.

        Args:
            changes: Mapping of dotted path to new value, e.g.
                ``{"simulation.months": 24, "strategies.loyalty_program.reward_rate": 0.05}``.
            name: Optional new name.
        """
        data = copy.deepcopy(self.data)
        for path, value in changes.items():
            _set_path(data, path, value, self.source)
        if name is not None:
            data["name"] = name
        return Scenario(data, source=self.source)

    def to_yaml(self) -> str:
        """The full scenario, defaults included, as YAML text."""
        return yaml.safe_dump(_thawed(self.data), sort_keys=False)

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, source={self.source!r})"


def load_scenario(path: str | Path, changes: Mapping[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario file, and the scenarios it extends.

    Args:
        path: A YAML file, or the name of a scenario shipped in ``crmsim/scenarios/``
            (``"baseline"`` finds ``crmsim/scenarios/baseline.yaml``).
        changes: Settings changed at dotted paths after reading, as in
            :meth:`Scenario.with_changes` (e.g. from ``crmsim run --set``;
            see :func:`parse_assignment`).

    Raises:
        ScenarioError: The file (or one it extends) is missing, is not valid YAML,
            breaks a limit of ``crmsim.config.reading``, or breaks the schema.
    """
    file = resolve_scenario_path(path)
    data = _file_settings(file, ())
    data.setdefault("name", file.stem)
    scenario = Scenario(data, source=str(file))
    return scenario.with_changes(changes) if changes else scenario


def parse_assignment(text: str) -> tuple[str, Any]:
    """A change written ``section.setting=value``, as a dotted path and a value.

    The value is read as YAML, like a value in a file: ``firm.gross_margin=0.3``
    gives ``("firm.gross_margin", 0.3)``, ``market.technology_shock_month=null``
    gives None, ``ladder.churn_multiplier=[1, 1, 1, 1, 1]`` a list. The path is
    checked when the change is made (unknown names get a suggestion).

    Raises:
        ScenarioError: Not of the form ``path=value``, or the value is not valid YAML.
    """
    path, equals, value = text.partition("=")
    path = path.strip()
    if not equals or not path or not all(part.strip() for part in path.split(".")):
        raise ScenarioError(
            f"{shown(text)}: a change is written section.setting=value "
            "(e.g. firm.gross_margin=0.3 or simulation.months=24)"
        )
    return path, parse_yaml(value, f"{shown_name(path)}={shown(value)}", "value")


def _file_settings(file: Path, extended_by: tuple[Path, ...]) -> dict[str, Any]:
    """The settings of a scenario file laid over those of the scenarios it extends."""
    data = read_yaml(file, "scenario")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{file}: a scenario must be a mapping of sections; got {shown(data)}")
    parent = data.pop(EXTENDS, None)
    if parent is None:
        return data
    chain = (*extended_by, file.resolve())
    parent_file = _extended_file(parent, file)
    if parent_file.resolve() in chain:
        cycle = " -> ".join(str(f) for f in (*chain, parent_file.resolve()))
        raise ScenarioError(
            f"{file}: {EXTENDS}: scenarios extend each other in a circle ({cycle}); "
            "allowed: a chain that ends in a scenario extending none"
        )
    try:
        base = _file_settings(parent_file, chain)
    except ScenarioError as error:
        raise ScenarioError(f"{file}: {EXTENDS}: {error}") from None
    for own in TOP_LEVEL_TEXT:  # a file's name and description are about the file
        base.pop(own, None)
    return _laid_over(base, data)


def _extended_file(parent: Any, file: Path) -> Path:
    """The file ``extends: parent`` names: a path relative to ``file``, or a shipped name."""
    named = Path(parent) if isinstance(parent, str) and parent.strip() else None
    if named is not None and named.suffix in (".yaml", ".yml"):
        target = file.parent / named
        if not target.is_file():
            raise ScenarioError(f"{file}: {EXTENDS}: {target}: no such scenario file")
        return target
    if named is not None and len(named.parts) == 1:
        shipped = shipped_scenarios_dir() / f"{parent}.yaml"
        if not shipped.is_file():
            raise ScenarioError(
                f"{file}: {EXTENDS}: {parent}: no such shipped scenario; shipped scenarios: "
                f"{_names(shipped_scenarios_dir())}"
            )
        return shipped
    raise ScenarioError(
        f"{file}: {EXTENDS}: must be the name of a shipped scenario (e.g. baseline) or the "
        f"path of a .yaml file, relative to this one; got {shown(parent)}"
    )


def _laid_over(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top``'s settings over ``base``'s: mappings merge, anything else replaces.

    An empty (null) mapping in ``top`` changes nothing of ``base``'s; a null
    setting (``technology_shock_month: null``) does replace a number.
    """
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        if isinstance(below, dict) and isinstance(value, dict):
            merged[key] = _laid_over(below, value)
        elif not (isinstance(below, dict) and value is None):
            merged[key] = value
    return merged


def _set_path(data: dict[str, Any], path: Any, value: Any, source: str) -> None:
    """Set ``value`` at a dotted ``path`` of nested settings, making sections as needed."""
    if not isinstance(path, str) or not path or not all(path.split(".")):
        raise ScenarioError(
            f"{source}: {shown(path)}: a setting is named by a dotted path, e.g. firm.gross_margin"
        )
    *sections, key = path.split(".")
    node = data
    for part in sections:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ScenarioError(
                f"{source}: {shown_name(path)}: {shown_name(part)} is not a section"
            )
    node[key] = value


def _shipped_dir(name: str) -> Path:
    """A folder of files shipped inside the package, e.g. ``crmsim/scenarios``.

    Found with :func:`importlib.resources.files`, so it is the same folder in a
    source checkout and in an installed wheel, wherever either one lives.
    """
    folder = resources.files("crmsim") / name
    if not isinstance(folder, Path):
        # Only an import from an archive gives something that is not a folder on disk.
        raise ScenarioError(
            f"crmsim/{name}: the shipped files are not a folder on disk ({folder!r}); "
            "install crmsim as files (pip install crmsim), not inside a zip archive"
        )
    return folder


def shipped_scenarios_dir() -> Path:
    """The shipped scenarios: ``crmsim/scenarios/`` inside the package."""
    return _shipped_dir("scenarios")


def shipped_sweeps_dir() -> Path:
    """The shipped sweeps: ``crmsim/sweeps/`` inside the package."""
    return _shipped_dir("sweeps")


def resolve_scenario_path(path: str | Path) -> Path:
    """Find a scenario file by path, or by the name of a shipped scenario."""
    return _resolve(path, shipped_scenarios_dir(), "scenario")


def resolve_sweep_path(path: str | Path) -> Path:
    """Find a sweep file by path, or by the name of a shipped sweep (``"reward_rate"``).

    Raises:
        ScenarioError: Neither a file nor a shipped sweep; the message names the shipped ones.
    """
    return _resolve(path, shipped_sweeps_dir(), "sweep")


def _resolve(path: str | Path, shipped_dir: Path, kind: str) -> Path:
    """``path`` if it is a file (or names one), else the shipped ``<path>.yaml``.

    Only a file counts: a folder named ``baseline`` (say, the output of
    ``crmsim run baseline --out baseline``) does not hide the shipped scenario.
    """
    file = Path(path)
    if file.is_file() or file.suffix in (".yaml", ".yml"):
        if not file.is_file():
            raise ScenarioError(
                f"{file}: no such {kind} file; shipped {kind}s: {_names(shipped_dir)}"
            )
        return file
    shipped = shipped_dir / f"{path}.yaml"
    if shipped.exists():
        return shipped
    raise ScenarioError(
        f"{path}: no such {kind} file or shipped {kind}; shipped {kind}s: {_names(shipped_dir)}"
    )


def _names(folder: Path) -> str:
    return ", ".join(p.stem for p in sorted(folder.glob("*.yaml")))


def _validated(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    problems: list[str] = []
    full: dict[str, Any] = {
        "name": data.get("name", "scenario"),
        "description": data.get("description", ""),
    }
    name = name_problem(full["name"])
    if name:
        problems.append(f"name: {name}")
    if not isinstance(full["description"], str):
        problems.append(f"description: must be text; got {shown(full['description'])}")
    allowed_sections = [*TOP_LEVEL_TEXT, *SCHEMA, "strategies", "competitor_strategies"]
    if EXTENDS in data:
        problems.append(
            f"{EXTENDS}: only a scenario file extends another (read it with load_scenario)"
        )
    problems.extend(
        name_problems("", "section", [k for k in data if k != EXTENDS], allowed_sections)
    )
    people = _people(data)
    for section, fields in SCHEMA.items():
        given = data.get(section)
        if given is None:  # left out, or written with nothing after it
            given = {}
        elif not isinstance(given, dict):
            # 0, false or '' is not a section left empty but a slip worth saying.
            problems.append(f"{section}: must be a mapping of settings; got {shown(given)}")
            given = {}
        given = _without_renamed(section, given, RENAMED.get(section, {}), people, problems)
        full[section] = _validated_fields(section, fields, given, problems)

    for section, registry in (
        ("strategies", REGISTRY),
        ("competitor_strategies", COMPETITOR_REGISTRY),
    ):
        full[section] = _validated_strategies(
            section, registry, data.get(section), problems, people
        )

    if not problems:
        problems.extend(_cross_checks(full))
    if problems:
        if len(problems) > PROBLEMS_SHOWN:
            more = len(problems) - PROBLEMS_SHOWN
            problems = [*problems[:PROBLEMS_SHOWN], f"... and {more:_} more problems"]
        lines = "\n  ".join(problems)
        raise ScenarioError(f"{source}: invalid scenario:\n  {lines}")
    return full


def _people(data: Mapping[str, Any]) -> int:
    """The market size at month 0 a file sets (or the default), for messages."""
    simulation = data.get("simulation")
    people = simulation.get("customers") if isinstance(simulation, dict) else None
    if check_value(SCHEMA["simulation"]["customers"], people) or people is None:
        return int(SCHEMA["simulation"]["customers"].default)
    return int(people)


def _without_renamed(
    prefix: str,
    given: Mapping[str, Any],
    renamed: Mapping[str, str],
    people: int,
    problems: list[str],
) -> Mapping[str, Any]:
    """``given`` without settings under an old name, each reported once with what it became."""
    old = [key for key in given if isinstance(key, str) and key in renamed]
    for key in old:
        problems.append(renamed_message(prefix, key, renamed[key], given[key], people))
    return {k: v for k, v in given.items() if k not in old} if old else given


def renamed_message(prefix: str, old: str, new: str, value: Any, people: int) -> str:
    """What an old setting became: its new name per 1,000 people, and the value the file's
    own amount comes to in its market; or, for a plain rename, its new name.

    >>> renamed_message("acquisition", "budget_per_month", "budget_per_month_per_1000_people",
    ...                 8000, 20000)  # doctest: +NORMALIZE_WHITESPACE
    'acquisition.budget_per_month is now acquisition.budget_per_month_per_1000_people, an
    amount per 1,000 people in the market at month 0 (simulation.customers): 8,000 per month
    at 20,000 people = 400 per 1,000; write budget_per_month_per_1000_people: 400'
    """
    if not new.endswith("_per_1000_people"):
        return f"{prefix}.{old} is now {prefix}.{new}, with the same meaning: write {new}: {value}"
    text = f"{prefix}.{old} is now {prefix}.{new}, an amount {PER_1000_PEOPLE}"
    if value is None:
        return f"{text}; null (no limit) stays null: write {new}: null"
    problem = check_value(Field("nonnegative", 0.0), value)
    if problem:
        return f"{text}; the value {problem}"
    per_1000 = value * 1000.0 / people
    return (
        f"{text}: {value:,.6g} per month at {people:,} people = {per_1000:,.6g} per 1,000; "
        f"write {new}: {per_1000:.6g}"
    )


def _validated_strategies(
    section: str,
    registry: Mapping[str, Any],
    given: Any,
    problems: list[str],
    people: int = int(SCHEMA["simulation"]["customers"].default),
) -> dict[str, dict[str, Any]]:
    strategies = {} if given is None else given
    out: dict[str, dict[str, Any]] = {}
    if not isinstance(strategies, dict):
        problems.append(
            f"{section}: must map strategy names to their parameters; got {shown(given)}"
        )
        return out
    problems.extend(name_problems(section, "strategy", strategies, sorted(registry)))
    for name, params in strategies.items():
        if name not in registry:
            continue
        if params is None:
            params = {}
        if not isinstance(params, dict):
            problems.append(
                f"{section}.{name}: must be a mapping of parameters; got {shown(params)}"
            )
            continue
        before = len(problems)
        params = _without_renamed(
            f"{section}.{name}", params, registry[name].renamed, people, problems
        )
        out[name] = _validated_fields(
            f"{section}.{name}", registry[name].parameters, params, problems
        )
        if len(problems) == before:
            problem = registry[name].check(out[name])
            if problem:
                problems.append(f"{section}.{name}: {problem}")
    return out


def _validated_fields(
    prefix: str, fields: Mapping[str, Field | Record], given: Mapping[str, Any], problems: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    problems.extend(name_problems(prefix, "setting", given, fields))
    for key, spec in fields.items():
        path = f"{prefix}.{key}"
        if isinstance(spec, Record):
            out[key] = _validated_records(path, spec, given.get(key), problems)
            continue
        value = copy.deepcopy(given.get(key, spec.default))
        if key in given and given[key] is None and not spec.nullable:
            problems.append(f"{path}: is required; {check_value(spec, 0) or 'a value'}")
            continue
        problem = check_value(spec, value)
        if problem:
            problems.append(f"{path}: {problem}")
            continue
        if spec.kind == "reasons":
            value = {**spec.default, **value}
        if spec.kind in INTEGER_KINDS and value is not None:
            value = int(value)
        out[key] = value
    return out


def _validated_records(
    path: str, spec: Record, given: Any, problems: list[str]
) -> dict[str, dict[str, Any]]:
    if given is None:
        return copy.deepcopy(spec.default)
    if not isinstance(given, dict) or not given:
        problems.append(
            f"{path}: must map {spec.item} names to records of {', '.join(spec.fields)}; "
            f"got {shown(given)}"
        )
        return {}
    if spec.most is not None and len(given) > spec.most:
        problems.append(f"{path}: {len(given):_} {spec.item}s; allowed: at most {spec.most}")
        return {}
    problems.extend(name_problems(path, spec.item, given))
    records = {}
    for name, record in given.items():
        if not isinstance(name, str):
            continue
        if not isinstance(record, dict):
            problems.append(
                f"{path}.{shown_name(name)}: must be a mapping of {', '.join(spec.fields)}; "
                f"got {shown(record)}"
            )
            continue
        records[name] = _validated_fields(
            f"{path}.{shown_name(name)}", spec.fields, record, problems
        )
    return records


def _cross_checks(full: dict[str, Any]) -> list[str]:
    problems = []
    shares = sum(c["budget_share"] for c in full["acquisition"]["channels"].values())
    if shares > 1 + 1e-9:
        problems.append(
            f"acquisition.channels: budget shares add up to {shares:g}; allowed: at most 1"
        )
    ladder = full["ladder"]
    if ladder["demotion_satisfaction"] > min(ladder["promotion_satisfaction"][1:]):
        problems.append(
            "ladder.demotion_satisfaction: must not exceed the satisfaction needed for "
            "promotion (ladder.promotion_satisfaction)"
        )
    tenure = ladder["promotion_tenure_months"]
    if any(b < a for a, b in zip(tenure, tenure[1:], strict=False)):
        problems.append("ladder.promotion_tenure_months: must not decrease up the ladder")
    if tenure[1] < 1:
        problems.append(
            "ladder.promotion_tenure_months: a new customer is a shopper for at least a month; "
            f"the second rung needs a tenure >= 1, got {tenure[1]:g}"
        )
    customers = full["customers"]
    if customers["behaviour"] == "non_contractual" and customers["dropout_a"] <= 0:
        problems.append("customers.dropout_a: must be > 0")
    if customers["behaviour"] == "non_contractual" and full["firm"]["margin_timing"] == "end":
        problems.append(
            "firm.margin_timing: 'end' contradicts customers.behaviour: non_contractual "
            "(customers who buy pay as they buy, before they may drop out); allowed: 'start'"
        )
    market = full["market"]
    ceiling, start = market["expectation_ceiling"], market["expectation_start"]
    if ceiling is not None and market["expectation_drift_per_month"] > 0 and ceiling <= start:
        problems.append(
            f"market.expectation_ceiling ({ceiling:g}) must be above "
            f"market.expectation_start ({start:g}) for expectations to rise by "
            "market.expectation_drift_per_month; allowed: a higher ceiling, null (no "
            "ceiling) or a drift of 0"
        )
    if (
        market["technology_shock_month"] is not None
        and market["technology_shock_rate_per_month"] == 0
    ):
        problems.append(
            f"market.technology_shock_month ({market['technology_shock_month']}) is set but "
            "market.technology_shock_rate_per_month is 0, so the shock does nothing; allowed: "
            "a rate above 0, or technology_shock_month: null"
        )
    simulation, rate = full["simulation"], full["market"]["entry_rate_per_month"]
    people = market_capacity(simulation["customers"], rate, simulation["months"])
    if people > MAX_PEOPLE:
        problems.append(
            f"market.entry_rate_per_month: {rate:g} a month of {simulation['customers']:,} "
            f"people over {simulation['months']:,} months brings the market to {people:,} "
            f"people; allowed: at most {MAX_PEOPLE:_} (lower the rate, "
            "simulation.customers or simulation.months)"
        )
    return problems


def market_capacity(customers: int, entry_rate_per_month: float, months: int) -> int:
    """People in the market by the end of ``months`` months: the ``customers`` of month 0
    and those who enter, ``entry_rate_per_month`` x ``customers`` a month (rounded once,
    over the whole run, so the count never drifts)."""
    return customers + round(entry_rate_per_month * customers * months)


READ_ONLY = (
    "scenario settings are read-only; make a changed copy with "
    "scenario.with_changes({'section.setting': value})"
)


class Settings(SimpleNamespace):
    """One section of a scenario's settings, read by attribute (``params.firm.gross_margin``);
    read-only."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(READ_ONLY)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(READ_ONLY)


class FrozenDict(dict):
    """A mapping of scenario settings that cannot be changed in place."""

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(READ_ONLY)

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        # A deep copy is for changing: it is plain, mutable data.
        return _thawed(self)


class FrozenList(list):
    """A list of scenario settings (a value per rung, say) that cannot be changed in place."""

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(READ_ONLY)

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = remove = pop = clear = sort = reverse = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenList, (list(self),))

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return _thawed(self)


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return FrozenDict({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return FrozenList(_frozen(v) for v in value)
    return value


def _thawed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_thawed(v) for v in value]
    return value


def _namespace(value: Any) -> Any:
    if isinstance(value, dict):
        return Settings(**{k: _namespace(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_namespace(v) for v in value)
    return value
