"""Conformance vectors of LANGUAGE.md §11.2 (checking) and §11.3 (order, duplicates, cycles).

Each program is written one item per line, as in the spec, so positions match it.
Expectations: `diags` lists (code, 'L:C' or None, message or None, exact?) for every reported
diagnostic in order; `types` gives binding types that must hold.
"""

from __future__ import annotations

import pytest

from compiler_support import analyze_program, diag_rows
from constellation.compiler.registry import Function, Registry
from constellation.compiler.types import INT, type_str


def program(*items: str) -> str:
    return "\n".join(items) + "\n"


def expect(analysis, diags=(), types=None):
    rows = diag_rows(analysis)
    assert len(rows) == len(diags), rows
    for (code, pos, message), want in zip(rows, diags):
        want_code, want_pos, want_message = (list(want) + [None, None])[:3]
        assert code == want_code, rows
        if want_pos is not None:
            assert pos == want_pos, rows
        if want_message is not None:
            if want_message.endswith("…"):
                assert message.startswith(want_message[:-1]), rows
            else:
                assert message == want_message, rows
    for name, printed in (types or {}).items():
        assert type_str(analysis.binding_types[name]) == printed


# -- §11.2 -----------------------------------------------------------------------------------

CHECKING = [
    ("int-add", ["in a: Int", "in b: Int", "c = a + b", "out c"], [], {"c": "Int"}),
    ("operators-without-use", ["use stdlib.math", "in a: Int", "c = a > 1", "out c"], [],
     {"c": "Boolean"}),
    ("tier-2", ["in a: Int", "c = add(a, 1)", "out c"], [], {"c": "Int"}),
    ("wildcard-suffix", ["use stdlib.math", "in a: Int", "c = math.add(a, 1)", "out c"],
     [("E004", "3:5", "Undefined namespace 'math'…")], None),
    ("alias-import", ["use stdlib.math as m", "in a: Int", "c = m.add(a, 1)", "out c"], [],
     {"c": "Int"}),
    ("case-suggestion", ['x = uppercase("a")', "out x"],
     [("E002", "1:5", "Undefined function 'uppercase'. Did you mean 'Uppercase'?")], None),
    ("hyphen-hint", ["in count: Int", "x = count-1", "out x"],
     [("E001", "2:5", "Undefined variable 'count-1'. Did you mean 'count - 1'?")], None),
    ("float-compare", ["in a: Float", "in b: Float", "c = a < b", "out c"], [],
     {"c": "Boolean"}),
    ("widening", ["in a: Int", "in b: Float", "c = a * b", "out c"], [], {"c": "Float"}),
    ("eq-unrelated", ["in a: Int", "in b: String", "c = a == b", "out c"],
     [("E013", "3:5", "Operator '==' is not supported for types Int and String")], None),
    ("plus-mixed", ["in a: Int", "in b: String", "c = a + b", "out c"],
     [("E014", "3:5", 'Operator \'+\' is not supported for types Int and String; use '
                      'interpolation: "${a}${b}"')], None),
    ("string-concat", ["in a: String", "in b: String", "c = a + b", "out c"], [],
     {"c": "String"}),
    ("bool-order", ["in a: Boolean", "c = a < true", "out c"],
     [("E013", "2:5", "Operator '<' is not supported for types Boolean and Boolean")], None),
    ("if-condition", ["in n: Int", "x = if (n) 1 else 2", "out x"],
     [("E010", "2:9", "Type mismatch: expected Boolean, got Int")], None),
    ("coalesce-mismatch", ["in o: Optional<Int>", 'x = o ?? "s"', "out x"],
     [("E010", "2:10", "Type mismatch: expected Int, got String")], None),
    ("coalesce-widen", ["in o: Optional<Int>", "x = o ?? 2.5", "out x"], [], {"x": "Float"}),
    ("coalesce-empty-list", ["in o: Optional<List<Int>>", "x = o ?? []", "out x"], [],
     {"x": "List<Int>"}),
    ("coalesce-non-optional", ["in i: Int", "x = i ?? 0", "out x"],
     [("E015", "2:5", "Left side of ?? must be Optional, got Int")], None),
    ("coalesce-optional-fallback",
     ["in o: Optional<Optional<Int>>", "in f: Optional<Int>", "x = o ?? f", "out x"], [],
     {"x": "Optional<Int>"}),
    ("missing-field", ["in r: { a: Int }", "x = r.b", "out x"],
     [("E007", "2:6", "Field 'b' not found in { a: Int } (available: a)")], None),
    ("reserved-fields", ["in r: { type: String, in: Int }", "x = r.type", "y = r[in]", "out x",
                         "out y"], [], {"x": "String", "y": "{ in: Int }"}),
    ("field-of-string", ["in s: String", "x = s.a", "out x"],
     [("E015", "2:5", "Field access requires a record, got String")], None),
    ("field-of-optional", ["in o: Optional<{ a: Int }>", "x = o.a", "out x"],
     [("E015", "2:5", "Field access requires a record, got Optional<{ a: Int }>; unwrap it "
                      "first with ??")], None),
    ("out-undefined", ["out x"], [("E001", "1:5", "Undefined variable 'x'")], None),
    ("undefined-type", ["in x: Foo", "out x"], [("E003", "1:7", "Undefined type 'Foo'")], None),
    ("undefined-generic", ["in x: Array<Int>", "out x"],
     [("E003", "1:7", "Undefined type 'Array'")], None),
    ("arity-type", ["in x: List<Int, Int>", "out x"],
     [("E003", "1:7", "Type 'List' expects 1 type argument, got 2")], None),
    ("map-key", ["in m: Map<Int, String>", "out m"],
     [("E015", None, "Map keys must be String, got Int")], None),
    ("non-exhaustive", ["type R = { a: Int } | { b: String }", "in r: R",
                        "x = match r { { a } -> a }", "out x"],
     [("E015", "3:5", "Non-exhaustive match on { a: Int } | { b: String }: no case for "
                      "{ b: String }")], None),
    ("pattern-mismatch", ["in r: { a: Int }", "x = match r { { z } -> 1 }", "out x"],
     [("E010", "2:15", "Pattern { z } cannot match type { a: Int }")], None),
    ("type-patterns", ["type Id = String | Int", "in id: Id",
                       'x = match id { is String -> "s", is Int -> "i" }', "out x"], [],
     {"x": "String"}),
    ("unreachable", ["in id: String | Int", "x = match id { _ -> 1, is Int -> 2 }", "out x"],
     [("W005", "2:24", "Unreachable case: '_' above matches everything")], {"x": "Int"}),
    ("fallback-mismatch", ["in s: String", "x = Uppercase(s) with fallback: 1", "out x"],
     [("E017", "2:33", "Fallback type mismatch: 'Uppercase' returns String but the fallback "
                       "is Int")], None),
    ("concurrency-zero", ["in s: String", "x = Uppercase(s) with concurrency: 0", "out x"],
     [("E016", "2:36", "Invalid value for 'concurrency': 0 (must be > 0)")], None),
    ("delay-without-retry", ["in s: String", "x = Uppercase(s) with delay: 1s", "out x"],
     [("W001", "2:23", "'delay' has no effect without 'retry'")], None),
    ("delay-with-retry-0", ["in s: String", "x = Uppercase(s) with retry: 0, delay: 1s", "out x"],
     [("W001", "2:33", "'delay' has no effect without 'retry'")], None),
    ("high-retry", ["in s: String", "x = Uppercase(s) with retry: 11", "out x"],
     [("W002", "2:30", "High retry count (11); consider fewer retries with exponential "
                       "backoff")], None),
    ("streaming", ["in s: String", "x = Uppercase(s) with batch: 10", "out x"],
     [("W003", "2:23", "'batch' is a streaming option and is ignored by this runtime")], None),
    ("duplicate-option", ["in s: String", "x = Uppercase(s) with retry: 1, retry: 2", "out x"],
     [("E019", "2:33", "Duplicate option 'retry' (first given at 2:23)")], None),
    ("wrap", ["in s: String", "x = Uppercase(s) with on_error: wrap", "out x"], [],
     {"x": "{ value: Optional<String>, error: Optional<String> }"}),
    ("lambda-binding", ["x = (y) => y", "out x"], [("E015", "1:5", "A lambda can only be passed "
     "to a function that expects one, such as filter, map, all or any")], None),
    ("lambda-annotated", ["x = (y: Int) => y", "out x"], [("E015", "1:5", "A lambda can only…")],
     None),
    ("lambda-operand", ["x = 1 + ((y) => y)", "out x"], [("E015", None, "A lambda can only…")],
     None),
    ("lambda-arity", ["in xs: List<Int>", "y = filter(xs, (a, b) => true)", "out y"],
     [("E015", "2:16", "The lambda has 2 parameters but 'filter' passes 1")], None),
    ("map-binds-u", ["in xs: List<Int>", "y = map(xs, (a) => a > 1)", "out y"], [],
     {"y": "List<Boolean>"}),
    ("closure", ["in xs: List<Int>", "in t: Int", "y = filter(xs, (a) => a > t)", "out y"], [],
     {"y": "List<Int>"}),
    ("lambda-neq", ["in xs: List<Int>", "y = filter(xs, (a) => a != 1)", "out y"], [],
     {"y": "List<Int>"}),
    ("lambda-call-options",
     ["in xs: List<String>", "y = map(xs, (s) => Uppercase(s) with retry: 1)", "out y"], [],
     {"y": "List<String>"}),
    ("list-first-int", ["in xs: List<Int>", "x = list-first(xs)", "out x"], [], {"x": "Int"}),
    ("list-first-string", ["in xs: List<String>", "x = list-first(xs)", "out x"], [],
     {"x": "String"}),
    ("list-contains-widen", ["in xs: List<Int>", "x = list-contains(xs, 2.5)", "out x"], [],
     {"x": "Boolean"}),
    ("candidates-lift", ["in c: Candidates<{ a: Int }>", "x = SumList(c.a)", "out x"], [],
     {"x": "Int"}),
    ("list-merge", ["in xs: List<{ a: Int }>", "in ys: List<{ b: Int }>", "z = xs + ys",
                    "out z"], [], {"z": "List<{ a: Int, b: Int }>"}),
    ("merge-record-int", ["in r: { a: Int }", "x = r + 1", "out x"],
     [("E012", "2:5", "Cannot merge { a: Int } + Int\n'+' merges records, lists of records, or "
                      "a list of records with a record")], None),
    ("merge-type-int", ["type T = Int + { a: Int }", "in t: T", "out t"],
     [("E012", "1:10", "Cannot merge Int + { a: Int }…")], None),
    ("unary-string", ['x = -"s"', "out x"],
     [("E014", "1:5", "Operator '-' is not supported for type String")], None),
    ("if-union", ['x = if (true) 1 else "a"', "out x"], [], {"x": "Int | String"}),
    ("list-widen", ["x = [1, 2.0]", "out x"], [], {"x": "List<Float>"}),
    ("merge-right-wins", ["in p: { a: Int, b: Int }", 'q = p + { b: "s" }', "out q"], [],
     {"q": "{ a: Int, b: String }"}),
    ("example-widens", ["@example(42) in f: Float", "out f"], [], {"f": "Float"}),
    ("example-mismatch", ['@example("x") in f: Int', "out f"],
     [("E010", "1:10", "Type mismatch: expected Int, got String")], None),
    ("example-not-constant", ["in a: Int", "@example(a) in b: Int", "out b"],
     [("E015", "2:10", "An @example value must be a constant (no variables or function "
                       "calls)")], None),
    ("independent-errors", ["in u: String", "x = UnknownModule(u)", "y = Uppercase(missing)",
                            "out x"],
     [("E002", "2:5", "Undefined function 'UnknownModule'…"),
      ("E001", "3:15", "Undefined variable 'missing'")], None),
    ("duplicate-field", ["x = { a: 1, a: 2 }", "out x"],
     [("E030", "1:13", "Duplicate field 'a'")], None),
    ("builtin-redefinition", ["type String = Int", "out x", "x = 1"],
     [("E030", "1:6", "'String' is a built-in type and cannot be redefined")], None),
    ("source-ignored", ['@source("kafka", topic: "t") in s: String', "out s"],
     [("W004", "1:1", "'@source' is ignored by this runtime")], None),
]


