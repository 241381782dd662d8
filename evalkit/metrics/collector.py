"""The cyclic garbage collector held off while a metric builds its many small
objects.

The engines' lists, tuples and dictionaries form no reference cycles, so
the collector's passes during a score find nothing to free; but each pass
walks every tracked object of the process, and a full one after a large
earlier allocation (sacrebleu's own run in a benchmark, a pandas frame in
a user's notebook) took 20-50 ms of a 0.3 s BLEU score here. Counting
resumes afterwards, so what the score leaves behind is collected as usual.

>>> import gc
>>> with paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["paused"]


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside; the previous state afterwards (nesting is fine)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
