"""Run a function over contiguous parts of a long input in several processes.

``map_parts`` cuts ``range(n)`` into ``jobs`` contiguous parts. This process
computes the first part itself while forked children compute the others; the
results come back in input order, so a parallel run returns exactly what one
process would. Forked children inherit the input instead of receiving it
through a pipe, and only the (small) results travel back. Where ``fork`` is
unavailable (macOS, Windows), or inside a daemonic worker that may not have
children, the parts are computed here, one after the other.

>>> map_parts(sum, ([1, 2, 3, 4, 5],), 5, jobs=2)
[3, 12]
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import TypeVar

__all__ = ["available_cores", "map_parts", "can_fork"]

R = TypeVar("R")


def available_cores() -> int:
    """CPU cores this process may run on (respects CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether :func:`map_parts` can use child processes here."""
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def _child(
    send: Connection, function: Callable[..., object], payload: tuple[Sequence[object], ...], start: int, stop: int
) -> None:
    try:
        result = function(*(seq[start:stop] for seq in payload))
        message: tuple[str, object] = ("ok", result)
    except BaseException as error:  # noqa: BLE001 - handed to the parent, which raises it
        message = ("error", error)
    try:
        send.send(message)
    except Exception as error:  # the error itself did not pickle
        send.send(("error", RuntimeError(f"worker failed: {message[1]!r} ({error})")))
    finally:
        send.close()


def map_parts(
    function: Callable[..., R],
    payload: tuple[Sequence[object], ...],
    n: int,
    *,
    jobs: int,
) -> list[R]:
    """``[function(*(seq[a:b] for seq in payload)) for each part [a, b)]``,
    the ``jobs`` contiguous parts of ``range(n)`` computed in parallel.
    """
    jobs = max(1, min(jobs, n))
    bounds = [(k * n // jobs, (k + 1) * n // jobs) for k in range(jobs)]
    if jobs == 1 or not can_fork():
        return [function(*(seq[a:b] for seq in payload)) for a, b in bounds]
    context = multiprocessing.get_context("fork")
    children = []
    # Objects inherited by a forked child are shared copy-on-write until the
    # child's garbage collector walks them and so copies their pages: frozen,
    # the collector leaves them alone.
    gc.freeze()
    try:
        for start, stop in bounds[1:]:
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(send, function, payload, start, stop), daemon=True)
            process.start()
            send.close()
            children.append((process, receive))
        start, stop = bounds[0]
        results = [function(*(seq[start:stop] for seq in payload))]
        for process, receive in children:
            try:
                status, value = receive.recv()
            except EOFError:
                process.join()
                raise RuntimeError(f"a worker process died (exit code {process.exitcode})") from None
            if status == "error":
                raise value
            results.append(value)
        return results
    finally:
        gc.unfreeze()
        for process, receive in children:
            receive.close()
            if process.is_alive():
                process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
