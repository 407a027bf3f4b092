"""Read-only views of the plan's layers, shared by hover, inlay hints, code lens and commands.

Layers are never computed here: they are read from `Analysis.plan`.
"""

from __future__ import annotations

from dataclasses import dataclass

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis
from constellation.compiler.plan import PlanNode, calls_in


@dataclass
class BindingLayer:
    name: str
    layer: int
    depth: int
    node: PlanNode
    calls: list[PlanNode]  # module nodes of this binding's right-hand side
    others: list[PlanNode]  # other module nodes of the same layer

    @property
    def module(self) -> str | None:
        node = self.node if self.node.kind == "module" else (self.calls[0] if self.calls else None)
        return node.function.qualified if node is not None and node.function is not None else None


def call_label(node: PlanNode) -> str:
    """How a call is named next to another: its function's simple name as written."""
    if node.call is not None:
        return node.call.name[-1].text
    return node.label


def binding_layer(analysis: Analysis, name: str) -> BindingLayer | None:
    plan = analysis.plan
    node_id = plan.bindings.get(name)
    if node_id is None:
        return None
    node = plan.nodes[node_id]
    calls = binding_calls(analysis, name)
    own = {n.id for n in calls} | {node.id}
    others = [n for n in plan.module_layer(node.layer) if n.id not in own and not n.demand_driven]
    return BindingLayer(name, node.layer, plan.depth, node, calls, others)


def binding_calls(analysis: Analysis, name: str) -> list[PlanNode]:
    """Module nodes created by the canonical assignment of `name` (outside lambdas/fallbacks)."""
    sym = analysis.symbols.values.get(name)
    decl = sym.decl if sym is not None else None
    if not isinstance(decl, ast.Assignment):
        return []
    out = []
    for call in calls_in(decl.expr):
        node = analysis.plan.node_for_call(call)
        if node is not None:
            out.append(node)
    return out


def layer_text(layer: int, depth: int) -> str:
    return f"layer {layer} of {depth}"


def layers_json(analysis: Analysis) -> dict:
    """The layers as data (what `constellation.showLayers` returns)."""
    out = []
    for k, nodes in enumerate(analysis.plan.layers):
        out.append({"layer": k, "nodes": [node_json(analysis, n) for n in nodes]})
    return {"depth": analysis.plan.depth, "width": analysis.plan.width, "layers": out}


def node_json(analysis: Analysis, n: PlanNode) -> dict:
    line, column = analysis.source.line_col(n.span.start)
    return {"name": n.label, "kind": n.kind,
            "module": n.function.qualified if n.function is not None else None,
            "line": line, "column": column, "lazy": n.demand_driven}
