"""Inline expression evaluation (LANGUAGE.md §5, §10.2, §10.3) over the plan's IR (planir.py).

Expressions are evaluated on demand, left to right, with every short-circuit of §5. They read
plan nodes through a `context` (the run), which memoises nodes and runs module calls; calls
inside lambda bodies are not plan nodes and are run by the context as they are reached.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

import anyio

from constellation.compiler import planir as ir
from constellation.compiler import types as T
from constellation.compiler.values import (
    DivisionByZero, IntOverflow, MergeLengths, NotFinite, float_op, int_negate, int_op, merge,
)
from constellation.runtime import values
from constellation.runtime.errors import RunError


class Context(Protocol):
    """What the evaluator needs from the run."""

    plan: object  # line_col(offset)

    async def node_value(self, node_id: int, env: dict | None = None) -> object: ...

    async def inline_call(self, call: ir.Call, env: dict) -> object: ...


@dataclass
class Closure:
    """A lambda argument with the locals it captured and the values of the top-level
    bindings its body reads (§10.3: evaluated before it is applied)."""

    fn: ir.Lambda
    env: dict
    captures: dict

    @property
    def text(self) -> str:  # the lambda's source: with the captured values, its cache key
        return self.fn.text

    def cache_form(self) -> dict:
        return {"lambda": self.fn.text, "calls": list(self.fn.calls), "locals": self.env,
                "captures": self.captures}


def _coerced(t: T.Type | None, value: object) -> object:
    return value if t is None else values.coerce(value, t)


class Evaluator:
    def __init__(self, context: Context):
        self.ctx = context
        self.plan = context.plan

    def error(self, message: str, offset: int, function: str | None = None) -> RunError:
        line, col = self.plan.line_col(offset)
        return RunError(message, line, col, function)

    # -- dispatch -------------------------------------------------------------------------
    async def eval(self, e: object, env: dict) -> object:
        kind = type(e)
        if kind is ir.Ref:  # the commonest by far: a call's argument reading another node
            return await self.ctx.node_value(e.node, env)
        if kind is ir.Const:
            return e.value
        try:
            return await _METHODS[kind](self, e, env)
        except (TypeError, KeyError, AttributeError, IndexError, ValueError) as exc:
            # only reachable with a value that does not conform to its static type
            raise self.error(f"Cannot evaluate this expression: {type(exc).__name__}: {exc}",
                             _position(e)) from None

    async def eval_Local(self, e: ir.Local, env: dict) -> object:
        if e.name in env:
            return env[e.name]
        raise self.error(f"Undefined variable '{e.name}'", e.at)

    async def eval_Text(self, e: ir.Text, env: dict) -> object:
        out = [e.parts[0]]
        for sub, part in zip(e.exprs, e.parts[1:]):
            out.append(values.render(await self.eval(sub, env)))
            out.append(part)
        return "".join(out)

    async def eval_ListOf(self, e: ir.ListOf, env: dict) -> object:
        return _coerced(e.type, [await self.eval(item, env) for item in e.items])

    async def eval_RecordOf(self, e: ir.RecordOf, env: dict) -> object:
        out = {}
        for name, value in zip(e.names, e.items):
            out[name] = await self.eval(value, env)
        return _coerced(e.type, out)

    async def eval_Field(self, e: ir.Field, env: dict) -> object:
        target = await self.eval(e.target, env)
        if isinstance(target, list):
            return [self._field(x, e) for x in target]
        return self._field(target, e)

    def _field(self, record: object, e: ir.Field) -> object:
        if not isinstance(record, dict) or e.name not in record:
            raise self.error(f"Field '{e.name}' not found in the value", e.at)
        return record[e.name]

    async def eval_Project(self, e: ir.Project, env: dict) -> object:
        target = await self.eval(e.target, env)
        names = e.names

        def project(record: object) -> dict:
            if not isinstance(record, dict) or any(n not in record for n in names):
                raise self.error("Cannot project the value: a field is missing", e.at)
            return {n: record[n] for n in names}

        if isinstance(target, list):
            return [project(x) for x in target]
        return project(target)

    async def eval_Unary(self, e: ir.Unary, env: dict) -> object:
        v = await self.eval(e.operand, env)
        if e.op == "not":
            return not v
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.error("Operator '-' needs a number", e.at)
        if isinstance(v, int):
            return self._int_op("-", int_negate, (v,), e.at)
        return -v

    async def eval_Binary(self, e: ir.Binary, env: dict) -> object:
        op = e.op
        if op == "and":
            return bool(await self.eval(e.left, env)) and bool(await self.eval(e.right, env))
        if op == "or":
            return bool(await self.eval(e.left, env)) or bool(await self.eval(e.right, env))
        if op == "??":
            left = await self.eval(e.left, env)
            return _coerced(e.type, left if left is not None else await self.eval(e.right, env))
        left = await self.eval(e.left, env)
        right = await self.eval(e.right, env)
        if op in ("==", "!="):
            return values.equal(left, right) == (op == "==")
        if op in ("<", ">", "<=", ">="):
            return _compare(op, left, right)
        return self._arith(e, left, right)

    def _arith(self, e: ir.Binary, a: object, b: object) -> object:
        op, at = e.op, e.at
        if op == "+" and isinstance(a, str) and isinstance(b, str):
            return a + b
        if op == "+" and (isinstance(a, (dict, list)) or isinstance(b, (dict, list))):
            return _coerced(e.type, self._merge(a, b, at))
        result_type = e.type
        int_math = (result_type == T.INT) if result_type in (T.INT, T.FLOAT) else (
            _is_int(a) and _is_int(b))
        if int_math:
            return self._int_op(op, functools.partial(int_op, op), (int(a), int(b)), at)
        return self._float_op(op, float(a), float(b), at)

    def _int_op(self, op: str, fn, args: tuple[int, ...], at: int) -> int:
        try:
            return fn(*args)
        except IntOverflow:
            raise self.error(f"Integer overflow in '{op}'", at) from None
        except DivisionByZero:
            raise self.error("Division by zero", at) from None

    def _float_op(self, op: str, a: float, b: float, at: int) -> float:
        try:
            return float_op(op, a, b)
        except DivisionByZero:
            raise self.error("Division by zero", at) from None
        except NotFinite:
            raise self.error(f"Float result is not finite in '{op}'", at) from None

    def _merge(self, a: object, b: object, at: int) -> object:
        try:
            return merge(a, b)
        except MergeLengths as bad:
            raise self.error("Cannot merge lists of different lengths "
                             f"({bad.left} and {bad.right})", at) from None

    async def eval_Guard(self, e: ir.Guard, env: dict) -> object:
        if await self.eval(e.cond, env):
            return _coerced(e.type, await self.eval(e.expr, env))
        return None

    async def eval_If(self, e: ir.If, env: dict) -> object:
        branch = e.then if await self.eval(e.cond, env) else e.else_
        return _coerced(e.type, await self.eval(branch, env))

    async def eval_Branch(self, e: ir.Branch, env: dict) -> object:
        for cond, value in e.arms:
            if await self.eval(cond, env):
                return _coerced(e.type, await self.eval(value, env))
        return _coerced(e.type, await self.eval(e.otherwise, env))

    async def eval_Match(self, e: ir.Match, env: dict) -> object:
        subject = await self.eval(e.subject, env)
        for case in e.cases:
            bound = _match(case, subject)
            if bound is not None:
                return _coerced(e.type, await self.eval(case.body, {**env, **bound}))
        raise self.error("No case of the match applies to the value", e.at)

    async def eval_Lambda(self, e: ir.Lambda, env: dict) -> object:
        captures = {}
        for name, node in e.captures:  # a failure here fails the call (§10.2)
            captures[name] = await self.ctx.node_value(node)
        return Closure(e, env, captures)

    async def eval_Call(self, e: ir.Call, env: dict) -> object:
        return await self.ctx.inline_call(e, env)  # a call node is lowered to its Ref

    # -- calls ----------------------------------------------------------------------------
    async def eval_args(self, call: ir.Call, env: dict) -> list[object]:
        """Arguments left to right; lambdas become closures."""
        return [await self.eval(arg, env) for arg in call.args]

    async def apply(self, closure: Closure, args: list[object]) -> object:
        env = dict(closure.env)
        for name, value, t in zip(closure.fn.params, args, closure.fn.param_types):
            env[name] = _coerced(t, value)  # §4.5: to the parameter's type
        return await self.eval(closure.fn.body, env)


# each IR kind's evaluation method, found once (not per run: small runs are common)
_METHODS = {cls: getattr(Evaluator, "eval_" + name) for name, cls in ir.KINDS.items()
            if hasattr(Evaluator, "eval_" + name)}


def _match(case: ir.Case, value: object) -> dict | None:
    """Locals bound by a matching case's pattern (coerced to their types, §4.5), or None."""
    if case.kind == "wildcard":
        return {}
    if case.kind == "record":
        if isinstance(value, dict) and all(n in value for n in case.names):
            return {n: _coerced(t, value[n]) for n, t in zip(case.names, case.local_types)}
        return None
    if case.tested is not None and values.conforms_exact(value, case.tested):
        return {}
    return None


