"""The quick path of re-analysis: one declaration edited, added or removed in a file without
errors.

The usual edit in an editor touches one declaration and leaves the rest of the file alone. When
the previous analysis of the document had no errors (warnings are made afresh: see
`Previous.warned`) and the texts differ between two unchanged
declarations, the new analysis is the previous one with a few declarations' shares swapped:

* the edited assignment is checked afresh (or the added one; a removed one leaves, and one
  broken by a syntax error keeps its name with the Error type, as a cold check gives it);
* so are the readers of every binding whose type changed, in the checker's order, so a change
  travels as far as it reaches (RECHECK_LIMIT bounds it);
* their check records (checkmemo.py), symbol occurrences and references, and plan nodes replace
  the old ones; plan ids after an added or removed binding move; layers are recomputed from the
  first changed node on (planpatch.py).

The order of the bindings must stay what a cold check gives (the plan numbers its nodes in that
order): an edit that only re-reads names finished before it in the checker's depth-first search
keeps it (no search needed); otherwise the search runs again and the edit is taken only when the
other bindings keep their order. A name that is added must be new, and a removed one unread.

`patch` returns None whenever the edit is anything else (then the caller checks the file, with
the per-declaration records doing most of the work). The result equals a cold analysis; the
property tests in tests/compiler/test_incremental_analysis.py compare the two after random edits.

Sharing: unchanged PlanNode, Symbol and AST objects are shared with the previous analysis,
and none of them is modified: a symbol the edit changes (its references, or the edited
binding's declaration, span and type) is copied into the new analysis's tables (copy-on-write),
so a previous Analysis keeps its own symbols. Occurrences and `var_symbols` of unchanged
declarations may keep a previous object of the same name, kind and span (the edited binding's
readers are pointed at its copy, `_readers_with`); `SymbolTable.current` resolves them.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field
from functools import cached_property

from constellation.compiler import ast
from constellation.compiler.checker import (CheckResult, _Checker, free_references, same_type,
                                            strongly_connected)
from constellation.compiler.checkmemo import CheckMemo, DeclRecord
from constellation.compiler.diagnostics import Diagnostic, DiagnosticBag, sort_key
from constellation.compiler.parser import ParseResult, _common_ends
from constellation.compiler.parsing.units import Layout, shared_decls
from constellation.compiler.plan import Plan
from constellation.compiler.planpatch import patch_plan
from constellation.compiler.registry import Registry
from constellation.compiler.source import Source
from constellation.compiler.symbols import TABLE_OF_KIND, Symbol, SymbolTable
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
    # where its declarations are (parsing/units.py): the declarations an edit changed are
    # found by the blocks it rebuilt. An input or output whose annotations change is another
    # object (annotations are attached to copies), so it is a changed declaration too.
    layout: Layout | None = None
    text: str = ""
    records: dict[int, DeclRecord] | None = None  # the check records of this analysis
    components: tuple | None = None  # its dependency graph (CheckMemo.components)
    # the assignments its warnings came from: checked again with every edit, so that their
    # messages are made afresh (they may name positions or other names)
    warned: list[ast.Assignment] = field(default_factory=list)

    @cached_property
    def positions(self) -> dict[str, int]:
        """Each binding's place in the checker's order (made once per previous analysis)."""
        return {n: i for i, n in enumerate(self.check.value_order)}


def warned_assignments(check: CheckResult, decls: list[ast.Decl]) -> list[ast.Assignment] | None:
    """The canonical assignments a check's diagnostics (warnings: the caller makes sure there is
    no error) were reported in; None when one was reported elsewhere (then the analysis is no
    base for the quick path)."""
    out: dict[int, ast.Assignment] = {}
    for d in check.diagnostics:
        i = bisect.bisect_right(decls, d.span.start, key=lambda x: x.span.start) - 1
        decl = decls[i] if i >= 0 else None
        if not (isinstance(decl, ast.Assignment) and id(decl) in check.canonical
                and d.span.end <= decl.span.end):
            return None
        out[id(decl)] = decl
    return list(out.values())


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


# --- the edit ----------------------------------------------------------------------------------

@dataclass(eq=False)
class _Edit:
    """The declarations that differ: `old` (previous) became `new`; either may be None."""

    at: int  # index of the changed declaration in the new list
    old: ast.Assignment | None
    new: ast.Assignment | ast.BrokenDecl | None
    delta: int  # length change of the text: declarations after the edit moved by it
    region: int  # where the changed text starts (same offset in both texts)
    # assignments parsed again with their text unchanged (they shared a chunk with the edit:
    # a line being typed below a declaration belongs to its chunk until it is one)
    reparsed: list[tuple[ast.Assignment, ast.Assignment]]

    @property
    def old_name(self) -> str | None:
        return None if self.old is None else self.old.name.text

    @property
    def new_name(self) -> str | None:
        name = getattr(self.new, "name", None)
        return None if name is None else name.text

    @property
    def new_assignment(self) -> ast.Assignment | None:
        return self.new if isinstance(self.new, ast.Assignment) else None


def find_edit(prev: Previous, parsed: ParseResult, text: str) -> _Edit | None:
    """The one changed, added or removed declaration (or none: blanks and comments), when the
    texts differ only between its unchanged neighbours; None otherwise."""
    old_decls, decls = prev.decls, parsed.decls
    i, k = shared_decls(prev.layout, parsed.layout)
    old_run, new_run = old_decls[i:len(old_decls) - k], decls[i:len(decls) - k]
    if parsed.edit is not None and parsed.edit[0] is prev.text:
        same_start, same_end = parsed.edit[1:]  # the parse compared the same texts
    else:
        same_start, same_end = _common_ends(prev.text, text)
    reparsed = []
    while old_run and new_run and _same_text(prev, old_run[0], new_run[0]) \
            and new_run[0].span.end <= same_start:
        reparsed.append((old_run.pop(0), new_run.pop(0)))
        i += 1
    while old_run and new_run and _same_text(prev, old_run[-1], new_run[-1]) \
            and new_run[-1].span.start >= len(text) - same_end:
        reparsed.append((old_run.pop(), new_run.pop()))
        k += 1
    if len(old_run) > 1 or len(new_run) > 1:
        return None
    if not old_run and not new_run and not reparsed:  # only blanks or comments changed
        i = bisect.bisect_left(decls, same_start, key=lambda d: d.span.start)
        k = len(decls) - i
    old = old_run[0] if old_run else None
    new = new_run[0] if new_run else None
    if old is not None and not (isinstance(old, ast.Assignment)
                                and id(old) in prev.check.canonical):
        return None
    if new is not None and not (isinstance(new, ast.Assignment) or (
            isinstance(new, ast.BrokenDecl) and new.space in (None, "value"))):
        return None
    # the texts differ only between the neighbours: the rest is where it was, or moved by
    # the length change. Spans of reused declarations follow their chunk, so this is what lets
    # the quick path read previous offsets from new spans.
    low = decls[i - 1].span.end if i else 0
    high = decls[i + len(new_run)].span.start if k else len(text)
    if same_start < low or len(text) - same_end > high:
        return None
    if new is not None and not (low <= new.span.start and new.span.end <= high):
        return None
    return _Edit(i, old, new, len(text) - len(prev.text), low, reparsed)


def _same_text(prev: Previous, old: ast.Decl, new: ast.Decl) -> bool:
    """Two assignments of the same name (the caller checks that the text is unchanged)."""
    return isinstance(old, ast.Assignment) and isinstance(new, ast.Assignment) \
        and old.name.text == new.name.text and id(old) in prev.check.canonical


def _previous_start(edit: _Edit, decl: ast.Decl) -> int:
    """Where an unchanged declaration started in the previous text."""
    start = decl.span.start
    return start - edit.delta if start >= edit.region else start


# --- order -------------------------------------------------------------------------------------

def order_after(prev: Previous, edit: _Edit, decls: list[ast.Decl],
                new_refs: list) -> tuple[tuple, list[str]] | None:
    """(dependency graph, checker's order) after the edit, or None when the order of the
    other bindings would change, or a cycle appears (then the file is checked)."""
    graph = prev.components
    if graph is None or len(graph) < 5:
        return None
    names, edges, components, entered, turns = graph
    old_name, new_name = edit.old_name, edit.new_name
    assigned = edit.new_assignment is not None
    if old_name is None and not assigned:
        return graph, prev.check.value_order  # no assignment came or went
    kept = assigned and old_name == new_name  # the same binding, edited

    def is_assignment(n: str) -> bool:  # after the edit
        return (n in edges and (n != old_name or kept)) or (assigned and n == new_name)

    targets = [n for n in dict.fromkeys(n for n, _ in new_refs) if is_assignment(n)]
    if kept:
        if targets == edges[new_name]:
            return graph, prev.check.value_order
        before = entered.get(new_name)
        order = _positions(prev)
        # reading only names finished before the search entered it keeps the search as it was
        if before is not None and all(order.get(t, before) < before
                                      for t in targets + edges[new_name]):
            edges = dict(edges)
            edges[new_name] = targets
            return (names, edges, components, entered, turns), prev.check.value_order
    if assigned and old_name is None:
        added = _order_with_added(prev, graph, edit, decls, new_name, targets)
        if added is not None:
            return added
    if old_name is not None and not assigned:
        removed = _order_without(prev, graph, old_name)
        if removed is not None:
            return removed
    edges = dict(edges)
    names = list(names)
    if old_name is not None and not kept:
        names.remove(old_name)
        del edges[old_name]
        for reader in edges:  # readers of a binding now broken stop depending on it
            if old_name in edges[reader]:
                edges[reader] = [t for t in edges[reader] if t != old_name]
    if assigned:
        if new_name not in edges:
            names.insert(_assignments_before(prev, edit, decls, names), new_name)
        edges[new_name] = targets
    entered_now: dict[str, int] = {}
    turns_now: list[int] = []
    found = strongly_connected(names, edges, entered_now, turns_now)
    if any(len(c) > 1 or c[0] in edges[c[0]] for c in found):
        return None
    order = [c[0] for c in found]
    if kept:  # the edited binding keeps its place too (its nodes are rebuilt in place)
        if order != prev.check.value_order:
            return None
    elif [n for n in order if n != new_name] != [n for n in prev.check.value_order
                                                  if n != old_name]:
        return None
    return (names, edges, found, entered_now, turns_now), order


def _order_without(prev: Previous, graph: tuple, name: str) -> tuple[tuple, list[str]] | None:
    """A binding that leaves (removed, or broken: no longer an assignment) and whose reads were
    all finished before the search entered it was a leaf of the search: without it, the search
    goes on as before, one node short. No search needed then; None otherwise."""
    names, edges, components, entered, turns = graph
    positions = _positions(prev)
    mine = positions[name]
    if any(positions[t] >= entered[name] for t in edges[name]):
        return None
    order = prev.check.value_order
    order = order[:mine] + order[mine + 1:]
    i = names.index(name)
    names = names[:i] + names[i + 1:]
    edges = {n: [t for t in ts if t != name] if name in ts else ts
             for n, ts in edges.items() if n != name}
    entered = {n: e - 1 if e > mine else e for n, e in entered.items() if n != name}
    turns = [t - 1 if t > mine else t for t in turns[:i] + turns[i + 1:]]
    components = components[:mine] + components[mine + 1:]
    return (names, edges, components, entered, turns), order


def _order_with_added(prev: Previous, graph: tuple, edit: _Edit, decls: list[ast.Decl],
                      name: str, targets: list[str]) -> tuple[tuple, list[str]] | None:
    """An added assignment that nobody reads yet is a root of the search: when the outer loop
    reaches it, it is finished at once if everything it reads was finished already, and the
    search goes on as before. No search needed then; None otherwise."""
    names, edges, components, entered, turns = graph
    i = _assignments_before(prev, edit, decls, names)
    finished = turns[i] if i < len(turns) else len(prev.check.value_order)
    positions = _positions(prev)
    if name in targets or any(positions[t] >= finished for t in targets):
        return None
    order = prev.check.value_order
    order = order[:finished] + [name] + order[finished:]
    names = names[:i] + [name] + names[i:]
    edges = dict(edges)
    edges[name] = targets
    # the ones entered after its turn (finished after it) count one more finished before them
    entered = {n: e + 1 if positions[n] >= finished else e for n, e in entered.items()}
    entered[name] = finished
    turns = turns[:i] + [finished] + [t + 1 for t in turns[i:]]
    components = components[:finished] + [[name]] + components[finished:]
    return (names, edges, components, entered, turns), order


def _assignments_before(prev: Previous, edit: _Edit, decls: list[ast.Decl],
                        names: list[str]) -> int:
    """Index in the graph's name list (declaration order) for the assignment the edit adds."""
    for d in _before_edit(edit, decls):
        if isinstance(d, ast.Assignment) and id(d) in prev.check.canonical:
            return names.index(d.name.text) + 1
    return 0


def _before_edit(edit: _Edit, decls: list[ast.Decl]):
    """The declarations before the edited one, nearest first, as the previous analysis knew
    them (a declaration parsed again is its previous object)."""
    was = {id(now): old for old, now in edit.reparsed}
    for d in reversed(decls[:edit.at]):
        yield was.get(id(d), d)


def _positions(prev: Previous) -> dict[str, int]:
    return prev.positions


# --- checking ----------------------------------------------------------------------------------

@dataclass(eq=False)
class _Redone:
    """One assignment checked again (the edited one, or a reader of a changed type), or the
    edited declaration's share removed (`new` None or broken) or added (`old` None)."""

    old: ast.Assignment | None
    new: ast.Decl | None
    old_rec: DeclRecord | None
    rec: DeclRecord | None
    diagnostics: list[Diagnostic]


class _Where:
    """Which declaration holds an offset of the new text, and its place in the check order."""

    def __init__(self, prev: Previous, decls: list[ast.Decl], order: list[str], canonical):
        self.decls = decls
        self.prev, self.order, self.canonical = prev, order, canonical
        self.positions: dict[str, int] | None = None

    def position(self, name: str) -> int:
        """Place of an assignment in the checker's order (after the edit)."""
        if self.positions is None:
            self.positions = _positions(self.prev) if self.order is self.prev.check.value_order \
                else {n: i for i, n in enumerate(self.order)}
        return self.positions[name]

    def decl_at(self, offset: int) -> ast.Decl | None:
        i = bisect.bisect_right(self.decls, offset, key=lambda d: d.span.start) - 1
        return self.decls[i] if i >= 0 else None

    def check_rank(self, offset: int) -> tuple[int, int]:
        """Where the checker reached this offset: assignments in check order, then the rest
        (duplicates, outputs, input annotations are checked after all assignments)."""
        d = self.decl_at(offset)
        if isinstance(d, ast.Assignment) and id(d) in self.canonical:
            return (0, self.position(d.name.text))
        return (1, 0)


def _record_for(prev: Previous, decl: ast.Assignment, at: int) -> DeclRecord | None:
    rec = (prev.records or {}).get(id(decl))
    if rec is not None and rec.decl is decl:
        return rec
    return derived_record(prev, decl, at)


def recheck(prev: Previous, edit: _Edit, where: _Where, registry: Registry, source: Source,
            binding_types: dict, values: dict[str, Symbol]) -> list[_Redone] | None:
    """The edited declaration first, then the readers of each binding whose type changed, in
    the checker's order (a reader after everything it reads)."""
    old_rec = None
    if edit.old is not None:
        old_rec = _record_for(prev, edit.old, edit.region)  # its name: the first occurrence
        if old_rec is None:
            return None
    rec, diagnostics = None, []
    changed: list[str] = []  # bindings whose type changed
    if edit.old_name is not None and edit.old_name != edit.new_name:
        binding_types.pop(edit.old_name, None)
    if edit.new_assignment is not None:
        rec, diagnostics = scratch_check(prev, edit.new_assignment, registry, source,
                                         binding_types, values)
        if rec is None:
            return None
    elif edit.new_name is not None:
        binding_types[edit.new_name] = ERROR  # a broken declaration keeps its name (§2.6)
    redone = [_Redone(edit.old, edit.new, old_rec, rec, diagnostics)]
    name = edit.new_name
    if name is not None and name == edit.old_name \
            and not same_type(binding_types[name], prev.check.binding_types.get(name, ERROR)):
        changed.append(name)
    pending: dict[str, tuple[ast.Assignment, ast.Assignment]] = {}
    heap: list[tuple[int, str]] = []
    done = {name} if edit.new_assignment is not None else set()
    for was, now in edit.reparsed:
        pending[now.name.text] = (was, now)
        heapq.heappush(heap, (where.position(now.name.text), now.name.text))
    for decl in prev.warned:  # their warnings are made afresh
        name = decl.name.text
        if decl is not edit.old and name not in pending and name not in done:
            pending[name] = (decl, decl)
            heapq.heappush(heap, (where.position(name), name))
    while True:
        for name in changed:
            for span in prev.check.symbols.values[name].references:
                reader = where.decl_at(span.start)
                if isinstance(reader, ast.OutputDecl):
                    continue  # an output reads only that the name exists
                if not (isinstance(reader, ast.Assignment) and id(reader) in where.canonical):
                    return None
                reader_name = reader.name.text
                if reader_name not in pending and reader_name not in done:
                    pending[reader_name] = (reader, reader)
                    heapq.heappush(heap, (where.position(reader_name), reader_name))
        changed = []
        if len(redone) + len(pending) > RECHECK_LIMIT:
            return None
        if not heap:
            return redone
        _, name = heapq.heappop(heap)
        was, decl = pending.pop(name)
        done.add(name)
        old_rec = _record_for(prev, was, _previous_start(edit, decl))
        if old_rec is None:
            return None
        rec, diagnostics = scratch_check(prev, decl, registry, source, binding_types, values)
        if rec is None:
            return None
        redone.append(_Redone(was, decl, old_rec, rec, diagnostics))
        if not same_type(rec.binding_type, prev.check.binding_types.get(name, ERROR)):
            changed.append(name)


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
                   if not (span is decl.name.span and symbols.current(sym) is own)]
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
    for slot in ast._node_fields(type(node)):
        value = getattr(node, slot)
        items = value if isinstance(value, (list, tuple)) else (value,)
        for item in items:
            for x in item if isinstance(item, tuple) else (item,):
                if isinstance(x, ast.Name):
                    yield x


