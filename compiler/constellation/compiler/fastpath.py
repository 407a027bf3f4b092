"""The quick path of re-analysis: one assignment edited in an otherwise unchanged file.

The usual edit in an editor changes one declaration and leaves the rest of the file alone. When
the previous analysis of the document was valid and one assignment changed (same name), the new
analysis is the previous one with a few declarations' shares swapped: the edited assignment is
checked afresh, and so are the readers of every binding whose type changed (in dependency order,
so the change travels as far as it reaches); their check records (checkmemo.py), symbol
occurrences and references, and plan nodes replace the old ones, and layers are recomputed from
the first changed node on. The edit may change which names the assignment reads, as long as each
name it reads (or read) was finished before it in the checker's depth-first search: then the
order of the bindings, and so every plan node id, stays what a cold analysis gives. Nothing here
walks the whole file in Python except where noted; whole-file results are copied at C speed.

`patch` returns None whenever the edit is anything else (then the caller checks the file, with
the per-declaration records doing most of the work). The result equals a cold analysis; the
property tests in tests/compiler/test_incremental_analysis.py compare the two after random edits.

Sharing: unchanged PlanNode, Symbol and AST objects are shared with the previous analysis.
PlanNodes are never modified (a run may still hold the previous plan); the top-level Symbols
are updated in place (their references, and the edited bindings' declaration, span and type),
so a previous Analysis of the same cache must not be used for symbol look-ups afterwards
(the server keeps only the latest analysis of a document). When the new analysis has
diagnostics, `previous` stays the base of the next edit: the memo's undo list puts its symbols
back before it is read again.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, replace

from constellation.compiler import ast
from constellation.compiler.checker import CheckResult, _Checker, free_references, same_type
from constellation.compiler.checkmemo import TABLE_OF_KIND, CheckMemo, DeclRecord
from constellation.compiler.diagnostics import Diagnostic, DiagnosticBag, sort_key
from constellation.compiler.parser import _common_ends
from constellation.compiler.plan import Plan, PlanNode, _PlanBuilder, calls_in
from constellation.compiler.registry import Registry
from constellation.compiler.source import Source
from constellation.compiler.symbols import Symbol, SymbolTable
from constellation.compiler.types import ERROR

# more re-checked declarations than this (a type change read far and wide): check the file
RECHECK_LIMIT = 64


@dataclass(eq=False)
class Previous:
    """What the quick path needs from the previous (valid) analysis of the same document."""

    decls: list[ast.Decl]
    check: CheckResult
    plan: Plan
    line_count: int
    registry: Registry
    # the checker's file-wide environment: `use` wildcards, namespace aliases, type aliases
    environment: tuple[list[str], dict[str, str | None], dict[str, ast.Decl]]
    # inputs and outputs with their annotations: the parser re-attaches annotations to a
    # reused declaration when the lines before it change
    annotated: list[tuple[ast.Decl, tuple]]
    text: str = ""
    records: dict[int, DeclRecord] | None = None  # the check records of this analysis
    components: tuple | None = None  # its dependency graph (CheckMemo.components)
    _order: dict[str, int] | None = None

    def order(self) -> dict[str, int]:
        """Position of each assignment in the checker's order (dependencies first)."""
        if self._order is None:
            self._order = {name: i for i, name in enumerate(self.check.value_order)}
        return self._order


def annotated_decls(decls: list[ast.Decl]) -> list[tuple[ast.Decl, tuple]]:
    return [(d, tuple(d.annotations)) for d in decls
            if isinstance(d, (ast.InputDecl, ast.OutputDecl))]


class _ScratchTable(dict):
    """Top-level symbols seen through copies: a scratch check appends its references to the
    copies, never to the previous analysis's symbols."""

    def __init__(self, base: dict[str, Symbol]):
        super().__init__()
        self.base = base

    def get(self, name, default=None):
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        sym = self.base.get(name)
        if sym is None:
            return default
        copy = Symbol(sym.name, sym.kind, sym.span, sym.decl, sym.type)
        dict.__setitem__(self, name, copy)
        return copy

    def __getitem__(self, name):
        sym = self.get(name)
        if sym is None:
            raise KeyError(name)
        return sym

    def __contains__(self, name) -> bool:
        return name in self.base

    def __iter__(self):
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)


