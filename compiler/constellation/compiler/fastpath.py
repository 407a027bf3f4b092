"""The quick path of re-analysis: one assignment edited in an otherwise unchanged, valid file.

The usual edit in an editor changes one declaration and leaves everything it touches alone:
same name, same names read, same type, no diagnostic. Then the previous analysis stays right
for everything else, and the new one is the previous one with that declaration's share
swapped: its check record (checkmemo.py), its symbol occurrences and its plan nodes. Nothing
here walks the whole file in Python; the whole-file results are copied at C speed and patched.

`patch` returns None whenever the edit is anything else (then the caller checks the file, with
the per-declaration records doing most of the work). The result equals a cold analysis.

Sharing: unchanged PlanNode, Symbol and AST objects are shared with the previous analysis.
PlanNodes are never modified (a run may still hold the previous plan); the top-level Symbols
are updated in place (their references, and the edited binding's declaration, span and type),
so a previous Analysis of the same cache must not be used for symbol look-ups afterwards
(the server keeps only the latest analysis of a document).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

from constellation.compiler import ast
from constellation.compiler.checker import CheckResult, _Checker, free_references, same_type
from constellation.compiler.checkmemo import TABLE_OF_KIND, CheckMemo, DeclRecord
from constellation.compiler.diagnostics import DiagnosticBag
from constellation.compiler.plan import Plan, _PlanBuilder, calls_in
from constellation.compiler.registry import Registry
from constellation.compiler.source import Source
from constellation.compiler.symbols import Symbol, SymbolTable
from constellation.compiler.types import ERROR


@dataclass(eq=False)
class Previous:
    """What the quick path needs from the previous analysis of the same document."""

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
    old_rec = memo.records.get(id(old))
    if old_rec is None or old_rec.decl is not old:
        old_rec = derived_record(prev, old)
        if old_rec is None:
            return None
    new_refs = free_references(new.expr)
    if [n for n, _ in free_references(old.expr)] != [n for n, _ in new_refs]:
        return None  # the dependency graph may change: check the file
    binding_types = dict(prev.check.binding_types)
    rec = scratch_record(prev, new, registry, source, binding_types)
    if rec is None or not same_type(rec.binding_type, old_rec.binding_type) \
            or sorted(rec.signature()) != sorted(old_rec.signature()) \
            or bool(rec.locals) != bool(old_rec.locals):
        return None  # a diagnostic, a new type, other names read: check the file
    plan = patch_plan(prev, old, new, old_rec, rec, source)
    if plan is None:
        return None
    check = patch_check(prev, old, new, old_rec, rec, binding_types, source)
    if check is None:
        return None
    records = dict(memo.records)
    records.pop(id(old), None)
    records[id(new)] = rec
    free_refs = dict(memo.free_refs)
    free_refs.pop(id(old), None)
    free_refs[id(new)] = (new, new_refs)
    memo.records, memo.free_refs = records, free_refs
    memo.rechecked = [new.name.text]
    memo.reused = sum(isinstance(d, ast.Assignment) for d in decls) - 1
    return check, plan


def derived_record(prev: Previous, decl: ast.Assignment) -> DeclRecord | None:
    """The record of an assignment, read back from the previous analysis (after a cold
    analysis, which records nothing): its nodes' entries, its occurrences in source order and
    its run of local symbols. Whatever the order of the real check was, patch_check verifies
    each span it replaces, so a different order only means the slow path."""
    p = prev.check
    sources = (p.expr_types, p.var_symbols, p.call_targets, p.call_options, p.call_types)
    tables: tuple[dict, ...] = ({}, {}, {}, {}, {})
    for node in ast.walk(decl.expr):
        key = id(node)
        for source, table in zip(sources, tables):
            if key in source:
                table[key] = source[key]
    symbols = p.symbols
    starts = getattr(symbols, "_starts", None)
    if starts is None:
        return None
    lo = bisect.bisect_left(starts, decl.span.start)
    hi = bisect.bisect_left(starts, decl.span.end)
    own = symbols.values.get(decl.name.text)
    occurrences = [(span, sym) for span, sym in symbols.occurrences[lo:hi]
                   if not (sym is own and span is decl.name.span)]
    inside = [i for i, sym in enumerate(symbols.locals)
              if decl.span.start <= sym.span.start < decl.span.end]
    if inside and inside[-1] - inside[0] + 1 != len(inside):
        return None
    locals_ = [symbols.locals[i] for i in inside]
    rec = DeclRecord(decl, (), p.binding_types.get(decl.name.text, ERROR), {}, occurrences,
                     locals_, sources, ())
    rec._tables, rec._source = tables, None
    return rec


def scratch_record(prev: Previous, decl: ast.Assignment, registry: Registry, source: Source,
                   binding_types: dict) -> DeclRecord | None:
    """Check one assignment against the previous file-wide state; its record, or None when it
    has a diagnostic."""
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
    checker.record_assignment(decl)
    return checker.records.get(id(decl))


def patch_check(prev: Previous, old: ast.Assignment, new: ast.Assignment, old_rec: DeclRecord,
                rec: DeclRecord, binding_types: dict, source: Source) -> CheckResult | None:
    p = prev.check
    table = p.symbols
    tables = {"values": table.values, "types": table.types,
              "namespace_aliases": table.namespace_aliases}
    # references: the edited declaration's spans, in the same places of each symbol's list
    swaps: list[tuple[list, int, list]] = []
    grouped_old: dict[tuple, list] = {}
    grouped_new: dict[tuple, list] = {}
    for rec_, grouped in ((old_rec, grouped_old), (rec, grouped_new)):
        for span, sym in rec_.occurrences:
            if sym.kind in TABLE_OF_KIND:
                grouped.setdefault((TABLE_OF_KIND[sym.kind], sym.name), []).append(span)
    for key, spans in grouped_old.items():
        refs = tables[key[0]][key[1]].references
        at = next((i for i, s in enumerate(refs) if s is spans[0]), None)
        if at is None or any(refs[at + k] is not s for k, s in enumerate(spans)):
            return None
        swaps.append((refs, at, grouped_new[key]))
    locals_ = list(table.locals)
    if old_rec.locals:
        at = next((i for i, s in enumerate(locals_) if s is old_rec.locals[0]), None)
        if at is None:
            return None
        locals_[at:at + len(old_rec.locals)] = rec.locals
    occurrences, starts = patch_occurrences(table, old, new, rec, tables, source)
    if occurrences is None:
        return None
    for refs, at, spans in swaps:
        refs[at:at + len(spans)] = spans
    own = table.values[new.name.text]
    own.decl, own.span, own.type = new, new.name.span, rec.binding_type
    binding_types[new.name.text] = rec.binding_type

    symbols = SymbolTable(table.values, table.types, table.namespace_aliases, locals_,
                          occurrences)
    symbols._starts = starts
    result = CheckResult(
        symbols, binding_types, p.alias_types, _swap(p.expr_types, old_rec.expr_types,
                                                      rec.expr_types),
        _swap_vars(p.var_symbols, old_rec, rec, table.values),
        _swap(p.call_targets, old_rec.call_targets, rec.call_targets),
        _swap(p.call_options, old_rec.call_options, rec.call_options),
        _swap(p.call_types, old_rec.call_types, rec.call_types),
        (p.canonical - {id(old)}) | {id(new)}, set(p.error_bindings), list(p.value_order),
        list(p.outputs), dict(p.examples), [])
    return result


def _swap(whole: dict, old: dict, new: dict) -> dict:
    out = dict(whole)
    for key in old:
        del out[key]
    out.update(new)
    return out


def _swap_vars(whole: dict, old_rec: DeclRecord, rec: DeclRecord, values: dict) -> dict:
    out = dict(whole)
    for key in old_rec.var_symbols:
        del out[key]
    for key, sym in rec.var_symbols.items():
        out[key] = values[sym.name] if sym.is_top_level_value else sym
    return out


def patch_occurrences(table: SymbolTable, old: ast.Assignment, new: ast.Assignment,
                      rec: DeclRecord, tables: dict, source: Source):
    """The sorted occurrence list with the edited declaration's run replaced; the starts of
    the later ones move by the edit's length change."""
    starts = getattr(table, "_starts", None)
    if starts is None or len(starts) != len(table.occurrences):
        return None, None
    lo = bisect.bisect_left(starts, old.span.start)
    hi = bisect.bisect_left(starts, old.span.end)
    mine = [(new.name.span, table.values[new.name.text])]
    for span, sym in rec.occurrences:
        table_name = TABLE_OF_KIND.get(sym.kind)
        mine.append((span, sym if table_name is None else tables[table_name][sym.name]))
    mine.sort(key=lambda item: (item[0].start, item[0].end))
    occ = table.occurrences
    later = occ[hi:]
    delta = 0
    if later:
        delta = later[0][0].start - starts[hi]  # the later chunks moved by the edit's length
        if new.span.end > later[0][0].start:
            return None, None
    if lo and (occ[lo - 1][0].start != starts[lo - 1] or occ[lo - 1][0].start > new.span.start):
        return None, None  # something before the declaration moved too
    occurrences = occ[:lo] + mine + later
    new_starts = starts[:lo] + [s.start for s, _ in mine] + [x + delta for x in starts[hi:]]
    return occurrences, new_starts


