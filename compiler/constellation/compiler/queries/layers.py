"""Read-only views of the plan's layers, shared by hover, inlay hints, code lens and the
`showLayers` command.

Layers are never computed here: they are read from `Analysis.plan`; the groupings are cached
on the Analysis they come from.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler import ast
from constellation.compiler.plan import PlanNode
from constellation.compiler.queries import reading
from constellation.compiler.queries.reading import cached

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis


@dataclass
class BindingLayer:
    name: str
    layer: int | None  # None: the binding cannot run (Analysis.layer_of)
    depth: int
    node: PlanNode
    calls: list[PlanNode]  # module nodes of this binding's right-hand side
    others: list[tuple[str, int]]  # other calls of the same layer: (label, count), first `limit`
    other_count: int = 0  # how many other calls there are in all

    @property
    def runnable(self) -> bool:
        """Calls modules and has a layer: a binding on a cycle, or reading a call to an
        undefined function (E002), gets no layer annotation, since it cannot run until fixed."""
        return self.layer is not None and bool(self.calls)

    @property
    def shown_count(self) -> int:
        return sum(count for _, count in self.others)

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


def counted(others: list[tuple[str, int]], fmt=lambda label: label) -> str:
    """`RateLimitedApi ×3, GetUser`: each function once, with how many of its calls there are."""
    return ", ".join(fmt(label) + (f" ×{count}" if count > 1 else "") for label, count in others)


@dataclass
class _Layers:
    by_layer: dict[int, list[PlanNode]]  # eager module nodes with a layer, in source order
    labels: dict[int, dict[str, int]]  # layer -> call label -> calls, in source order
    depth: int


def module_layers(analysis: Analysis) -> _Layers:
    """Layer -> module nodes and their labels counted, grouped once per analysis (features
    ask per binding; scanning the plan each time would be quadratic on large files)."""
    return cached(analysis, "module layers", lambda: _module_layers(analysis))


def _module_layers(analysis: Analysis) -> _Layers:
    by_layer: dict[int, list[PlanNode]] = {}
    for n in reading.plan_nodes(analysis):
        # lazy calls do not run with a layer; calls without a layer (a cycle, E002) do not run
        layer = reading.layer_of(analysis, n)
        if n.kind == "module" and not n.demand_driven and layer is not None:
            by_layer.setdefault(layer, []).append(n)
    labels: dict[int, dict[str, int]] = {}
    for layer, nodes in by_layer.items():
        nodes.sort(key=lambda n: reading.span_of(analysis, n).start)
        counts = labels[layer] = {}
        for n in nodes:
            label = call_label(n)
            counts[label] = counts.get(label, 0) + 1
    return _Layers(by_layer, labels, reading.depth(analysis))


def binding_layer(analysis: Analysis, name: str, limit: int | None = None) -> BindingLayer | None:
    """The binding's layer and the other calls of that layer, each function once with its
    count (the first `limit` functions)."""
    node = reading.binding_node(analysis, name)
    if node is None:
        return None
    calls = binding_calls(analysis, name)
    index = module_layers(analysis)
    layer = reading.layer_of(analysis, node)
    if layer is None:
        return BindingLayer(name, None, index.depth, node, calls, [], 0)
    own = list(calls)
    if node.kind == "module" and all(n.id != node.id for n in calls):
        own.append(node)
    remaining = dict(index.labels.get(layer, {}))
    for n in own:
        if n.demand_driven or reading.layer_of(analysis, n) != layer:
            continue
        label = call_label(n)
        remaining[label] -= 1
        if not remaining[label]:
            del remaining[label]
    others = list(remaining.items())
    if limit is not None:
        others = others[:limit]
    return BindingLayer(name, layer, index.depth, node, calls, others, sum(remaining.values()))


def no_layer_reason(analysis: Analysis, node: PlanNode) -> str:
    """Why a node has no layer, as the hover says it."""
    if any(reading.is_broken_binding(analysis, name) for name in node.names):
        return "it is on a circular dependency"
    if node.kind == "module" and node.function is None:
        return "its function is not defined"
    return "it depends on a value that cannot be computed (a cycle or an undefined function)"


def binding_calls(analysis: Analysis, name: str) -> list[PlanNode]:
    """Module nodes created by the canonical assignment of `name` (outside lambdas/fallbacks)."""
    sym = reading.value_symbols(analysis).get(name)
    decl = sym.decl if sym is not None else None
    if not isinstance(decl, ast.Assignment):
        return []
    return calls_by_declaration(analysis).get(id(decl), [])


def calls_by_declaration(analysis: Analysis) -> dict[int, list[PlanNode]]:
    """id(assignment) -> its module nodes, grouped once per analysis by span containment."""
    return cached(analysis, "calls by declaration", lambda: _calls_by_declaration(analysis))


def _calls_by_declaration(analysis: Analysis) -> dict[int, list[PlanNode]]:
    at = analysis_spans(analysis)
    decls = sorted((d for d in analysis.decls if isinstance(d, ast.Assignment)),
                   key=lambda d: at(d).start)
    starts = [at(d).start for d in decls]
    grouped: dict[int, list[PlanNode]] = {}
    calls: dict[int, ast.Span] = {}
    for node in reading.plan_nodes(analysis):
        if node.kind != "module" or node.call is None or node.fallback_owner is not None:
            continue
        call = calls[node.id] = at(node.call)
        i = bisect.bisect_right(starts, call.start) - 1
        if i >= 0 and call.end <= at(decls[i]).end:
            grouped.setdefault(id(decls[i]), []).append(node)
    for nodes in grouped.values():
        nodes.sort(key=lambda n: calls[n.id].start)
    return grouped


def analysis_spans(analysis: Analysis):
    """node -> its span in the analysis's text."""
    return lambda node: reading.span_of(analysis, node)