def the_one_edited(old: list[ast.Decl], new: list[ast.Decl]) -> int | None:
    """Index of the only declaration object that differs (same count), else None."""
    if len(old) != len(new):
        return None
    changed = [i for i, (a, b) in enumerate(zip(old, new)) if a is not b]
    return changed[0] if len(changed) == 1 else None


@dataclass(eq=False)
class _Redone:
    """One assignment checked again: the edited one, or a reader of a changed type."""

    old: ast.Assignment
    new: ast.Assignment
    old_rec: DeclRecord
    rec: DeclRecord
    diagnostics: list[Diagnostic]


class _Where:
    """Which declaration holds an offset of the new text, and its place in the check order."""

    def __init__(self, prev: Previous, decls: list[ast.Decl], new: ast.Assignment, text: str):
        self.decls = decls
        self.new = new  # the edited declaration
        self.delta = len(text) - len(prev.text)  # how far the declarations after it moved
        self.starts: list[int] | None = None  # made when first needed
        self.order = prev.order()
        self.canonical = prev.check.canonical

    def previous_start(self, decl: ast.Decl) -> int:
        """Where a declaration started in the previous text (see one_edit_inside)."""
        start = decl.span.start
        return start - self.delta if start > self.new.span.start else start

    def decl_at(self, offset: int) -> ast.Decl | None:
        if self.starts is None:
            self.starts = [d.span.start for d in self.decls]
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.decls[i] if i >= 0 else None

    def check_rank(self, offset: int) -> tuple[int, int]:
        """Where the checker reached this offset: assignments in check order, then the rest
        (duplicates, outputs, input annotations are checked after all assignments)."""
        d = self.decl_at(offset)
        if isinstance(d, ast.Assignment) and id(d) in self.canonical:
            return (0, self.order.get(d.name.text, 0))
        return (1, 0)


def patch(prev: Previous | None, memo: CheckMemo, decls: list[ast.Decl], parse_ok: bool,
          registry: Registry, source: Source) -> tuple[CheckResult, Plan] | None:
    if prev is None or not parse_ok or prev.registry is not registry or prev.check.diagnostics:
        return None
    j = the_one_edited(prev.decls, decls)
    if j is None or any(tuple(d.annotations) != was for d, was in prev.annotated):
        return None
    old, new = prev.decls[j], decls[j]
    if not (isinstance(old, ast.Assignment) and isinstance(new, ast.Assignment)
            and old.name.text == new.name.text and id(old) in prev.check.canonical):
        return None
    if not one_edit_inside(prev.text, new, source.text):
        return None
    new_refs = free_references(new.expr)
    edges = edges_after(prev, new.name.text, new_refs)
    if edges is None:
        return None  # the order of the bindings may change, or a cycle: check the file
    where = _Where(prev, decls, new, source.text)
    binding_types = dict(prev.check.binding_types)
    redone = recheck(prev, old, new, where, registry, source, binding_types)
    if redone is None:
        return None
    plan = patch_plan(prev, redone, source)
    if plan is None:
        return None
    undo: list[tuple[object, str, object]] = []
    check = patch_check(prev, redone, binding_types, where, source, undo)
    if check is None:
        return None
    records = dict(prev.records or {})
    for r in redone:
        records.pop(id(r.old), None)
        if not r.diagnostics:
            records[id(r.new)] = r.rec
    free_refs = dict(memo.free_refs)
    free_refs.pop(id(old), None)
    free_refs[id(new)] = (new, new_refs)
    memo.records, memo.free_refs, memo.materialized = records, free_refs, False
    memo.components = edges
    memo.undo = undo if check.diagnostics else []
    memo.rechecked = [r.new.name.text for r in redone]
    memo.reused = sum(isinstance(d, ast.Assignment) for d in decls) - len(redone)
    return check, plan


def one_edit_inside(previous: str, new: ast.Assignment, text: str) -> bool:
    """The texts differ only inside the edited declaration: the rest is where it was, or
    moved by the length change (when it comes after). Spans of reused declarations follow
    their chunk, so this is what lets the quick path read previous offsets from new spans."""
    same_start, same_end = _common_ends(previous, text)
    return same_start >= new.span.start and len(text) - same_end <= new.span.end


