"""Run-time values: zero values (§6.5), the canonical hash used for
cache keys, abbreviation for events; the value model itself (conformance, coercion, input
acceptance, equality, rendering) is the compiler's `constellation.compiler.values`, re-exported here.

Values are JSON-shaped Python values: int (never bool), float, str, bool, list, dict, None.
"""

from __future__ import annotations

import hashlib
import json
import math

from constellation.compiler import types as T
from constellation.compiler.values import (  # noqa: F401 - re-exported
    INT_MAX, INT_MIN, _is_int, _is_number, accept, coerce, conform_and_coerce, conforms,
    conforms_exact, equal, fill_optional_fields, in_value_model, render, union_member,
)


def zero_value(t: T.Type) -> object:
    """§6.5 zero values (on_error: skip / log)."""
    if isinstance(t, T.Prim):
        return {"Int": 0, "Float": 0.0, "String": "", "Boolean": False}[t.name]
    if isinstance(t, T.ListT):
        return []
    if isinstance(t, T.MapT):
        return {}
    if isinstance(t, T.RecordT):
        return {k: zero_value(ft) for k, ft in t.fields}
    if isinstance(t, T.UnionT):
        return zero_value(T.union_members_sorted(t)[0])
    return None  # Optional, Nothing, type variables


# one encoder for every value: json.dumps with options builds a new one per call, which was
# most of the cost of hashing a call's arguments (records, the cache; benchmarks/records.py)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False)


def canonical_json(v: object) -> str:
    """Sorted keys, no whitespace, ints in decimal, floats as shortest round-trip repr."""
    t = type(v)
    if t is int:  # the commonest value, as json writes it (int.__repr__)
        return int.__repr__(v)
    if t is str:
        return _encode_string(v)
    if t is list:  # a call's arguments: mostly scalars, which need no encoder
        text = scalar_list_json(v)
        if text is not None:
            return text
    return _CANONICAL.encode(v)


_encode_string = json.encoder.encode_basestring  # what the encoder uses (ensure_ascii=False)
_CONSTANTS = {True: "true", False: "false", None: "null"}


def scalar_list_json(items: list) -> str | None:
    """A list of ints, strings, finite floats, booleans and nulls as the encoder writes it;
    None for any other list (the encoder's per-call set-up is most of a small list's cost)."""
    parts = []
    for x in items:
        t = type(x)
        if t is int:
            parts.append(int.__repr__(x))
        elif t is str:
            parts.append(_encode_string(x))
        elif t is float and math.isfinite(x):
            parts.append(float.__repr__(x))
        elif t is bool or x is None:
            parts.append(_CONSTANTS[x])
        else:
            return None
    return "[" + ",".join(parts) + "]"


def cache_key(qualified: str, args: list[object]) -> tuple[str, str]:
    """§6.4 item 5: (function's qualified name, SHA-256 of the canonical argument list)."""
    digest = hashlib.sha256(canonical_json(list(args)).encode("utf-8")).hexdigest()
    return qualified, digest


def abbreviate(v: object, *, max_string: int = 200, max_items: int = 20) -> object:
    """Event payloads: long strings and big lists/records are cut and marked with '…'."""
    if isinstance(v, str) and len(v) > max_string:
        return v[:max_string] + "…"
    if isinstance(v, list):
        items = [abbreviate(x) for x in v[:max_items]]
        return items + ["…"] if len(v) > max_items else items
    if isinstance(v, dict):
        keys = list(v)[:max_items]
        out = {k: abbreviate(v[k]) for k in keys}
        if len(v) > max_items:
            out["…"] = "…"
        return out
    return v
