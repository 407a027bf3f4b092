"""The loop watchdog (issue 13 item 5): an `async def` module that blocks (a `time.sleep`, a
busy loop) stops the event loop, and with it every timeout and cancel, which are all handled
on the loop. A thread notices that the loop has not ticked for a second while a deadline (the
run's timeout, a call's `timeout:`) or a cancel is due, names the call that holds the loop and
interrupts it, so that the run ends within about a second of the deadline. The loop has no
heartbeat task: while a deadline is due the thread itself posts a beat to the loop
(`call_soon_threadsafe`, trio's `run_sync_soon`), so a run without deadlines costs nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable

from constellation.runtime import signals

TICK_S = 0.1  # how often the watching thread looks (and asks the loop for a beat)
BLOCKED_S = 1.0  # a loop silent this long past a deadline is blocked
STUCK_S = 3.0  # after an interrupt the module ignored: the hard stop (when one is set)
# The interrupt reaches a main-thread loop as this signal (its handler raises LoopBlocked in
# whatever Python code runs, a time.sleep included: the sleep is interrupted).
INTERRUPT_SIGNAL = getattr(signal, "SIGUSR2", None)


class LoopBlocked(BaseException):
    """Raised into a module that blocks the event loop (a BaseException: it is not one of the
    module's own failures, which are Exceptions)."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class Watchdog:
    def __init__(self) -> None:
        self.tick = time.monotonic()
        self.lock = threading.Lock()
        self.deadlines: dict[int, float] = {}  # token -> monotonic deadline
        self.next_token = 0
        self.calls: dict[int, str] = {}  # id(coroutine frame) -> "the call of 'F' (x, line 3)"
        self.loop_thread = threading.current_thread()
        self.pending: LoopBlocked | None = None
        self.run_due: float | None = None  # when the run's own timeout or a cancel is due
        self.last_message = ""
        self.interrupted_at: float | None = None
        self.on_stuck: Callable[[str], None] | None = None  # the hard stop, if the host has one
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None
        self.watching_now = False
        self.post: Callable[[Callable[[], None]], object] | None = None  # onto the loop, from any thread
        self.beat_posted = False

    # -- the loop side ------------------------------------------------------------------------
    def expect(self, deadline: float) -> int:
        """A deadline (monotonic seconds) is due: returns a token for `settled`."""
        with self.lock:
            self.next_token += 1
            self.deadlines[self.next_token] = deadline
            start = self.watching_now and self.thread is None
            if start:  # the first deadline starts the thread: a run without any needs none
                self.thread = threading.Thread(target=self._watch, daemon=True,
                                               name="constellation-watchdog")
        if start:
            self.tick = time.monotonic()  # silence is counted from here on
            self.thread.start()
        return self.next_token

    def settled(self, token: int) -> None:
        with self.lock:
            self.deadlines.pop(token, None)

    def run_deadline(self, deadline: float) -> None:
        """The run ends at `deadline` (its timeout, a cancel)."""
        self.run_due = min(deadline, self.run_due) if self.run_due is not None else deadline
        self.expect(deadline)

    def cancel_requested(self) -> None:
        """Thread- and signal-safe: a cancel is due now."""
        self.run_deadline(time.monotonic())

    def run_is_due(self) -> bool:
        return self.run_due is not None and time.monotonic() >= self.run_due

    def beat(self) -> None:
        """Run by the loop when it is free: it ticks."""
        self.tick = time.monotonic()
        self.beat_posted = False

    # -- the watching thread ------------------------------------------------------------------
    @contextmanager
    def watching(self):
        self.loop_thread = threading.current_thread()
        self.post = _poster()
        installed = self._install_interrupt()
        self.watching_now = True
        try:
            yield self
        finally:
            with self.lock:
                self.watching_now = False
            self.stopped.set()
            if self.thread is not None:
                self.thread.join(1)  # it wakes at once: no thread outlives the run
            if installed is not None:
                signals.swap(INTERRUPT_SIGNAL, installed)

    def _install_interrupt(self):
        if INTERRUPT_SIGNAL is None or self.loop_thread is not threading.main_thread():
            return None
        try:
            return signals.swap(INTERRUPT_SIGNAL, self._raise_pending)
        except (ValueError, OSError):
            return None

    def _raise_pending(self, signum, frame) -> None:
        pending, self.pending = self.pending, None
        if pending is not None and self._module_call(frame) is not None:
            raise pending  # only into a module: had it returned, the runtime's code runs now

    def _watch(self) -> None:
        while not self.stopped.wait(TICK_S):
            now = time.monotonic()
            with self.lock:
                due = min(self.deadlines.values(), default=None)
            if due is None:  # nothing due: the loop is not watched, nor asked to beat
                self.tick, self.beat_posted = now, False
                continue
            if not self.beat_posted and self.post is not None:
                self.beat_posted = True
                try:
                    self.post(self.beat)
                except Exception:  # the loop is closing: the run is over
                    pass
            silent = now - self.tick
            frame = sys._current_frames().get(self.loop_thread.ident)
            who = self._module_call(frame)
            # only a module is interrupted: the runtime's own work (a large result being
            # written once the run is over) is left alone
            if due is None or now < due or silent < BLOCKED_S or who is None:
                self.interrupted_at = None
                continue
            if self.interrupted_at is None:
                self.interrupted_at = now
                self._interrupt(self._describe(who, frame, silent))
            elif now - self.interrupted_at > STUCK_S and self.on_stuck is not None:
                self.on_stuck(self._describe(who, frame, silent) + "; it did not give the loop "
                                                                   "back when interrupted")
                self.interrupted_at = now + 3600

    def _module_call(self, frame) -> str | None:
        while frame is not None:
            who = self.calls.get(id(frame))
            if who is not None:
                return who
            frame = frame.f_back
        return None

    def _describe(self, who: str, innermost, silent: float) -> str:
        where = (f" at {innermost.f_code.co_filename.rsplit('/', 1)[-1]}:{innermost.f_lineno}"
                 if innermost is not None else "")
        return (f"{who[0].upper()}{who[1:]} blocked the event loop for {silent:.1f} s{where}: "
                f"an async def module must not block (await anyio.sleep / asyncio.sleep, or "
                f"make it a plain def, which runs in a worker thread)")

    def _interrupt(self, message: str) -> None:
        self.last_message = message
        error = LoopBlocked(message)
        ident = self.loop_thread.ident
        if INTERRUPT_SIGNAL is not None and self.loop_thread is threading.main_thread() \
                and signal.getsignal(INTERRUPT_SIGNAL) == self._raise_pending:
            self.pending = error
            signal.pthread_kill(ident, INTERRUPT_SIGNAL)
            return
        # another thread's loop: pure Python code (a busy loop) is interrupted, a C call not
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(
            LoopBlocked))


def _poster():
    """How another thread puts a callback on the running loop: asyncio's or trio's."""
    try:
        return asyncio.get_running_loop().call_soon_threadsafe
    except RuntimeError:  # not asyncio: trio (anyio's other backend)
        import trio

        return trio.lowlevel.current_trio_token().run_sync_soon
