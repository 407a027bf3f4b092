"""The pipeline's graph as data (docs/graph.md): what `constellation/graph` answers, what
`cst graph --format json` prints and what the graph renderer (webview, HTML export) draws.

Nodes, edges and layers are read from `Analysis.plan` and `Analysis.layer_of`; nothing here
computes a layer. Ranges are LSP ranges in the encoding of the `Positions` given (the CLI
uses UTF-16, LSP's default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from constellation.server.positions import Positions

if TYPE_CHECKING:  # types only: the compiler is imported when a document is analysed
    from constellation.compiler.analysis import Analysis
    from constellation.compiler.plan import PlanNode

GRAPH_VERSION = 1


def node_kind(node: PlanNode) -> str:
    """input | call | inline | lazy | fallback (a constant is an inline value without inputs)."""
    if node.kind == "input":
        return "input"
    if node.kind != "module":
        return "inline"
    if node.fallback_owner is not None:
        return "fallback"
    return "lazy" if node.demand_driven else "call"


def _range(positions: Positions, span) -> dict:
    (l0, c0), (l1, c1) = positions.pair(span.start), positions.pair(span.end)
    return {"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}}


def _binding_range(analysis: Analysis, node: PlanNode, positions: Positions) -> dict:
    """Where a click on the node leads: the binding's name (the call for an unnamed call)."""
    if node.names:
        sym = analysis.symbols.values.get(node.names[0])
        decl = getattr(sym, "decl", None)
        name = getattr(decl, "name", None)
        if name is not None and getattr(name, "span", None) is not None:
            return _range(positions, analysis.span_of(name))
    return _range(positions, analysis.span_of(node))


def _type_text(analysis: Analysis, node: PlanNode) -> str | None:
    if not node.names:
        return None
    t = analysis.binding_types.get(node.names[0])
    return None if t is None else str(t)


def node_names(analysis: Analysis) -> dict[int, str]:
    """Each node's name on the graph: its label, with the column (1-based, as run events and
    the debugger give it) when another node has the same label — two `FormatNumber(…)` calls
    in one line's expression are `FormatNumber@16:41` and `FormatNumber@16:84`. The webview
    names a run's calls the same way (model.ts, `callKeys`)."""
    nodes = analysis.plan.nodes
    count: dict[str, int] = {}
    for n in nodes:
        count[n.label] = count.get(n.label, 0) + 1
    return {n.id: n.label if count[n.label] < 2 else
            f"{n.label}:{analysis.source.line_col(n.span.start)[1]}" for n in nodes}


def node_json(analysis: Analysis, node: PlanNode, positions: Positions, outputs: set[str],
              name: str) -> dict:
    return {
        "id": node.id,
        "name": name,
        "names": list(node.names),
        "module": node.function.qualified if node.function is not None else None,
        "kind": node_kind(node),
        "layer": analysis.layer_of(node),
        "type": _type_text(analysis, node),
        "output": any(n in outputs for n in node.names),
        "range": _binding_range(analysis, node, positions),
        "callRange": _range(positions, analysis.span_of(node)),
    }


def error_json(analysis: Analysis, positions: Positions) -> list[dict]:
    return [{"code": d.code, "message": d.message, "range": _range(positions, d.span)}
            for d in analysis.diagnostics if d.is_error]


def graph_json(analysis: Analysis, positions: Positions, *, stale: bool = False,
               errors: list[dict] | None = None) -> dict:
    """The graph of `analysis`. `stale`: this is the last good graph of a document that now
    has errors (`errors`, positions in the current text)."""
    plan = analysis.plan
    outputs = set(plan.outputs)
    names = node_names(analysis)
    nodes = [node_json(analysis, n, positions, outputs, names[n.id]) for n in plan.nodes]
    edges = [{"source": dep, "target": n.id} for n in plan.nodes for dep in n.deps]
    depth = analysis.depth
    layers: list[list[int]] = [[] for _ in range(depth + 1)]
    for n in nodes:
        if n["layer"] is not None:
            layers[min(n["layer"], depth)].append(n["id"])
    return {
        "version": GRAPH_VERSION,
        "depth": depth,
        "layers": [{"layer": k, "nodes": ids} for k, ids in enumerate(layers)],
        "nodes": nodes,
        "edges": edges,
        "outputs": list(plan.outputs),
        "inputs": list(plan.inputs),
        "stale": stale,
        "errors": error_json(analysis, positions) if errors is None else errors,
    }
