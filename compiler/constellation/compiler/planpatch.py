"""The plan side of the quick path (fastpath.py): the previous plan with the edited binding's
nodes replaced, its readers' nodes rebuilt, and layers recomputed from the first changed node.

The builder (plan.py) makes each binding's nodes in one go, in the checker's order, so they
are a contiguous run of ids, and every dependency has a smaller id than its reader: a binding's
nodes are rebuilt in place when their count stays, ids after a binding that arrives or leaves
move by its count, and one forward pass recomputes layers (§9.2). PlanNodes are never modified
once a plan is returned (a run may hold the previous plan): changed nodes are copies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from constellation.compiler import ast
from constellation.compiler.checkmemo import DeclRecord
from constellation.compiler.plan import Plan, PlanNode, _PlanBuilder, calls_in
from constellation.compiler.source import Source
from constellation.compiler.symbols import Symbol

if TYPE_CHECKING:
    from constellation.compiler.fastpath import Previous, _Edit, _Redone


def patch_plan(prev: Previous, edit: _Edit, redone: list[_Redone], order: list[str],
               values: dict[str, Symbol], source: Source) -> Plan | None:
    """The previous plan with the edited binding's nodes replaced (ids after them move when
    their count changes) and its readers' nodes rebuilt, then layers recomputed from the first
    changed node on."""
    plan = prev.plan
    nodes = list(plan.nodes)
    bindings = dict(plan.bindings)
    call_nodes = dict(plan.call_nodes)
    rebuilt: set[int] = set()
    relayer_from = len(nodes)
    owned_from = len(nodes)  # nodes from here on are this patch's own copies
    first, readers = redone[0], redone[1:]
    same_place = edit.old is not None and edit.new_assignment is not None \
        and edit.old_name == edit.new_name
    if same_place:
        block = rebuild_block(plan, nodes, call_nodes, first, values, source)
        if block is None:
            return None
        a, fresh = block
        moved = any(n.layer != was.layer for n, was in zip(fresh, nodes[a:a + len(fresh)]))
        nodes[a:a + len(fresh)] = fresh
        rebuilt.update(range(a, a + len(fresh)))
        relayer_from = a if moved else relayer_from
    else:
        # a binding that leaves or arrives is read by no other (patch checks that), so no
        # other layer changes with it; its readers' nodes are rebuilt below
        if edit.old is not None:
            span = own_block(plan, edit.old)
            if span is None:
                return None
            a, b = span
            nodes, bindings, call_nodes = renumber(nodes, bindings, call_nodes, a,
                                                   removed=b + 1 - a)
            owned_from = a
            del bindings[edit.old_name]
            for c in calls_in(edit.old.expr, into_fallbacks=True):
                call_nodes.pop(id(c), None)
        if edit.new_assignment is not None:
            a = block_start_after(Plan(nodes, bindings, call_nodes), order, edit.new_name,
                                  values)
            if a is None:
                return None
            built = build_block(nodes, bindings, call_nodes, set(), edit.new_assignment,
                                first.rec, values, source, a)
            if built is None:
                return None
            fresh, fresh_calls, head = built
            nodes, bindings, call_nodes = renumber(nodes, bindings, call_nodes, a,
                                                   inserted=len(fresh))
            owned_from = min(owned_from, a)
            nodes[a:a] = fresh
            bindings[edit.new_name] = head
            call_nodes.update(fresh_calls)
            rebuilt.update(range(a, a + len(fresh)))
    current = Plan(nodes, bindings, call_nodes, list(plan.outputs), list(plan.inputs))
    for r in readers:
        block = rebuild_block(current, nodes, call_nodes, r, values, source)
        if block is None:
            return None
        a, fresh = block
        moved = any(n.layer != was.layer or n.deps != was.deps
                    for n, was in zip(fresh, nodes[a:a + len(fresh)]))
        nodes[a:a + len(fresh)] = fresh
        rebuilt.update(range(a, a + len(fresh)))
        relayer_from = min(relayer_from, a) if moved else relayer_from
    # the rebuilt nodes' layers were computed from their dependencies' layers: while none of
    # them changed, no other layer does either
    if relayer_from < len(nodes):
        relayer(nodes, relayer_from, owned_from, rebuilt)
    lines = len(source.line_starts) - prev.line_count
    if lines:  # the nodes after the edit moved by whole lines (the text there is the same)
        for i, n in enumerate(nodes):
            if i not in rebuilt and n.span.start >= edit.region:
                if i >= owned_from:
                    n.line += lines
                else:
                    nodes[i] = _copy(n, line=n.line + lines)
    return Plan(nodes, bindings, call_nodes, list(plan.outputs), list(plan.inputs))


def own_block(plan: Plan, decl: ast.Assignment) -> tuple[int, int] | None:
    """First and last id of the nodes a binding made (contiguous: the builder makes them in
    one go); None when it made none or shares them (an alias)."""
    name = decl.name.text
    if name not in plan.bindings:
        return None
    head = plan.nodes[plan.bindings[name]]
    if head.names != [name]:
        return None  # an alias (`y = x` shares x's node), or aliased
    ids = sorted({plan.call_nodes[id(c)] for c in calls_in(decl.expr, into_fallbacks=True)
                  if id(c) in plan.call_nodes} | {head.id})
    if ids[-1] - ids[0] + 1 != len(ids):
        return None
    return ids[0], ids[-1]


def block_start_after(plan: Plan, order: list[str], name: str, values: dict[str, Symbol]
                      ) -> int | None:
    """Where the nodes of `name` go: before the nodes of the next binding in the checker's
    order that has nodes of its own (the builder follows that order)."""
    i = order.index(name)
    for later in order[i + 1:]:
        sym = values.get(later)
        decl = None if sym is None else sym.decl
        if not isinstance(decl, ast.Assignment) or later not in plan.bindings \
                or plan.nodes[plan.bindings[later]].names[0] != later:
            continue  # no node, or an alias (it makes none)
        block = own_block(plan, decl)
        if block is None:
            return None
        return block[0]
    return len(plan.nodes)


def build_block(nodes: list[PlanNode], bindings: dict, call_nodes: dict, hidden: set[int],
                decl: ast.Assignment, rec: DeclRecord, values: dict[str, Symbol],
                source: Source, at: int):
    """(nodes, their calls, the binding's node id) of one binding, numbered from `at`, built
    like the plan builder builds them: over `nodes[:at]`, the `bindings` of the others and
    their `call_nodes` (less `hidden`, the calls being rebuilt). None for an alias."""
    name = decl.name.text
    if _aliases(decl, rec):
        return None
    builder = _PlanBuilder([], _CheckView(rec, values), source)
    builder.plan.nodes = nodes[:at]
    builder.plan.bindings = dict(bindings)
    builder.plan.bindings.pop(name, None)
    builder.assignments = {name: decl}
    for sym in rec.var_symbols.values():
        if sym.is_top_level_value and sym.name != name:
            builder.binding_layer[sym.name] = nodes[bindings[sym.name]].layer \
                if sym.name in bindings else 0
    fresh_calls: dict[int, int] = {}
    builder.plan.call_nodes = _Overlay(call_nodes, fresh_calls, hidden)
    builder.binding(name)
    return builder.plan.nodes[at:], fresh_calls, builder.plan.bindings[name]


def renumber(nodes: list[PlanNode], bindings: dict, call_nodes: dict, at: int, *,
             removed: int = 0, inserted: int = 0):
    """The `removed` nodes at `at` leave and the ids after them move by `inserted - removed`
    (the caller puts `inserted` new nodes at `at`). Moved nodes are copies."""
    shift = inserted - removed
    start = at + removed
    # (ids below `start` stay; comprehensions rather than a helper call per id: thousands)
    out = nodes[:at]
    for n in nodes[start:]:
        owner = n.fallback_owner
        if owner is not None and owner >= start:
            owner += shift
        out.append(_copy(n, id=n.id + shift, fallback_owner=owner,
                         deps=[d + shift if d >= start else d for d in n.deps]))
    bindings = {k: v + shift if v >= start else v for k, v in bindings.items()}
    call_nodes = {k: v + shift if v >= start else v for k, v in call_nodes.items()}
    return out, bindings, call_nodes


def rebuild_block(plan: Plan, nodes: list[PlanNode], call_nodes: dict, r: _Redone,
                  values: dict[str, Symbol], source: Source):
    """(first id, new nodes) of one binding, built again in its place; None unless they keep
    the old nodes' ids, names and fallback owners."""
    old, new, rec = r.old, r.new, r.rec
    block = own_block(plan, old)
    if block is None:
        return None
    a, b = block
    old_calls = [c for c in calls_in(old.expr, into_fallbacks=True) if id(c) in plan.call_nodes]
    built = build_block(nodes, plan.bindings, plan.call_nodes, {id(c) for c in old_calls}, new,
                        rec, values, source, a)
    if built is None:
        return None
    fresh, fresh_calls, head = built
    if len(fresh) != b - a + 1 or head != plan.bindings[new.name.text]:
        return None
    for n_old, n_new in zip(plan.nodes[a:b + 1], fresh):
        if (n_old.names, n_old.fallback_owner) != (n_new.names, n_new.fallback_owner):
            return None
    for c in old_calls:
        call_nodes.pop(id(c), None)
    call_nodes.update(fresh_calls)
    return a, fresh


def _aliases(decl: ast.Assignment, rec: DeclRecord) -> bool:
    """`y = x` with x a top-level value: y shares x's node (the builder makes none)."""
    sym = rec.var_symbols.get(id(decl.expr)) if isinstance(decl.expr, ast.Var) else None
    return sym is not None and sym.is_top_level_value


def relayer(nodes: list[PlanNode], start: int, owned_from: int, owned: set[int]) -> None:
    """Layers from `start` on, from each node's dependencies (§9.2): a dependency always has a
    smaller id (the builder creates nodes dependencies first). Changed nodes are copies, but
    for the patch's own (from `owned_from` on, and `owned`)."""
    for i in range(start, len(nodes)):
        n = nodes[i]
        if n.kind == "input":
            continue
        layer = max([nodes[d].layer for d in n.deps], default=0) + (n.kind == "module")
        if layer != n.layer:
            if i >= owned_from or i in owned:
                n.layer = layer
            else:
                nodes[i] = _copy(n, layer=layer)


def _copy(node: PlanNode, **changes) -> PlanNode:
    """A changed copy of a node (PlanNodes are never modified: a run may hold the old plan);
    cheaper than dataclasses.replace, which these loops would call thousands of times."""
    copy = PlanNode.__new__(PlanNode)
    copy.__dict__.update(node.__dict__)
    copy.__dict__.update(changes)
    return copy


class _Overlay(dict):
    """New call nodes over the previous plan's (which stay untouched); the calls being rebuilt
    are hidden."""

    def __init__(self, base: dict, fresh: dict, hidden: set[int]):
        super().__init__()
        self.base, self.fresh, self.hidden = base, fresh, hidden

    def __contains__(self, key) -> bool:
        return key in self.fresh or (key in self.base and key not in self.hidden)

    def __getitem__(self, key):
        return self.fresh[key] if key in self.fresh else self.base[key]

    def __setitem__(self, key, value) -> None:
        self.fresh[key] = value

    def get(self, key, default=None):
        return self[key] if key in self else default


class _CheckView:
    """The CheckResult fields the plan builder reads, for the declaration being rebuilt."""

    def __init__(self, rec: DeclRecord, values: dict[str, Symbol]):
        self.var_symbols = {key: values[sym.name] if sym.is_top_level_value else sym
                            for key, sym in rec.var_symbols.items()}
        self.call_options = rec.call_options
        self.call_targets = rec.call_targets
        self.outputs: list[str] = []
        self.error_bindings: set[str] = set()
