"""Studies: replications, comparisons, sweeps and sensitivity, on any executor.

A single run is an anecdote. A study here is a list of runs (scenario x
parameter point x replication), each fully described by a :class:`Run` and
seeded from one experiment seed:

- **Replications** get independent random streams spawned with
  ``numpy.random.SeedSequence(seed).spawn`` (:func:`replication_seeds`).
- **Common random numbers**: replication ``k`` of every scenario and every
  parameter point uses the same seed, so the scenarios of one comparison meet
  the same customers and the same luck and their differences are paired
  (:func:`compare`, :func:`paired_differences`).
- **Sweeps** (:func:`sweep`, :func:`load_sweep`) run a scenario x parameter
  grid given as dotted paths into the scenario; **sensitivity**
  (:func:`sensitivity`) measures elasticities of customer value (or, inside a larger
  study, :func:`lever_scenarios` and :func:`elasticity_table`).
- **Executors**: serial, local processes, or a Dask distributed cluster
  (:func:`make_executor`; Dask is optional: ``pip install 'crmsim[dask]'``);
  results are identical whichever runs them, because each run depends only
  on its own description.
- **Resumable**: with an output folder every finished run is stored at once
  (atomically) under ``runs/``; running the study again computes only what is
  missing. The same atomic writer (:mod:`crmsim.study.store`) writes every
  output file of the command line; an :class:`OutputFolder` is checked before
  a study runs and never mixes the results of two studies.
- Memory stays flat in the number of runs: each run returns its study
  measures, a few monthly series and its segment tables (``crmsim.measures.
  STUDY_MEASURES``, ``STUDY_SERIES`` and ``SEGMENT_MEASURES`` by channel, cohort,
  rung and programme membership), never its customer table.

Modules: ``runs`` (what a run is, executing it, tables of results),
``executors``, ``store``, ``stats`` (confidence intervals), ``compare``,
``sweep`` and ``sensitivity``.
"""

from crmsim.study.compare import (
    Comparison,
    compare,
    confidence_table,
    paired_differences,
    segment_comparison,
)
from crmsim.study.executors import (
    DaskExecutor,
    Executor,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
    run_all,
    run_study,
)
from crmsim.study.flags import flag_tradeoff
from crmsim.study.runs import (
    MAX_REPLICATIONS,
    MAX_RUNS,
    REPLICATIONS,
    Run,
    StudyError,
    check_split,
    execute,
    monthly_frame,
    replication_seeds,
    scenario_for_months,
    segment_frame,
    study_runs,
    tidy,
)
from crmsim.study.sensitivity import (
    LEVERS,
    elasticity_table,
    lever_changes,
    lever_scenarios,
    sensitivity,
)
from crmsim.study.stats import mean_confidence_interval, paired_interval, welch_interval
from crmsim.study.store import (
    OutputError,
    OutputFolder,
    ResultStore,
    atomic_folder,
    save_figure_atomically,
    write_frame_atomically,
    write_text_atomically,
)
from crmsim.study.sweep import SweepResult, SweepSpec, load_sweep, sweep

__all__ = [
    "LEVERS",
    "MAX_REPLICATIONS",
    "MAX_RUNS",
    "REPLICATIONS",
    "Comparison",
    "DaskExecutor",
    "Executor",
    "OutputError",
    "OutputFolder",
    "ProcessExecutor",
    "flag_tradeoff",
    "ResultStore",
    "Run",
    "SerialExecutor",
    "StudyError",
    "SweepResult",
    "SweepSpec",
    "atomic_folder",
    "check_split",
    "compare",
    "confidence_table",
    "execute",
    "lever_changes",
    "load_sweep",
    "make_executor",
    "mean_confidence_interval",
    "monthly_frame",
    "paired_differences",
    "paired_interval",
    "replication_seeds",
    "run_all",
    "run_study",
    "save_figure_atomically",
    "scenario_for_months",
    "segment_comparison",
    "segment_frame",
    "sensitivity",
    "elasticity_table",
    "lever_scenarios",
    "study_runs",
    "sweep",
    "tidy",
    "welch_interval",
    "write_frame_atomically",
    "write_text_atomically",
]
