"""The scheduling core (LANGUAGE.md §10): runs a lowered Plan.

Node states, the layer gate (gate.py), and demand: a call node's task is started when its
layer is released (layered) or when the calls it reads have settled (eager); lazy calls,
calls of fallbacks and calls that read a match case's pattern bindings start when their
value is demanded. Each call goes through the steps of its options (steps.py) around one
attempt (calls.py) on the run's executor; what happens is reported through results.py.
"""

from __future__ import annotations

import functools
import signal
import threading
import time
from contextlib import contextmanager
from typing import Callable

import anyio
import anyio.lowlevel

from constellation.compiler import planir as ir
from constellation.compiler.options import CallOptions
from constellation.runtime import signals, steps, values
from constellation.runtime.calls import attempt, coerce_args, executor_for, needs_coercion
from constellation.runtime.collector import earlier_objects_frozen
from constellation.runtime.config import RunConfig, time_scale
from constellation.runtime.debugging import NO_DEBUGGER
from constellation.runtime.errors import RunError
from constellation.runtime.evaluate import Evaluator
from constellation.runtime.gate import EVALUATING, LayerGate, NodeState
from constellation.runtime.limits import Scheduler
from constellation.runtime.results import Events, RunResult, assemble
from constellation.runtime.shape import Starts, layer_order, shape_of, start_ranks
from constellation.runtime.steps import CallContext
from constellation.runtime.watchdog import Watchdog

DEFAULT_OPTIONS = CallOptions()


