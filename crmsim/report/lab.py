"""The strategy lab, without a screen: what the web page shows, as state in and state out.

A student or a strategist picks a base scenario and one to four strategies
(the firm's or the competitor's), sets each strategy's parameters, chooses
the market size, the months and the replications, and presses Run. Every
option is the base scenario with that one strategy switched on; all options
run with common random numbers (replication k of each uses the same seed),
so each difference from the base is paired.

This module holds everything the page does that is not drawing: the controls
a strategy's declared parameters give (:func:`strategy_controls`), the
checks that put a message next to the control at fault
(:meth:`LabSetup.problems`), the run itself with progress and cancelling
(:func:`run_lab`), the results in plain words (:meth:`LabResult.reading`),
and saving and loading a set-up as a scenario file. The page
(``crmsim.report.app``) only lays these out, so each part is tested here
without a browser.
"""

from __future__ import annotations

import io
import math
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml

from crmsim.config.fields import Field, ScenarioError, check_value, value_bounds
from crmsim.config.scenario import Scenario, load_scenario, shipped_scenarios_dir
from crmsim.config.schema import SCHEMA
from crmsim.measures import run_measure
from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY, Strategy
from crmsim.study.compare import Comparison, compare
from crmsim.study.executors import Executor, make_executor
from crmsim.study.runs import MAX_REPLICATIONS
from crmsim.study.store import RunMemory

MOST_OPTIONS = 4
"""Most strategies compared at once (besides the base)."""

LAB_MEASURES: tuple[str, ...] = (
    "mean_lifetime_clv",
    "retention_rate",
    "value_of_customer_base",
    "total_profit_pv",
)
"""The measures the lab shows for each option, in order (``crmsim.measures``)."""

HEADLINE = "value_of_customer_base"
"""The measure the plain-language reading leads with."""

FIRM = "firm"
COMPETITOR = "competitor"
SECTIONS = {FIRM: "strategies", COMPETITOR: "competitor_strategies"}
"""Where each player's strategies go in a scenario."""


class RunCancelledError(Exception):
    """The user cancelled a run before it finished; no result is shown (the runs it
    finished are remembered by the page's :class:`LabWorkers`)."""


@dataclass(frozen=True)
class Control:
    """One control of the page: a parameter of a strategy, from its declared field.

    Attributes:
        name: The parameter's name in the scenario (``reward_rate``).
        label: What the control says ("Reward rate").
        unit: Unit of the value ("share of spend").
        kind: Kind of value (``crmsim.config.fields``): a number kind, ``bool`` or
            ``choice``.
        default: The value before the user moves it.
        minimum: Lowest value allowed (None: no bound).
        maximum: Highest value allowed (None: no bound).
        choices: The allowed values of a ``choice``.
        nullable: Whether the value may be left empty (``end_month``: never ends).
        help: What the parameter means.
    """

    name: str
    label: str
    unit: str
    kind: str
    default: Any
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...]
    nullable: bool
    help: str

    @property
    def whole(self) -> bool:
        """Whether the value is a whole number (a month, a count)."""
        return self.kind in ("count", "positive_count", "month", "seed")


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def strategy_registry(player: str = FIRM) -> Mapping[str, type[Strategy]]:
    """The strategies a player can run, by name."""
    if player not in SECTIONS:
        raise ValueError(f"player must be one of {', '.join(SECTIONS)}; got {player!r}")
    return REGISTRY if player == FIRM else COMPETITOR_REGISTRY


def strategy_controls(name: str, player: str = FIRM) -> list[Control]:
    """The controls of strategy ``name``'s parameters, in the order it declares them.

    Raises:
        KeyError: No such strategy for that player; the message lists the strategies.
    """
    registry = strategy_registry(player)
    if name not in registry:
        raise KeyError(f"no {player} strategy {name!r}; choose one of {', '.join(registry)}")
    return [_control(key, spec) for key, spec in registry[name].parameters.items()]


def _control(name: str, spec: Field) -> Control:
    lower, upper = value_bounds(spec)
    return Control(
        name=name,
        label=_label(name),
        unit=spec.unit,
        kind=spec.kind,
        default=spec.default,
        minimum=lower,
        maximum=upper,
        choices=spec.choices,
        nullable=spec.nullable,
        help=spec.doc,
    )


