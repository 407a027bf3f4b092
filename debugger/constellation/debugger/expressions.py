"""`.cst` expressions in the debugger: breakpoint conditions and the debug console.

An expression is checked by the compiler itself, in a small program that declares every
value in scope as an input of its type, and evaluated by the runtime's own evaluator over
the values the run has settled. Expressions never call functions: a module runs only in the
run's child process, so a call is refused with a sentence.
"""

from __future__ import annotations

from typing import Any

from constellation.compiler import analyze
from constellation.compiler import types as T
from constellation.compiler.registry import Registry
from constellation.compiler.values import coerce
from constellation.runtime.errors import RunError
from constellation.runtime.evaluate import Evaluator

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
        calls = [n for n in self.analysis.plan.nodes if n.kind == "module"]
        if calls:
            name = calls[0].function.qualified if calls[0].function else "a function"
            raise ExpressionError(
                f"The debugger does not call functions ('{name}'): modules run only in the "
                "run itself. Use the values in scope.")
        self.type = self.analysis.check.binding_types.get(RESULT)
        self.text = text

    def type_text(self) -> str:
        return T.type_str(self.type) if self.type is not None else "?"

    async def evaluate(self, values: dict[str, Any]) -> Any:
        scope = Scope(self.analysis, values, {})
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


class Scope:
    """The evaluator's context over what a run has settled: input values by name, call
    values by node id; other bindings are evaluated from those (memoised), over the
    analysis's executable plan as the run evaluates them. A value not settled yet raises
    NotSettled; nothing is ever called."""

    def __init__(self, analysis, inputs: dict[str, Any], calls: dict[int, Any]) -> None:
        self.plan = analysis.executable_plan
        self.inputs = inputs
        self.calls = calls
        self.memo: dict[int, Any] = {}
        self.evaluator = Evaluator(self)

    async def value(self, name: str) -> Any:
        return await self.node_value(self.plan.bindings[name])

    async def node_value(self, node_id: int, env: dict | None = None) -> object:
        node = self.plan.nodes[node_id]
        if node.kind == "input":
            if node.name in self.inputs:
                return self.inputs[node.name]
            raise NotSettled(node.name)
        if node.kind == "module":
            if node_id in self.calls:
                return self.calls[node_id]
            raise NotSettled(node.label)
        if node_id not in self.memo:
            value = await self.evaluator.eval(node.code, {})
            self.memo[node_id] = value if node.type is None else coerce(value, node.type)
        return self.memo[node_id]

    async def inline_call(self, call, env: dict) -> object:  # a call in a lambda body
        fn = self.plan.functions[call.fn] if call.fn >= 0 else None
        raise NotSettled(fn.qualified if fn is not None else call.label)
