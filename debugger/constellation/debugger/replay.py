"""A recorded run read back: the events of `cst run --events` saved as JSON lines.

Its points are where the live run would have asked: before each `layer_started` and before
each call's first `node_started` (a `cst run --events --debug` record holds its own
`debug_point`s, with argument values). The state at a point is the fold of the events before
it, so any point can be reached, forward or backward, without running anything.

`Record(events, inputs)` is the seam for other sources of recorded runs (the run records of
issue 17): anything that yields a run's ordered events with their values can be replayed.
"""

from __future__ import annotations

import json
from pathlib import Path

from constellation.debugger.program import LaunchError
from constellation.debugger.state import Point, RunState


class Record:
    def __init__(self, events: list[dict], inputs: dict | None) -> None:
        self.inputs = inputs
        self.events: list[dict] = []
        self.points: list[tuple[int, Point]] = []  # (events before it, the point)
        asked = any(e.get("event") == "debug_point" for e in events)
        for event in events:
            kind = event.get("event")
            if kind == "debug_point":
                self.points.append((len(self.events), Point.from_event(
                    {**event, "point": len(self.points) + 1})))
                continue
            if not asked and kind == "layer_started":
                self.points.append((len(self.events), Point(
                    len(self.points) + 1, "layer", event.get("layer") or 0)))
            elif not asked and kind == "node_started" and event.get("attempt", 1) == 1:
                self.points.append((len(self.events), Point(
                    len(self.points) + 1, "call", event.get("layer") or 0, event.get("node"),
                    event.get("name"), event.get("module"), event.get("line"),
                    event.get("column"))))
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


def read_record(path_text: object, inputs: dict | None) -> Record:
    if not isinstance(path_text, str) or not path_text.strip():
        raise LaunchError("'replay' must be the path of a recorded run (the JSON lines of "
                          "`cst run --events`).")
    path = Path(path_text).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LaunchError(f"{path_text}: cannot read the recorded run: "
                          f"{exc.strerror or exc}.") from None
    events = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise LaunchError(f"{path_text}:{number}: not a JSON event line ({exc.msg}); a "
                              "recorded run is the output of `cst run --events`.") from None
        if isinstance(event, dict):
            events.append(event)
    if not any(e.get("event") == "run_started" for e in events):
        rejected = next((e for e in events if e.get("event") == "run_rejected"), None)
        why = (" (the recorded run was rejected before it started)" if rejected else "")
        raise LaunchError(f"{path_text}: no run_started event: not a recorded run{why}.")
    return Record(events, inputs)