def edges_after(prev: Previous, name: str, new_refs: list) -> tuple | None:
    """The dependency graph with `name`'s edges replaced, when that keeps the checker's order:
    every name it reads, or read, was finished before the search entered it. None otherwise."""
    graph = prev.components
    if graph is None or len(graph) < 4 or name not in graph[1]:
        return None
    names, edges, components, entered = graph
    targets = [n for n in dict.fromkeys(n for n, _ in new_refs) if n in edges]
    if targets == edges[name]:
        return graph
    order = prev.order()
    before = entered.get(name)
    if before is None or any(order.get(t, before) >= before for t in targets + edges[name]):
        return None
    edges = dict(edges)
    edges[name] = targets
    return names, edges, components, entered


def _record_for(prev: Previous, decl: ast.Assignment, at: int) -> DeclRecord | None:
    rec = (prev.records or {}).get(id(decl))
    if rec is not None and rec.decl is decl:
        return rec
    return derived_record(prev, decl, at)


def recheck(prev: Previous, old: ast.Assignment, new: ast.Assignment, where: _Where,
            registry: Registry, source: Source, binding_types: dict) -> list[_Redone] | None:
    """Check the edited assignment, then the readers of each binding whose type changed, in
    the checker's order (a reader after everything it reads)."""
    order = where.order
    pending = {new.name.text: (old, new)}
    heap = [(order[new.name.text], new.name.text)]
    redone: list[_Redone] = []
    while heap:
        _, name = heapq.heappop(heap)
        was, decl = pending.pop(name)
        old_rec = _record_for(prev, was, where.previous_start(decl))
        if old_rec is None:
            return None
        rec, diagnostics = scratch_check(prev, decl, registry, source, binding_types)
        if rec is None:
            return None
        redone.append(_Redone(was, decl, old_rec, rec, diagnostics))
        if same_type(rec.binding_type, prev.check.binding_types.get(name, ERROR)):
            continue
        for span in prev.check.symbols.values[name].references:
            reader = where.decl_at(span.start)
            if isinstance(reader, ast.OutputDecl):
                continue  # an output reads only that the name exists
            if not (isinstance(reader, ast.Assignment) and id(reader) in prev.check.canonical):
                return None
            reader_name = reader.name.text
            if reader_name not in pending and all(r.new is not reader for r in redone):
                pending[reader_name] = (reader, reader)
                heapq.heappush(heap, (order[reader_name], reader_name))
        if len(redone) + len(pending) > RECHECK_LIMIT:
            return None
    return redone


def derived_record(prev: Previous, decl: ast.Assignment, at: int) -> DeclRecord | None:
    """The record of an assignment, read back from the previous analysis (after a cold
    analysis, which records nothing): its nodes' entries, its occurrences in source order and
    its run of local symbols. `at`: where it started in the previous text. Whatever the order
    of the real check was, patch_check verifies each span it replaces, so a different order
    only means the slow path."""
    p = prev.check
    sources = (p.expr_types, p.var_symbols, p.call_targets, p.call_options, p.call_types)
    tables: tuple[dict, ...] = ({}, {}, {}, {}, {})
    spans = {id(decl.name.span)}  # its names' spans: occurrences are found by identity
    for node in ast.walk(decl.expr):
        key = id(node)
        spans.update(id(name.span) for name in _names_of(node))
        for source, table in zip(sources, tables):
            if key in source:
                table[key] = source[key]
    symbols = p.symbols
    starts = getattr(symbols, "_starts", None)
    if starts is None:
        return None
    lo = hi = bisect.bisect_left(starts, at)
    occ = symbols.occurrences
    while hi < len(occ) and id(occ[hi][0]) in spans:
        hi += 1
    own = symbols.values.get(decl.name.text)
    occurrences = [(span, sym) for span, sym in occ[lo:hi]
                   if not (sym is own and span is decl.name.span)]
    inside = [i for i, sym in enumerate(symbols.locals) if id(sym.span) in spans]
    if inside and inside[-1] - inside[0] + 1 != len(inside):
        return None
    locals_ = [symbols.locals[i] for i in inside]
    rec = DeclRecord(decl, (), p.binding_types.get(decl.name.text, ERROR), {}, occurrences,
                     locals_, sources, ())
    rec._tables, rec._source = tables, None
    return rec


