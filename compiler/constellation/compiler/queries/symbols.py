"""Document and workspace symbols: the declarations (inputs, types, bindings, outputs, imports)
with their names' spans. A file that is not open is parsed without checking."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler import ast
from constellation.compiler.queries import reading
from constellation.compiler.queries.reading import cached
from constellation.compiler.source import Source
from constellation.compiler.types import type_str

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis


class SymbolKind(enum.Enum):
    INPUT = "input"
    TYPE = "type"
    BINDING = "binding"
    OUTPUT = "output"
    IMPORT = "use"


@dataclass(frozen=True, slots=True)
class DeclSymbol:
    name: str
    kind: SymbolKind
    detail: str  # "" when there is nothing to say
    span: ast.Span  # the declaration
    selection: ast.Span  # its name (the path of a `use`)


def _same(span: ast.Span) -> ast.Span:
    return span


def decl_symbol(decl: ast.Decl, at=_same) -> DeclSymbol | None:
    """A declaration's symbol as a parse alone knows it; None for broken ones. `at`: a span
    in the analysed text (`reading.absolute`; a parse alone reads its spans as they are)."""
    if isinstance(decl, ast.InputDecl):
        return DeclSymbol(decl.name.text, SymbolKind.INPUT, "input", at(decl.span), at(decl.name.span))
    if isinstance(decl, ast.TypeDecl):
        return DeclSymbol(decl.name.text, SymbolKind.TYPE, "type", at(decl.span), at(decl.name.span))
    if isinstance(decl, ast.Assignment):
        return DeclSymbol(decl.name.text, SymbolKind.BINDING, "", at(decl.span), at(decl.name.span))
    if isinstance(decl, ast.OutputDecl):
        return DeclSymbol(decl.name.text, SymbolKind.OUTPUT, "output", at(decl.span),
                          at(decl.name.span))
    if isinstance(decl, ast.UseDecl) and decl.path:
        label = decl.path_text + (f" as {decl.alias.text}" if decl.alias else "")
        return DeclSymbol(label, SymbolKind.IMPORT, "use", at(decl.span), at(decl.path_span))
    return None


def document_symbols(analysis: Analysis) -> list[DeclSymbol]:
    """The outline: a binding's detail is its type, a later duplicate says so (once per
    analysis)."""
    def make() -> list[DeclSymbol]:
        out = []
        at = reading.positions(analysis)
        for decl in analysis.decls:
            sym = decl_symbol(decl, at)
            if sym is None:
                continue
            detail = sym.detail
            if sym.kind is not SymbolKind.IMPORT and decl is not reading.canonical_decl(analysis, decl):
                detail = (detail + " (duplicate)").strip()
            if not detail and sym.kind is SymbolKind.BINDING:
                t = reading.binding_type(analysis, sym.name)
                detail = type_str(t) if t is not None else ""
            out.append(DeclSymbol(sym.name, sym.kind, detail, sym.span, sym.selection))
        return out
    return cached(analysis, "document symbols", make)


def matching(symbols: list[DeclSymbol], query: str) -> list[DeclSymbol]:
    """The symbols whose name contains `query` (already lower case), all for an empty one."""
    return [s for s in symbols if not query or query in s.name.lower()]


def open_file_symbols(analysis: Analysis) -> list[DeclSymbol]:
    return cached(analysis, "declaration symbols",
                  lambda: [s for d in analysis.decls
                           if (s := decl_symbol(d, reading.positions(analysis))) is not None])


def file_symbols(text: str) -> tuple[Source, list[DeclSymbol]]:
    """The symbols of a file that is not open, from its parse alone, and its line index."""
    from constellation.compiler.parser import parse

    return Source(text), [s for s in map(decl_symbol, parse(text).decls) if s is not None]
