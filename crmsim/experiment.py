"""Experiments: replications, comparisons, sweeps and sensitivity, on any executor.

A single run is an anecdote. A study here is a list of runs (scenario x
parameter point x replication), each fully described by a :class:`Run` and
seeded from one experiment seed:

- **Replications** get independent random streams spawned with
  ``numpy.random.SeedSequence(seed).spawn``.
- **Common random numbers**: replication ``k`` of every scenario and every
  parameter point uses the same seed, so the scenarios of one comparison meet
  the same customers and the same luck and their differences are paired
  (:func:`paired_differences`).
- **Sweeps** (:func:`sweep`, :func:`load_sweep`) run a scenario x parameter
  grid given as dotted paths into the scenario; **sensitivity**
  (:func:`sensitivity`) measures elasticities of customer value.
- **Executors**: serial, local processes, or a Dask distributed cluster
  (:func:`make_executor`); results are identical whichever runs them, because
  each run depends only on its own description.
- **Resumable**: with an output folder every finished run is stored at once
  (atomically) under ``runs/``; running the study again computes only what is
  missing.
- Memory stays flat in the number of runs: each run returns its summary
  measures and a few monthly series, never its customer table.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from crmsim.config.fields import ScenarioError
from crmsim.config.scenario import Scenario, load_scenario

MEASURES: dict[str, str] = {
    "mean_clv": "Mean realised CLV per customer (currency)",
    "customer_equity": "Customer equity at the end (currency)",
    "retention_rate": "Retention rate (per month)",
    "churn_rate": "Churn rate (per month)",
    "active_customers": "Active customers at the end",
    "total_profit_pv": "Discounted profit of the run (currency)",
    "value_of_customer_base": "Discounted profit plus the discounted equity left (currency)",
    "pareto_share_top20": "Profit share of the top 20% of customers",
}
"""Measures reported for every run, with the label used in tables and figures."""

SERIES: tuple[str, ...] = ("active", "retention_rate", "churn_rate", "profit", "customer_equity")
"""Monthly series kept for every run (for confidence bands over time)."""


class StudyError(ValueError):
    """A sweep file or study that cannot run: names the file, the field and what is allowed."""


# --------------------------------------------------------------------- runs
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
    """Simulate one run; return its measures and monthly series (a plain, JSON-ready dict)."""
    from crmsim.engine.model import CRMModel

    scenario = Scenario(run.scenario, source=f"<{run.scenario_name}>")
    if run.point:
        scenario = scenario.with_changes(dict(run.point))
    model = CRMModel(scenario, rng=run.seed, customers=run.customers)
    model.run(run.months)
    summary = model.summary()
    monthly = model.monthly_series()
    model.release()
    _collect_finished_models()
    return {
        "key": run.key,
        "scenario": run.scenario_name,
        "replication": run.replication,
        "seed": run.seed,
        "point": dict(run.point),
        "measures": {m: _finite_or_none(summary[m]) for m in MEASURES},
        "series": {s: [_finite_or_none(v) for v in monthly[s].tolist()] for s in SERIES},
    }


_finished_since_collection = 0


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
    """Independent seeds for the replications, spawned from one experiment seed."""
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
    """
    if replications < 1:
        raise StudyError(f"replications must be at least 1; got {replications}")
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
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
        for point in points:
            if point:
                scenario.with_changes(dict(point))  # validate before anything runs
            for k, run_seed in enumerate(seeds):
                runs.append(Run(scenario.data, point, k, run_seed, months, customers))
    return runs


# ---------------------------------------------------------------- executors
class SerialExecutor:
    """Runs one after another in this process."""

    workers = 1

    def map_unordered(self, runs: Sequence[Run]) -> Iterator[dict[str, Any]]:
        """Yield results as they finish."""
        for run in runs:
            yield execute(run)

    def close(self) -> None:
        """Nothing to release."""


