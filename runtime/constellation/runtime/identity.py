"""What makes two runs, two calls or two versions of a module the same: the hashes that run
records, the persistent cache and pipeline tests compare.

`plan_hash` is the one place that says what a plan's identity is: today a hash of the plan's
canonical content (nodes, their calls' text, functions, options and edges); when the Plan has a
JSON form of its own (issue 15) it becomes the hash of that.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json

from constellation.compiler.registry import Function
from constellation.runtime import values
from constellation.runtime.evaluate import Closure

__all__ = ["args_hash", "args_key", "code_version", "plan_hash", "value_hash"]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def value_hash(value: object) -> str:
    """SHA-256 of a value's canonical JSON (how large values are stored once)."""
    return _digest(values.canonical_json(value))


def args_key(args: list) -> tuple[str, str]:
    """A call's arguments as canonical JSON and its hash (lambdas by their text and captured
    values, as the cache keys them)."""
    text = values.canonical_json([a.cache_form() if isinstance(a, Closure) else a for a in args])
    return text, _digest(text)


def args_hash(args: list) -> str:
    return args_key(args)[1]


_VERSIONS: dict[int, str] = {}  # id(impl) -> its code version (a module's code is fixed in a run)


def code_version(fn: Function) -> str:
    """A hash of the module function's source (its code, when the source cannot be read):
    a cache entry or a recorded call of an older version of the function does not count."""
    impl = fn.impl
    if impl is None:
        return ""
    known = _VERSIONS.get(id(impl))
    if known is None:
        user = inspect.unwrap(impl)
        try:
            text = inspect.getsource(user)
        except (OSError, TypeError):
            code = getattr(user, "__code__", None)
            text = repr((code.co_code, code.co_consts)) if code is not None else fn.qualified
        known = _VERSIONS[id(impl)] = _digest(fn.signature() + "\n" + text)[:16]
    return known


def plan_hash(analysis) -> str:
    """The identity of a pipeline's plan: the same for a re-run of an unchanged pipeline,
    different when a call, an option, an edge or a signature changed."""
    plan, text = analysis.plan, analysis.source.text
    nodes = []
    for n in plan.nodes:
        nodes.append({
            "id": n.id, "kind": n.kind, "layer": n.layer, "names": list(n.names),
            "deps": list(n.deps),
            "code": text[n.span.start:n.span.end] if n.kind == "module" else None,
            "expr": _expr_text(n, text),
            "function": n.function.signature() if n.function else None,
            "options": _options(n.options),
            "demand_driven": n.demand_driven,
        })
    content = {"nodes": nodes, "inputs": list(plan.inputs), "outputs": list(plan.outputs)}
    return _digest(json.dumps(content, sort_keys=True, default=str))[:16]


def _expr_text(node, text: str) -> str | None:
    span = getattr(node.expr, "span", None)
    return None if span is None else text[span.start:span.end]


def _options(options) -> dict | None:
    if options is None:
        return None
    return {f.name: repr(getattr(options, f.name)) for f in dataclasses.fields(options)}
