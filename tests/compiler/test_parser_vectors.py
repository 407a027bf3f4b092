"""LANGUAGE.md §11.1: every lexing/parsing conformance vector is a test."""

from __future__ import annotations

import pytest

from constellation.compiler import ast
from constellation.compiler.parser import parse
from constellation.compiler.source import Source

VALID_OPTIONS = ("retry, timeout, delay, backoff, fallback, cache, cache_backend, throttle, "
                 "concurrency, on_error, lazy, priority, batch, batch_timeout, window, checkpoint, join")


def with_out(src: str) -> str:
    return src if "out " in src.split("\n")[-1] or src.startswith("out") else src + "\nout x"


def e020(src: str):
    result = parse(src)
    source = Source(src)
    return result, [(source.format_pos(d.span.start), d.message) for d in result.diagnostics
                    if d.code == "E020"]


def ok(src: str) -> ast.Decl:
    result, errors = e020(with_out(src))
    assert errors == [], errors
    return result.decls[0]


def bad(src: str, message: str | None = None, pos: str | None = None, *, add_out=True):
    _, errors = e020(with_out(src) if add_out else src)
    assert errors, f"expected E020 for {src!r}"
    if message is not None:
        assert errors[0][1] == message, errors
    if pos is not None:
        assert errors[0][0] == pos, errors
    return errors


def expr_of(src: str):
    decl = ok(src)
    assert isinstance(decl, ast.Assignment), decl
    return decl.expr


def shape(e) -> str:
    """Compact structural rendering for precedence checks."""
    if isinstance(e, ast.Var):
        return e.name.text
    if isinstance(e, ast.Literal):
        return repr(e.value)
    if isinstance(e, ast.Binary):
        return f"({shape(e.left)} {e.op} {shape(e.right)})"
    if isinstance(e, ast.Unary):
        return f"({e.op} {shape(e.operand)})"
    if isinstance(e, ast.Guard):
        return f"({shape(e.expr)} when {shape(e.cond)})"
    if isinstance(e, ast.If):
        return f"(if {shape(e.cond)} {shape(e.then)} else {shape(e.else_)})"
    if isinstance(e, ast.FieldAccess):
        return f"{shape(e.target)}.{e.field.text}"
    if isinstance(e, ast.Projection):
        return f"{shape(e.target)}[{', '.join(f.text for f in e.fields)}]"
    if isinstance(e, ast.Call):
        return f"{e.qualified}({', '.join(shape(a) for a in e.args)})"
    return type(e).__name__


def test_hyphenated_name_is_one_identifier():
    assert shape(expr_of("x = a-b")) == "a-b"


@pytest.mark.parametrize("src", ["x = a - b", "x = a -b", "x = a- b", "x = 5-3", "x = (y)-1"])
def test_subtraction(src):
    e = expr_of(src)
    assert isinstance(e, ast.Binary) and e.op == "-"


@pytest.mark.parametrize("src", ["x = -a", "x = -2.5", "x = -(a)", "x = - 2", "x = 2 * -3",
                                 "x = a - -b"])
def test_unary_minus(src):
    ok(src)


@pytest.mark.parametrize("src", ["x = 1.", "x = .5", "x = 007", "x = 00.5"])
def test_bad_numbers(src):
    bad(src)


def test_leading_zeros_message():
    bad("x = 00.5", "Leading zeros are not allowed: '00.5'", "1:5")
    bad("x = 007", "Leading zeros are not allowed: '007'", "1:5")


def test_int_range():
    assert expr_of("x = 9223372036854775807").value == 9223372036854775807
    lit = expr_of("x = -9223372036854775808")
    assert isinstance(lit, ast.Literal) and lit.value == -9223372036854775808
    bad("x = 9223372036854775808", "Integer literal out of range", "1:5")
    bad("x = -(9223372036854775808)", "Integer literal out of range")
    # option values are literals too (§1.4)
    bad('x = f("s") with retry: 9223372036854775808', "Integer literal out of range", "1:24")
    bad('x = f("s") with priority: -9223372036854775809', "Integer literal out of range", "1:28")
    ok('x = f("s") with priority: -9223372036854775808')


@pytest.mark.parametrize("src", ["x = a < b < c", "x = a == b == c"])
def test_chained_comparison(src):
    bad(src, "Comparison operators cannot be chained; combine them with 'and'")


