"""A tiny evaluator for constant expressions (`@example` values, LANGUAGE.md §3.4).

Constant: no variable references, no calls, no lambdas. Evaluation follows §5 and §10.5;
anything that would fail at run time (overflow, division by zero, a match) raises NotConstant,
and the example is then simply not recorded.
"""

from __future__ import annotations

import math

from constellation.compiler import ast
from constellation.compiler.values import (
    DivisionByZero, IntOverflow, MergeLengths, NotFinite, equal, float_op, int_negate, int_op,
    merge, render,
)


class NotConstant(Exception):
    pass


def is_constant(expr: ast.Expr) -> bool:
    return not any(isinstance(n, (ast.Var, ast.Call, ast.Lambda)) for n in ast.walk(expr))


def evaluate_constant(expr: ast.Expr) -> object:
    return _eval(expr)


def _int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise NotConstant("non-finite")
    return v


def _eval(e: ast.Expr) -> object:
    if isinstance(e, ast.Literal):
        return e.value
    if isinstance(e, ast.Interpolation):
        out = [e.parts[0]]
        for part, text in zip(e.exprs, e.parts[1:]):
            out += [render(_eval(part)), text]
        return "".join(out)
    if isinstance(e, ast.ListLit):
        return [_eval(x) for x in e.items]
    if isinstance(e, ast.RecordLit):
        out_rec: dict[str, object] = {}
        for name, value in e.fields:
            if name.text not in out_rec:
                out_rec[name.text] = _eval(value)
        return out_rec
    if isinstance(e, ast.Unary):
        v = _eval(e.operand)
        if e.op == "not":
            return not v
        if not _int(v):
            return _finite(-v)
        try:
            return int_negate(v)
        except IntOverflow:
            raise NotConstant("overflow") from None
    if isinstance(e, ast.Binary):
        return _binary(e)
    if isinstance(e, ast.Guard):
        return _eval(e.expr) if _eval(e.cond) else None
    if isinstance(e, ast.If):
        return _eval(e.then) if _eval(e.cond) else _eval(e.else_)
    if isinstance(e, ast.Branch):
        for cond, value in e.arms:
            if _eval(cond):
                return _eval(value)
        return _eval(e.otherwise)
    if isinstance(e, ast.FieldAccess):
        target = _eval(e.target)
        if isinstance(target, list):
            return [x[e.field.text] for x in target]
        return target[e.field.text]
    if isinstance(e, ast.Projection):
        target = _eval(e.target)
        pick = lambda r: {n.text: r[n.text] for n in e.fields}  # noqa: E731
        return [pick(x) for x in target] if isinstance(target, list) else pick(target)
    raise NotConstant(type(e).__name__)


def _binary(e: ast.Binary) -> object:
    if e.op == "and":
        return bool(_eval(e.left)) and bool(_eval(e.right))
    if e.op == "or":
        return bool(_eval(e.left)) or bool(_eval(e.right))
    if e.op == "??":
        left = _eval(e.left)
        return _eval(e.right) if left is None else left
    a, b = _eval(e.left), _eval(e.right)
    if e.op == "==":
        return equal(a, b)
    if e.op == "!=":
        return not equal(a, b)
    if e.op in ("<", ">", "<=", ">="):
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[e.op]  # type: ignore
    if e.op == "+" and (isinstance(a, (dict, list)) or isinstance(b, (dict, list))):
        try:
            return merge(a, b)
        except MergeLengths:
            raise NotConstant("lengths") from None
    if e.op == "+" and isinstance(a, str):
        return a + b  # type: ignore[operator]
    if _int(a) and _int(b):
        try:
            return int_op(e.op, a, b)  # type: ignore[arg-type]
        except (IntOverflow, DivisionByZero) as failed:
            raise NotConstant(type(failed).__name__) from None
    try:
        return float_op(e.op, float(a), float(b))  # type: ignore[arg-type]
    except (NotFinite, DivisionByZero) as failed:
        raise NotConstant(type(failed).__name__) from None

