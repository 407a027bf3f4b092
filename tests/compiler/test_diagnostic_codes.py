"""One test per diagnostic code (LANGUAGE.md §8.4, §8.5): code, message, span and fixes."""

from __future__ import annotations

import pytest

from compiler_support import analyze_program
from constellation.compiler import checker as checker_module
from constellation.compiler.checking import inference, resolution


def only(text: str, preset: str = "stdlib+examples"):
    """The single diagnostic of a program, with its analysis."""
    a = analyze_program(text, preset)
    assert len(a.diagnostics) == 1, [(d.code, d.message) for d in a.diagnostics]
    return a, a.diagnostics[0]


def span_of(a, d) -> tuple[str, str]:
    return a.source.format_pos(d.span.start), a.source.format_pos(d.span.end)


def apply_fix(a, fix) -> str:
    text = a.text
    for edit in sorted(fix.edits, key=lambda e: e.span.start, reverse=True):
        text = text[:edit.span.start] + edit.new_text + text[edit.span.end:]
    return text


def test_e001_undefined_variable_with_suggestion():
    a, d = only("in total: Int\nx = totl + 1\nout x\n")
    assert (d.code, d.message) == ("E001", "Undefined variable 'totl'. Did you mean 'total'?")
    assert span_of(a, d) == ("2:5", "2:9")
    assert apply_fix(a, d.fixes[0]) == "in total: Int\nx = total + 1\nout x\n"


def test_e001_hyphen_split_fix_and_type_name_output():
    a, d = only("in count: Int\nx = count-1\nout x\n")
    assert apply_fix(a, d.fixes[0]) == "in count: Int\nx = count - 1\nout x\n"
    a, d = only("type T = Int\nin t: T\nout T\n")
    assert (d.code, d.message, span_of(a, d)) == ("E001", "'T' is a type, not a value",
                                                  ("3:5", "3:6"))


def test_e002_undefined_function_and_namespace_alias():
    a, d = only('x = Uppercse("a")\nout x\n')
    assert (d.code, d.message) == ("E002", "Undefined function 'Uppercse'. Did you mean "
                                           "'Uppercase'?")
    assert span_of(a, d) == ("1:5", "1:13")
    a, d = only('use stdlib.string as s\nx = s("a")\nout x\n')
    assert (d.code, d.message) == ("E002", "'s' is a namespace alias, not a function")
    a, d = only('x = stdlib.string.trimm("a")\nout x\n')
    assert d.code == "E002" and d.message.startswith("Undefined function 'stdlib.string.trimm'")


def test_e002_suggests_an_ambiguous_simple_name_qualified():
    """§8.3: the distance is to the simple name; a name two namespaces share is offered
    qualified, once per namespace."""
    from constellation.compiler.registry import Function, Registry
    from constellation.compiler.stdlib import stdlib_functions
    from constellation.compiler.types import FLOAT

    twins = [Function("distance", ns, (("a", FLOAT), ("b", FLOAT)), FLOAT) for ns in ("geo", "text")]
    a = analyze_program("x = distanc(1, 2)\nout x\n", registry=Registry(stdlib_functions() + twins))
    (d,) = a.diagnostics
    assert (d.code, d.message) == ("E002", "Undefined function 'distanc'. Did you mean "
                                           "'geo.distance' or 'text.distance'?")
    assert [apply_fix(a, f).splitlines()[0] for f in d.fixes] == [
        "x = geo.distance(1, 2)", "x = text.distance(1, 2)"]


def test_e003_undefined_type_suggests_aliases_and_builtins():
    a, d = only("in x: Strng\nout x\n")
    assert (d.code, d.message) == ("E003", "Undefined type 'Strng'. Did you mean 'String'?")
    assert span_of(a, d) == ("1:7", "1:12")
    a, d = only("in x: Optinal<Int>\nout x\n")  # with type arguments too; the fix keeps them
    assert (d.code, d.message) == ("E003", "Undefined type 'Optinal'. Did you mean 'Optional'?")
    assert apply_fix(a, d.fixes[0]).splitlines()[0] == "in x: Optional<Int>"
    a, d = only("in x: Strin<Int>\nout x\n")  # String takes no arguments: not offered
    assert (d.message, d.fixes) == ("Undefined type 'Strin'", ())
    a, d = only("in x: List\nout x\n")
    assert d.message == "Type 'List' needs 1 type argument"
    a, d = only("in x: Int<String>\nout x\n")
    assert d.message == "Type 'Int' does not take type arguments"