def patch_plan(prev: Previous, old: ast.Assignment, new: ast.Assignment, old_rec: DeclRecord,
               rec: DeclRecord, source: Source) -> Plan | None:
    """The previous plan with the edited binding's nodes rebuilt; None unless they keep their
    ids, layers and dependencies (then nothing else in the plan changes)."""
    plan = prev.plan
    name = new.name.text
    if isinstance(old.expr, ast.Var) or isinstance(new.expr, ast.Var) or name not in plan.bindings:
        return None
    head = plan.nodes[plan.bindings[name]]
    if head.names != [name]:
        return None  # another binding aliases this one: its node carries both names
    old_ids = sorted({plan.call_nodes[id(c)] for c in calls_in(old.expr, into_fallbacks=True)
                      if id(c) in plan.call_nodes} | {head.id})
    a, b = old_ids[0], old_ids[-1]
    if b - a + 1 != len(old_ids):
        return None
    check_view = _CheckView(rec, prev.check)
    builder = _PlanBuilder([], check_view, source)
    builder.plan.nodes = plan.nodes[:a]
    builder.plan.bindings = dict(plan.bindings)
    del builder.plan.bindings[name]
    builder.assignments = {name: new}
    for sym in rec.var_symbols.values():
        if sym.is_top_level_value:
            dep = sym.name
            builder.binding_layer[dep] = plan.nodes[plan.bindings[dep]].layer \
                if dep in plan.bindings else 0
    fresh_calls: dict[int, int] = {}
    builder.plan.call_nodes = _Overlay(plan.call_nodes, fresh_calls)
    builder.binding(name)
    fresh = builder.plan.nodes[a:]
    if len(fresh) != len(old_ids) or builder.plan.bindings.get(name) != head.id:
        return None
    for n_old, n_new in zip(plan.nodes[a:b + 1], fresh):
        if (n_old.kind, n_old.layer, n_old.deps, n_old.names, n_old.fallback_owner) != \
                (n_new.kind, n_new.layer, n_new.deps, n_new.names, n_new.fallback_owner):
            return None
    nodes = plan.nodes[:a] + fresh + plan.nodes[b + 1:]
    if len(source.line_starts) != prev.line_count:
        nodes = [n if a <= n.id <= b else _at_line(n, source) for n in nodes]
    call_nodes = dict(plan.call_nodes)
    for c in calls_in(old.expr, into_fallbacks=True):
        call_nodes.pop(id(c), None)
    call_nodes.update(fresh_calls)
    return Plan(nodes, dict(plan.bindings), call_nodes, list(plan.outputs), list(plan.inputs))


def _at_line(node, source: Source):
    line = source.line_col(node.span.start)[0]
    return node if line == node.line else replace(node, line=line)


class _Overlay(dict):
    """New call nodes over the previous plan's (which stay untouched)."""

    def __init__(self, base: dict, fresh: dict):
        super().__init__()
        self.base, self.fresh = base, fresh

    def __contains__(self, key) -> bool:
        return key in self.fresh or key in self.base

    def __getitem__(self, key):
        return self.fresh[key] if key in self.fresh else self.base[key]

    def __setitem__(self, key, value) -> None:
        self.fresh[key] = value

    def get(self, key, default=None):
        return self[key] if key in self else default


class _CheckView:
    """The CheckResult fields the plan builder reads, for the edited declaration."""

    def __init__(self, rec: DeclRecord, prev: CheckResult):
        values = prev.symbols.values
        self.var_symbols = {key: values[sym.name] if sym.is_top_level_value else sym
                            for key, sym in rec.var_symbols.items()}
        self.call_options = rec.call_options
        self.call_targets = rec.call_targets
        self.outputs: list[str] = []
