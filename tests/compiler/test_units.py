"""The document's units in blocks (parsing/units.py): an edit re-parses the units around it
and rebuilds only the blocks holding them, the later blocks are shared with their starts
shifted, an older parse keeps its own positions, and incremental equals cold."""

from __future__ import annotations

import random

import pytest

from constellation.compiler import ast
from constellation.compiler.parser import ParseCache, parse
from constellation.compiler.parsing.context import absolute
from constellation.compiler.parsing.units import BLOCK, _may_cut

from test_incremental_analysis import generated_program
from test_parser_incremental import snapshot

TEXT = generated_program(80)  # about 400 units: several blocks


def positions(result) -> list:
    """Every node of the result with its span read through the result's layout."""
    rows = []
    stack = list(reversed(result.decls))
    while stack:
        node = stack.pop()
        span = getattr(node, "span", None)
        if span is not None:
            s = absolute(span, result.layout)
            rows.append((type(node).__name__, s.start, s.end))
        stack.extend(reversed(ast.children(node)))
    return rows


def diagnostics(result) -> list:
    return [(d.code, d.message, d.span.start, d.span.end,
             [(e.span.start, e.span.end, e.new_text) for f in d.fixes for e in f.edits])
            for d in result.diagnostics]


def edit_in_block(text: str, result, j: int, old: str, new: str) -> str:
    """`text` with the first `old` in block j replaced by `new`."""
    start = result.layout.starts[j]
    end = start + result.layout.blocks[j].length
    at = text.index(old, start, end)
    return text[:at] + new + text[at + len(old):]


def test_a_document_is_held_in_blocks():
    result = parse(TEXT, ParseCache())
    layout = result.layout
    assert len(layout.blocks) >= 5
    assert all(len(b.units) >= BLOCK for b in layout.blocks[:-1])
    assert [d for b in layout.blocks for d in b.decls] == result.decls
    assert layout.starts[0] == 0
    for b, s, nxt in zip(layout.blocks, layout.starts, layout.starts[1:]):
        assert s + b.length == nxt


def test_an_edit_rebuilds_only_its_block_and_shifts_the_later_ones():
    cache = ParseCache()
    before = parse(TEXT, cache)
    old = before.layout
    j = len(old.blocks) // 2
    text = edit_in_block(TEXT, before, j, "add(", "add( ")  # one character longer
    after = parse(text, cache)
    new = after.layout
    assert cache.misses == 1
    assert len(new.blocks) == len(old.blocks)
    assert [a is b for a, b in zip(old.blocks, new.blocks)] \
        == [k != j for k in range(len(old.blocks))]
    assert new.starts[:j + 1] == old.starts[:j + 1]
    assert new.starts[j + 1:] == tuple(s + 1 for s in old.starts[j + 1:])
    assert snapshot(after) == snapshot(parse(text))


def test_the_starts_of_the_units_are_computed_from_the_blocks():
    from constellation.compiler.lexer import declaration_starts

    cache = ParseCache()
    parse(TEXT, cache)
    text = TEXT.replace("size40 = add(size39, 41)", "size40 = add(size39, 41)\nnew = 1")
    parse(text, cache)
    assert cache.starts == declaration_starts(text)


@pytest.mark.parametrize("old, new", [
    ("size3 = add(size2, 4)", "size3 = add(size2, 4000)\nextra = 1"),  # grows, in block 0
    ("word1 = Uppercase(text) with retry: 2, timeout: 5s", "word1 = text"),  # shrinks
    ("# block 2\n", ""),  # a unit less
])
def test_an_older_parse_keeps_its_positions_after_edits_before_it(old, new):
    cache = ParseCache()
    older = parse(TEXT, cache)
    expected = positions(parse(TEXT))
    text = TEXT.replace(old, new, 1)
    newer = parse(text, cache)
    assert positions(older) == expected
    assert positions(newer) == positions(parse(text))
    # and once more, so that the units the older parse shares move twice
    text2 = text.replace("size60 = add(size59, 61)", "size60 = 1", 1)
    parse(text2, cache)
    assert positions(older) == expected
    assert positions(newer) == positions(parse(text))


def test_no_block_boundary_inside_an_annotation_run():
    lines = TEXT.split("\n")
    # an input with a run of annotations at every 17th line
    for k in range(len(lines) - 2, 6, -17):
        lines[k:k] = ["@example(1)", "@source(\"db\")", f"in extra{k}: Int"]
    text = "\n".join(lines)
    result = parse(text, ParseCache())
    blocks = result.layout.blocks
    for a, b in zip(blocks, blocks[1:]):
        assert _may_cut(a.units[-1], b.units[0])
    annotated = [d for d in result.decls if isinstance(d, ast.InputDecl) and d.annotations]
    assert len(annotated) == len([k for k in range(len(TEXT.split("\n")) - 2, 6, -17)])


EDIT_TEXTS = ["@example(1)\n", "@sink(\"x\")\n", "x = (", ")", "\n", "in q: Int\n", "}",
              "\"", "# c\n", "type T = Int\n", "out size3\n", "@", "y = 1\n"]


@pytest.mark.parametrize("seed", range(12))
def test_incremental_equals_cold_after_random_edits(seed):
    """Random edits anywhere, including annotations that cross where blocks end and
    unterminated strings that swallow the rest: each parse equals a cold one, and every
    older parse still equals the cold parse of its own text."""
    rng = random.Random(seed)
    cache = ParseCache()
    text = TEXT
    history = [(parse(text, cache), text)]
    for _ in range(12):
        at = rng.randrange(len(text) + 1)
        if rng.random() < 0.4:
            text = text[:at] + text[at + rng.randrange(1, 60):]
        else:
            text = text[:at] + rng.choice(EDIT_TEXTS) + text[at:]
        result = parse(text, cache)
        cold = parse(text)
        assert snapshot(result) == snapshot(cold)
        assert diagnostics(result) == diagnostics(cold)
        history.append((result, text))
    for result, old_text in history[-4:]:
        cold = parse(old_text)
        assert positions(result) == positions(cold)


def test_a_misplaced_annotation_is_reported_once_where_it_now_is():
    """The diagnostic of an annotation run is its block's: it moves with the block and goes
    away when the run is attached (the incremental path once kept a stale one)."""
    text = TEXT.replace("size50 = add(size49, 51)", "@example(1)\nsize50 = add(size49, 51)")
    cache = ParseCache()
    first = parse(text, cache)
    assert [d.message for d in first.diagnostics if d.code == "E020"] == [
        "'@example' must be placed before the 'in' declaration it annotates"]
    moved = "# a new first line\n" + text
    assert diagnostics(parse(moved, cache)) == diagnostics(parse(moved))
    mended = moved.replace("@example(1)\nsize50", "@example(1)\nin size50x: Int\nsize50")
    result = parse(mended, cache)
    assert diagnostics(result) == diagnostics(parse(mended)) == []
    assert snapshot(result) == snapshot(parse(mended))
