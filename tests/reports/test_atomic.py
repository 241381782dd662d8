"""write_files_atomic: every temp file before the first rename, no temp file
left behind on any exception, and a Ctrl-C during the renames held back until
they are done."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from evalkit.reports import atomic
from evalkit.reports.atomic import write_files_atomic, write_text_atomic

NAMES = ("a.md", "b.csv", "c.json")


def _files(folder: Path, tag: str) -> dict[Path, str]:
    return {folder / name: f"{tag} {name}\r\nsecond line\n" for name in NAMES}


def _contents(folder: Path) -> dict[str, str]:
    return {path.name: path.read_bytes().decode() for path in sorted(folder.iterdir())}


def test_writes_every_file_exactly_and_creates_the_folder(tmp_path):
    folder = tmp_path / "new" / "folder"
    write_files_atomic(_files(folder, "one"))
    assert _contents(folder) == {name: f"one {name}\r\nsecond line\n" for name in NAMES}
    write_text_atomic(folder / "a.md", "é\n")
    assert (folder / "a.md").read_bytes() == "é\n".encode()


def test_no_rename_before_every_temp_file_is_written(tmp_path, monkeypatch):
    write_files_atomic(_files(tmp_path, "old"))
    before = _contents(tmp_path)
    real = atomic._write_temp
    written = []

    def fail_on_the_last(target: Path, text: str) -> str:
        if len(written) == len(NAMES) - 1:
            raise KeyboardInterrupt
        written.append(real(target, text))
        return written[-1]

    monkeypatch.setattr(atomic, "_write_temp", fail_on_the_last)
    with pytest.raises(KeyboardInterrupt):
        write_files_atomic(_files(tmp_path, "new"))
    assert len(written) == len(NAMES) - 1
    assert _contents(tmp_path) == before  # nothing renamed, both temp files removed


def test_a_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    real = os.replace
    calls = []

    def replace_fails_second(src: str, dst: Path) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied", str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace_fails_second)
    with pytest.raises(PermissionError):
        write_files_atomic(_files(tmp_path, "new"))
    # A file system renames one file at a time: the first one is in place,
    # the rest are not, and no temp file is left.
    assert sorted(_contents(tmp_path)) == ["a.md"]


@pytest.fixture
def interactive_sigint():
    """SIGINT as in a terminal: Python's KeyboardInterrupt. A shell starts a
    background job (``make test &``) with SIGINT ignored, and pytest then
    keeps it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_the_renames_waits_until_they_are_done(tmp_path, monkeypatch, interactive_sigint):
    assert threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT)
    write_files_atomic(_files(tmp_path, "old"))
    real = os.replace
    calls = []

    def replace_with_ctrl_c(src: str, dst: Path) -> None:
        calls.append(dst)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)  # a real SIGINT, as a Ctrl-C sends
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace_with_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        write_files_atomic(_files(tmp_path, "new"))
    assert len(calls) == len(NAMES)
    assert _contents(tmp_path) == {name: f"new {name}\r\nsecond line\n" for name in NAMES}
    assert signal.getsignal(signal.SIGINT) is handler  # put back


def test_a_process_that_ignores_sigint_keeps_ignoring_it_during_the_renames(tmp_path, monkeypatch):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a background job starts
    try:
        write_files_atomic(_files(tmp_path, "old"))
        real = os.replace

        def replace_with_ctrl_c(src: str, dst: Path) -> None:
            signal.raise_signal(signal.SIGINT)
            real(src, dst)

        monkeypatch.setattr(os, "replace", replace_with_ctrl_c)
        write_files_atomic(_files(tmp_path, "new"))  # no KeyboardInterrupt
        assert _contents(tmp_path) == {name: f"new {name}\r\nsecond line\n" for name in NAMES}
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
