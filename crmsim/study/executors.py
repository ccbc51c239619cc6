"""Where the runs of a study execute: in this process, on local processes or on Dask.

Results are identical whichever executor runs them, because each run depends
only on its own description (:class:`crmsim.study.Run`). Dask is optional
(``pip install 'crmsim[dask]'``) and imported only when a scheduler is used.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from crmsim.study.runs import Run, StudyError, execute
from crmsim.study.store import OutputFolder, ResultStore, RunMemory

Progress = bool | Callable[[int, int], None]
"""How a study shows its progress: a bar (True), nothing (False), or a function told
(runs done, runs in all) after each run."""

DASK_MISSING = (
    "running on a Dask scheduler needs dask and distributed, which are not installed; "
    "install them with: pip install 'crmsim[dask]'"
)
"""What to do when a scheduler is given but Dask is not installed."""


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
    They leave Ctrl-C to the main process, which stops them at once when it is
    interrupted (or stops reading results early) and keeps what was finished.

    Args:
        workers: Number of processes (None = one per core).
    """

    def __init__(self, workers: int | None = None) -> None:
        import multiprocessing

        self.workers = workers or os.cpu_count() or 1
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crmsim", "crmsim.study.executors"])
        # A multiprocessing pool rather than concurrent.futures: it can be
        # terminated, so an interrupt does not wait for the runs in progress.
        self._pool = context.Pool(self.workers, initializer=_leave_interrupts_to_the_parent)

    def map_unordered(self, runs: Sequence[Run]) -> Iterator[dict[str, Any]]:
        """Yield results as they finish."""
        try:
            yield from self._pool.imap_unordered(execute, runs)
        except BaseException:
            self._pool.terminate()
            raise

    def close(self) -> None:
        """Stop the workers."""
        self._pool.close()
        self._pool.join()


def _leave_interrupts_to_the_parent() -> None:
    """Make a worker ignore Ctrl-C, which a terminal sends to every process of the command.

    The main process then decides what an interrupt means (keep the finished
    runs, stop the workers); a worker interrupted on its own would print a
    traceback and hand back a half-done run.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class DaskExecutor:
    """Runs on a Dask distributed cluster (``tcp://host:port`` of its scheduler).

    Every worker needs crmsim installed (the same version), as for any Dask job.

    Args:
        address: Address of the cluster's scheduler.

    Raises:
        StudyError: Dask is not installed, or the scheduler cannot be reached.
    """

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise StudyError(DASK_MISSING) from None
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

    Raises:
        StudyError: Fewer than one worker; Dask missing or its scheduler unreachable.
    """
    if scheduler:
        return DaskExecutor(scheduler)
    if workers is not None and workers < 1:
        raise StudyError(f"workers must be at least 1; got {workers}")
    if workers == 1 or (workers is None and (os.cpu_count() or 1) == 1):
        return SerialExecutor()
    return ProcessExecutor(workers)


def run_all(
    runs: Sequence[Run],
    executor: Executor | None = None,
    store: ResultStore | RunMemory | None = None,
    progress: Progress = True,
) -> list[dict[str, Any]]:
    """Execute the runs that are not stored yet; return every result, in the order of ``runs``.

    Args:
        runs: The study's runs.
        executor: Where to run them (default: serial).
        store: Where finished runs are kept (a folder: resumable; a :class:`RunMemory`:
            remembered for the next study); None keeps them for this study only.
        progress: Show a progress bar (runs done, time left) in a terminal or notebook,
            or a function told ``(runs done, runs in all)`` after each run (a web page's
            bar); an exception it raises stops the study, its workers with it.
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
    tell = progress if callable(progress) else None
    if progress is True and missing:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(missing), desc="runs", unit="run", smoothing=0.1)
    finished = executor.map_unordered(missing)
    try:
        for result in finished:
            if store is not None:
                store.save(result)
            results[result["key"]] = result
            if bar is not None:
                bar.update(1)
            if tell is not None:
                tell(len(results), len(runs))
    finally:
        # Closed here, not when garbage collected: an executor stops its workers
        # as soon as nobody reads its results any more.
        finished.close()
        if bar is not None:
            bar.close()
    return [results[run.key] for run in runs]


def run_study(
    runs: Sequence[Run],
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | OutputFolder | None = None,
    progress: Progress = True,
    executor: Executor | None = None,
    memory: RunMemory | None = None,
) -> list[dict[str, Any]]:
    """Execute a study's runs on a fresh executor, which is closed afterwards, or on
    ``executor``, which is left running (workers kept warm between studies).

    Args:
        runs: The study's runs.
        workers: Local processes (None = all cores; 1 = in this process).
        scheduler: Dask scheduler address (overrides ``workers``).
        out: Folder to keep finished runs in (resumable); None keeps them in memory.
            An :class:`OutputFolder` is claimed for these runs before any runs.
        progress: Show a progress bar, or tell a function (see :func:`run_all`).
        executor: Workers already running (``workers`` and ``scheduler`` are then not
            used); the caller closes it.
        memory: Runs remembered from earlier studies, given back instead of run again,
            and where this study's runs are remembered (when ``out`` is None).

    Returns:
        Every result, in the order of ``runs``.

    Raises:
        OutputError: ``out`` is an output folder that cannot take this study.
    """
    # The folder first: refusing it starts no worker processes.
    if isinstance(out, OutputFolder):
        out.claim([run.key for run in runs])
        store = out.store
    else:
        store = ResultStore(out) if out is not None else memory
    if executor is not None:
        results = run_all(runs, executor, store, progress)
    else:
        executor = make_executor(workers, scheduler)
        try:
            results = run_all(runs, executor, store, progress)
        finally:
            executor.close()
    if isinstance(out, OutputFolder):
        out.settle()
    return results
