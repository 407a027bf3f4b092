"""One debug session: the Debug Adapter Protocol requests, answered in the language's terms.

Messages are plain dictionaries shaped as the specification's JSON schema says (the tests
validate every message the adapter sends against `debugAdapterProtocol.json`). The one thread
is the pipeline; its stack is where the run stands (the call, then its layer); Variables holds
the call's arguments, the inputs, the settled bindings and the calls not completed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import anyio

from constellation.compiler.values import render
from constellation.debugger.breakpoints import Breakpoints
from constellation.debugger.child import Child, RunOptions
from constellation.debugger.expressions import Compiled, ExpressionError
from constellation.debugger.program import LaunchError, Program, load_program, path_of
from constellation.debugger.replay import load_record
from constellation.debugger.state import Point, RunState
from constellation.debugger.stepping import LiveEngine, ReplayEngine
from constellation.debugger.whole import Fetcher

THREAD = 1
CAPABILITIES = {
    "supportsConfigurationDoneRequest": True,
    "supportsConditionalBreakpoints": True,
    "supportsHitConditionalBreakpoints": True,
    "supportsFunctionBreakpoints": True,
    "supportsEvaluateForHovers": True,
    "supportsStepBack": True,
    "supportsTerminateRequest": True,
    "supportTerminateDebuggee": True,
    "supportsDelayedStackTraceLoading": False,
    "supportsClipboardContext": True,
}
SUMMARY_LIMIT = 200  # a list's or record's one-line text; its items are whole when expanded
STRING_LIMIT = 100_000  # a string's text in Variables (Copy Value gives it whole)


class Problem(Exception):
    """A request that cannot be done: its message is the error response's sentence."""


class References:
    """variablesReference numbers of one stop: each names a scope's variables, or a value
    whose children (a list's items, a record's fields) are made only for the page asked."""

    def __init__(self) -> None:
        self._scopes: dict[int, tuple[list[tuple[str, Any, str]], bool]] = {}
        self._values: dict[int, tuple[list | dict, str | None]] = {}

    def clear(self) -> None:
        self._scopes.clear()
        self._values.clear()

    def _next(self) -> int:
        return len(self._scopes) + len(self._values) + 1

    def add(self, children: list[tuple[str, Any, str]], bindings: bool = False) -> int:
        """A scope: its variables as (name, value, text); `bindings`: their names are the
        program's (an expression can name them)."""
        ref = self._next()
        self._scopes[ref] = (children, bindings)
        return ref

    def add_value(self, value: list | dict, path: str | None) -> int:
        """A list or record; `path` is its expression (its fields' evaluateName)."""
        ref = self._next()
        self._values[ref] = (value, path)
        return ref

    def children(self, ref: int, start: int = 0, count: int | None = None,
                 which: str | None = None) -> list[tuple[str, Any, str, str | None]]:
        """(name, value, text, evaluateName) of the children `start`..`start + count`."""
        end = None if count is None else start + count
        if ref in self._scopes:
            children, bindings = self._scopes[ref]
            return [(name, value, text, name if bindings else None)
                    for name, value, text in children[start:end]]
        value, path = self._values.get(ref, ([], None))
        if isinstance(value, dict):
            if which == "indexed":
                return []
            return [(str(k), value[k], "", f"{path}.{k}" if path and _name(str(k)) else None)
                    for k in list(value)[start:end]]
        if which == "named":
            return []
        end = len(value) if end is None else min(len(value), end)
        return [(f"[{i}]", value[i], "", None) for i in range(start, end)]


def _name(text: str) -> bool:
    return text.replace("_", "a").replace("-", "a").isalnum() and not text[0].isdigit()


