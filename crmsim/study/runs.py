"""Runs of a study: what one run depends on, how it is simulated, how results are tabled.

A :class:`Run` describes one simulation completely (scenario, parameter
point, replication, seed, size), so it can run anywhere and be stored under
a stable key. :func:`execute` turns it into a plain, JSON-ready result;
:func:`tidy`, :func:`monthly_frame` and :func:`segment_frame` turn results into tables.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmsim.config.fields import Field, unknown_key
from crmsim.config.scenario import Scenario, load_scenario
from crmsim.measures import SEGMENT_DIMENSIONS, SEGMENT_MEASURES, STUDY_MEASURES, STUDY_SERIES

MAX_REPLICATIONS = 10_000
MAX_RUNS = 100_000
"""Largest replications of a study, and largest number of runs in one study (scenarios x
grid points x replications): each run keeps its summary and monthly series in memory."""

REPLICATIONS = Field(
    "positive_count",
    10,
    "runs",
    "Runs per scenario (and grid point); one gives no confidence interval.",
    maximum=MAX_REPLICATIONS,
)
"""The replications of a study, checked like a scenario setting."""


class StudyError(ValueError):
    """A sweep file or study that cannot run: names the file, the field and what is allowed."""


@dataclass(frozen=True)
class Run:
    """Everything one simulation run depends on.

    Attributes:
        scenario: The full scenario settings (defaults included) as a dictionary.
        point: Parameter changes at dotted paths applied to the scenario.
        replication: Replication number.
        seed: Seed of the run.
        months: Months to simulate (None = the scenario's).
        customers: Market size (None = the scenario's).
    """

    scenario: dict[str, Any]
    point: tuple[tuple[str, Any], ...]
    replication: int
    seed: int
    months: int | None = None
    customers: int | None = None

    @property
    def scenario_name(self) -> str:
        """Name of the scenario."""
        return self.scenario["name"]

    @property
    def key(self) -> str:
        """A stable identity of the run: the same description gives the same key."""
        text = json.dumps(
            [self.scenario, self.point, self.replication, self.seed, self.months, self.customers],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def execute(run: Run) -> dict[str, Any]:
    """Simulate one run.

    Args:
        run: The run to simulate.

    Returns:
        A plain, JSON-ready dict: the run's key, scenario, replication, seed and
        parameter point, its study measures, its kept monthly series and its
        segment tables (``segments``: split -> segment -> segment measure; see
        :func:`crmsim.economics.segment_table`), non-finite numbers as None.
    """
    # The engine by its public name, looked up when a run is simulated: the study
    # layer does not depend on where the engine lives, and crmsim can import it
    # without a cycle.
    from crmsim.economics import segment_tables
    from crmsim.engine.model import CRMModel

    scenario = Scenario(run.scenario, source=f"<{run.scenario_name}>")
    if run.point:
        scenario = scenario.with_changes(dict(run.point))
    scenario = scenario_for_months(scenario, run.months)
    model = CRMModel(scenario, rng=run.seed, customers=run.customers)
    model.run(run.months)
    summary = model.summary()
    monthly = model.monthly_series()
    segments = segment_tables(model)
    model.release()
    _collect_finished_models()
    return {
        "key": run.key,
        "scenario": run.scenario_name,
        "replication": run.replication,
        "seed": run.seed,
        "point": dict(run.point),
        "measures": {m: _finite_or_none(summary[m]) for m in STUDY_MEASURES},
        "series": {s: [_finite_or_none(v) for v in monthly[s].tolist()] for s in STUDY_SERIES},
        "segments": {
            by: {
                str(segment): {m.name: _finite_or_none(row[m.name]) for m in SEGMENT_MEASURES}
                for segment, row in table.iterrows()
            }
            for by, table in segments.items()
        },
    }


_finished_since_collection = 0


def scenario_for_months(scenario: Scenario, months: int | None) -> Scenario:
    """The scenario to run for ``months`` months: itself, or, for a longer run, the same
    with ``simulation.months`` raised to them (a renewing market keeps rows for the people
    who enter in each month of ``simulation.months``; a shorter run keeps the scenario's,
    so its people and draws are those of a run of the scenario as it is)."""
    if months is None or months <= scenario.params.simulation.months:
        return scenario
    return scenario.with_changes({"simulation.months": months})


def _collect_finished_models(every: int = 20) -> None:
    """Collect the reference cycles of finished models every ``every`` runs.

    A model and its Mesa agents refer to each other, so Python frees a finished
    model only at a full garbage collection, which may come late; collecting
    every few runs keeps a worker's memory flat over thousands of runs for a
    small cost (a full collection takes a few hundredths of a second).
    """
    global _finished_since_collection
    _finished_since_collection += 1
    if _finished_since_collection >= every:
        _finished_since_collection = 0
        gc.collect()


def replication_seeds(seed: int, replications: int) -> list[int]:
    """Independent seeds for the replications, spawned from one experiment seed.

    Args:
        seed: The experiment seed.
        replications: How many seeds.

    Returns:
        One seed per replication, in [0, 2**63).
    """
    children = np.random.SeedSequence(seed).spawn(replications)
    return [int(child.generate_state(1, np.uint64)[0] % 2**63) for child in children]


def study_runs(
    scenarios: Sequence[Scenario | str],
    grid: Mapping[str, Sequence[Any]] | None = None,
    replications: int = 10,
    seed: int = 2026,
    months: int | None = None,
    customers: int | None = None,
) -> list[Run]:
    """Every run of a scenario x parameter grid x replications study.

    Replication ``k`` has the same seed in every scenario and at every grid
    point (common random numbers). Each grid point is validated up front.

    Args:
        scenarios: Scenarios, scenario files or shipped names (names must differ).
        grid: Dotted path -> values; every combination is a grid point.
        replications: Runs per scenario and grid point.
        seed: Experiment seed.
        months: Months per run (None = each scenario's).
        customers: Market size (None = each scenario's).

    Raises:
        StudyError: Fewer than one replication, or two scenarios of the same name.
        ScenarioError: A scenario or a grid point that is not valid, or ``months``
            or ``customers`` outside what ``simulation.months`` and
            ``simulation.customers`` allow.
    """
    if replications < 1:
        raise StudyError(f"replications must be at least 1; got {replications}")
    if replications > MAX_REPLICATIONS:
        raise StudyError(f"replications must be at most {MAX_REPLICATIONS:_}; got {replications:_}")
    grid_points = math.prod(len(values) for values in (grid or {}).values())
    total = len(scenarios) * grid_points * replications
    if total > MAX_RUNS:
        raise StudyError(
            f"a study of {total:_} runs ({len(scenarios)} scenarios x {grid_points:_} grid "
            f"points x {replications:_} replications); allowed: at most {MAX_RUNS:_} runs"
        )
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    # Sizes are checked as the scenario settings they override, before anything runs,
    # so a study refuses what a single run refuses, with the same message.
    sizes = {"simulation.months": months, "simulation.customers": customers}
    overrides = {path: value for path, value in sizes.items() if value is not None}
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise StudyError(f"scenario names must differ within a study; got {', '.join(names)}")
    grid = dict(grid or {})
    paths = list(grid)
    points = [
        tuple(zip(paths, values, strict=True)) for values in itertools.product(*grid.values())
    ]
    seeds = replication_seeds(seed, replications)
    runs = []
    for scenario in loaded:
        if overrides:
            scenario.with_changes(overrides)
        for point in points:
            if point:
                scenario.with_changes(dict(point))  # validate before anything runs
            for k, run_seed in enumerate(seeds):
                runs.append(Run(scenario.data, point, k, run_seed, months, customers))
    return runs


def tidy(results: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per run: scenario, replication, seed, the parameters and the measures."""
    rows = [
        {"scenario": r["scenario"], "replication": r["replication"], "seed": r["seed"]}
        | r["point"]
        | {m: _nan_if_none(r["measures"][m]) for m in STUDY_MEASURES}
        for r in results
    ]
    return pd.DataFrame(rows)


def monthly_frame(results: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The kept monthly series of every run in long form (scenario, replication, month, ...)."""
    frames = []
    for r in results:
        frame = pd.DataFrame({s: pd.array(v, dtype="Float64") for s, v in r["series"].items()})
        frame = frame.astype(float)
        frame.insert(0, "month", np.arange(len(frame)))
        frame.insert(0, "replication", r["replication"])
        frame.insert(0, "scenario", r["scenario"])
        for path, value in r["point"].items():
            frame[path] = value
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def check_split(by: str) -> None:
    """Refuse a split of the customers that is not one of ``SEGMENT_DIMENSIONS``.

    Raises:
        StudyError: Naming the split, the closest allowed one and every allowed one.
    """
    if by not in SEGMENT_DIMENSIONS:
        raise StudyError(unknown_key("by", "segment split", by, SEGMENT_DIMENSIONS))


def segment_frame(results: Iterable[dict[str, Any]], by: str) -> pd.DataFrame:
    """The segment tables of every run split ``by`` one way, in long form.

    Args:
        results: Results of :func:`execute`.
        by: The split (``crmsim.measures.SEGMENT_DIMENSIONS``).

    Returns:
        One row per run and segment the run has: scenario, replication, seed, the
        parameters, ``segment`` and every segment measure (NaN where undefined).

    Raises:
        StudyError: ``by`` is not a split; the message lists the allowed ones.
    """
    check_split(by)
    rows = [
        {"scenario": r["scenario"], "replication": r["replication"], "seed": r["seed"]}
        | r["point"]
        | {"segment": segment}
        | {m.name: _nan_if_none(values[m.name]) for m in SEGMENT_MEASURES}
        for r in results
        for segment, values in r["segments"][by].items()
    ]
    columns = ["scenario", "replication", "seed", "segment", *(m.name for m in SEGMENT_MEASURES)]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)


def _finite_or_none(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _nan_if_none(value: Any) -> float:
    return float("nan") if value is None else float(value)
