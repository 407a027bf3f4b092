"""Resolution and cycles: what each name, type and call refers to, and the order of the
bindings and aliases with their cycles (LANGUAGE.md §3, §7.3)."""

from __future__ import annotations

from collections import deque

from constellation.compiler import ast
from constellation.compiler.diagnostics import Fix, Related, TextEdit
from constellation.compiler.registry import Function
from constellation.compiler.suggest import did_you_mean, suggest
from constellation.compiler.symbols import Symbol
from constellation.compiler.typeops import type_names_in
from constellation.compiler.types import BUILTIN_TYPE_NAMES, ERROR, Type
from constellation.compiler.vocabulary import RESERVED as RESERVED_WORDS



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




class Resolution:
    """Declarations and name spaces, `use` paths, alias and binding order with their cycles
    (§3.1-§3.3), and what names and calls resolve to (§7.3). Mixed into the checker."""

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

