"""What the adapter knows of a run: the points it stops at and the state the events built.

A run is a sequence of events (docs/run-events.md) with `debug_point`s between them: the
child asks at each (live), or they are read back from a record (replay). Both fold the same
events into a `RunState`, so stepping, Variables and the console work alike on both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from constellation.debugger.expressions import NotSettled, Scope
from constellation.debugger.whole import Whole, as_is
from constellation.runtime.errors import RunError


@dataclass(frozen=True)
class Point:
    """Where a run can stop: before layer `layer` is released, before call `node` starts,
    or (a replay) at the end of the record."""

    number: int
    kind: str  # "layer" | "call" | "end"
    layer: int
    node: int | None = None
    name: str | None = None
    module: str | None = None
    line: int | None = None
    column: int | None = None
    args: list | None = None  # None: not known (a replay of a call whose arguments were not recorded)

    @classmethod
    def from_event(cls, event: dict) -> Point:
        return cls(event["point"], event["kind"], event.get("layer") or 0, event.get("node"),
                   event.get("name"), event.get("module"), event.get("line"),
                   event.get("column"), event.get("args"))


@dataclass
class CallState:
    status: str = "pending"  # pending | running | retrying | completed | failed | skipped | cancelled
    detail: str = ""


@dataclass
class RunState:
    inputs: dict[str, Any] = field(default_factory=dict)
    inputs_known: bool = False
    values: dict[int, Any] = field(default_factory=dict)  # completed calls, by node id
    calls: dict[int, CallState] = field(default_factory=dict)
    depth: int = 0
    layers_done: set[int] = field(default_factory=set)
    finished: dict | None = None  # the run_completed event
    whole: Whole = as_is  # a live run's values arrive abbreviated: this fetches them whole

    def apply(self, event: dict) -> None:
        kind = event.get("event")
        node = event.get("node")
        if kind == "run_started":
            self.depth = event.get("depth") or 0
        elif kind == "debug_inputs":
            self.inputs, self.inputs_known = dict(event.get("inputs") or {}), True
        elif kind == "node_started":
            self.calls[node] = CallState("running", f"attempt {event.get('attempt', 1)}")
        elif kind == "node_retrying":
            self.calls[node] = CallState("retrying", str(event.get("error", "")))
        elif kind == "node_completed":
            self.values[node] = event.get("value")
            self.calls[node] = CallState("completed",
                                         "cache hit" if event.get("cache_hit") else "")
        elif kind == "node_failed":
            self.calls[node] = CallState("failed", (event.get("error") or {}).get("message", ""))
        elif kind == "node_skipped":
            self.calls[node] = CallState("skipped", str(event.get("reason", "")))
        elif kind == "node_cancelled":
            self.calls[node] = CallState("cancelled")
        elif kind == "layer_completed":
            self.layers_done.add(event.get("layer"))
        elif kind == "run_completed":
            self.finished = event

    def call(self, node_id: int) -> CallState:
        return self.calls.get(node_id) or CallState()

    def scope(self, program) -> Scope:
        """The values in scope now, computed (and fetched whole) as they are asked."""
        return Scope(program.analysis, self.inputs, self.values, self.whole)

    async def settled(self, program) -> dict[str, Any]:
        """Every top-level binding that has a value now (inputs, calls, and the bindings
        computed from those), whole, in the order of the program."""
        scope = self.scope(program)
        out: dict[str, Any] = {}
        for name in program.analysis.plan.bindings:
            try:
                out[name] = await scope.value(name)
            except (NotSettled, RunError):
                continue
        return out
