"""Fuzzing: parse() and tokenize() return for any text and never raise."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constellation.compiler.lexer import tokenize
from constellation.compiler.parser import parse

from test_parser_support import corpus_paths, corpus_text

FRAGMENTS = st.sampled_from([
    "x", "=", "(", ")", "[", "]", "{", "}", '"', "${", "\\", "in ", "out ", "type ", "use ",
    "with ", "retry: 1", ",", "@example(", "@sink", "->", "=>", "1", "9223372036854775808",
    "5s", "10/1s", "\n", "# c\n", "match ", "branch ", "otherwise", "if ", "else ", "??",
    "when ", ".", "-", "not ", "lazy", "fallback: ", "_", "is ", "é", "\x00", "\r\n", "\t",
])

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def check_robust(text: str) -> None:
    result = parse(text)
    assert isinstance(result.decls, list)
    assert all(d.code == "E020" for d in result.diagnostics), result.diagnostics
    for d in result.diagnostics:
        assert 0 <= d.span.start <= d.span.end <= len(text)
        # parser-internal names never show, unless quoting the user's own text ('IDENT')
        for internal in ("Token", "IDENT"):
            assert internal not in d.message or internal in text, d.message
    for t in tokenize(text):
        assert 0 <= t.start < t.end <= len(text)


@SETTINGS
@given(st.text(max_size=300))
def test_random_text(text):
    check_robust(text)


@SETTINGS
@given(st.lists(FRAGMENTS, max_size=80).map(" ".join))
def test_random_token_soup(text):
    check_robust(text)


EDITS = st.lists(st.tuples(st.floats(0, 1), st.integers(0, 20),
                           st.one_of(FRAGMENTS, st.text(max_size=5))), min_size=1, max_size=6)


@pytest.mark.parametrize("path", corpus_paths()[::4] or ["<corpus missing>"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS)
def test_corpus_with_random_insertions_and_deletions(path, edits):
    text = corpus_text(path)
    for where, remove, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + remove:]
    check_robust(text)


def parsed_alone(text: str):
    """The reference parse: every declaration chunk on its own (the recovery of §2.6)."""
    from constellation.compiler.parsing import chunks as p, units
    from constellation.compiler.parsing.context import _PARSING
    from constellation.compiler.lexer import declaration_starts
    starts = declaration_starts(text)
    with _PARSING:
        chunks, _ = p._parse_range(text, starts, 0, len(starts), {})
        return units.assemble(text, chunks)


def outcome(result) -> tuple:
    import copy
    return (repr(copy.deepcopy(result.decls)),  # deepcopy: plain Spans in the repr
            [(d.code, d.message, d.span.start, d.span.end) for d in result.diagnostics])


@pytest.mark.parametrize("path", corpus_paths()[::5] or ["<corpus missing>"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(copies=st.integers(1, 8), edits=EDITS)
def test_cold_parse_in_runs_equals_parsing_each_declaration_alone(path, copies, edits):
    """A cold parse drives long runs of declarations through one LALR pass and re-parses
    only damaged chunks alone; declarations and diagnostics must be exactly the ones a
    chunk-by-chunk parse gives (copies make documents longer than the first run window)."""
    text = corpus_text(path) * copies
    for where, remove, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + remove:]
    assert outcome(parse(text)) == outcome(parsed_alone(text))
