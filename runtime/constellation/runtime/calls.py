"""Calling a function: the innermost step of a call (one attempt), and where it runs.

`attempt` runs the driver-side built-ins (higher-order functions, debug.log) itself and hands
every other function to the run's `Executor`, chosen when the run is set up: `LocalExecutor`
(async functions on the event loop, sync ones in worker threads) or the Dask executor of
dask_backend.py. The run never asks which one it has.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
from contextlib import asynccontextmanager
from types import CoroutineType
from typing import Protocol

import anyio
import anyio.to_thread

from constellation.compiler import types as T
from constellation.compiler.registry import Function
from constellation.compiler.values import INT_MAX, INT_MIN
from constellation.runtime import steps, values
from constellation.runtime.errors import MODULE_EXITS, RunError, exit_message, failure_message
from constellation.runtime.evaluate import Closure, apply_higher_order
from constellation.runtime.steps import CallContext
from constellation.runtime.watchdog import STUCK_S, LoopBlocked


class Executor(Protocol):
    """Runs a function's implementation with coerced arguments and returns its raw result
    (checked against the declared type by `attempt`), raising what the function raised."""

    async def invoke(self, fn: Function, args: list, c: CallContext) -> object: ...


@asynccontextmanager
async def executor_for(run):
    """The executor the run's configuration names, set up for the run and closed after it."""
    if run.config.executor == "dask":
        from constellation.runtime.dask_backend import dask_executor
        async with dask_executor(run) as executor:
            yield executor
        return
    yield LocalExecutor(run)


class LocalExecutor:
    """Async functions on the run's loop, sync functions in worker threads."""

    def __init__(self, run):
        self.run = run  # watch (the watchdog) and config.serial
        self.is_async: dict[int, bool] = {}

    async def invoke(self, fn: Function, args: list, c: CallContext) -> object:
        impl = fn.impl
        direct = self.is_async.get(id(fn))
        if direct is None:
            direct = self.is_async[id(fn)] = inspect.iscoroutinefunction(impl) or (
                fn.namespace or "").startswith("stdlib")
        if direct:
            result = impl(*args)
        else:
            # a sync module runs in a worker thread, so that its `timeout` applies: a
            # cancelled call (its timeout, the run's, Ctrl-C) abandons the thread, which ends
            # on its own, and a module blocked for an hour cannot hold the run
            if self.run.config.serial:
                await _no_module_thread_running()  # one call at a time: even an abandoned one
            result = await anyio.to_thread.run_sync(_in_thread, impl, args,
                                                    abandon_on_cancel=True)
        if type(result) is CoroutineType or inspect.isawaitable(result):
            frame = getattr(result, "cr_frame", None)  # an async module's: the watchdog names it
            watch = self.run.watch
            if frame is not None:
                watch.calls[id(frame)] = c.call.label
            try:
                result = await result
            finally:
                if frame is not None:
                    watch.calls.pop(id(frame), None)
        return result


async def attempt(run, c: CallContext) -> object:
    """One attempt of the function, the innermost step: its failures become RunErrors and its
    result must conform to R. The driver runs the built-ins (higher-order functions,
    debug.log) itself; every other function goes to the run's executor."""
    fn = c.fn
    args = c.args
    try:
        if fn.higher_order:
            items, closure = args[0], args[1]
            if not isinstance(closure, Closure):
                raise c.error(f"'{fn.name}' needs a lambda argument")
            value = await apply_higher_order(run.evaluator, fn.name, items, closure)
        elif fn.qualified == "stdlib.debug.log":
            run.add_log(f"[constellation-lang] {args[0]}")
            value = args[0]
        elif fn.impl is None:
            raise c.error(f"Function '{fn.qualified}' has no implementation")
        else:
            value = await run.executor.invoke(fn, args, c)
    except RunError:
        raise
    except LoopBlocked as exc:  # the watchdog interrupted a module holding the loop
        message = exc.message or run.watch.last_message
        run.add_log(message)
        if c.due is not None and time.monotonic() >= c.due:  # this attempt's own timeout
            raise steps.timed_out(c, message) from None
        if run.watch.run_is_due():  # the run's timeout or a cancel: it comes at once
            await anyio.sleep(STUCK_S)
        raise c.error(message) from None  # it held another call's timeout
    except ModuleExit as exc:  # raised in a worker thread (a sync module)
        raise c.error(exit_message(fn.name, exc.original)) from None
    except Exception as exc:  # a module's failure: its message is shown as is
        raise c.error(failure_message(exc))
    except MODULE_EXITS as exc:  # an async module's sys.exit(): it fails its call
        if isinstance(exc, KeyboardInterrupt) and run.interrupted:
            raise  # a real Ctrl-C, raised by the signal handler: the run stops
        raise c.error(exit_message(fn.name, exc)) from None
    if _plain(value, c.result_t):  # the common case, without the general walk
        return value
    ok, coerced = values.conform_and_coerce(value, c.result_t)
    if not ok:
        outside = values.conforms(value, c.result_t)  # e.g. NaN, or an Int past 64 bits
        raise c.error(f"'{fn.name}' returned {_shown(value)}, " + (
            "which is not a Constellation value (Int is 64-bit, Float finite)" if outside
            else f"expected {T.type_str(c.result_t)}"))
    return coerced


def _plain(value: object, t: T.Type) -> bool:
    """`value` is already of primitive type `t` and in the value model."""
    if t.__class__ is not T.Prim:
        return False
    kind = value.__class__
    if kind is str:
        return t.name == "String"
    if kind is int:
        return t.name == "Int" and INT_MIN <= value <= INT_MAX
    if kind is bool:
        return t.name == "Boolean"
    return False


def needs_coercion(fn: Function) -> bool:
    """Some argument of `fn` may need reshaping by `coerce_args` (not every parameter is a
    primitive other than Float)."""
    return not all(t.__class__ is T.Prim and t.name != "Float" for _, t in fn.params)


def coerce_args(fn: Function, args: list[object]) -> list[object]:
    """Every argument takes the shape of its parameter type (§4.5): Int -> Float widening,
    record fields the parameter does not declare are dropped. Lambdas stay closures."""
    return [arg if isinstance(arg, Closure) or (t.__class__ is T.Prim and t.name != "Float")
            else values.coerce(arg, t) for arg, (_, t) in zip(args, fn.params)]


# -- sync modules in worker threads -----------------------------------------------------------
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