@pytest.mark.parametrize("src, expected", [
    ("x = not a and b", "((not a) and b)"),
    ("x = a when b ?? c", "((a when b) ?? c)"),
    ("x = a ?? b ?? c", "(a ?? (b ?? c))"),
    ("x = a ?? b when c", "(a ?? (b when c))"),
    ("x = a when b or c", "(a when (b or c))"),
    ("x = not a == b", "(not (a == b))"),
    ("x = a or b and c", "(a or (b and c))"),
    ("x = -a * b", "((- a) * b)"),
    ("x = -x.f", "(- x.f)"),
    ("x = 1 + if (c) 2 else 3 + 4", "(1 + (if c 2 else (3 + 4)))"),
    ("x = (f(y))[a].b", "f(y)[a].b"),
])
def test_precedence(src, expected):
    assert shape(expr_of(src)) == expected


def test_double_guard():
    bad("x = a when b when c",
        "A guarded expression cannot be guarded again; combine the conditions with 'and'")


@pytest.mark.parametrize("src, brace", [("x = r{a, b}", True), ("x = r[a, b]", False)])
def test_projection(src, brace):
    e = expr_of(src)
    assert isinstance(e, ast.Projection) and e.brace is brace
    assert [f.text for f in e.fields] == ["a", "b"]


@pytest.mark.parametrize("src", ["x = r[0]", "x = r.5"])
def test_bad_projection_or_field(src):
    bad(src)


@pytest.mark.parametrize("src, name, nargs", [
    ("x = f (1)", "f", 1), ("x = f()", "f", 0), ("x = ns.sub.f(1)", "ns.sub.f", 1)])
def test_calls(src, name, nargs):
    e = expr_of(src)
    assert isinstance(e, ast.Call) and e.qualified == name and len(e.args) == nargs


@pytest.mark.parametrize("src", ["x = stdlib . math.add(1, 2)", "x = r . f", "x = r .f",
                                 "x = r. f"])
def test_spaced_dot(src):
    bad(src, "Whitespace is not allowed around '.'")


def test_with_comma_belongs_to_enclosing_call():
    e = expr_of("x = g(f(1) with retry: 1, y)")
    assert e.qualified == "g" and len(e.args) == 2
    assert [o.key.text for o in e.args[0].options] == ["retry"]


def test_with_comma_in_record():
    e = expr_of("x = { a: f(1) with retry: 1, b: 2 }")
    assert [n.text for n, _ in e.fields] == ["a", "b"]


@pytest.mark.parametrize("src, field, options", [
    ("x = { a: f(1) with retry: 1, timeout: 2s }", "a", ["retry", "timeout"]),
    ("x = { result: f(1) with retry: 1, priority: 5 }", "result", ["retry", "priority"]),
])
def test_option_named_field_continues_clause(src, field, options):
    e = expr_of(src)
    assert [n.text for n, _ in e.fields] == [field]
    assert [o.key.text for o in e.fields[0][1].options] == options


def test_parenthesised_call_keeps_fields():
    e = expr_of("x = { result: (f(1) with retry: 1), priority: 5 }")
    assert [n.text for n, _ in e.fields] == ["result", "priority"]


def test_plain_commas_without_with():
    e = expr_of("x = { a: 1, retry: 5 }")
    assert [n.text for n, _ in e.fields] == ["a", "retry"]
    e = expr_of("x = g(y, timeout)")
    assert len(e.args) == 2


def test_many_options():
    e = expr_of("x = f(1) with retry: 3, timeout: 5s, lazy, priority: -1")
    assert [(o.key.text, o.value.text if o.value else None) for o in e.options] == [
        ("retry", "3"), ("timeout", "5s"), ("lazy", None), ("priority", "-1")]
    assert e.options[3].value.kind == "int"


def test_nested_with_in_fallback_absorbs_options():
    e = expr_of("x = f(1) with fallback: g(2) with retry: 1, timeout: 5s")
    assert [o.key.text for o in e.options] == ["fallback"]
    inner = e.options[0].fallback
    assert [o.key.text for o in inner.options] == ["retry", "timeout"]


