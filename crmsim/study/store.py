"""Writing results so that no reader ever sees half a file: the one atomic writer.

Every file is written under a temporary name beside its destination and
renamed into place (``os.replace``) only once it is complete, so a file is
either its old self or its new self, never a mixture. :func:`atomic_folder`
does the same for a set of files, and :class:`ResultStore` keeps one file
per finished run of a study, so an interrupted study resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


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
        for file in tmp.iterdir():
            os.replace(file, out / file.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class ResultStore:
    """Finished runs of a study, one JSON file per run under ``folder/runs``.

    Each file is written atomically, so a run is either stored whole or not at
    all; an interrupted study keeps every finished run.

    Args:
        folder: The study's output folder.
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
        """Store one run (a result of :func:`crmsim.study.execute`)."""
        write_text_atomically(self.path(result["key"]), json.dumps(result))
