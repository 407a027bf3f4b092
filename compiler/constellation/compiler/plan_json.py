"""An executable Plan as JSON and back (docs/plan.md): for inspection, records and replay.

The schema is versioned (`PLAN_FORMAT`); a document of another version, or one that is not a
plan, is refused with a sentence. Types are written as registry_json writes them; IR nodes as
`{"k": kind, ...fields}`; constants are JSON values already (the value model of §4).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from constellation.compiler import planir as ir
from constellation.compiler import types as T
from constellation.compiler.options import CallOptions
from constellation.compiler.plan import Plan, PlanNode
from constellation.compiler.registry_json import type_from_json, type_to_json

PLAN_FORMAT = "constellation-plan/1"
_NODE_FIELDS = ("id", "kind", "layer", "line", "column", "names", "deps", "demand_driven",
                "fallback_owner", "fn", "callee")


class PlanFormatError(ValueError):
    """The data is not a plan written by `plan_to_json` (of this version)."""


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "format": PLAN_FORMAT,
        "inputs": list(plan.inputs), "outputs": list(plan.outputs),
        "bindings": dict(plan.bindings),
        "functions": [dataclasses.asdict(f) for f in plan.functions],
        "line_starts": list(plan.line_starts),
        "examples": plan.examples,
        "nodes": [_node_to_json(n) for n in plan.nodes],
    }


def plan_from_json(data: Any) -> Plan:
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise PlanFormatError(f"not a {PLAN_FORMAT} document" + (
            f" (its format is {found!r})" if found else ""))
    try:
        plan = Plan(bindings={k: int(v) for k, v in data["bindings"].items()},
                    outputs=list(data["outputs"]), inputs=list(data["inputs"]))
        plan.functions = [ir.FnRef(**f) for f in data["functions"]]
        plan.line_starts = [int(x) for x in data["line_starts"]]
        plan.examples = dict(data["examples"])
        plan.nodes = [_node_from_json(n) for n in data["nodes"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFormatError(f"a malformed plan document: {type(exc).__name__}: {exc}"
                              ) from None
    return plan


# -- nodes ----------------------------------------------------------------------------------
def _node_to_json(n: PlanNode) -> dict[str, Any]:
    out = {k: getattr(n, k) for k in _NODE_FIELDS}
    out["span"] = [n.span.start, n.span.end]
    out["pattern_bindings"] = list(n.pattern_bindings)
    out["type"] = None if n.type is None else type_to_json(n.type)
    out["code"] = _to_json(n.code)
    return out


def _node_from_json(d: dict) -> PlanNode:
    n = PlanNode(**{k: d[k] for k in _NODE_FIELDS}, span=ir.Span(*d["span"]))
    n.pattern_bindings = tuple(d["pattern_bindings"])
    n.type = None if d["type"] is None else type_from_json(d["type"])
    n.code = _from_json(d["code"])
    if isinstance(n.code, ir.Call):
        n.options = n.code.options
    return n


# -- IR -------------------------------------------------------------------------------------
def _to_json(x: object) -> object:
    if isinstance(x, T.Type):
        return {"k": "type", "t": type_to_json(x)}
    if isinstance(x, CallOptions):
        return {"k": "options", **{f.name: _to_json(getattr(x, f.name))
                                   for f in dataclasses.fields(x)}}
    if isinstance(x, ir.Span):
        return {"k": "span", "start": x.start, "end": x.end}
    if isinstance(x, ir.Const):  # its value is plain JSON: never walked as IR
        return {"k": "Const", "value": x.value}
    if type(x).__name__ in ir.KINDS and isinstance(x, ir.KINDS[type(x).__name__]):
        return {"k": type(x).__name__, **{f.name: _to_json(getattr(x, f.name))
                                         for f in dataclasses.fields(x)}}
    if isinstance(x, (tuple, list)):
        return [_to_json(i) for i in x]
    return x  # str, int, float, bool, None


def _from_json(x: object) -> object:
    if isinstance(x, list):
        return tuple(_from_json(i) for i in x)
    if not isinstance(x, dict):
        return x
    kind = x["k"]
    if kind == "type":
        return type_from_json(x["t"])
    if kind == "options":
        fields = {k: _from_json(v) for k, v in x.items() if k != "k"}
        return CallOptions(**fields)
    if kind == "span":
        return ir.Span(x["start"], x["end"])
    if kind == "Const":
        return ir.Const(x["value"])
    cls = ir.KINDS.get(kind)
    if cls is None:
        raise PlanFormatError(f"unknown plan expression kind '{kind}'")
    return cls(**{k: _from_json(v) for k, v in x.items() if k != "k"})