@pytest.mark.parametrize("src", [
    "x = f(1) with retry: -1", "x = f(1) with on_error: fail", "x = f(1) with cache: 5m",
    "x = f(1) with retry: 5s", "x = f(1) with retry: 1.5", "x = f(1) with timeout: 1.5s",
    "x = f(1) with priority: 2.5", "x = f(1) with lazy: yes", "x = f(1) with retry: 1, retry: 2",
    "x = f(1) with window: sliding(5s, 1s)", "x = f(1) with throttle: 10/1s",
])
def test_option_values_parse(src):
    ok(src)


def test_rate_with_spaces():
    bad("x = f(1) with throttle: 10 /1s", "Write a rate without spaces: 10/1s", "1:25")
    bad("x = f(1) with throttle: 10 / 1s", "Write a rate without spaces: 10/1s", "1:25")


def test_unknown_option():
    bad("x = f(1) with bogus: 1", f"Unknown option 'bogus' (valid options: {VALID_OPTIONS})",
        "1:15")


@pytest.mark.parametrize("src, pos", [
    ("x = f(1) with retry: 1, retri: 2", "1:25"),
    ("x = g(f(1) with retry: 1, retri: 2)", "1:27"),
])
def test_misspelt_option_after_comma(src, pos):
    bad(src, f"Unknown option 'retri' (valid options: {VALID_OPTIONS})", pos)


@pytest.mark.parametrize("src, fixes", [
    ("x = f(1) with retyr: 2", ["retry"]),
    ("x = f(1) with retry: 1, timout: 2s", ["timeout"]),
    ("x = f(1) with bogus: 1", []),
])
def test_unknown_option_offers_the_closest_keys(src, fixes):
    """The message is the catalogue's; the quick fixes replace the key (as for E002)."""
    (d,) = parse(src).diagnostics
    assert [f.title for f in d.fixes] == [f"Change to '{k}'" for k in fixes]
    for fix in d.fixes:
        (edit,) = fix.edits
        assert (edit.span.start, edit.span.end) == (d.span.start, d.span.end)


@pytest.mark.parametrize("src, text", [("x = 5min", "5min"), ("x = 1.5s", "1.5s")])
def test_durations_outside_options(src, text):
    bad(src, f"Unexpected '{text}': durations are only allowed in 'with' options", "1:5")


def test_branch_forms():
    e = expr_of("x = branch { otherwise -> 1 }")
    assert isinstance(e, ast.Branch) and e.arms == []
    e = expr_of("x = branch { c->1, otherwise->2 }")
    assert shape(e.arms[0][0]) == "c" and shape(e.otherwise) == "2"


def test_branch_errors():
    bad("x = branch { c -> 1 }", "A 'branch' must end with 'otherwise -> value'")
    bad("x = branch { otherwise -> 1, c -> 2 }", "'otherwise' must be the last arm of 'branch'")
    bad("x = branch { c -> 1, otherwise -> 2, }", "Trailing comma is not allowed")


def test_match_forms():
    e = expr_of("x = match (r.f) { _ -> 1 }")
    assert isinstance(e.subject, ast.FieldAccess)
    e = expr_of("x = match r { _->1 }")
    assert isinstance(e.cases[0].pattern, ast.WildcardPattern)


def test_match_subject_needs_parentheses():
    bad("x = match r.f { _ -> 1 }", "Wrap the subject in parentheses: match (r.f) { … }")


def test_case_pattern_name():
    bad("x = match r { y -> 1 }",
        "A case pattern must be '{ fields }', 'is Type' or '_', found 'y'", "1:15")


def test_if_forms():
    assert shape(expr_of("x = if (a) b else c")) == "(if a b else c)"
    bad("x = if a b else c", "Expected '(' after 'if', found 'a' (write: if (condition) a else b)",
        "1:8")
    bad("x = if (a) b", "Expected 'else' after the 'if' branch, found 'out'", "2:1")


@pytest.mark.parametrize("src", ["x = (y) => y", "x = () => 1", "x = (y: Int, z) => y",
                                 "x = 1 + ((y) => y)"])
def test_lambdas_parse(src):
    ok(src)


def test_lambda_params():
    e = expr_of("x = (y: Int, z) => y")
    assert isinstance(e, ast.Lambda)
    assert [p.name.text for p in e.params] == ["y", "z"]
    assert e.params[0].type.name.text == "Int" and e.params[1].type is None


