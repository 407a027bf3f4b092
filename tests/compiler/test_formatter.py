"""The canonical formatter: idempotent, keeps every comment, never changes the AST."""

from __future__ import annotations

import pytest

from constellation.compiler.formatter import _equivalent, _Formatter, format_source, structure
from constellation.compiler.lexer import tokenize
from constellation.compiler.parser import parse

from test_parser_support import corpus_paths, corpus_text

PATHS = corpus_paths() or ["<corpus missing>"]


def comments(text: str) -> list[str]:
    return [text[t.start:t.end].rstrip() for t in tokenize(text) if t.kind == "comment"]


def unchecked(text: str) -> str:
    """The formatter's own output, before its safety check could fall back to the input."""
    return _Formatter(text, parse(text).decls).run()


def valid(path: str) -> str:
    text = corpus_text(path)
    if any(d.code == "E020" for d in parse(text).diagnostics):
        pytest.skip("has syntax errors")
    return text


@pytest.mark.corpus
@pytest.mark.parametrize("path", PATHS)
def test_idempotent_on_corpus(path):
    once = format_source(valid(path))
    assert once is not None
    assert format_source(once) == once


@pytest.mark.corpus
@pytest.mark.parametrize("path", PATHS)
def test_keeps_comments_and_ast_on_corpus(path):
    text = valid(path)
    out = unchecked(text)
    assert comments(out) == comments(text)
    assert structure(parse(out).decls) == structure(parse(text).decls)
    assert parse(out).diagnostics == parse(text).diagnostics == [] or all(
        d.code != "E020" for d in parse(out).diagnostics)


@pytest.mark.corpus
def test_syntax_errors_give_none():
    assert format_source(corpus_text("dashboard-tests/fixtures/scripts/syntax-error.cst")) is None
    assert format_source("x = (\nout x") is None


