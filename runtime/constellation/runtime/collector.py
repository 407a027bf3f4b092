"""The cyclic garbage collector while runs are under way.

A run allocates a task, a coroutine and a few small objects per call; the collector's full
collections would scan, each time, everything the process held before the run (the analysis,
the plan, the modules) and make a run's cost per node grow with its size. While any run is
under way, what existed before the first one started is frozen (`gc.freeze`): collections skip
it. Everything a run allocates is still collected as usual, and the frozen objects are
collectable again once the last run ends.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_RUNNING = [0]
_LOCK = threading.Lock()


@contextmanager
def earlier_objects_frozen():
    with _LOCK:
        if _RUNNING[0] == 0:
            gc.freeze()
        _RUNNING[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _RUNNING[0] -= 1
            if _RUNNING[0] == 0:
                gc.unfreeze()
