"""The one analysis API: `analyze(text, registry) -> Analysis`.

Parse (incremental per declaration), check, build the plan. The server, CLI and runtime all
read this result; none of them re-derives types, spans or layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from constellation.compiler import ast
from constellation.compiler.checker import CheckResult, check
from constellation.compiler.checkmemo import memo_for
from constellation.compiler.fastpath import Previous, patch, warned_assignments
from constellation.compiler.gcpause import collector_paused
from constellation.compiler.diagnostics import Diagnostic, fixed_positions, sort_key
from constellation.compiler.parser import ParseCache, parse
from constellation.compiler.parsing.context import absolute
from constellation.compiler.parsing.units import Layout
from constellation.compiler.plan import Plan, PlanNode, build_plan
from constellation.compiler.registry import Registry
from constellation.compiler.source import Source
from constellation.compiler.symbols import SymbolTable
from constellation.compiler.types import Type


@dataclass
class Analysis:
    text: str
    source: Source
    registry: Registry
    decls: list[ast.Decl]
    check: CheckResult
    plan: Plan
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # where each declaration unit is in `text` (ParseResult.layout): the AST's spans are
    # relative to their unit, and a later analysis of the same document may move a unit it
    # shares with this one, so positions are read through `absolute` / `span_of`
    layout: Layout | None = field(default=None, repr=False, compare=False)
    # views derived from this snapshot by `compiler/queries` (tokens, layers per call, symbol
    # lists...), filled lazily by `queries.reading.cached`; never part of its value
    derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def valid(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def symbols(self) -> SymbolTable:
        return self.check.symbols

    @property
    def binding_types(self) -> dict[str, Type]:
        return self.check.binding_types

    def absolute(self, span: ast.Span | None) -> ast.Span | None:
        """`span` (of this analysis's AST, symbols or plan) in this analysis's text."""
        return None if span is None else absolute(span, self.layout)

    def span_of(self, node: object) -> ast.Span | None:
        """The span of an AST node (or plan node) in this analysis's text."""
        span = getattr(node, "span", None)
        return None if span is None else absolute(span, self.layout)

    @cached_property
    def executable_plan(self) -> Plan:
        """The plan the runtime runs (lowering.py): lowered on first use, so that analyses
        nobody runs (the server's, at every keystroke) never pay for it."""
        from constellation.compiler.lowering import lower
        return lower(self.plan, self.check, self.source, self.absolute)

    def layer_of(self, node: PlanNode) -> int | None:
        """The node's layer, or None where it has none: a binding on a cycle or broken (E031,
        a declaration that did not parse), a call to an unresolved function (E002), and every
        node that reads one of those (or is the fallback of one). The plan still numbers such
        nodes (its layers are read by the checker's order), but nothing can run them, so no
        view may show those numbers."""
        return None if node.id in self._unlayered else node.layer

    @property
    def depth(self) -> int:
        """The deepest layer of a module call that has a layer (the plan's depth when the
        file has no errors)."""
        return self._unlayered_and_depth[1]

    @property
    def _unlayered(self) -> frozenset[int]:
        return self._unlayered_and_depth[0]

    @cached_property
    def _unlayered_and_depth(self) -> tuple[frozenset[int], int]:
        nodes = self.plan.nodes
        broken = self.check.error_bindings
        readers: dict[int, list[int]] = {}
        seeds = []
        for n in nodes:
            for d in n.deps:
                readers.setdefault(d, []).append(n.id)
            if n.fallback_owner is not None:
                readers.setdefault(n.fallback_owner, []).append(n.id)
            if (n.kind == "module" and n.function is None) or any(x in broken for x in n.names):
                seeds.append(n.id)
        unlayered = set(seeds)
        while seeds:  # a worklist, not recursion: chains of thousands of bindings
            for r in readers.get(seeds.pop(), ()):
                if r not in unlayered:
                    unlayered.add(r)
                    seeds.append(r)
        depth = max((n.layer for n in nodes if n.kind == "module" and n.id not in unlayered),
                    default=0)
        return frozenset(unlayered), depth

    def type_of(self, node: object) -> Type | None:
        return self.check.expr_types.get(id(node))

    def decl_at(self, offset: int) -> ast.Decl | None:
        for d in self.decls:
            span = self.span_of(d)
            if span.start <= offset <= span.end:
                return d
        return None

    def nodes_at(self, offset: int) -> list[object]:
        """AST nodes whose span covers `offset`, outermost first (for hover and completion)."""
        decl = self.decl_at(offset)
        if decl is None:
            return []
        path: list[object] = [decl]
        current: object = decl
        while True:
            spans = ((c, self.span_of(c)) for c in ast.children(current))
            inner = [c for c, s in spans if s is not None and s.start <= offset <= s.end]
            if not inner:
                return path
            current = inner[-1]
            path.append(current)


def quick(memo, parsed, registry: Registry, source: Source):
    """The quick path (fastpath.py), or None. A failure in it must cost the user nothing but
    time: the whole file is checked instead, and the failure is kept on the memo (the
    incremental tests assert there is none)."""
    try:
        return patch(memo.previous, memo, parsed, registry, source)
    except Exception as exc:  # noqa: BLE001 - the slow path gives the right answer
        memo.quick_path_error = f"{type(exc).__name__}: {exc}"
        return None


def line_index(text: str, parsed, cache: ParseCache | None) -> Source:
    """The text's Source, made from the previous one's when the parse was an edit of its
    text (only the changed stretch is searched for line breaks)."""
    previous = None if cache is None else cache.source
    if previous is not None and parsed.edit is not None and parsed.edit[0] is previous.text:
        source = Source.edited(previous, text, parsed.edit[1], parsed.edit[2])
    else:
        source = Source(text)
    if cache is not None:
        cache.source = source
    return source


def analyze(text: str, registry: Registry, *, cache: ParseCache | None = None) -> Analysis:
    with collector_paused():
        parsed = parse(text, cache)
        source = line_index(text, parsed, cache)
        memo = memo_for(cache)
        patched = None if memo is None else quick(memo, parsed, registry, source)
        if memo is not None:
            memo.patched = patched is not None
        if patched is not None:
            checked, plan = patched
        else:
            checked = check(parsed.decls, registry, source, memo)
            plan = build_plan(parsed.decls, checked, source)
        # fixed positions: the checker's spans are its nodes', which a later parse may move
        diagnostics = sorted(map(fixed_positions, parsed.diagnostics + checked.diagnostics),
                             key=sort_key)
    # the last analysis without errors stays the quick path's base while the text is broken:
    # typing breaks a declaration for a few keystrokes, then mends it
    warned = None
    if memo is not None and memo.environment is not None \
            and not any(d.is_error for d in diagnostics):
        warned = warned_assignments(checked, parsed.decls)
    if warned is not None:
        memo.previous = Previous(
            parsed.decls, checked, plan, len(source.line_starts), registry,
            memo.environment, parsed.layout, text, memo.records,
            memo.components, warned)
    return Analysis(text, source, registry, parsed.decls, checked, plan, diagnostics,
                    parsed.layout)
