"""A debugger's say over a run (issue 18).

The run's core (core.py) consults `run.debugger` at two points: before a released layer
starts (`before_layer`) and before a call node starts, with its function and argument values
(`before_call`).
The default, `NO_DEBUGGER`, never waits. `ChannelDebugger` turns each point into a question
for a debug adapter (`cst run --debug`: a `debug_point` event line on standard output) and
waits for the adapter's answer (a `{"go": N}` line on standard input, read by the CLI).

A point's argument values travel abbreviated, as the run's events carry values
(`values.abbreviate`): a large value is not pushed at every point. The adapter asks for a value
whole when it needs it (`{"fetch": K, "node": ID}` for a settled call's value, `{"fetch": K,
"point": N, "arg": I}` for an argument of the point it is stopped at) and gets it in a
`debug_value` line.

Under `serial`, a call the adapter let go holds the turn until it settles, and the next turn
goes to the waiting call first in the serial order (layer, priority, position): so a step
runs exactly one call, in the order the scheduler would have run them.
"""

from __future__ import annotations

import heapq
from typing import Any, Callable

import anyio

from constellation.compiler.options import CallOptions
from constellation.runtime import values

DEFAULT_PRIORITY = CallOptions().priority
SETTLED = frozenset({"node_completed", "node_failed", "node_cancelled", "node_skipped"})


class Debugger:
    """No debugger: the run never waits."""

    active = False

    async def before_layer(self, layer: int) -> None:
        return None

    async def before_call(self, node: Any, fn: Any, args: list) -> None:
        return None


NO_DEBUGGER = Debugger()


def plain(value: object) -> object:
    """A value as JSON data (a lambda argument shows as its source)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    text = getattr(value, "text", None)
    return text if isinstance(text, str) else repr(value)


class ChannelDebugger(Debugger):
    """Asks an adapter at every point; `ask(event)` writes the question."""

    active = True

    def __init__(self, ask: Callable[[dict], None], *, serial: bool, source=None) -> None:
        self._ask = ask
        self.serial = serial
        self.source = source  # line_col(offset) of the program (or its plan), for positions
        self.rank: dict[int, int] = {}  # the run's start order (position, shuffled by a seed)
        self._points = 0
        self._answers: dict[int, anyio.Event] = {}
        self._lock = anyio.Lock()  # one question at a time: the adapter sees one stop
        self._holder: int | None = None  # serial: the node that holds the turn
        self._queue: list[tuple[tuple, int, int, anyio.Event]] = []
        self._arrivals = 0
        self._args: dict[int, list] = {}  # the argument values of the points not answered yet
        self._run: Any = None  # the run (attach): its settled values, whole

    def attach(self, run: Any) -> None:
        """Debug `run`: its serial setting, its start order, and its values for `fetch`."""
        self.serial, self.rank, self._run = run.config.serial, run.rank, run

    # -- the two points -----------------------------------------------------------------------
    async def before_layer(self, layer: int) -> None:
        await self._point({"kind": "layer", "layer": layer})

    async def before_call(self, node: Any, fn: Any, args: list) -> None:
        if self.serial and not node.demand_driven:  # a demanded call is awaited by the holder
            await self._take_turn(node)
        line, column = self.source.line_col(node.span.start) if self.source else (None, None)
        await self._point({"kind": "call", "node": node.id, "name": node.label,
                           "module": fn.qualified,
                           "layer": node.layer, "line": line, "column": column,
                           "args": [values.abbreviate(plain(a)) for a in args]}, args)

    async def _point(self, fields: dict, args: list | None = None) -> None:
        async with self._lock:
            self._points += 1
            n = self._points
            answered = self._answers[n] = anyio.Event()
            if args is not None:
                self._args[n] = args
            self._ask({"event": "debug_point", "point": n, **fields})
            await answered.wait()
            del self._answers[n]
            self._args.pop(n, None)

    # -- the adapter's answers and the run's events -------------------------------------------
    def answer(self, message: dict) -> None:
        """A line from the adapter: `{"go": N}` lets point N go on; `{"fetch": K, ...}` asks
        for a value whole."""
        if "fetch" in message:
            self._ask({"event": "debug_value", "fetch": message["fetch"], **self._whole(message)})
            return
        event = self._answers.get(message.get("go"))  # type: ignore[arg-type]
        if event is not None:
            event.set()

    def _whole(self, message: dict) -> dict:
        node, point, arg = message.get("node"), message.get("point"), message.get("arg")
        if isinstance(point, int) and isinstance(arg, int):
            args = self._args.get(point)
            if args is not None and 0 <= arg < len(args):
                return {"value": plain(args[arg])}
            return {"missing": f"point {point} is not waiting, or has no argument {arg}"}
        states = self._run.states if self._run is not None else []
        if (isinstance(node, int) and 0 <= node < len(states) and states[node].node.id == node
                and states[node].status == "completed"):
            return {"value": plain(states[node].value)}
        return {"missing": f"node {node} has no value"}

    def observe(self, event: dict) -> None:
        """Every run event passes here: a settled call gives the turn back."""
        if event.get("event") in SETTLED and event.get("node") == self._holder:
            self._holder = None
            self._pass_turn()

    # -- serial turns -------------------------------------------------------------------------
    async def _take_turn(self, node: Any) -> None:
        priority = node.options.priority if node.options is not None else DEFAULT_PRIORITY
        self._arrivals += 1
        ready = anyio.Event()
        position = self.rank.get(node.id, node.span.start)
        heapq.heappush(self._queue, ((node.layer, -priority, position), self._arrivals,
                                     node.id, ready))
        for _ in range(3):  # let the calls released with this one arrive before choosing
            await anyio.sleep(0)
        self._pass_turn()
        await ready.wait()

    def _pass_turn(self) -> None:
        if self._holder is None and self._queue:
            _, _, node_id, ready = heapq.heappop(self._queue)
            self._holder = node_id
            ready.set()