def shown(value: Any, limit: int = SUMMARY_LIMIT) -> str:
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        limit = max(limit, STRING_LIMIT)
    else:
        text = render(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


class Session:
    def __init__(self, send: Callable[[dict], None], tg) -> None:
        self._send = send
        self.tg = tg
        self._seq = 0
        self.program: Program | None = None
        self.breakpoints = Breakpoints()
        self.engine: LiveEngine | ReplayEngine | None = None
        self.child: Child | None = None
        self.stop_on_entry = False
        self.stop: tuple[Point | None, RunState] | None = None
        self.refs = References()
        self.fetcher: Fetcher | None = None
        self.closed = False
        self._ended = False
        self._after: list[Callable[[], None]] = []

    # -- messages -----------------------------------------------------------------------------
    def send(self, message: dict) -> None:
        self._seq += 1
        self._send({"seq": self._seq, **message})

    def event(self, name: str, body: dict | None = None) -> None:
        self.send({"type": "event", "event": name, **({"body": body} if body is not None else {})})

    def output(self, text: str, category: str = "console") -> None:
        self.event("output", {"category": category, "output": text if text.endswith("\n")
                              else text + "\n"})

    async def handle(self, message: Any) -> None:
        if not isinstance(message, dict) or message.get("type") != "request":
            return
        command = str(message.get("command"))
        handler = getattr(self, "on_" + command, None)
        arguments = message.get("arguments") or {}
        try:
            if handler is None:
                raise Problem(f"The Constellation debugger does not support '{command}'.")
            if not isinstance(arguments, dict):
                raise Problem(f"The arguments of '{command}' must be an object.")
            body = await handler(arguments)
        except (Problem, LaunchError, ExpressionError) as exc:
            self.send({"type": "response", "request_seq": message.get("seq", 0),
                       "success": False, "command": command, "message": str(exc),
                       # the console shows an expression's error itself: no notification too
                       "body": {"error": {"id": 1, "format": str(exc),
                                          "showUser": command != "evaluate"}}})
        else:
            response = {"type": "response", "request_seq": message.get("seq", 0),
                        "success": True, "command": command}
            if body is not None:
                response["body"] = body
            self.send(response)
        after, self._after = self._after, []
        for action in after:
            action()

    # -- lifecycle ----------------------------------------------------------------------------
    async def on_initialize(self, args: dict) -> dict:
        return CAPABILITIES

    async def on_launch(self, args: dict) -> None:
        if self.engine is not None:
            raise Problem("This session is already debugging a program.")
        path = path_of(args.get("program"))
        inputs = args.get("inputs", {})
        if not isinstance(inputs, dict):
            raise LaunchError("'inputs' must be an object mapping input names to values.")
        options = RunOptions(inputs, bool(args.get("useExamples", False)),
                             _choice(args, "schedule", ("layered", "eager")),
                             bool(args.get("serial", False)), _seed(args))
        self.stop_on_entry = bool(args.get("stopOnEntry", False))
        if args.get("replay") is not None:
            self.program = await load_program(path)
            self.engine = ReplayEngine(self, load_record(self.program, args["replay"]))
        else:
            # the run's child starts while the signatures load: it waits at its first point
            child = self.child = await Child.start(path, options)
            self.tg.start_soon(child.watch)
            try:
                self.program = await load_program(path)
            except LaunchError:
                await child.end()
                self.child = None
                raise
            self.engine = await self._await_start(child)
            pid = child.pid
            # a live run cannot go back: the editor hides Step Back and Reverse Continue
            self._after.append(lambda: self.event("capabilities", {
                "capabilities": {"supportsStepBack": False}}))
            self._after.append(lambda: self.event("process", {
                "name": path.name, "systemProcessId": pid, "isLocalProcess": True,
                "startMethod": "launch"}))
        self._after.append(lambda: self.event("initialized"))

    async def _await_start(self, child: Child) -> LiveEngine:
        state = RunState()
        events = child.events()
        rejected = None
        async for event in events:
            state.apply(event)
            if event.get("event") == "run_started":
                break
            if event.get("event") == "run_rejected":
                rejected = event
                break
        else:
            code = await child.end()
            self.child = None
            raise LaunchError(f"The run ended before it started (exit status {code}).")
        if rejected is not None:
            await child.end()
            self.child = None
            raise LaunchError("The run was rejected: " + "; ".join(
                (f"line {e['line']}: " if e.get("line") else "") + str(e.get("message"))
                for e in rejected.get("errors") or []) + ".")
        state.whole = self.fetcher = Fetcher(child.send)
        engine = LiveEngine(self, child, state)
        self.tg.start_soon(self._read_child, engine, events)
        self.tg.start_soon(self._read_stderr, child)
        return engine

    async def _read_child(self, engine: LiveEngine, events) -> None:
        async for event in events:
            if event.get("event") == "debug_point":
                engine.asked(Point.from_event(event))
                continue
            if event.get("event") == "debug_value":
                self.fetcher.answered(event)
                continue
            engine.state.apply(event)
            self.forward_output(event)
        self.fetcher.ended()
        code = await self.child.finish() if self.child is not None else None
        self.finished(code if code is not None else 0)

    async def _read_stderr(self, child: Child) -> None:
        async for line in child.lines(child.process.stderr):
            if line.strip():
                self.output(line, "stderr")

    def forward_output(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "log":
            self.output(str(event.get("message", "")))
        elif kind == "node_failed":
            error = event.get("error") or {}
            self.output(f"{event.get('name')} (line {event.get('line')}): "
                        f"{error.get('message')}", "stderr")
        elif kind == "run_completed":
            outputs = ", ".join(f"{k} = {shown(v)}" for k, v in (event.get("outputs") or {}).items())
            self.output(f"Run {event.get('status')}" + (f": {outputs}" if outputs else "."))

    def finished(self, code: int) -> None:
        if self._ended:
            return
        self._ended = True
        self.event("exited", {"exitCode": code})
        self.event("terminated")

    async def on_configurationDone(self, args: dict) -> None:
        engine = self._engine()
        self._after.append(lambda: engine.configured(self.stop_on_entry))

    async def on_terminate(self, args: dict) -> None:
        await self._end_run()

    async def on_disconnect(self, args: dict) -> None:
        await self._end_run()
        self.closed = True

    async def _end_run(self) -> None:
        if self.child is not None:
            code = await self.child.end()
            self.finished(code if code is not None else 0)
        elif self.engine is not None:
            self.finished(0)

    async def shutdown(self) -> None:
        if self.child is not None:
            await self.child.end()

    # -- breakpoints --------------------------------------------------------------------------
    def _source(self) -> dict | None:
        if self.program is None:
            return None
        return {"name": self.program.path.name, "path": str(self.program.path)}

    async def on_setBreakpoints(self, args: dict) -> dict:
        program = self._program()
        wanted = args.get("breakpoints")
        if wanted is None:
            wanted = [{"line": n} for n in args.get("lines") or []]
        source = args.get("source") or {}
        if source.get("path") and Path(source["path"]).resolve() != program.path:
            return {"breakpoints": [
                {"verified": False, "line": b.get("line"),
                 "message": f"Only {program.path.name}, the program being debugged, stops."}
                for b in wanted]}
        bps = self.breakpoints.set_lines(list(wanted), program)
        return {"breakpoints": [b.to_dap(self._source()) for b in bps]}

    async def on_setFunctionBreakpoints(self, args: dict) -> dict:
        bps = self.breakpoints.set_functions(list(args.get("breakpoints") or []),
                                             self._program())
        return {"breakpoints": [b.to_dap(None) for b in bps]}

    async def on_setExceptionBreakpoints(self, args: dict) -> dict:
        return {"breakpoints": []}

    # -- running ------------------------------------------------------------------------------
    async def on_threads(self, args: dict) -> dict:
        return {"threads": [{"id": THREAD, "name": "pipeline"}]}

    def _resume(self, mode: str) -> None:
        engine = self._engine()
        self.stop = None
        self.refs.clear()
        self._after.append(lambda: engine.resume(mode))

    async def on_continue(self, args: dict) -> dict:
        self._resume("continue")
        return {"allThreadsContinued": True}

    async def on_next(self, args: dict) -> None:
        self._resume("next")

    async def on_stepIn(self, args: dict) -> None:
        self._resume("stepIn")

    async def on_stepOut(self, args: dict) -> None:
        self._resume("next")  # out of a call is to the end of its layer

    async def on_pause(self, args: dict) -> None:
        engine = self._engine()
        self._after.append(engine.pause)

    async def on_stepBack(self, args: dict) -> None:
        engine = self._engine()
        if not engine.replay:
            raise Problem(engine.step_back())
        self.refs.clear()
        self._after.append(engine.step_back)

    async def on_reverseContinue(self, args: dict) -> None:
        engine = self._engine()
        if not engine.replay:
            raise Problem(engine.step_back())
        self.refs.clear()
        self._after.append(engine.reverse_continue)

    def stopped(self, point: Point | None, state: RunState, reason: str,
                description: str) -> None:
        self.stop = (point, state)
        self.refs.clear()
        body: dict = {"reason": reason, "threadId": THREAD, "allThreadsStopped": True}
        if description:
            body["description"] = description
            body["text"] = description
        if point is not None and reason in ("breakpoint", "function breakpoint"):
            body["hitBreakpointIds"] = self.breakpoints.hit_ids(point)
        self.event("stopped", body)

    def continued(self) -> None:
        """The run went on without a request asking it to (a pause's stop moving on)."""
        self.stop = None
        self.refs.clear()
        self.event("continued", {"threadId": THREAD, "allThreadsContinued": True})

    # -- where the run stands -----------------------------------------------------------------
    def _stopped_at(self) -> tuple[Point | None, RunState]:
        if self.stop is None:
            raise Problem("The run is not stopped.")
        return self.stop

    def _layer_line(self, layer: int) -> tuple[int, int]:
        program = self._program()
        nodes = sorted((n for n in program.nodes if n.layer == layer), key=lambda n: n.span.start)
        return program.line_of(nodes[0].span.start) if nodes else (1, 1)

    async def on_stackTrace(self, args: dict) -> dict:
        point, state = self._stopped_at()
        depth = state.depth
        frames = []
        if point is None:
            running = [self._program().node(n) for n, c in state.calls.items()
                       if c.status in ("running", "retrying")]
            line, col = (self._program().line_of(running[0].span.start) if running else (1, 1))
            names = ", ".join(n.label for n in running if n) or "none"
            frames.append(self._frame(1, f"paused (running calls: {names})", line, col))
        elif point.kind == "call":
            frames.append(self._frame(1, f"{self._call_text(point)}  · layer {point.layer}",
                                      point.line or 1, point.column or 1))
            line, col = self._layer_line(point.layer)
            frames.append(self._frame(2, f"layer {point.layer} of {depth}", line, col))
        elif point.kind == "layer":
            line, col = self._layer_line(point.layer)
            frames.append(self._frame(1, f"before layer {point.layer} of {depth}", line, col))
        else:
            frames.append(self._frame(1, "end of the recorded run", 1, 1))
        return {"stackFrames": frames, "totalFrames": len(frames)}

    def _call_text(self, point: Point) -> str:
        """`tripled = MultiplyEach(…)`, or for a call inside a binding's expression
        `SumList(…) in stats`."""
        fn = point.module or "?"
        node = self._program().node(point.node) if point.node is not None else None
        if node is None or node.names:
            return f"{point.name} = {fn}(…)"
        around = self._program().binding_around(node)
        return f"{fn}(…) in {around}" if around else f"{fn}(…)"

    def _frame(self, frame_id: int, name: str, line: int, column: int) -> dict:
        return {"id": frame_id, "name": name, "line": line, "column": column,
                "source": self._source()}

    async def on_scopes(self, args: dict) -> dict:
        point, state = self._stopped_at()
        program = self._program()
        settled = await state.settled(program)
        scopes = []
        if point is not None and point.kind == "call":
            node = program.node(point.node) if point.node is not None else None
            params = [p for p, _ in node.function.params] if node and node.function else []
            if point.args is not None:
                args_list = [(params[i] if i < len(params) else f"argument {i + 1}",
                              await state.whole(("arg", point.number, i), v), "")
                             for i, v in enumerate(point.args)]
            else:
                args_list = [("(not recorded)", None, "the record keeps the arguments of module "
                              "calls, not of the standard library's; see the settled "
                              "bindings")]
            scopes.append(self._scope("Arguments", args_list))
        inputs = set(program.input_names())
        if state.inputs_known:
            scopes.append(self._scope("Inputs", [(n, state.inputs.get(n), "")
                                                 for n in program.input_names()
                                                 if n in state.inputs], bindings=True))
        scopes.append(self._scope("Settled bindings", [(n, v, "") for n, v in settled.items()
                                                      if n not in inputs], bindings=True))
        calls = []
        for node in program.calls_in_order():
            call = state.call(node.id)
            if call.status == "completed":
                continue
            detail = f"{call.status}" + (f": {call.detail}" if call.detail else "")
            calls.append((program.call_label(node), None, f"{detail} (layer {node.layer}, "
                                            f"{node.function.qualified if node.function else '?'})"))
        scopes.append(self._scope("Calls not completed", calls))
        return {"scopes": scopes}

    def _scope(self, name: str, children: list[tuple[str, Any, str]],
               bindings: bool = False) -> dict:
        return {"name": name, "variablesReference": self.refs.add(children, bindings),
                "namedVariables": len(children), "expensive": False}

    async def on_variables(self, args: dict) -> dict:
        """A page of a scope or value (`start`, `count`, `filter`: the editor pages a long
        list in chunks, so a list of a million items costs only what is shown)."""
        start, count = args.get("start") or 0, args.get("count") or None
        which = args.get("filter")
        return {"variables": [self._variable(name, value, text, path) for name, value, text, path
                              in self.refs.children(int(args.get("variablesReference", 0)),
                                                    int(start), count and int(count), which)]}

    def _variable(self, name: str, value: Any, text: str = "", path: str | None = None) -> dict:
        ref = 0
        if isinstance(value, (list, dict)) and value:
            ref = self.refs.add_value(value, path)
        variable = {"name": name, "value": text or shown(value), "variablesReference": ref}
        if path is not None:
            variable["evaluateName"] = path
        if isinstance(value, list):
            variable["indexedVariables"] = len(value)
        elif isinstance(value, dict):
            variable["namedVariables"] = len(value)
        return variable

    async def on_evaluate(self, args: dict) -> dict:
        expression = args.get("expression")
        if not isinstance(expression, str):
            raise Problem("'expression' must be text.")
        program = self._program()
        state = self.stop[1] if self.stop is not None else getattr(self.engine, "state", RunState())
        compiled = Compiled(expression, program.binding_types(), program.analysis.registry)
        value = await compiled.evaluate(state.scope(program))
        if args.get("context") == "clipboard":  # Copy Value: the value whole, as text
            return {"result": shown(value, limit=sys.maxsize),
                    "variablesReference": 0}
        path = expression.strip() if _name(expression.strip()) else None
        variable = self._variable("result", value, path=path)
        return {"result": variable["value"], "type": compiled.type_text(),
                **{k: variable[k] for k in ("variablesReference", "indexedVariables",
                                            "namedVariables") if k in variable}}

    # -- helpers ------------------------------------------------------------------------------
    def _engine(self):
        if self.engine is None:
            raise Problem("Launch a program first.")
        return self.engine

    def _program(self) -> Program:
        if self.program is None:
            raise Problem("Launch a program first.")
        return self.program


def _choice(args: dict, key: str, allowed: tuple[str, ...]) -> str | None:
    value = args.get(key)
    if value is None:
        return None
    if value not in allowed:
        raise LaunchError(f"'{key}' must be one of {', '.join(allowed)}, not {value!r}.")
    return value


def _seed(args: dict) -> int | None:
    value = args.get("seed")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise LaunchError(f"'seed' must be an integer, not {value!r}.")
    return value
