"""A run's values and durations as the editor shows them (hover, inlay hints). A run is
anything with `values` and `durations` by binding name (the server's `RunValues`)."""

from __future__ import annotations

import json

from constellation.compiler.ast import Span
from constellation.compiler.queries import reading


def value_text(value: object, limit: int, indent: int | None = None) -> str:
    """The value as JSON, cut after `limit` characters with how many are left out."""
    try:
        text = json.dumps(value, ensure_ascii=False, indent=indent)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit:,} more characters)"
    return text


def duration_text(ms: object) -> str | None:
    if not isinstance(ms, (int, float)) or isinstance(ms, bool):
        return None
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def failure_span(analysis, line: int, column: int) -> Span:
    """Where a run's failure at a 1-based line:column (from its events) is shown: the call
    that starts there, else the point itself."""
    start = analysis.source.offset(line, column)
    for node in reading.plan_nodes(analysis):
        if node.kind == "module" and reading.span_of(analysis, node).start == start:
            return reading.span_of(analysis, node)
    return Span(start, start)