@pytest.mark.parametrize("lines, diags, types", [c[1:] for c in CHECKING],
                         ids=[c[0] for c in CHECKING])
def test_checking_vectors(lines, diags, types):
    expect(analyze_program(program(*lines)), diags, types)


def test_int_add_with_the_empty_registry():
    a = analyze_program(program("in a: Int", "in b: Int", "c = a + b", "out c"), "empty")
    expect(a, [], {"c": "Int"})


def _geo_text_registry() -> Registry:
    return Registry([Function("distance", "geo", (("a", INT), ("b", INT)), INT),
                     Function("distance", "text", (("a", INT), ("b", INT)), INT)])


def test_ambiguous_function_and_its_resolution_by_use():
    a = analyze_program(program("x = distance(1, 2)", "out x"), registry=_geo_text_registry())
    expect(a, [("E005", "1:5", "Ambiguous function 'distance': candidates are geo.distance, "
                               "text.distance")])
    assert [f.title for f in a.diagnostics[0].fixes] == ["Use 'geo.distance'",
                                                         "Use 'text.distance'"]
    b = analyze_program(program("use geo", "x = distance(1, 2)", "out x"),
                        registry=_geo_text_registry())
    expect(b, [], {"x": "Int"})


# -- §11.3 -----------------------------------------------------------------------------------

