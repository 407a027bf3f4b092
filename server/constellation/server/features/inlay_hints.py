"""Inlay hints (`compiler/queries/inlay_hints.py`) in LSP's terms, for the range asked."""

from __future__ import annotations

from lsprotocol import types as lsp

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the compiler is imported with the first document (cold start)
    from constellation.compiler.queries.inlay_hints import Hint


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT,
                    lsp.InlayHintOptions(resolve_provider=False))
    def inlay_hints(ls, params: lsp.InlayHintParams) -> list[lsp.InlayHint] | None:
        from constellation.compiler.queries.inlay_hints import Shown, hints_in

        uri = params.text_document.uri
        analysis = ls.analysis(uri)
        if analysis is None:
            return None
        pos = ls.positions(analysis)
        wanted = pos.span(params.range)
        settings = ls.settings
        shown = Shown(types=settings.inlay_types, values=settings.inlay_values,
                      layers=settings.inlay_layers)
        run = ls.documents.state(uri).run
        return [to_lsp(hint, pos) for hint in hints_in(analysis, wanted.start, wanted.end, shown, run)]


def to_lsp(hint: Hint, pos) -> lsp.InlayHint:
    from constellation.compiler.queries.inlay_hints import HintKind

    return lsp.InlayHint(position=pos.position(hint.offset), label=hint.label,
                         kind=lsp.InlayHintKind.Type if hint.kind is HintKind.TYPE else None,
                         tooltip=hint.tooltip, padding_left=hint.padding_left or None,
                         padding_right=hint.padding_right)
