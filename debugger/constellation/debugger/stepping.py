"""Where a run goes next: the two engines behind the session's stepping requests.

`LiveEngine` drives a `cst run --debug` child: it answers each point the child asks, or
holds it while the user is stopped. `ReplayEngine` walks a recorded run's points (replay.py), forward and
backward, calling nothing. Both decide a stop the same way (`decide`): a breakpoint first,
then the step in progress — `stepIn` stops at the next point, `next` at the first point past
the layer it started in, `continue` only at breakpoints.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import anyio

from constellation.debugger.breakpoints import Breakpoint, met
from constellation.debugger.expressions import ExpressionError
from constellation.debugger.state import Point, RunState

if TYPE_CHECKING:
    from constellation.debugger.child import Child
    from constellation.debugger.replay import Record
    from constellation.debugger.session import Session

END_OF_RECORD = "The recorded run ends here; step back, or continue to end the replay."


async def decide(session: Session, point: Point, state: RunState, mode: str, mark: int,
                 *, hits=None) -> tuple[str, str] | None:
    if point.kind == "end":
        return "step", END_OF_RECORD
    hit = await session.breakpoints.hit(point, lambda: state.scope(session.program), hits=hits)
    if hit is not None:
        return hit
    if mode in ("entry", "stepIn", "stepBack", "pause"):
        return {"stepIn": "step", "stepBack": "step"}.get(mode, mode), ""
    if mode == "next" and point.layer > mark:
        return "step", ""
    return None


class LiveEngine:
    replay = False

    def __init__(self, session: Session, child: Child, state: RunState) -> None:
        self.session = session
        self.child = child
        self.state = state
        self.pending: deque[Point] = deque()  # asked, not yet decided, in the child's order
        self.current: Point | None = None  # the point the user is stopped at (unanswered)
        self.halted = True  # configuring, stopped or paused: points wait
        self.mode = "continue"
        self.mark = 0  # `next`: the layer it runs to its barrier
        self.entry = False
        self.last_layer = 0  # the layer of the last point passed (a pause has no point)
        self.paused = False  # paused: the next point the run reaches becomes the stop
        self.between_points = False  # the pause stopped where no point was (calls running)
        self._lock = anyio.Lock()

    def layer_now(self) -> int:
        return self.current.layer if self.current is not None else self.last_layer

    # -- from the child -----------------------------------------------------------------------
    def asked(self, point: Point) -> None:
        if self.paused and self.current is None:  # the pause reaches the next barrier or call
            self.current, self.last_layer = point, point.layer
            if self.between_points:
                # the run went on from the pause's stop (its running calls ended): an editor
                # drops the last stop's state (VS Code keeps its description otherwise)
                self.between_points = False
                self.session.continued()
            self.session.stopped(point, self.state, "pause",
                                 "Paused here, at the first point the run reached.")
            return
        self.pending.append(point)
        self.session.tg.start_soon(self.pump)

    async def pump(self) -> None:
        async with self._lock:
            while not self.halted and self.pending:
                point = self.pending.popleft()
                self.last_layer = point.layer
                mode = "entry" if self.entry else self.mode
                self.entry = False
                stop = await decide(self.session, point, self.state, mode, self.mark)
                if stop is not None:
                    self.halted, self.current = True, point
                    self.session.stopped(point, self.state, *stop)
                    return
                await self.child.go(point.number)

    # -- from the user ------------------------------------------------------------------------
    def configured(self, stop_on_entry: bool) -> None:
        self.entry = stop_on_entry
        self.resume("continue")

    def resume(self, mode: str) -> None:
        self.mark = self.layer_now()
        self.mode, self.halted, self.paused, self.between_points = mode, False, False, False
        point, self.current = self.current, None
        self.session.tg.start_soon(self._release, point)

    async def _release(self, point: Point | None) -> None:
        if point is not None:
            await self.child.go(point.number)
        await self.pump()

    def pause(self) -> None:
        """Stop now: calls already running go on to their end; the next point the run
        reaches (a barrier or a call's start) becomes the stop."""
        if not self.halted:
            self.halted = self.paused = True
            if self.pending:  # a point is waiting already: stop there
                self.asked(self.pending.popleft())
                return
            running = [n for n, c in self.state.calls.items() if c.status in ("running",
                                                                             "retrying")]
            self.between_points = True
            calls = "1 running call goes on to its end" if len(running) == 1 else \
                f"{len(running)} running calls go on to their end"
            self.session.stopped(None, self.state, "pause",
                                 f"Paused; {calls}, and the run stops at the next barrier "
                                 "or call it reaches.")

    def step_back(self) -> str:
        return ("Stepping back needs a recorded run: launch with 'replay' set to a run's id "
                "(`cst runs list`) or 'last'.")


class ReplayEngine:
    replay = True

    def __init__(self, session: Session, record: Record) -> None:
        self.session = session
        self.record = record
        self.index = -1  # before the first point
        self.state = record.state_at(0)
        self._hits: dict[tuple[int, int], bool] = {}  # (breakpoint, point): hit there

    def layer_now(self) -> int:
        return self.record.points[self.index][1].layer if self.index >= 0 else 0

    def configured(self, stop_on_entry: bool) -> None:
        self.session.tg.start_soon(self._forward, "entry" if stop_on_entry else "continue")

    def resume(self, mode: str) -> None:
        if self.index >= 0 and self.record.points[self.index][1].kind == "end":
            self.session.finished(0)
            return
        self.session.tg.start_soon(self._forward, mode)

    async def _forward(self, mode: str) -> None:
        mark = self.layer_now()
        start = max(self.index, 0)
        for i in range(self.index + 1, len(self.record.points)):
            state = self.record.state_at(i)
            stop = await decide(self.session, self.record.points[i][1], state, mode, mark,
                                hits=self._counter(i))
            if stop is not None:
                self._show_output(start, i)
                self._stop_at(i, state, stop)
                return

    def _show_output(self, start: int, end: int) -> None:
        for event in self.record.events_between(start, end):
            self.session.forward_output(event)

    def _stop_at(self, i: int, state: RunState, stop: tuple[str, str]) -> None:
        self.index, self.state = i, state
        self.session.stopped(self.record.points[i][1], state, *stop)

    def step_back(self) -> str | None:
        target = max(self.index - 1, 0)
        self._stop_at(target, self.record.state_at(target),
                      ("step", "") if target > 0 or self.index > 0 else
                      ("entry", "The recorded run starts here."))
        return None

    def reverse_continue(self) -> None:
        self.session.tg.start_soon(self._backward)

    async def _backward(self) -> None:
        for i in range(self.index - 1, -1, -1):
            state = self.record.state_at(i)
            point = self.record.points[i][1]
            hit = await self.session.breakpoints.hit(
                point, lambda: state.scope(self.session.program), hits=self._counter(i))
            if hit is not None:
                self._stop_at(i, state, hit)
                return
        self._stop_at(0, self.record.state_at(0), ("entry", "The recorded run starts here."))

    def pause(self) -> None:
        if self.index < 0:
            return
        self._stop_at(self.index, self.state, ("pause", ""))

    # -- hit counts by position ---------------------------------------------------------------
    def _counter(self, i: int):
        """A breakpoint's hit count at point i: its hits at points 0..i, however the replay
        came to i (forward, a step back, a reverse continue)."""
        async def hits(bp: Breakpoint) -> int:
            return 1 + sum([await self._hit_at(bp, j) for j in range(i)])
        return hits

    async def _hit_at(self, bp: Breakpoint, j: int) -> bool:
        key = (bp.id, j)
        if key not in self._hits:
            point = self.record.points[j][1]
            state = self.record.state_at(j)
            try:
                self._hits[key] = any(b is bp for b, _ in
                                      self.session.breakpoints.candidates(point)) and \
                    await met(bp, lambda: state.scope(self.session.program))
            except ExpressionError:
                self._hits[key] = False
        return self._hits[key]
