"""Writing results so that no reader ever sees half a file: the one atomic writer.

Every file is written under a temporary name beside its destination and
renamed into place (``os.replace``) only once it is complete, so a file is
either its old self or its new self, never a mixture. :func:`atomic_folder`
does the same for a set of files, and :class:`ResultStore` keeps one file
per finished run of a study, so an interrupted study resumes where it stopped.
:class:`OutputFolder` is a command's output folder: checked before anything
is computed, and never mixed with the results of another study.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from crmsim.measures import SEGMENT_DIMENSIONS, SEGMENT_MEASURES, STUDY_MEASURES, STUDY_SERIES
from crmsim.study.runs import StudyError

log = logging.getLogger(__name__)

_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp(\.[^.]+)?$")
"""Names :func:`replacing` gives its temporary files (left behind only by a killed writer)."""

MIN_FREE_BYTES = 16 * 2**20
"""Free space an output folder's disk must have before a command computes anything.

A floor, not a promise: a disk that fills up while results are written still
ends with an error and no half-written file."""


class OutputError(StudyError):
    """An output folder that cannot take a command's results: says why and what to do."""


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A fresh temporary path beside ``path`` that replaces ``path`` when the block succeeds.

    The temporary name starts with a dot and keeps the suffix (so a figure's
    format is still read from it); it is removed if the block fails.

    Args:
        path: The destination file (its folder is created if missing).

    Yields:
        The temporary path to write to.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A random name rather than mkstemp: the file is then created by whoever
    # writes it, with the usual permissions, like every other output file.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``, never leaving it half-written."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_frame_atomically(path: str | Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` as CSV (without the index) to ``path``, never leaving it half-written."""
    write_text_atomically(path, frame.to_csv(index=False))


def save_figure_atomically(path: str | Path, figure: Any, dpi: int = 110) -> None:
    """Save a Matplotlib figure to ``path`` (format from the suffix), never half-written."""
    with replacing(path) as tmp:
        figure.savefig(tmp, dpi=dpi)


@contextmanager
def atomic_folder(out: str | Path) -> Iterator[Path]:
    """A temporary folder whose files move into ``out`` together when the block succeeds.

    Files already in ``out`` that the block does not write are kept; files it
    writes replace their namesakes only once everything was written. If the
    block fails, ``out`` is left as it was.

    Args:
        out: The output folder (created when the block succeeds).

    Yields:
        The temporary folder to write the files into.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        yield tmp
        out.mkdir(parents=True, exist_ok=True)
        with _interrupts_held():
            for file in tmp.iterdir():
                os.replace(file, out / file.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C back for the few renames that commit a folder, then deliver it.

    An interrupt between two renames would leave a folder of old and new files;
    held back, it arrives once every file is in place. Signal handlers belong
    to the main thread, so elsewhere the renames simply run.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(signal.SIGINT, None)


class RunMemory:
    """Finished runs kept in memory, with the interface of :class:`ResultStore`.

    A page that runs studies click after click (the strategy lab) asks for the same runs
    again: the base of a comparison whose option changed, a set-up run twice. A run is
    the same whenever its description is (its key), so a remembered run is the run. The
    oldest are forgotten beyond ``most`` runs; each is kept as its JSON text (a copy:
    whoever reads a run cannot change the remembered one).

    Args:
        most: Runs remembered at most (each a few tens of kB).
    """

    def __init__(self, most: int = 2_000) -> None:
        if most < 1:
            raise ValueError(f"most must be at least 1; got {most}")
        self.most = most
        self._runs: dict[str, str] = {}
        self._lock = threading.Lock()  # a page's users may run studies at once
        self.loaded: set[str] = set()
        """Keys of the runs given back so far (the rest were computed)."""

    def load(self, key: str) -> dict[str, Any] | None:
        """A remembered run, or None."""
        with self._lock:
            text = self._runs.get(key)
            if text is None:
                return None
            self.loaded.add(key)
        return json.loads(text)

    def save(self, result: dict[str, Any]) -> None:
        """Remember one run, forgetting the oldest beyond ``most``."""
        text = json.dumps(result)
        with self._lock:
            self._runs.pop(result["key"], None)
            self._runs[result["key"]] = text
            while len(self._runs) > self.most:
                del self._runs[next(iter(self._runs))]

    def __len__(self) -> int:
        return len(self._runs)


class ResultStore:
    """Finished runs of a study, one JSON file per run under ``folder/runs``.

    Each file is written atomically, so a run is either stored whole or not at
    all; an interrupted study keeps every finished run. A file that cannot be
    read back as a run (cut short, or valid JSON without a run's fields, say
    from an older version of crmsim) counts as missing: it is reported on the
    ``crmsim.study.store`` logger and the run is computed again.

    Args:
        folder: The study's output folder.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.runs = self.folder / "runs"
        self.runs.mkdir(parents=True, exist_ok=True)
        self.loaded: set[str] = set()
        """Keys of the runs read back whole so far (the rest are computed)."""

    def path(self, key: str) -> Path:
        """File of the run with this key."""
        return self.runs / f"{key}.json"

    def keys(self) -> set[str]:
        """Keys of the stored runs (whether or not their files can be read)."""
        return {p.stem for p in self.runs.glob("*.json") if not p.name.startswith(".")}

    def load(self, key: str) -> dict[str, Any] | None:
        """A stored run, or None when it is missing or damaged (damage is logged)."""
        path = self.path(key)
        try:
            result = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            problem = f"not a readable JSON file ({error})"
        else:
            problem = _damage(result, key)
            if problem is None:
                self.loaded.add(key)
                return result
        log.warning("%s is damaged (%s): computing this run again", path, problem)
        return None

    def save(self, result: dict[str, Any]) -> None:
        """Store one run (a result of :func:`crmsim.study.execute`)."""
        write_text_atomically(self.path(result["key"]), json.dumps(result))

    def discard_others(self, keys: Collection[str]) -> int:
        """Remove the stored runs whose keys are not in ``keys``; return how many."""
        others = self.keys() - set(keys)
        for key in others:
            self.path(key).unlink(missing_ok=True)
        return len(others)

    def remove_temporaries(self) -> None:
        """Remove temporary files a killed writer left behind (never a finished run)."""
        for path in self.runs.iterdir():
            if _TEMPORARY.match(path.name):
                path.unlink(missing_ok=True)