@dataclass(frozen=True)
class Option:
    """One option compared with the base: a strategy and the parameters set for it.

    Attributes:
        strategy: The strategy's name.
        player: ``"firm"`` or ``"competitor"``.
        params: Parameters set by the user (the others keep their defaults).
    """

    strategy: str
    player: str = FIRM
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The option's name in tables: the strategy, marked when it is the competitor's."""
        return self.strategy if self.player == FIRM else f"competitor_{self.strategy}"

    def changes(self, base: Scenario) -> dict[str, Any]:
        """The option as changes of the ``base`` scenario (dotted path -> value): the
        strategy switched on (with its defaults) unless the base runs it already, then
        the parameters the user set."""
        section = SECTIONS[self.player]
        changes: dict[str, Any] = {}
        if self.strategy not in base.strategies(section):
            changes[f"{section}.{self.strategy}"] = {}
        changes.update({f"{section}.{self.strategy}.{k}": v for k, v in self.params.items()})
        return changes


@dataclass(frozen=True)
class LabSetup:
    """What the user has chosen: the base, the options and the size of the study.

    Attributes:
        base: A shipped scenario name, or a scenario (a loaded file).
        options: The strategies compared with the base (one to four).
        customers: People in the market.
        months: Months simulated.
        replications: Runs of each option (at least 2, for intervals).
        seed: The study's seed (the same set-up and seed give the same numbers).
    """

    base: str | Scenario = "baseline"
    options: tuple[Option, ...] = ()
    customers: int = 5_000
    months: int = 60
    replications: int = 10
    seed: int = 2026

    def problems(self) -> dict[str, str]:
        """What is wrong, by the control at fault; empty when the set-up can run.

        Keys: ``"base"``, ``"customers"``, ``"months"``, ``"replications"``,
        ``"options"``, and ``"option 1"`` .. ``"option 4"`` (a strategy or its
        parameters; the message names the parameter).
        """
        found: dict[str, str] = {}
        for key in ("customers", "months"):
            problem = check_value(SCHEMA["simulation"][key], getattr(self, key))
            if problem:
                found[key] = f"{_label(key)} {problem}"
        replications = self.replications
        if (
            isinstance(replications, bool)
            or not isinstance(replications, int)
            or not 2 <= replications <= MAX_REPLICATIONS
        ):
            found["replications"] = (
                f"Replications must be a whole number from 2 (for a confidence interval) to "
                f"{MAX_REPLICATIONS:,}; got {replications!r}"
            )
        if not 1 <= len(self.options) <= MOST_OPTIONS:
            found["options"] = (
                f"Choose one to {MOST_OPTIONS} strategies to compare with the base; "
                f"{len(self.options)} chosen"
            )
        try:
            base = self.base_scenario()
        except ScenarioError as error:
            found["base"] = str(error)
            return found
        seen: set[str] = set()
        for number, option in enumerate(self.options, start=1):
            key = f"option {number}"
            if option.name in seen:
                found[key] = f"{option.name} is chosen twice; choose each strategy once"
                continue
            seen.add(option.name)
            problem = _option_problem(base, option)
            if problem:
                found[key] = problem
        return found

    def base_scenario(self) -> Scenario:
        """The base scenario: the shipped one named, or the one given.

        Raises:
            ScenarioError: No shipped scenario of that name; the message lists them.
        """
        if isinstance(self.base, Scenario):
            return self.base
        return load_scenario(self.base)

    def scenarios(self) -> list[Scenario]:
        """The base, then the base with each option's strategy switched on.

        Raises:
            ScenarioError: The set-up has problems (:meth:`problems`); the message
                lists them.
        """
        problems = self.problems()
        if problems:
            raise ScenarioError("; ".join(problems.values()))
        base = self.base_scenario()
        return [base] + [
            base.with_changes(option.changes(base), name=option.name) for option in self.options
        ]

    def option_yaml(self, number: int) -> str:
        """Option ``number`` (1 = the first) as a scenario file, defaults written out:
        ``crmsim run`` and :meth:`from_yaml` read it back."""
        scenario = self.scenarios()[number]
        text = scenario.to_yaml()
        header = (
            f"# Saved from the strategy lab: {scenario.name}, the base scenario "
            f"{self.base_scenario().name} with the {self.options[number - 1].player}'s "
            f"{self.options[number - 1].strategy} strategy.\n"
        )
        return header + text

    @classmethod
    def from_yaml(cls, text: str, source: str = "<uploaded file>", **choices: Any) -> LabSetup:
        """A set-up whose base is a scenario file (a saved option, say: a strategy kept
        on, to try others on top of it).

        Args:
            text: The scenario file's text.
            source: Where it came from, for messages.
            **choices: The rest of the set-up to keep (``options``, ``customers``,
                ``months``, ``replications``, ``seed``).

        Raises:
            ScenarioError: The text is not a valid scenario; the message says what is
                wrong and where.
        """
        try:
            data = yaml.safe_load(io.StringIO(text))
        except yaml.YAMLError as error:
            raise ScenarioError(f"{source}: not a YAML file ({error.__class__.__name__})") from None
        if not isinstance(data, dict):
            raise ScenarioError(
                f"{source}: not a scenario (a scenario file is a mapping of settings, "
                "such as name, description, firm and strategies)"
            )
        return cls(base=Scenario(data, source=source), **choices)


def _option_problem(base: Scenario, option: Option) -> str | None:
    registry = strategy_registry(option.player)
    if option.strategy not in registry:
        return f"no {option.player} strategy {option.strategy!r}; choose one of " + ", ".join(
            registry
        )
    parameters = registry[option.strategy].parameters
    for key, value in option.params.items():
        if key not in parameters:
            return f"{option.strategy} has no parameter {key!r}"
        problem = check_value(parameters[key], value)
        if problem:
            return f"{_label(key)} {problem}"
    try:
        base.with_changes(option.changes(base), name=option.name)
    except ScenarioError as error:
        # A rule across parameters (a strategy that ends before it starts, say): the
        # message's lines after its heading, without the path the option already names.
        lines = [line.strip() for line in str(error).splitlines()[1:]] or [str(error)]
        prefix = f"{SECTIONS[option.player]}.{option.strategy}: "
        return "; ".join(line.removeprefix(prefix) for line in lines)
    return None


def shipped_bases() -> list[str]:
    """The shipped scenarios a user may take as the base, by name."""
    return sorted(path.stem for path in shipped_scenarios_dir().glob("*.yaml"))


@dataclass
class LabResult:
    """A finished comparison and what the page shows of it.

    Attributes:
        setup: The set-up that was run.
        comparison: Every run, its confidence table, paired differences and months.
    """

    setup: LabSetup
    comparison: Comparison

    @property
    def base_name(self) -> str:
        """The base scenario's name in the tables."""
        return str(self.comparison.reference)

    def table(self) -> pd.DataFrame:
        """One row per option (the base first), one column per lab measure: the mean
        and its 95% confidence interval, as text in each measure's unit."""
        wide = self.comparison.wide()
        table = wide[[m for m in LAB_MEASURES if m in wide.columns]]
        return table.rename(columns=lambda m: _header(m)).rename_axis(index=None, columns=None)

    def differences(self) -> pd.DataFrame:
        """One row per option, one column per lab measure: the paired difference from
        the base with its 95% confidence interval, as text."""
        frame = self.comparison.differences
        frame = frame[frame["measure"].isin(LAB_MEASURES)]
        text = frame.apply(
            lambda row: run_measure(row["measure"]).format_interval(
                row["difference"], row["ci_low"], row["ci_high"], signed=True
            ),
            axis=1,
        )
        wide = frame.assign(text=text).pivot(index="scenario", columns="measure", values="text")
        names = [option.name for option in self.setup.options]
        wide = wide.loc[[n for n in names if n in wide.index], [m for m in LAB_MEASURES]]
        return wide.rename(columns=lambda m: _header(m)).rename_axis(index=None, columns=None)

    def numbers(self) -> pd.DataFrame:
        """The same results as numbers, one row per option and measure: mean, interval
        and paired difference from the base (what the CSV download holds)."""
        table = self.comparison.table
        table = table[table["measure"].isin(LAB_MEASURES)][
            ["scenario", "measure", "mean", "ci_low", "ci_high", "replications"]
        ]
        differences = self.comparison.differences[
            ["scenario", "measure", "difference", "ci_low", "ci_high"]
        ].rename(columns={"ci_low": "difference_ci_low", "ci_high": "difference_ci_high"})
        return table.merge(differences, on=["scenario", "measure"], how="left").rename(
            columns={"scenario": "option"}
        )

    def reading(self) -> list[str]:
        """The result in plain words, one sentence per option, e.g. "The loyalty programme
        raises the value of the customer base by 8% [6%, 10%] ..."."""
        differences = self.comparison.differences.set_index(["scenario", "measure"])
        table = self.comparison.table.set_index(["scenario", "measure"])
        base_value = float(table.loc[(self.base_name, HEADLINE), "mean"])
        measure = run_measure(HEADLINE)
        sentences = []
        for option in self.setup.options:
            row = differences.loc[(option.name, HEADLINE)]
            change, low, high = (float(row[k]) for k in ("difference", "ci_low", "ci_high"))
            what = measure.label[0].lower() + measure.label[1:]
            if base_value > 0:
                share = [100 * v / base_value for v in (change, low, high)]
                amount = (
                    f"{abs(share[0]):.0f}% [{share[1]:+.0f}%, {share[2]:+.0f}%] of the base's "
                    f"({measure.format_interval(change, low, high, signed=True)} {measure.unit})"
                )
            else:
                amount = f"{measure.format_interval(change, low, high, signed=True)} {measure.unit}"
            if math.isnan(low) or math.isnan(high):
                verdict = "changes"
            elif low > 0:
                verdict = "raises"
            elif high < 0:
                verdict = "lowers"
            else:
                verdict = "does not clearly change"
            if verdict == "does not clearly change":
                sentence = (
                    f"{option.name}: does not clearly change the {what}: the 95% interval of "
                    f"the change, {measure.format_interval(change, low, high, signed=True)} "
                    f"({measure.unit}), holds both gains and losses."
                )
            else:
                sentence = f"{option.name}: {verdict} the {what} by {amount}."
            sentences.append(sentence)
        return sentences

    def csv(self) -> str:
        """The numbers (:meth:`numbers`) as CSV text, for the download."""
        return self.numbers().to_csv(index=False)