@pytest.mark.parametrize("src", ["x = 1 + (y) => y", "x = a ?? (y) => y"])
def test_lambda_cannot_be_operand(src):
    bad(src)


def test_strings():
    assert expr_of('x = "cost: $5"').value == "cost: $5"
    e = expr_of('x = "${ y }"')
    assert isinstance(e, ast.Interpolation) and e.parts == ["", ""] and shape(e.exprs[0]) == "y"
    assert expr_of('x = "\\${y}"').value == "${y}"
    e = expr_of('x = "a${x}b${y}"')
    assert e.parts == ["a", "b", ""] and [shape(x) for x in e.exprs] == ["x", "y"]
    e = expr_of('x = "Balance: \\$${amount}"')
    assert e.parts == ["Balance: $", ""]
    e = expr_of('x = "${ {a: 1}.a }"')
    assert isinstance(e.exprs[0], ast.FieldAccess)


def test_interpolated_expression_spans_are_document_offsets():
    src = 'x = "ab${ y + 1 }"'
    e = expr_of(src)
    inner = e.exprs[0]
    assert src[inner.span.start:inner.span.end] == "y + 1"


@pytest.mark.parametrize("src, message", [
    ('x = "a\\qb"', "Unknown escape sequence '\\q' (valid: \\n \\t \\r \\\\ \\\" \\$)"),
    ('x = "${}"', "Expected an expression inside '${…}'"),
    ('x = "abc', "Unterminated string literal"),
    ('x = "${ y # c }"', "Unexpected character '#'"),
])
def test_bad_strings(src, message):
    bad(src, message)


def test_escape_span_is_two_characters():
    result = parse('x = "a\\qb"\nout x')
    d = result.diagnostics[0]
    assert (d.span.start, d.span.end) == (6, 8)


def test_hash_inside_nested_string():
    e = expr_of('x = "${ f("#") }"')
    assert e.exprs[0].args[0].value == "#"


def test_unexpected_character_and_trailing_comma():
    bad("x = a % b", "Unexpected character '%'", "1:7")
    bad("x = [1, 2,]", "Trailing comma is not allowed", "1:10")


@pytest.mark.parametrize("src", ["@example(1) @example(2) in v: Int\nout v",
                                 "@example(-100) in n: Int\nout n"])
def test_annotations_attach(src):
    decl = ok(src)
    assert isinstance(decl, ast.InputDecl) and decl.annotations


def test_annotation_after_input():
    bad("in v: Int @example(1)\ny = 2\nout y",
        "'@example' must be placed before the 'in' declaration it annotates", "1:11", add_out=False)


def test_annotation_after_input_has_move_fix():
    src = "in v: Int @example(1)\ny = 2\nout y"
    result = parse(src)
    (d,) = result.diagnostics
    (fix,) = d.fixes
    edited = src
    for edit in sorted(fix.edits, key=lambda e: -e.span.start):
        edited = edited[:edit.span.start] + edit.new_text + edited[edit.span.end:]
    assert edited.startswith("@example(1)\nin v: Int\n")
    assert parse(edited).diagnostics == []


def test_annotation_of_wrong_kind():
    bad("in v: Int\n@example(1) out v", "'@example' annotates an input: place it before 'in'",
        "2:1", add_out=False)
    bad("@sink(\"s\") in v: Int\nout v", "'@sink' annotates an output: place it before 'out'",
        "1:1", add_out=False)


def test_annotation_arguments():
    bad("@example(1, a: 2) in v: Int\nout v", "'@example' takes exactly one value", add_out=False)
    bad("@source(topic) in s: String\nout s",
        "'@source' takes a plain string first: @source(\"name\", key: value, …)", add_out=False)
    bad("@foo(1) in s: String\nout s",
        "Unknown annotation '@foo' (expected @example, @source or @sink)", add_out=False)


def test_source_with_reserved_key():
    decl = ok('@source("kafka", topic: "t", type: "json") in s: String\nout s')
    assert [k.text for k, _ in decl.annotations[0].kwargs] == ["topic", "type"]


