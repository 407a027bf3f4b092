"""Module-call options as composable steps (LANGUAGE.md §6.4).

Each option is one small step, `async def with_x(c, next_step) -> value`, that wraps the rest
of a call like middleware: it receives the call (a `CallContext`) and the next step, and
returns the call's value or raises its `RunError`. `chain` composes the steps a call's options
need, and only those, around the innermost step — one attempt of the function, which the
run supplies (calls.attempt: the invocation on the run's executor, local or Dask, and the
check of its result).

§6.4 gives the order, outermost first, as

    priority → throttle → concurrency → cache → on_error → fallback → retry → timeout → function

with two entries that are not plain wrappers: cache looks up at its position but stores only
the function's own success, and the scheduler slot and the concurrency permit are released
before a fallback is evaluated. Both hold when on_error and fallback wrap the admission steps
from outside, so the chain is

    on_error → fallback → priority → throttle → concurrency → cache → retry → timeout → function

A cache hit is a success (on_error: wrap still wraps it); a failure leaves the cache (nothing
stored, single-flight followers proceed), the permit and the slot before any fallback runs.

A run that is observed (`CALL_TAP` set, by the run records) gets two more steps: the outermost
reports each call's outcome (the value its node settles with), and one just outside the cache
reports the function's own result (a cache hit included, never a fallback or on_error value);
one step does both when no fallback or on_error can tell them apart. (Calls whose values are
known before the run never reach a chain: the core starts them settled, partial.py.)
"""

from __future__ import annotations

import functools
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Protocol

import anyio

from constellation.compiler import planir as ir
from constellation.compiler import types as T
from constellation.compiler.options import CallOptions, format_duration
from constellation.compiler.registry import Function
from constellation.runtime import values
from constellation.runtime.errors import RunError
from constellation.runtime.evaluate import Closure
from constellation.runtime.identity import code_version
from constellation.runtime.limits import SHARED

if TYPE_CHECKING:
    from constellation.runtime.limits import Scheduler
    from constellation.runtime.watchdog import Watchdog

MAX_BACKOFF_S = 30.0


class Host(Protocol):
    """What the steps need from the run (core.Run)."""

    scale: float  # CONSTELLATION_TIME_SCALE: option durations shrink with simulated sleeps
    scheduler: Scheduler
    watch: Watchdog
    handled: list[RunError]  # failures an on_error option turned into values
    source: Any  # line_col(offset): the plan
    evaluator: Any  # async eval(expr, env)

    def emit_node(self, event: str, node: Any, **fields) -> None: ...

    def add_log(self, line: str) -> None: ...

    def call_error(self, call: ir.Call, fn: Function, message: str) -> RunError: ...

    def repark(self, st: Any) -> None: ...

    def admission_key(self, call: ir.Call, opts: CallOptions, st: Any) -> tuple[int, int]: ...


@dataclass(eq=False, slots=True)
class CallContext:
    """One module call on its way through its steps."""

    host: Host
    call: ir.Call
    fn: Function
    opts: CallOptions
    args: list
    st: Any  # its NodeState, or None for a call inside a lambda body (not a DAG node)
    env: dict  # where its fallback expression is evaluated
    result_t: T.Type  # the declared return type R, before on_error: wrap
    attempts: int = 0  # set when the attempts are over (0 on a cache hit)
    cache_hit: bool = False
    due: float | None = None  # the current attempt's deadline (monotonic s), under a timeout

    def error(self, message: str) -> RunError:
        return self.host.call_error(self.call, self.fn, message)

    def emit(self, event: str, **fields) -> None:
        if self.st is not None:
            self.host.emit_node(event, self.st.node, **fields)


Step = Callable[[CallContext], Awaitable[object]]


OUTCOME, RESULT = 1, 2  # what a tap reports: the call's outcome, its function's result, or both


class CallTap(Protocol):
    """Who observes the calls of the runs started in its context (records/recorder.py)."""

    def observe(self, report: tuple[CallContext, object, RunError | None, int]) -> None:
        """(call, value, error, what): `what` holds OUTCOME (what the call settles with)
        and/or RESULT (what its function or the cache gave, before a fallback or on_error
        replaced a failure). Called on the run's path: it should only keep the tuple."""


# set around a run (a context variable: the run's tasks inherit it, other runs do not see it)
CALL_TAP: ContextVar[CallTap | None] = ContextVar("constellation_call_tap", default=None)


