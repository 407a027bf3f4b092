"""Formatting through the one canonical formatter shared with `cst fmt`."""

from __future__ import annotations

import logging

from lsprotocol import types as lsp

log = logging.getLogger(__name__)


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        formatted = format_text(analysis.text)
        if formatted is None:
            if any(d.code == "E020" for d in analysis.diagnostics):
                ls.show("Constellation: the document has syntax errors, so it was not formatted.",
                        lsp.MessageType.Warning)
            return None
        if formatted == analysis.text:
            return []
        pos = ls.positions(analysis)
        whole = lsp.Range(start=lsp.Position(line=0, character=0), end=pos.end_of_text())
        return [lsp.TextEdit(range=whole, new_text=formatted)]


def format_text(text: str) -> str | None:
    try:
        from constellation.compiler.formatter import format_source
    except ImportError:
        log.warning("the formatter is not available")
        return None
    return format_source(text)
