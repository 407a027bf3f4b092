"""The value model (LANGUAGE.md §4.5, §10.4, §10.5): conformance, coercion, equality and
rendering of JSON-shaped values: int (never bool), float, str, bool, list, dict, None.

Shared by the checker (constant `@example` values) and the runtime, so both give values the
same meaning.
"""

from __future__ import annotations

import math

from constellation.compiler import types as T

# §5.5: Int is 64-bit signed. The one implementation of integer arithmetic, used by constant
# evaluation, the runtime's evaluator and the stdlib; each turns the two errors into its own.
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1


class IntOverflow(ArithmeticError):
    """A result outside -2**63 .. 2**63-1."""


class DivisionByZero(ArithmeticError):
    pass


def int_checked(v: int) -> int:
    if not INT_MIN <= v <= INT_MAX:
        raise IntOverflow(v)
    return v


def int_divide(a: int, b: int) -> int:
    """Truncates toward zero (`-7 / 2 = -3`); `-2**63 / -1` overflows."""
    if b == 0:
        raise DivisionByZero()
    q = abs(a) // abs(b)
    return int_checked(q if (a >= 0) == (b >= 0) else -q)


def int_modulo(a: int, b: int) -> int:
    """The remainder of the truncating division: it has the sign of `a`."""
    if b == 0:
        raise DivisionByZero()
    r = abs(a) % abs(b)
    return r if a >= 0 else -r


def int_negate(a: int) -> int:
    return int_checked(-a)


_INT_OPS = {
    "+": lambda a, b: int_checked(a + b),
    "-": lambda a, b: int_checked(a - b),
    "*": lambda a, b: int_checked(a * b),
    "/": int_divide,
}


def int_op(op: str, a: int, b: int) -> int:
    """`a op b` for the arithmetic operators of §5.5 (+ - * /)."""
    return _INT_OPS[op](a, b)


class NotFinite(ArithmeticError):
    """A Float result that is infinite or NaN (§10.4: no Constellation value is)."""


def float_op(op: str, a: float, b: float) -> float:
    """`a op b` on Floats (+ - * /); division by zero and non-finite results raise."""
    if op == "/" and b == 0:
        raise DivisionByZero()
    try:
        r = a / b if op == "/" else {"+": a + b, "-": a - b, "*": a * b}[op]
    except OverflowError:
        r = math.inf
    if not math.isfinite(r):
        raise NotFinite(op)
    return r


class MergeLengths(ValueError):
    """`+` of two lists of records of different lengths."""

    def __init__(self, left: int, right: int):
        super().__init__(left, right)
        self.left, self.right = left, right


def merge(a: object, b: object) -> object:
    """`+` on records and lists of records (§5.5): fields of b win; lists merge pairwise."""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise MergeLengths(len(a), len(b))
        return [{**x, **y} for x, y in zip(a, b)]
    if isinstance(a, list):
        return [{**x, **b} for x in a]  # type: ignore[dict-item]
    if isinstance(b, list):
        return [{**a, **y} for y in b]  # type: ignore[dict-item]
    return {**a, **b}  # type: ignore[dict-item]


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return _is_int(v) or isinstance(v, float)


def conforms(v: object, t: T.Type, *, exact: bool = False) -> bool:
    """§10.5 conforms / conforms_exact (exact: no Int -> Float widening)."""
    if t is T.ERROR or isinstance(t, T.TypeVar):
        return True
    if t is T.NOTHING:
        return False
    if isinstance(t, T.Prim):
        if t.name == "Int":
            return _is_int(v)
        if t.name == "Float":
            return isinstance(v, float) if exact else _is_number(v)
        if t.name == "String":
            return isinstance(v, str)
        return isinstance(v, bool)
    if isinstance(t, T.ListT):
        return isinstance(v, list) and all(conforms(x, t.elem, exact=exact) for x in v)
    if isinstance(t, T.RecordT):
        return isinstance(v, dict) and all(
            k in v and conforms(v[k], ft, exact=exact) for k, ft in t.fields)
    if isinstance(t, T.MapT):
        return isinstance(v, dict) and all(
            isinstance(k, str) and conforms(x, t.value, exact=exact) for k, x in v.items())
    if isinstance(t, T.OptionalT):
        return v is None or conforms(v, t.elem, exact=exact)
    if isinstance(t, T.UnionT):
        return any(conforms(v, m, exact=exact) for m in t.members)
    return False


def conforms_exact(v: object, t: T.Type) -> bool:
    return conforms(v, t, exact=True)


def coerce(v: object, t: T.Type) -> object:
    """§4.5: give a value exactly the shape of its static type."""
    if isinstance(t, T.Prim) and t.name == "Float" and _is_int(v):
        return float(v)
    if isinstance(t, T.ListT) and isinstance(v, list):
        return [coerce(x, t.elem) for x in v]
    if isinstance(t, T.RecordT) and isinstance(v, dict):
        return {k: coerce(v.get(k), ft) for k, ft in t.fields}
    if isinstance(t, T.OptionalT):
        return None if v is None else coerce(v, t.elem)
    if isinstance(t, T.MapT) and isinstance(v, dict):
        return {k: coerce(x, t.value) for k, x in v.items()}
    if isinstance(t, T.UnionT):
        member = union_member(v, t)
        return v if member is None else coerce(v, member)
    return v


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


def union_member(v: object, t: T.UnionT) -> T.Type | None:
    """The member of a union a value is coerced to (§4.5 tie-break rules)."""
    members = T.union_members_sorted(t)
    if isinstance(v, dict):
        records = [m for m in members if isinstance(m, T.RecordT) and conforms(v, m)]
        if records:
            # most fields first; sorted() is stable so printing order breaks ties
            return sorted(records, key=lambda m: -len(m.fields))[0]
        maps = [m for m in members if isinstance(m, T.MapT) and conforms(v, m)]
        if maps:  # a Map member only when no record member conforms
            return maps[0]
    for m in members:
        if conforms_exact(v, m):
            return m
    for m in members:
        if conforms(v, m):
            return m
    return None


def equal(a: object, b: object) -> bool:
    """§10.5 structural equality: numbers by value, booleans only with booleans."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if a is None or b is None:
        return a is None and b is None
    return type(a) is type(b) and a == b


def render(v: object) -> str:
    """§10.5 render, used by string interpolation."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(render(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {render(x)}" for k, x in v.items()) + "}"
    return str(v)