def _names_of(node: object):
    """The Names a node holds directly (walks treat them as leaves)."""
    for field in ast._node_fields(type(node)):
        value = getattr(node, field)
        items = value if isinstance(value, (list, tuple)) else (value,)
        for item in items:
            for x in item if isinstance(item, tuple) else (item,):
                if isinstance(x, ast.Name):
                    yield x


def scratch_check(prev: Previous, decl: ast.Assignment, registry: Registry, source: Source,
                  binding_types: dict) -> tuple[DeclRecord | None, list[Diagnostic]]:
    """Check one assignment against the previous file-wide state (with the types in
    `binding_types`); its record and its diagnostics. Sets its type in `binding_types`."""
    checker = _Checker([], registry, source, CheckMemo(warm=True))
    table = prev.check.symbols
    checker.symbols = checker.result.symbols = SymbolTable(
        values=_ScratchTable(table.values), types=_ScratchTable(table.types),
        namespace_aliases=_ScratchTable(table.namespace_aliases))
    checker.result.binding_types = binding_types
    checker.result.alias_types = prev.check.alias_types
    checker.wildcards, checker.alias_targets, checker.type_decls = prev.environment
    checker.env = (id(registry), tuple(checker.wildcards), tuple(checker.alias_targets.items()))
    checker.bag = DiagnosticBag()
    checker.set_binding_type(decl.name.text, ERROR)
    checker.record_assignment(decl, keep_diagnostics=True)
    return checker.records.get(id(decl)), checker.bag.items


def patch_check(prev: Previous, redone: list[_Redone], binding_types: dict, where: _Where,
                source: Source, undo: list) -> CheckResult | None:
    """The previous check with the re-checked assignments' shares swapped. Verifies before it
    changes anything (None: nothing was changed)."""
    p = prev.check
    table = p.symbols
    tables = {"values": table.values, "types": table.types,
              "namespace_aliases": table.namespace_aliases}
    edited = redone[0]
    rank = (0, where.order[edited.new.name.text])
    # references: only the edited assignment reads other names (readers of a changed type read
    # the same names at the same spans); each reader's references sit in check order
    grouped_old: dict[tuple, list] = {}
    grouped_new: dict[tuple, list] = {}
    for rec_, grouped in ((edited.old_rec, grouped_old), (edited.rec, grouped_new)):
        for span, sym in rec_.occurrences:
            if sym.kind in TABLE_OF_KIND:
                grouped.setdefault((TABLE_OF_KIND[sym.kind], sym.name), []).append(span)
    new_references: list[tuple[Symbol, list]] = []
    for key in dict.fromkeys([*grouped_old, *grouped_new]):
        sym = tables[key[0]][key[1]]
        refs, at = _without_run(sym.references, grouped_old.get(key, []))
        if refs is None or (at is None and key[0] != "values"):
            return None
        if at is None:  # a name it did not read before: after its earlier readers
            at = bisect.bisect_right(refs, rank, key=lambda s: where.check_rank(s.start))
        refs[at:at] = grouped_new.get(key, [])
        new_references.append((sym, refs))
    locals_: list[Symbol] | None = table.locals
    for r in redone:
        locals_, at = _without_run(locals_, r.old_rec.locals)
        if locals_ is None:
            return None
        if r.rec.locals:
            if at is None:
                at = bisect.bisect_right(locals_, (0, where.order[r.new.name.text]),
                                         key=lambda sym: where.check_rank(sym.span.start))
            locals_[at:at] = r.rec.locals
    occurrences, starts = patch_occurrences(prev, redone, where)
    if occurrences is None:
        return None
    # verified: now the shared symbols change (undo puts them back, see CheckMemo.undo)
    for sym, refs in new_references:
        _set(undo, sym, "references", refs)
    for r in redone:
        own = table.values[r.new.name.text]
        _set(undo, own, "type", r.rec.binding_type)
        if r is edited:
            _set(undo, own, "decl", r.new)
            _set(undo, own, "span", r.new.name.span)

    symbols = SymbolTable(table.values, table.types, table.namespace_aliases, locals_,
                          occurrences)
    symbols._starts = starts
    olds = [r.old_rec for r in redone]
    news = [r.rec for r in redone]
    var_symbols = _swap(p.var_symbols, [o.var_symbols for o in olds], [])
    for rec in news:
        for key, sym in rec.var_symbols.items():
            var_symbols[key] = table.values[sym.name] if sym.is_top_level_value else sym
    diagnostics = sorted((d for r in redone for d in r.diagnostics), key=sort_key)
    canonical = (p.canonical - {id(edited.old)}) | {id(edited.new)}
    return CheckResult(
        symbols, binding_types, p.alias_types,
        _swap(p.expr_types, [o.expr_types for o in olds], [n.expr_types for n in news]),
        var_symbols,
        _swap(p.call_targets, [o.call_targets for o in olds], [n.call_targets for n in news]),
        _swap(p.call_options, [o.call_options for o in olds], [n.call_options for n in news]),
        _swap(p.call_types, [o.call_types for o in olds], [n.call_types for n in news]),
        canonical, set(p.error_bindings), list(p.value_order), list(p.outputs),
        dict(p.examples), diagnostics)


