"""A recorded run read back from the run records (`cst runs`), to step through it again.

`replay: RUN` names a run by id or `last` (the newest run of the program), in the records
database `cst runs` reads (CONSTELLATION_RUNS_DB, `runs_db` of constellation.toml, the
default). The record's calls, with their full values and argument values, are laid out again
as the run's events in the order they happened (docs/run-events.md): a point before each
layer and before each call's first attempt, as a live run asks. The state at a point is the
fold of the events before it, so any point can be reached, forward or backward, without
running anything.

The records are the one replay source: every `cst run` (the editors' and the debugger's own
runs included) is recorded, and a record holds what a saved `--events` stream abbreviates
(large values, each module call's arguments).
"""

from __future__ import annotations

from constellation.debugger.program import LaunchError, Program
from constellation.debugger.state import Point, RunState
from constellation.runtime.identity import plan_hash
from constellation.runtime.records import reader
from constellation.runtime.records.store import Unavailable, connect, locate

_SETTLED = {"completed": "node_completed", "failed": "node_failed",
            "skipped": "node_skipped", "cancelled": "node_cancelled"}
# at the same instant, what ends comes before what starts (a barrier, then the next layer)
_ENDS, _LAYER_ENDS, _LAYER_STARTS, _STARTS = range(4)


class Record:
    def __init__(self, events: list[dict], inputs: dict | None) -> None:
        self.inputs = inputs
        self.events: list[dict] = []
        self.points: list[tuple[int, Point]] = []  # (events before it, the point)
        for event in events:
            kind = event.get("event")
            if kind == "layer_started":
                self.points.append((len(self.events), Point(
                    len(self.points) + 1, "layer", event.get("layer") or 0)))
            elif kind == "node_started" and event.get("attempt", 1) == 1:
                self.points.append((len(self.events), Point(
                    len(self.points) + 1, "call", event.get("layer") or 0, event.get("node"),
                    event.get("name"), event.get("module"), event.get("line"),
                    event.get("column"), event.get("args"))))
            self.events.append(event)
        depth = next((e.get("depth") or 0 for e in self.events
                      if e.get("event") == "run_started"), 0)
        self.points.append((len(self.events), Point(len(self.points) + 1, "end", depth + 1)))

    def state_at(self, index: int) -> RunState:
        state = RunState()
        if self.inputs is not None:
            state.inputs, state.inputs_known = dict(self.inputs), True
        for event in self.events[:self.points[index][0]]:
            state.apply(event)
        return state

    def events_between(self, start: int, end: int) -> list[dict]:
        return self.events[self.points[start][0]:self.points[end][0]]


def load_record(program: Program, run: object) -> Record:
    """The recorded run `run` (an id or `last`) of `program`, checked against the file."""
    ref = str(run).strip() if isinstance(run, (str, int)) and not isinstance(run, bool) else ""
    if not ref:
        raise LaunchError("'replay' must name a recorded run: its id (see `cst runs list`) "
                          "or 'last'.")
    file = str(program.path)
    try:
        conn = connect(locate(file), create=False)
    except Unavailable as exc:
        raise LaunchError(f"Cannot replay run {ref}: {exc}.") from None
    try:
        detail = reader.run_detail(conn, reader.find_run(conn, ref, file=file))
    except reader.NotFound as exc:
        raise LaunchError(f"Cannot replay: {exc}.") from None
    finally:
        conn.close()
    check_matches(program, detail)
    return Record(events_of(detail, program), detail.get("inputs"))


def check_matches(program: Program, detail: dict) -> None:
    """A record replays only over the program it ran: the same file, the same plan."""
    run = detail["id"]
    if detail.get("file") != str(program.path):
        raise LaunchError(f"Run {run} is a run of {detail.get('file')}, not of "
                          f"{program.path.name}; replay it with that file as 'program'.")
    if detail.get("status") == "rejected":
        raise LaunchError(f"Run {run} was rejected before it started: nothing to replay.")
    if detail.get("plan_hash") == plan_hash(program.analysis):
        return
    raise LaunchError(f"Run {run} no longer matches {program.path.name}: "
                      + plan_changes(program, detail["calls"])
                      + "; replay a run of the current file (run it again first).")


