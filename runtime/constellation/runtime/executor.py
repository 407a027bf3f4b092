"""The anyio executor (LANGUAGE.md §6.4, §10): runs a Plan layer by layer (or eagerly), runs each
module call through the steps of its options (steps.py), and reports what it does as events
(docs/run-events.md).
"""

from __future__ import annotations

import contextvars
import inspect
import json
import os
import random
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import anyio
import anyio.to_thread

from constellation.compiler import ast
from constellation.compiler import types as T
from constellation.compiler.options import CallOptions
from constellation.compiler.plan import PlanNode
from constellation.compiler.registry import Function
from constellation.runtime import steps, values
from constellation.runtime.debugging import NO_DEBUGGER
from constellation.runtime.errors import MODULE_EXITS, RunError, exit_message, failure_message
from constellation.runtime.evaluate import Closure, Evaluator, apply_higher_order
from constellation.runtime.limits import Scheduler
from constellation.runtime.steps import CallContext
from constellation.runtime.watchdog import STUCK_S, LoopBlocked, Watchdog

# The node whose expression the current task is evaluating (a call's arguments or fallback, a
# value node's expression): what it awaits is recorded so that blocking on a parked node parks.
_EVALUATING: contextvars.ContextVar["NodeState | None"] = contextvars.ContextVar(
    "constellation_evaluating", default=None)
DEFAULT_OPTIONS = CallOptions()

# -- configuration ----------------------------------------------------------------------------
def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_int(name: str, default: int | None = None) -> int | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected a whole number") from None


def time_scale() -> float:
    """CONSTELLATION_TIME_SCALE (default 1.0) shrinks simulated sleeps in the examples pack; the
    runtime scales option durations (timeout, delay, throttle window) by the same factor so
    that scaled runs keep their meaning."""
    try:
        return max(0.0, float(os.environ.get("CONSTELLATION_TIME_SCALE", "1.0")))
    except ValueError:
        return 1.0


@dataclass
class RunConfig:
    schedule: str = "layered"
    serial: bool = False
    seed: int | None = None
    max_concurrency: int | None = None  # None: unbounded
    executor: str = "local"  # local | dask (module calls on a Dask cluster, dask_backend.py)
    dask_address: str | None = None  # tcp://host:port, or "local" for a LocalCluster
    dask_colocate: tuple[str, ...] = ()  # functions whose calls stay on one worker per run

    @classmethod
    def resolve(cls, schedule=None, serial=None, seed=None, max_concurrency=None,
                executor=None, dask_address=None, dask_colocate=None) -> "RunConfig":
        """Explicit arguments win over the environment."""
        schedule = schedule or os.environ.get("CONSTELLATION_SCHEDULE") or "layered"
        if schedule not in ("layered", "eager"):
            raise ValueError(f"Unknown schedule '{schedule}' (use layered or eager)")
        if serial is None:
            serial = _env_flag("CONSTELLATION_SERIAL")
        if seed is None and os.environ.get("CONSTELLATION_SEED", "").strip():
            seed = _env_int("CONSTELLATION_SEED")
        if max_concurrency is None and _env_flag("CONSTELLATION_SCHEDULER_ENABLED"):
            max_concurrency = _env_int("CONSTELLATION_SCHEDULER_MAX_CONCURRENCY", 16)
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        from constellation.runtime.dask_backend import check_executor
        executor, dask_address = check_executor(
            executor or os.environ.get("CONSTELLATION_EXECUTOR"),
            dask_address or os.environ.get("CONSTELLATION_DASK_ADDRESS"))
        return cls(schedule, bool(serial), seed, max_concurrency, executor, dask_address,
                   tuple(dask_colocate or ()))


# -- results ----------------------------------------------------------------------------------
@dataclass
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


@dataclass(eq=False)
class NodeState:
    node: PlanNode
    done: anyio.Event = field(default_factory=anyio.Event)
    status: str = "pending"
    started: bool = False  # evaluation begun (a task exists or an inline evaluation runs)
    began: bool = False  # its module call has begun (node_started): a cancel "cancels" it
    holding: bool = False  # counts against the layer barrier
    awaiting_fallback: bool = False  # its call failed and it awaits its fallback value
    waiting_on: NodeState | None = None  # the node its evaluation awaits now
    waiters: dict = field(default_factory=dict)  # the states whose waiting_on is this one
    parked: bool = False  # awaiting its fallback, or waiting on a parked node (§10.2)
    env: dict = field(default_factory=dict)  # the pattern bindings of its chosen case (§10.2)
    value: object = None
    error: RunError | None = None
    t_start: float | None = None
    duration_ms: float | None = None
    attempts: int = 0
    cache_hit: bool = False


