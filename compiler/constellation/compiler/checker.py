"""Checker: resolution, types, options validation (LANGUAGE.md §3-§8).

CONTRACT (used by analysis.py and plan.py; owned by the checker work):

    check(decls: list[ast.Decl], registry: Registry, source: Source,
          memo: CheckMemo | None = None) -> CheckResult

`memo` (checkmemo.py, kept on the document's ParseCache by analysis.py) lets a re-check replay
unchanged assignments; the result is the same with or without it.

Phases (§3.5): declarations and name spaces (E030), `use` paths, type aliases in dependency
order (E031 for alias cycles), input types, value bindings in dependency order (E031 for
cycles), duplicate right-hand sides, `out` declarations and annotations. Every problem is
reported once; anything typed Error (§5.1) never causes a diagnostic.
"""

from __future__ import annotations

from collections import deque
import dataclasses
from dataclasses import dataclass, field

from constellation.compiler import ast
from constellation.compiler.checkmemo import TABLE_OF_KIND, CheckMemo, DeclRecord, materialize
from constellation.compiler.consteval import NotConstant, evaluate_constant, is_constant
from constellation.compiler.diagnostics import Diagnostic, DiagnosticBag, Fix, Related, TextEdit
from constellation.compiler.diagnostics import sort_key
from constellation.compiler.optioncheck import OptionChecker
from constellation.compiler.options import CallOptions
from constellation.compiler.registry import Function, Registry
from constellation.compiler.source import Source
from constellation.compiler.suggest import did_you_mean, suggest
from constellation.compiler.symbols import Symbol, SymbolTable
from constellation.compiler.typeops import (
    TypeResolver, collect, common_type, contains_error, has_type_var, is_int, is_numeric,
    is_record_shaped, is_subtype, lub, merge, merge_error_message, substitute, type_names_in,
)
from constellation.compiler.types import (
    BOOLEAN, BUILTIN_TYPE_NAMES, ERROR, FLOAT, INT, NOTHING, PRIMITIVES, STRING, FunctionT, ListT,
    OptionalT, Prim, RecordT, Type, TypeVar, UnionT, optional, record, type_str, union,
)
from constellation.compiler.values import coerce
from constellation.compiler.vocabulary import RESERVED as RESERVED_WORDS

ARITHMETIC = frozenset("+-*/")
ORDERING = frozenset(("<", ">", "<=", ">="))
LAMBDA_MISUSE = ("A lambda can only be passed to a function that expects one, such as filter, "
                 "map, all or any")


