"""Unit tests of typeops (§4), suggestions (§8.3) and the stdlib implementations (§7.5)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constellation.compiler import ast
from constellation.compiler.registry import ModuleFailure
from constellation.compiler.stdlib import stdlib_registry
from constellation.compiler.suggest import did_you_mean, levenshtein, suggest
from constellation.compiler.typeops import (
    TypeResolver, collect, common_type, is_subtype, lub, merge, substitute,
)
from constellation.compiler.types import (
    BOOLEAN, ERROR, FLOAT, INT, NOTHING, STRING, FunctionT, ListT, MapT, OptionalT, TypeVar,
    optional, record, type_str, union,
)
from constellation.compiler.values import coerce

A_INT = record([("a", INT)])
B_INT = record([("b", INT)])
AB_INT = record([("a", INT), ("b", INT)])


@pytest.mark.parametrize("s, t", [
    (INT, FLOAT), (INT, optional(INT)), (optional(INT), optional(FLOAT)), (NOTHING, STRING),
    (ListT(INT), ListT(FLOAT)), (AB_INT, A_INT), (record([("a", INT)]), record([("a", FLOAT)])),
    (INT, union([INT, STRING])), (union([INT, FLOAT]), FLOAT), (MapT(INT), MapT(FLOAT)),
    (FunctionT((FLOAT,), INT), FunctionT((INT,), FLOAT)), (ERROR, INT), (STRING, ERROR),
    (ListT(NOTHING), ListT(INT)), (union([INT, STRING]), optional(union([INT, STRING]))),
])
def test_subtype_holds(s, t):
    assert is_subtype(s, t)


@pytest.mark.parametrize("s, t", [
    (FLOAT, INT), (optional(INT), INT), (A_INT, AB_INT), (union([INT, STRING]), INT),
    (ListT(FLOAT), ListT(INT)), (FunctionT((INT,), INT), FunctionT((FLOAT,), INT)),
    (BOOLEAN, INT), (A_INT, B_INT), (MapT(STRING), MapT(INT)),
])
def test_subtype_fails(s, t):
    assert not is_subtype(s, t)


def test_lub_examples_of_the_spec():
    assert lub(INT, FLOAT) == FLOAT
    assert lub(INT, STRING) == union([INT, STRING])
    assert lub(AB_INT, A_INT) == A_INT
    assert lub(INT, optional(INT)) == optional(INT)
    assert lub(ListT(INT), ListT(FLOAT)) == ListT(FLOAT)
    assert type_str(lub(A_INT, B_INT)) == "{ a: Int } | { b: Int }"
    assert common_type([]) == NOTHING
    assert common_type([INT, FLOAT, INT]) == FLOAT


def test_equality_ignores_field_order_and_union_order():
    assert record([("a", INT), ("b", STRING)]) == record([("b", STRING), ("a", INT)])
    assert union([INT, STRING]) == union([STRING, INT])
    assert optional(optional(INT)) == OptionalT(INT)


def test_printing_sorts_union_members():
    assert type_str(union([STRING, INT, record([("z", BOOLEAN)])])) == \
        "Int | String | { z: Boolean }"


def test_record_merge_table():
    assert merge(A_INT, record([("a", STRING), ("c", INT)])).fields == \
        (("a", STRING), ("c", INT))
    assert merge(ListT(A_INT), ListT(B_INT)) == ListT(AB_INT)
    assert merge(ListT(A_INT), B_INT) == ListT(AB_INT)
    assert merge(A_INT, ListT(B_INT)) == ListT(AB_INT)
    assert merge(A_INT, INT) is None
    assert merge(INT, A_INT) is None
    assert merge(ListT(INT), ListT(A_INT)) is None
    assert merge(ERROR, INT) is ERROR


def test_generic_collection_and_substitution():
    found: dict = {}
    assert collect(ListT(TypeVar("T")), ListT(INT), found)
    assert collect(TypeVar("T"), FLOAT, found)
    assert common_type(found["T"]) == FLOAT
    assert not collect(ListT(TypeVar("T")), INT, {})
    assert substitute(ListT(TypeVar("U")), {}, NOTHING) == ListT(NOTHING)
    assert substitute(FunctionT((TypeVar("T"),), BOOLEAN), {"T": INT}) == \
        FunctionT((INT,), BOOLEAN)


def _resolve(texpr, aliases=None):
    reports = []
    resolver = TypeResolver(lambda n: (aliases or {}).get(n),
                            lambda code, msg, span, **kw: reports.append((code, msg, span)))
    return resolver.resolve(texpr), reports


def _tn(name, *args, start=0):
    return ast.TypeName(ast.Name(name, ast.Span(start, start + len(name))), list(args),
                        ast.Span(start, start + len(name) + 2))


def test_type_expression_resolution_and_errors():
    assert _resolve(_tn("Seq", _tn("Int")))[0] == ListT(INT)
    assert _resolve(_tn("Optional", _tn("Optional", _tn("Int"))))[0] == OptionalT(INT)
    assert _resolve(_tn("Id"), {"Id": STRING})[0] == STRING
    assert _resolve(_tn("Foo"))[1][0][:2] == ("E003", "Undefined type 'Foo'")
    assert _resolve(_tn("Array", _tn("Int")))[1][0][:2] == ("E003", "Undefined type 'Array'")
    assert _resolve(_tn("List", _tn("Int"), _tn("Int")))[1][0][1] == \
        "Type 'List' expects 1 type argument, got 2"
    assert _resolve(_tn("List"))[1][0][1] == "Type 'List' needs 1 type argument"
    assert _resolve(_tn("Int", _tn("Int")))[1][0][1] == "Type 'Int' does not take type arguments"
    assert _resolve(_tn("Map", _tn("Int"), _tn("String")))[1][0][:2] == \
        ("E015", "Map keys must be String, got Int")
    merged = ast.MergeTypeExpr(_tn("Int"), ast.RecordTypeExpr([], ast.Span(0, 2)), ast.Span(0, 9))
    t, reports = _resolve(merged)
    assert t is ERROR and reports[0][0] == "E012"
    assert reports[0][1] == ("Cannot merge Int + {}\n'+' merges records, lists of records, "
                             "or a list of records with a record")


def test_coercion_widens_and_drops_fields():
    assert coerce([1, 2.0], ListT(FLOAT)) == [1.0, 2.0]
    assert coerce({"a": 1, "b": 2}, A_INT) == {"a": 1}
    assert coerce(None, optional(FLOAT)) is None
    assert coerce({"a": 1, "b": 2}, union([A_INT, AB_INT])) == {"a": 1, "b": 2}
    assert coerce(3, union([INT, FLOAT])) == 3


def test_suggestions_follow_the_distance_rules():
    assert levenshtein("kitten", "sitting") == 3
    assert suggest("uppercase", ["Uppercase", "Lowercase"]) == ["Uppercase"]
    assert suggest("Trm", ["Trim", "Tram", "Zzzz"]) == ["Tram", "Trim"]
    assert suggest("abcd", ["abxy"]) == []  # distance 2 > 1 for a 4-character name
    assert suggest("abcdef", ["abcdxy"]) == ["abcdxy"]
    assert len(suggest("aaaaaaaaa", ["aaaaaaaab", "aaaaaaabb", "aaaaaabbb", "aaaaaaaac"])) == 3
    assert did_you_mean(["a"]) == ". Did you mean 'a'?"
    assert did_you_mean(["a", "b", "c"]) == ". Did you mean 'a', 'b' or 'c'?"
    assert did_you_mean([]) == ""


def _edit_distance(a: str, b: str) -> int:
    """The textbook dynamic programme, as the reference for the bit-parallel version."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@settings(max_examples=400, deadline=None)
