"""§2.5: the human messages of syntax errors, their spans, related information and fixes;
and the token classes `tokenize` gives editors."""

from __future__ import annotations

import pytest

from constellation.compiler.lexer import tokenize
from constellation.compiler.parser import parse, parse_expression
from constellation.compiler.source import Source


def first_error(src: str):
    result = parse(src)
    errors = [d for d in result.diagnostics if d.code == "E020"]
    assert errors, src
    return errors[0], Source(src)


@pytest.mark.parametrize("src, pos, message", [
    ("x = \nout x", "2:1", "Expected an expression after '=', found 'out'"),
    ("x = [1, 2\nout x", "2:1", "Expected ',' or ']' after the element, found 'out'"),
    ("x = { a: 1\nout x", "2:1", "Expected ',' or '}' after the field, found 'out'"),
    ("x = r{a, b\nout x", "2:1", "Expected ',' or '}' after the field name, found 'out'"),
    ("x = r[a, b\nout x", "2:1", "Expected ',' or ']' after the field name, found 'out'"),
    ("in x: =\nout x", "1:7", "Expected a type after ':', found '='"),
    ("in x:\nout x", "2:1", "Expected a type after ':', found 'out'"),
    ("x = f(1) with\nout x", "2:1", "Expected an option after 'with', found 'out'"),
    ("x = f(1) with 5\nout x", "1:15", "Expected an option after 'with', found '5'"),
    ("5\nout x", "1:1", "Expected a declaration (type, in, out, use, an annotation, or name = "
                       "expression), found '5'"),
    ("x 5\nout x", "1:3", "Expected '=' after 'x', found '5'"),
    ('x = "a" "b"\nout x', "1:9", "Expected a declaration (type, in, out, use, an annotation, "
                                  "or name = expression), found a string"),
    ("x = (1\ny = 2\nout y", "2:1", "Expected ')' after the expression, found 'y'"),
    ("x = f(1", "1:8", "Expected ',' or ')' after the argument, found end of file"),
    ("x = r.\nout x", "1:6", "Whitespace is not allowed around '.'"),
    ("x = a.5\nout x", "1:7", "Expected a field name after '.', found '5'"),
    ("use a.b as\nout x", "2:1", "Expected a name after 'as', found 'out'"),
    ("out x.y", "1:6", "'out' takes a single name, found '.'"),
    ("x = @\nout x", "1:5", "Expected an annotation name directly after '@' (@example, @source "
                            "or @sink)"),
])
def test_messages(src, pos, message):
    d, source = first_error(src)
    assert (source.format_pos(d.span.start), d.message) == (pos, message)


def test_zero_width_span_at_end_of_file():
    d, _ = first_error("x = f(1")
    assert d.span.start == d.span.end == 7


def test_unclosed_bracket_related_and_fix():
    src = "x = { a: [1, 2\nout x"
    d, source = first_error(src)
    assert d.message == "Expected ',' or ']' after the element, found 'out'"
    assert [(source.format_pos(r.span.start), r.message) for r in d.related] == [
        ("1:10", "'[' opened here")]
    (fix,) = d.fixes
    assert fix.title == "Insert ']'"
    (edit,) = fix.edits
    assert (edit.span.start, edit.span.end, edit.new_text) == (14, 14, "]")


def test_one_error_per_declaration_and_recovery_continues():
    src = "a = (1 +\nb = [\nc = 3\nout c"
    result = parse(src)
    assert [(Source(src).format_pos(d.span.start), d.message) for d in result.diagnostics] == [
        ("2:1", "Expected an expression after '+', found 'b'"),
        ("3:1", "Expected an expression or ']' after '[', found 'c'")]
    assert [type(d).__name__ for d in result.decls] == [
        "BrokenDecl", "BrokenDecl", "Assignment", "OutputDecl"]


def test_messages_never_name_terminals():
    for src in ["x = )", "in x: List<", "type T = {a Int}", "x = f(1) with retry 1",
                "x = match r { }", "x = (a b) => a", "@example in x: Int"]:
        for d in parse(src + "\nout x").diagnostics:
            assert not any(word in d.message for word in
                           ("IDENT", "RPAR", "LPAR", "$END", "Token", "OPT_", "LAMBDA"))


def test_parse_expression():
    expr, diags = parse_expression("a + b * 2")
    assert diags == [] and expr.op == "+"
    expr, diags = parse_expression("a +")
    assert expr is None and diags[0].message == "Expected an expression after '+', found end of file"


def test_token_kinds():
    src = ('use stdlib\n@example("hi") in s: String # c\n'
           'x = Uppercase(s) with retry: 2, timeout: 5s, lazy\nout x\n')
    kinds = {src[t.start:t.end]: t.kind for t in tokenize(src)}
    assert kinds["use"] == "keyword" and kinds["in"] == "keyword" and kinds["out"] == "keyword"
    assert kinds["@"] == "annotation" and kinds["example"] == "annotation"
    assert kinds['"hi"'] == "string"
    assert kinds["String"] == "type"
    assert kinds["# c"] == "comment"
    assert kinds["Uppercase"] == "name" and kinds["s"] == "name"
    assert kinds["retry"] == "option" and kinds["timeout"] == "option" and kinds["lazy"] == "option"
    assert kinds["2"] == "number" and kinds["5s"] == "duration"
    assert kinds["="] == "operator" and kinds["("] == "punctuation" and kinds[","] == "punctuation"


def test_tokenize_interpolation_and_bad_input():
    src = 'x = "a ${ n + 1 } b" % "open'
    toks = tokenize(src)
    assert [src[t.start:t.end] for t in toks if t.kind == "number"] == ["1"]
    assert any(t.kind == "string" and src[t.start:t.end].startswith('"a') for t in toks)
    assert any(t.kind == "string" and src[t.start:t.end] == '"open' for t in toks)


@pytest.mark.parametrize("src, message", [
    ("x = (e).f(1)", "Only a function name can be called (there are no methods), found '('"),
    ("x = r[0]", "Expected a field name after '[', found '0'"),
    ("x = match r { }", "Expected a case ('{ fields } -> value', 'is Type -> value' or "
                        "'_ -> value') after '{', found '}'"),
    ("x = branch { c -> 1 otherwise -> 2 }", "Expected ',' after the 'branch' arm, found 'otherwise'"),
])
def test_messages_inside_constructs(src, message):
    d, _ = first_error(src + "\nout x")
    assert d.message == message


@pytest.mark.parametrize("word", ["in", "type", "out", "use"])
def test_reserved_word_bound_with_equals(word):
    d, source = first_error(f"{word} = 5\nout x")
    assert (source.format_pos(d.span.start), d.message) == (
        "1:1", f"'{word}' is a reserved word and cannot be used as a name")


def test_type_context_ends_at_the_next_declaration():
    src = "type T = { type: String, n: Int }\nx = Trim(s)\nin a: List<T> out a\ny = f((v: Int) => v)\n"
    kinds = [(src[t.start:t.end], t.kind) for t in tokenize(src)]
    assert ("T", "type") in kinds and ("String", "type") in kinds and ("List", "type") in kinds
    assert ("x", "name") in kinds and ("Trim", "name") in kinds and ("a", "name") in kinds
    assert ("y", "name") in kinds and kinds.count(("Int", "type")) == 2
    assert ("n", "name") in kinds
