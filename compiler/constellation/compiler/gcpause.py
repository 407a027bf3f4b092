"""Pausing the cyclic garbage collector around allocation-heavy compiler passes.

Parsing and checking allocate many small, acyclic objects; the cyclic collector would only
scan them (about a third of a cold analysis of 5,000 lines). Reference counting still frees
everything; the collector resumes, if it was on, when the pass ends.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
