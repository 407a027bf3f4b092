"""What a run reports: its events (docs/run-events.md) as they happen, and its result at the end.

The run's core tells `Events` what happened to which plan node; `assemble` turns the nodes'
final states into the `RunResult` and its `run_completed` event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from constellation.runtime.errors import RunError


@dataclass(slots=True)
class NodeReport:
    name: str
    status: str  # completed | failed | skipped | cancelled | pending
    layer: int
    duration_ms: float | None
    error: dict | None
    module: str | None = None
    line: int | None = None
    attempts: int = 0
    cache_hit: bool = False

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "layer": self.layer,
                "duration_ms": self.duration_ms, "error": self.error}


@dataclass
class RunResult:
    status: str  # completed | failed | cancelled
    outputs: dict[str, object]
    errors: list[dict]
    log: list[str]
    nodes: list[NodeReport]
    duration_ms: float

    def to_json(self) -> dict:
        return {"status": self.status, "outputs": self.outputs, "errors": self.errors,
                "log": self.log, "nodes": [n.to_json() for n in self.nodes],
                "duration_ms": self.duration_ms}


class Events:
    """The event stream of one run; nothing is built when nobody listens."""

    def __init__(self, plan, functions: list, sink: Callable[[dict], None] | None):
        self.plan = plan
        self.functions = functions  # the resolved Function of each of plan.functions
        self.sink = sink
        self.log: list[str] = []
        self.t0 = time.monotonic()

    def now_ms(self) -> float:
        return round((time.monotonic() - self.t0) * 1000, 3)

    def emit(self, event: str, **fields) -> None:
        if self.sink is not None:
            self.sink({"event": event, "t_ms": self.now_ms(), **fields})

    def emit_node(self, event: str, node, **fields) -> None:
        if self.sink is not None:
            self.sink({"event": event, "t_ms": self.now_ms(), **self.node_fields(node),
                       **fields})

    def node_fields(self, node) -> dict:
        return {"node": node.id, "name": node.label, "module": self.module_of(node),
                "layer": node.layer, "line": node.line, "column": node.column}

    def module_of(self, node) -> str | None:
        return self.plan.functions[node.fn].qualified if node.fn is not None and node.fn >= 0 \
            else None

    def add_log(self, line: str) -> None:
        self.log.append(line)
        self.emit("log", message=line)


def node_reports(shape, states) -> list[NodeReport]:
    """Each call's report: its static fields from the plan's shape (shape.py), the rest from
    its final state."""
    reports = []
    for i, name, layer, module, line in shape.reports:
        st = states[i]
        error = st.error.to_json() if st.error is not None and st.status == "failed" else None
        reports.append(NodeReport(name, st.status, layer, st.duration_ms, error, module, line,
                                  st.attempts, st.cache_hit))
    return reports


def assemble(events: Events, shape, states, outputs: dict, output_errors: list[RunError],
             handled: list[RunError], cancelled: bool) -> RunResult:
    """The result of a run whose nodes are all settled, and its `run_completed` event.
    A failure nothing needed is logged (§10.2)."""
    plan = events.plan
    reached = None
    for n in shape.calls:
        st = states[n.id]
        if st.status == "failed" and st.error.node == n.id:
            if reached is None:
                reached = {id(e) for e in [*output_errors, *handled]}
            if id(st.error) not in reached:
                events.add_log(f"'{n.callee}' at {n.line}:{n.column} failed but its value "
                               f"was not needed: {st.error.message}")
    errors: list[dict] = []
    seen: set[int] = set()
    for e in output_errors:
        if id(e) not in seen:
            seen.add(id(e))
            errors.append(e.to_json())
    ordered = {name: outputs[name] for name in plan.outputs if name in outputs}
    if cancelled:
        status = "cancelled"
    else:
        status = "completed" if len(ordered) == len(plan.outputs) else "failed"
    result = RunResult(status, ordered, errors, list(events.log), node_reports(shape, states),
                       round((time.monotonic() - events.t0) * 1000, 3))
    if events.sink is not None:
        events.emit("run_completed", status=status, outputs=ordered, errors=errors,
                    log=result.log, duration_ms=result.duration_ms,
                    nodes=[n.to_json() for n in result.nodes])
    return result
