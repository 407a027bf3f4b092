"""Document symbols (inputs, types, bindings, outputs, imports) and workspace symbols (every
open document, plus the `.cst` files of the workspace folder, parsed without checking)."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.uris import from_fs_path

from constellation.compiler import ast
from constellation.compiler.parser import parse
from constellation.compiler.source import Source
from constellation.compiler.types import type_str
from constellation.server.positions import Positions

log = logging.getLogger(__name__)
S = lsp.SymbolKind
MAX_WORKSPACE_FILES = 2000


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbols(ls, params: lsp.DocumentSymbolParams
                               ) -> list[lsp.DocumentSymbol] | None:
        # waits for a large document's analysis: editors ask for the outline once, on open
        analysis = await ls.analysis_when_ready(params.text_document.uri)
        if analysis is None:
            return None
        pos = ls.positions(analysis)
        uri = params.text_document.uri
        known = _SYMBOLS.get(uri, {})
        out = []
        made: dict = {}
        for decl in analysis.decls:
            item = decl_symbol(decl)
            if item is None:
                continue
            name, kind, detail, sel = item
            if kind != S.Namespace and decl is not _canonical(analysis, decl):
                detail = (detail + " (duplicate)").strip()
            t = analysis.binding_types.get(name) if kind in (S.Variable, S.Field) else None
            if t is not None and not detail:
                detail = type_str(t)
            key = (name, kind, detail, pos.pair(decl.span.start), pos.pair(decl.span.end),
                   pos.pair(sel.start), pos.pair(sel.end))
            made[key] = symbol = known.get(key) or _document_symbol(key)
            out.append(symbol)
        # what this answer made is what the next one (after an edit) looks up: typing keeps
        # most declarations' symbols as they were
        _SYMBOLS.pop(uri, None)
        if len(_SYMBOLS) >= 16:
            _SYMBOLS.pop(next(iter(_SYMBOLS)))
        _SYMBOLS[uri] = made
        return out

    @server.feature(lsp.WORKSPACE_SYMBOL)
    def workspace_symbols(ls, params: lsp.WorkspaceSymbolParams) -> list[lsp.WorkspaceSymbol]:
        query = params.query.lower()
        out: list[lsp.WorkspaceSymbol] = []
        seen: set[str] = set()
        for uri in ls.open_uris():
            analysis = ls.analysis(uri)
            if analysis is not None:
                seen.add(unquote(uri))  # clients and from_fs_path may encode differently
                out += file_symbols(uri, analysis.decls, ls.positions(analysis), query)
        for path in workspace_files(ls.root):
            uri = from_fs_path(str(path))
            if unquote(uri) in seen:
                continue
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                continue
            out += file_symbols(uri, parse(text).decls, Positions(Source(text), ls.encoding), query)
        return out


# per document, the symbols of the last answer, by everything they show
_SYMBOLS: dict[str, dict[tuple, lsp.DocumentSymbol]] = {}


def _document_symbol(key: tuple) -> lsp.DocumentSymbol:
    name, kind, detail, start, end, sel_start, sel_end = key
    return lsp.DocumentSymbol(
        name=name, kind=kind, detail=detail or None,
        range=lsp.Range(start=lsp.Position(*start), end=lsp.Position(*end)),
        selection_range=lsp.Range(start=lsp.Position(*sel_start), end=lsp.Position(*sel_end)))


def _canonical(analysis, decl):
    name = getattr(decl, "name", None)
    if isinstance(decl, ast.TypeDecl):
        sym = analysis.symbols.types.get(decl.name.text)
    elif isinstance(decl, (ast.InputDecl, ast.Assignment)):
        sym = analysis.symbols.values.get(decl.name.text)
    else:
        return decl
    return sym.decl if sym is not None and name is not None else decl


def decl_symbol(decl):
    """(name, kind, detail, selection span) of a declaration, None for broken ones."""
    if isinstance(decl, ast.InputDecl):
        return decl.name.text, S.Field, "input", decl.name.span
    if isinstance(decl, ast.TypeDecl):
        return decl.name.text, S.Struct, "type", decl.name.span
    if isinstance(decl, ast.Assignment):
        return decl.name.text, S.Variable, "", decl.name.span
    if isinstance(decl, ast.OutputDecl):
        return decl.name.text, S.Event, "output", decl.name.span
    if isinstance(decl, ast.UseDecl) and decl.path:
        label = decl.path_text + (f" as {decl.alias.text}" if decl.alias else "")
        return label, S.Namespace, "use", decl.path_span
    return None


def file_symbols(uri: str, decls, pos: Positions, query: str) -> list[lsp.WorkspaceSymbol]:
    out = []
    for decl in decls:
        item = decl_symbol(decl)
        if item is None or (query and query not in item[0].lower()):
            continue
        name, kind, detail, sel = item
        out.append(lsp.WorkspaceSymbol(name=name, kind=kind, container_name=detail or None,
                                       location=lsp.Location(uri=uri, range=pos.range(sel))))
    return out


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