def scratch_check(prev: Previous, decl: ast.Assignment, registry: Registry, source: Source,
                  binding_types: dict, values: dict[str, Symbol]
                  ) -> tuple[DeclRecord | None, list[Diagnostic]]:
    """Check one assignment against the previous file-wide state (with the edit's names in
    `values` and the types in `binding_types`); its record and its diagnostics. Sets its type
    in `binding_types`."""
    checker = _Checker([], registry, source, CheckMemo(warm=True))
    table = prev.check.symbols
    checker.symbols = checker.result.symbols = SymbolTable(
        values=_ScratchTable(values), types=_ScratchTable(table.types),
        namespace_aliases=_ScratchTable(table.namespace_aliases))
    checker.result.binding_types = binding_types
    checker.result.alias_types = prev.check.alias_types
    checker.wildcards, checker.alias_targets, checker.type_decls = prev.environment
    checker.env = (id(registry), tuple(checker.wildcards), tuple(checker.alias_targets.items()))
    checker.bag = DiagnosticBag()
    checker.set_binding_type(decl.name.text, ERROR)
    checker.record_assignment(decl, keep_diagnostics=True)
    return checker.records.get(id(decl)), checker.bag.items


# --- the new check result ----------------------------------------------------------------------

def patch_check(prev: Previous, edit: _Edit, redone: list[_Redone], binding_types: dict,
                where: _Where, order: list[str], values: dict[str, Symbol]
                ) -> CheckResult | None:
    """The previous check with the re-checked assignments' shares swapped. Verifies before it
    changes anything (None: nothing was changed)."""
    p = prev.check
    table = p.symbols
    tables = {"values": values, "types": table.types,
              "namespace_aliases": table.namespace_aliases}
    first = redone[0]
    # references: the edited declaration's, and those of declarations parsed again (new span
    # objects); readers of a changed type read the same names at the same spans. Each
    # declaration's references sit in check order in each symbol's list.
    new_references: dict[int, tuple[Symbol, list]] = {}
    for r in redone:
        if r is not first and r.old is r.new:
            continue
        grouped_old: dict[tuple, list] = {}
        grouped_new: dict[tuple, list] = {}
        for rec_, grouped in ((r.old_rec, grouped_old), (r.rec, grouped_new)):
            for span, sym in (rec_.occurrences if rec_ is not None else ()):
                if sym.kind in TABLE_OF_KIND:
                    grouped.setdefault((TABLE_OF_KIND[sym.kind], sym.name), []).append(span)
        for key in dict.fromkeys([*grouped_old, *grouped_new]):
            sym = tables[key[0]].get(key[1])
            if sym is None:
                return None
            current = new_references.get(id(sym), (sym, sym.references))[1]
            refs, at = _without_run(current, grouped_old.get(key, []))
            if refs is None or (at is None and key[0] != "values"):
                return None
            if key in grouped_new:
                if at is None:  # a name it did not read before: after its earlier readers
                    rank = (0, where.position(r.new.name.text))
                    at = bisect.bisect_right(refs, rank,
                                             key=lambda s: where.check_rank(s.start))
                refs[at:at] = grouped_new[key]
            new_references[id(sym)] = (sym, refs)
    locals_: list[Symbol] | None = table.locals
    for r in redone:
        locals_, at = _without_run(locals_, r.old_rec.locals if r.old_rec else [])
        if locals_ is None:
            return None
        if r.rec is not None and r.rec.locals:
            if at is None:
                at = bisect.bisect_right(locals_, (0, where.position(r.new.name.text)),
                                         key=lambda sym: where.check_rank(sym.span.start))
            locals_[at:at] = r.rec.locals
    occurrences, starts = patch_occurrences(prev, edit, redone, values)
    if occurrences is None:
        return None
    # verified: the symbols that change are copies (the previous analysis keeps its own)
    copies: dict[int, tuple[Symbol, Symbol]] = {}  # id(previous symbol) -> (it, its copy)
    for sym, refs in new_references.values():
        _copy(copies, sym).references = refs
    for r in redone:
        if r.new is None or r.new.name is None:
            continue
        own = _copy(copies, values[r.new.name.text])
        own.type = binding_types[r.new.name.text]
        if r.old is not r.new:
            own.decl, own.span = r.new, r.new.name.span
    tables = _tables_with(copies, {"values": values, "types": table.types,
                                   "namespace_aliases": table.namespace_aliases})
    symbols = SymbolTable(tables["values"], tables["types"], tables["namespace_aliases"],
                          locals_, occurrences)
    symbols._starts = starts
    olds = [r.old_rec for r in redone if r.old_rec is not None]
    news = [r.rec for r in redone if r.rec is not None]
    var_symbols = _swap(p.var_symbols, [o.var_symbols for o in olds], [])
    for rec in news:
        for key, sym in rec.var_symbols.items():
            var_symbols[key] = symbols.values[sym.name] if sym.is_top_level_value else sym
    _readers_with(copies, redone, where, var_symbols, symbols.occurrences, starts)
    diagnostics = sorted((d for r in redone for d in r.diagnostics), key=sort_key)
    canonical = where.canonical
    error_bindings = set(p.error_bindings)
    if edit.new_assignment is None and edit.new_name is not None:
        error_bindings.add(edit.new_name)
    return CheckResult(
        symbols, binding_types, p.alias_types,
        _swap(p.expr_types, [o.expr_types for o in olds], [n.expr_types for n in news]),
        var_symbols,
        _swap(p.call_targets, [o.call_targets for o in olds], [n.call_targets for n in news]),
        _swap(p.call_options, [o.call_options for o in olds], [n.call_options for n in news]),
        _swap(p.call_types, [o.call_types for o in olds], [n.call_types for n in news]),
        canonical, error_bindings, list(order), list(p.outputs), dict(p.examples),
        diagnostics)


