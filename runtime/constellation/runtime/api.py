"""The public Python API: `run`, `run_async` and `events` (issue 3 items 4, 7)."""

from __future__ import annotations

import math
from typing import AsyncIterator, Callable

import anyio

from constellation.compiler.diagnostics import to_json as diagnostic_json
from constellation.runtime.executor import Run, RunConfig, RunResult
from constellation.runtime.inputs import RunRejected, prepare_inputs


def _rejections(analysis) -> list[dict]:
    return [{"message": d["message"], "line": d["line"], "column": d["column"]}
            for d in (diagnostic_json(x, analysis.source)
                      for x in analysis.diagnostics if x.is_error)]


def prepare(analysis, inputs: dict | None, *, schedule=None, serial=None, seed=None,
            max_concurrency=None, use_examples: bool = False,
            on_event: Callable[[dict], None] | None = None, file: str | None = None,
            executor: str | None = None, dask_address: str | None = None,
            dask_colocate=None) -> Run:
    """Check everything a run needs before it starts; raises RunRejected with every problem."""
    errors = _rejections(analysis)
    if errors:
        raise RunRejected(errors)
    values = prepare_inputs(analysis, dict(inputs or {}), use_examples=use_examples)
    config = RunConfig.resolve(schedule, serial, seed, max_concurrency, executor, dask_address,
                               dask_colocate)
    return Run(analysis, values, config, on_event, file)


async def run_async(analysis, inputs: dict | None = None, *, schedule: str | None = None,
                    serial: bool | None = None, seed: int | None = None,
                    max_concurrency: int | None = None, use_examples: bool = False,
                    on_event: Callable[[dict], None] | None = None,
                    timeout: float | None = None, cancel_event: anyio.Event | None = None,
                    file: str | None = None, executor: str | None = None,
                    dask_address: str | None = None, dask_colocate=None,
                    settled: dict[int, object] | None = None,
                    targets: list[str] | None = None) -> RunResult:
    """Run a checked program. `schedule`, `serial`, `seed` and `max_concurrency` default to
    the environment (CONSTELLATION_SCHEDULE, _SERIAL, _SEED, _SCHEDULER_ENABLED/_MAX_CONCURRENCY).
    Setting `cancel_event`, or reaching `timeout` seconds, ends the run `cancelled`.
    `executor="dask"` runs module calls on the Dask cluster at `dask_address` (default
    CONSTELLATION_DASK_ADDRESS, else "local": a LocalCluster); see docs/scaling.md.
    `targets` (binding names) runs only what they need and makes them the outputs; `settled`
    (plan node id -> value) gives calls their values without running them (partial.py)."""
    from constellation.runtime import partial

    if targets:
        analysis = partial.targets_subset(analysis, list(targets))
    run = prepare(analysis, inputs, schedule=schedule, serial=serial, seed=seed,
                  max_concurrency=max_concurrency, use_examples=use_examples,
                  on_event=on_event, file=file, executor=executor, dask_address=dask_address,
                  dask_colocate=dask_colocate)
    if not settled:  # (a caller's own `partial.settling` stays in force)
        return await run.execute(timeout=timeout, cancel_event=cancel_event)
    with partial.settling(partial.Settled(dict(settled))):
        return await run.execute(timeout=timeout, cancel_event=cancel_event)


def run(analysis, inputs: dict | None = None, *, schedule: str | None = None,
        serial: bool | None = None, seed: int | None = None, max_concurrency: int | None = None,
        use_examples: bool = False, on_event: Callable[[dict], None] | None = None,
        timeout: float | None = None, backend: str = "asyncio", file: str | None = None,
        executor: str | None = None, dask_address: str | None = None, dask_colocate=None,
        settled: dict[int, object] | None = None, targets: list[str] | None = None
        ) -> RunResult:
    """Synchronous wrapper of `run_async` (starts its own event loop)."""
    async def main() -> RunResult:
        return await run_async(analysis, inputs, schedule=schedule, serial=serial, seed=seed,
                               max_concurrency=max_concurrency, use_examples=use_examples,
                               on_event=on_event, timeout=timeout, file=file,
                               executor=executor, dask_address=dask_address,
                               dask_colocate=dask_colocate, settled=settled, targets=targets)
    return anyio.run(main, backend=backend)


async def events(analysis, inputs: dict | None = None, **options) -> AsyncIterator[dict]:
    """The run's events as an async iterator; the last one is `run_completed`. Input and
    compile problems raise RunRejected before the first event."""
    run = prepare(analysis, inputs, **{k: v for k, v in options.items()
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