_RESULT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "key": str,
    "scenario": str,
    "replication": int,
    "seed": int,
    "point": dict,
    "measures": dict,
    "series": dict,
    "segments": dict,
}
"""Fields of a stored run (see :func:`crmsim.study.execute`) and their JSON types."""


def _damage(result: Any, key: str) -> str | None:
    """What makes ``result`` unusable as the stored run ``key``, or None when it is whole."""
    if not isinstance(result, dict):
        return f"holds {type(result).__name__}, not a run"
    missing = [name for name in _RESULT_FIELDS if name not in result]
    if missing:
        return f"no field {', '.join(missing)}"
    wrong = [name for name, kind in _RESULT_FIELDS.items() if not isinstance(result[name], kind)]
    if wrong:
        return f"field {', '.join(wrong)} of the wrong type"
    if result["key"] != key:
        return f"holds run {result['key']}, not {key}"
    measures, series = result["measures"], result["series"]
    missing = [m for m in STUDY_MEASURES if m not in measures]
    missing += [s for s in STUDY_SERIES if not isinstance(series.get(s), list)]
    if missing:
        return f"no {', '.join(missing)}"
    problem = _segments_damage(result["segments"])
    if problem:
        return problem
    numbers = [measures[m] for m in STUDY_MEASURES]
    numbers += [v for s in STUDY_SERIES for v in series[s]]
    numbers += [
        values[m.name]
        for by in SEGMENT_DIMENSIONS
        for values in result["segments"][by].values()
        for m in SEGMENT_MEASURES
    ]
    if not all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in numbers
    ):
        return "a value that is not a number"
    return None