def _values_after(prev: Previous, edit: _Edit, decls: list[ast.Decl]) -> dict[str, Symbol]:
    """The top-level value table with the edited declaration's name taken out or put in at
    its place in declaration order."""
    items = [(n, s) for n, s in prev.check.symbols.values.items() if n != edit.old_name]
    if edit.new_name is not None:
        at = 0
        for d in _before_edit(edit, decls):
            name = getattr(d, "name", None)
            sym = prev.check.symbols.values.get(name.text) if isinstance(name, ast.Name) else None
            if sym is not None and sym.decl is d:
                at = next(i for i, (n, _) in enumerate(items) if n == name.text) + 1
                break
        sym = Symbol(edit.new_name, "binding", edit.new.name.span, edit.new)
        items.insert(at, (edit.new_name, sym))
    return dict(items)


def _copy(copies: dict[int, tuple[Symbol, Symbol]], sym: Symbol) -> Symbol:
    """The new analysis's copy of a symbol the edit changes (made once per edit)."""
    pair = copies.get(id(sym))
    if pair is None:
        pair = copies[id(sym)] = (sym, Symbol(sym.name, sym.kind, sym.span, sym.decl, sym.type,
                                             sym.references))
    return pair[1]


def _tables_with(copies: dict[int, tuple[Symbol, Symbol]], tables: dict[str, dict]
                 ) -> dict[str, dict]:
    """The symbol tables with the copies in place of the symbols they copy (a table is copied
    only when one of its symbols is)."""
    out = dict(tables)
    for was, copy in copies.values():
        kind_table = TABLE_OF_KIND.get(was.kind)
        if kind_table is None or out[kind_table].get(was.name) is not was:
            continue
        if out[kind_table] is tables[kind_table]:
            out[kind_table] = dict(tables[kind_table])
        out[kind_table][was.name] = copy
    return out