ORDER = [
    ("out-first", ["out y", "y = 5"], []),
    ("use-before-definition", ["b = a + 1", "a = 2", "out b"], []),
    ("input-after-use", ["x = Trim(s)", "in s: String", "out x"], []),
    ("use-after-call", ["x = m.trim(s)", "in s: String", "use stdlib.string as m", "out x"], []),
    ("rebound-input", ["in x: Int", "x = x + 1", "out x"],
     [("E030", "2:1", "Duplicate definition of 'x' (first defined at 1:4)")]),
    ("input-then-assignment", ["in a: Int", "out a", "a = 5"], [("E030", "3:1")]),
    ("two-assignments", ["x = 1", "x = 2", "out x"], [("E030", "2:1")]),
    ("two-inputs", ["in x: Int", "in x: String", "out x"], [("E030", "2:4")]),
    ("two-types", ["type T = Int", "type T = String", "in t: T", "out t"], [("E030", "2:6")]),
    ("two-aliases", ["use stdlib.math as m", "use stdlib.string as m", "x = 1", "out x"],
     [("E030", "2:22")]),
    ("self-cycle", ["x = x + 1", "out x"], [("E031", "1:1", "Circular dependency: x -> x")]),
    ("two-cycle", ["a = b + 1", "b = a + 1", "out a"],
     [("E031", "1:1", "Circular dependency: a -> b -> a"),
      ("E031", "2:1", "Circular dependency: b -> a -> b")]),
    ("three-cycle", ["a = b", "b = c", "c = a", "out a"],
     [("E031", "1:1", "Circular dependency: a -> b -> c -> a"),
      ("E031", "2:1", "Circular dependency: b -> c -> a -> b"),
      ("E031", "3:1", "Circular dependency: c -> a -> b -> c")]),
    ("cycle-consumer", ["a = b", "b = a", "c = a + 1", "out c"],
     [("E031", "1:1"), ("E031", "2:1")]),
    ("cycle-and-duplicate", ["x = x + 1", "x = 2", "out x"], [("E031", "1:1"), ("E030", "2:1")]),
    ("lambda-capture-cycle", ["in xs: List<Int>", "ys = map(xs, (v) => v + k)",
                              "k = list-length(ys)", "out ys"],
     [("E031", "2:1", "Circular dependency: ys -> k -> ys"),
      ("E031", "3:1", "Circular dependency: k -> ys -> k")]),
    ("parameter-shadows", ["in xs: List<Int>", "ys = map(xs, (k) => k + 1)", "k = 5", "out ys"],
     []),
    ("alias-cycle", ["type A = { b: B }", "type B = { a: A }", "in x: A", "out x"],
     [("E031", "1:6", "Circular dependency: A -> B -> A"),
      ("E031", "2:6", "Circular dependency: B -> A -> B")]),
    ("repeated-out", ["in a: Int", "out a", "out a"],
     [("W006", "3:5", "Output 'a' is already declared at 2:1")]),
]


