"""The corpus through the parser: E020 expectations of expected.json, spans, tokens."""

from __future__ import annotations

import pytest

from constellation.compiler import ast
from constellation.compiler.lexer import tokenize
from constellation.compiler.parser import parse
from constellation.compiler.source import Source

from test_parser_support import corpus_entries, corpus_paths, corpus_text

pytestmark = pytest.mark.corpus

PATHS = corpus_paths() or ["<corpus missing>"]


def _row(path: str) -> dict:
    for row in corpus_entries():
        if row["path"] == path:
            return row
    pytest.skip(f"{path} not in expected.json")


@pytest.mark.parametrize("path", PATHS)
def test_corpus_syntax_errors_match_expected(path):
    row = _row(path)
    text = corpus_text(path)
    result = parse(text)
    source = Source(text)
    got = [source.line_col(d.span.start)[0] for d in result.diagnostics if d.code == "E020"]
    want = [d["line"] for d in row["diagnostics"] if d["code"] == "E020"]
    assert got == want, [(d.message, source.format_pos(d.span.start)) for d in result.diagnostics]
    assert all(d.code == "E020" for d in result.diagnostics)


@pytest.mark.parametrize("path", PATHS)
def test_corpus_spans_are_well_formed(path):
    """Every node span lies inside its parent's and names cover exactly their text."""
    text = corpus_text(path)
    for decl in parse(text).decls:
        stack = [(decl, decl.span)]
        while stack:
            node, outer = stack.pop()
            span = node.span
            assert 0 <= span.start <= span.end <= len(text)
            assert outer.start <= span.start and span.end <= outer.end, (node, outer)
            for attr in getattr(node, "__slots__", ()):
                value = getattr(node, attr)
                names = value if isinstance(value, list) else [value]
                for n in names:
                    if isinstance(n, tuple):
                        n = n[0]
                    if isinstance(n, ast.Name):
                        assert text[n.span.start:n.span.end] == n.text
            for child in ast.children(node):
                # annotations precede the declaration they are attached to
                stack.append((child, child.span if isinstance(child, ast.Annotation) else span))


@pytest.mark.parametrize("path", PATHS)
def test_corpus_tokens(path):
    text = corpus_text(path)
    tokens = tokenize(text)
    assert tokens
    previous_end = 0
    for t in tokens:
        assert previous_end <= t.start < t.end <= len(text), t
        previous_end = t.end
    comments = [text[t.start:t.end] for t in tokens if t.kind == "comment"]
    assert all(c.startswith("#") for c in comments)


def test_span_samples():
    text = ('in user: { name: String, tags: List<String> }\n'
            'greeting = "Hi ${user.name}!" when user.tags != []\n'
            'upper = Uppercase(user.name) with retry: 2, timeout: 5s\n'
            'out greeting\n')
    decls = parse(text).decls
    inp, assign, call_decl, out = decls

    def at(span):
        return text[span.start:span.end]

    assert at(inp.span) == "in user: { name: String, tags: List<String> }"
    assert at(inp.type.fields[1][1].span) == "List<String>"
    guard = assign.expr
    assert isinstance(guard, ast.Guard)
    assert at(guard.span) == '"Hi ${user.name}!" when user.tags != []'
    inner = guard.expr.exprs[0]
    assert at(inner.span) == "user.name"
    assert text[inner.dot:inner.field.span.end] == ".name"
    assert at(guard.cond.op_span) == "!="
    call = call_decl.expr
    assert at(call.span) == "Uppercase(user.name) with retry: 2, timeout: 5s"
    assert at(call.name_span) == "Uppercase"
    assert [at(o.span) for o in call.options] == ["retry: 2", "timeout: 5s"]
    assert at(call.options[1].value.span) == "5s"
    assert at(out.span) == "out greeting"


def test_match_and_lambda_spans():
    text = ("x = match r { { a } -> a, _ -> 0 }\n"
            "y = filter(xs, (v: Int) => v > 1)\nout x\n")
    m, f = parse(text).decls[:2]
    at = lambda s: text[s.start:s.end]  # noqa: E731
    assert at(m.expr.keyword) == "match"
    assert at(m.expr.cases[0].pattern.span) == "{ a }"
    assert at(m.expr.cases[1].span) == "_ -> 0"
    lam = f.expr.args[1]
    assert at(lam.span) == "(v: Int) => v > 1"
    assert at(lam.params[0].span) == "v: Int"


def test_enclosing_spans_cover_parentheses():
    text = "x = (a + b) * c\ny = -(a)\nz = (f(y))[a].b\nout x\n"
    x, y, z = parse(text).decls[:3]
    at = lambda s: text[s.start:s.end]  # noqa: E731
    assert at(x.expr.span) == "(a + b) * c"
    assert at(x.expr.left.span) == "a + b"  # the node itself keeps its own span
    assert at(y.expr.span) == "-(a)"
    assert at(z.expr.span) == "(f(y))[a].b"
    assert at(x.span) == "x = (a + b) * c"
