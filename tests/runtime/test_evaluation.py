"""Inline evaluation (LANGUAGE.md §5, §10, §11.5 first rows): short-circuits, 64-bit integers,
positioned run-time errors, rendering, coercion, match, higher-order calls."""

import pytest

from runtime_helpers import node_events


def value_of(execute, text, inputs=None, name="x"):
    result, _ = execute(text, inputs)
    assert result.status == "completed", result.errors
    return result.outputs[name]


@pytest.mark.parametrize("text,inputs,expected", [
    ("in a: Int\nx = a != 0 and 10 / a > 1\nout x", {"a": 0}, False),
    ("in a: Int\nx = a == 0 or 10 / a > 1\nout x", {"a": 0}, True),
    ("in a: Int\nx = if (a == 0) 0 else 10 / a\nout x", {"a": 0}, 0),
    ("in a: Int\nx = if (a == 0) 0 else 10 / a\nout x", {"a": 3}, 3),
    ("in a: Int\nx = branch { a == 0 -> 0, 10 / a > 1 -> 1, otherwise -> 2 }\nout x", {"a": 0}, 0),
    ("in a: Int\nx = branch { a == 0 -> 0, 10 / a > 1 -> 1, otherwise -> 2 }\nout x", {"a": 5}, 1),
    ("in a: Int\nx = branch { a == 0 -> 0, 10 / a > 1 -> 1, otherwise -> 2 }\nout x", {"a": 20}, 2),
    ("in o: Optional<Int>\nx = o ?? 1 / 0\nout x", {"o": 5}, 5),
    ("in a: Int\nx = (10 / a) when a != 0\nout x", {"a": 0}, None),
    ("in a: Int\nx = (10 / a) when a != 0\nout x", {"a": 2}, 5),
])
def test_short_circuits(execute, text, inputs, expected):
    assert value_of(execute, text, inputs) == expected


def test_coalesce_evaluates_the_right_side_only_when_null(execute):
    result, _ = execute("in o: Optional<Int>\nx = o ?? 1 / 0\nout x", {"o": None})
    assert result.status == "failed"
    assert result.errors == [{"message": "Division by zero", "line": 2, "column": 12,
                              "function": None}]


def test_integer_overflow_is_a_positioned_error(execute):
    result, _ = execute("x = 9223372036854775807 + 1\nout x")
    assert result.status == "failed"
    assert result.errors[0]["message"] == "Integer overflow in '+'"
    assert (result.errors[0]["line"], result.errors[0]["column"]) == (1, 25)


@pytest.mark.parametrize("expr,expected", [
    ("-7 / 2", -3), ("7 / -2", -3), ("7.0 / 2", 3.5), ("1 + 2.5", 3.5), ('"a" + "b"', "ab"),
    ("1 == 1.0", True), ("[1] == [1.0]", True), ('"abc" < "abd"', True),
    ("{a: 1} == {a: 1}", True), ("-9223372036854775807 - 1", -2 ** 63),
    # §5.7: numeric order after widening (2^53 + 1 widens to 2^53)
    ("9007199254740993 > 9007199254740992.0", False),
    ("9007199254740993 <= 9007199254740992.0", True),
    ("9223372036854775807 < 9223372036854775808.0", False), ("2 < 2.5", True),
])
def test_operators(execute, expr, expected):
    got = value_of(execute, f"x = {expr}\nout x")
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("expr,message", [
    ("-9223372036854775807 - 1 - 1", "Integer overflow in '-'"),
    ("(-9223372036854775807 - 1) / -1", "Integer overflow in '/'"),
    ("3037000500 * 3037000500", "Integer overflow in '*'"),
    ("1.0 / 0", "Division by zero"),
])
def test_run_time_errors(execute, expr, message):
    result, _ = execute(f"x = {expr}\nout x")
    assert result.status == "failed"
    assert result.errors[0]["message"] == message


def test_non_finite_float_results_fail(execute):
    result, _ = execute("in f: Float\nx = f * 10.0\nout x", {"f": 1e308})
    assert result.errors[0]["message"] == "Float result is not finite in '*'"
    assert (result.errors[0]["line"], result.errors[0]["column"]) == (2, 7)


def test_interpolation_renders_values(execute):
    text = 'x = "${1.0}|${[1, 2]}|${{a: 1, b: "x"}}|${true}"\nout x'
    assert value_of(execute, text) == "1.0|[1, 2]|{a: 1, b: x}|true"
    assert value_of(execute, 'in o: Optional<Int>\nx = "[${o}]"\nout x', {"o": None}) == "[]"


def test_values_take_the_shape_of_their_static_type(execute):
    text = "in c: Boolean\nx = if (c) {a: 1, b: 2} else {a: 3}\nout x"
    assert value_of(execute, text, {"c": True}) == {"a": 1}
    text = "in c: Boolean\nx = if (c) 1 else 2.5\nout x"
    got = value_of(execute, text, {"c": True})
    assert got == 1.0 and isinstance(got, float)
    assert value_of(execute, "x = [1, 2.0]\nout x") == [1.0, 2.0]