@pytest.mark.parametrize("lines, diags", [c[1:] for c in ORDER], ids=[c[0] for c in ORDER])
def test_order_duplicate_and_cycle_vectors(lines, diags):
    expect(analyze_program(program(*lines)), diags)


def test_order_independence_of_types_and_diagnostics():
    items = ["b = a + 1", "a = 2", "in s: String", "x = Trim(s) + t", "out b", "out x",
             "t = Uppercase(s)"]
    first = analyze_program(program(*items))
    second = analyze_program(program(*reversed(items)))
    assert {k: type_str(v) for k, v in first.binding_types.items()} == \
        {k: type_str(v) for k, v in second.binding_types.items()}
    assert first.valid and second.valid


def test_cycle_related_information_points_at_each_reference():
    a = analyze_program(program("a = b + 1", "b = a + 1", "out a"))
    first = a.diagnostics[0]
    assert [(a.source.format_pos(r.span.start), r.message) for r in first.related] == \
        [("1:5", "'b' is used here"), ("2:5", "'a' is used here")]


def test_duplicate_related_points_at_first_definition():
    a = analyze_program(program("in x: Int", "x = x + 1", "out x"))
    (d,) = a.diagnostics
    assert a.source.format_pos(d.related[0].span.start) == "1:4"
    # the duplicate's `x` resolves to the input: a reference, not a cycle
    assert a.symbols.values["x"].decl.__class__.__name__ == "InputDecl"