def _segments_damage(segments: dict[str, Any]) -> str | None:
    """What is missing from a stored run's segment tables (an older crmsim kept fewer
    splits or segment measures), or None when every split has every measure."""
    missing = [by for by in SEGMENT_DIMENSIONS if not isinstance(segments.get(by), dict)]
    if missing:
        return f"no segments by {', '.join(missing)}"
    for by in SEGMENT_DIMENSIONS:
        for segment, values in segments[by].items():
            if not isinstance(values, dict):
                return f"segment {segment} by {by} is not a table of measures"
            absent = [m.name for m in SEGMENT_MEASURES if m.name not in values]
            if absent:
                return f"no {', '.join(absent)} for segment {segment} by {by}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class OutputFolder:
    """A command's output folder, checked before anything is computed.

    Creating the object checks that the folder can exist (no file stands in
    its way); :meth:`claim` then creates it, checks that it can be written and
    has room, and refuses it when it holds anything but this very study: files
    the command does not write, another study's stored runs, or (for a command
    that stores no runs) earlier results. A study's own folder is accepted, so
    an interrupted study resumes, and one with more replications extends it.
    With ``force`` the command writes there anyway: files of the same names are
    replaced, other files are left alone, and once the study's runs are all
    computed the runs of other studies are removed from the store, so the
    folder then holds one study.

    The study functions (:func:`crmsim.study.compare`, ``sweep``,
    ``sensitivity``) accept an ``OutputFolder`` as ``out`` and claim it for
    their runs before running any; it is a path-like object, so it can stand
    wherever a folder's path is expected.

    Args:
        path: The folder.
        files: Names of the files the command writes there (its store aside).
        force: Write there even if it holds other files or another study's runs.
        hint: What a refusal suggests doing instead (a command names its options).

    Raises:
        OutputError: A file stands where the folder or one of its parents should be.
    """

    def __init__(
        self,
        path: str | Path,
        files: Collection[str],
        force: bool = False,
        hint: str = "choose another folder, or pass force=True to write there anyway",
    ) -> None:
        self.path = Path(path)
        self.files = frozenset(files)
        self.force = force
        self.hint = hint
        self.keys: frozenset[str] = frozenset()
        self.claimed = False
        self._store: ResultStore | None = None
        for folder in (self.path, *self.path.parents):
            if folder.exists():
                if not folder.is_dir():
                    where = "is" if folder == self.path else f"is under {folder}, which is"
                    raise OutputError(f"{self.path}: {where} a file, not a folder")
                break

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    @property
    def store(self) -> ResultStore:
        """The store of finished runs inside the folder (created by the first use)."""
        if self._store is None:
            self._store = ResultStore(self.path)
        return self._store

    @property
    def stored_before(self) -> int:
        """How many of the claimed study's runs were read back from the store, not computed."""
        return len(self._store.loaded & self.keys) if self._store is not None else 0

    def claim(self, keys: Collection[str] | None = None) -> None:
        """Make the folder ready for a study's results, or refuse it, before anything runs.

        Args:
            keys: Keys of the study's runs (:attr:`crmsim.study.Run.key`); None for
                a command that stores no runs.

        Raises:
            OutputError: The folder cannot be created or written, its disk is
                (nearly) full, or it holds other results and ``force`` is off.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.path):
                pass
        except OSError as error:
            raise OutputError(
                f"{self.path}: cannot write there ({error.strerror or error})"
            ) from None
        free = shutil.disk_usage(self.path).free
        if free < MIN_FREE_BYTES:
            raise OutputError(
                f"{self.path}: its disk has only {free / 2**20:.1f} MB free, less than the "
                f"{MIN_FREE_BYTES / 2**20:.0f} MB results need; free some space first"
            )
        self.keys = frozenset(keys or ())
        if not self.force:
            problem = self._foreign(keys)
            if problem:
                raise OutputError(f"{self.path}: {problem}; {self.hint}")
        if keys is not None and (self.path / "runs").is_dir():
            self.store.remove_temporaries()
        self.claimed = True

    def _foreign(self, keys: Collection[str] | None) -> str | None:
        """What in the folder belongs to other results, or None when it holds only this study."""
        # Hidden names are never results (a file manager's .DS_Store, say).
        entries = {p.name for p in self.path.iterdir() if not p.name.startswith(".")}
        store = self.path / "runs"
        others = sorted(entries - self.files - ({"runs"} if keys is not None else set()))
        if others:
            shown = ", ".join(others[:5]) + (
                f" and {len(others) - 5} more" if len(others) > 5 else ""
            )
            return f"holds files this command does not write ({shown})"
        ours = sorted(entries & self.files)
        if keys is None:
            return f"already holds results ({', '.join(ours)})" if ours else None
        stored = self.store.keys() if store.is_dir() else set()
        foreign = stored - set(keys)
        if foreign:
            return (
                f"holds {len(foreign)} stored run(s) of a different study (other scenarios, "
                "parameters, seed, months, customers or fewer replications)"
            )
        if ours and not stored:
            return (
                f"holds results ({', '.join(ours)}) without the stored runs that would show "
                "they are of this study"
            )
        return None

    def stored(self) -> int:
        """How many of the claimed study's runs are stored now."""
        return len(self.store.keys() & self.keys) if self.keys else 0

    def settle(self) -> None:
        """Once every run of the study is stored: with ``force``, drop other studies' runs."""
        if self.force and self.keys:
            self.store.discard_others(self.keys)
