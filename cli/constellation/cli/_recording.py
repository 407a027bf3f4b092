"""`cst run`'s records: the recorder subscribed to the run's events (so editor runs, which are
`cst run --events`, are recorded too) and the persistent cache as the default store."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable

from constellation.runtime.records.store import locate


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def recorder_for(args, plan):
    """A Recorder for this run, or None with --no-record (a database fault: one line, and a
    recorder that records nothing)."""
    if getattr(args, "no_record", False):
        return None
    from constellation.runtime.records.recorder import Recorder

    file = args.file if args.file == "<stdin>" else _absolute(args.file)
    return Recorder(locate(args.file), _say, file=file, plan_hash=whole_plan_hash(args, plan),
                    inputs={}, settings={})


def whole_plan_hash(args, plan) -> str:
    """The recorded runs' identity is the whole pipeline's (`args.whole_plan`, which cst run
    sets before any --target subset), whatever part of it runs; computed once, and only
    when a run is recorded or reads a record."""
    if getattr(args, "plan_hash", None) is None:
        from constellation.runtime.identity import plan_hash

        args.plan_hash = plan_hash(getattr(args, "whole_plan", None) or plan)
    return args.plan_hash


def settings(config, args) -> dict:
    """What a run was asked to do, as recorded: the resolved run configuration."""
    return {"schedule": config.schedule, "serial": config.serial, "seed": config.seed,
            "max_concurrency": config.max_concurrency, "executor": config.executor,
            "timeout": getattr(args, "timeout", None)}


def _absolute(file: str) -> str:
    return os.path.abspath(file)


def subscribe(recorder, on_event: Callable[[dict], None] | None):
    """The run's event callback: the recorder's, then the display's or the stream's."""
    if recorder is None or not recorder.active:
        return on_event
    record = recorder.on_event
    if on_event is None:
        return record

    def both(event: dict) -> None:
        record(event)
        on_event(event)
    return both


def tapping(recorder):
    return recorder.tapping() if recorder is not None else contextlib.nullcontext()


def finish(recorder, args, result) -> int | None:
    """Wait for the records to be written; the run's id. With OTEL_EXPORTER_OTLP_ENDPOINT
    set (and the otel extra), the recorded run is also sent to that collector as spans."""
    run_id = recorder.close() if recorder is not None else None
    if run_id is not None and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        export_spans(recorder.path, run_id)
    return run_id


def export_spans(path, run_id: int) -> None:
    from constellation.runtime.records import reader
    from constellation.runtime.records.store import Unavailable, connect
    from constellation.runtime.records.trace import otel_spans, otlp_provider

    try:
        provider = otlp_provider()
        conn = connect(path, create=False)
        try:
            detail = reader.run_detail(conn, run_id)
        finally:
            conn.close()
        otel_spans(detail, provider)
        provider.shutdown()
    except (RuntimeError, Unavailable, OSError) as exc:
        _say(f"cst run: the run's spans were not exported: {exc}")


def use_persistent_cache(file: str, plan, functions: list) -> None:
    """`cache:` without `cache_backend` keeps its entries in the records database; when the
    (executable) plan uses it, the database is opened now, with the run's other preparations,
    rather than at its first lookup. `functions`: the run's Function of each plan function."""
    from constellation.runtime.limits import DEFAULT_CACHE, SHARED, register_cache_store
    from constellation.runtime.records.cache import PersistentCacheStore

    store = SHARED.caches.get(DEFAULT_CACHE)
    if not isinstance(store, PersistentCacheStore):
        store = PersistentCacheStore(locate(file), _say)
        register_cache_store(DEFAULT_CACHE, store)
    cached = [n for n in plan.nodes if n.options is not None and n.options.cache_ms
              and n.options.cache_backend == DEFAULT_CACHE and n.fn is not None and n.fn >= 0]
    if cached:
        from constellation.runtime.identity import code_version

        store.open()
        for node in cached:  # the keys' code versions: reading sources is start-up work
            code_version(functions[node.fn])


def save_test(args, run_id: int | None, inputs: dict, result) -> None:
    """`--save-test NAME`: the case replaying this run, from its record."""
    from pathlib import Path

    from constellation.runtime.cases import save_case
    from constellation.runtime.records import reader
    from constellation.runtime.records.store import Unavailable, connect

    if run_id is None:
        _say(f"cst run: --save-test {args.save_test}: the run was not recorded (see above), so "
             f"no case was written")
        return
    try:
        conn = connect(locate(args.file), create=False)
        try:
            results = reader.module_results(conn, run_id)
        finally:
            conn.close()
    except Unavailable as exc:
        _say(f"cst run: --save-test: {exc}")
        return
    pipeline = Path(args.file)
    try:
        path = save_case(pipeline.parent, args.save_test, pipeline, inputs, results,
                         result.outputs, result.status)
    except OSError as exc:
        _say(f"cst run: --save-test: cannot write the case: {exc.strerror or exc}")
        return
    _say(f"cst run: wrote {path} (run it with `cst test {path}`)")