def test_rows_with_run_results_type_check():
    a = analyze_program(program("b = a + 1", "a = 2", "out b"))
    assert type_str(a.binding_types["b"]) == "Int"


# -- suppression of consequences (§5.1) and completeness of the tables ------------------------

@pytest.mark.parametrize("lines, codes", [
    (["x = (1", "y = x + 1", "z = x.a.b ?? 3", "out y"], ["E020"]),
    (["x = missing", "y = list-first(x) ?? 1", "z = y.a", "out z"], ["E001"]),
    (["a = b", "b = a", "c = a + 1", "d = Uppercase(c)", "e = c.f", "out e"], ["E031", "E031"]),
    (["in xs: List<Int>", "y = list-first(nope)", "z = y ?? 1", "w = z + \"s\"", "out w"],
     ["E001"]),
    (["in x: Foo", "y = x + 1", "z = x.a", "out z"], ["E003"]),
    (["x = Unknown(1)", "y = x.a + 1", "z = Uppercase(y)", "out z"], ["E002"]),
    (["type A = B", "type B = A", "in a: A", "x = a.f + 1", "out x"], ["E031", "E031"]),
])
def test_errors_cause_no_further_diagnostics(lines, codes):
    a = analyze_program(program(*lines))
    assert [d.code for d in a.diagnostics] == codes, [(d.code, d.message) for d in a.diagnostics]


def test_duplicate_lambda_parameters():
    from constellation.compiler.types import BOOLEAN, FunctionT

    reg = Registry([Function("Pairs", None, (("p", FunctionT((INT, INT), BOOLEAN)),), BOOLEAN)])
    a = analyze_program(program("x = Pairs((v, v) => true)", "out x"), registry=reg)
    assert [(d.code, d.message) for d in a.diagnostics] == \
        [("E030", "Duplicate definition of 'v' (first defined at 1:12)")]


def _expressions(node):
    """Every expression node under a declaration (annotation keyword values excluded: they are
    not checked, §3.4)."""
    from constellation.compiler import ast

    kinds = (ast.Var, ast.Literal, ast.Interpolation, ast.ListLit, ast.RecordLit,
             ast.FieldAccess, ast.Projection, ast.Unary, ast.Binary, ast.Guard, ast.If,
             ast.Branch, ast.Match, ast.Lambda, ast.Call)
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Annotation):
            if current.name.text == "example":
                stack.extend(current.args)
            continue
        if isinstance(current, kinds):
            yield current
        stack.extend(ast.children(current))