class ProcessExecutor:
    """Runs in local worker processes (default: one per core).

    Workers start from a server process that has already imported crmsim
    (``forkserver``), so they start fast and do not inherit a notebook's threads.
    """

    def __init__(self, workers: int | None = None) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers or os.cpu_count() or 1
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crmsim.experiment", "crmsim.engine.model"])
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)

    def map_unordered(self, runs: Sequence[Run]) -> Iterator[dict[str, Any]]:
        """Yield results as they finish."""
        from concurrent.futures import as_completed

        futures = [self._pool.submit(execute, run) for run in runs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Stop the workers."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Runs on a Dask distributed cluster (``tcp://host:port`` of its scheduler).

    Every worker needs crmsim installed (the same version), as for any Dask job.
    """

    def __init__(self, address: str) -> None:
        from distributed import Client

        try:
            self._client = Client(address, timeout="10s")
        except OSError as error:
            raise StudyError(
                f"cannot reach the Dask scheduler at {address} ({error}); "
                "give --scheduler the tcp://host:port a running scheduler listens on"
            ) from None
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    def map_unordered(self, runs: Sequence[Run]) -> Iterator[dict[str, Any]]:
        """Yield results as they finish."""
        from distributed import as_completed

        futures = self._client.map(execute, list(runs), key=[f"crmsim-{r.key}" for r in runs])
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            self._client.cancel(futures)

    def close(self) -> None:
        """Disconnect from the cluster (the cluster keeps running)."""
        self._client.close()


Executor = SerialExecutor | ProcessExecutor | DaskExecutor


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor for a study.

    Args:
        workers: Local processes (None = all cores; 1 = run in this process).
        scheduler: Address of a Dask scheduler; overrides ``workers``.
    """
    if scheduler:
        return DaskExecutor(scheduler)
    if workers is not None and workers < 1:
        raise StudyError(f"workers must be at least 1; got {workers}")
    if workers == 1 or (workers is None and (os.cpu_count() or 1) == 1):
        return SerialExecutor()
    return ProcessExecutor(workers)


# ------------------------------------------------------------------ storage
class ResultStore:
    """Finished runs of a study, one JSON file per run under ``folder/runs``.

    Each file is written to a temporary name and renamed into place, so a run
    is either stored whole or not at all; an interrupted study keeps every
    finished run.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.runs = self.folder / "runs"
        self.runs.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """File of the run with this key."""
        return self.runs / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """A stored run, or None (a damaged file counts as missing)."""
        try:
            return json.loads(self.path(key).read_text())
        except (OSError, ValueError):
            return None

    def save(self, result: dict[str, Any]) -> None:
        """Store one run atomically."""
        write_atomically(self.path(result["key"]), json.dumps(result))


def write_atomically(path: Path, text: str) -> None:
    """Write text to ``path`` via a temporary file and a rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_frame_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV atomically."""
    write_atomically(path, frame.to_csv(index=False))


def run_all(
    runs: Sequence[Run],
    executor: Executor | None = None,
    store: ResultStore | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Execute the runs that are not stored yet; return every result, in the order of ``runs``.

    Args:
        runs: The study's runs.
        executor: Where to run them (default: serial).
        store: Where finished runs are kept (resumable); None keeps them in memory only.
        progress: Show a progress bar (runs done, time left) in a terminal or notebook.
    """
    executor = executor or SerialExecutor()
    results: dict[str, dict[str, Any]] = {}
    if store is not None:
        for run in runs:
            stored = store.load(run.key)
            if stored is not None:
                results[run.key] = stored
    missing = list({run.key: run for run in runs if run.key not in results}.values())
    bar = None
    if progress and missing:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(missing), desc="runs", unit="run", smoothing=0.1)
    try:
        for result in executor.map_unordered(missing):
            if store is not None:
                store.save(result)
            results[result["key"]] = result
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return [results[run.key] for run in runs]


