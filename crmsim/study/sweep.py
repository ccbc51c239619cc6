"""Sweeps: scenarios x a grid of parameter values x replications, declared in a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crmsim.config.fields import Field, ScenarioError, check_value, name_problem, name_problems
from crmsim.config.reading import read_yaml
from crmsim.config.scenario import resolve_sweep_path
from crmsim.config.schema import SCHEMA
from crmsim.study.compare import confidence_table
from crmsim.study.executors import run_study
from crmsim.study.runs import REPLICATIONS, StudyError, monthly_frame, study_runs, tidy
from crmsim.study.store import OutputFolder, atomic_folder


@dataclass
class SweepSpec:
    """A sweep: scenarios x a parameter grid x replications.

    Attributes:
        name: Name of the study (default: the file name).
        scenarios: Scenario files or shipped names.
        parameters: Dotted path -> list of values.
        replications: Runs per scenario and grid point.
        seed: Experiment seed.
        months: Months per run (None = each scenario's).
        customers: Market size (None = each scenario's).
    """

    name: str
    scenarios: list[str]
    parameters: dict[str, list[Any]]
    replications: int = 10
    seed: int = 2026
    months: int | None = None
    customers: int | None = None


SWEEP_KEYS = ("name", "scenarios", "parameters", "replications", "seed", "months", "customers")
"""Fields of a sweep file."""

_NUMBER_FIELDS: dict[str, Field] = {
    "replications": REPLICATIONS,
    "seed": Field("seed", SweepSpec.seed),
    "months": SCHEMA["simulation"]["months"],
    "customers": SCHEMA["simulation"]["customers"],
}
"""The whole-number fields of a sweep file; left out or null, each takes the spec's default."""


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file.

    Example::

        name: reward_rate
        scenarios: [loyalty_program]
        parameters:
          strategies.loyalty_program.reward_rate: [0.01, 0.02, 0.05]
        replications: 10
        seed: 2026
        months: 60
        customers: 10000

    Scenario files are looked up beside the sweep file first.

    Args:
        path: The sweep file (YAML), or the name of a shipped sweep (``"reward_rate"``).

    Raises:
        StudyError: With the file, the field and what is allowed.
    """
    try:
        file = resolve_sweep_path(path)
        data = read_yaml(file, "sweep")
    except ScenarioError as error:
        raise StudyError(str(error)) from None
    if not isinstance(data, dict):
        raise StudyError(f"{file}: a sweep file must be a mapping of {', '.join(SWEEP_KEYS)}")
    problems = name_problems("", "field", data, SWEEP_KEYS)
    name = data.get("name")
    if name is not None and name_problem(name):
        problems.append(f"name: {name_problem(name)}")
    scenarios = data.get("scenarios")
    if isinstance(scenarios, str):
        scenarios = [scenarios]
    if (
        not isinstance(scenarios, list)
        or not scenarios
        or not all(isinstance(s, str) for s in scenarios)
    ):
        problems.append("scenarios: must be a list of scenario files or shipped names")
        scenarios = []
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(
        isinstance(v, list) and v for v in parameters.values()
    ):
        problems.append("parameters: must map dotted paths to non-empty lists of values")
        parameters = {}
    numbers = {}
    for key, spec in _NUMBER_FIELDS.items():
        value = data.get(key)
        if value is None:
            continue
        problem = check_value(spec, value)
        if problem:
            problems.append(f"{key}: {problem}")
        else:
            numbers[key] = int(value)
    if problems:
        raise StudyError(f"{file}: invalid sweep:\n  " + "\n  ".join(problems))
    base = file.parent
    resolved = [str(base / s) if (base / s).exists() else s for s in scenarios]
    spec = SweepSpec(
        name=data.get("name") or file.stem, scenarios=resolved, parameters=parameters, **numbers
    )
    try:
        study_runs(spec.scenarios, spec.parameters, 1, spec.seed, spec.months, spec.customers)
    except ScenarioError as error:
        raise StudyError(f"{file}: {error}") from None
    return spec


@dataclass
class SweepResult:
    """Results of a sweep.

    Attributes:
        runs: The tidy table: one row per run (parameters and measures as columns).
        table: Mean and 95% CI of each measure per scenario and grid point.
        monthly: The kept monthly series of every run.
        parameters: The swept dotted paths.
    """

    runs: pd.DataFrame
    table: pd.DataFrame
    monthly: pd.DataFrame
    parameters: list[str]


def sweep(
    spec: SweepSpec,
    replications: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | OutputFolder | None = None,
    progress: bool = True,
) -> SweepResult:
    """Run a sweep, keeping finished runs in ``out`` so an interrupted sweep resumes.

    Args:
        spec: The sweep (see :func:`load_sweep`, or build a :class:`SweepSpec`).
        replications: Override of the spec's replications.
        workers: Local processes (None = all cores, 1 = in this process).
        scheduler: Dask scheduler address (overrides ``workers``).
        out: Folder for the runs and the tables (``runs.csv``, ``summary.csv`` and
            ``monthly.csv``, written together once every run is done).
        progress: Show a progress bar.
    """
    runs = study_runs(
        spec.scenarios,
        spec.parameters,
        replications or spec.replications,
        spec.seed,
        spec.months,
        spec.customers,
    )
    results = run_study(runs, workers, scheduler, out, progress)
    frame = tidy(results)
    paths = list(spec.parameters)
    table = confidence_table(frame, by=("scenario", *paths))
    result = SweepResult(frame, table, monthly_frame(results), paths)
    if out is not None:
        with atomic_folder(out) as folder:
            frame.to_csv(folder / "runs.csv", index=False)
            table.to_csv(folder / "summary.csv", index=False)
            result.monthly.to_csv(folder / "monthly.csv", index=False)
    return result