@given(st.text("abcé_😀", max_size=14), st.text("abcé_😀", max_size=14), st.integers(0, 4))
def test_edit_distance_equals_the_dynamic_programme(a, b, limit):
    assert levenshtein(a, b) == _edit_distance(a, b)
    assert levenshtein(a, b, limit) == min(_edit_distance(a, b), limit + 1)


def _impl(name):
    return stdlib_registry().lookup(name).impl


def test_stdlib_signatures_and_flags():
    reg = stdlib_registry()
    assert len(reg.functions) == 43
    assert reg.lookup("stdlib.collection.map").higher_order
    assert reg.lookup("stdlib.collection.map").impl is None
    assert reg.lookup("stdlib.identity").signature() == "stdlib.identity(value: String) -> String"
    assert reg.lookup("stdlib.list.list-first").signature() == \
        "stdlib.list.list-first(list: List<T>) -> T"
    assert reg.is_namespace("stdlib")


def test_stdlib_implementations():
    assert _impl("stdlib.math.divide")(-7, 2) == -3
    assert _impl("stdlib.math.modulo")(-7, 2) == -1
    assert _impl("stdlib.math.round")(2.5) == 3
    assert _impl("stdlib.math.round")(-2.5) == -2
    assert _impl("stdlib.string.split")("a,,b", ",") == ["a", "", "b"]
    assert _impl("stdlib.string.split")("", ",") == [""]
    assert _impl("stdlib.string.split")("ab", "") == ["a", "b"]
    assert _impl("stdlib.string.trim")("\t a b \n") == "a b"
    assert _impl("stdlib.string.string-length")("é😀") == 2
    assert _impl("stdlib.list.list-contains")([1, 2], 2.0)
    assert not _impl("stdlib.list.list-contains")([True], 1)
    assert _impl("stdlib.convert.to-int")(-2.7) == -2
    assert _impl("stdlib.convert.to-string")(42) == "42"


@pytest.mark.parametrize("name, args, message", [
    ("stdlib.math.divide", (1, 0), "Division by zero"),
    ("stdlib.math.modulo", (1, 0), "Division by zero"),
    ("stdlib.math.add", (2 ** 63 - 1, 1), "Integer overflow in 'add'"),
    ("stdlib.math.negate", (-(2 ** 63),), "Integer overflow in 'negate'"),
    ("stdlib.math.divide", (-(2 ** 63), -1), "Integer overflow in 'divide'"),
    ("stdlib.list.list-first", ([],), "list-first of an empty list"),
    ("stdlib.list.list-last", ([],), "list-last of an empty list"),
    ("stdlib.convert.to-int", (1e30,), "Integer overflow in 'to-int'"),
])
def test_stdlib_failures(name, args, message):
    with pytest.raises(ModuleFailure, match=message):
        _impl(name)(*args)
