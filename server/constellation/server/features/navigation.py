"""Definition, references, document highlights and rename (`compiler/queries/navigation.py`)
in LSP's terms."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path

from constellation.server.positions import Positions

if TYPE_CHECKING:  # the compiler is imported when a document is analysed
    from constellation.compiler.analysis import Analysis


class NameAt(NamedTuple):
    analysis: Analysis
    pos: Positions
    offset: int
    hit: tuple | None  # (span, Symbol) of the name under the cursor


def name_at(ls, uri: str, position: lsp.Position) -> NameAt | None:
    """What is at a position (None when the document has no analysis): the start every
    navigation request shares."""
    from constellation.compiler.queries.navigation import name_at as symbol_name_at

    analysis = ls.analysis(uri)
    if analysis is None:
        return None
    pos = ls.positions(analysis)
    offset = pos.offset(position)
    return NameAt(analysis, pos, offset, symbol_name_at(analysis, offset))


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls, params: lsp.DefinitionParams) -> list[lsp.Location] | None:
        uri = params.text_document.uri
        found = name_at(ls, uri, params.position)
        if found is None:
            return None
        analysis, pos, offset, hit = found
        if hit is not None:
            from constellation.compiler.queries.navigation import definition as definition_span
            return [lsp.Location(uri=uri, range=pos.range(definition_span(analysis, hit[1])))]
        return function_definition(analysis, offset)

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def references(ls, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        from constellation.compiler.queries.navigation import call_sites, usages

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
        return [lsp.Location(uri=uri, range=pos.range(s))
                for s in usages(found.analysis, sym, params.context.include_declaration)]

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
    def highlights(ls, params: lsp.DocumentHighlightParams) -> list[lsp.DocumentHighlight] | None:
        from constellation.compiler.queries.navigation import (
            call_sites, definition as definition_span, usages)

        found = name_at(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        if found.hit is None:  # a function: each of its calls
            return [lsp.DocumentHighlight(range=found.pos.range(s), kind=lsp.DocumentHighlightKind.Read)
                    for s in call_sites(found.analysis, found.offset)] or None
        pos, sym = found.pos, found.hit[1]
        out = [lsp.DocumentHighlight(range=pos.range(definition_span(found.analysis, sym)),
                                      kind=lsp.DocumentHighlightKind.Write)]
        out += [lsp.DocumentHighlight(range=pos.range(s), kind=lsp.DocumentHighlightKind.Read)
                for s in usages(found.analysis, sym, include_declaration=False)]
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
        from constellation.compiler.queries.navigation import rename_problem, rename_spans

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
        edits = [lsp.TextEdit(range=pos.range(span), new_text=params.new_name)
                 for span in rename_spans(analysis, sym)]
        return lsp.WorkspaceEdit(changes={uri: edits})


def function_definition(analysis: Analysis, offset: int) -> list[lsp.Location] | None:
    """A module name: its Python source file and line, when the registry knows them."""
    from constellation.compiler.queries.navigation import function_source

    found = function_source(analysis, offset)
    if found is None:
        return None
    at = lsp.Position(line=found.line, character=0)
    return [lsp.Location(uri=from_fs_path(found.file), range=lsp.Range(start=at, end=at))]