def test_e004_undefined_namespace_in_use_and_call():
    a, d = only("use stdlib.maths\nx = 1\nout x\n")
    assert (d.code, d.message) == ("E004", "Undefined namespace 'stdlib.maths'. Did you mean "
                                           "'stdlib.math'?")
    assert span_of(a, d) == ("1:5", "1:17")
    a, d = only("use stdlib.math\nin a: Int\nc = math.add(a, 1)\nout c\n")
    assert d.message == ("Undefined namespace 'math'; write add(…), stdlib.math.add(…), or use "
                         "stdlib.math as math")
    assert span_of(a, d) == ("3:5", "3:9")
    assert apply_fix(a, d.fixes[0]).splitlines()[2] == "c = stdlib.math.add(a, 1)"
    a, d = only("in r: String\nx = r.trim(1)\nout x\n")
    assert d.message == "Undefined namespace 'r'; 'r' is a value; there is no method-call syntax"


def test_e005_ambiguous_function(registry_for):
    from constellation.compiler.registry import Function, Registry
    from constellation.compiler.types import STRING

    reg = Registry([Function("f", "a", (("x", STRING),), STRING),
                    Function("f", "b", (("x", STRING),), STRING)])
    a = analyze_program('x = f("s")\nout x\n', registry=reg)
    (d,) = a.diagnostics
    assert (d.code, d.message) == ("E005", "Ambiguous function 'f': candidates are a.f, b.f")
    assert apply_fix(a, d.fixes[1]) == 'x = b.f("s")\nout x\n'


def test_e006_invalid_projection():
    a, d = only("in r: { name: String, age: Int }\nx = r[name, agee]\nout x\n")
    assert (d.code, d.message) == ("E006", "Cannot project field 'agee': not found in "
                                           "{ name: String, age: Int } (available: name, age)")
    assert span_of(a, d) == ("2:13", "2:17")
    assert apply_fix(a, d.fixes[0]).splitlines()[1] == "x = r[name, age]"


def test_e007_invalid_field_access_lifted_over_lists():
    a, d = only("in rs: List<{ a: Int }>\nx = rs.b\nout x\n")
    assert (d.code, d.message) == ("E007", "Field 'b' not found in { a: Int } (available: a)")
    assert span_of(a, d) == ("2:7", "2:9")


def test_e010_argument_mismatch_with_context():
    a, d = only("x = Uppercase(1)\nout x\n")
    assert (d.code, d.message) == ("E010", "Type mismatch: expected String, got Int (argument "
                                           "'text' of 'Uppercase')")
    assert span_of(a, d) == ("1:15", "1:16")


def test_e010_shape_mismatch_of_a_generic_parameter_prints_its_variables():
    """§7.4 step 1: the parameter type as declared, with its type variables."""
    a, d = only("in xs: List<Int>\nc = map(xs, xs)\nout c\n")
    assert (d.code, d.message) == ("E010", "Type mismatch: expected (T) => U, got List<Int>")
    a = analyze_program("x = filter(3, (v) => true)\nout x\n")
    assert a.diagnostics[0].message == "Type mismatch: expected List<T>, got Int"


def test_e012_incompatible_merge():
    a, d = only("in a: List<Int>\nin b: { x: Int }\nc = a + b\nout c\n")
    assert d.code == "E012"
    assert d.message.splitlines() == ["Cannot merge List<Int> + { x: Int }",
                                      "'+' merges records, lists of records, or a list of "
                                      "records with a record"]
    assert span_of(a, d) == ("3:5", "3:10")


def test_e013_unsupported_comparison():
    a, d = only('in a: Int\nc = a < "s"\nout c\n')
    assert (d.code, d.message) == ("E013", "Operator '<' is not supported for types Int and "
                                           "String")
    assert span_of(a, d) == ("2:5", "2:12")


