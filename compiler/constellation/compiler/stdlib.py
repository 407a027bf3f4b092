"""The standard library of LANGUAGE.md §7.5: signatures and pure-Python implementations.

An implementation takes JSON-shaped positional arguments and returns a JSON-shaped value;
failures users should see raise `ModuleFailure` with the message of §10.6. The higher-order
functions have no implementation: the runtime applies their lambdas itself (§10.3).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

from constellation.compiler.registry import Function, ModuleFailure, Registry
from constellation.compiler.types import (
    BOOLEAN, FLOAT, INT, STRING, FunctionT, ListT, Type, TypeVar,
)
from constellation.compiler.values import (
    DivisionByZero, IntOverflow, equal, int_checked, int_divide, int_modulo, int_negate, int_op,
)

T, U = TypeVar("T"), TypeVar("U")


def _checked(name: str, value: int) -> int:
    """64-bit signed results; anything outside is an overflow failure."""
    try:
        return int_checked(value)
    except IntOverflow:
        raise ModuleFailure(f"Integer overflow in '{name}'") from None


def _int_failures(name: str, op: Callable[..., int]) -> Callable[..., int]:
    """`op` with the values module's arithmetic errors as the failures of §10.6."""
    def run(*args: int) -> int:
        try:
            return op(*args)
        except IntOverflow:
            raise ModuleFailure(f"Integer overflow in '{name}'") from None
        except DivisionByZero:
            raise ModuleFailure("Division by zero") from None
    return run


_divide = _int_failures("divide", int_divide)
_modulo = _int_failures("modulo", int_modulo)


def _round(value: float) -> int:
    return _checked("round", math.floor(value + 0.5))


def _to_int(value: float) -> int:
    if not math.isfinite(value):
        raise ModuleFailure("Integer overflow in 'to-int'")
    return _checked("to-int", math.trunc(value))


def _trim(value: str) -> str:
    start, end = 0, len(value)
    while start < end and value[start] <= " ":
        start += 1
    while end > start and value[end - 1] <= " ":
        end -= 1
    return value[start:end]


def _split(value: str, substring: str) -> list[str]:
    return list(value) if substring == "" else value.split(substring)


def _first(name: str) -> Callable[[list], Any]:
    def pick(items: list) -> Any:
        if not items:
            raise ModuleFailure(f"{name} of an empty list")
        return items[0] if name == "list-first" else items[-1]
    return pick


def _log(message: str) -> str:
    # the runtime records `[constellation-lang] <message>` in the run log when it sees this
    # function; the implementation itself only returns its argument
    return message


def _not_callable(*_args: Any) -> Any:
    raise ModuleFailure("This function is reserved for tooling; use the operator instead")


def _fn(namespace: str | None, name: str, params: list[tuple[str, Type]], result: Type,
        impl: Callable[..., Any] | None, doc: str, *, higher_order: bool = False) -> Function:
    return Function(name=name, namespace=namespace, params=tuple(params), result=result,
                    impl=impl, doc=doc, higher_order=higher_order)


def _int2(namespace: str, name: str, op: Callable[[int, int], int], doc: str) -> Function:
    return _fn(namespace, name, [("a", INT), ("b", INT)], INT,
               _int_failures(name, lambda a, b: int_checked(op(a, b))), doc)


def _cmp(name: str, op: Callable[[Any, Any], bool], doc: str, t: Type = INT) -> Function:
    return _fn("stdlib.compare", name, [("a", t), ("b", t)], BOOLEAN, op, doc)


def _math() -> list[Function]:
    ns = "stdlib.math"
    return [
        _int2(ns, "add", functools.partial(int_op, "+"), "a + b"),
        _int2(ns, "subtract", functools.partial(int_op, "-"), "a − b"),
        _int2(ns, "multiply", functools.partial(int_op, "*"), "a · b"),
        _fn(ns, "divide", [("a", INT), ("b", INT)], INT, _divide,
            "Truncating division; fails on division by zero."),
        _int2(ns, "max", max, "The larger of a and b."),
        _int2(ns, "min", min, "The smaller of a and b."),
        _fn(ns, "abs", [("value", INT)], INT, lambda v: _checked("abs", abs(v)),
            "Absolute value."),
        _fn(ns, "modulo", [("a", INT), ("b", INT)], INT, _modulo,
            "Remainder with the sign of a; fails on division by zero."),
        _fn(ns, "round", [("value", FLOAT)], INT, _round, "floor(value + 0.5)."),
        _fn(ns, "negate", [("value", INT)], INT, _int_failures("negate", int_negate), "−value."),
    ]