def needs(opts: CallOptions) -> tuple[bool, ...]:
    """Which optional steps a call with `opts` goes through. The steps read the options of
    the call they run (`c.opts`), so calls with the same needs share one chain."""
    return (opts.on_error != "propagate", opts.fallback is not None,
            opts.throttle is not None, bool(opts.concurrency), bool(opts.cache_ms),
            bool(opts.timeout_ms))


def chain(opts: CallOptions, function: Step, *, admission: bool) -> Step:
    """The steps of a call with `opts` (or any with the same `needs`) around `function`, in
    the order of §6.4. `admission`: the call takes a slot of the bounded scheduler (bounded,
    and not a higher-order call)."""
    steps: list[Callable] = []
    tap = CALL_TAP.get()
    replaced = opts.on_error != "propagate" or opts.fallback is not None
    if tap is not None:  # one step sees both when no option can replace the function's result
        steps.append(functools.partial(with_tap, observe=tap.observe,
                                       what=OUTCOME if replaced else OUTCOME | RESULT))
    if opts.on_error != "propagate":
        steps.append(with_on_error)
    if opts.fallback is not None:
        steps.append(with_fallback)
    if admission:
        steps.append(with_priority)
    if opts.throttle is not None:
        steps.append(with_throttle)
    if opts.concurrency:
        steps.append(with_concurrency)
    if tap is not None and replaced:
        steps.append(functools.partial(with_tap, observe=tap.observe, what=RESULT))
    if opts.cache_ms:
        steps.append(with_cache)
    steps.append(with_retry)  # always: it counts the attempts and reports each one
    if opts.timeout_ms:
        steps.append(with_timeout)
    return compose(steps, function)


def compose(steps: list[Callable], function: Step) -> Step:
    """steps[0] outermost; each receives the rest as `next_step`."""
    step = function
    for outer in reversed(steps):
        step = functools.partial(outer, next_step=step)
    return step


# -- the steps, outermost first -------------------------------------------------------------
async def with_tap(c: CallContext, next_step: Step, observe: Callable, what: int) -> object:
    """For an observer of the run, not an option of §6.4: outermost, the call's outcome (and
    its function's result when no fallback or on_error can replace it); just outside the
    cache, the function's own result (or the cache's), which a pipeline test's fixtures hold."""
    try:
        value = await next_step(c)
    except RunError as error:
        observe((c, None, error, what))
        raise
    observe((c, value, None, what))
    return value


async def with_on_error(c: CallContext, next_step: Step) -> object:
    """§6.4 item 4: what a failure that got this far becomes (skip, log, wrap)."""
    try:
        value = await next_step(c)
    except RunError as error:
        return handled_failure(c, error)
    return {"value": value, "error": None} if c.opts.on_error == "wrap" else value


def handled_failure(c: CallContext, error: RunError) -> object:
    c.host.handled.append(error)  # needed, and handled: not an unneeded failure (§10.2)
    mode = c.opts.on_error
    if mode == "wrap":
        return {"value": None, "error": error.message}
    if mode == "log":
        line, col = c.host.source.line_col(c.call.span.start)
        c.host.add_log(f"on_error=log: '{c.fn.name}' at {line}:{col} failed: {error.message}")
    return values.zero_value(c.result_t)  # skip, log


async def with_fallback(c: CallContext, next_step: Step) -> object:
    """§6.4 item 3: the fallback value replaces a failure; the call is parked while it awaits
    that value (§10.2), whose calls may need higher layers."""
    try:
        return await next_step(c)
    except RunError:
        pass  # evaluated outside the handler: its own failure continues outward unchained
    st, host = c.st, c.host
    if st is not None:
        st.awaiting_fallback = True
        host.repark(st)
    try:
        value = await host.evaluator.eval(c.opts.fallback, c.env)
    finally:
        if st is not None:
            st.awaiting_fallback = False
            host.repark(st)
    return values.coerce(value, c.result_t)


async def with_priority(c: CallContext, next_step: Step) -> object:
    """§6.4 item 8: a slot of the bounded scheduler, held through throttle, permit, attempts
    and retry waits; released before any fallback (the fallback step is outside)."""
    scheduler = c.host.scheduler
    await scheduler.acquire(*c.host.admission_key(c.call, c.opts, c.st))
    try:
        if c.st is not None:
            c.st.t_start = time.monotonic()  # a call's duration counts from its admission
        return await next_step(c)
    finally:
        scheduler.release()


