"""Run-time values: input acceptance (§10.5), zero values (§6.5), the canonical hash used for
cache keys, abbreviation for events; the value model itself (conformance, coercion, equality,
rendering) is the compiler's `constellation.compiler.values`, re-exported here.

Values are JSON-shaped Python values: int (never bool), float, str, bool, list, dict, None.
"""

from __future__ import annotations

import hashlib
import json
import math

from constellation.compiler import types as T
from constellation.compiler.values import (  # noqa: F401 - re-exported
    INT_MAX, INT_MIN, _is_int, _is_number, coerce, conforms, conforms_exact, equal, render,
    union_member,
)


def fill_optional_fields(v: object, t: T.Type) -> object:
    """accept(): a missing record field whose type is Optional is null (§10.5)."""
    if isinstance(t, T.OptionalT):
        return None if v is None else fill_optional_fields(v, t.elem)
    if isinstance(t, T.RecordT) and isinstance(v, dict):
        out = dict(v)
        for k, ft in t.fields:
            if k not in out and isinstance(ft, T.OptionalT):
                out[k] = None
            elif k in out:
                out[k] = fill_optional_fields(out[k], ft)
        return out
    if isinstance(t, T.ListT) and isinstance(v, list):
        return [fill_optional_fields(x, t.elem) for x in v]
    if isinstance(t, T.MapT) and isinstance(v, dict):
        return {k: fill_optional_fields(x, t.value) for k, x in v.items()}
    if isinstance(t, T.UnionT) and isinstance(v, dict):
        for m in T.union_members_sorted(t):
            filled = fill_optional_fields(v, m)
            if conforms(filled, m):
                return filled
    return v


def in_value_model(v: object) -> bool:
    """§10.4: every Int in 64 bits and every Float finite, at any depth (JSON and Python
    allow 10**30, NaN and Infinity, which no Constellation value is)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return True
    if isinstance(v, int):
        return INT_MIN <= v <= INT_MAX
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, list):
        return all(in_value_model(x) for x in v)
    if isinstance(v, dict):
        return all(in_value_model(x) for x in v.values())
    return True


def accept(v: object, t: T.Type) -> tuple[bool, object]:
    """§10.5 accept (inputs): (True, coerced value) or (False, None). The coerced value is
    what must be in the value model: a 10**20 in a Float position is 1e+20, and a field the
    record type drops may hold anything."""
    ok, coerced = conform_and_coerce(fill_optional_fields(v, t), t)
    return (True, coerced) if ok else (False, None)


def conform_and_coerce(v: object, t: T.Type) -> tuple[bool, object]:
    """(True, `v` coerced to `t`) when it conforms and the result is a Constellation value."""
    if not conforms(v, t):
        return False, None
    try:
        coerced = coerce(v, t)
    except OverflowError:  # an int too large for a float
        return False, None
    return (True, coerced) if in_value_model(coerced) else (False, None)


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


def canonical_json(v: object) -> str:
    """Sorted keys, no whitespace, ints in decimal, floats as shortest round-trip repr."""
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


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
