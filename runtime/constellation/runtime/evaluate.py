"""Inline expression evaluation (LANGUAGE.md §5, §10.2, §10.3).

Expressions are evaluated on demand, left to right, with every short-circuit of §5. They read
top-level values and call nodes through a `context` (the executor), which memoises nodes and
runs module calls; calls inside lambda bodies are not DAG nodes and are run by the context as
they are reached.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

from constellation.compiler import ast
from constellation.compiler import types as T
from constellation.compiler.symbols import Symbol
from constellation.compiler.values import (
    DivisionByZero, IntOverflow, MergeLengths, NotFinite, float_op, int_negate, int_op, merge,
)
from constellation.runtime import values
from constellation.runtime.errors import RunError


class Context(Protocol):
    """What the evaluator needs from the executor."""

    analysis: Any

    async def node_value(self, node_id: int, env: dict | None = None) -> object: ...

    async def inline_call(self, call: ast.Call, env: dict) -> object: ...


@dataclass
class Closure:
    """A lambda argument with the locals it captured and the values of the top-level
    bindings its body reads (§10.3: evaluated before it is applied)."""

    fn: ast.Lambda
    env: dict
    captures: dict
    text: str  # the lambda's source: with the captured values, what a cache key hashes
    calls: list  # the qualified functions its calls resolve to (the same text may differ)

    def cache_form(self) -> dict:
        return {"lambda": self.text, "calls": self.calls, "locals": self.env,
                "captures": self.captures}


class Evaluator:
    def __init__(self, context: Context):
        self.ctx = context
        analysis = context.analysis
        self.source = analysis.source
        self.check = analysis.check
        self.plan = analysis.plan
        self._captured: dict[int, tuple[list[str], list[str]]] = {}  # lambda id -> lambda_reads

    @functools.cached_property
    def pattern_symbols(self) -> dict[tuple[int, str], Symbol]:
        """(case, name) -> the symbol a record pattern binds, with its type."""
        return {(id(sym.decl), sym.name): sym for sym in self.check.symbols.locals
                if sym.kind == "pattern"}

    # -- helpers --------------------------------------------------------------------------
    def error(self, message: str, offset: int, function: str | None = None) -> RunError:
        line, col = self.source.line_col(offset)
        return RunError(message, line, col, function)

    def static_type(self, expr: object) -> T.Type | None:
        return self.check.expr_types.get(id(expr))

    def coerced(self, expr: object, value: object) -> object:
        t = self.static_type(expr)
        return value if t is None else values.coerce(value, t)

    # -- dispatch -------------------------------------------------------------------------
    async def eval(self, expr: ast.Expr, env: dict) -> object:
        method = getattr(self, "eval_" + type(expr).__name__)
        try:
            return await method(expr, env)
        except (TypeError, KeyError, AttributeError, IndexError, ValueError) as exc:
            # only reachable with a value that does not conform to its static type
            raise self.error(f"Cannot evaluate this expression: {type(exc).__name__}: {exc}",
                             expr.span.start) from None

    async def eval_Var(self, e: ast.Var, env: dict) -> object:
        sym = self.check.var_symbols.get(id(e))
        name = e.name.text
        if (sym is None or not sym.is_top_level_value) and name in env:
            return env[name]
        node_id = self.plan.bindings.get(sym.name if sym is not None else name)
        if node_id is None:
            if name in env:
                return env[name]
            raise self.error(f"Undefined variable '{name}'", e.span.start)
        return await self.ctx.node_value(node_id)

    async def eval_Literal(self, e: ast.Literal, env: dict) -> object:
        return e.value

    async def eval_Interpolation(self, e: ast.Interpolation, env: dict) -> object:
        out = [e.parts[0]]
        for sub, part in zip(e.exprs, e.parts[1:]):
            out.append(values.render(await self.eval(sub, env)))
            out.append(part)
        return "".join(out)

    async def eval_ListLit(self, e: ast.ListLit, env: dict) -> object:
        items = [await self.eval(item, env) for item in e.items]
        return self.coerced(e, items)

    async def eval_RecordLit(self, e: ast.RecordLit, env: dict) -> object:
        out = {}
        for name, value in e.fields:
            out[name.text] = await self.eval(value, env)
        return self.coerced(e, out)

    async def eval_FieldAccess(self, e: ast.FieldAccess, env: dict) -> object:
        target = await self.eval(e.target, env)
        field = e.field.text
        if isinstance(target, list):
            return [self._field(x, field, e) for x in target]
        return self._field(target, field, e)

    def _field(self, record: object, field: str, e: ast.FieldAccess) -> object:
        if not isinstance(record, dict) or field not in record:
            raise self.error(f"Field '{field}' not found in the value", e.dot)
        return record[field]

    async def eval_Projection(self, e: ast.Projection, env: dict) -> object:
        target = await self.eval(e.target, env)
        names = [f.text for f in e.fields]

        def project(record: object) -> dict:
            if not isinstance(record, dict) or any(n not in record for n in names):
                raise self.error("Cannot project the value: a field is missing", e.span.start)
            return {n: record[n] for n in names}

        if isinstance(target, list):
            return [project(x) for x in target]
        return project(target)

    async def eval_Unary(self, e: ast.Unary, env: dict) -> object:
        v = await self.eval(e.operand, env)
        if e.op == "not":
            return not v
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.error("Operator '-' needs a number", e.span.start)
        if isinstance(v, int):
            return self._int_op("-", int_negate, (v,), e.span.start)
        return -v

    async def eval_Binary(self, e: ast.Binary, env: dict) -> object:
        op = e.op
        if op == "and":
            return bool(await self.eval(e.left, env)) and bool(await self.eval(e.right, env))
        if op == "or":
            return bool(await self.eval(e.left, env)) or bool(await self.eval(e.right, env))
        if op == "??":
            left = await self.eval(e.left, env)
            return self.coerced(e, left if left is not None else await self.eval(e.right, env))
        left = await self.eval(e.left, env)
        right = await self.eval(e.right, env)
        if op in ("==", "!="):
            return values.equal(left, right) == (op == "==")
        if op in ("<", ">", "<=", ">="):
            return self._compare(op, left, right)
        return self._arith(e, left, right)

    def _compare(self, op: str, a: object, b: object) -> bool:
        if isinstance(a, float) != isinstance(b, float) and not isinstance(a, str):
            a, b = float(a), float(b)  # numeric order after widening (an Int beside a Float)
        if op == "<":
            return a < b
        if op == ">":
            return a > b
        if op == "<=":
            return a <= b
        return a >= b

    def _arith(self, e: ast.Binary, a: object, b: object) -> object:
        op, at = e.op, e.op_span.start
        if op == "+" and isinstance(a, str) and isinstance(b, str):
            return a + b
        if op == "+" and (isinstance(a, (dict, list)) or isinstance(b, (dict, list))):
            return self.coerced(e, self._merge(a, b, at))
        result_type = self.static_type(e)
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

    async def eval_Guard(self, e: ast.Guard, env: dict) -> object:
        if await self.eval(e.cond, env):
            return self.coerced(e, await self.eval(e.expr, env))
        return None

    async def eval_If(self, e: ast.If, env: dict) -> object:
        branch = e.then if await self.eval(e.cond, env) else e.else_
        return self.coerced(e, await self.eval(branch, env))

    async def eval_Branch(self, e: ast.Branch, env: dict) -> object:
        for cond, value in e.arms:
            if await self.eval(cond, env):
                return self.coerced(e, await self.eval(value, env))
        return self.coerced(e, await self.eval(e.otherwise, env))

    async def eval_Match(self, e: ast.Match, env: dict) -> object:
        subject = await self.eval(e.subject, env)
        for case in e.cases:
            bound = self._match(case.pattern, subject)
            if bound is not None:
                bound = {name: self._coerced_local(name, case, value)
                         for name, value in bound.items()}
                return self.coerced(e, await self.eval(case.body, {**env, **bound}))
        raise self.error("No case of the match applies to the value", e.keyword.start)

    def _coerced_local(self, name: str, case: ast.Case, value: object) -> object:
        """A pattern binding coerced to its type (§4.5), e.g. a field whose type is the common
        type of the record members it may come from."""
        sym = self.pattern_symbols.get((id(case), name))
        return value if sym is None or sym.type is None else values.coerce(value, sym.type)

    def _match(self, pattern: ast.Pattern, value: object) -> dict | None:
        """Locals bound by a matching pattern, or None when it does not match."""
        if isinstance(pattern, ast.WildcardPattern):
            return {}
        if isinstance(pattern, ast.RecordPattern):
            names = [f.text for f in pattern.fields]
            if isinstance(value, dict) and all(n in value for n in names):
                return {n: value[n] for n in names}
            return None
        name = pattern.type_name.text
        tau = self.check.alias_types.get(name) or T.PRIMITIVES.get(name)
        if tau is not None and values.conforms_exact(value, tau):
            return {}
        return None

    async def eval_Lambda(self, e: ast.Lambda, env: dict) -> object:
        names, calls = self.lambda_reads(e)
        captures = {}
        for name in names:  # a failure here fails the call (§10.2)
            captures[name] = await self.ctx.node_value(self.plan.bindings[name])
        return Closure(e, env, captures, self.source.text[e.span.start:e.span.end], calls)

    def lambda_reads(self, e: ast.Lambda) -> tuple[list[str], list[str]]:
        """What the lambda's body reads, found once per lambda: the top-level bindings (and
        inputs) in source order, and the qualified functions its calls resolve to."""
        found = self._captured.get(id(e))
        if found is None:
            names: dict[int, str] = {}
            calls: set[str] = set()
            for node in ast.walk(e.body):
                if isinstance(node, ast.Var):
                    sym = self.check.var_symbols.get(id(node))
                    if sym is not None and sym.is_top_level_value \
                            and sym.name in self.plan.bindings:
                        names.setdefault(node.span.start, sym.name)
                elif isinstance(node, ast.Call):
                    fn = self.check.call_targets.get(id(node))
                    if fn is not None:
                        calls.add(fn.qualified)
            found = self._captured[id(e)] = (
                list(dict.fromkeys(names[k] for k in sorted(names))), sorted(calls))
        return found

    async def eval_Call(self, e: ast.Call, env: dict) -> object:
        node_id = self.plan.call_nodes.get(id(e))
        if node_id is not None:
            # a call in a match case body may read the case's pattern bindings (§10.2)
            return await self.ctx.node_value(node_id, env)
        return await self.ctx.inline_call(e, env)

    # -- calls ----------------------------------------------------------------------------
    async def eval_args(self, call: ast.Call, env: dict) -> list[object]:
        """Arguments left to right; lambdas become closures."""
        return [await self.eval(arg, env) for arg in call.args]

    async def apply(self, closure: Closure, args: list[object]) -> object:
        env = dict(closure.env)
        fn_type = self.static_type(closure.fn)
        types = fn_type.params if isinstance(fn_type, T.FunctionT) else ()
        for param, value, t in zip(closure.fn.params, args, types):
            env[param.name.text] = values.coerce(value, t)  # §4.5: to the parameter's type
        return await self.eval(closure.fn.body, env)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


HIGHER_ORDER = ("filter", "map", "all", "any")


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