def _readers_with(copies: dict[int, tuple[Symbol, Symbol]], redone: list[_Redone],
                  where: _Where, var_symbols: dict[int, Symbol], occurrences: list,
                  starts: list[int]) -> None:
    """Point the names that read an edited binding at its copy, whose declaration and span
    are new (its readers are the few declarations its references lie in). A symbol copied
    only for its references or type stays the previous object there: it has the same name,
    kind and span, and the symbol table answers a look-up with its own (SymbolTable.current)."""
    for r in redone:
        if r.new is None or r.new.name is None or r.old is r.new:
            continue
        pair = copies.get(id(where.prev.check.symbols.values.get(r.new.name.text)))
        if pair is None:
            continue
        was, copy = pair
        readers = {}
        for ref in (copy.span, *copy.references):  # its definition, then its readers
            i = bisect.bisect_left(starts, ref.start)
            while i < len(starts) and starts[i] == ref.start:
                if _names(occurrences[i][1], was):
                    occurrences[i] = (occurrences[i][0], copy)
                i += 1
            decl = where.decl_at(ref.start)
            if decl is not None:
                readers[id(decl)] = decl
        for decl in readers.values():
            for node in ast.walk(decl):
                if type(node) is ast.Var and _names(var_symbols.get(id(node)), was):
                    var_symbols[id(node)] = copy


