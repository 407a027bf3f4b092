"""Trace export (issue 17 item 6): `cst runs show RUN --trace FILE` writes Chrome trace JSON (a
process per layer, lanes of calls that never overlap, a slice per attempt inside its call);
OpenTelemetry spans go through the SDK (here its in-memory exporter)."""

from __future__ import annotations

import json

import pytest
from records_support import counting_project, show

PIPELINE = """in t: String
a = Echo(t)
b = Slow(t)
c = Flaky(t) with retry: 1
d = Echo(a)
out d
out b
out c
"""


@pytest.fixture
def recorded(cst, tmp_path, monkeypatch):
    project = counting_project(tmp_path / "proj")
    (project / "p.cst").write_text(PIPELINE, encoding="utf-8")
    monkeypatch.setenv("COUNTS", str(tmp_path / "counts"))
    db = tmp_path / "runs.db"
    assert cst("run", "p.cst", "-i", "t=x", cwd=project,
               env={"CONSTELLATION_RUNS_DB": str(db)}).code == 0
    return db


def test_the_trace_file_is_chrome_trace_json(cst, recorded, tmp_path):
    out = tmp_path / "trace.json"
    result = cst("runs", "--db", recorded, "show", "last", "--trace", out)
    assert result.code == 0 and "wrote" in result.err, result
    trace = json.loads(out.read_text(encoding="utf-8"))
    events = trace["traceEvents"]
    assert trace["displayTimeUnit"] == "ms"
    for e in events:
        assert e["ph"] in ("X", "M") and isinstance(e["pid"], int) and isinstance(e["tid"], int)
        if e["ph"] == "X":
            assert e["ts"] >= 0 and e["dur"] >= 0 and isinstance(e["name"], str)
    names = {e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert names == {"p.cst · layer 1", "p.cst · layer 2"}
    calls = {e["name"]: e for e in events if e["ph"] == "X" and e["cat"] != "attempt"}
    assert set(calls) == {"a", "b", "c", "d"}
    assert calls["d"]["pid"] == 2 and calls["a"]["pid"] == 1
    assert calls["c"]["args"]["attempts"] == 2
    attempts = [e for e in events if e.get("cat") == "attempt"
                and (e["pid"], e["tid"]) == (calls["c"]["pid"], calls["c"]["tid"])
                and calls["c"]["ts"] <= e["ts"] <= calls["c"]["ts"] + calls["c"]["dur"]]
    assert [a["name"] for a in attempts] == ["attempt 1", "attempt 2"]
    assert attempts[0]["args"] == {"error": "service unavailable"}
    # calls sharing a lane never overlap (slices on one track must nest)
    by_lane: dict = {}
    for e in calls.values():
        by_lane.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_lane.values():
        spans.sort()
        assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))


def test_a_run_as_opentelemetry_spans(cst, recorded):
    pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from constellation.runtime.records.trace import otel_spans

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    detail = show(cst, recorded)
    assert otel_spans(detail, provider) == 1 + 4 + 5  # the run, 4 calls, 5 attempts
    spans = {s.name: s for s in exporter.get_finished_spans()}
    root = spans["run p.cst"]
    assert root.parent is None and root.attributes["constellation.status"] == "completed"
    c = spans["c"]
    assert c.parent.span_id == root.context.span_id
    assert c.attributes["constellation.attempts"] == 2
    assert root.start_time <= c.start_time <= c.end_time <= root.end_time
    failed = [s for s in exporter.get_finished_spans()
              if s.name == "attempt 1" and s.parent.span_id == c.context.span_id]
    assert failed[0].status.description == "service unavailable"


def test_otel_without_a_collector_is_a_sentence(cst, recorded):
    result = cst("runs", "--db", recorded, "show", "last", "--otel")
    assert result.code == 2 and "OTEL_EXPORTER_OTLP_ENDPOINT" in result.err
