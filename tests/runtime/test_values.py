"""Values: conformance, coercion, equality, rendering, zero values, cache hashing (§4.5, §6.5,
§10.5)."""

import hashlib

import pytest

from constellation.compiler import types as T
from constellation.runtime import values as V

REC_AB = T.record([("a", T.INT), ("b", T.STRING)])
REC_A = T.record([("a", T.INT)])


@pytest.mark.parametrize("value,t,loose,exact", [
    (1, T.INT, True, True),
    (True, T.INT, False, False),
    (1, T.FLOAT, True, False),
    (1.5, T.FLOAT, True, True),
    (True, T.FLOAT, False, False),
    ("s", T.STRING, True, True),
    ([1, 2.0], T.ListT(T.FLOAT), True, False),
    ({"a": 1, "b": "x", "c": 3}, REC_AB, True, True),
    ({"a": 1}, REC_AB, False, False),
    (None, T.OptionalT(T.INT), True, True),
    ({"k": 1}, T.MapT(T.INT), True, True),
    ("s", T.union([T.INT, T.STRING]), True, True),
    (None, T.NOTHING, False, False),
])
def test_conforms(value, t, loose, exact):
    assert V.conforms(value, t) is loose
    assert V.conforms_exact(value, t) is exact


def test_coerce_widens_and_drops_fields():
    assert V.coerce([1, 2.0], T.ListT(T.FLOAT)) == [1.0, 2.0]
    assert isinstance(V.coerce(1, T.FLOAT), float)
    assert V.coerce({"b": "x", "a": 1, "z": 0}, REC_AB) == {"a": 1, "b": "x"}
    assert list(V.coerce({"b": "x", "a": 1}, REC_AB)) == ["a", "b"]
    assert V.coerce({"a": 1, "b": 2}, REC_A) == {"a": 1}
    assert V.coerce(None, T.OptionalT(T.FLOAT)) is None
    assert V.coerce(3, T.OptionalT(T.FLOAT)) == 3.0


def test_coerce_union_picks_record_with_most_fields():
    u = T.union([REC_A, REC_AB])
    assert V.coerce({"a": 1, "b": "x", "c": 0}, u) == {"a": 1, "b": "x"}
    assert V.coerce({"a": 1, "c": 0}, u) == {"a": 1}
    # an int stays an int in Float | Int (exact conformance first)
    assert V.coerce(1, T.union([T.FLOAT, T.INT])) == 1
    assert isinstance(V.coerce(1, T.union([T.FLOAT, T.INT])), int)


def test_accept_inputs():
    assert V.accept("abc", T.INT) == (False, None)
    assert V.accept(2, T.FLOAT) == (True, 2.0)
    rec = T.record([("a", T.INT), ("b", T.OptionalT(T.STRING))])
    assert V.accept({"a": 1}, rec) == (True, {"a": 1, "b": None})
    assert V.accept(float("inf"), T.FLOAT) == (False, None)
    # §10.4 at any depth: 64-bit Ints, finite Floats
    assert V.accept(2 ** 63, T.INT) == (False, None)
    assert V.accept(-2 ** 63, T.INT) == (True, -2 ** 63)
    assert V.accept({"x": float("nan")}, T.record([("x", T.FLOAT)])) == (False, None)
    assert V.accept([1.0, float("-inf")], T.ListT(T.FLOAT)) == (False, None)
    assert V.accept({"k": [2 ** 64]}, T.MapT(T.ListT(T.INT))) == (False, None)
    # what counts is the coerced value: a big Int is a fine Float, a dropped field anything
    assert V.accept(10 ** 20, T.FLOAT) == (True, 1e20)
    assert V.accept(10 ** 400, T.FLOAT) == (False, None)
    assert V.accept({"a": 1, "id": 10 ** 30}, T.record([("a", T.INT)])) == (True, {"a": 1})


def test_equal():
    assert V.equal(1, 1.0)
    assert V.equal([1], [1.0])
    assert V.equal({"a": 1}, {"a": 1})
    assert not V.equal(True, 1)
    assert not V.equal(None, 0)
    assert not V.equal([1], [1, 2])
    assert not V.equal({"a": 1}, {"a": 1, "b": 2})
    assert not V.equal("1", 1)


def test_render():
    assert V.render([1, 2]) == "[1, 2]"
    assert V.render({"a": 1, "b": "x"}) == "{a: 1, b: x}"
    assert V.render(2.5) == "2.5"
    assert V.render(1.0) == "1.0"
    assert V.render(1e16) == "1e+16"
    assert V.render(-0.0) == "-0.0"
    assert V.render(True) == "true"
    assert V.render(None) == ""


def test_zero_values():
    assert V.zero_value(T.INT) == 0 and V.zero_value(T.FLOAT) == 0.0
    assert V.zero_value(T.STRING) == "" and V.zero_value(T.BOOLEAN) is False
    assert V.zero_value(T.ListT(T.INT)) == [] and V.zero_value(T.MapT(T.INT)) == {}
    assert V.zero_value(T.OptionalT(T.INT)) is None
    assert V.zero_value(REC_AB) == {"a": 0, "b": ""}
    assert V.zero_value(T.union([T.STRING, T.INT])) == 0  # "Int" sorts before "String"
    assert V.zero_value(T.NOTHING) is None


def test_cache_key_is_sha256_of_canonical_json():
    key = V.cache_key("SlowQuery", [{"b": 1, "a": 2.5}, "q"])
    expected = hashlib.sha256(b'[{"a":2.5,"b":1},"q"]').hexdigest()
    assert key == ("SlowQuery", expected)
    assert V.cache_key("F", [1]) != V.cache_key("F", [1.0])
    assert V.cache_key("F", [1]) != V.cache_key("G", [1])


@pytest.mark.parametrize("value", [
    0, -7, 10**30, True, False, None, 1.5, 1.0, "", "plain", 'quo"te\\', "ünï\u2028\n\x00",
    [1, "a", -2], [True, 1], [1, 1.0], [None], ["x"] * 9, [], [[1]], {"b": [1, "x"], "a": {"é": 2}},
    [1.5, -0.0, 1e100, 5e-324, False, None, "é\u2028"], [1, {"a": 1}], [2**70],
])
def test_canonical_json_is_json_dumps_with_sorted_keys_and_no_spaces(value):
    """The fast paths (ints, strings, short lists of them) write what the encoder would."""
    import json

    assert V.canonical_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":"),
                                                 ensure_ascii=False, allow_nan=False)


def test_canonical_json_refuses_what_json_cannot_hold_in_a_list_too():
    for value in (float("nan"), [float("inf")], [1, float("nan")]):
        with pytest.raises(ValueError):
            V.canonical_json(value)


def test_abbreviate():
    assert V.abbreviate("x" * 300) == "x" * 200 + "…"
    assert V.abbreviate(list(range(30)))[-1] == "…"
    assert len(V.abbreviate(list(range(30)))) == 21
    assert V.abbreviate({str(i): i for i in range(25)})["…"] == "…"
