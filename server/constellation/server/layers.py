"""Read-only views of the plan's layers, shared by hover, inlay hints, code lens and commands.

Layers are never computed here: they are read from `Analysis.plan`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis
from constellation.compiler.plan import PlanNode


@dataclass
class BindingLayer:
    name: str
    layer: int
    depth: int
    node: PlanNode
    calls: list[PlanNode]  # module nodes of this binding's right-hand side
    others: list[PlanNode]  # other module nodes of the same layer (the first `limit`)
    other_count: int = 0  # how many there are in all

    @property
    def runnable(self) -> bool:
        """Calls modules, all of which resolved: a call to an undefined function (E002) gets
        no layer annotation, since that binding cannot run until it is fixed."""
        return bool(self.calls) and all(n.function is not None for n in self.calls)

    @property
    def producers(self) -> list[str]:
        """The functions whose calls give the binding its layer (the last to run before its
        value exists): the binding's own call, or those of its calls in its layer."""
        nodes = [self.node] if self.node.kind == "module" else \
            [n for n in self.calls if n.layer == self.layer]
        names = [n.function.qualified for n in nodes if n.function is not None]
        return list(dict.fromkeys(names))


def call_label(node: PlanNode) -> str:
    """How a call is named next to another: its function's simple name as written."""
    if node.call is not None:
        return node.call.name[-1].text
    return node.label


_INDEX: dict[int, tuple[Analysis, dict[int, list[PlanNode]], int]] = {}
_INDEX_SIZE = 8


def module_layers(analysis: Analysis) -> tuple[dict[int, list[PlanNode]], int]:
    """Layer -> module nodes, and the depth, grouped once per analysis (features ask per
    binding; scanning the plan each time would be quadratic on large files)."""
    hit = _INDEX.get(id(analysis))
    if hit is not None and hit[0] is analysis:
        return hit[1], hit[2]
    by_layer: dict[int, list[PlanNode]] = {}
    for n in analysis.plan.nodes:
        # lazy calls do not run with a layer; calls to undefined functions (E002) do not run
        if n.kind == "module" and not n.demand_driven and n.function is not None:
            by_layer.setdefault(n.layer, []).append(n)
    depth = analysis.plan.depth
    if len(_INDEX) >= _INDEX_SIZE:
        _INDEX.pop(next(iter(_INDEX)))
    _INDEX[id(analysis)] = (analysis, by_layer, depth)
    return by_layer, depth


def binding_layer(analysis: Analysis, name: str, limit: int | None = None) -> BindingLayer | None:
    plan = analysis.plan
    node_id = plan.bindings.get(name)
    if node_id is None:
        return None
    node = plan.nodes[node_id]
    calls = binding_calls(analysis, name)
    own = {n.id for n in calls} | {node.id}
    by_layer, depth = module_layers(analysis)
    layer_nodes = by_layer.get(node.layer, [])
    own_here = sum(1 for n in calls if n.layer == node.layer and not n.demand_driven)
    if node.kind == "module" and not node.demand_driven and all(n.id != node.id for n in calls):
        own_here += 1
    others: list[PlanNode] = []
    for n in layer_nodes:  # stops after `limit`: own nodes are few, so this is short
        if limit is not None and len(others) >= limit:
            break
        if n.id not in own:
            others.append(n)
    return BindingLayer(name, node.layer, depth, node, calls, others, len(layer_nodes) - own_here)


_CALLS: dict[int, tuple[Analysis, dict[int, list[PlanNode]]]] = {}


def binding_calls(analysis: Analysis, name: str) -> list[PlanNode]:
    """Module nodes created by the canonical assignment of `name` (outside lambdas/fallbacks)."""
    sym = analysis.symbols.values.get(name)
    decl = sym.decl if sym is not None else None
    if not isinstance(decl, ast.Assignment):
        return []
    return calls_by_declaration(analysis).get(id(decl), [])


def calls_by_declaration(analysis: Analysis) -> dict[int, list[PlanNode]]:
    """id(assignment) -> its module nodes, grouped once per analysis by span containment."""
    hit = _CALLS.get(id(analysis))
    if hit is not None and hit[0] is analysis:
        return hit[1]
    decls = sorted((d for d in analysis.decls if isinstance(d, ast.Assignment)), key=lambda d: d.span.start)
    starts = [d.span.start for d in decls]
    grouped: dict[int, list[PlanNode]] = {}
    for node in analysis.plan.nodes:
        if node.kind != "module" or node.call is None or node.fallback_owner is not None:
            continue
        i = bisect.bisect_right(starts, node.call.span.start) - 1
        if i >= 0 and node.call.span.end <= decls[i].span.end:
            grouped.setdefault(id(decls[i]), []).append(node)
    for nodes in grouped.values():
        nodes.sort(key=lambda n: n.call.span.start)
    if len(_CALLS) >= _INDEX_SIZE:
        _CALLS.pop(next(iter(_CALLS)))
    _CALLS[id(analysis)] = (analysis, grouped)
    return grouped


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