def test_every_expression_of_the_corpus_has_a_type_and_every_name_a_symbol():
    from compiler_support import corpus_dir
    from constellation.compiler import ast
    import json

    path = corpus_dir() / "expected.json"
    if not path.is_file():
        pytest.skip(f"corpus not found at {corpus_dir()}")
    for entry in json.loads(path.read_text(encoding="utf-8")):
        if not entry["valid"]:
            continue
        a = analyze_program((corpus_dir() / entry["path"]).read_text(encoding="utf-8"),
                            entry["needs"])
        for decl in a.decls:
            for e in _expressions(decl):
                assert id(e) in a.check.expr_types, (entry["path"], e)
                if isinstance(e, ast.Var):
                    assert id(e) in a.check.var_symbols, (entry["path"], e.name.text)
                if isinstance(e, ast.Call):
                    assert id(e) in a.check.call_targets and id(e) in a.check.call_options


def test_symbols_record_definitions_and_references():
    a = analyze_program(program("type T = { a: Int }", "in t: T", "use stdlib.list as l",
                                "n = l.list-length(map([t], (v) => v.a))", "out n"))
    assert a.valid
    t_sym = a.symbols.values["t"]
    assert [a.source.format_pos(s.start) for s in t_sym.references] == ["4:24"]
    assert [a.source.format_pos(s.start) for s in a.symbols.types["T"].references] == ["2:7"]
    assert [a.source.format_pos(s.start)
            for s in a.symbols.namespace_aliases["l"].references] == ["4:5"]
    (param,) = [s for s in a.symbols.locals if s.kind == "param"]
    assert (param.name, type_str(param.type), len(param.references)) == ("v", "{ a: Int }", 1)
    found = a.symbols.symbol_at(a.source.offset(4, 35))
    assert found is not None and found[1] is param
    assert a.check.examples == {}


def test_examples_are_evaluated_and_coerced():
    a = analyze_program(program('@example(42) @example(-2 * 3) in f: Float',
                                '@example({ a: 1, b: "x" }) in r: { a: Int }',
                                '@example("n=${1 + 1}") in s: String', "out f", "out r", "out s"))
    assert a.valid
    assert a.check.examples == {"f": [42.0, -6.0], "r": [{"a": 1}], "s": ["n=2"]}


@pytest.mark.parametrize("lines, codes", [
    (["y = map(nope, (v) => v + 1)", "out y"], ["E001"]),
    (["y = filter([nope], (v) => v > 1)", "out y"], ["E001"]),
    (["use stdlib as s", "x = s.nope.add(1, 2)", "out x"], ["E004"]),
    (["use stdlib as s", "x = s.math.ad(1, 2)", "out x"], ["E002"]),
])
def test_lambda_and_alias_consequences(lines, codes):
    a = analyze_program(program(*lines))
    assert [d.code for d in a.diagnostics] == codes, [(d.code, d.message) for d in a.diagnostics]


def _only_call_options(a):
    (options,) = a.check.call_options.values()
    return options


def test_call_options_are_typed_values():
    a = analyze_program(program(
        "in s: String",
        'x = Uppercase(s) with retry: 2, delay: 10ms, backoff: exponential, timeout: 2s, '
        'cache: 1h, cache_backend: "redis", throttle: 5/1min, concurrency: 2, on_error: log, '
        'lazy, priority: high, fallback: "z"',
        "out x"))
    assert a.valid and a.diagnostics == []
    o = _only_call_options(a)
    assert (o.retry, o.delay_ms, o.backoff, o.timeout_ms, o.cache_ms, o.cache_backend) == \
        (2, 10, "exponential", 2000, 3_600_000, "redis")
    assert (o.throttle, o.concurrency, o.on_error, o.lazy, o.priority) == \
        ((5, 60_000), 2, "log", True, 80)
    assert o.fallback is not None and a.source.text[o.fallback.span.start:o.fallback.span.end] \
        == '"z"'


