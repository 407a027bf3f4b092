"""Formatting through the one canonical formatter shared with `cst fmt`."""

from __future__ import annotations

import bisect
import logging

from lsprotocol import types as lsp

log = logging.getLogger(__name__)


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        formatted = format_text(analysis.text)
        if formatted is None:
            if any(d.code == "E020" for d in analysis.diagnostics):
                ls.show("Constellation: the document has syntax errors, so it was not formatted.",
                        lsp.MessageType.Warning)
            return None
        if formatted == analysis.text:
            return []
        pos = ls.positions(analysis)
        return [lsp.TextEdit(range=lsp.Range(start=pos.position(a), end=pos.position(b)),
                             new_text=new)
                for a, b, new in line_edits(analysis.text, formatted)]


def format_text(text: str) -> str | None:
    try:
        from constellation.compiler.formatter import format_source
    except ImportError:
        log.warning("the formatter is not available")
        return None
    return format_source(text)


def line_edits(old: str, new: str) -> list[tuple[int, int, str]]:
    """(start offset, end offset, new text) replacing only the lines that differ: clients
    keep the cursor, marks, folds and diagnostics of untouched lines (a whole-document edit
    moves them all, in editors that do not diff edits themselves).

    A patience diff: lines found once in each text are the anchors, the longest run of them
    in the same order is kept, and each gap between kept anchors is one edit less its common
    first and last lines. O(n log n), where difflib took a second on 5,000 lines."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    edits = []
    i = j = 0
    for ai, bj in [*_kept_anchors(a, b), (len(a), len(b))]:
        lo_a, lo_b, hi_a, hi_b = i, j, ai, bj
        while lo_a < hi_a and lo_b < hi_b and a[lo_a] == b[lo_b]:
            lo_a, lo_b = lo_a + 1, lo_b + 1
        while lo_a < hi_a and lo_b < hi_b and a[hi_a - 1] == b[hi_b - 1]:
            hi_a, hi_b = hi_a - 1, hi_b - 1
        if lo_a < hi_a or lo_b < hi_b:
            edits.append((starts[lo_a], starts[hi_a], "".join(b[lo_b:hi_b])))
        i, j = ai + 1, bj + 1
    return edits


def _kept_anchors(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Pairs (i, j) with a[i] == b[j] occurring once in each, the longest run increasing in
    both (patience sorting)."""
    count: dict[str, int] = {}
    for line in a:
        count[line] = count.get(line, 0) + 1
    in_b: dict[str, int] = {}
    for j, line in enumerate(b):
        if count.get(line) == 1:
            in_b[line] = -1 if line in in_b else j
    pairs = [(i, in_b[line]) for i, line in enumerate(a) if in_b.get(line, -1) >= 0]
    tops: list[int] = []  # the smallest last j of an increasing run of each length
    ends: list[int] = []  # index in pairs of that run's last pair
    back = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        n = bisect.bisect_left(tops, j)
        back[k] = ends[n - 1] if n else -1
        if n == len(tops):
            tops.append(j)
            ends.append(k)
        else:
            tops[n], ends[n] = j, k
    kept = []
    k = ends[-1] if ends else -1
    while k >= 0:
        kept.append(pairs[k])
        k = back[k]
    return kept[::-1]