def _string() -> list[Function]:
    ns = "stdlib.string"
    return [
        _fn(ns, "concat", [("a", STRING), ("b", STRING)], STRING, lambda a, b: a + b,
            "a followed by b."),
        _fn(ns, "string-length", [("value", STRING)], INT, len, "Number of code points."),
        _fn(ns, "join", [("list", ListT(STRING)), ("separator", STRING)], STRING,
            lambda items, sep: sep.join(items), "Elements joined by separator."),
        _fn(ns, "split", [("value", STRING), ("substring", STRING)], ListT(STRING), _split,
            "Split on every literal occurrence, keeping empty pieces."),
        _fn(ns, "contains", [("value", STRING), ("substring", STRING)], BOOLEAN,
            lambda v, s: s in v, "Substring test."),
        _fn(ns, "trim", [("value", STRING)], STRING, _trim,
            "Remove leading and trailing characters ≤ U+0020."),
        _fn(ns, "replace", [("value", STRING), ("target", STRING), ("replacement", STRING)],
            STRING, lambda v, t, r: v.replace(t, r), "Replace every literal occurrence."),
    ]


def _list() -> list[Function]:
    ns = "stdlib.list"
    lt = ListT(T)
    return [
        _fn(ns, "list-length", [("list", lt)], INT, len, "Length."),
        _fn(ns, "list-first", [("list", lt)], T, _first("list-first"), "First element."),
        _fn(ns, "list-last", [("list", lt)], T, _first("list-last"), "Last element."),
        _fn(ns, "list-is-empty", [("list", lt)], BOOLEAN, lambda xs: not xs,
            "Whether the list is empty."),
        _fn(ns, "list-sum", [("list", ListT(INT))], INT, lambda xs: _checked("list-sum", sum(xs)),
            "Sum, 0 for empty."),
        _fn(ns, "list-concat", [("a", lt), ("b", lt)], lt, lambda a, b: a + b, "a then b."),
        _fn(ns, "list-contains", [("list", lt), ("value", T)], BOOLEAN,
            lambda xs, v: any(equal(x, v) for x in xs), "Membership by structural equality."),
        _fn(ns, "list-reverse", [("list", lt)], lt, lambda xs: list(reversed(xs)), "Reversed."),
    ]


def _collection() -> list[Function]:
    ns = "stdlib.collection"
    items = ("items", ListT(T))
    pred = ("predicate", FunctionT((T,), BOOLEAN))
    return [
        _fn(ns, "filter", [items, pred], ListT(T), None,
            "Elements whose predicate is true, order kept.", higher_order=True),
        _fn(ns, "map", [items, ("transform", FunctionT((T,), U))], ListT(U), None,
            "Transform of each element, order kept.", higher_order=True),
        _fn(ns, "all", [items, pred], BOOLEAN, None,
            "True iff every predicate is true (true for empty).", higher_order=True),
        _fn(ns, "any", [items, pred], BOOLEAN, None,
            "True iff some predicate is true (false for empty).", higher_order=True),
    ]


def _compare() -> list[Function]:
    return [
        _cmp("eq-int", lambda a, b: a == b, "a = b"),
        _cmp("eq-string", lambda a, b: a == b, "a = b (case-sensitive)", STRING),
        _cmp("gt", lambda a, b: a > b, "a > b"),
        _cmp("lt", lambda a, b: a < b, "a < b"),
        _cmp("gte", lambda a, b: a >= b, "a ≥ b"),
        _cmp("lte", lambda a, b: a <= b, "a ≤ b"),
    ]


def _misc() -> list[Function]:
    reserved = "Registered for tooling only: the name is a reserved word; use the operator."
    return [
        _fn("stdlib.bool", "and", [("a", BOOLEAN), ("b", BOOLEAN)], BOOLEAN, _not_callable,
            reserved),
        _fn("stdlib.bool", "or", [("a", BOOLEAN), ("b", BOOLEAN)], BOOLEAN, _not_callable,
            reserved),
        _fn("stdlib.bool", "not", [("value", BOOLEAN)], BOOLEAN, _not_callable, reserved),
        _fn("stdlib", "identity", [("value", STRING)], STRING, lambda v: v,
            "Returns its argument."),
        _fn("stdlib.debug", "log", [("message", STRING)], STRING, _log,
            "Appends `[constellation-lang] <message>` to the run log; returns message."),
        _fn("stdlib.convert", "to-string", [("value", INT)], STRING, str, "Decimal text."),
        _fn("stdlib.convert", "to-int", [("value", FLOAT)], INT, _to_int,
            "Truncation toward zero."),
        _fn("stdlib.convert", "to-float", [("value", INT)], FLOAT, float, "Conversion."),
    ]


RESERVED_FUNCTIONS = frozenset({"stdlib.bool.and", "stdlib.bool.or", "stdlib.bool.not"})


def stdlib_functions() -> list[Function]:
    return _math() + _string() + _list() + _collection() + _compare() + _misc()


def stdlib_registry() -> Registry:
    return Registry(stdlib_functions())