@pytest.mark.parametrize("src, word", [
    ("in type: Int", "type"), ("x = r.type(1)", "type"), ("x = map(xs, (in) => 1)", "in"),
    ("use stdlib.in", "in")])
def test_reserved_words_as_names(src, word):
    bad(src, f"'{word}' is a reserved word and cannot be used as a name")


@pytest.mark.parametrize("src", [
    "x = r.type", "x = { in: 1 }", "x = r[type, in]", "x = r{in, out}",
    "x = match r { { type } -> 1 }", "type T = { type: String, in: Int }"])
def test_reserved_words_as_fields(src):
    ok(src)


def test_reserved_field_lines_are_not_declaration_starts():
    decls = ok_all("type E = {\ntype: String,\nin: Int\n}\nin e: E\nout e")
    assert [type(d).__name__ for d in decls] == ["TypeDecl", "InputDecl", "OutputDecl"]


def ok_all(src):
    result, errors = e020(src)
    assert errors == []
    return result.decls


def test_declarations_may_share_a_line():
    decls = ok_all("in x: Int out x")
    assert [type(d).__name__ for d in decls] == ["InputDecl", "OutputDecl"]


@pytest.mark.parametrize("src", ["", "x = 1", "in x: Int"])
def test_missing_output(src):
    _, errors = e020(src)
    assert errors == [(Source(src).format_pos(len(src)),
                       "A pipeline must declare at least one output ('out name')")]


@pytest.mark.parametrize("src", ["x = 1\nout x.y", "x = 1\nout f(x)", "x = 1\nout x{a}"])
def test_out_takes_a_bare_name(src):
    bad(src, add_out=False)


def test_union_of_merge():
    decl = ok("type T = A + B | C")
    assert isinstance(decl.type, ast.UnionTypeExpr)
    assert isinstance(decl.type.members[0], ast.MergeTypeExpr)


def test_negative_in_list():
    e = expr_of("x = [ -1, 2 ]")
    assert isinstance(e, ast.ListLit) and len(e.items) == 2


def test_recovery_unclosed_call():
    src = "result = Uppercase(text\n# c\nout result"
    result, errors = e020(src)
    assert errors == [("3:1", "Expected ',' or ')' after the argument, found 'out'")]
    (d,) = result.diagnostics
    assert d.related[0].message == "'(' opened here" and d.related[0].span.start == 18
    assert d.fixes[0].edits[0].span.start == 23 and d.fixes[0].edits[0].new_text == ")"
    assert isinstance(result.decls[0], ast.BrokenDecl) and result.decls[0].name.text == "result"
    assert isinstance(result.decls[1], ast.OutputDecl)


def test_recovery_missing_expression():
    result, errors = e020("x = \nout x")
    assert errors == [("2:1", "Expected an expression after '=', found 'out'")]


def test_recovery_two_errors():
    _, errors = e020("x = (1\ny = 2\nz = [\nout y")
    assert [pos for pos, _ in errors] == ["2:1", "4:1"]


def test_unterminated_string_resumes_at_next_declaration():
    result, errors = e020('x = "abc\ny = Uppercase(missing)\nout y')
    assert errors == [("1:5", "Unterminated string literal")]
    assert isinstance(result.decls[0], ast.BrokenDecl) and result.decls[0].name.text == "x"
    y = result.decls[1]
    assert isinstance(y, ast.Assignment) and y.expr.args[0].span.start == 23


def test_broken_heads_keep_names():
    result = parse("in x: \ntype T = \ny = (\nout y")
    names = [(d.name.text, d.space) for d in result.decls if isinstance(d, ast.BrokenDecl)]
    assert names == [("x", "value"), ("T", "type"), ("y", "value")]


def test_a_declaration_does_not_run_on_across_a_declaration_start():
    """`type` ⏎ `k = s`: the pieces are split at the declaration start `k =` (§2.3 hint 5), so
    `type` alone is an E020 and `k = s` an assignment, with spans inside their lines."""
    result = parse("type\nk = s\nout k\n")
    assert [(type(d).__name__, d.span.start, d.span.end) for d in result.decls] == [
        ("BrokenDecl", 0, 4), ("Assignment", 5, 10), ("OutputDecl", 11, 16)]
    (d,) = result.diagnostics
    assert (d.message, d.span.start) == ("Expected a name after 'type', found 'k'", 5)