CASES = {
    "operators and spacing": ("x   =   1+2*3\nout x", "x = 1 + 2 * 3\nout x\n"),
    "grouping parentheses are kept": ("x = (1 + 2) * 3\ny = a or (b and c)\nout x",
                                      "x = (1 + 2) * 3\ny = a or (b and c)\nout x\n"),
    "blank lines collapse": ("# header\n\n\n\nin a: Int   # trailing\nout a\n\n\n# end\n",
                             "# header\n\nin a: Int  # trailing\nout a\n\n# end\n"),
    "one annotation per line": ("@example(1) @example(2) in v: Int out v",
                                "@example(1)\n@example(2)\nin v: Int\nout v\n"),
    "multi-line record keeps its comment": (
        "x = { a: 1,\n  # note\n  b: 2 }\nout x",
        "x = {\n  a: 1,\n  # note\n  b: 2\n}\nout x\n"),
    "joined call keeps both comments in order": (
        "x = f(a, # c1\n  b, # c2\n  c)\nout x",
        "x = f(a, b, c)  # c1\n# c2\nout x\n"),
    "with clause as written, 2-space indentation": (
        "x = f(1) with\n    retry: 3, # three\n    timeout: 5s\nout x",
        "x = f(1) with\n  retry: 3,  # three\n  timeout: 5s\nout x\n"),
    "call with options before an operator": (
        "x = m.add(1, 2) with retry: 1 + 1\nout x",
        "x = (m.add(1, 2) with retry: 1) + 1\nout x\n"),
    "parenthesised clause in a record stays": (
        "x = { result: (f(1) with retry: 1), priority: 5 }\nout x",
        "x = { result: (f(1) with retry: 1), priority: 5 }\nout x\n"),
    "nested fallback clause keeps its parentheses": (
        "x = f(1) with fallback: (g(2) with retry: 1), timeout: 5s\nout x",
        "x = f(1) with fallback: (g(2) with retry: 1), timeout: 5s\nout x\n"),
    "arrows and match": ("x = branch { c->1, otherwise->2 }\ny = match r { _->1 }\nout x",
                         "x = branch { c -> 1, otherwise -> 2 }\ny = match r { _ -> 1 }\nout x\n"),
    "multi-line match": ("y = match r {\n    { a } -> a, # first\n  _ -> 0 }\nout y",
                         "y = match r {\n  { a } -> a,  # first\n  _ -> 0\n}\nout y\n"),
    "declarations on one line are split": ("out x x = 1 # c", "out x\nx = 1  # c\n"),
    "unary minus and the smallest Int": ("x = -9223372036854775808\ny = - 2\nz = a - -b\nout x",
                                         "x = -9223372036854775808\ny = -2\nz = a - -b\nout x\n"),
    "greedy else gets parentheses": ("x = (if (c) 1 else 2) + 3\nout x",
                                     "x = (if (c) 1 else 2) + 3\nout x\n"),
    "reserved words as fields": ("type T = {\n  type: String,\n    in: Int\n}\nin t: T out t",
                                 "type T = {\n  type: String,\n  in: Int\n}\nin t: T\nout t\n"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_layout(name):
    source, expected = CASES[name]
    assert unchecked(source) == expected
    assert format_source(source) == expected
    assert format_source(expected) == expected
    assert _equivalent(source, expected)


def test_empty_and_comment_only_files():
    assert format_source("") is None  # no `out`: still a syntax error (E020)
    assert format_source("# just a comment\nout x\n") == "# just a comment\nout x\n"


FRAGMENTS = ["(", ")", " ", "\n", "# note\n", "x", "1", " + 2", " and b", ",", "\n\n",
             " with retry: 1", "-", "not ", "[", "]", "{", "}", ".a"]


@pytest.mark.corpus
@pytest.mark.parametrize("path", PATHS[::3])
def test_random_valid_variants_format_safely(path):
    """Edited corpus files that still parse: the formatter's own output is equivalent and
    stable (its safety net is never needed)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    base = valid(path)

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.floats(0, 1), st.sampled_from(FRAGMENTS)), max_size=3))
    def run(edits):
        text = base
        for where, insert in edits:
            at = int(where * len(text))
            text = text[:at] + insert + text[at:]
        if any(d.code == "E020" for d in parse(text).diagnostics):
            return
        out = unchecked(text)
        assert _equivalent(text, out), out
        assert unchecked(out) == out

    run()


def test_windows_line_endings_are_kept():
    src = "in a: Int # c\r\n\r\n\r\nx = a+1\r\nout x\r\n"
    assert format_source(src) == "in a: Int  # c\r\n\r\nx = a + 1\r\nout x\r\n"
    assert format_source(format_source(src)) == format_source(src)


def test_random_text_never_raises():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    pieces = st.sampled_from(["x = ", "1", " + ", "(", ")", "\n", "# c\n", "out x\n", "in a: Int",
                              "{ a: 1,\n b: 2 }", "f(a) with retry: 1", ", ", "[", "]", '"s"',
                              "@example(1) ", "match r {\n _ -> 1 }", "if (a) b else c"])

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(pieces, max_size=30).map("".join))
    def run(text):
        out = format_source(text)
        if out is not None:
            assert format_source(out) == out
            if not any(d.code == "E020" for d in parse(text).diagnostics):
                assert unchecked(text) == out  # the safety net was not needed

    run()


@pytest.mark.parametrize("src, wrong", [
    # a declaration the formatter would change (its text differs: parsed again and compared)
    ("in a: Int\nx = a+1\ny = a\nout x\nout y\n", lambda t: t.replace("a + 1", "a + 2")),
    # an annotation changed in front of an `in` whose own line is untouched (the second parse
    # reuses that declaration and attaches annotations to it in place)
    ("@example(1)\nin a: Int\nx = a+1\nout x\n", lambda t: t.replace("@example(1)", "@example(2)")),
    # a comment lost
    ("in a: Int # c\nx = a+1\nout x\n", lambda t: t.replace("  # c", "")),
])
def test_a_formatter_bug_returns_the_input_unchanged(monkeypatch, src, wrong):
    """The safety check: output that parses to another program, or drops a comment, is not
    returned; the user's text is."""
    right = _Formatter.run
    monkeypatch.setattr(_Formatter, "run", lambda self: wrong(right(self)))
    assert format_source(src) == src


def test_comment_spans_are_the_lexers_comments():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from constellation.compiler.lexer import comment_spans, lex, tokenize

    pieces = st.sampled_from(['"', "#", "${", "}", "\\", "\n", "\r", " ", "a", "x = ", "1",
                              '"s # t"', '"${f("#")}"', "# c\n", "\\\"", "§", ".5", "@", "007"])

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(pieces, max_size=40).map("".join))
    def run(text):
        lexed = lex(text)
        if lexed.error is None:
            assert comment_spans(text) == lexed.comments
        # with errors too: what the error-tolerant tokenizer (folding's old source) finds
        assert comment_spans(text) == [(t.start, t.end) for t in tokenize(text)
                                       if t.kind == "comment"]

    run()
    for path in corpus_paths():
        text = corpus_text(path)
        if lex(text).error is None:
            assert comment_spans(text) == lex(text).comments, path