def tidy(results: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per run: scenario, replication, seed, the parameters and the measures."""
    rows = [
        {"scenario": r["scenario"], "replication": r["replication"], "seed": r["seed"]}
        | r["point"]
        | {m: _nan_if_none(r["measures"][m]) for m in MEASURES}
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


# ------------------------------------------------------------- comparisons
@dataclass
class Comparison:
    """Results of comparing scenarios over replications.

    Attributes:
        runs: One row per run: scenario, replication, seed and every measure.
        table: One row per scenario and measure: mean, 95% CI, standard error.
        monthly: One row per scenario, replication and month: the kept monthly series.
        differences: Paired differences of each scenario from the first one.
    """

    runs: pd.DataFrame
    table: pd.DataFrame
    monthly: pd.DataFrame
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)

    def wide(self) -> pd.DataFrame:
        """The table with one row per scenario and 'mean [low, high]' text per measure."""
        cells = self.table.assign(
            text=lambda t: t.apply(
                lambda row: f"{_fmt(row['mean'])} [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]",
                axis=1,
            )
        )
        wide = cells.pivot(index="scenario", columns="measure", values="text")
        order = [m for m in MEASURES if m in wide.columns]
        scenarios = list(dict.fromkeys(self.table["scenario"]))
        return wide.loc[scenarios, order]


def compare(
    scenarios: Sequence[Scenario | str],
    replications: int = 10,
    seed: int = 2026,
    months: int | None = None,
    customers: int | None = None,
    progress: bool = False,
    workers: int | None = 1,
    scheduler: str | None = None,
    out: str | Path | None = None,
) -> Comparison:
    """Run each scenario ``replications`` times with common random numbers.

    Args:
        scenarios: Scenarios, scenario files or shipped scenario names; the first
            is the reference for paired differences.
        replications: Runs per scenario (at least 2 for a confidence interval).
        seed: Experiment seed; replication k of every scenario gets the same spawned seed.
        months: Override of the months simulated.
        customers: Override of the market size.
        progress: Show a progress bar.
        workers: Local processes (1 = in this process; None = all cores).
        scheduler: Dask scheduler address (overrides ``workers``).
        out: Folder to keep finished runs in (resumable); None keeps them in memory.
    """
    if replications < 2:
        raise StudyError(
            f"replications must be at least 2 for a confidence interval; got {replications}"
        )
    runs = study_runs(scenarios, None, replications, seed, months, customers)
    results = _run_study(runs, workers, scheduler, out, progress)
    frame = tidy(results)
    return Comparison(
        runs=frame,
        table=confidence_table(frame),
        monthly=monthly_frame(results),
        differences=paired_differences(frame),
    )


def confidence_table(
    runs: pd.DataFrame, by: Sequence[str] = ("scenario",), level: float = 0.95
) -> pd.DataFrame:
    """Mean, standard error and t-based confidence interval of each measure per group."""
    records = []
    for group_key, group in runs.groupby(list(by), sort=False):
        labels = dict(
            zip(by, group_key if isinstance(group_key, tuple) else (group_key,), strict=True)
        )
        for measure in MEASURES:
            low, mean, high, se = mean_confidence_interval(group[measure].to_numpy(), level)
            records.append(
                labels
                | {
                    "measure": measure,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "standard_error": se,
                    "replications": len(group),
                }
            )
    return pd.DataFrame(records)


def mean_confidence_interval(
    values: np.ndarray, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Lower bound, mean, upper bound and standard error of the mean (Student t)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = values.size
    if n == 0:
        return (np.nan, np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if n < 2:
        return (np.nan, mean, np.nan, np.nan)
    se = float(values.std(ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
    return (mean - half, mean, mean + half, se)


def paired_differences(
    runs: pd.DataFrame, reference: str | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Differences of each scenario from the reference, paired by replication.

    With common random numbers, replication k of two scenarios met the same
    customers and luck, so the difference of each pair removes most of the
    noise. The unpaired (Welch) interval is reported beside it for contrast.

    Returns:
        One row per scenario and measure: mean difference, paired CI, unpaired CI.
    """
    scenarios = list(dict.fromkeys(runs["scenario"]))
    if not scenarios:
        return pd.DataFrame()
    reference = reference or scenarios[0]
    base = runs[runs["scenario"] == reference].set_index("replication").sort_index()
    records = []
    for scenario in scenarios:
        if scenario == reference:
            continue
        other = runs[runs["scenario"] == scenario].set_index("replication").sort_index()
        common = base.index.intersection(other.index)
        for measure in MEASURES:
            a = other.loc[common, measure].to_numpy(float)
            b = base.loc[common, measure].to_numpy(float)
            low, mean, high, se = mean_confidence_interval(a - b, level)
            u_low, u_high = welch_interval(a, b, level)
            records.append(
                {
                    "scenario": scenario,
                    "reference": reference,
                    "measure": measure,
                    "difference": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "standard_error": se,
                    "unpaired_ci_low": u_low,
                    "unpaired_ci_high": u_high,
                    "replications": len(common),
                }
            )
    return pd.DataFrame(records)


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of mean(a) - mean(b) treating the samples as independent."""
    a = a[np.isfinite(a)]
    b = b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return (np.nan, np.nan)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return (float(a.mean() - b.mean()),) * 2
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * se
    diff = float(a.mean() - b.mean())
    return (diff - half, diff + half)


# -------------------------------------------------------------------- sweeps
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

    Raises:
        StudyError: With the file, the field and what is allowed.
    """
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise StudyError(f"{file}: cannot read the sweep file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise StudyError(f"{file}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise StudyError(f"{file}: a sweep file must be a mapping of {', '.join(SWEEP_KEYS)}")
    problems = [
        f"{k}: unknown field; allowed: {', '.join(SWEEP_KEYS)}" for k in data if k not in SWEEP_KEYS
    ]
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
    for key, lowest in (("replications", 1), ("seed", 0), ("months", 1), ("customers", 1)):
        value = data.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < lowest
        ):
            problems.append(f"{key}: must be a whole number >= {lowest}; got {value!r}")
    if problems:
        raise StudyError(f"{file}: invalid sweep:\n  " + "\n  ".join(problems))
    base = file.parent
    resolved = [str(base / s) if (base / s).exists() else s for s in scenarios]
    spec = SweepSpec(
        name=data.get("name") or file.stem,
        scenarios=resolved,
        parameters=parameters,
        replications=data.get("replications") or 10,
        seed=data.get("seed", 2026),
        months=data.get("months"),
        customers=data.get("customers"),
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
    out: str | Path | None = None,
    progress: bool = True,
) -> SweepResult:
    """Run a sweep, keeping finished runs in ``out`` so an interrupted sweep resumes.

    Args:
        spec: The sweep (see :func:`load_sweep`, or build a :class:`SweepSpec`).
        replications: Override of the spec's replications.
        workers: Local processes (None = all cores, 1 = in this process).
        scheduler: Dask scheduler address (overrides ``workers``).
        out: Folder for the runs and the tables (``runs.csv``, ``summary.csv``).
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
    results = _run_study(runs, workers, scheduler, out, progress)
    frame = tidy(results)
    paths = list(spec.parameters)
    table = confidence_table(frame, by=("scenario", *paths))
    result = SweepResult(frame, table, monthly_frame(results), paths)
    if out is not None:
        folder = Path(out)
        write_frame_atomically(frame, folder / "runs.csv")
        write_frame_atomically(table, folder / "summary.csv")
    return result


# --------------------------------------------------------------- sensitivity
LEVERS: dict[str, str] = {
    "retention": "+1% retention (annual)",
    "margin": "+1% margin",
    "acquisition_cost": "-1% acquisition cost",
}


def lever_changes(scenario: Scenario, lever: str, step: float = 0.01) -> dict[str, Any]:
    """Scenario changes that move one lever of customer value by ``step`` (1% = 0.01).

    - retention: every chance of leaving scaled so that the baseline's yearly
      retention rises by ``step`` (relative), as in Gupta, Lehmann & Stuart (2004);
    - margin: the margin each customer brings per month (gross margin on sales less
      the cost to serve) up by ``step`` (relative): both are scaled by ``1 + step``;
    - acquisition cost: the acquisition budget and every cost per contact down by
      ``step``, so the same prospects are reached for less.
    """
    p = scenario.params
    if lever == "retention":
        churn = _baseline_monthly_churn(scenario)
        yearly = (1.0 - churn) ** 12
        target_monthly = min((yearly * (1.0 + step)) ** (1.0 / 12.0), 0.999999)
        scale = (1.0 - target_monthly) / churn if churn > 0 else 1.0
        return {"firm.churn_scale": p.firm.churn_scale * scale}
    if lever == "margin":
        return {
            "firm.gross_margin": min(p.firm.gross_margin * (1.0 + step), 1.0),
            "firm.cost_to_serve_per_month": p.firm.cost_to_serve_per_month * (1.0 + step),
        }
    if lever == "acquisition_cost":
        channels = {
            name: spec | {"cost_per_contact": spec["cost_per_contact"] * (1.0 - step)}
            for name, spec in scenario.data["acquisition"]["channels"].items()
        }
        return {
            "acquisition.budget_per_month": p.acquisition.budget_per_month * (1.0 - step),
            "acquisition.channels": channels,
        }
    raise StudyError(f"unknown lever {lever!r}; allowed: {', '.join(LEVERS)}")


def _baseline_monthly_churn(scenario: Scenario) -> float:
    """Monthly chance of leaving in a short seeded pilot run (to size the retention lever)."""
    from crmsim.engine.model import CRMModel

    months = min(scenario.params.simulation.months, 60)
    customers = min(scenario.params.simulation.customers, 10_000)
    model = CRMModel(scenario, rng=0, customers=customers).run(months)
    return 1.0 - float(model.summary()["retention_rate"])


def sensitivity(
    scenario: Scenario | str,
    replications: int = 10,
    seed: int = 2026,
    step: float = 0.01,
    measure: str = "value_of_customer_base",
    months: int | None = None,
    customers: int | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Elasticities of customer value to retention, margin and acquisition cost.

    Each lever is moved by ``step`` and the change in ``measure`` (by default
    the discounted profit of the run plus the equity left at the end) is
    measured against the unchanged scenario, replication by replication with
    common random numbers.

    Returns:
        One row per lever: the lever, its label, the mean percent change of the
        measure per percent of lever (the elasticity) and its 95% CI.
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    overrides = {"simulation.months": months, "simulation.customers": customers}
    base = base.with_changes({k: v for k, v in overrides.items() if v is not None})
    variants = [base]
    for lever in LEVERS:
        variants.append(base.with_changes(lever_changes(base, lever, step), name=lever))
    runs = study_runs(variants, None, replications, seed, months, customers)
    results = _run_study(runs, workers, scheduler, out, progress)
    frame = tidy(results)
    reference = frame[frame["scenario"] == base.name].set_index("replication")[measure]
    records = []
    for lever, label in LEVERS.items():
        moved = frame[frame["scenario"] == lever].set_index("replication")[measure]
        relative = (moved / reference - 1.0) / step
        low, mean, high, se = mean_confidence_interval(relative.to_numpy(float))
        records.append(
            {
                "lever": lever,
                "label": label,
                "elasticity": mean,
                "ci_low": low,
                "ci_high": high,
                "standard_error": se,
                "replications": len(relative),
                "measure": measure,
            }
        )
    return pd.DataFrame(records)


# -------------------------------------------------------------------- helpers
def _run_study(
    runs: Sequence[Run],
    workers: int | None,
    scheduler: str | None,
    out: str | Path | None,
    progress: bool,
) -> list[dict[str, Any]]:
    executor = make_executor(workers, scheduler)
    try:
        store = ResultStore(out) if out is not None else None
        return run_all(runs, executor, store, progress)
    finally:
        executor.close()


def _finite_or_none(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _nan_if_none(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "nan"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.4f}"