def _header(name: str) -> str:
    measure = run_measure(name)
    return f"{measure.label} ({measure.unit})"


class LabWorkers:
    """Worker processes kept warm from one Run click to the next, and the runs they made.

    Starting processes for every click would cost more than the runs of a small
    study; the page keeps one set and hands it to :func:`run_lab`. The workers
    start at the first run (or at :meth:`start`), and a cancelled or failed run
    stops them (their runs in progress are abandoned at once); the next run starts
    new ones. Results are the same as in one process: each run depends only on its
    own description. One run uses them at a time (a page served to several users
    shares them): a run that finds them busy runs in its own process instead.

    The runs finished are remembered (``remembered``, a
    :class:`crmsim.study.store.RunMemory`): a click that changes one option runs only
    that option again, and the base and the others come back at once; so do the runs a
    cancelled click had finished.

    Args:
        workers: Processes (None: one per core).
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._executor: Executor | None = None
        self.busy = threading.Lock()
        self.remembered = RunMemory()

    def start(self) -> Executor:
        """The running workers, started if they are not."""
        if self._executor is None:
            self._executor = make_executor(self.workers)
        return self._executor

    def stop(self) -> None:
        """Stop the workers (the next run starts new ones)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.close()


def run_lab(
    setup: LabSetup,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    workers: LabWorkers | None = None,
) -> LabResult:
    """Run the set-up: every option ``setup.replications`` times.

    Args:
        setup: What to run.
        progress: Told (runs done, runs in all) after each run.
        cancelled: Asked after each run; True stops the study (:class:`RunCancelledError`).
        workers: Warm worker processes to run on (None: in this process).

    Raises:
        ScenarioError: The set-up has problems (:meth:`LabSetup.problems`).
        RunCancelledError: ``cancelled`` said so before the last run finished.
    """
    scenarios = setup.scenarios()

    def after_each(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        if cancelled is not None and cancelled() and done < total:
            raise RunCancelledError(f"cancelled after {done} of {total} runs")

    def study(executor: Executor | None) -> Comparison:
        return compare(
            scenarios,
            replications=setup.replications,
            seed=setup.seed,
            months=setup.months,
            customers=setup.customers,
            progress=after_each,
            workers=1,
            executor=executor,
            memory=workers.remembered if workers is not None else None,
        )

    if workers is None or not workers.busy.acquire(blocking=False):
        return LabResult(setup, study(None))
    try:
        return LabResult(setup, study(workers.start()))
    except BaseException:
        # A pool whose results stopped being read has been terminated: start afresh.
        workers.stop()
        raise
    finally:
        workers.busy.release()
