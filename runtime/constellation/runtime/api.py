"""The public Python API: `run`, `run_async` and `events` (issue 3 items 4, 7; issue 15).

Each takes a Plan (`analysis.executable_plan`, or one read back with `plan_from_json` or
pickle) or, for convenience, the Analysis itself (its compile errors reject the run). The
plan's functions are re-resolved by name and signature against `registry` — by default the
analysis's, else the standard library's — so a plan runs in a process that never saw its
source (docs/plan.md).
"""

from __future__ import annotations

import math
import weakref
from typing import AsyncIterator, Callable

import anyio

from constellation.compiler.registry import Registry
from constellation.runtime.config import RunConfig
from constellation.runtime.core import Run
from constellation.runtime.inputs import RunRejected, plan_of, prepare_inputs
from constellation.runtime.results import RunResult


def _rejections(analysis) -> list[dict]:
    """An analysis's compile errors as rejections (`{"message", "line", "column"}`)."""
    errors = []
    for d in analysis.diagnostics:
        if d.is_error:
            line, col = analysis.source.line_col(d.span.start)
            errors.append({"message": d.message, "line": line, "column": col})
    return errors


_SIGNATURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # printing types costs


def _signature(fn) -> str:
    text = _SIGNATURES.get(fn)
    if text is None:
        text = _SIGNATURES[fn] = fn.signature()
    return text


def resolve_functions(plan, registry: Registry) -> list:
    """The registry's Function for each of the plan's, by name and signature; RunRejected
    names every function the registry lacks or declares differently."""
    found, problems = [], []
    for n in plan.nodes:
        if n.kind == "module" and (n.fn is None or n.fn < 0):
            raise RunRejected([{"message": "The plan calls a function its program did not "
                                           "resolve: fix the program's errors (cst check) and "
                                           "build the plan again",
                                "line": n.line, "column": n.column}])
    for ref in plan.functions:
        fn = registry.lookup(ref.qualified)
        if fn is None:
            problems.append(f"The plan calls '{ref.qualified}', which no loaded module declares "
                            f"(load the module that defines {ref.signature})")
        elif _signature(fn) != ref.signature:
            problems.append(f"The plan was built against {ref.signature}, but the loaded "
                            f"module declares {fn.signature()}: rebuild the plan")
        found.append(fn)
    if problems:
        raise RunRejected([{"message": m, "line": None, "column": None} for m in problems])
    return found


def prepare(program, inputs: dict | None, *, schedule=None, serial=None, seed=None,
            max_concurrency=None, use_examples: bool = False,
            on_event: Callable[[dict], None] | None = None, file: str | None = None,
            executor: str | None = None, dask_address: str | None = None,
            dask_colocate=None, registry: Registry | None = None,
            targets: list[str] | None = None) -> Run:
    """Check everything a run needs before it starts; raises RunRejected with every problem.
    `targets`: the plan's subset that they need (partial.py), with them as its outputs."""
    if hasattr(program, "diagnostics"):  # an Analysis
        errors = _rejections(program)
        if errors:
            raise RunRejected(errors)
        registry = registry or program.registry
    plan = plan_of(program)
    if targets:
        from constellation.runtime.partial import targets_subset
        plan = targets_subset(plan, list(targets))
    if registry is None:
        from constellation.runtime.modules import base_registry
        registry = base_registry()
    functions = resolve_functions(plan, registry)
    values = prepare_inputs(plan, dict(inputs or {}), use_examples=use_examples)
    config = RunConfig.resolve(schedule, serial, seed, max_concurrency, executor, dask_address,
                               dask_colocate)
    run = Run(plan, functions, values, config, on_event, file)
    run.registry = registry
    return run


async def run_async(program, inputs: dict | None = None, *, schedule: str | None = None,
                    serial: bool | None = None, seed: int | None = None,
                    max_concurrency: int | None = None, use_examples: bool = False,
                    on_event: Callable[[dict], None] | None = None,
                    timeout: float | None = None, cancel_event: anyio.Event | None = None,
                    file: str | None = None, executor: str | None = None,
                    dask_address: str | None = None, dask_colocate=None,
                    registry: Registry | None = None,
                    settled: dict[int, object] | None = None,
                    targets: list[str] | None = None) -> RunResult:
    """Run a plan. `schedule`, `serial`, `seed` and `max_concurrency` default to the
    environment (CONSTELLATION_SCHEDULE, _SERIAL, _SEED, _SCHEDULER_ENABLED/_MAX_CONCURRENCY).
    Setting `cancel_event`, or reaching `timeout` seconds, ends the run `cancelled`.
    `executor="dask"` runs module calls on the Dask cluster at `dask_address` (default
    CONSTELLATION_DASK_ADDRESS, else "local": a LocalCluster); see docs/scaling.md.
    `targets` (binding names) runs only what they need and makes them the outputs; `settled`
    (plan node id -> value) gives calls their values without running them (partial.py)."""
    run = prepare(program, inputs, schedule=schedule, serial=serial, seed=seed,
                  max_concurrency=max_concurrency, use_examples=use_examples,
                  on_event=on_event, file=file, executor=executor, dask_address=dask_address,
                  dask_colocate=dask_colocate, registry=registry, targets=targets)
    if settled:
        run.start_settled(dict(settled))
    return await run.execute(timeout=timeout, cancel_event=cancel_event)


def run(program, inputs: dict | None = None, *, schedule: str | None = None,
        serial: bool | None = None, seed: int | None = None, max_concurrency: int | None = None,
        use_examples: bool = False, on_event: Callable[[dict], None] | None = None,
        timeout: float | None = None, backend: str = "asyncio", file: str | None = None,
        executor: str | None = None, dask_address: str | None = None, dask_colocate=None,
        registry: Registry | None = None, settled: dict[int, object] | None = None,
        targets: list[str] | None = None) -> RunResult:
    """Synchronous wrapper of `run_async` (starts its own event loop)."""
    async def main() -> RunResult:
        return await run_async(program, inputs, schedule=schedule, serial=serial, seed=seed,
                               max_concurrency=max_concurrency, use_examples=use_examples,
                               on_event=on_event, timeout=timeout, file=file,
                               executor=executor, dask_address=dask_address,
                               dask_colocate=dask_colocate, registry=registry,
                               settled=settled, targets=targets)
    return anyio.run(main, backend=backend)


async def events(program, inputs: dict | None = None, **options) -> AsyncIterator[dict]:
    """The run's events as an async iterator; the last one is `run_completed`. Input and
    compile problems raise RunRejected before the first event."""
    run = prepare(program, inputs, **{k: v for k, v in options.items()
                                      if k not in ("timeout", "cancel_event", "on_event")})
    send, receive = anyio.create_memory_object_stream(math.inf)

    def emit(event: dict) -> None:
        try:
            send.send_nowait(event)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the consumer stopped early; the run is being cancelled

    run._emit = emit

    async def produce() -> None:
        async with send:
            await run.execute(timeout=options.get("timeout"),
                              cancel_event=options.get("cancel_event"))

    # Close it with `contextlib.aclosing` when you may stop early: the generator owns a task
    # group, which must be exited in the consuming task.
    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        async with receive:
            async for event in receive:
                try:
                    yield event
                except GeneratorExit:  # the consumer stopped early: cancel the run
                    tg.cancel_scope.cancel()
                    break
