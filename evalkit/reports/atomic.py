"""Atomic file writes: temp files in the target folder, then renames, so that
an interrupted run never leaves a truncated report or a stray temp file.

A multi-file write (:func:`write_files_atomic`) is all-or-nothing as far as a
file system allows: every temp file is written and synced *before* the first
rename, so a failure or a Ctrl-C while writing leaves every previous file as
it was; the renames then run with SIGINT held back (main thread only), so a
Ctrl-C cannot stop them half-way. It is delivered when they are done. On any
exception, ``KeyboardInterrupt`` included, the temp files that were not
renamed are removed.

>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> write_files_atomic({folder / "a.txt": "one\\n", folder / "b.txt": "two\\n"})
>>> sorted(p.name for p in folder.iterdir()), (folder / "b.txt").read_text()
(['a.txt', 'b.txt'], 'two\\n')
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import FrameType

__all__ = ["FileText", "write_text_atomic", "write_files_atomic"]

#: a file's text: one string, or its pieces in order (a large file is written
#: as it is rendered, never held whole)
FileText = str | Iterable[str]


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    write_files_atomic({Path(path): text})


def write_files_atomic(files: Mapping[Path, FileText]) -> None:
    """Write every file, all or none: all temp files first, then the renames."""
    pending: list[tuple[str, Path]] = []  # (temp file, target) not renamed yet
    try:
        for path, text in files.items():
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            pending.append((_write_temp(target, text), target))
        with _sigint_deferred():
            while pending:
                tmp, target = pending[0]
                os.replace(tmp, target)
                pending.pop(0)
    except BaseException:
        for tmp, _ in pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


def _write_temp(target: Path, text: FileText) -> str:
    """A synced temp file beside ``target`` holding ``text``; its path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            if isinstance(text, str):
                f.write(text)
            else:
                f.writelines(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold SIGINT back for the duration; re-raise it to the previous handler
    afterwards. Signal handlers can only be set from the main thread, and one
    not set from Python cannot be put back: then this does nothing."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield
        return
    received: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, remember)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            signal.raise_signal(signal.SIGINT)