async def with_throttle(c: CallContext, next_step: Step) -> object:
    """§6.4 item 7: one token per call from the bucket of (function, N, window); retries are
    inside and take none."""
    n, window_ms = c.opts.throttle
    wait = SHARED.bucket(c.fn.qualified, n, window_ms, c.host.scale).reserve()
    if wait > 0:
        await anyio.sleep(wait)
    return await next_step(c)


async def with_concurrency(c: CallContext, next_step: Step) -> object:
    """§6.4 item 6: a permit of the semaphore of (function, N), held across every attempt."""
    semaphore = SHARED.semaphore(c.fn.qualified, c.opts.concurrency)
    await semaphore.acquire()
    try:
        return await next_step(c)
    finally:
        semaphore.release()


async def with_cache(c: CallContext, next_step: Step) -> object:
    """§6.4 item 5: lookup, single flight, and a store of real successes only (what the
    attempts inside return: never a fallback or on_error value, which are outside)."""
    store = SHARED.cache(c.opts.cache_backend)
    # a lambda argument (a cached map/filter) is keyed by its text and captured values
    # (and by the function's code version: a changed module does not hit an older result)
    key = (*values.cache_key(c.fn.qualified, [a.cache_form() if isinstance(a, Closure) else a
                                             for a in c.args]), code_version(c.fn))
    ttl_s = c.opts.cache_ms / 1000
    while True:
        entry = store.lookup(key, ttl_s)
        if entry is not None:
            c.cache_hit = True
            return entry.value
        flight = store.in_flight.get(key)
        if flight is None:
            break
        await flight.wait()
    flight = anyio.Event()
    store.in_flight[key] = flight
    try:
        value = await next_step(c)
        store.store(key, value, ttl_s)
        return value
    finally:
        del store.in_flight[key]
        flight.set()


def retry_wait_s(opts: CallOptions, k: int, scale: float = 1.0) -> float:
    """Wait before retry k (1-based): fixed d, linear d·k, exponential d·2^(k−1), ≤ 30 s."""
    if not opts.delay_ms:
        return 0.0
    d = opts.delay_ms / 1000
    wait = {"linear": d * k, "exponential": d * 2 ** (k - 1)}.get(opts.backoff, d)
    return min(wait, MAX_BACKOFF_S) * scale


async def with_retry(c: CallContext, next_step: Step) -> object:
    """§6.4 item 2: up to `retry` more attempts after a failed one, waiting per delay/backoff;
    each attempt is reported (node_started, node_retrying)."""
    total = c.opts.retry + 1
    st = c.st
    if total == 1:  # most calls: one attempt, without the loop
        if st is not None:
            st.began = True
            c.host.emit_node("node_started", st.node, attempt=1)
        try:
            value = await next_step(c)
        except RunError:
            c.attempts = 1
            raise  # no retries: the original error as is
        c.attempts = 1
        return value
    for k in range(1, total + 1):
        if st is not None:
            st.began = True
            c.host.emit_node("node_started", st.node, attempt=k)
        try:
            value = await next_step(c)
        except RunError as exc:
            last = exc
        else:
            c.attempts = k
            return value
        if k < total:
            wait = retry_wait_s(c.opts, k, c.host.scale)
            c.emit("node_retrying", attempt=k, error=last.message,
                   delay_ms=round(wait * 1000, 3))
            if wait > 0:
                await anyio.sleep(wait)
    c.attempts = total
    if total > 1:
        raise c.error(f"'{c.fn.name}' failed after {total} attempts: {last.message}")
    raise last  # no retries: the original error as is


async def with_timeout(c: CallContext, next_step: Step) -> object:
    """§6.4 item 1: each attempt is bounded; the watchdog is told of the deadline, so that an
    async module blocking the loop past it is interrupted (watchdog.py)."""
    timeout = c.opts.timeout_ms / 1000 * c.host.scale
    c.due = time.monotonic() + timeout
    token = c.host.watch.expect(c.due)
    # move_on_after, not fail_after: a TimeoutError the module raises itself (a socket
    # timeout) is the module's failure, not this option's
    try:
        with anyio.move_on_after(timeout):
            return await next_step(c)
    finally:
        c.host.watch.settled(token)
        c.due = None
    raise timed_out(c)  # the scope caught its own deadline's cancel


def timed_out(c: CallContext, detail: str | None = None) -> RunError:
    """`'F' timed out after 500ms`, with what the watchdog saw when it had to interrupt."""
    text = f"'{c.fn.name}' timed out after {format_duration(c.opts.timeout_ms)}"
    return c.error(text if detail is None else f"{text}: {detail}")