def plan_changes(program: Program, calls: list[dict]) -> str:
    """What changed in the file since the run, in its calls' terms."""
    then = {c["name"]: c for c in calls}
    now = {n.label: n for n in program.nodes}
    changes = []
    gone = [name for name in then if name not in now]
    added = [name for name in now if name not in then]
    if gone:
        changes.append("the run had " + _names(gone) + ", which the file no longer calls")
    if added:
        changes.append("the file now calls " + _names(added) + ", which the run did not")
    for name in then.keys() & now.keys():
        old, node = then[name], now[name]
        module = node.function.qualified if node.function else None
        if module != old["module"]:
            changes.append(f"'{name}' called {old['module']} and now calls {module}")
        elif node.layer != old["layer"]:
            changes.append(f"'{name}' moved from layer {old['layer']} to layer {node.layer}")
    return "; ".join(changes) or ("its calls are the same, but their arguments, options or the "
                                  "bindings between them changed")


def _names(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def events_of(detail: dict, program: Program) -> list[dict]:
    """The run's events again, in the order they happened, from its recorded calls."""
    plan = program.analysis.plan
    timeline: list[tuple[float, int, int, dict]] = []

    def at(t: float, rank: int, event: dict) -> None:
        timeline.append((t, rank, len(timeline), event))

    layer_starts: dict[int, float] = {}
    layer_ends: dict[int, float] = {}
    for c in detail["calls"]:
        node = program.node(c["node"])
        line, column = program.line_of(node.span.start) if node is not None else (c["line"], 1)
        fields = {"node": c["node"], "name": c["name"], "module": c["module"],
                  "layer": c["layer"], "line": line, "column": column}
        end = c["end_ms"] or 0.0
        start = c["start_ms"] if c["start_ms"] is not None else end
        layer_starts[c["layer"]] = min(layer_starts.get(c["layer"], start), start)
        layer_ends[c["layer"]] = max(layer_ends.get(c["layer"], end), end)
        for attempt, (began, ended, error) in enumerate(c["attempt_times"] or [], 1):
            at(began, _STARTS, {"event": "node_started", **fields, "attempt": attempt,
                                **({"args": c["args"]} if attempt == 1 else {})})
            if attempt < len(c["attempt_times"]) and ended is not None:
                at(ended, _ENDS, {"event": "node_retrying", **fields, "error": error})
        if not c["attempt_times"] and c["status"] != "skipped":  # a cache hit: no attempt
            at(start, _STARTS, {"event": "node_started", **fields, "attempt": 1,
                                "args": c["args"]})
        settled = {"event": _SETTLED.get(c["status"], "node_cancelled"), **fields}
        if c["status"] == "completed":
            settled |= {"value": c["value"], "cache_hit": c["cache_hit"]}
        elif c["status"] == "failed":
            settled["error"] = c["error"] or {}
        elif c["status"] == "skipped":
            settled["reason"] = c["reason"]
        at(end, _ENDS, settled)
    finished = 0.0
    for k in range(1, plan.depth + 1):  # every layer is released, as in a run
        # released at the barrier before it (eager: at its first call, if that came sooner)
        start = min(layer_starts.get(k, finished), finished)
        at(start, _LAYER_STARTS, {"event": "layer_started", "layer": k})
        finished = max(finished, layer_ends.get(k, start))
        at(finished, _LAYER_ENDS, {"event": "layer_completed", "layer": k})
    timeline.sort(key=lambda item: item[:3])
    events = [{"event": "run_started", "depth": plan.depth}]
    events += [event for *_, event in timeline]
    events.append({"event": "run_completed", "status": detail.get("status"),
                   "outputs": detail.get("outputs") or {}})
    return events
