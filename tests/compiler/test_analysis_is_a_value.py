"""An Analysis is a value (issue 14, item 2): after newer analyses are made from the same
document (one ParseCache), an older one still answers exactly what a cold analysis of its own
text answers — diagnostics, types, layers, spans, symbols, the executable plan, and the
queries the server asks. The quick path changes the symbols it updates in copies, never in the
previous analysis; an edit that changes the text's length moves the declarations below it,
which an older analysis does not see (it holds its own declaration offsets)."""

from __future__ import annotations

import pytest

from constellation.compiler.analysis import analyze
from constellation.compiler.checkmemo import memo_for
from constellation.compiler.parser import ParseCache
from constellation.compiler.queries import hover, navigation, symbols

from test_incremental_analysis import REGISTRY, dump, generated_program, span

TEXT = generated_program(6).replace("in text: String", "@example(\"hi\")\nin text: String")


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

# Edits that change the text's length, so the declarations after them move.
MOVING_EDITS = {
    # above the declarations: a line inserted at the top, then one removed
    "grow above": [("# generated pipeline\n", "# generated pipeline\nextra = 1\n"),
                   ("extra = 1\n", "extra = 12345\n# a longer comment\n")],
    "shrink above": [("word0 = Uppercase(text) with retry: 2, timeout: 5s",
                      "word0 = Uppercase(text)"),
                     ("size0 = add(seed, 1)", "size0 = seed")],
    # inside one declaration: longer, then shorter than it was
    "inside": [("size3 = add(size2, 4)", "size3 = add(size2, 4000)"),
               ("size3 = add(size2, 4000)", "size3 = 4")],
    # below every declaration but the last ones: only what follows moves
    "below": [("big5 = branch", "big5   =   branch"), ("out size5", "out size5\nout row5")],
    # an annotation attached to the input below it, then removed
    "annotation above": [("in seed: Int", "@example(3)\nin seed: Int"),
                         ("@example(3)", "@example(345)")],
    # an annotation removed from the input below it
    "annotation removed": [('@example("hi")\n', ""), ("size0 = add(seed, 1)", "size0 = seed")],
    # a broken declaration above, then mended with another length
    "broken above": [("size1 = add(size0, 2)", "size1 = add(size0, "),
                     ("size1 = add(size0, ", "size1 = add(size0, 22)")],
}


# A document of several blocks of units (parsing/units.py): edits in one block move the
# blocks after it, which the older analysis shares.
LONG = generated_program(60).replace("in text: String", "@example(\"hi\")\nin text: String")

MOVING_EDITS_ACROSS_BLOCKS = {
    "grow in the first block": [("size2 = add(size1, 3)", "size2 = add(size1, 3000)\nz = 1"),
                                ("size40 = add(size39, 41)", "size40 = 41")],
    "shrink in the first block": [("word1 = Uppercase(text) with retry: 2, timeout: 5s",
                                   "word1 = text"), ("# block 30\n", "")],
    "annotation in a middle block": [("size25 = add(size24, 26)",
                                      "@example(1)\nin size25b: Int\nsize25 = add(size24, 26)"),
                                     ("@example(1)\n", "")],
}


def analyses(edits, *, quick: bool = True, text: str | None = None) -> tuple[object, str]:
    """A1 (returned with its text) after A2 and A3 were made from the same cache."""
    text = TEXT if text is None else text
    original = text
    cache = ParseCache()
    first = analyze(text, REGISTRY, cache=cache)
    first.executable_plan if not quick else None  # lowered before the edits, or after them
    for old, new in edits:
        text = edited(text, old, new)
        analyze(text, REGISTRY, cache=cache)
        if quick:
            assert memo_for(cache).patched, new
    assert memo_for(cache).quick_path_error is None
    return first, original


def annotations_dump(analysis) -> list:
    """Each declaration's annotations (attached by the parse of its own text)."""
    return [(type(d).__name__, span(analysis.span_of(d)),
             [(a.name.text, span(analysis.span_of(a))) for a in getattr(d, "annotations", ())])
            for d in analysis.decls]


def executable_dump(analysis) -> list:
    """The runtime's view: the executable plan's JSON (positions and line:column included)."""
    from constellation.compiler.plan_json import plan_to_json
    return plan_to_json(analysis.executable_plan)


def query_dump(analysis) -> dict:
    """What the server's hover, navigation and outline answer at every name occurrence."""
    rows = []
    for occ, _ in analysis.symbols.occurrences:
        occ = analysis.absolute(occ)
        for offset in (occ.start, occ.end):
            found = navigation.name_at(analysis, offset)
            h = hover.hover_at(analysis, offset)
            rows.append((offset, None if found is None else (
                span(found[0]), found[1].name,
                [span(s) for s in navigation.usages(analysis, found[1], True)],
                [span(s) for s in navigation.rename_spans(analysis, found[1])]),
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


@pytest.mark.parametrize("edits", list(MOVING_EDITS.values()), ids=list(MOVING_EDITS))
def test_older_analysis_equals_cold_after_moving_edits(edits):
    older, text = analyses(edits, quick=False)
    cold = analyze(text, REGISTRY)
    assert dump(older) == dump(cold)
    assert query_dump(older) == query_dump(cold)
    assert executable_dump(older) == executable_dump(cold)
    assert annotations_dump(older) == annotations_dump(cold)


@pytest.mark.parametrize("edits", list(MOVING_EDITS.values()), ids=list(MOVING_EDITS))
def test_older_analysis_lowered_late_equals_cold(edits):
    """The executable plan is lowered on first use: after the edits, from the older text."""
    cache = ParseCache()
    older = analyze(TEXT, REGISTRY, cache=cache)
    text = TEXT
    for old, new in edits:
        text = edited(text, old, new)
        newer = analyze(text, REGISTRY, cache=cache)
        assert executable_dump(newer) == executable_dump(analyze(text, REGISTRY))
    assert executable_dump(older) == executable_dump(analyze(TEXT, REGISTRY))


@pytest.mark.parametrize("edits", list(MOVING_EDITS_ACROSS_BLOCKS.values()),
                         ids=list(MOVING_EDITS_ACROSS_BLOCKS))
def test_older_analysis_equals_cold_after_moving_edits_across_blocks(edits):
    older, text = analyses(edits, quick=False, text=LONG)
    cold = analyze(text, REGISTRY)
    assert dump(older) == dump(cold)
    assert query_dump(older) == query_dump(cold)
    assert executable_dump(older) == executable_dump(cold)
    assert annotations_dump(older) == annotations_dump(cold)
