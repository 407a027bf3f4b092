"""Node states and the layer gate of LANGUAGE.md §10.2.

Layer k is released once every call of the layers below it is settled or parked: parked
calls await a fallback value (directly, or through what their evaluation waits on) that may
need higher layers, so the gate must not wait for them. A layer completes when the calls it
started have settled, parked or not.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from typing import Callable

import anyio

from constellation.runtime.errors import RunError

# The node whose expression the current task is evaluating (a call's arguments or fallback, a
# value node's expression): what it awaits is recorded so that blocking on a parked node parks.
EVALUATING: contextvars.ContextVar["NodeState | None"] = contextvars.ContextVar(
    "constellation_evaluating", default=None)


class NodeState:
    """What the run knows of one plan node."""

    __slots__ = ("node", "settled", "event", "status", "started", "began", "holding", "awaiting_fallback",
                 "waiting_on", "waiters", "parked", "env", "value", "error", "t_start",
                 "duration_ms", "attempts", "cache_hit", "blockers", "successor")

    def __init__(self, node):
        self.node = node
        self.settled = False  # completed, failed, skipped or cancelled
        self.event: anyio.Event | None = None  # made when someone waits before it settles
        self.status = "pending"
        self.started = False  # evaluation begun (a task exists or an inline evaluation runs)
        self.began = False  # its module call has begun (node_started): a cancel "cancels" it
        self.holding = False  # counts against the layer gate
        self.awaiting_fallback = False  # its call failed and it awaits its fallback value
        self.waiting_on: NodeState | None = None  # the node its evaluation awaits now
        self.waiters: dict | None = None  # the states whose waiting_on is this one
        self.parked = False  # awaiting its fallback, or waiting on a parked node (§10.2)
        self.env: dict = {}  # the pattern bindings of its chosen case (§10.2)
        self.value: object = None
        self.error: RunError | None = None
        self.t_start: float | None = None
        self.duration_ms: float | None = None
        self.attempts = 0
        self.cache_hit = False
        self.blockers = 0  # eager: the calls it reads that have not settled yet
        self.successor: NodeState | None = None  # a call its settling started: runs in its task

    def settle(self) -> None:
        self.settled = True
        if self.event is not None:
            self.event.set()

    async def wait(self) -> None:
        if self.event is None:
            self.event = anyio.Event()
        await self.event.wait()


class LayerGate:
    """unsettled[k]: calls of layer k that hold the gate (not settled, not parked);
    held_below: their sum over the released layers, so the next layer opens when it is 0;
    running[k]: started calls of layer k not yet settled."""

    def __init__(self, depth: int, layered: bool, events, labels: dict[int, list[str]],
                 on_open: Callable[[int], None], on_release: Callable[[int], None]):
        self.depth = depth
        self.layered = layered
        self.events = events
        self.labels = labels
        self.on_open = on_open  # calls `start_layer` now, or once a debugger lets it
        self.on_release = on_release  # starts the calls of a released layer
        self.unsettled = [0] * (depth + 2)
        self.running = [0] * (depth + 2)
        self.released = 0 if layered else depth
        self.held_below = 0
        self.layer_t0: dict[int, float] = {}
        self.layer_done: set[int] = set()
        self.opened: dict[int, anyio.Event] = {}  # waited on by calls started before release
        self.closing = False  # the run is over: what is still unsettled is skipped
        self.cancelling = False  # a cancel ends the run: open layers are cancelled, not done

    # -- holding ----------------------------------------------------------------------------
    def begin(self, st: NodeState) -> None:
        self.running[st.node.layer] += 1
        self.hold(st)

    def ended(self, st: NodeState) -> None:
        """`st` has just settled (its Event is set): it holds nothing any more."""
        if st.started:  # a call never started was never counted as running
            self.running[st.node.layer] -= 1
        if st.parked:
            self.repark(st)
        self.unhold(st)
        self.check_layer_done(st.node.layer)

    def hold(self, st: NodeState) -> None:
        if not st.holding:
            st.holding = True
            self.unsettled[st.node.layer] += 1
            if st.node.layer <= self.released:
                self.held_below += 1

    def unhold(self, st: NodeState) -> None:
        if st.holding:
            st.holding = False
            layer = st.node.layer
            self.unsettled[layer] -= 1
            if layer <= self.released:
                self.held_below -= 1
            self.check_layer_done(layer)
            if self.held_below == 0:
                self.advance()

    # -- parking ----------------------------------------------------------------------------
    def repark(self, st: NodeState) -> None:
        """Recompute who is parked from `st` on (§10.2): a node is parked while it awaits its
        fallback value, or while its evaluation waits on a parked node, directly or through
        other nodes. Unparking holds again before anything is released."""
        todo = [st]
        while todo:
            s = todo.pop()
            w = s.waiting_on
            parked = not s.settled and (s.awaiting_fallback
                                              or (w is not None and w.parked))
            if parked == s.parked:
                continue
            s.parked = parked
            if s.node.kind == "module" and s.started:
                if parked:
                    self.unhold(s)
                elif not s.settled:
                    self.hold(s)
            if s.waiters:
                todo.extend(s.waiters)

    @contextmanager
    def waiting(self, st: NodeState):
        """The current evaluation awaits `st` (its value node's evaluation or its Event)."""
        waiter = EVALUATING.get()
        if waiter is None or waiter is st:
            yield
            return
        previous, waiter.waiting_on = waiter.waiting_on, st
        if st.waiters is None:
            st.waiters = {}
        st.waiters[waiter] = None
        self.repark(waiter)
        try:
            yield
        finally:
            st.waiters.pop(waiter, None)
            if waiter.waiting_on is st:  # concurrent evaluations of one node never unwind others
                waiter.waiting_on = previous
            self.repark(waiter)

    # -- layers -----------------------------------------------------------------------------
    def advance(self) -> None:
        """Release layer k once every call of layers < k is settled or parked (§10.2)."""
        if not self.layered or self.closing:
            return  # closing: the calls left are being skipped, no layer starts any more
        while self.released < self.depth and self.held_below == 0:
            self.released += 1
            self.held_below += self.unsettled[self.released]
            self.on_open(self.released)

    def start_layer(self, k: int) -> None:
        """Released layer k starts: its calls, and those started early that wait for it."""
        self.layer_t0[k] = time.monotonic()
        if self.events.sink is not None:
            self.events.emit("layer_started", layer=k, nodes=self.labels.get(k, []))
        self.on_release(k)
        if k in self.opened:
            self.opened.pop(k).set()
        self.check_layer_done(k)

    def released_event(self, k: int) -> anyio.Event:
        event = self.opened.get(k)
        if event is None:
            event = self.opened[k] = anyio.Event()
        return event

    def reached(self, k: int) -> None:
        """Eager: a call of layer k begins; the layer starts with its first call."""
        if k not in self.layer_t0:
            self.layer_t0[k] = time.monotonic()
            if self.events.sink is not None:
                self.events.emit("layer_started", layer=k, nodes=self.labels.get(k, []))

    def check_layer_done(self, k: int) -> None:
        if self.running[k] == 0 and k in self.layer_t0 and k not in self.layer_done:
            self.end_layer(k)

    def end_layer(self, k: int) -> None:
        self.layer_done.add(k)
        if self.events.sink is None:
            return
        self.events.emit("layer_cancelled" if self.cancelling else "layer_completed", layer=k,
                         duration_ms=round((time.monotonic() - self.layer_t0[k]) * 1000, 3))

    def end_open_layers(self) -> None:
        for k in sorted(set(self.layer_t0) - self.layer_done):
            self.end_layer(k)