def layer_text(layer: int, depth: int) -> str:
    return f"layer {layer} of {depth}"


def layers_json(analysis: Analysis) -> dict:
    """The layers as data (what `constellation.showLayers` returns): per layer, each binding
    with work in it once, in source order; a call inside a binding's right-hand side is listed
    under that binding (`q` for `q = { a: Trim(s), b: Trim(t) }`, with `calls: 2`). Bindings
    that have no layer (on a cycle, reading an undefined function) are in `unlayered`."""
    owner = _binding_of_calls(analysis)
    depth = reading.depth(analysis)
    groups: list[dict[str, dict]] = [{} for _ in range(depth + 1)]
    unlayered: dict[str, int] = {}
    for n in reading.plan_nodes(analysis):
        name, start = owner.get(n.id) or (n.label, reading.span_of(analysis, n).start)
        layer = reading.layer_of(analysis, n)
        if layer is None:
            unlayered.setdefault(name, start)
            continue
        entry = groups[min(layer, depth)].setdefault(name, {"name": name, "start": start, "nodes": []})
        entry["start"] = min(entry["start"], start)
        entry["nodes"].append(n)
    layers = [{"layer": k, "nodes": [_entry_json(analysis, e) for e in
                                     sorted(g.values(), key=lambda e: e["start"])]}
              for k, g in enumerate(groups)]
    # as Plan.width counts (every module node of a layer), over the nodes that have one
    width = max((sum(n.kind == "module" for e in g.values() for n in e["nodes"])
                 for g in groups[1:]), default=0)
    return {"depth": depth, "width": width, "layers": layers,
            "unlayered": sorted(unlayered, key=unlayered.__getitem__)}


def _binding_of_calls(analysis: Analysis) -> dict[int, tuple[str, int]]:
    """node id -> (binding name, declaration start): a binding's own node, the calls of its
    right-hand side, and the calls of their fallbacks."""
    nodes = reading.plan_nodes(analysis)
    out: dict[int, tuple[str, int]] = {}
    decls = {id(d): d for d in analysis.decls}
    for decl_id, nodes in calls_by_declaration(analysis).items():
        decl = decls[decl_id]
        for n in nodes:
            out[n.id] = (decl.name.text, reading.span_of(analysis, decl).start)
    for n in nodes:
        if n.names:
            sym = reading.value_symbols(analysis).get(n.names[0])
            start = reading.span_of(analysis, sym.decl if sym is not None and sym.decl is not None
                                    else n).start
            out[n.id] = (n.names[0], start)
    for n in nodes:  # fallback calls follow their owner (owners have smaller ids)
        if n.fallback_owner is not None and n.id not in out and n.fallback_owner in out:
            out[n.id] = out[n.fallback_owner]
    return out


def _entry_json(analysis: Analysis, entry: dict) -> dict:
    nodes = sorted(entry["nodes"], key=lambda n: reading.span_of(analysis, n).start)
    calls = [n for n in nodes if n.kind == "module"]
    modules = list(dict.fromkeys(n.function.qualified for n in calls if n.function is not None))
    first = calls[0] if calls else nodes[0]
    line, column = analysis.source.line_col(reading.span_of(analysis, first).start)
    return {"name": entry["name"], "kind": "module" if calls else first.kind,
            "module": modules[0] if modules else None, "modules": modules, "calls": len(calls),
            "line": line, "column": column,
            "lazy": bool(calls) and all(n.demand_driven for n in calls)}
