"""A recorded run as a trace: Chrome / Perfetto trace JSON (`cst runs show RUN --trace FILE`)
and, with the `otel` extra, OpenTelemetry spans.

Chrome trace: one process per layer ("layer k"), whose threads are lanes that never hold two
overlapping calls (parallel calls of a layer side by side); a slice per call, with a slice per
attempt inside it, and the call's status, value and error in its args.
"""

from __future__ import annotations

import os
from typing import Any

MS = 1000  # trace timestamps are microseconds


def _lanes(calls: list[dict]) -> dict[int, int]:
    """node -> lane within its layer: the first lane free when the call starts."""
    lanes: dict[int, int] = {}
    ends: dict[Any, list[float]] = {}
    for c in sorted(calls, key=lambda c: (c["start_ms"], c["node"])):
        busy = ends.setdefault(c["layer"], [])
        for i, end in enumerate(busy):
            if end <= c["start_ms"]:
                busy[i] = c["end_ms"]
                lanes[c["node"]] = i
                break
        else:
            lanes[c["node"]] = len(busy)
            busy.append(c["end_ms"])
    return lanes


def chrome_trace(detail: dict) -> dict:
    """The Trace Event Format document of a run detail (reader.run_detail)."""
    calls = [c for c in detail["calls"] if c["start_ms"] is not None and c["end_ms"] is not None]
    lanes = _lanes(calls)
    events: list[dict] = []
    title = os.path.basename(detail.get("file") or "run")
    for layer in sorted({c["layer"] or 0 for c in calls}):
        events.append({"ph": "M", "name": "process_name", "pid": layer, "tid": 0,
                       "args": {"name": f"{title} · layer {layer}"}})
        events.append({"ph": "M", "name": "process_sort_index", "pid": layer, "tid": 0,
                       "args": {"sort_index": layer}})
    for c in calls:
        pid, tid = c["layer"] or 0, lanes[c["node"]]
        args = {"status": c["status"], "module": c["module"], "line": c["line"],
                "attempts": c["attempts"], "cache_hit": c["cache_hit"]}
        if c["error"]:
            args["error"] = c["error"].get("message")
        if c["reason"]:
            args["reason"] = c["reason"]
        events.append({"ph": "X", "name": c["name"] or c["module"], "cat": c["status"],
                       "pid": pid, "tid": tid, "ts": c["start_ms"] * MS,
                       "dur": max(c["end_ms"] - c["start_ms"], 0) * MS, "args": args})
        for k, (start, end, error) in enumerate(c["attempt_times"], start=1):
            if end is None:
                continue
            events.append({"ph": "X", "name": f"attempt {k}", "cat": "attempt", "pid": pid,
                           "tid": tid, "ts": start * MS, "dur": max(end - start, 0) * MS,
                           "args": {"error": error} if error else {}})
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"run": detail["id"], "file": detail.get("file"),
                          "status": detail["status"], "plan_hash": detail.get("plan_hash")}}


def otel_spans(detail: dict, tracer_provider=None) -> int:
    """Export a run as OpenTelemetry spans (a root span for the run, a child per call and a
    grandchild per attempt) through `tracer_provider`, else the global one; how many."""
    try:
        from opentelemetry import trace
    except ImportError:
        raise RuntimeError("OpenTelemetry export needs the otel extra: "
                           "pip install 'constellation-lang[otel]'") from None
    tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("constellation")
    t0 = int(detail["started_at"] * 1e9)

    def ns(ms: float) -> int:
        return t0 + int(ms * 1e6)

    count = 0
    root = tracer.start_span(f"run {os.path.basename(detail.get('file') or '')}",
                             start_time=t0, attributes={
                                 "constellation.run": detail["id"],
                                 "constellation.file": detail.get("file") or "",
                                 "constellation.status": detail["status"]})
    context = trace.set_span_in_context(root)
    for c in detail["calls"]:
        if c["start_ms"] is None or c["end_ms"] is None:
            continue
        span = tracer.start_span(c["name"] or c["module"] or "call", context=context,
                                 start_time=ns(c["start_ms"]), attributes={
                                     "constellation.module": c["module"] or "",
                                     "constellation.layer": c["layer"] or 0,
                                     "constellation.status": c["status"],
                                     "constellation.attempts": c["attempts"],
                                     "constellation.cache_hit": c["cache_hit"]})
        inner = trace.set_span_in_context(span)
        for k, (start, end, error) in enumerate(c["attempt_times"], start=1):
            if end is None:
                continue
            attempt = tracer.start_span(f"attempt {k}", context=inner, start_time=ns(start))
            if error:
                attempt.set_status(trace.Status(trace.StatusCode.ERROR, error))
            attempt.end(end_time=ns(end))
            count += 1
        if c["status"] == "failed":
            span.set_status(trace.Status(trace.StatusCode.ERROR,
                                         (c["error"] or {}).get("message", "failed")))
        span.end(end_time=ns(c["end_ms"]))
        count += 1
    root.end(end_time=ns(detail["duration_ms"] or 0))
    return count + 1


def otlp_provider():
    """A tracer provider exporting to the collector OTEL_EXPORTER_OTLP_ENDPOINT names (the
    standard OpenTelemetry variables configure it), or None when it is not configured."""
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise RuntimeError("OTEL_EXPORTER_OTLP_ENDPOINT is set, but exporting spans needs the "
                           "otel extra: pip install 'constellation-lang[otel]'") from None
    provider = TracerProvider(resource=Resource.create({"service.name": "constellation"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider
