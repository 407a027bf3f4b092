"""Definition, references, document highlights and rename, all from the symbol table."""

from __future__ import annotations

import re
from typing import NamedTuple

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis
from constellation.compiler.types import BUILTIN_TYPE_NAMES
from constellation.server.knowledge import KEYWORDS
from constellation.server.positions import Positions

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*$")


class NameAt(NamedTuple):
    analysis: Analysis
    pos: Positions
    offset: int
    hit: tuple | None  # (span, Symbol) of the name under the cursor


def name_at(ls, uri: str, position: lsp.Position) -> NameAt | None:
    """What is at a position (None when the document has no analysis): the start every
    navigation request shares."""
    analysis = ls.analysis(uri)
    if analysis is None:
        return None
    pos = ls.positions(analysis)
    offset = pos.offset(position)
    return NameAt(analysis, pos, offset, analysis.symbols.symbol_at(offset))


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls, params: lsp.DefinitionParams) -> list[lsp.Location] | None:
        uri = params.text_document.uri
        found = name_at(ls, uri, params.position)
        if found is None:
            return None
        analysis, pos, offset, hit = found
        if hit is not None:
            return [lsp.Location(uri=uri, range=pos.range(hit[1].span))]
        return function_definition(analysis, offset)

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def references(ls, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        uri = params.text_document.uri
        found = name_at(ls, uri, params.position)
        if found is None:
            return None
        if found.hit is None:  # a function: its calls, and its Python definition
            calls = [lsp.Location(uri=uri, range=found.pos.range(s))
                     for s in call_sites(found.analysis, found.offset)]
            if calls and params.context.include_declaration:
                calls = (function_definition(found.analysis, found.offset) or []) + calls
            return calls or None
        pos, sym = found.pos, found.hit[1]
        spans = ([sym.span] if params.context.include_declaration else []) + sorted(
            sym.references, key=lambda s: s.start)
        return [lsp.Location(uri=uri, range=pos.range(s)) for s in spans]

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
    def highlights(ls, params: lsp.DocumentHighlightParams) -> list[lsp.DocumentHighlight] | None:
        found = name_at(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        if found.hit is None:  # a function: each of its calls
            return [lsp.DocumentHighlight(range=found.pos.range(s), kind=lsp.DocumentHighlightKind.Read)
                    for s in call_sites(found.analysis, found.offset)] or None
        pos, sym = found.pos, found.hit[1]
        out = [lsp.DocumentHighlight(range=pos.range(sym.span), kind=lsp.DocumentHighlightKind.Write)]
        out += [lsp.DocumentHighlight(range=pos.range(s), kind=lsp.DocumentHighlightKind.Read)
                for s in sorted(sym.references, key=lambda s: s.start)]
        return out

    @server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
    def prepare_rename(ls, params: lsp.PrepareRenameParams):
        found = name_at(ls, params.text_document.uri, params.position)
        if found is None or found.hit is None:
            return None
        pos, (span, sym) = found.pos, found.hit
        return lsp.PrepareRenamePlaceholder(range=pos.range(span), placeholder=sym.name)

    @server.feature(lsp.TEXT_DOCUMENT_RENAME)
    def rename(ls, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
        uri = params.text_document.uri
        found = name_at(ls, uri, params.position)
        if found is None:
            return None
        analysis, pos, _, hit = found
        if hit is None:
            raise JsonRpcInvalidParams("There is no name to rename at this position.")
        sym = hit[1]
        problem = rename_problem(analysis, sym, params.new_name)
        if problem:
            raise JsonRpcInvalidParams(problem)
        spans = sorted({(s.start, s.end) for s in [sym.span, *sym.references]})
        edits = [lsp.TextEdit(range=pos.range(ast.Span(a, b)), new_text=params.new_name) for a, b in spans]
        return lsp.WorkspaceEdit(changes={uri: edits})


def rename_problem(analysis: Analysis, sym, new: str) -> str | None:
    """Why `sym` cannot be renamed to `new` (None when it can)."""
    if new in KEYWORDS:
        return f"'{new}' is a reserved word and cannot be used as a name."
    if not IDENT.match(new):
        return f"'{new}' is not a valid name (letters, digits, '_' and inner '-')."
    if new == sym.name:
        return None
    table = analysis.symbols
    if sym.kind == "type":
        if new in table.types or new in BUILTIN_TYPE_NAMES:
            return f"The type name '{new}' is already taken."
        return None
    if sym.kind == "namespace-alias":
        if new in table.namespace_aliases or analysis.registry.is_namespace(new):
            return f"The namespace name '{new}' is already taken."
        return None
    if new in table.values or any(s.name == new for s in table.locals):
        return f"The name '{new}' is already taken."
    return None


def function_at(analysis: Analysis, offset: int):
    """The function whose call name is at `offset`, if any."""
    for node in reversed(analysis.nodes_at(offset)):
        if isinstance(node, ast.Call) and node.name_span.start <= offset <= node.name_span.end:
            return analysis.check.call_targets.get(id(node))
    return None


def function_definition(analysis: Analysis, offset: int) -> list[lsp.Location] | None:
    """A module name: its Python source file and line, when the registry knows them."""
    fn = function_at(analysis, offset)
    if fn is None or not fn.source_file:
        return None
    line = max((fn.source_line or 1) - 1, 0)
    at = lsp.Position(line=line, character=0)
    return [lsp.Location(uri=from_fs_path(fn.source_file), range=lsp.Range(start=at, end=at))]


def call_sites(analysis: Analysis, offset: int) -> list[ast.Span]:
    """The names of every call of the function called at `offset` (however it is written:
    `Trim`, `stdlib.string.trim`, `s.trim`), in source order."""
    fn = function_at(analysis, offset)
    if fn is None:
        return []
    targets = analysis.check.call_targets
    return sorted((call.name_span for decl in analysis.decls for call in ast.walk(decl)
                   if isinstance(call, ast.Call) and targets.get(id(call)) is fn), key=lambda span: span.start)