# -- the run ----------------------------------------------------------------------------------
class Run:
    def __init__(self, analysis, inputs: dict, config: RunConfig,
                 emit: Callable[[dict], None] | None = None, file: str | None = None):
        self.analysis = analysis
        self.plan = analysis.plan
        self.check = analysis.check
        self.source = analysis.source
        self.inputs = inputs
        self.config = config
        self.file = file
        self._emit = emit
        self.evaluator = Evaluator(self)
        self.states = [NodeState(n) for n in self.plan.nodes]
        self.log: list[str] = []
        self.handled: list[RunError] = []  # failures an on_error option turned into values
        self.closing = False  # the run is over: what is still unsettled is skipped
        self.cancelling = False  # a cancel ends the run: open layers are cancelled, not done
        self.scale = time_scale()
        self.depth = self.plan.depth
        self.unsettled = [0] * (self.depth + 2)
        self.running = [0] * (self.depth + 2)  # started calls of layer k not yet settled
        self.gates = [anyio.Event() for _ in range(self.depth + 2)]
        self.released = 0
        self.held_below = 0
        self.layer_labels: dict[int, list[str]] = {}
        for n in self.module_nodes():
            self.layer_labels.setdefault(n.layer, []).append(n.label)
        self.layer_t0: dict[int, float] = {}
        self.layer_done: set[int] = set()
        self.t0 = time.monotonic()
        self.tg = None
        self.remote = None  # the DaskBackend while a dask-executor run executes
        self.interrupted = False  # SIGINT raised KeyboardInterrupt into the loop's thread
        self.watch = Watchdog()  # notices an async module that blocks the loop (watchdog.py)
        self.debugger = NO_DEBUGGER  # `cst run --debug` sets a ChannelDebugger (debugging.py)
        self.call_labels = {id(n.call): n.names[0] for n in self.module_nodes() if n.names}
        self.rank = self._start_ranks()
        self.chains: dict[tuple[int, bool], steps.Step] = {}  # (id(options), higher-order)
        if config.serial:
            self.scheduler = Scheduler(1, aging=False, settle_checkpoints=25)
        else:
            self.scheduler = Scheduler(config.max_concurrency)

    # -- events -------------------------------------------------------------------------------
    def now_ms(self) -> float:
        return round((time.monotonic() - self.t0) * 1000, 3)

    def emit(self, event: str, **fields) -> None:
        if self._emit is not None:
            self._emit({"event": event, "t_ms": self.now_ms(), **fields})

    def emit_node(self, event: str, node: PlanNode, **fields) -> None:
        if self._emit is not None:
            self._emit({"event": event, "t_ms": self.now_ms(), **self.node_fields(node),
                        **fields})

    def node_fields(self, node: PlanNode) -> dict:
        line, col = self.source.line_col(node.span.start)
        return {"node": node.id, "name": node.label,
                "module": node.function.qualified if node.function else None,
                "layer": node.layer, "line": line, "column": col}

    def add_log(self, line: str) -> None:
        self.log.append(line)
        self.emit("log", message=line)

    # -- ordering -----------------------------------------------------------------------------
    def module_nodes(self) -> list[PlanNode]:
        return [n for n in self.plan.nodes if n.kind == "module"]

    def _start_ranks(self) -> dict[int, int]:
        """Start order of call nodes: layer, then source position, shuffled per layer when a
        seed is given (§ issue 3 item 6)."""
        rng = random.Random(self.config.seed)
        by_layer: dict[int, list[PlanNode]] = {}
        for n in self.module_nodes():
            by_layer.setdefault(n.layer, []).append(n)
        ranked: list[PlanNode] = []
        for k in sorted(by_layer):
            layer = sorted(by_layer[k], key=lambda n: n.span.start)
            if self.config.seed is not None:
                rng.shuffle(layer)
            ranked += layer
        return {n.id: i for i, n in enumerate(ranked)}

    # -- the layer barrier --------------------------------------------------------------------
    # unsettled[k]: calls of layer k that hold the barrier (not settled, not parked);
    # held_below: their sum over the released layers, so the next gate opens when it is 0.
    # A layer completes when its started calls have settled (running[k] == 0), parked or not.
    def begin(self, st: NodeState) -> None:
        self.running[st.node.layer] += 1
        self.hold(st)

    def ended(self, st: NodeState) -> None:
        """`st` has just settled (its Event is set): it holds nothing any more."""
        if st.started:  # a call never demanded was never counted
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
            self.advance()

    def repark(self, st: NodeState) -> None:
        """Recompute who is parked from `st` on (§10.2): a node is parked while it awaits its
        fallback value, or while its evaluation waits on a parked node, directly or through
        other nodes — it cannot progress before that value, which may need higher layers, so
        the barrier must not wait for it. Unparking holds again before anything is released."""
        todo = [st]
        while todo:
            s = todo.pop()
            w = s.waiting_on
            parked = not s.done.is_set() and (s.awaiting_fallback
                                              or (w is not None and w.parked))
            if parked == s.parked:
                continue
            s.parked = parked
            if s.node.kind == "module" and s.started:
                if parked:
                    self.unhold(s)
                elif not s.done.is_set():
                    self.hold(s)
            todo.extend(s.waiters)

    @contextmanager
    def waiting(self, st: NodeState):
        """The current evaluation awaits `st` (its value node's evaluation or its Event)."""
        waiter = _EVALUATING.get()
        if waiter is None or waiter is st:
            yield
            return
        previous, waiter.waiting_on = waiter.waiting_on, st
        st.waiters[waiter] = None
        self.repark(waiter)
        try:
            yield
        finally:
            st.waiters.pop(waiter, None)
            if waiter.waiting_on is st:  # concurrent evaluations of one node never unwind others
                waiter.waiting_on = previous
            self.repark(waiter)

    def advance(self) -> None:
        """Release layer k once every call of layers < k is settled or parked (§10.2)."""
        if self.config.schedule != "layered" or self.closing:
            return  # closing: the calls left are being skipped, no layer starts any more
        while self.released < self.depth and self.held_below == 0:
            self.released += 1
            self.held_below += self.unsettled[self.released]
            self.open_layer(self.released)

    def check_layer_done(self, k: int) -> None:
        if k not in self.layer_done and self.running[k] == 0 and k in self.layer_t0:
            self.end_layer(k)

    def end_layer(self, k: int) -> None:
        self.layer_done.add(k)
        self.emit("layer_cancelled" if self.cancelling else "layer_completed", layer=k,
                  duration_ms=round((time.monotonic() - self.layer_t0[k]) * 1000, 3))

    def open_layer(self, k: int) -> None:
        if self.debugger.active:  # the layer starts when the debugger lets it (debugging.py)
            self.tg.start_soon(self.open_layer_after_debugger, k)
            return
        self.start_layer(k)

    async def open_layer_after_debugger(self, k: int) -> None:
        await self.debugger.before_layer(k)
        self.start_layer(k)

    def start_layer(self, k: int) -> None:
        self.layer_t0[k] = time.monotonic()
        self.emit("layer_started", layer=k, nodes=self.layer_labels.get(k, []))
        self.gates[k].set()
        self.check_layer_done(k)

    # -- demand -------------------------------------------------------------------------------
    async def node_value(self, node_id: int, env: dict | None = None) -> object:
        st = self.states[node_id]
        if not st.started:
            st.started = True
            if st.node.kind == "module":
                if env and st.node.pattern_bindings:  # demanded by its chosen case's body
                    st.env = {k: env[k] for k in st.node.pattern_bindings if k in env}
                self.begin(st)  # demanded: it now holds the barrier until settled or parked
                self.tg.start_soon(self.run_call_node, st)
            else:
                with self.waiting(st):
                    await self.evaluate_value_node(st)
        if not st.done.is_set():  # a set Event still costs a loop iteration: skip it
            with self.waiting(st):
                await st.done.wait()
        if st.error is not None:
            raise st.error
        return st.value

    async def evaluate_value_node(self, st: NodeState) -> None:
        node = st.node
        token = _EVALUATING.set(st)
        try:
            value = await self.evaluator.eval(node.expr, {})
            t = self.check.binding_types.get(node.name) if node.name else None
            st.value = values.coerce(value, t) if t is not None else value
            st.status = "completed"
        except RunError as exc:
            if exc.node is None:
                exc.node = node.id
            st.error = exc
            st.status = "failed"
        finally:
            _EVALUATING.reset(token)
            st.done.set()
            if st.parked:
                self.repark(st)

    async def inline_call(self, call: ast.Call, env: dict) -> object:
        """A call inside a lambda body: not a DAG node, run when reached (§10.3)."""
        fn = self.check.call_targets.get(id(call))
        if fn is None:
            line, col = self.source.line_col(call.span.start)
            raise RunError(f"Unresolved function '{call.qualified}'", line, col, call.qualified)
        args = coerce_args(fn, await self.evaluator.eval_args(call, env))
        opts = self.check.call_options.get(id(call)) or DEFAULT_OPTIONS
        return await self.execute_call(call, fn, opts, args, None, env)

    # -- call nodes ---------------------------------------------------------------------------
    async def run_call_node(self, st: NodeState) -> None:
        node = st.node
        layered = not node.demand_driven and self.config.schedule == "layered"
        _EVALUATING.set(st)  # this task evaluates the call's arguments (and its fallback)
        try:
            try:
                args = coerce_args(node.function,
                                   await self.evaluator.eval_args(node.call, st.env))
            except RunError as exc:
                if exc.node is None:  # the call's own argument expression failed
                    exc.node = node.id
                    self.settle(st, error=exc)
                else:
                    self.skip(st, "dependency failed", exc)
                return
            gate = self.gates[node.layer]
            if layered and not gate.is_set():
                await gate.wait()
            elif self.config.schedule == "eager" and node.layer not in self.layer_t0:
                self.layer_t0[node.layer] = time.monotonic()
                self.emit("layer_started", layer=node.layer,
                          nodes=self.layer_labels.get(node.layer, []))
            await self.debugger.before_call(node, args)  # debugging.py: no wait by default
            try:
                value = await self.execute_call(node.call, node.function,
                                                node.options or DEFAULT_OPTIONS, args, st,
                                                st.env)
            except RunError as exc:
                if exc.node is None:
                    exc.node = node.id
                self.settle(st, error=exc)
                return
            self.settle(st, value=value)
        finally:
            if not st.done.is_set():  # the run is cancelled: no later layer starts
                self.closing = self.cancelling = True
                self.stop(st)

    def settle(self, st: NodeState, *, value: object = None, error: RunError | None = None
               ) -> None:
        st.duration_ms = (round((time.monotonic() - st.t_start) * 1000, 3)
                          if st.t_start is not None else 0.0)
        st.value, st.error = value, error
        st.status = "failed" if error is not None else "completed"
        if error is not None:
            self.emit_node("node_failed", st.node, duration_ms=st.duration_ms,
                           error=error.to_json())
        elif self._emit is not None:  # abbreviating a big value costs: only when listened to
            self.emit_node("node_completed", st.node, duration_ms=st.duration_ms,
                           value=values.abbreviate(value), cache_hit=st.cache_hit,
                           attempts=st.attempts)
        st.done.set()
        self.ended(st)

    def stop(self, st: NodeState) -> None:
        """A cancel reached the call: cancelled once its module call began, else skipped."""
        if not st.began:
            self.skip(st, "cancelled", None)
            return
        st.duration_ms = (round((time.monotonic() - st.t_start) * 1000, 3)
                          if st.t_start is not None else 0.0)
        st.status = "cancelled"
        self.emit_node("node_cancelled", st.node, duration_ms=st.duration_ms)
        st.done.set()
        self.ended(st)

    def skip(self, st: NodeState, reason: str, error: RunError | None) -> None:
        st.status = "skipped"
        st.error = error
        # which failed call it waited for, so that an editor can say why it was skipped
        extra = {}
        if reason == "dependency failed" and error is not None and error.node is not None:
            extra["dependency"] = self.states[error.node].node.label
        self.emit_node("node_skipped", st.node, reason=reason, **extra)
        st.done.set()
        self.ended(st)

    # -- options (§6.4): steps.py -------------------------------------------------------------
    def result_type(self, call: ast.Call, fn: Function, opts: CallOptions) -> T.Type:
        """The call's declared return type R (instantiated), before on_error: wrap."""
        t = self.check.call_types.get(id(call)) or self.check.expr_types.get(id(call)) or fn.result
        if opts.on_error == "wrap" and isinstance(t, T.RecordT):
            inner = t.field_map.get("value")
            t = inner.elem if isinstance(inner, T.OptionalT) else (inner or fn.result)
        return t

    def call_error(self, call: ast.Call, fn: Function, message: str) -> RunError:
        line, col = self.source.line_col(call.span.start)
        return RunError(message, line, col, fn.qualified)

    async def execute_call(self, call: ast.Call, fn: Function, opts: CallOptions,
                           args: list[object], st: NodeState | None, env: dict) -> object:
        """The call through the steps of its options (steps.py), around `attempt`."""
        key = (id(opts), fn.higher_order)  # opts live as long as the plan, which the run holds
        run_chain = self.chains.get(key)
        if run_chain is None:  # higher-order calls take no scheduler slot
            run_chain = self.chains[key] = steps.chain(
                opts, self.attempt, admission=self.scheduler.bounded and not fn.higher_order)
        c = CallContext(self, call, fn, opts, args, st, env, self.result_type(call, fn, opts))
        if st is not None:
            st.t_start = time.monotonic()  # reset at admission under bounded scheduling
        try:
            return await run_chain(c)
        finally:
            if st is not None:
                st.attempts, st.cache_hit = c.attempts, c.cache_hit

    def admission_key(self, call: ast.Call, opts: CallOptions, st: NodeState | None
                      ) -> tuple[int, int]:
        if not self.config.serial:
            return opts.priority, call.span.start
        layer = st.node.layer if st is not None else 0
        position = self.rank.get(st.node.id, call.span.start) if st is not None else call.span.start
        return opts.priority - 1000 * layer, position  # layer, then priority, then position

    async def attempt(self, c: CallContext) -> object:
        """One attempt of the function, the innermost step: its failures become RunErrors and
        its result must conform to R."""
        call, fn = c.call, c.fn
        try:
            value = await self.invoke(call, fn, c.args)
        except RunError:
            raise
        except LoopBlocked as exc:  # the watchdog interrupted a module holding the loop
            message = exc.message or self.watch.last_message
            self.add_log(message)
            if c.due is not None and time.monotonic() >= c.due:  # this attempt's own timeout
                raise steps.timed_out(c, message) from None
            if self.watch.run_is_due():  # the run's timeout or a cancel: it comes at once
                await anyio.sleep(STUCK_S)
            raise c.error(message) from None  # it held another call's timeout
        except ModuleExit as exc:  # raised in a worker thread (a sync module)
            raise c.error(exit_message(fn.name, exc.original)) from None
        except Exception as exc:  # a module's failure: its message is shown as is
            raise c.error(failure_message(exc))
        except MODULE_EXITS as exc:  # an async module's sys.exit(): it fails its call
            if isinstance(exc, KeyboardInterrupt) and self.interrupted:
                raise  # a real Ctrl-C, raised by the signal handler: the run stops
            raise c.error(exit_message(fn.name, exc)) from None
        ok, coerced = values.conform_and_coerce(value, c.result_t)
        if not ok:
            outside = values.conforms(value, c.result_t)  # e.g. NaN, or an Int past 64 bits
            raise c.error(f"'{fn.name}' returned {_shown(value)}, " + (
                "which is not a Constellation value (Int is 64-bit, Float finite)" if outside
                else f"expected {T.type_str(c.result_t)}"))
        return coerced

    async def invoke(self, call, fn: Function, args: list[object]) -> object:
        if fn.higher_order:
            items, closure = args[0], args[1]
            if not isinstance(closure, Closure):
                raise self.call_error(call, fn, f"'{fn.name}' needs a lambda argument")
            return await apply_higher_order(self.evaluator, fn.name, items, closure)
        if fn.qualified == "stdlib.debug.log":
            self.add_log(f"[constellation-lang] {args[0]}")
            return args[0]
        impl = fn.impl
        if impl is None:
            raise self.call_error(call, fn, f"Function '{fn.qualified}' has no implementation")
        if self.remote is not None and self.remote.handles(fn):  # user module on the cluster
            opts = self.check.call_options.get(id(call)) or DEFAULT_OPTIONS
            return await self.remote.call(fn, args, priority=opts.priority)
        if inspect.iscoroutinefunction(impl) or (fn.namespace or "").startswith("stdlib"):
            result = impl(*args)
        else:
            # a sync module runs in a worker thread, so that its `timeout` applies: a
            # cancelled call (its timeout, the run's, Ctrl-C) abandons the thread, which ends
            # on its own, and a module blocked for an hour cannot hold the run
            if self.config.serial:
                await _no_module_thread_running()  # one call at a time: even an abandoned one
            result = await anyio.to_thread.run_sync(_in_thread, impl, args,
                                                    abandon_on_cancel=True)
        if inspect.isawaitable(result):
            frame = getattr(result, "cr_frame", None)  # an async module's: the watchdog names it
            if frame is not None:
                self.watch.calls[id(frame)] = self.call_label(call, fn)
            try:
                result = await result
            finally:
                if frame is not None:
                    self.watch.calls.pop(id(frame), None)
        return result

    def call_label(self, call: ast.Call, fn: Function) -> str:
        line, _ = self.source.line_col(call.span.start)
        label = self.call_labels.get(id(call))
        binding = f"'{label}', " if label else ""
        return f"the call of '{fn.name}' ({binding}line {line})"

    # -- the whole run ------------------------------------------------------------------------
    def run_started_event(self) -> None:
        layers = [{"layer": k, "nodes": self.layer_labels.get(k, [])}
                  for k in range(1, self.depth + 1)]
        # every call with its position, so that an editor can mark each line pending at once
        calls = [self.node_fields(n) for n in self.module_nodes()]
        self.emit("run_started", file=self.file, schedule=self.config.schedule,
                  serial=self.config.serial, seed=self.config.seed, depth=self.depth,
                  nodes=len(calls), layers=layers, calls=calls)

    def seed_inputs(self) -> None:
        for name in self.plan.inputs:
            st = self.states[self.plan.bindings[name]]
            st.value, st.status, st.started = self.inputs.get(name), "completed", True
            st.done.set()

    async def execute(self, *, timeout: float | None = None,
                      cancel_event: anyio.Event | None = None) -> RunResult:
        if self.config.executor == "dask" and self.remote is None:
            from constellation.runtime.dask_backend import execute_on_dask
            return await execute_on_dask(self, timeout=timeout, cancel_event=cancel_event)
        self.t0 = time.monotonic()
        self.run_started_event()
        self.seed_inputs()
        outputs: dict[str, object] = {}
        output_errors: list[RunError] = []
        with _noting_sigint(self), self.watch.watching(), anyio.CancelScope() as scope:
            if timeout is not None:
                scope.deadline = anyio.current_time() + timeout
                self.watch.run_deadline(time.monotonic() + timeout)
            async with anyio.create_task_group() as outer:
                outer.start_soon(self.watch.heartbeat)
                outer.start_soon(self.scheduler.run_dispatcher)
                if cancel_event is not None:
                    outer.start_soon(_cancel_on, cancel_event, scope)
                async with anyio.create_task_group() as tg:
                    self.tg = tg
                    if self.config.schedule == "eager":
                        self.released = self.depth
                    self.start_eager_calls()
                    self.advance()
                    for name in self.plan.outputs:
                        tg.start_soon(self.evaluate_output, name, outputs, output_errors)
                outer.cancel_scope.cancel()
        cancelled = scope.cancelled_caught or scope.cancel_called
        return self.finish(outputs, output_errors, cancelled)

    def start_eager_calls(self) -> None:
        eager = [n for n in self.module_nodes() if not n.demand_driven]
        for node in sorted(eager, key=lambda n: self.rank[n.id]):
            st = self.states[node.id]
            st.started = True
            self.begin(st)
            self.tg.start_soon(self.run_call_node, st)

    async def evaluate_output(self, name: str, outputs: dict, errors: list) -> None:
        node_id = self.plan.bindings.get(name)
        if node_id is None:
            return
        try:
            outputs[name] = await self.node_value(node_id)
        except RunError as exc:
            errors.append(exc)

    def finish(self, outputs: dict, output_errors: list[RunError], cancelled: bool) -> RunResult:
        self.closing = True
        self.cancelling = self.cancelling or cancelled
        for st in self.states:
            if st.node.kind == "module" and not st.done.is_set():
                if st.started:
                    self.stop(st)
                else:
                    self.skip(st, "not demanded", None)
        if cancelled:
            for k in sorted(set(self.layer_t0) - self.layer_done):
                self.end_layer(k)
        reached = {id(e) for e in [*output_errors, *self.handled]}
        for st in self.states:
            if st.node.kind == "module" and st.status == "failed" and id(st.error) not in reached \
                    and st.error.node == st.node.id:
                line, col = self.source.line_col(st.node.span.start)
                self.add_log(f"'{st.node.function.name}' at {line}:{col} failed but its value "
                             f"was not needed: {st.error.message}")
        errors: list[dict] = []
        seen: set[int] = set()
        for e in output_errors:
            if id(e) not in seen:
                seen.add(id(e))
                errors.append(e.to_json())
        ordered = {name: outputs[name] for name in self.plan.outputs if name in outputs}
        if cancelled:
            status = "cancelled"
        else:
            status = "completed" if len(ordered) == len(self.plan.outputs) else "failed"
        result = RunResult(status, ordered, errors, list(self.log), self.node_reports(),
                           round((time.monotonic() - self.t0) * 1000, 3))
        self.emit("run_completed", status=status, outputs=ordered, errors=errors,
                  log=result.log, duration_ms=result.duration_ms,
                  nodes=[n.to_json() for n in result.nodes])
        return result

    def node_reports(self) -> list[NodeReport]:
        reports = []
        for st in self.states:
            n = st.node
            if n.kind != "module":
                continue
            error = st.error.to_json() if st.error is not None and st.status == "failed" else None
            reports.append(NodeReport(n.label, st.status, n.layer, st.duration_ms, error,
                                      n.function.qualified if n.function else None, n.line,
                                      st.attempts, st.cache_hit))
        return reports