@pytest.mark.parametrize("clause, field, value", [
    ("priority: -1", "priority", 0), ("priority: 250", "priority", 100),
    ("priority: background", "priority", 0), ("lazy: false", "lazy", False),
    ("lazy: true", "lazy", True), ("retry: 0", "retry", 0), ("timeout: 1d", "timeout_ms", 86_400_000),
])
def test_option_values(clause, field, value):
    a = analyze_program(program("in s: String", f"x = Uppercase(s) with {clause}", "out x"))
    assert getattr(_only_call_options(a), field) == value


def test_unresolved_calls_still_validate_their_options_but_have_no_entry():
    a = analyze_program(program("x = Nope(1) with retry: -1", "out x"))
    assert [d.code for d in a.diagnostics] == ["E002", "E016"]
    assert a.check.call_options == {}


@pytest.mark.parametrize("lines, diags, types", [
    # checking mode pushes the parameter type into list elements and record fields
    (["x = SumList([1, 2.5, 3])", "out x"],
     [("E010", "1:17", "Type mismatch: expected Int, got Float (argument 'numbers' of "
                       "'SumList')")], {"x": "Int"}),
    (["x = SumList([])", "out x"], [], {"x": "Int"}),
    (["in c: Boolean", "x = Uppercase(if (c) \"a\" else 1)", "out x"],
     [("E010", "2:31", "Type mismatch: expected String, got Int (argument 'text' of "
                       "'Uppercase')")], None),
    (["x = list-length([{ a: 1 }, { a: 2, b: 3 }])", "out x"], [], {"x": "Int"}),
    (["type P = { a: Int }", "type Q = P + { b: String }", "in q: Q", "out q"], [],
     {"q": "{ a: Int, b: String }"}),
    (["type P = { a: Int }", "type U = P | String", "in u: U",
      "x = match u { is P -> 1, is String -> 2 }", "out x"], [], {"x": "Int"}),
    (["in u: Int | String", "x = match u { is Float -> 1, _ -> 2 }", "out x"],
     [("E010", "2:15", "Pattern is Float cannot match type Int | String")], None),
    (["in u: Int | String", "x = match u { is Nope -> 1, _ -> 2 }", "out x"],
     [("E003", "2:18", "Undefined type 'Nope'")], None),
    (["in r: { a: Int } | { a: Float, b: Int }", "x = match r { { a } -> a }", "out x"], [],
     {"x": "Float"}),
    (["in xs: List<Int>", "y = map(xs, (v) => { n: v, s: \"${v}\" })", "z = y.s", "out z"], [],
     {"z": "List<String>"}),
    (["in xs: List<Int>", "y = map(xs, (v) => map([v], (w) => w > v))", "out y"], [],
     {"y": "List<List<Boolean>>"}),
    (["in xs: List<Int>", "in n: Int", "y = filter(xs, (v) => v > n) with retry: 1", "out y"],
     [], {"y": "List<Int>"}),
    (["in o: Optional<Int>", "in c: Boolean", "x = (o ?? 0) when c", "y = x ?? -1", "out y"], [],
     {"x": "Optional<Int>", "y": "Int"}),
    (["x = branch { 1 > 2 -> 1, 3 -> 2, otherwise -> 2.5 }", "out x"],
     [("E010", "1:26", "Type mismatch: expected Boolean, got Int")], {"x": "Float"}),
    (["x = { a: 1 } == { a: 1.5 }", "y = [1] != []", "out x", "out y"], [],
     {"x": "Boolean", "y": "Boolean"}),
    (["in xs: List<Int>", "y = map(xs, (v) => v) + 1", "out y"],
     [("E014", "2:5", "Operator '+' is not supported for types List<Int> and Int")], None),
    (["x = stdlib.identity(\"a\")", "use stdlib", "y = identity(x)", "out y"], [],
     {"y": "String"}),
])
def test_more_checking(lines, diags, types):
    expect(analyze_program(program(*lines)), diags, types)