def test_e014_unsupported_arithmetic_with_interpolation_fix():
    a, d = only('in n: Int\nc = "n=" + n\nout c\n')
    assert d.code == "E014"
    assert d.message == ('Operator \'+\' is not supported for types String and Int; use '
                         'interpolation: "n=${n}"')
    assert apply_fix(a, d.fixes[0]).splitlines()[1] == 'c = "n=${n}"'
    a, d = only("in a: List<Int>\nin b: List<Int>\nc = a + b\nout c\n")
    assert d.message.endswith("; use list-concat")
    a, d = only("in a: Optional<Int>\nc = a * 2\nout c\n")
    assert d.message == ("Operator '*' is not supported for types Optional<Int> and Int; unwrap "
                         "it first with ??")


def test_e015_arity_record_literal_and_lambda_inference():
    a, d = only('x = Uppercase("a", "b")\nout x\n')
    assert (d.code, d.message) == ("E015", "Function 'Uppercase' expects 1 argument, got 2")
    assert span_of(a, d) == ("1:5", "1:24")
    a, d = only("in r: { a: Int }\nx = r ?? 1\nout x\n")
    assert d.message == "Left side of ?? must be Optional, got { a: Int }"
    assert apply_fix(a, d.fixes[0]).splitlines()[1] == "x = r"


def test_e015_missing_fields_in_checking_mode():
    from constellation.compiler.registry import Function, Registry
    from constellation.compiler.types import INT, record

    reg = Registry([Function("Area", None, (("r", record([("w", INT), ("h", INT)])),), INT)])
    a = analyze_program("x = Area({ w: 1 })\nout x\n", registry=reg)
    (d,) = a.diagnostics
    assert (d.code, d.message) == ("E015", "Record literal is missing field(s): h")
    assert a.source.format_pos(d.span.start) == "1:10"


def test_e015_non_exhaustive_match_fixes():
    a, d = only("in v: Int | String\nx = match v { is Int -> 1 }\nout x\n")
    assert d.message == "Non-exhaustive match on Int | String: no case for String"
    assert span_of(a, d) == ("2:5", "2:12")
    assert [f.title for f in d.fixes] == ["Add a case 'is String -> …'", "Add a case '_ -> …'"]
    assert apply_fix(a, d.fixes[1]).splitlines()[1] == "x = match v { is Int -> 1, _ -> … }"


def test_e015_lambda_parameter_needs_annotation_when_unbound():
    from constellation.compiler.registry import Function, Registry
    from constellation.compiler.types import BOOLEAN, FunctionT, TypeVar

    t = TypeVar("T")
    reg = Registry([Function("Test", None, (("p", FunctionT((t,), BOOLEAN)),), BOOLEAN)])
    a = analyze_program("x = Test((v) => true)\nout x\n", registry=reg)
    (d,) = a.diagnostics
    assert d.message == "Cannot infer the type of lambda parameter 'v'; add an annotation"
    a = analyze_program("x = Test((v: Int) => true)\nout x\n", registry=reg)
    assert a.valid


def test_e016_every_invalid_option_with_word_fix():
    a = analyze_program("in s: String\nx = Uppercase(s) with retry: -1, on_error: skp, "
                        "cache: 5m, timeout: 1.5s, throttle: 0/1s, lazy: yes, priority: hihg\n"
                        "out x\n")
    messages = [d.message for d in a.diagnostics]
    assert messages == [
        "Invalid value for 'retry': -1 (must be >= 0)",
        "Invalid value for 'on_error': skp (expected one of propagate, skip, log, wrap)",
        "Invalid value for 'cache': 5m (unknown duration unit 'm'; use ms, s, min, h or d)",
        "Invalid value for 'timeout': 1.5s (expected a duration such as 500ms, 5s, 2min, 1h "
        "or 1d)",
        "Invalid value for 'throttle': 0/1s (must be > 0)",
        "Invalid value for 'lazy': yes (expected true or false)",
        "Invalid value for 'priority': hihg (expected one of critical, high, normal, low, "
        "background)",
    ]
    on_error = a.diagnostics[1]
    assert a.source.format_pos(on_error.span.start) == "2:44"
    assert [f.title for f in on_error.fixes] == ["Change to 'skip'"]
    assert a.diagnostics[-1].fixes[0].edits[0].new_text == "high"


def test_e016_shapes():
    a = analyze_program("in s: String\nx = Uppercase(s) with retry: 5s, backoff: 3, "
                        "cache_backend: memory, concurrency: 1.5\nout x\n")
    assert [d.message for d in a.diagnostics if d.code == "E016"] == [
        "Invalid value for 'retry': 5s (expected a whole number)",
        "Invalid value for 'backoff': 3 (expected one of fixed, linear, exponential)",
        "Invalid value for 'cache_backend': memory (expected a plain string)",
        "Invalid value for 'concurrency': 1.5 (expected a whole number)",
    ]


def test_e017_fallback_mismatch():
    a, d = only("in s: String\nx = WordCount(s) with fallback: \"none\"\nout x\n")
    assert (d.code, d.message) == ("E017", "Fallback type mismatch: 'WordCount' returns Int but "
                                           "the fallback is String")
    assert span_of(a, d) == ("2:33", "2:39")


def test_e019_duplicate_option_related_and_fix():
    a, d = only("in s: String\nx = Uppercase(s) with lazy, lazy: false\nout x\n")
    assert (d.code, d.message) == ("E019", "Duplicate option 'lazy' (first given at 2:23)")
    assert a.source.format_pos(d.related[0].span.start) == "2:23"
    assert apply_fix(a, d.fixes[0]).splitlines()[1] == "x = Uppercase(s) with lazy"


def test_e020_syntax_errors_reach_the_analysis():
    a = analyze_program("x = \nout x\n")
    assert [(d.code, a.source.format_pos(d.span.start)) for d in a.diagnostics] == \
        [("E020", "2:1")]


def test_e030_duplicate_definition():
    a, d = only("x = 1\nx = 2\nout x\n")
    assert (d.code, d.message) == ("E030", "Duplicate definition of 'x' (first defined at 1:1)")
    assert span_of(a, d) == ("2:1", "2:2")
    # two independent problems (§5.1): map passes one parameter, and a parameter repeats (§3.2)
    a = analyze_program("in xs: List<Int>\ny = map(xs, (v, v) => v)\nz = (w, w) => 1\nout y\n")
    assert [(d.code, a.source.format_pos(d.span.start)) for d in a.diagnostics] == [
        ("E015", "2:13"), ("E030", "2:17"), ("E015", "3:5"), ("E030", "3:9")]
    a, d = only("in r: { a: Int, b: Int }\nx = r[a, a]\nout x\n")
    assert (d.code, d.message) == ("E030", "Duplicate field 'a'")


def test_e031_circular_dependency():
    a = analyze_program("a = b + 1\nb = a + 1\nout a\n")
    assert [(d.code, d.message) for d in a.diagnostics] == [
        ("E031", "Circular dependency: a -> b -> a"), ("E031", "Circular dependency: b -> a -> b")]
    assert span_of(a, a.diagnostics[0]) == ("1:1", "1:2")


def test_e900_injected_fault_becomes_a_diagnostic(monkeypatch):
    def broken(self, e, scope):
        raise RuntimeError("injected fault")

    monkeypatch.setitem(inference._INFER, checker_module.ast.Binary, broken)
    a = analyze_program("in a: Int\nb = a + 1\nc = Trim(1)\nout b\n")
    rows = [(d.code, d.message, a.source.format_pos(d.span.start)) for d in a.diagnostics]
    assert rows[0] == ("E900", "Internal error: RuntimeError: injected fault. This is a bug in "
                               "the implementation, not in the pipeline.", "2:1")
    assert span_of(a, a.diagnostics[0]) == ("2:1", "2:10")
    assert rows[1][0] == "E010"  # the other declarations are still checked


