"""The cyclic garbage collector while runs are under way.

A run allocates a task, a coroutine and a few small objects per call; the collector's full
collections would scan, each time, everything the process held before the run (the analysis,
the plan, the modules) and make a run's cost per node grow with its size. While any run is
under way, what existed before the first one started is frozen (`gc.freeze`): collections skip
it, and the youngest generation is collected after 10,000 allocations instead of 700 (a
run's tasks and states live until it ends, so frequent young collections only promote them,
at a few µs per call). Everything a run allocates is still collected, and the frozen objects
are collectable again (at the usual threshold) once the last run ends.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_RUNNING = [0]
_SAVED: list[int] = []  # the thresholds before the first run began
RUN_THRESHOLD = 10_000  # allocations between young collections while runs are under way
_LOCK = threading.Lock()


@contextmanager
def earlier_objects_frozen():
    with _LOCK:
        if _RUNNING[0] == 0:
            gc.freeze()
            _SAVED[:] = gc.get_threshold()
            gc.set_threshold(max(_SAVED[0], RUN_THRESHOLD), *_SAVED[1:])
        _RUNNING[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _RUNNING[0] -= 1
            if _RUNNING[0] == 0:
                gc.set_threshold(*_SAVED)
                gc.unfreeze()
