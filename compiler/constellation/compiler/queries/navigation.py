"""Definition, references, document highlights and rename, from the symbol table: spans of
the document, and a module's Python source as (file, 0-based line)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler import ast
from constellation.compiler.queries import reading
from constellation.compiler.queries.knowledge import KEYWORDS
from constellation.compiler.registry import Function
from constellation.compiler.symbols import Symbol
from constellation.compiler.types import BUILTIN_TYPE_NAMES

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*$")


@dataclass(frozen=True)
class SourceLine:
    """Where a module's function is defined in Python."""
    file: str
    line: int  # 0-based


def name_at(analysis: Analysis, offset: int) -> tuple[ast.Span, Symbol] | None:
    """The name under the cursor and the symbol it names."""
    return reading.symbol_at(analysis, offset)


def definition(analysis: Analysis, sym: Symbol) -> ast.Span:
    """Where a symbol is defined (its name)."""
    return reading.absolute(analysis, sym.span)


def usages(analysis: Analysis, sym: Symbol, include_declaration: bool) -> list[ast.Span]:
    """Where a symbol is read, in source order, after its definition when asked."""
    at = reading.positions(analysis)
    return ([at(sym.span)] if include_declaration else []) \
        + sorted(map(at, sym.references), key=lambda s: s.start)


def rename_spans(analysis: Analysis, sym: Symbol) -> list[ast.Span]:
    at = reading.positions(analysis)
    return [ast.Span(a, b) for a, b in sorted({(s.start, s.end)
                                               for s in map(at, [sym.span, *sym.references])})]


def rename_problem(analysis: Analysis, sym: Symbol, new: str) -> str | None:
    """Why `sym` cannot be renamed to `new` (None when it can)."""
    if new in KEYWORDS:
        return f"'{new}' is a reserved word and cannot be used as a name."
    if not IDENT.match(new):
        return f"'{new}' is not a valid name (letters, digits, '_' and inner '-')."
    if new == sym.name:
        return None
    if sym.kind == "type":
        if new in reading.type_symbols(analysis) or new in BUILTIN_TYPE_NAMES:
            return f"The type name '{new}' is already taken."
        return None
    if sym.kind == "namespace-alias":
        if new in reading.alias_symbols(analysis) or analysis.registry.is_namespace(new):
            return f"The namespace name '{new}' is already taken."
        return None
    if new in reading.value_symbols(analysis) or any(s.name == new for s in reading.local_symbols(analysis)):
        return f"The name '{new}' is already taken."
    return None


def function_at(analysis: Analysis, offset: int) -> Function | None:
    """The function whose call name is at `offset`, if any."""
    for node in reversed(reading.nodes_at(analysis, offset)):
        if isinstance(node, ast.Call):
            name = reading.absolute(analysis, node.name_span)
            if name.start <= offset <= name.end:
                return reading.call_target(analysis, node)
    return None


def function_source(analysis: Analysis, offset: int) -> SourceLine | None:
    """A module name: its Python source file and line, when the registry knows them."""
    fn = function_at(analysis, offset)
    if fn is None or not fn.source_file:
        return None
    return SourceLine(fn.source_file, max((fn.source_line or 1) - 1, 0))


def call_sites(analysis: Analysis, offset: int) -> list[ast.Span]:
    """The names of every call of the function called at `offset` (however it is written:
    `Trim`, `stdlib.string.trim`, `s.trim`), in source order."""
    fn = function_at(analysis, offset)
    if fn is None:
        return []
    return sorted((reading.absolute(analysis, call.name_span)
                   for decl in analysis.decls for call in ast.walk(decl)
                   if isinstance(call, ast.Call) and reading.call_target(analysis, call) is fn),
                  key=lambda span: span.start)
