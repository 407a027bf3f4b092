"""Hover (`compiler/queries/hover.py`) in LSP's terms: markdown, or plain text for a client that
does not prefer it (`textDocument.hover.contentFormat`)."""

from __future__ import annotations

from lsprotocol import types as lsp


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls, params: lsp.HoverParams) -> lsp.Hover | None:
        from constellation.compiler.queries.hover import hover_at, plaintext

        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        pos = ls.positions(analysis)
        run = ls.documents.state(params.text_document.uri).run
        found = hover_at(analysis, pos.offset(params.position), run)
        if found is None:
            return None
        span, text = found
        if not wants_markdown(ls.client_capabilities):
            return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.PlainText,
                                                        value=plaintext(text)),
                             range=pos.range(span))
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                         range=pos.range(span))


def wants_markdown(caps: lsp.ClientCapabilities) -> bool:
    """Markdown when the client lists it first in `hover.contentFormat` (or says nothing, as
    clients before LSP 3.0 did); eglot without markdown-mode asks for plain text only."""
    hover = caps.text_document.hover if caps.text_document is not None else None
    formats = hover.content_format if hover is not None else None
    if not formats:
        return True
    return formats[0] == lsp.MarkupKind.Markdown