def coerce_args(fn: Function, args: list[object]) -> list[object]:
    """Every argument takes the shape of its parameter type (§4.5): Int -> Float widening,
    record fields the parameter does not declare are dropped. Lambdas stay closures."""
    return [arg if isinstance(arg, Closure) else values.coerce(arg, t)
            for arg, (_, t) in zip(args, fn.params)]


_THREAD_CALLS = [0]  # sync module calls running in worker threads, abandoned ones included
_THREAD_CALLS_LOCK = threading.Lock()


class ModuleExit(Exception):
    """One of MODULE_EXITS raised by a sync module in its worker thread, carried as an
    ordinary exception so that nothing between the thread and the call re-raises it."""

    def __init__(self, original: BaseException):
        super().__init__(str(original))
        self.original = original


def _in_thread(impl, args: list[object]) -> object:
    with _THREAD_CALLS_LOCK:
        _THREAD_CALLS[0] += 1
    try:
        return impl(*args)
    except MODULE_EXITS as exc:
        raise ModuleExit(exc) from None
    finally:
        with _THREAD_CALLS_LOCK:
            _THREAD_CALLS[0] -= 1


async def _no_module_thread_running() -> None:
    """Under --serial, wait until the thread of a call abandoned by its timeout has ended
    (a retry or the next call would otherwise run beside it)."""
    while module_threads_running():
        await anyio.sleep(0.005)


def module_threads_running() -> int:
    """Sync module calls still running in their threads: after a run, those it abandoned when
    they were cancelled (Python cannot stop a thread; each ends on its own)."""
    with _THREAD_CALLS_LOCK:
        return _THREAD_CALLS[0]


def _shown(value: object) -> str:
    try:
        text = json.dumps(values.abbreviate(value), ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@contextmanager
def _noting_sigint(run: Run):
    """Note that Ctrl-C arrived, whoever handles it (Python's default handler, trio's, the
    CLI's): a KeyboardInterrupt after that is the user's and stops the run, while one a module
    raises on its own fails its call."""
    previous = signal.getsignal(signal.SIGINT) if (
        threading.current_thread() is threading.main_thread()) else None
    if not callable(previous):
        yield
        return

    def handler(signum, frame):
        run.interrupted = True
        return previous(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


async def _cancel_on(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()
