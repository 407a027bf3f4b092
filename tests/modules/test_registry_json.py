"""Registry <-> JSON: structural types, signatures survive, implementations do not cross."""

from __future__ import annotations

import json

import pytest

from constellation.compiler import types as T
from constellation.compiler.registry import Function, Registry
from constellation.compiler.registry_json import (RegistryFormatError, registry_from_json,
                                                  registry_to_json, type_from_json, type_to_json)

TYPES = [
    T.STRING, T.INT, T.FLOAT, T.BOOLEAN, T.NOTHING, T.ERROR, T.TypeVar("T"),
    T.ListT(T.TypeVar("T")), T.OptionalT(T.INT), T.MapT(T.ListT(T.STRING)),
    T.union([T.INT, T.STRING, T.record([("a", T.INT)])]),
    T.record([("b", T.INT), ("a", T.OptionalT(T.record([("x", T.FLOAT)])))]),
    T.record([]),
    T.FunctionT((T.TypeVar("T"),), T.BOOLEAN),
]


@pytest.mark.parametrize("t", TYPES, ids=T.type_str)
def test_types_round_trip_through_json_text(t):
    back = type_from_json(json.loads(json.dumps(type_to_json(t))))
    assert back == t and T.type_str(back) == T.type_str(t)
    if isinstance(t, T.RecordT):
        assert back.fields == t.fields  # field order is kept


def test_registry_round_trip_keeps_signatures_and_drops_impls(demo_registry):
    hof = Function("filter", "stdlib.collection",
                   (("items", T.ListT(T.TypeVar("T"))),
                    ("predicate", T.FunctionT((T.TypeVar("T"),), T.BOOLEAN))),
                   T.ListT(T.TypeVar("T")), impl=lambda *a: a, higher_order=True, doc="Keeps.")
    registry = demo_registry.merged(Registry([hof]))
    data = json.loads(json.dumps(registry_to_json(registry)))
    back = registry_from_json(data)
    assert [f.qualified for f in back.functions] == [f.qualified for f in registry.functions]
    for original, copy in zip(registry.functions, back.functions):
        assert copy.signature() == original.signature()
        assert (copy.doc, copy.source_file, copy.source_line, copy.higher_order) == (
            original.doc, original.source_file, original.source_line, original.higher_order)
        assert copy.params == original.params and copy.result == original.result
        assert copy.impl is None
    assert back.is_namespace("stdlib") and back.lookup("stdlib.collection.filter").higher_order
    entry = next(f for f in data["functions"] if f["name"] == "GetUser")
    assert entry["signature"].startswith("GetUser(userId: String) -> { id: String")
    assert entry["result"]["kind"] == "record"


@pytest.mark.parametrize("data, message", [
    ({}, "registry: expected a 'functions' entry"),
    ({"functions": [{"name": "F"}]}, "function 'F': expected a 'params' entry"),
    ({"functions": [{"name": "F", "params": [], "result": {"kind": "prim", "name": "Str"}}]},
     "unknown primitive type 'Str'"),
    ({"functions": [{"name": "F", "params": [], "result": {"kind": "tuple"}}]},
     "unknown type kind 'tuple'"),
    ({"functions": [{"name": "F", "params": [], "result": None}]}, "expected a 'kind' entry"),
])
def test_malformed_data_is_a_sentence(data, message):
    with pytest.raises(RegistryFormatError, match=message):
        registry_from_json(data)
