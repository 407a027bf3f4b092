"""Incremental parsing: unchanged declarations are reused, results equal a fresh parse."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constellation.compiler import ast
from constellation.compiler.parser import ParseCache, parse

from test_parser_support import corpus_paths, corpus_text, dump

PROGRAM = """\
# a small pipeline
in text: String
@example(3)
in n: Int

cleaned = Trim(text)
shout = Uppercase(cleaned) with retry: 2
label = "n = ${n + 1}"
big = n > 10
out shout
out label
"""


def snapshot(result):
    return (dump(result.decls, spans=True),
            [(d.code, d.message, d.span.start, d.span.end) for d in result.diagnostics])


def test_one_character_edit_reparses_one_chunk():
    cache = ParseCache()
    first = parse(PROGRAM, cache)
    assert cache.misses == 10 and cache.hits == 0
    edited = PROGRAM.replace("n > 10", "n > 100")
    second = parse(edited, cache)
    assert cache.misses == 1
    assert cache.hits == 9
    # untouched declarations are the very same objects, moved where needed
    assert second.decls[0] is first.decls[0]
    assert second.decls[-1] is first.decls[-1]
    assert snapshot(second) == snapshot(parse(edited))


def test_reused_chunks_after_the_edit_are_moved():
    cache = ParseCache()
    parse(PROGRAM, cache)
    edited = PROGRAM.replace("Trim(text)", "Trim( text )")
    result = parse(edited, cache)
    assert cache.misses == 1
    label = next(d for d in result.decls if isinstance(d, ast.Assignment) and d.name.text == "label")
    inner = label.expr.exprs[0]
    assert edited[inner.span.start:inner.span.end] == "n + 1"
    assert snapshot(result) == snapshot(parse(edited))


def test_same_text_reuses_everything():
    cache = ParseCache()
    parse(PROGRAM, cache)
    parse(PROGRAM, cache)
    assert cache.misses == 0 and cache.hits == 10


def test_edit_opening_a_string_changes_the_split():
    cache = ParseCache()
    parse(PROGRAM, cache)
    edited = PROGRAM.replace('cleaned = Trim(text)', 'cleaned = "Trim(text)')
    assert snapshot(parse(edited, cache)) == snapshot(parse(edited))
    assert snapshot(parse(PROGRAM, cache)) == snapshot(parse(PROGRAM))


def test_moving_declarations_reuses_their_parse():
    cache = ParseCache()
    parse(PROGRAM, cache)
    lines = PROGRAM.splitlines(keepends=True)
    swapped = "".join(lines[:5] + [lines[6], lines[5]] + lines[7:])
    result = parse(swapped, cache)
    assert cache.misses <= 3
    assert snapshot(result) == snapshot(parse(swapped))


EDIT = st.tuples(st.floats(0, 1), st.integers(0, 6),
                 st.sampled_from(["", "x", " ", "\n", '"', "(", ")", "{", "#", "=", "out y\n",
                                  "${", "}", "@", ",", "with retry: 1", "x = ",
                                  # a declaration keyword left alone at the end of a line
                                  "\ntype\n", "\nin\n", "\nuse\n", "\nout\n", "type "]))


def apply(text: str, edit) -> str:
    where, remove, insert = edit
    at = int(where * len(text))
    return text[:at] + insert + text[at + remove:]


@pytest.mark.parametrize("path", corpus_paths()[::3] or ["<corpus missing>"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(edits=st.lists(EDIT, min_size=1, max_size=4))
def test_incremental_equals_fresh_after_random_edits(path, edits):
    text = corpus_text(path)
    cache = ParseCache()
    parse(text, cache)
    for edit in edits:
        text = apply(text, edit)
        assert snapshot(parse(text, cache)) == snapshot(parse(text))


def test_copies_and_pickles_of_reused_nodes_have_fixed_spans():
    import copy
    import pickle

    cache = ParseCache()
    first = parse(PROGRAM, cache)
    frozen = copy.deepcopy(first.decls)
    pickled = pickle.loads(pickle.dumps(first.decls))
    parse("# moved\n" + PROGRAM, cache)  # reuses (and moves) every declaration
    assert dump(frozen, spans=True) == dump(parse(PROGRAM).decls, spans=True)
    assert dump(pickled, spans=True) == dump(parse(PROGRAM).decls, spans=True)
    assert first.decls[0].span.start == PROGRAM.index("in text") + len("# moved\n")


@pytest.mark.parametrize("path", corpus_paths() or ["<corpus missing>"])
def test_whole_document_parse_equals_chunked_parse(path):
    """Cold parses of valid files run in one LALR pass; recovery parses chunk by chunk."""
    from constellation.compiler.parsing import chunks as p, units
    from constellation.compiler.parsing.context import _PARSING
    from constellation.compiler.lexer import declaration_starts

    text = corpus_text(path)
    starts = declaration_starts(text)
    with _PARSING:
        chunks, _ = p._parse_range(text, starts, 0, len(starts), {})
        chunked = units.assemble(text, chunks)
    assert snapshot(parse(text)) == snapshot(chunked)


def test_an_edit_after_a_lone_keyword_can_unmake_its_declaration_start():
    """`type` alone on a line starts a declaration when a name follows and is a field name
    when `}` follows: typing `}` on the next line changes the split before the edit (found
    by a long hypothesis run)."""
    text = "in t: String\nu\ntype\npper = Trim(t)\nout pper\n"
    cache = ParseCache()
    parse(text, cache)
    edited = text.replace("\npper", "\n}pper")
    assert snapshot(parse(edited, cache)) == snapshot(parse(edited))
    assert snapshot(parse(text, cache)) == snapshot(parse(text))
