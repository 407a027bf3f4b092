"""An Analysis is a value (issue 14, item 2): after newer analyses are made from the same
document (one ParseCache), an older one still answers exactly what a cold analysis of its own
text answers — diagnostics, types, layers, spans, symbols, and the queries the server asks.
The quick path changes the symbols it updates in copies, never in the previous analysis."""

from __future__ import annotations

import pytest

from constellation.compiler.analysis import analyze
from constellation.compiler.checkmemo import memo_for
from constellation.compiler.parser import ParseCache
from constellation.compiler.queries import hover, navigation, symbols

from test_incremental_analysis import REGISTRY, dump, generated_program, span

TEXT = generated_program(6)


def edited(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# Each edit is (old, new) on the previous text, inside the declaration `size3 = add(size2, 4)`
# and of the same length, so the quick path (fastpath.py) takes it and no chunk moves.
EDITS = {
    # a literal
    "quick digit inside": [("size3 = add(size2, 4)", "size3 = add(size2, 5)"),
                           ("size3 = add(size2, 5)", "size3 = add(size2, 6)")],
    # the quick path with a type change read by later declarations
    "quick type change inside": [("size3 = add(size2, 4)", 'size3 = "abcdefghijk"'),
                                 ('size3 = "abcdefghijk"', "size3 = add(size2, 7)")],
    # the quick path changing which bindings a declaration reads (their references)
    "quick references inside": [("size3 = add(size2, 4)", "size3 = add(size1, 4)"),
                                ("size3 = add(size1, 4)", "size3 = add(size0, 4)")],
}


def analyses(edits) -> tuple[object, str]:
    """A1 (returned with its text) after A2 and A3 were made from the same cache."""
    cache = ParseCache()
    first = analyze(TEXT, REGISTRY, cache=cache)
    text = TEXT
    for old, new in edits:
        text = edited(text, old, new)
        analyze(text, REGISTRY, cache=cache)
        assert memo_for(cache).patched, new
    assert memo_for(cache).quick_path_error is None
    return first, TEXT


def query_dump(analysis) -> dict:
    """What the server's hover, navigation and outline answer at every name occurrence."""
    rows = []
    for occ, _ in analysis.symbols.occurrences:
        for offset in (occ.start, occ.end):
            found = navigation.name_at(analysis, offset)
            h = hover.hover_at(analysis, offset)
            rows.append((offset, None if found is None else (
                span(found[0]), found[1].name,
                [span(s) for s in navigation.usages(found[1], True)],
                [span(s) for s in navigation.rename_spans(found[1])]),
                None if h is None else (span(h[0]), h[1])))
    outline = [(s.name, s.kind, s.detail, span(s.span), span(s.selection))
               for s in symbols.document_symbols(analysis)]
    return {"rows": rows, "outline": outline}


@pytest.mark.parametrize("edits", list(EDITS.values()), ids=list(EDITS))
def test_older_analysis_equals_cold(edits):
    older, text = analyses(edits)
    cold = analyze(text, REGISTRY)
    assert dump(older) == dump(cold)


@pytest.mark.parametrize("edits", list(EDITS.values()), ids=list(EDITS))
def test_older_analysis_answers_queries_as_cold(edits):
    older, text = analyses(edits)
    assert query_dump(older) == query_dump(analyze(text, REGISTRY))