def _set(undo: list, obj: object, attr: str, value: object) -> None:
    undo.append((obj, attr, getattr(obj, attr)))
    setattr(obj, attr, value)


def _without_run(items: list, run: list) -> tuple[list | None, int | None]:
    """A copy of `items` less `run`, which must appear in it contiguously (compared by
    identity), and where it was; (None, None) when it does not."""
    if not run:
        return list(items), None
    first = run[0]
    at = next((i for i, x in enumerate(items) if x is first), None)
    if at is None or any(at + k >= len(items) or items[at + k] is not x
                         for k, x in enumerate(run)):
        return None, None
    return items[:at] + items[at + len(run):], at


def _swap(whole: dict, olds: list[dict], news: list[dict]) -> dict:
    out = dict(whole)
    for old in olds:
        for key in old:
            del out[key]
    for new in news:
        out.update(new)
    return out


def patch_occurrences(prev: Previous, redone: list[_Redone], where: _Where):
    """The sorted occurrence list with each re-checked assignment's run replaced; the starts
    after the edited one move by the edit's length change."""
    table = prev.check.symbols
    starts = getattr(table, "_starts", None)
    if starts is None or len(starts) != len(table.occurrences):
        return None, None
    occ = table.occurrences
    delta = where.delta
    runs = []
    for r in redone:
        lo = bisect.bisect_left(starts, where.previous_start(r.new))
        hi = lo + 1 + len(r.old_rec.occurrences)
        was = sorted(r.old_rec.occurrences, key=lambda item: (item[0].start, item[0].end))
        if hi > len(occ) or occ[lo][0] is not r.old.name.span \
                or any(occ[lo + 1 + k][0] is not span for k, (span, _) in enumerate(was)):
            return None, None
        values = table.values
        mine = [(r.new.name.span, values[r.new.name.text])]
        for span, sym in r.rec.occurrences:
            kind_table = TABLE_OF_KIND.get(sym.kind)
            mine.append((span, sym if kind_table is None else
                         getattr(table, kind_table)[sym.name]))
        mine.sort(key=lambda item: (item[0].start, item[0].end))
        runs.append((lo, hi, mine, r is redone[0]))
    runs.sort(key=lambda run: run[0])
    occurrences: list = []
    new_starts: list[int] = []
    at, shift = 0, 0
    for lo, hi, mine, is_edited in runs:
        if lo < at:
            return None, None
        occurrences += occ[at:lo]
        new_starts += starts[at:lo] if not shift else [x + shift for x in starts[at:lo]]
        occurrences += mine
        new_starts += [s.start for s, _ in mine]
        if is_edited:
            shift = delta
        at = hi
    occurrences += occ[at:]
    new_starts += starts[at:] if not shift else [x + shift for x in starts[at:]]
    return occurrences, new_starts