def _names(sym: Symbol | None, binding: Symbol) -> bool:
    """`sym` is the top-level binding's symbol in some analysis (this one's or an earlier's)."""
    return sym is not None and sym.name == binding.name and sym.is_top_level_value


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


def patch_occurrences(prev: Previous, edit: _Edit, redone: list[_Redone],
                      values: dict[str, Symbol]):
    """The sorted occurrence list with each re-checked declaration's run replaced; the starts
    after the edit move by its length change."""
    table = prev.check.symbols
    starts = getattr(table, "_starts", None)
    if starts is None or len(starts) != len(table.occurrences):
        return None, None
    occ = table.occurrences
    runs = []
    for r in redone:
        if r is redone[0]:
            lo = bisect.bisect_left(starts, edit.region)
        else:
            lo = bisect.bisect_left(starts, _previous_start(edit, r.new))
        hi = lo
        if r.old is not None:
            hi = lo + 1 + len(r.old_rec.occurrences)
            was = sorted(r.old_rec.occurrences, key=lambda item: (item[0].start, item[0].end))
            if hi > len(occ) or occ[lo][0] is not r.old.name.span \
                    or any(occ[lo + 1 + k][0] is not span for k, (span, _) in enumerate(was)):
                return None, None
        mine = []
        if r.new is not None and r.new.name is not None:
            mine.append((r.new.name.span, values[r.new.name.text]))
        for span, sym in (r.rec.occurrences if r.rec is not None else ()):
            kind_table = TABLE_OF_KIND.get(sym.kind)
            mine.append((span, sym if kind_table is None else
                         (values if kind_table == "values" else
                          getattr(table, kind_table))[sym.name]))
        mine.sort(key=lambda item: (item[0].start, item[0].end))
        runs.append((lo, hi, mine, r is redone[0]))
    runs.sort(key=lambda run: (run[0], not run[3]))
    occurrences: list = []
    new_starts: list[int] = []
    at, shift = 0, 0
    for lo, hi, mine, is_edit in runs:
        if lo < at:
            return None, None
        occurrences += occ[at:lo]
        new_starts += starts[at:lo] if not shift else list(map(shift.__add__, starts[at:lo]))
        occurrences += mine
        new_starts += [s.start for s, _ in mine]
        if is_edit:
            shift = edit.delta
        at = hi
    occurrences += occ[at:]
    new_starts += starts[at:] if not shift else list(map(shift.__add__, starts[at:]))
    return occurrences, new_starts