class Run:
    def __init__(self, plan, functions: list, inputs: dict, config: RunConfig,
                 emit: Callable[[dict], None] | None = None, file: str | None = None):
        self.plan = plan
        self.source = plan  # line_col(offset), for the steps
        self.functions = functions  # the resolved Function of each plan.functions entry
        self.inputs = inputs
        self.config = config
        self.file = file
        self.events = Events(plan, functions, emit)
        self.emit_node = self.events.emit_node  # (the steps' Host.emit_node)
        self.evaluator = Evaluator(self)
        self.states = [NodeState(n) for n in plan.nodes]
        self.handled: list[RunError] = []  # failures an on_error option turned into values
        self.scale = time_scale()
        self.shape = shape = shape_of(plan)  # worked out on the plan's first run (shape.py)
        self.depth = shape.depth
        self.calls = shape.calls
        if config.seed is None:
            self.rank, self.order = shape.rank, shape.order
        else:  # a seed shuffles each layer's start order
            self.rank = start_ranks(self.calls, config.seed)
            self.order = layer_order(self.calls, self.rank)
        # each function's arguments need reshaping (calls.coerce_args), or pass as they are
        self.coerces = [fn is None or needs_coercion(fn) for fn in functions]
        self.gate = LayerGate(self.depth, config.schedule == "layered", self.events, {},
                              self.open_layer, self.release)
        self.debugger = NO_DEBUGGER  # `cst run --debug` sets a ChannelDebugger (debugging.py)
        self.readers: dict[int, list[int]] = {}  # who a call's settling unblocks (Starts)
        self.tg = None
        self.settling: NodeState | None = None  # the call whose settling runs now (`ended`)
        self.executor = None  # set up by `execute` (calls.LocalExecutor or the Dask one)
        self.interrupted = False  # SIGINT raised KeyboardInterrupt into the loop's thread
        self.watch = Watchdog()  # notices an async module that blocks the loop (watchdog.py)
        self.attempt = functools.partial(attempt, self)  # the innermost step of every chain
        self.chains: dict[tuple, steps.Step] = {}  # (steps.needs(options), higher-order)
        self.known: dict[int, object] = {}  # calls settled before the run (start_settled)
        self.reused = 0  # how many of them the run used
        if config.serial:
            self.scheduler = Scheduler(1, aging=False, settle_checkpoints=25)
        else:
            self.scheduler = Scheduler(config.max_concurrency)

    # -- what the steps and the evaluator ask of the run --------------------------------------
    def emit(self, event: str, **fields) -> None:
        self.events.emit(event, **fields)

    def add_log(self, line: str) -> None:
        self.events.add_log(line)

    @property
    def log(self) -> list[str]:
        return self.events.log

    @property
    def _emit(self):
        return self.events.sink

    @_emit.setter
    def _emit(self, sink) -> None:
        self.events.sink = sink

    def repark(self, st: NodeState) -> None:
        self.gate.repark(st)

    def call_error(self, call: ir.Call, fn, message: str) -> RunError:
        line, col = self.plan.line_col(call.span.start)
        return RunError(message, line, col, fn.qualified)

    def admission_key(self, call: ir.Call, opts: CallOptions, st: NodeState | None
                      ) -> tuple[int, int]:
        if not self.config.serial:
            return opts.priority, call.span.start
        layer = st.node.layer if st is not None else 0
        position = self.rank.get(st.node.id, call.span.start) if st is not None \
            else call.span.start
        return opts.priority - 1000 * layer, position  # layer, then priority, then position

    # -- starting calls -----------------------------------------------------------------------
    def open_layer(self, k: int) -> None:
        """Layered: layer k may start; under a debugger, once it lets the layer go."""
        if self.debugger.active:
            self.tg.start_soon(self.open_layer_after_debugger, k)
        else:
            self.gate.start_layer(k)

    async def open_layer_after_debugger(self, k: int) -> None:
        await self.debugger.before_layer(k)
        self.gate.start_layer(k)

    def release(self, k: int) -> None:
        """Layered: layer k is released; its calls start, in rank order."""
        states = self.states
        for i in self.order.get(k, ()):
            self.start(states[i])

    def start(self, st: NodeState) -> None:
        if st.started:
            return
        st.started = True
        self.gate.begin(st)
        finisher = self.settling
        if finisher is None:
            self.tg.start_soon(self.call_task, st)
            return
        # started by a call's settling: the last such call runs in that call's task, which
        # is ending (a task costs several times a turn of the loop); the others get theirs
        kept, finisher.successor = finisher.successor, st
        if kept is not None:
            self.tg.start_soon(self.call_task, kept)

    async def call_task(self, st: NodeState) -> None:
        """A call's task; then, after a turn of the loop (as a task of its own would start),
        the call its settling started last, if any."""
        while True:
            await self.run_call_node(st)
            st.successor, st = None, st.successor
            if st is None:
                return
            await anyio.lowlevel.checkpoint()

    def plan_starts(self) -> list[NodeState]:
        """When each call starts: once the calls its arguments read (through value nodes)
        have settled (eager) or with its layer (layered), and at once when one of them fails
        (it is skipped at once) or when its arguments demand a lazy or fallback call (that
        call starts when first demanded, §10.2). Returns the calls that start at once."""
        if self.known or self.config.seed is not None:
            nodes = self.plan.nodes
            settled = {i for i in self.known
                       if nodes[i].kind == "module" and not nodes[i].demand_driven}
            starts = Starts(self.plan, self.order, settled)
        else:
            starts = self.shape.starts
        states = self.states
        for i, n in starts.blockers.items():
            states[i].blockers = n
        self.readers = starts.readers  # read only: shared by every run of the plan
        return [states[i] for i in starts.at_once(self.gate.layered)]

    def unblock(self, st: NodeState) -> None:
        readers = self.readers.get(st.node.id)
        if readers is None or self.gate.closing:
            return
        failed = st.status != "completed"
        eager = not self.gate.layered
        states = self.states
        for i in readers:
            reader = states[i]
            reader.blockers -= 1
            if (reader.blockers == 0 and eager) or failed:
                self.start(reader)

    # -- demand -------------------------------------------------------------------------------
    async def node_value(self, node_id: int, env: dict | None = None) -> object:
        st = self.states[node_id]
        if not st.started:
            node = st.node
            if node.kind == "module":
                if node.demand_driven and node_id in self.known:
                    self.settle_known(st)
                elif node.demand_driven:
                    if env and node.pattern_bindings:  # demanded by its chosen case's body
                        st.env = {k: env[k] for k in node.pattern_bindings if k in env}
                    self.start(st)  # demanded: it holds the gate until settled or parked
                # any other call starts with its layer (or its inputs, eager)
            else:
                st.started = True
                with self.gate.waiting(st):
                    await self.evaluate_value_node(st)
        if not st.settled:  # a settled node costs no wait
            with self.gate.waiting(st):
                await st.wait()
        if st.error is not None:
            raise st.error
        return st.value

    async def evaluate_value_node(self, st: NodeState) -> None:
        node = st.node
        token = EVALUATING.set(st)
        try:
            value = await self.evaluator.eval(node.code, {})
            st.value = values.coerce(value, node.type) if node.type is not None else value
            st.status = "completed"
        except RunError as exc:
            if exc.node is None:
                exc.node = node.id
            st.error = exc
            st.status = "failed"
        finally:
            EVALUATING.reset(token)
            st.settle()
            if st.parked:
                self.gate.repark(st)

    async def inline_call(self, call: ir.Call, env: dict) -> object:
        """A call inside a lambda body: not a plan node, run when reached (§10.3)."""
        fn = self.functions[call.fn] if call.fn >= 0 else None
        if fn is None:
            line, col = self.plan.line_col(call.span.start)
            raise RunError(f"Unresolved function '{call.label}'", line, col, call.label)
        args = coerce_args(fn, await self.evaluator.eval_args(call, env))
        return await self.execute_call(call, fn, args, None, env)

    # -- call nodes ---------------------------------------------------------------------------
    async def run_call_node(self, st: NodeState) -> None:
        node = st.node
        call = node.code
        fn = self.functions[node.fn]
        EVALUATING.set(st)  # this task evaluates the call's arguments (and its fallback)
        try:
            try:
                args = self.settled_args(call)
                if args is None:
                    args = await self.evaluator.eval_args(call, st.env)
                if self.coerces[node.fn]:
                    args = coerce_args(fn, args)
            except RunError as exc:
                if exc.node is None:  # the call's own argument expression failed
                    exc.node = node.id
                    self.settle(st, error=exc)
                else:
                    self.skip(st, "dependency failed", exc)
                return
            if not self.gate.layered:
                self.gate.reached(node.layer)
            elif node.layer > self.gate.released and not node.demand_driven:
                await self.gate.released_event(node.layer).wait()  # started early: it failed
            if self.debugger.active:  # the call starts when the debugger lets it
                await self.debugger.before_call(node, fn, args)
            try:
                value = await self.execute_call(call, fn, args, st, st.env)
            except RunError as exc:
                if exc.node is None:
                    exc.node = node.id
                self.settle(st, error=exc)
                return
            self.settle(st, value=value)
        finally:
            if not st.settled:  # the run is cancelled: no later layer starts
                self.gate.closing = self.gate.cancelling = True
                self.stop(st)

    def settled_args(self, call: ir.Call) -> list | None:
        """The arguments without evaluation when each is a constant or a node settled with a
        value (most calls, once started); else None (the evaluator's general path)."""
        args = []
        states = self.states
        for arg in call.args:
            kind = type(arg)
            if kind is ir.Ref:
                st = states[arg.node]
                if not st.settled or st.error is not None:
                    return None
                args.append(st.value)
            elif kind is ir.Const:
                args.append(arg.value)
            else:
                return None
        return args

    async def execute_call(self, call: ir.Call, fn, args: list[object], st: NodeState | None,
                           env: dict) -> object:
        """The call through the steps of its options (steps.py), around `attempt`."""
        opts = call.options
        key = (steps.needs(opts), fn.higher_order)
        run_chain = self.chains.get(key)
        if run_chain is None:  # higher-order calls take no scheduler slot
            run_chain = self.chains[key] = steps.chain(
                opts, self.attempt, admission=self.scheduler.bounded and not fn.higher_order)
        c = CallContext(self, call, fn, opts, args, st, env, call.result_t)
        if st is not None:
            st.t_start = time.monotonic()  # reset at admission under bounded scheduling
        try:
            return await run_chain(c)
        finally:
            if st is not None:
                st.attempts, st.cache_hit = c.attempts, c.cache_hit

    # -- settling -----------------------------------------------------------------------------
    def settle(self, st: NodeState, *, value: object = None, error: RunError | None = None
               ) -> None:
        st.duration_ms = (round((time.monotonic() - st.t_start) * 1000, 3)
                          if st.t_start is not None else 0.0)
        st.value, st.error = value, error
        st.status = "failed" if error is not None else "completed"
        if error is not None:
            self.emit_node("node_failed", st.node, duration_ms=st.duration_ms,
                           error=error.to_json())
        elif self.events.sink is not None:  # abbreviating a big value costs: only if listened
            self.emit_node("node_completed", st.node, duration_ms=st.duration_ms,
                           value=values.abbreviate(value), cache_hit=st.cache_hit,
                           attempts=st.attempts)
        self.ended(st)

    def ended(self, st: NodeState) -> None:
        st.settle()
        self.settling = st  # what this starts may run in st's task (`start`)
        try:
            self.gate.ended(st)
            if self.readers:
                self.unblock(st)
        finally:
            self.settling = None

    def stop(self, st: NodeState) -> None:
        """A cancel reached the call: cancelled once its module call began, else skipped."""
        if not st.began:
            self.skip(st, "cancelled", None)
            return
        st.duration_ms = (round((time.monotonic() - st.t_start) * 1000, 3)
                          if st.t_start is not None else 0.0)
        st.status = "cancelled"
        self.emit_node("node_cancelled", st.node, duration_ms=st.duration_ms)
        self.ended(st)

    def skip(self, st: NodeState, reason: str, error: RunError | None) -> None:
        st.status = "skipped"
        st.error = error
        if reason == "dependency failed" and error is not None and error.node is not None:
            # which failed call it waited for, so that an editor can say why it was skipped
            self.emit_node("node_skipped", st.node, reason=reason,
                           dependency=self.plan.nodes[error.node].label)
        else:
            self.emit_node("node_skipped", st.node, reason=reason)
        self.ended(st)

    # -- the whole run ------------------------------------------------------------------------
    def run_started_event(self) -> None:
        if self.events.sink is None:
            return  # nobody listens: the layers' labels are not even made
        labels = self.gate.labels
        for n in self.calls:
            labels.setdefault(n.layer, []).append(n.label)
        layers = [{"layer": k, "nodes": labels.get(k, [])} for k in range(1, self.depth + 1)]
        # every call with its position, so that an editor can mark each line pending at once
        calls = [self.events.node_fields(n) for n in self.calls]
        # the inputs are settled as the run starts: an editor shows them with their values
        inputs = {name: values.abbreviate(self.inputs.get(name)) for name in self.plan.inputs}
        self.emit("run_started", started_at=time.time(), file=self.file,
                  schedule=self.config.schedule,
                  serial=self.config.serial, seed=self.config.seed, depth=self.depth,
                  nodes=len(calls), layers=layers, calls=calls, inputs=inputs)

    def seed_inputs(self) -> None:
        for name in self.plan.inputs:
            st = self.states[self.plan.bindings[name]]
            st.value, st.status, st.started = self.inputs.get(name), "completed", True
            st.settle()

    # -- calls settled before the run (partial.py: --resume, --from, `settled=`) -------------
    def start_settled(self, known: dict[int, object]) -> None:
        """Before `execute`: these calls' values are known. They never become tasks nor take
        an attempt: the others of their layer start settled, a demand-driven one settles when
        first demanded (so one nobody demands still ends "not demanded")."""
        self.known = known

    def seed_known(self) -> None:
        for node_id in self.known:
            st = self.states[node_id]
            if st.node.kind == "module" and not st.node.demand_driven:
                self.settle_known(st)

    def settle_known(self, st: NodeState) -> None:
        st.started = True
        st.value, st.status, st.duration_ms = self.known[st.node.id], "completed", 0.0
        self.reused += 1
        if self.events.sink is not None:
            self.emit_node("node_completed", st.node, duration_ms=0.0,
                           value=values.abbreviate(st.value), cache_hit=False, attempts=0)
        st.settle()

    async def execute(self, *, timeout: float | None = None,
                      cancel_event: anyio.Event | None = None) -> RunResult:
        """Set up the executor the configuration names (a Dask cluster's start-up counts
        against `timeout`), then run."""
        t0 = time.monotonic()
        async with executor_for(self) as executor:
            if timeout is not None:
                timeout = max(0.0, timeout - (time.monotonic() - t0))
            return await self.execute_on(executor, timeout=timeout, cancel_event=cancel_event)

    async def execute_on(self, executor, *, timeout: float | None = None,
                         cancel_event: anyio.Event | None = None) -> RunResult:
        self.executor = executor
        self.events.t0 = time.monotonic()
        self.run_started_event()
        self.seed_inputs()
        if self.known:
            self.seed_known()
        states, hold = self.states, self.gate.hold
        for ids in self.order.values():  # every call that runs unasked holds its layer
            for i in ids:
                st = states[i]
                if not st.settled:
                    hold(st)
        outputs: dict[str, object] = {}
        output_errors: list[RunError] = []
        with earlier_objects_frozen(), _noting_sigint(self), self.watch.watching():
            if timeout is not None:
                self.watch.run_deadline(time.monotonic() + timeout)
            helpers = [self.scheduler.run_dispatcher] if self.scheduler.bounded else []
            if cancel_event is not None:
                helpers.append(functools.partial(_cancel_on, cancel_event, self))
            if helpers:  # they never end on their own: a group around the run's ends them
                async with anyio.create_task_group() as outer:
                    for helper in helpers:
                        outer.start_soon(helper)
                    cancelled = await self.schedule(outputs, output_errors, timeout)
                    outer.cancel_scope.cancel()
            else:
                cancelled = await self.schedule(outputs, output_errors, timeout)
        return self.finish(outputs, output_errors, cancelled)

    async def schedule(self, outputs: dict, output_errors: list[RunError],
                       timeout: float | None) -> bool:
        """The run's one task group: its calls and its outputs, until all have settled or
        its scope is cancelled (the run's timeout, a cancel); returns whether it was."""
        async with anyio.create_task_group() as tg:
            self.tg = tg
            if timeout is not None:
                tg.cancel_scope.deadline = anyio.current_time() + timeout
            for st in self.plan_starts():
                self.start(st)
            self.gate.advance()
            *others, last = self.plan.outputs or [None]
            for name in others:
                tg.start_soon(self.evaluate_output, name, outputs, output_errors)
            if last is not None:  # the last output in this task: one task fewer per run
                await self.evaluate_output(last, outputs, output_errors)
        return tg.cancel_scope.cancel_called

    async def evaluate_output(self, name: str, outputs: dict, errors: list) -> None:
        node_id = self.plan.bindings.get(name)
        if node_id is None:
            return
        try:
            outputs[name] = await self.node_value(node_id)
        except RunError as exc:
            errors.append(exc)

    def finish(self, outputs: dict, output_errors: list[RunError], cancelled: bool) -> RunResult:
        gate = self.gate
        gate.closing = True
        gate.cancelling = gate.cancelling or cancelled
        self.readers = {}
        states = self.states
        for n in self.calls:
            st = states[n.id]
            if not st.settled:
                if st.started or not n.demand_driven:
                    self.stop(st)
                else:
                    self.skip(st, "not demanded", None)
        if cancelled:
            gate.end_open_layers()
        return assemble(self.events, self.shape, self.states, outputs, output_errors,
                        self.handled, cancelled)


@contextmanager
def _noting_sigint(run: Run):
    """Note that Ctrl-C arrived, whoever handles it (Python's default handler, trio's, the
    CLI's): a KeyboardInterrupt after that is the user's and stops the run, while one a module
    raises on its own fails its call."""
    previous = signals.current(signal.SIGINT) if (
        threading.current_thread() is threading.main_thread()) else None
    if not callable(previous):
        yield
        return

    def handler(signum, frame):
        run.interrupted = True
        return previous(signum, frame)

    signals.swap(signal.SIGINT, handler)
    try:
        yield
    finally:
        signals.swap(signal.SIGINT, previous)


async def _cancel_on(event: anyio.Event, run: Run) -> None:
    await event.wait()
    run.tg.cancel_scope.cancel()  # (set before this helper first runs: `Run.schedule`)