def patch_plan(prev: Previous, redone: list[_Redone], source: Source) -> Plan | None:
    """The previous plan with the re-checked bindings' nodes rebuilt (same ids: each keeps its
    count of nodes and its names), then layers recomputed from the first rebuilt node on."""
    plan = prev.plan
    nodes = list(plan.nodes)
    call_nodes = dict(plan.call_nodes)
    rebuilt: set[int] = set()
    relayer_from = len(nodes)
    for r in redone:
        block = rebuild_block(plan, nodes, call_nodes, r, prev.check.symbols.values, source)
        if block is None:
            return None
        a, fresh = block
        moved = any(n.layer != was.layer for n, was in zip(fresh, nodes[a:a + len(fresh)]))
        nodes[a:a + len(fresh)] = fresh
        rebuilt.update(range(a, a + len(fresh)))
        relayer_from = min(relayer_from, a) if moved else relayer_from
    # the rebuilt nodes' layers were computed from their dependencies' layers: while none of
    # them changed, no other layer does either
    if relayer_from < len(nodes):
        relayer(nodes, relayer_from)
    if len(source.line_starts) != prev.line_count:
        nodes = [n if n.id in rebuilt else _at_line(n, source) for n in nodes]
    return Plan(nodes, dict(plan.bindings), call_nodes, list(plan.outputs), list(plan.inputs))


def rebuild_block(plan: Plan, nodes: list[PlanNode], call_nodes: dict, r: _Redone,
                  values: dict[str, Symbol], source: Source):
    """(first id, new nodes) of one binding, built like the plan builder does; None unless
    they keep the old nodes' ids, names and fallback owners."""
    old, new, rec = r.old, r.new, r.rec
    name = new.name.text
    if isinstance(old.expr, ast.Var) or isinstance(new.expr, ast.Var) or name not in plan.bindings:
        return None
    head = plan.nodes[plan.bindings[name]]
    if head.names != [name]:
        return None  # another binding aliases this one: its node carries both names
    old_calls = [c for c in calls_in(old.expr, into_fallbacks=True) if id(c) in plan.call_nodes]
    old_ids = sorted({plan.call_nodes[id(c)] for c in old_calls} | {head.id})
    a, b = old_ids[0], old_ids[-1]
    if b - a + 1 != len(old_ids):
        return None
    builder = _PlanBuilder([], _CheckView(rec, values), source)
    builder.plan.nodes = nodes[:a]
    builder.plan.bindings = dict(plan.bindings)
    del builder.plan.bindings[name]
    builder.assignments = {name: new}
    for sym in rec.var_symbols.values():
        if sym.is_top_level_value and sym.name != name:
            builder.binding_layer[sym.name] = nodes[plan.bindings[sym.name]].layer \
                if sym.name in plan.bindings else 0
    fresh_calls: dict[int, int] = {}
    builder.plan.call_nodes = _Overlay(plan.call_nodes, fresh_calls, {id(c) for c in old_calls})
    builder.binding(name)
    fresh = builder.plan.nodes[a:]
    if len(fresh) != len(old_ids) or builder.plan.bindings.get(name) != head.id:
        return None
    for n_old, n_new in zip(plan.nodes[a:b + 1], fresh):
        if (n_old.names, n_old.fallback_owner) != (n_new.names, n_new.fallback_owner):
            return None
    for c in old_calls:
        call_nodes.pop(id(c), None)
    call_nodes.update(fresh_calls)
    return a, fresh


def relayer(nodes: list[PlanNode], start: int) -> None:
    """Layers from `start` on, from each node's dependencies (§9.2): a dependency always has a
    smaller id (the builder creates nodes dependencies first). Changed nodes are copies."""
    for i in range(start, len(nodes)):
        n = nodes[i]
        if n.kind == "input":
            continue
        layer = max([nodes[d].layer for d in n.deps], default=0) + (n.kind == "module")
        if layer != n.layer:
            copy = PlanNode.__new__(PlanNode)
            copy.__dict__.update(n.__dict__)
            copy.layer = layer
            nodes[i] = copy


def _at_line(node, source: Source):
    line = source.line_col(node.span.start)[0]
    return node if line == node.line else replace(node, line=line)


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
    """The CheckResult fields the plan builder reads, for the edited declaration."""

    def __init__(self, rec: DeclRecord, values: dict[str, Symbol]):
        self.var_symbols = {key: values[sym.name] if sym.is_top_level_value else sym
                            for key, sym in rec.var_symbols.items()}
        self.call_options = rec.call_options
        self.call_targets = rec.call_targets
        self.outputs: list[str] = []
