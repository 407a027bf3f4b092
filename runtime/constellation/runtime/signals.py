"""Signal handlers swapped for the length of a run, cheaply.

`signal.signal` and `signal.getsignal` turn every previous handler into an enum member,
which costs more than a small run itself; the C module they wrap does not (SIG_DFL and
SIG_IGN come back as the plain integers, which `signal.signal` accepts as well).
"""

from __future__ import annotations

try:
    import _signal as _raw
except ImportError:  # not CPython
    import signal as _raw


def swap(signum: int, handler):
    """Install `handler`; returns the previous one (to restore with `swap` again)."""
    return _raw.signal(signum, handler)


def current(signum: int):
    return _raw.getsignal(signum)