@dataclass
class CheckResult:
    symbols: SymbolTable
    # canonical top-level value name -> its type (inputs and assignments; Error type allowed)
    binding_types: dict[str, Type] = field(default_factory=dict)
    # type alias name -> expanded type
    alias_types: dict[str, Type] = field(default_factory=dict)
    # id(expr node) -> inferred type, for every expression checked
    expr_types: dict[int, Type] = field(default_factory=dict)
    # id(ast.Var) -> the Symbol it resolved to (top-level value or a local)
    var_symbols: dict[int, Symbol] = field(default_factory=dict)
    # id(ast.Call) -> resolved registry function (calls that failed to resolve are absent)
    call_targets: dict[int, Function] = field(default_factory=dict)
    # id(ast.Call) -> validated options (every resolved call has an entry)
    call_options: dict[int, CallOptions] = field(default_factory=dict)
    # id(ast.Call) -> the call's static result type after options (on_error: wrap changes it)
    call_types: dict[int, Type] = field(default_factory=dict)
    # canonical assignments (id(ast.Assignment)); duplicates (E030) are excluded
    canonical: set[int] = field(default_factory=set)
    # names of bindings that are on a cycle or broken (Error type)
    error_bindings: set[str] = field(default_factory=set)
    # canonical assignment names, dependencies first (the plan builds nodes in this order)
    value_order: list[str] = field(default_factory=list)
    # output names in order of first `out` (W006 duplicates dropped)
    outputs: list[str] = field(default_factory=list)
    # input name -> list of @example values (constant Python values, coerced to the input type)
    examples: dict[str, list[object]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def check(decls: list[ast.Decl], registry: Registry, source: Source,
          memo: CheckMemo | None = None) -> CheckResult:
    """`memo` (optional) carries per-declaration results from the previous check of the same
    document; results are identical with or without it."""
    checker = _Checker(decls, registry, source, memo)
    try:
        return checker.run()
    finally:
        # its helpers (resolver, option checker) point back at it: dropping its state breaks
        # those cycles, so an analysis is freed by reference counting alone (see gcpause.py)
        vars(checker).clear()


# ---------------------------------------------------------------------------------------------
# Graph helpers: strongly connected components and shortest cycles (§3.3)


def strongly_connected(nodes: list[str], edges: dict[str, list[str]],
                       entered: dict[str, int] | None = None,
                       turns: list[int] | None = None) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components come dependencies first.

    `entered` (optional) receives, per node, how many nodes were already finished (put in a
    component) when the search entered it: an edge u -> v whose v was finished before u was
    entered changes neither the order nor the components (the quick path relies on that).
    `turns` (optional) receives, per node of `nodes`, how many nodes were finished when the
    outer loop reached it."""
    index: dict[str, int] = {}
    finished = 0
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in nodes:
        if turns is not None:
            turns.append(finished)
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                if entered is not None:
                    entered[node] = finished
                stack.append(node)
                on_stack.add(node)
            succ = edges.get(node, [])
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == node:
                        break
                out.append(component)
                finished += len(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


# Hostile input (a cycle through thousands of bindings) must not make E031 quadratic: long
# cycles are abbreviated in messages, and huge components are not searched once per member.
CYCLE_SHOWN = 20
CYCLE_SEARCH_MEMBERS = 400


def _cycle_parts(path: list[str]) -> list[list[str]]:
    """The runs of a cycle's names that a message shows: all of them, or its start and end."""
    if len(path) - 1 <= CYCLE_SHOWN:
        return [path]
    return [path[:CYCLE_SHOWN - 5], path[-5:]]


def cycle_text(path: list[str]) -> str:
    """`a -> b -> a`; a cycle of more than CYCLE_SHOWN bindings shows its start and end."""
    text = " -> … -> ".join(" -> ".join(part) for part in _cycle_parts(path))
    return text if len(path) - 1 <= CYCLE_SHOWN else f"{text} ({len(path) - 1:,} bindings)"


def shown_edges(path: list[str]) -> list[tuple[str, str]]:
    """The edges of a cycle that its text shows (all of them for a short cycle)."""
    return [edge for part in _cycle_parts(path) for edge in zip(part, part[1:])]


def shortest_cycle(start: str, edges: dict[str, list[str]], members: set[str]) -> list[str]:
    """Shortest path start -> … -> start; BFS over edges in source order breaks ties."""
    previous: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for nxt in edges.get(node, []):
            if nxt not in members:
                continue
            if nxt == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(previous[chain[-1]])
                return list(reversed(chain)) + [start]
            if nxt not in seen:
                seen.add(nxt)
                previous[nxt] = node
                queue.append(nxt)
    return [start, start]


# ---------------------------------------------------------------------------------------------


class _Checker:
    def __init__(self, decls: list[ast.Decl], registry: Registry, source: Source,
                 memo: CheckMemo | None = None):
        self.decls = decls
        self.memo = memo
        self.records: dict[int, DeclRecord] = {}  # this check's records (become memo.records)
        self.deps: dict | None = None  # facts read by the assignment being recorded
        self.env: tuple = ()
        self.free_refs: dict[int, tuple[ast.Decl, list]] = {}  # become memo.free_refs
        # a document's first check records nothing (a cold analysis stays as fast as without
        # a memo); later checks record every assignment for the next one to replay
        self.recording = memo is not None and memo.warm
        if memo is not None:
            memo.rechecked, memo.reused, memo.warm = [], 0, True
        self.registry = registry
        self.source = source
        self.bag = DiagnosticBag()
        self.result = CheckResult(SymbolTable())
        self.symbols = self.result.symbols
        self.value_decls: dict[str, ast.Decl] = {}  # canonical (first) value binding per name
        self.type_decls: dict[str, ast.Decl] = {}  # canonical alias declarations
        self.duplicates: list[ast.Decl] = []
        self.wildcards: list[str] = []
        self.alias_targets: dict[str, str | None] = {}  # `use p as m`: m -> p (None: bad path)
        self.options = OptionChecker(self)
        self._function_suggestions: dict[str, list[str]] | None = None
        self.resolver = TypeResolver(self._alias_type, self._report, self._alias_ref,
                                     self._type_suggestion)

    # -- reporting --------------------------------------------------------------------------
    def _report(self, code: str, message: str, span: ast.Span, *, related=(), fixes=()) -> None:
        self.bag.add(code, message, span, related=related, fixes=fixes)

    def pos(self, offset: int) -> str:
        return self.source.format_pos(offset)

    def text(self, span: ast.Span) -> str:
        return self.source.text[span.start:span.end]

    def guarded(self, decl: ast.Decl | None, action, *args) -> None:
        """Run one declaration's checks; an exception becomes E900 on that declaration (on the
        whole file for the file-wide phases, `decl` None)."""
        try:
            action(*args)
        except Exception as exc:  # noqa: BLE001 - any bug must surface as a diagnostic
            detail = f"{type(exc).__name__}: {exc}".rstrip(".") if str(exc) else type(exc).__name__
            span = decl.span if decl is not None else ast.Span(0, len(self.source.text))
            self._report("E900", f"Internal error: {detail}. This is a bug in the implementation, "
                                 "not in the pipeline.", span)

    # -- driver -----------------------------------------------------------------------------
    def run(self) -> CheckResult:
        for decl in self.decls:
            self.guarded(decl, self.declare, decl)
        for decl in self.decls:
            if isinstance(decl, ast.UseDecl):
                self.guarded(decl, self.check_use, decl)
        self.guarded(None, self.check_aliases)
        for decl in self.decls:
            if isinstance(decl, ast.InputDecl):
                self.guarded(decl, self.check_input, decl)
        self.guarded(None, self.check_values)
        for decl in self.duplicates:
            self.guarded(decl, self.check_duplicate, decl)
        seen_outputs: dict[str, ast.OutputDecl] = {}
        for decl in self.decls:
            if isinstance(decl, ast.OutputDecl):
                self.guarded(decl, self.check_output, decl, seen_outputs)
        for decl in self.decls:
            if isinstance(decl, ast.InputDecl):
                self.guarded(decl, self.check_input_annotations, decl)
        self.symbols.finish()
        self.result.diagnostics = sorted(self.bag.items, key=sort_key)
        if self.memo is not None:
            self.memo.records = self.records
            self.memo.materialized = False
            self.memo.free_refs = self.free_refs
            self.memo.environment = (list(self.wildcards), dict(self.alias_targets),
                                     dict(self.type_decls))
            self.memo.registry = self.registry
        return self.result

    # -- declarations and name spaces (§3.1, §3.2) ------------------------------------------
    def declare(self, decl: ast.Decl) -> None:
        if isinstance(decl, ast.TypeDecl):
            self.declare_type(decl.name, decl)
        elif isinstance(decl, ast.BrokenDecl):
            if decl.name is not None and decl.space == "type":
                self.declare_type(decl.name, decl)
            elif decl.name is not None and decl.space == "value":
                self.declare_value(decl.name, decl, "binding")
        elif isinstance(decl, ast.InputDecl):
            self.declare_value(decl.name, decl, "input")
        elif isinstance(decl, ast.Assignment):
            self.declare_value(decl.name, decl, "binding")
        elif isinstance(decl, ast.UseDecl):
            self.declare_use(decl)

    def _duplicate(self, name: ast.Name, first: ast.Name) -> None:
        self._report("E030", f"Duplicate definition of '{name.text}' (first defined at "
                             f"{self.pos(first.span.start)})", name.span,
                     related=(Related(first.span, f"'{name.text}' is first defined here"),))

    def declare_value(self, name: ast.Name, decl: ast.Decl, kind: str) -> None:
        first = self.symbols.values.get(name.text)
        if first is not None:
            self._duplicate(name, ast.Name(first.name, first.span))
            self.duplicates.append(decl)
            return
        sym = Symbol(name.text, kind, name.span, decl)
        self.symbols.values[name.text] = sym
        self.symbols.add_occurrence(name.span, sym, is_definition=True)
        self.value_decls[name.text] = decl
        if isinstance(decl, ast.Assignment):
            self.result.canonical.add(id(decl))
        if isinstance(decl, ast.BrokenDecl):
            self.set_binding_type(name.text, ERROR)
            self.result.error_bindings.add(name.text)

    def declare_type(self, name: ast.Name, decl: ast.Decl) -> None:
        if name.text in BUILTIN_TYPE_NAMES:
            self._report("E030", f"'{name.text}' is a built-in type and cannot be redefined",
                         name.span)
            self.duplicates.append(decl)
            return
        first = self.symbols.types.get(name.text)
        if first is not None:
            self._duplicate(name, ast.Name(first.name, first.span))
            self.duplicates.append(decl)
            return
        sym = Symbol(name.text, "type", name.span, decl)
        self.symbols.types[name.text] = sym
        self.symbols.add_occurrence(name.span, sym, is_definition=True)
        self.type_decls[name.text] = decl

    def declare_use(self, decl: ast.UseDecl) -> None:
        path = decl.path_text
        if decl.alias is None:
            if self.registry.is_namespace(path) and path not in self.wildcards:
                self.wildcards.append(path)
            return
        first = self.symbols.namespace_aliases.get(decl.alias.text)
        if first is not None:
            self._duplicate(decl.alias, ast.Name(first.name, first.span))
            return
        sym = Symbol(decl.alias.text, "namespace-alias", decl.alias.span, decl)
        self.symbols.namespace_aliases[decl.alias.text] = sym
        self.symbols.add_occurrence(decl.alias.span, sym, is_definition=True)
        self.alias_targets[decl.alias.text] = path if self.registry.is_namespace(path) else None

    def check_use(self, decl: ast.UseDecl) -> None:
        path = decl.path_text
        if self.registry.is_namespace(path):
            return
        names = suggest(path, sorted(self.registry.namespaces))
        fixes = tuple(Fix(f"Change to '{n}'", (TextEdit(decl.path_span, n),)) for n in names)
        self._report("E004", f"Undefined namespace '{path}'{did_you_mean(names)}",
                     decl.path_span, fixes=fixes)

    # -- type aliases (§3.3, §3.4, §4.1) ----------------------------------------------------
    def _alias_type(self, name: str) -> Type | None:
        t = self.result.alias_types.get(name, ERROR) if name in self.type_decls else None
        if self.deps is not None:
            self.deps.setdefault(("t", name), t)
        return t

    def _alias_ref(self, name: str, span: ast.Span) -> None:
        sym = self.symbols.types.get(name)
        if sym is not None:
            self.symbols.add_occurrence(span, sym)

    def _type_suggestion(self, name: str) -> list[str]:
        return suggest(name, list(BUILTIN_TYPE_NAMES) + list(self.type_decls))

    def check_aliases(self) -> None:
        names = list(self.type_decls)
        edges: dict[str, list[str]] = {}
        refs: dict[tuple[str, str], ast.Span] = {}
        for name, decl in self.type_decls.items():
            targets: list[str] = []
            if isinstance(decl, ast.TypeDecl):
                for used in type_names_in(decl.type):
                    if used.text in self.type_decls and (name, used.text) not in refs:
                        refs[(name, used.text)] = used.span
                        targets.append(used.text)
            edges[name] = targets
        for component in strongly_connected(names, edges):
            cyclic = len(component) > 1 or component[0] in edges[component[0]]
            if cyclic:
                self.report_cycles(component, edges, refs, self.type_decls)
                for name in component:
                    self.result.alias_types[name] = ERROR
                    self.symbols.types[name].type = ERROR
            for name in sorted(component, key=lambda n: self.type_decls[n].span.start):
                decl = self.type_decls[name]
                if isinstance(decl, ast.TypeDecl):
                    self.guarded(decl, self.resolve_alias, name, decl, cyclic)
                else:
                    self.result.alias_types[name] = ERROR
                    self.symbols.types[name].type = ERROR

    def resolve_alias(self, name: str, decl: ast.TypeDecl, cyclic: bool) -> None:
        t = self.resolver.resolve(decl.type)  # a cyclic body: only for its own errors
        if not cyclic:
            self.result.alias_types[name] = t
            self.symbols.types[name].type = t

    def report_cycles(self, component: list[str], edges: dict[str, list[str]],
                      refs: dict[tuple[str, str], ast.Span], decls: dict[str, ast.Decl]) -> None:
        """E031 on each binding of the component, with its shortest cycle (§3.3). A shortest
        cycle per member costs a search of the whole component each, so beyond
        CYCLE_SEARCH_MEMBERS members (hostile input) every member names the cycle found for
        the first one instead, keeping the work and the output linear."""
        members = set(component)
        shared = None  # (cycle text, related) of the first member, for every other one
        if len(component) > CYCLE_SEARCH_MEMBERS:
            path = shortest_cycle(component[0], edges, members)
            shared = (cycle_text(path), self.cycle_related(path, refs))
        for name in component:
            if shared is None or name == component[0]:
                path = shortest_cycle(name, edges, members)
                message = "Circular dependency: " + cycle_text(path)
                related = self.cycle_related(path, refs)
            else:
                message = (f"Circular dependency: '{name}' is one of {len(component):,} bindings "
                           f"that depend on each other, such as {shared[0]}")
                related = shared[1]
            self._report("E031", message, decls[name].name.span, related=related)

    @staticmethod
    def cycle_related(path: list[str], refs: dict[tuple[str, str], ast.Span]) -> tuple:
        return tuple(Related(refs[(a, b)], f"'{b}' is used here") for a, b in shown_edges(path))

    # -- inputs -----------------------------------------------------------------------------
    def check_input(self, decl: ast.InputDecl) -> None:
        t = self.resolver.resolve(decl.type)
        if self.value_decls.get(decl.name.text) is decl:
            self.set_binding_type(decl.name.text, t)

    def set_binding_type(self, name: str, t: Type) -> None:
        self.result.binding_types[name] = t
        sym = self.symbols.values.get(name)
        if sym is not None:
            sym.type = t

    # -- value bindings (§3.3, §3.5) --------------------------------------------------------
    def check_values(self) -> None:
        assignments = {n: d for n, d in self.value_decls.items() if isinstance(d, ast.Assignment)}
        edges: dict[str, list[str]] = {}
        refs: dict[tuple[str, str], ast.Span] = {}
        for name, decl in assignments.items():
            targets: list[str] = []
            for used, span in self.free_references_of(decl):
                if used in assignments and (name, used) not in refs:
                    refs[(name, used)] = span
                    targets.append(used)
            edges[name] = targets
        self.env = (id(self.registry), tuple(self.wildcards), tuple(self.alias_targets.items()))
        cyclic_decls: list[ast.Assignment] = []
        for component in self.components(list(assignments), edges):
            self.result.value_order.extend(component)
            if len(component) > 1 or component[0] in edges[component[0]]:
                self.report_cycles(component, edges, refs, assignments)
                for name in component:
                    self.set_binding_type(name, ERROR)
                    self.result.error_bindings.add(name)
                    cyclic_decls.append(assignments[name])
                continue
            decl = assignments[component[0]]
            self.set_binding_type(decl.name.text, ERROR)  # if checking fails (E900)
            if not self.replay_assignment(decl):
                self.record_assignment(decl)
        for decl in sorted(cyclic_decls, key=lambda d: d.span.start):
            self.guarded(decl, self.infer, decl.expr, {})

    def free_references_of(self, decl: ast.Assignment) -> list[tuple[str, ast.Span]]:
        """free_references of a right-hand side, memoized per declaration object."""
        if not self.recording:
            return free_references(decl.expr)
        known = self.memo.free_refs.get(id(decl))
        if known is None or known[0] is not decl:
            known = (decl, free_references(decl.expr))
        self.free_refs[id(decl)] = known
        return known[1]

    def components(self, names: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
        """strongly_connected, reused when the dependency graph did not change."""
        memo = self.memo
        if memo is None:
            return strongly_connected(names, edges)
        if memo.components is None or memo.components[0] != names \
                or memo.components[1] != edges:
            entered: dict[str, int] = {}
            turns: list[int] = []
            memo.components = (names, edges, strongly_connected(names, edges, entered, turns),
                               entered, turns)
        return memo.components[2]

    # -- incremental re-checking (checkmemo.py) ---------------------------------------------
    def record_assignment(self, decl: ast.Assignment, *, keep_diagnostics: bool = False) -> None:
        """Check an assignment, recording what it produced and the facts it read.

        A declaration with diagnostics gets no record (it is always checked again), unless
        `keep_diagnostics`: the quick path's scratch check reads its record either way."""
        if self.memo is not None:
            self.memo.rechecked.append(decl.name.text)
        if not self.recording:
            self.guarded(decl, self.check_assignment, decl)
            return
        r, s = self.result, self.symbols
        # every table only grows while one declaration is checked: its share is a tail
        tables = (r.expr_types, r.var_symbols, r.call_targets, r.call_options, r.call_types)
        starts = [len(t) for t in tables]
        occurrences, locals_, diagnostics = len(s.occurrences), len(s.locals), len(self.bag.items)
        self.deps = {}
        try:
            self.guarded(decl, self.check_assignment, decl)
        finally:
            deps, self.deps = self.deps, None
        if len(self.bag.items) > diagnostics and not keep_diagnostics:
            return  # diagnostics: always checked again
        self.records[id(decl)] = DeclRecord(
            decl, self.env, r.binding_types.get(decl.name.text, ERROR), deps,
            s.occurrences[occurrences:], s.locals[locals_:], tables,
            tuple(zip(starts, [len(t) for t in tables])))

    def replay_assignment(self, decl: ast.Assignment) -> bool:
        """Reuse the previous check of an unchanged assignment whose inputs are unchanged."""
        memo = self.memo
        if memo is None or not memo.records:
            return False
        rec = memo.records.get(id(decl))
        if rec is None or rec.decl is not decl or rec.env != self.env:
            return False
        if not memo.materialized:
            materialize(memo.records.values())
            memo.materialized = True
        values, types = self.symbols.values, self.result.binding_types
        for (space, name), t in rec.deps.items():
            if space == "v":
                if name not in values or not same_type(types.get(name, ERROR), t):
                    return False
            else:
                now = self.result.alias_types.get(name, ERROR) if name in self.type_decls \
                    else None
                if not (now is t or (now is not None and t is not None and same_type(now, t))):
                    return False
        r, s = self.result, self.symbols
        r.expr_types.update(rec.expr_types)
        tables = {"values": values, "types": s.types, "namespace_aliases": s.namespace_aliases}
        var_symbols = r.var_symbols
        for i, sym in rec.var_symbols.items():
            var_symbols[i] = values[sym.name] if sym.is_top_level_value else sym
        r.call_targets.update(rec.call_targets)
        r.call_options.update(rec.call_options)
        r.call_types.update(rec.call_types)
        occurrences = s.occurrences
        for span, sym in rec.occurrences:
            table = TABLE_OF_KIND.get(sym.kind)
            if table is None:
                occurrences.append((span, sym))  # a local: its references are its own
            else:
                now = tables[table][sym.name]
                occurrences.append((span, now))
                now.references.append(span)
        s.locals.extend(rec.locals)
        self.set_binding_type(decl.name.text, rec.binding_type)
        self.records[id(decl)] = rec
        memo.reused += 1
        return True

    def check_assignment(self, decl: ast.Assignment) -> None:
        self.set_binding_type(decl.name.text, self.infer(decl.expr, {}))

    def check_duplicate(self, decl: ast.Decl) -> None:
        """A duplicate is not part of the program, but its own errors are reported (§3.2)."""
        if isinstance(decl, ast.Assignment):
            self.infer(decl.expr, {})
        elif isinstance(decl, ast.InputDecl):
            self.resolver.resolve(decl.type)
        elif isinstance(decl, ast.TypeDecl):
            self.resolver.resolve(decl.type)

    # -- outputs and annotations (§3.4) -----------------------------------------------------
    def check_output(self, decl: ast.OutputDecl, seen: dict[str, ast.OutputDecl]) -> None:
        for ann in decl.annotations:
            self.deployment_annotation(ann)
        name = decl.name.text
        sym = self.symbols.values.get(name)
        if sym is None:
            if name in self.type_decls or name in BUILTIN_TYPE_NAMES:
                self._report("E001", f"'{name}' is a type, not a value", decl.name.span)
            else:
                self.undefined_variable(decl.name, {})
            return
        self.symbols.add_occurrence(decl.name.span, sym)
        if name in seen:
            first = seen[name]
            self._report("W006", f"Output '{name}' is already declared at "
                                 f"{self.pos(first.span.start)}", decl.name.span,
                         related=(Related(first.name.span, f"'{name}' is first declared here"),),
                         fixes=(Fix("Remove the duplicate output",
                                    (TextEdit(self.line_removal(_with_annotations(decl)), ""),)),))
            return
        seen[name] = decl
        self.result.outputs.append(name)

    def line_removal(self, span: ast.Span) -> ast.Span:
        """The span plus the whitespace before it (to delete a declaration cleanly)."""
        start = span.start
        text = self.source.text
        while start > 0 and text[start - 1] in " \t\r\n":
            start -= 1
        return ast.Span(start, span.end)

    def deployment_annotation(self, ann: ast.Annotation) -> None:
        if ann.name.text in ("source", "sink"):
            end = ann.span.end
            text = self.source.text
            while end < len(text) and text[end] in " \t\r\n":
                end += 1
            self._report("W004", f"'@{ann.name.text}' is ignored by this runtime", ann.span,
                         fixes=(Fix(f"Remove '@{ann.name.text}'",
                                    (TextEdit(ast.Span(ann.span.start, end), ""),)),))

    def check_input_annotations(self, decl: ast.InputDecl) -> None:
        canonical = self.value_decls.get(decl.name.text) is decl
        input_type = self.result.binding_types.get(decl.name.text, ERROR) if canonical else ERROR
        for ann in decl.annotations:
            if ann.name.text != "example":
                self.deployment_annotation(ann)
                continue
            if not ann.args:
                continue
            value = ann.args[0]
            if not is_constant(value):
                self._report("E015", "An @example value must be a constant (no variables or "
                                     "function calls)", value.span)
                continue
            t = self.check(value, input_type, {})
            if not canonical or not is_subtype(t, input_type):
                continue
            try:
                constant = evaluate_constant(value)
            except NotConstant:
                continue
            self.result.examples.setdefault(decl.name.text, []).append(coerce(constant, input_type))

    # =========================================================================================
    # Expressions (§5)

    def infer(self, e: ast.Expr, scope: dict[str, Symbol]) -> Type:
        t = _INFER[type(e)](self, e, scope)
        self.result.expr_types[id(e)] = t
        return t

    def check(self, e: ast.Expr, expected: Type, scope: dict[str, Symbol],
              context: str = "") -> Type:
        """Checking mode (§5.15)."""
        if expected is ERROR:
            return self.infer(e, scope)
        target = expected.elem if isinstance(expected, OptionalT) else expected
        if isinstance(e, ast.ListLit) and isinstance(target, ListT):
            for item in e.items:
                self.check(item, target.elem, scope, context)
            t: Type = target
        elif isinstance(e, ast.RecordLit) and isinstance(target, RecordT):
            t = self.check_record(e, target, scope, context)
        elif isinstance(e, ast.If):
            self.condition(e.cond, scope)
            t = lub(self.check(e.then, expected, scope, context),
                    self.check(e.else_, expected, scope, context))
        elif isinstance(e, ast.Branch):
            for cond, _ in e.arms:
                self.condition(cond, scope)
            t = common_type([self.check(v, expected, scope, context) for _, v in e.arms]
                            + [self.check(e.otherwise, expected, scope, context)])
        elif isinstance(e, ast.Match):
            t = self.match(e, scope, lambda body, sc: self.check(body, expected, sc, context))
        else:
            t = self.infer(e, scope)
            if t is ERROR:
                self.note_wanted(e, expected)
            self.require(e, t, expected, context)
            return t
        self.result.expr_types[id(e)] = t
        return t

    def note_wanted(self, e: ast.Expr, wanted: Type) -> None:
        """An undefined name used where a `wanted` value goes: its E001 (just reported) carries
        the type, so that declaring the name as an input fixes the use."""
        if not isinstance(e, ast.Var) or id(e) in self.result.var_symbols or wanted is ERROR \
                or has_type_var(wanted):
            return
        items = self.bag.items
        for i in range(len(items) - 1, max(-1, len(items) - 4), -1):
            if items[i].code == "E001" and items[i].span == e.name.span:
                items[i] = dataclasses.replace(items[i], expected_type=wanted)
                return

    def require(self, e: ast.Expr, t: Type, expected: Type, context: str = "") -> bool:
        if is_subtype(t, expected):
            return True
        suffix = f" ({context})" if context else ""
        self._report("E010", f"Type mismatch: expected {type_str(expected)}, got {type_str(t)}"
                             f"{suffix}", e.span)
        return False

    def check_record(self, e: ast.RecordLit, target: RecordT, scope, context: str) -> Type:
        wanted = target.field_map
        fields: list[tuple[str, Type]] = []
        seen: set[str] = set()
        for name, value in e.fields:
            if name.text in wanted:
                ft = self.check(value, wanted[name.text], scope, context)
            else:
                ft = self.infer(value, scope)
            if name.text in seen:
                self._report("E030", f"Duplicate field '{name.text}'", name.span)
                continue
            seen.add(name.text)
            fields.append((name.text, ft))
        missing = [n for n, _ in target.fields if n not in seen]
        if missing:
            self._report("E015", "Record literal is missing field(s): " + ", ".join(missing),
                         e.span)
        return record(fields)

    def condition(self, cond: ast.Expr, scope) -> None:
        self.require(cond, self.infer(cond, scope), BOOLEAN)

    # -- names and literals (§5.2) ----------------------------------------------------------
    def _var(self, e: ast.Var, scope) -> Type:
        name = e.name.text
        sym = scope.get(name) or self.symbols.values.get(name)
        if sym is None:
            self.undefined_variable(e.name, scope)
            return ERROR
        self.result.var_symbols[id(e)] = sym
        self.symbols.add_occurrence(e.name.span, sym)
        if sym.is_top_level_value:
            t = self.result.binding_types.get(name, ERROR)
            if self.deps is not None:
                self.deps.setdefault(("v", name), t)
            return t
        return sym.type or ERROR

    def undefined_variable(self, name: ast.Name, scope) -> None:
        visible = set(scope) | set(self.symbols.values)
        text = name.text
        parts = text.split("-")
        if len(parts) > 1 and all(p in visible or p.isdigit() for p in parts):
            spaced = " - ".join(parts)
            self._report("E001", f"Undefined variable '{text}'. Did you mean '{spaced}'?",
                         name.span, fixes=(Fix(f"Change to '{spaced}'",
                                               (TextEdit(name.span, spaced),)),))
            return
        names = suggest(text, visible)
        fixes = tuple(Fix(f"Change to '{n}'", (TextEdit(name.span, n),)) for n in names)
        self._report("E001", f"Undefined variable '{text}'{did_you_mean(names)}", name.span,
                     fixes=fixes)

    def _literal(self, e: ast.Literal, scope) -> Type:
        return PRIMITIVES[e.kind]

    def _interpolation(self, e: ast.Interpolation, scope) -> Type:
        for part in e.exprs:
            self.infer(part, scope)
        return STRING

    # -- list and record literals (§5.3) ----------------------------------------------------
    def _list(self, e: ast.ListLit, scope) -> Type:
        return ListT(common_type([self.infer(item, scope) for item in e.items]))

    def _record(self, e: ast.RecordLit, scope) -> Type:
        fields: list[tuple[str, Type]] = []
        seen: set[str] = set()
        for name, value in e.fields:
            t = self.infer(value, scope)
            if name.text in seen:
                self._report("E030", f"Duplicate field '{name.text}'", name.span)
                continue
            seen.add(name.text)
            fields.append((name.text, t))
        return record(fields)

    # -- field access and projection (§5.11) ------------------------------------------------
    def _record_hint(self, what: str, t: Type) -> str:
        message = f"{what} requires a record, got {type_str(t)}"
        if isinstance(t, OptionalT):
            message += "; unwrap it first with ??"
        elif isinstance(t, UnionT):
            message += "; use match to handle each case"
        return message

    def _record_target(self, target: ast.Expr, scope, what: str):
        """(record type, lifted over a list) of the target of a field access or projection;
        None (reported as E015 when it is not a record) when there is nothing to read from."""
        source = self.infer(target, scope)
        if source is ERROR or source is NOTHING:
            return None
        rec, lifted = _record_of(source)
        if rec is None:
            self._report("E015", self._record_hint(what, source), target.span)
            return None
        return rec, lifted

    def _field_access(self, e: ast.FieldAccess, scope) -> Type:
        target = self._record_target(e.target, scope, "Field access")
        if target is None:
            return ERROR
        rec, lifted = target
        fmap = rec.field_map
        if e.field.text not in fmap:
            names = suggest(e.field.text, fmap)
            self._report("E007", f"Field '{e.field.text}' not found in {type_str(rec)} "
                                 f"(available: {_available(rec)})",
                         ast.Span(e.dot, e.field.span.end),
                         fixes=tuple(Fix(f"Change to '{n}'", (TextEdit(e.field.span, n),))
                                     for n in names))
            return ERROR
        t = fmap[e.field.text]
        return ListT(t) if lifted else t

    def _projection(self, e: ast.Projection, scope) -> Type:
        target = self._record_target(e.target, scope, "Projection")
        if target is None:
            return ERROR
        rec, lifted = target
        fmap = rec.field_map
        fields: list[tuple[str, Type]] = []
        seen: set[str] = set()
        failed = False
        for name in e.fields:
            if name.text in seen:
                self._report("E030", f"Duplicate field '{name.text}'", name.span)
                continue
            seen.add(name.text)
            if name.text not in fmap:
                names = suggest(name.text, fmap)
                self._report("E006", f"Cannot project field '{name.text}': not found in "
                                     f"{type_str(rec)} (available: {_available(rec)})", name.span,
                             fixes=tuple(Fix(f"Change to '{n}'", (TextEdit(name.span, n),))
                                         for n in names))
                failed = True
                continue
            fields.append((name.text, fmap[name.text]))
        if failed:
            return ERROR
        return ListT(record(fields)) if lifted else record(fields)

    # -- operators (§5.5-§5.9) --------------------------------------------------------------
    def _unary(self, e: ast.Unary, scope) -> Type:
        t = self.infer(e.operand, scope)
        if e.op == "not":
            self.require(e.operand, t, BOOLEAN)
            return BOOLEAN
        if t is ERROR:
            return ERROR
        if is_int(t):
            return INT
        if is_numeric(t):
            return FLOAT
        self._report("E014", f"Operator '-' is not supported for type {type_str(t)}", e.span)
        return ERROR

    def _binary(self, e: ast.Binary, scope) -> Type:
        if e.op == "??":
            return self.coalesce(e, scope)
        left = self.infer(e.left, scope)
        right = self.infer(e.right, scope)
        if e.op in ("and", "or"):
            for side, t in ((e.left, left), (e.right, right)):
                if t is ERROR:
                    self.note_wanted(side, BOOLEAN)
            self.require(e.left, left, BOOLEAN)
            self.require(e.right, right, BOOLEAN)
            return BOOLEAN
        if left is ERROR or right is ERROR:
            if left is ERROR and isinstance(right, Prim):
                self.note_wanted(e.left, right)  # `m > 1`: an m like the other operand
            elif right is ERROR and isinstance(left, Prim):
                self.note_wanted(e.right, left)
            return BOOLEAN if e.op in ("==", "!=") or e.op in ORDERING else ERROR
        if e.op in ("==", "!="):
            if not (is_subtype(left, right) or is_subtype(right, left)):
                self.unsupported("E013", e, left, right)
            return BOOLEAN
        if e.op in ORDERING:
            if not ((is_numeric(left) and is_numeric(right))
                    or (is_subtype(left, STRING) and is_subtype(right, STRING))):
                self.unsupported("E013", e, left, right)
            return BOOLEAN
        return self.arithmetic(e, left, right)

    def arithmetic(self, e: ast.Binary, left: Type, right: Type) -> Type:
        if e.op == "+" and (is_record_shaped(left) or is_record_shaped(right)):
            merged = merge(left, right)
            if merged is None:
                self._report("E012", merge_error_message(left, right), e.span)
                return ERROR
            return merged
        if is_int(left) and is_int(right):
            return INT
        if is_numeric(left) and is_numeric(right):
            return FLOAT
        if e.op == "+" and is_subtype(left, STRING) and is_subtype(right, STRING):
            return STRING
        self.unsupported("E014", e, left, right)
        return ERROR

    def unsupported(self, code: str, e: ast.Binary, left: Type, right: Type) -> None:
        message = (f"Operator '{e.op}' is not supported for types {type_str(left)} and "
                   f"{type_str(right)}")
        fixes: tuple[Fix, ...] = ()
        if code == "E014":
            stringy = is_subtype(left, STRING) or is_subtype(right, STRING)
            numeric = is_numeric(left) or is_numeric(right)
            if isinstance(left, OptionalT) or isinstance(right, OptionalT):
                message += "; unwrap it first with ??"
            elif e.op == "+" and stringy and numeric:
                rewrite = '"' + self.interpolated(e.left) + self.interpolated(e.right) + '"'
                message += '; use interpolation: ' + rewrite
                fixes = (Fix("Use string interpolation", (TextEdit(e.span, rewrite),)),)
            elif e.op == "+" and isinstance(left, ListT) and isinstance(right, ListT):
                message += "; use list-concat"
        self._report(code, message, e.span, fixes=fixes)

    def interpolated(self, operand: ast.Expr) -> str:
        """An operand as a piece of an interpolated string: a plain string literal's body is
        inlined as written, anything else becomes `${…}`."""
        text = self.text(operand.span)
        if isinstance(operand, ast.Literal) and operand.kind == "String" and len(text) >= 2:
            return text[1:-1]
        return "${" + text + "}"

    def coalesce(self, e: ast.Binary, scope) -> Type:
        left = self.infer(e.left, scope)
        right = self.infer(e.right, scope)
        if left is ERROR:
            return ERROR
        if left is NOTHING:  # Nothing <: Optional<T>: only the fallback can produce a value
            return right
        if not isinstance(left, OptionalT):
            removal = ast.Span(e.left.span.end, e.span.end)
            self._report("E015", f"Left side of ?? must be Optional, got {type_str(left)}",
                         e.left.span, fixes=(Fix("Remove '?? …'", (TextEdit(removal, ""),)),))
            return ERROR
        inner = left.elem
        if right is ERROR:
            return ERROR
        if is_subtype(right, inner):
            return inner
        if is_subtype(inner, right):
            return right
        self._report("E010", f"Type mismatch: expected {type_str(inner)}, got {type_str(right)}",
                     e.right.span)
        return ERROR

    def _guard(self, e: ast.Guard, scope) -> Type:
        t = self.infer(e.expr, scope)
        self.condition(e.cond, scope)
        return optional(t)

    # -- conditionals (§5.10) ---------------------------------------------------------------
    def _if(self, e: ast.If, scope) -> Type:
        self.condition(e.cond, scope)
        return lub(self.infer(e.then, scope), self.infer(e.else_, scope))

    def _branch(self, e: ast.Branch, scope) -> Type:
        values = []
        for cond, value in e.arms:
            self.condition(cond, scope)
            values.append(self.infer(value, scope))
        values.append(self.infer(e.otherwise, scope))
        return common_type(values)

    # -- match (§5.12) ----------------------------------------------------------------------
    def _match(self, e: ast.Match, scope) -> Type:
        return self.match(e, scope, self.infer)

    def match(self, e: ast.Match, scope, body_check) -> Type:
        subject = self.infer(e.subject, scope)
        members = list(subject.members) if isinstance(subject, UnionT) else [subject]
        known = subject is not ERROR
        covered: set[Type] = set()
        wildcard_seen = False
        invalid_pattern = False  # a reported pattern error makes coverage unknowable
        results: list[Type] = []
        for case in e.cases:
            inner = dict(scope)
            covers = self.pattern(case, members if known else [], inner, known)
            invalid_pattern = invalid_pattern or covers is None
            if known and covers is not None:
                self.reachability(e, case, covers, covered, wildcard_seen)
                covered.update(covers)
            if isinstance(case.pattern, ast.WildcardPattern):
                wildcard_seen = True
            results.append(body_check(case.body, inner))
        if known and not wildcard_seen and not invalid_pattern:
            missing = [m for m in members if m not in covered]
            if missing:
                self.non_exhaustive(e, subject, missing)
        return common_type(results)

    def pattern(self, case: ast.Case, members: list[Type], inner: dict[str, Symbol],
                known: bool) -> list[Type] | None:
        """Bind the pattern's names in `inner`; return the members it covers (None: invalid)."""
        pat = case.pattern
        if isinstance(pat, ast.WildcardPattern):
            return list(members)
        if isinstance(pat, ast.TypePattern):
            tau = self.resolver.resolve(ast.TypeName(pat.type_name, [], pat.type_name.span))
            if tau is ERROR or not known:
                return None
            if tau not in members:
                self._report("E010", f"Pattern is {pat.type_name.text} cannot match type "
                                     f"{_members_str(members)}", pat.span)
                return None
            return [tau]
        names: list[ast.Name] = []
        seen: set[str] = set()
        for name in pat.fields:
            if name.text in seen:
                self._report("E030", f"Duplicate field '{name.text}'", name.span)
                continue
            seen.add(name.text)
            names.append(name)
        covers = [m for m in members
                  if isinstance(m, RecordT) and all(n.text in m.field_map for n in names)]
        if known and not covers:
            text = "{ " + ", ".join(n.text for n in pat.fields) + " }"
            self._report("E010", f"Pattern {text} cannot match type {_members_str(members)}",
                         pat.span)
        for name in names:
            t = common_type([m.field_map[name.text] for m in covers]) if covers else ERROR
            sym = Symbol(name.text, "pattern", name.span, case, t)
            self.symbols.locals.append(sym)
            self.symbols.add_occurrence(name.span, sym, is_definition=True)
            inner[name.text] = sym
        return covers if covers else None

    def reachability(self, e: ast.Match, case: ast.Case, covers: list[Type], covered: set[Type],
                     wildcard_seen: bool) -> None:
        index = e.cases.index(case)
        if index == 0:
            return
        if wildcard_seen:
            message = "Unreachable case: '_' above matches everything"
        elif all(m in covered for m in covers):
            message = f"Unreachable case: earlier cases already cover {_members_str(covers)}"
        else:
            return
        removal = ast.Span(e.cases[index - 1].span.end, case.span.end)
        self._report("W005", message, case.pattern.span,
                     fixes=(Fix("Remove the unreachable case", (TextEdit(removal, ""),)),))

    def non_exhaustive(self, e: ast.Match, subject: Type, missing: list[Type]) -> None:
        names = ", ".join(sorted(type_str(m) for m in missing))
        insert_at = ast.Span(e.cases[-1].span.end, e.cases[-1].span.end) if e.cases else \
            ast.Span(e.span.end - 1, e.span.end - 1)
        fixes = []
        for m in sorted(missing, key=type_str):
            if isinstance(m, RecordT) and m.fields:
                pattern = "{ " + ", ".join(n for n, _ in m.fields) + " }"
            elif isinstance(m, Prim):
                pattern = f"is {m.name}"
            else:
                continue
            fixes.append(Fix(f"Add a case '{pattern} -> …'",
                             (TextEdit(insert_at, f", {pattern} -> …"),)))
        fixes.append(Fix("Add a case '_ -> …'", (TextEdit(insert_at, ", _ -> …"),)))
        self._report("E015", f"Non-exhaustive match on {type_str(subject)}: no case for {names}",
                     e.keyword.cover(e.subject.span), fixes=tuple(fixes))

    # -- lambdas (§5.14) --------------------------------------------------------------------
    def _lambda(self, e: ast.Lambda, scope) -> Type:
        self._report("E015", LAMBDA_MISUSE, e.span)
        self.lambda_body_silently(e, scope)
        return ERROR

    def lambda_body_silently(self, e: ast.Lambda, scope) -> None:
        """Resolve names inside a misplaced lambda; its parameters are Error-typed."""
        inner = dict(scope)
        seen: dict[str, ast.Param] = {}
        for p in e.params:
            t = self.resolver.resolve(p.type) if p.type is not None else ERROR
            if p.name.text in seen:  # §3.2: reported wherever the lambda stands
                self._duplicate(p.name, seen[p.name.text].name)
                continue
            seen[p.name.text] = p
            inner[p.name.text] = self.bind_param(p, t)
        body = self.infer(e.body, inner)
        self.result.expr_types[id(e)] = FunctionT(tuple(inner[p.name.text].type or ERROR
                                                        for p in e.params), body)

    def bind_param(self, p: ast.Param, t: Type) -> Symbol:
        sym = Symbol(p.name.text, "param", p.name.span, p, t)
        self.symbols.locals.append(sym)
        self.symbols.add_occurrence(p.name.span, sym, is_definition=True)
        return sym

    def check_lambda(self, e: ast.Lambda, expected: FunctionT, fname: str,
                     binding: dict[str, Type], scope, unknown: bool = False) -> None:
        if len(e.params) != len(expected.params):
            k, m = len(e.params), len(expected.params)
            noun = "parameter" if k == 1 else "parameters"
            self._report("E015", f"The lambda has {k} {noun} but '{fname}' passes {m}", e.span)
            self.lambda_body_silently(e, scope)
            return
        inner = dict(scope)
        seen: dict[str, ast.Param] = {}
        param_types: list[Type] = []
        for p, passed in zip(e.params, expected.params):
            t = self.param_type(p, substitute(passed, binding), unknown)
            param_types.append(t)
            if p.name.text in seen:
                self._duplicate(p.name, seen[p.name.text].name)
            else:
                seen[p.name.text] = p
                inner[p.name.text] = self.bind_param(p, t)
        result = substitute(expected.result, binding)
        if isinstance(result, TypeVar):
            body = self.infer(e.body, inner)
            binding[result.name] = body
        else:
            body = self.check(e.body, result, inner)
        self.result.expr_types[id(e)] = FunctionT(tuple(param_types), body)

    def param_type(self, p: ast.Param, passed: Type, unknown: bool = False) -> Type:
        annotated = self.resolver.resolve(p.type) if p.type is not None else None
        if isinstance(passed, TypeVar) or has_type_var(passed):
            if annotated is not None:
                return annotated
            if unknown:
                return ERROR
            self._report("E015", f"Cannot infer the type of lambda parameter '{p.name.text}'; "
                                 "add an annotation", p.span)
            return ERROR
        if annotated is None:
            return passed
        if not is_subtype(passed, annotated):
            self._report("E010", f"Type mismatch: expected {type_str(annotated)}, got "
                                 f"{type_str(passed)}", p.span)
        return annotated

    # -- calls (§5.13, §7) ------------------------------------------------------------------
    def _call(self, e: ast.Call, scope) -> Type:
        fn = self.resolve_call(e, scope)
        if fn is None:
            for arg in e.args:
                self.infer_silently(arg, scope)
            self.options.validate(e, None, ERROR, scope)
            return ERROR
        self.result.call_targets[id(e)] = fn
        if len(e.args) != len(fn.params):
            n, m = len(fn.params), len(e.args)
            noun = "argument" if n == 1 else "arguments"
            self._report("E015", f"Function '{fn.name}' expects {n} {noun}, got {m}", e.span)
            for arg in e.args:
                self.infer_silently(arg, scope)
            declared = ERROR if has_type_var(fn.result) else fn.result
        else:
            declared = self.arguments(e, fn, scope)
        final = self.options.validate(e, fn, declared, scope)
        self.result.call_types[id(e)] = final
        return final

    def infer_silently(self, arg: ast.Expr, scope) -> None:
        """Arguments of a call that cannot be checked: names still resolve, lambdas are not
        reported (whether one was allowed there is unknown)."""
        if isinstance(arg, ast.Lambda):
            self.lambda_body_silently(arg, scope)
        else:
            self.infer(arg, scope)

    def arguments(self, e: ast.Call, fn: Function, scope) -> Type:
        """Generic instantiation and argument checks (§7.4); returns the result type."""
        found: dict[str, list[Type]] = {}
        generic: list[tuple[ast.Expr, Type, Type]] = []
        lambdas: list[tuple[ast.Lambda, Type]] = []
        for arg, (pname, ptype) in zip(e.args, fn.params):
            context = f"argument '{pname}' of '{fn.name}'"
            if isinstance(arg, ast.Lambda):
                lambdas.append((arg, ptype))
            elif has_type_var(ptype):
                t = self.infer(arg, scope)
                if collect(ptype, t, found):
                    generic.append((arg, t, ptype))
                else:
                    self._report("E010", f"Type mismatch: expected {type_str(ptype)}, got "
                                         f"{type_str(t)}", arg.span)
            else:
                self.check(arg, ptype, scope, context)
        binding = {name: common_type(ts) for name, ts in found.items()}
        # an Error argument leaves its variables unknown: no lambda diagnostics follow from it
        unknown = any(contains_error(t) for _, t, _ in generic)
        for arg, ptype in lambdas:
            if isinstance(ptype, FunctionT):
                self.check_lambda(arg, ptype, fn.name, binding, scope, unknown)
            else:
                self._report("E015", LAMBDA_MISUSE, arg.span)
                self.lambda_body_silently(arg, scope)
        for arg, t, ptype in generic:
            pname = fn.params[e.args.index(arg)][0]
            self.require(arg, t, substitute(ptype, binding, NOTHING),
                         f"argument '{pname}' of '{fn.name}'")
        # a variable left unbound because its argument was Error is unknown, not Nothing
        return substitute(fn.result, binding, ERROR if unknown else NOTHING)

    def resolve_call(self, e: ast.Call, scope) -> Function | None:
        """§7.3; reports E002/E004/E005 and returns None when unresolved."""
        parts = [n.text for n in e.name]
        if len(parts) == 1:
            return self.resolve_simple(e, parts[0])
        first = parts[0]
        alias = self.symbols.namespace_aliases.get(first)
        if alias is not None:
            self.symbols.add_occurrence(e.name[0].span, alias)
            base = self.alias_targets.get(first)
            if base is None:
                return None  # the `use` path itself is reported (E004)
            target = ".".join([base] + parts[1:])
        else:
            target = ".".join(parts)
        fn = self.registry.lookup(target)
        if fn is not None:
            return fn
        prefix = target.rsplit(".", 1)[0]
        if self.registry.is_namespace(prefix):
            self.undefined_qualified(e, parts)
        else:
            self.undefined_namespace(e, parts, scope)
        return None

    def resolve_simple(self, e: ast.Call, name: str) -> Function | None:
        span = e.name_span
        if name in self.symbols.namespace_aliases:
            self._report("E002", f"'{name}' is a namespace alias, not a function", span)
            return None
        pool = self.candidates(name)
        if len(pool) == 1:
            return pool[0]
        if len(pool) > 1:
            qualified = sorted(f.qualified for f in pool)
            self._report("E005", f"Ambiguous function '{name}': candidates are "
                                 + ", ".join(qualified), span,
                         fixes=tuple(Fix(f"Use '{q}'", (TextEdit(span, q),)) for q in qualified))
            return None
        offered = self.function_suggestions()
        names = [q for simple in suggest(name, offered) for q in offered[simple]][:3]
        self._report("E002", f"Undefined function '{name}'{did_you_mean(names)}", span,
                     fixes=tuple(Fix(f"Change to '{n}'", (TextEdit(span, n),)) for n in names))
        return None

    def candidates(self, name: str) -> list[Function]:
        """Tier 1, else tier 2 (§7.3)."""
        every = self.registry.by_simple_name(name)
        tier1 = [f for f in every if f.namespace is None or f.namespace in self.wildcards]
        return tier1 or every

    def function_suggestions(self) -> dict[str, list[str]]:
        """Simple name -> what a suggestion offers (§8.3): the distance is to the simple name;
        the offer is that name if it resolves uniquely, else each qualified name."""
        if self._function_suggestions is None:
            out: dict[str, list[str]] = {}
            for simple in {f.name for f in self.registry.functions}:
                if simple in RESERVED_WORDS:
                    continue
                pool = self.candidates(simple)
                out[simple] = [simple] if len(pool) == 1 else sorted(f.qualified for f in pool)
            self._function_suggestions = out
        return self._function_suggestions

    def undefined_qualified(self, e: ast.Call, parts: list[str]) -> None:
        written = ".".join(parts)
        span = e.name_span
        pool = [f.qualified for f in self.registry.functions if f.name not in RESERVED_WORDS]
        names = suggest(written, pool)
        self._report("E002", f"Undefined function '{written}'{did_you_mean(names)}", span,
                     fixes=tuple(Fix(f"Change to '{n}'", (TextEdit(span, n),)) for n in names))

    def undefined_namespace(self, e: ast.Call, parts: list[str], scope) -> None:
        prefix, fname = ".".join(parts[:-1]), parts[-1]
        span = e.name[0].span.cover(e.name[-2].span)
        message = f"Undefined namespace '{prefix}'"
        fixes: tuple[Fix, ...] = ()
        imported = [p for p in self.wildcards if (p == prefix or p.endswith("." + prefix))
                    and self.registry.lookup(f"{p}.{fname}") is not None]
        if imported:
            p = imported[0]
            message += f"; write {fname}(…), {p}.{fname}(…), or use {p} as {prefix}"
            fixes = (Fix(f"Change to '{p}.{fname}'", (TextEdit(e.name_span, f"{p}.{fname}"),)),
                     Fix(f"Change to '{fname}'", (TextEdit(e.name_span, fname),)))
        elif parts[0] in scope or parts[0] in self.symbols.values:
            message += f"; '{parts[0]}' is a value; there is no method-call syntax"
        else:
            pool = sorted(self.registry.namespaces | set(self.symbols.namespace_aliases))
            names = suggest(prefix, pool)
            message += did_you_mean(names)
            fixes = tuple(Fix(f"Change to '{n}'", (TextEdit(span, n),)) for n in names)
        self._report("E004", message, span, fixes=fixes)


_INFER = {
    ast.Var: _Checker._var, ast.Literal: _Checker._literal,
    ast.Interpolation: _Checker._interpolation, ast.ListLit: _Checker._list,
    ast.RecordLit: _Checker._record, ast.FieldAccess: _Checker._field_access,
    ast.Projection: _Checker._projection, ast.Unary: _Checker._unary,
    ast.Binary: _Checker._binary, ast.Guard: _Checker._guard, ast.If: _Checker._if,
    ast.Branch: _Checker._branch, ast.Match: _Checker._match, ast.Lambda: _Checker._lambda,
    ast.Call: _Checker._call,
}


def same_type(a: Type, b: Type) -> bool:
    """Identical types, field order included (RecordT equality ignores the order, but the
    order shows in messages and in merged records)."""
    return a is b or (type(a) is type(b) and repr(a) == repr(b))


def _record_of(t: Type) -> tuple[RecordT | None, bool]:
    """The record a field access reads: the type itself, or the element of a list (lifted)."""
    if isinstance(t, RecordT):
        return t, False
    if isinstance(t, ListT) and isinstance(t.elem, RecordT):
        return t.elem, True
    return None, False


def _with_annotations(decl: ast.OutputDecl) -> ast.Span:
    """A declaration's span including the annotations attached before it."""
    start = min([decl.span.start] + [a.span.start for a in decl.annotations])
    return ast.Span(start, decl.span.end)


def _available(rec: RecordT) -> str:
    return ", ".join(n for n, _ in rec.fields)


def _members_str(members: list[Type]) -> str:
    return type_str(union(members)) if members else "Nothing"


# ---------------------------------------------------------------------------------------------
# Free references (dependency edges of §3.3)


def free_references(expr: ast.Expr) -> list[tuple[str, ast.Span]]:
    """Top-level names an expression reads, in source order, skipping names shadowed by
    lambda parameters and pattern bindings (lambda bodies and fallbacks included)."""
    out: list[tuple[str, ast.Span]] = []
    _free(expr, frozenset(), out)
    return out


def _free(node: object, bound: frozenset, out: list) -> None:
    kind = type(node)
    if kind is ast.Var:
        if node.name.text not in bound:
            out.append((node.name.text, node.name.span))
    elif kind is ast.Literal:
        return
    elif kind is ast.Binary:
        _free(node.left, bound, out)
        _free(node.right, bound, out)
    elif kind is ast.Call:
        for arg in node.args:
            _free(arg, bound, out)
        for opt in node.options:
            if opt.fallback is not None:
                _free(opt.fallback, bound, out)
    elif kind is ast.Lambda:
        _free(node.body, bound | {p.name.text for p in node.params}, out)
    elif kind is ast.Match:
        _free(node.subject, bound, out)
        for case in node.cases:
            names = {n.text for n in case.pattern.fields} \
                if isinstance(case.pattern, ast.RecordPattern) else set()
            _free(case.body, bound | names if names else bound, out)
    elif kind in _SUBEXPRESSIONS:
        for child in _SUBEXPRESSIONS[kind](node):
            _free(child, bound, out)
    else:
        for child in ast.children(node):
            _free(child, bound, out)


_SUBEXPRESSIONS = {
    ast.FieldAccess: lambda n: (n.target,),
    ast.Projection: lambda n: (n.target,),
    ast.Unary: lambda n: (n.operand,),
    ast.Guard: lambda n: (n.expr, n.cond),
    ast.If: lambda n: (n.cond, n.then, n.else_),
    ast.Branch: lambda n: [x for arm in n.arms for x in arm] + [n.otherwise],
    ast.ListLit: lambda n: n.items,
    ast.RecordLit: lambda n: [v for _, v in n.fields],
    ast.Interpolation: lambda n: n.exprs,
}
