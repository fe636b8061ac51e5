"""Python's cyclic garbage collector, paused while a burst of short-lived objects is made.

Making tens or hundreds of thousands of small objects (rows, tuples, sets) in one go starts
the collector again and again, and each older-generation pass walks every object alive in
the process (a library's catalog rows among them): a third of a recaps listing's time at
100,000 photos, half the time of making a large search's 20,000 answers. Those objects make
no cycles: what is freed is freed as before, by reference counts. The collector runs again
once the last pause under way (on any thread) is over, if it ran before the first.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0  # pauses under way
_was_on = True  # whether the collector ran before the first of them


@contextmanager
def collector_paused() -> Iterator[None]:
    global _paused, _was_on
    with _lock:
        if _paused == 0:
            _was_on = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_on:
                gc.enable()