def test_w001_options_without_effect():
    a = analyze_program("in s: String\nx = Uppercase(s) with backoff: linear, cache_backend: "
                        "\"redis\"\nout x\n")
    assert [(d.code, d.message) for d in a.diagnostics] == [
        ("W001", "'backoff' has no effect without 'retry' and 'delay'"),
        ("W001", "'cache_backend' has no effect without 'cache'")]
    assert a.valid
    a = analyze_program("in s: String\nx = Uppercase(s) with delay: 1s\nout x\n")
    assert apply_fix(a, a.diagnostics[0].fixes[0]).splitlines()[1] == "x = Uppercase(s)"
    a = analyze_program("in s: String\nx = Uppercase(s) with retry: 2, backoff: fixed\nout x\n")
    assert [d.message for d in a.diagnostics] == ["'backoff' has no effect without 'delay'"]


def test_w002_high_retry_count():
    a, d = only("in s: String\nx = Uppercase(s) with retry: 15\nout x\n")
    assert (d.code, d.message) == ("W002", "High retry count (15); consider fewer retries with "
                                           "exponential backoff")
    assert span_of(a, d) == ("2:30", "2:32")


def test_w003_streaming_option():
    a, d = only("in s: String\nx = Uppercase(s) with window: tumbling(5s)\nout x\n")
    assert (d.code, d.message) == ("W003", "'window' is a streaming option and is ignored by "
                                           "this runtime")
    assert span_of(a, d) == ("2:23", "2:29")


def test_w004_deployment_annotations():
    a, d = only('in s: String\n@sink("kafka", topic: "t") out s\n')
    assert (d.code, d.message) == ("W004", "'@sink' is ignored by this runtime")
    assert apply_fix(a, d.fixes[0]) == "in s: String\nout s\n"


def test_w005_unreachable_case_after_full_cover():
    a, d = only("in v: Int | String\nx = match v { is Int -> 1, is String -> 2, is Int -> 3 }\n"
                "out x\n")
    assert (d.code, d.message) == ("W005", "Unreachable case: earlier cases already cover Int")
    assert apply_fix(a, d.fixes[0]).splitlines()[1] == \
        "x = match v { is Int -> 1, is String -> 2 }"


def test_w006_duplicate_output():
    a, d = only("in a: Int\nout a\nout a\n")
    assert (d.code, d.message) == ("W006", "Output 'a' is already declared at 2:1")
    assert span_of(a, d) == ("3:5", "3:6")
    assert a.check.outputs == ["a"]
    a = analyze_program('in a: Int\nout a\n@sink("k") out a\n')
    w006 = [d for d in a.diagnostics if d.code == "W006"][0]
    assert apply_fix(a, w006.fixes[0]) == "in a: Int\nout a\n"


@pytest.mark.parametrize("code", ["E008", "E009", "E011", "E018", "E021"])
def test_reserved_codes_are_never_produced(code):
    import inspect

    from constellation.compiler import optioncheck, typeops

    for module in (checker_module, inference, resolution, optioncheck, typeops):
        assert f'"{code}"' not in inspect.getsource(module)


def test_the_caret_lines_up_under_tabs_and_wide_characters():
    from constellation.compiler import analyze
    from constellation.compiler.diagnostics import render_text
    from constellation.compiler.registry import Registry

    for prefix, blank in [("\t", "\t"), ("\t  ", "\t  ")]:
        text = f"in x: Int\ny = {{ a: 1 }}\nz = {prefix}missing\nout y\n"
        a = analyze(text, Registry())
        (d,) = [d for d in a.diagnostics if d.code == "E001"]
        lines = render_text([d], a.source, "f.cst").splitlines()
        assert lines[1] == f"  z = {prefix}missing"
        assert lines[2] == f"      {blank}^^^^^^^", (prefix, lines[2])
    wide = analyze("in x: Int\ny = \"名前\" + missing\nout y\n", Registry())
    (d,) = [d for d in wide.diagnostics if d.code == "E001"]
    # `y = "` 5 columns, 名前 4 (two wide characters), `" + ` 4
    assert render_text([d], wide.source, "f.cst").splitlines()[2] == "  " + " " * 13 + "^" * 7