def _compare(op: str, a: object, b: object) -> bool:
    if isinstance(a, float) != isinstance(b, float) and not isinstance(a, str):
        a, b = float(a), float(b)  # numeric order after widening (an Int beside a Float)
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "<=":
        return a <= b
    return a >= b


def _position(e: object) -> int:
    at = getattr(e, "at", None)
    if at is None:
        span = getattr(e, "span", None)
        at = span.start if span is not None else 0
    return at


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


async def apply_higher_order(evaluator: Evaluator, name: str, items: list, closure: Closure
                             ) -> object:
    """§10.3: apply the lambda to every element concurrently; the lowest-index failure wins
    after all applications have settled."""
    results: list[object] = [None] * len(items)
    failures: dict[int, BaseException] = {}

    async def one(i: int, item: object) -> None:
        try:
            results[i] = await evaluator.apply(closure, [item])
        except RunError as exc:
            failures[i] = exc

    async with anyio.create_task_group() as tg:
        for i, item in enumerate(items):
            tg.start_soon(one, i, item)
    if failures:
        raise failures[min(failures)]
    if name == "filter":
        return [x for x, keep in zip(items, results) if keep]
    if name == "map":
        return results
    if name == "all":
        return all(bool(r) for r in results)
    return any(bool(r) for r in results)
