"""`.cst` expressions in the debugger: breakpoint conditions and the debug console.

An expression is checked by the compiler itself, in a small program that declares every
value in scope as an input of its type, and evaluated by the runtime's own evaluator over
the values the run has settled. Expressions call the standard library's pure functions
(`list-length`, `list-contains`, `any`, `map`, ... — how a condition looks into a list, which
the language does not index), never a module: a module runs only in the run's child process,
so a call of one (or of `log`, which writes the run's log) is refused with a sentence.
"""

from __future__ import annotations

from typing import Any

from constellation.compiler import analyze
from constellation.compiler import types as T
from constellation.compiler.registry import Function, Registry
from constellation.compiler.stdlib import stdlib_registry
from constellation.compiler.values import coerce
from constellation.runtime.errors import RunError
from constellation.runtime.evaluate import Closure, Evaluator, apply_higher_order

from constellation.debugger.whole import Whole, as_is

RESULT = "cstDebuggerValue"


class ExpressionError(Exception):
    """The expression cannot be evaluated: the message is a sentence."""


def _declarable(t: T.Type | None) -> bool:
    if t is None or t is T.ERROR:
        return False
    text = T.type_str(t)
    return "=>" not in text and not any(isinstance(x, T.TypeVar) for x in _parts(t))


def _parts(t: T.Type):
    yield t
    for child in (getattr(t, "elem", None), getattr(t, "value", None)):
        if child is not None:
            yield from _parts(child)
    for _, ft in getattr(t, "fields", ()) or ():
        yield from _parts(ft)
    for m in getattr(t, "members", ()) or ():
        yield from _parts(m)


class Compiled:
    """An expression the compiler accepted in a scope of names and types."""

    def __init__(self, text: str, scope_types: dict[str, T.Type], registry: Registry) -> None:
        if not text.strip():
            raise ExpressionError("Type an expression over the values in scope, e.g. a name.")
        names = {n: t for n, t in scope_types.items() if _declarable(t) and n != RESULT}
        head = "".join(f"in {n}: {T.type_str(t)}\n" for n, t in names.items())
        prefix = head + f"{RESULT} = "
        program = prefix + text.replace("\n", " ") + f"\nout {RESULT}\n"
        self.analysis = analyze(program, registry)
        errors = [d for d in self.analysis.diagnostics if d.is_error]
        if errors:
            d = errors[0]
            column = d.span.start - len(prefix) + 1
            where = f"column {column}: " if 1 <= column <= len(text) + 1 else ""
            raise ExpressionError(f"{where}{d.message}")
        plan = self.analysis.executable_plan
        refused = [ref.qualified for ref in plan.functions if pure(ref.qualified) is None]
        if refused:
            raise ExpressionError(
                f"The debugger does not call functions ('{refused[0]}'): modules run only in "
                "the run itself. Use the values in scope and the standard library.")
        self.type = self.analysis.check.binding_types.get(RESULT)
        self.text = text

    def type_text(self) -> str:
        return T.type_str(self.type) if self.type is not None else "?"

    async def evaluate(self, outer: Scope) -> Any:
        """The value over the run's scope `outer`: only the values it names are computed
        (and fetched whole)."""
        scope = Scope(self.analysis, {}, {}, pure_calls=True, outer=outer)
        try:
            return await scope.value(RESULT)
        except NotSettled as exc:
            raise ExpressionError(f"'{exc.name}' has no value yet: its call has not "
                                  "completed.") from None
        except RunError as exc:
            raise ExpressionError(exc.message) from None


class NotSettled(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def pure(qualified: str) -> Function | None:
    """The standard library's function `qualified` if the debugger may call it (no module,
    and not `log`, whose effect is on the run's log)."""
    if not qualified.startswith("stdlib.") or qualified == "stdlib.debug.log":
        return None
    fn = _STDLIB.lookup(qualified)
    return fn if fn is not None and (fn.impl is not None or fn.higher_order) else None


_STDLIB = stdlib_registry()


class Scope:
    """The evaluator's context over what a run has settled: input values by name, call
    values by node id (made whole by `whole`); other bindings are evaluated from those
    (memoised), over the analysis's executable plan as the run evaluates them. A value not
    settled yet raises NotSettled. With `pure_calls` (an expression), the standard library's
    pure functions are called here; a module never is."""

    def __init__(self, analysis, inputs: dict[str, Any], calls: dict[int, Any],
                 whole: Whole = as_is, *, pure_calls: bool = False,
                 outer: Scope | None = None) -> None:
        self.plan = analysis.executable_plan
        self.inputs = inputs
        self.calls = calls
        self.whole = whole
        self.pure_calls = pure_calls
        self.outer = outer  # an expression's inputs are the run's values of those names
        self.memo: dict[int, Any] = {}
        self.evaluator = Evaluator(self)

    async def value(self, name: str) -> Any:
        return await self.node_value(self.plan.bindings[name])

    async def node_value(self, node_id: int, env: dict | None = None) -> object:
        node = self.plan.nodes[node_id]
        if node.kind == "input":
            if node.name in self.inputs:
                return self.inputs[node.name]
            if self.outer is not None:
                return await self.outer.value(node.name)
            raise NotSettled(node.name)
        if node.kind == "module":
            if node_id in self.calls:
                return await self.whole(("node", node_id), self.calls[node_id])
            if self.pure_calls and node_id not in self.memo:
                self.memo[node_id] = await self.call(node.code, node.fn, env or {})
            if node_id in self.memo:
                return self.memo[node_id]
            raise NotSettled(node.label)
        if node_id not in self.memo:
            value = await self.evaluator.eval(node.code, {})
            self.memo[node_id] = value if node.type is None else coerce(value, node.type)
        return self.memo[node_id]

    async def inline_call(self, call, env: dict) -> object:  # a call in a lambda body
        if self.pure_calls and call.fn >= 0:
            return await self.call(call, call.fn, env)
        fn = self.plan.functions[call.fn] if call.fn >= 0 else None
        raise NotSettled(fn.qualified if fn is not None else call.label)

    async def call(self, call, fn_index: int, env: dict) -> object:
        """A standard library call of an expression (Compiled refused every other)."""
        fn = pure(self.plan.functions[fn_index].qualified)
        assert fn is not None
        args = [a if isinstance(a, Closure) else coerce(a, t)
                for a, (_, t) in zip(await self.evaluator.eval_args(call, env), fn.params)]
        if fn.higher_order:
            return await apply_higher_order(self.evaluator, fn.name, args[0], args[1])
        try:
            return fn.impl(*args)
        except RunError:
            raise
        except Exception as exc:  # the standard library's own failures (an empty list's first)
            raise RunError(f"{fn.qualified}: {exc}") from None