# --- the whole ---------------------------------------------------------------------------------

def patch(prev: Previous | None, memo: CheckMemo, parsed: ParseResult,
          registry: Registry, source: Source) -> tuple[CheckResult, Plan] | None:
    if prev is None or prev.registry is not registry or prev.layout is None \
            or parsed.layout is None:
        return None
    decls = parsed.decls
    edit = find_edit(prev, parsed, source.text)
    if edit is None:
        return None
    values = prev.check.symbols.values
    if edit.old_name is not None and edit.old_name != edit.new_name \
            and values[edit.old_name].references:
        return None  # a name that leaves while read: its readers fail (E001)
    if edit.new_name is not None and edit.new_name != edit.old_name and (
            edit.new_name in values or edit.new_name in prev.check.binding_types):
        return None  # a duplicate (E030)
    new_refs = free_references(edit.new.expr) if edit.new_assignment is not None else []
    ordered = order_after(prev, edit, decls, new_refs)
    if ordered is None:
        return None  # the order of the bindings may change, or a cycle: check the file
    graph, order = ordered
    canonical = set(prev.check.canonical)
    if edit.old is not None:
        canonical.discard(id(edit.old))
    if edit.new_assignment is not None:
        canonical.add(id(edit.new))
    for was, now in edit.reparsed:
        canonical.discard(id(was))
        canonical.add(id(now))
    where = _Where(prev, decls, order, canonical)
    values = prev.check.symbols.values
    if edit.new_name != edit.old_name:  # a name leaves or arrives: a new table (same order
        values = _values_after(prev, edit, decls)  # as a cold check declares them)
    binding_types = dict(prev.check.binding_types)
    redone = recheck(prev, edit, where, registry, source, binding_types, values)
    if redone is None:
        return None
    check = patch_check(prev, edit, redone, binding_types, where, order, values)
    if check is None:
        return None
    plan = patch_plan(prev, edit, redone, order, check.symbols.values, source)
    if plan is None:
        return None
    records = dict(prev.records or {})
    for r in redone:
        if r.old is not None:
            records.pop(id(r.old), None)
        if r.rec is not None and not r.diagnostics:
            records[id(r.new)] = r.rec
    free_refs = dict(memo.free_refs)
    if edit.old is not None:
        free_refs.pop(id(edit.old), None)
    if edit.new_assignment is not None:
        free_refs[id(edit.new)] = (edit.new, new_refs)
    memo.records, memo.free_refs, memo.materialized = records, free_refs, False
    memo.components = graph
    memo.rechecked = [r.new.name.text for r in redone if isinstance(r.new, ast.Assignment)]
    memo.reused = len(canonical) - len(memo.rechecked)  # the canonical assignments
    return check, plan
