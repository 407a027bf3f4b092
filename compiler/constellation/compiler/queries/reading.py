"""The one place the queries read an Analysis (its check results, symbols and plan), and the
per-snapshot cache of the views they derive from it.

When the Analysis changes shape, this module changes; the queries do not.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Callable, TypeVar

from constellation.compiler import ast

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis
    from constellation.compiler.plan import PlanNode
    from constellation.compiler.registry import Function
    from constellation.compiler.symbols import Symbol
    from constellation.compiler.types import Type

T = TypeVar("T")


def cached(analysis: Analysis, key: object, make: Callable[[], T]) -> T:
    """`make()`, computed once per Analysis: an Analysis is never mutated, so a view of it
    holds as long as it does (and goes with it)."""
    store = analysis.derived
    try:
        return store[key]
    except KeyError:
        value = store[key] = make()
        return value


# -- positions ----------------------------------------------------------------------------------
# An AST's spans are relative to their declaration, which a later analysis of the same document
# may move: positions are read through the Analysis, never from `node.span` directly.

def span_of(analysis: Analysis, node: object) -> ast.Span | None:
    """The node's span (AST or plan node) in the analysis's text."""
    return analysis.span_of(node)


def absolute(analysis: Analysis, span: ast.Span | None) -> ast.Span | None:
    """A span of the analysis's AST, symbols or plan, in its text."""
    return analysis.absolute(span)


def positions(analysis: Analysis) -> Callable[[ast.Span], ast.Span]:
    """`absolute` for this analysis, as a function of a span."""
    return analysis.absolute


# -- declarations -------------------------------------------------------------------------------

def declaration_at(analysis: Analysis, offset: int) -> ast.Decl | None:
    """The last declaration starting at or before `offset` (the one being typed, or the one
    a line continues: half-typed text parses into a BrokenDecl that starts where it does)."""
    decls = analysis.decls
    starts = cached(analysis, "decl starts", lambda: [analysis.span_of(d).start for d in decls])
    i = bisect.bisect_right(starts, offset) - 1
    return decls[i] if i >= 0 else None


def use_paths(analysis: Analysis) -> list[str]:
    """Namespaces imported without an alias (`use stdlib.math`), in order."""
    return cached(analysis, "use paths", lambda: [
        d.path_text for d in analysis.decls if isinstance(d, ast.UseDecl) and d.alias is None])


def alias_paths(analysis: Analysis) -> dict[str, str]:
    """`use p as m`: alias -> namespace path."""
    return {name: sym.decl.path_text for name, sym in analysis.symbols.namespace_aliases.items()
            if isinstance(sym.decl, ast.UseDecl)}


def is_canonical(analysis: Analysis, decl: ast.Decl) -> bool:
    """An assignment that defines its name (a duplicate, E030, does not)."""
    return id(decl) in analysis.check.canonical


def canonical_decl(analysis: Analysis, decl: ast.Decl) -> ast.Decl:
    """The declaration that defines the name `decl` declares (itself unless a duplicate)."""
    name = getattr(decl, "name", None)
    if isinstance(decl, ast.TypeDecl):
        sym = analysis.symbols.types.get(decl.name.text)
    elif isinstance(decl, (ast.InputDecl, ast.Assignment)):
        sym = analysis.symbols.values.get(decl.name.text)
    else:
        return decl
    return sym.decl if sym is not None and name is not None else decl


# -- names and types ----------------------------------------------------------------------------

def symbol_at(analysis: Analysis, offset: int) -> tuple[ast.Span, Symbol] | None:
    return analysis.symbols.symbol_at(offset, analysis.absolute)


def value_symbols(analysis: Analysis) -> dict[str, Symbol]:
    """Top-level values (inputs and canonical bindings) by name."""
    return analysis.symbols.values


def type_symbols(analysis: Analysis) -> dict[str, Symbol]:
    return analysis.symbols.types


def alias_symbols(analysis: Analysis) -> dict[str, Symbol]:
    return analysis.symbols.namespace_aliases


def local_symbols(analysis: Analysis) -> list[Symbol]:
    return analysis.symbols.locals


def occurrences(analysis: Analysis) -> list[tuple[ast.Span, Symbol]]:
    """Every name occurrence (definitions included), in source order, its span in the text."""
    at = analysis.absolute
    return cached(analysis, "occurrences", lambda: [
        (at(s), sym) for s, sym in analysis.symbols.occurrences])


def binding_type(analysis: Analysis, name: str) -> Type | None:
    return analysis.binding_types.get(name)


def alias_type(analysis: Analysis, name: str) -> Type | None:
    return analysis.check.alias_types.get(name)


def call_target(analysis: Analysis, call: ast.Call) -> Function | None:
    return analysis.check.call_targets.get(id(call))


def outputs(analysis: Analysis) -> list[str]:
    return analysis.check.outputs


def is_broken_binding(analysis: Analysis, name: str) -> bool:
    """On a cycle, or of a declaration that did not check (Error type)."""
    return name in analysis.check.error_bindings


def examples(analysis: Analysis, name: str) -> list[object]:
    return analysis.check.examples.get(name) or []


def nodes_at(analysis: Analysis, offset: int) -> list[object]:
    return analysis.nodes_at(offset)


# -- the plan -----------------------------------------------------------------------------------

def plan_nodes(analysis: Analysis) -> list[PlanNode]:
    return analysis.plan.nodes


def binding_node(analysis: Analysis, name: str) -> PlanNode | None:
    node_id = analysis.plan.bindings.get(name)
    return None if node_id is None else analysis.plan.nodes[node_id]


def call_node(analysis: Analysis, call: ast.Call) -> PlanNode | None:
    return analysis.plan.node_for_call(call)


def layer_of(analysis: Analysis, node: PlanNode) -> int | None:
    return analysis.layer_of(node)


def depth(analysis: Analysis) -> int:
    return analysis.depth
