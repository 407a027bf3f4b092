"""Document symbols and workspace symbols (every open document, plus the `.cst` files of the
workspace folder, parsed without checking): `compiler/queries/symbols.py` in LSP's terms."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.uris import from_fs_path

import functools
from typing import TYPE_CHECKING

from constellation.server.positions import Positions

if TYPE_CHECKING:  # the compiler is imported with the first document (cold start)
    from constellation.compiler.queries.symbols import DeclSymbol

log = logging.getLogger(__name__)
MAX_WORKSPACE_FILES = 2000


@functools.cache
def kinds() -> dict:
    from constellation.compiler.queries.symbols import SymbolKind

    S = lsp.SymbolKind
    return {SymbolKind.INPUT: S.Field, SymbolKind.TYPE: S.Struct, SymbolKind.BINDING: S.Variable,
            SymbolKind.OUTPUT: S.Event, SymbolKind.IMPORT: S.Namespace}


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbols_(ls, params: lsp.DocumentSymbolParams
                                ) -> list[lsp.DocumentSymbol] | None:
        from constellation.compiler.queries.symbols import document_symbols

        # waits for a large document's analysis: editors ask for the outline once, on open
        uri = params.text_document.uri
        analysis = await ls.analysis_when_ready(uri)
        if analysis is None:
            return None
        pos = ls.positions(analysis)
        state = ls.documents.state(uri)
        known = state.symbols
        out = []
        made: dict = {}
        for sym in document_symbols(analysis):
            key = (sym.name, kinds()[sym.kind], sym.detail, pos.pair(sym.span.start),
                   pos.pair(sym.span.end), pos.pair(sym.selection.start), pos.pair(sym.selection.end))
            made[key] = symbol = known.get(key) or _document_symbol(key)
            out.append(symbol)
        # what this answer made is what the next one (after an edit) looks up: typing keeps
        # most declarations' symbols as they were
        state.symbols = made
        return out

    @server.feature(lsp.WORKSPACE_SYMBOL)
    def workspace_symbols(ls, params: lsp.WorkspaceSymbolParams) -> list[lsp.WorkspaceSymbol]:
        from constellation.compiler.queries.symbols import file_symbols, matching, open_file_symbols

        query = params.query.lower()
        out: list[lsp.WorkspaceSymbol] = []
        seen: set[str] = set()
        for uri in ls.open_uris():
            analysis = ls.analysis(uri)
            if analysis is not None:
                seen.add(unquote(uri))  # clients and from_fs_path may encode differently
                out += workspace_symbols_of(uri, matching(open_file_symbols(analysis), query),
                                            ls.positions(analysis))
        for path in workspace_files(ls.root):
            uri = from_fs_path(str(path))
            if unquote(uri) in seen:
                continue
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                continue
            source, symbols = file_symbols(text)
            out += workspace_symbols_of(uri, matching(symbols, query), Positions(source, ls.encoding))
        return out


def _document_symbol(key: tuple) -> lsp.DocumentSymbol:
    name, kind, detail, start, end, sel_start, sel_end = key
    return lsp.DocumentSymbol(
        name=name, kind=kind, detail=detail or None,
        range=lsp.Range(start=lsp.Position(*start), end=lsp.Position(*end)),
        selection_range=lsp.Range(start=lsp.Position(*sel_start), end=lsp.Position(*sel_end)))


def workspace_symbols_of(uri: str, symbols: list[DeclSymbol], pos: Positions) -> list[lsp.WorkspaceSymbol]:
    return [lsp.WorkspaceSymbol(name=s.name, kind=kinds()[s.kind], container_name=s.detail or None,
                                location=lsp.Location(uri=uri, range=pos.range(s.selection)))
            for s in symbols]


def workspace_files(root: Path | None) -> list[Path]:
    if root is None or not root.is_dir():
        return []
    files = []
    for path in root.rglob("*.cst"):
        if any(part.startswith(".") or part in ("node_modules", "__pycache__") for part in path.parts):
            continue
        files.append(path)
        if len(files) >= MAX_WORKSPACE_FILES:
            break
    return sorted(files)