def test_lambda_parameters_and_pattern_bindings_take_their_static_type(execute):
    """§4.5: a value is coerced to its static type wherever it is bound, so `is Float` on a
    Float parameter or on a field whose common type is Float matches an Int that came in."""
    text = ('in xs: List<Int>\n'
            'd = map(xs, (x: Float) => match x { is Float -> "float" })\n'
            'e = map(xs, (x: Float) => "${x}")\nout d\nout e')
    result, _ = execute(text, {"xs": [1]})
    assert result.status == "completed", result.errors
    assert result.outputs == {"d": ["float"], "e": ["1.0"]}
    text = ('in u: { a: Int, b: String } | { a: Float }\n'
            'x = match u { { a } -> match a { is Float -> "float" } }\n'
            'y = match u { { a } -> "${a}" }\nout x\nout y')
    result, _ = execute(text, {"u": {"a": 1, "b": "s"}})
    assert result.status == "completed", result.errors
    assert result.outputs == {"x": "float", "y": "1.0"}


def test_record_merge_projection_and_field_access_over_lists(execute):
    text = ("in people: List<{ name: String, age: Int }>\n"
            "x = people + { team: \"core\" }\n"
            "names = people.name\n"
            "ages = people[age]\n"
            "out x\nout names\nout ages")
    people = [{"name": "a", "age": 1}, {"name": "b", "age": 2}]
    result, _ = execute(text, {"people": people})
    assert result.outputs == {
        "x": [{"name": "a", "age": 1, "team": "core"}, {"name": "b", "age": 2, "team": "core"}],
        "names": ["a", "b"], "ages": [{"age": 1}, {"age": 2}]}


def test_merging_lists_of_different_lengths_fails(execute):
    text = ("in a: List<{ x: Int }>\nin b: List<{ y: Int }>\nm = a + b\nout m")
    result, _ = execute(text, {"a": [{"x": 1}] * 3, "b": [{"y": 1}] * 2})
    assert result.errors[0]["message"] == "Cannot merge lists of different lengths (3 and 2)"
    assert (result.errors[0]["line"], result.errors[0]["column"]) == (3, 7)


def test_match_uses_exact_conformance(execute):
    text = ('in v: Int | String\n'
            'x = match v { is Int -> "int", is String -> "string" }\nout x')
    assert value_of(execute, text, {"v": 3}) == "int"
    assert value_of(execute, text, {"v": "3"}) == "string"
    text = ('in r: { ok: Boolean, value: Int } | { error: String }\n'
            'x = match r { { ok, value } -> "ok ${value}", { error } -> error }\nout x')
    assert value_of(execute, text, {"r": {"ok": True, "value": 4}}) == "ok 4"
    assert value_of(execute, text, {"r": {"error": "boom"}}) == "boom"


def test_higher_order_calls_apply_lambdas_with_module_calls(execute, recorder):
    text = ("in words: List<String>\n"
            "use stdlib.collection\n"
            "shout = map(words, (w) => Uppercase(w))\n"
            "long = filter(words, (w) => TextLength(w) > 2)\n"
            "every = all(words, (w) => TextLength(w) > 0)\n"
            "some = any(words, (w) => w == \"zz\")\n"
            "out shout\nout long\nout every\nout some")
    result, _ = execute(text, {"words": ["ab", "cde", "f"]})
    assert result.outputs == {"shout": ["AB", "CDE", "F"], "long": ["cde"], "every": True,
                              "some": False}
    assert recorder.count("Uppercase") == 3


def test_higher_order_runs_elements_concurrently(execute, recorder):
    text = ("in qs: List<String>\nuse stdlib.collection\n"
            "rs = map(qs, (q) => SlowQuery(q))\nout rs")
    result, _ = execute(text, {"qs": ["a", "b", "c", "d"]})
    assert result.outputs["rs"] == [f"Result for: {q}" for q in "abcd"]
    calls = recorder.of("SlowQuery")
    first_end = min(c.end for c in calls)
    assert all(c.start < first_end for c in calls)  # all four overlapped


def test_higher_order_failure_is_the_lowest_failing_index(execute):
    text = ("in xs: List<Int>\nuse stdlib.collection\n"
            "ys = map(xs, (x) => 10 / x)\nout ys")
    result, _ = execute(text, {"xs": [1, 0, 2, 0]})
    assert result.status == "failed"
    assert result.errors[0]["message"] == "Division by zero"
    assert result.errors[0]["line"] == 3


def test_stdlib_log_goes_to_the_run_log(execute):
    result, events = execute('x = stdlib.debug.log("hello")\nout x')
    assert result.outputs == {"x": "hello"}
    assert result.log == ["[constellation-lang] hello"]
    assert node_events(events, "log")[0]["message"] == "[constellation-lang] hello"
