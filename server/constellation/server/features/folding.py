"""Folding ranges (`compiler/queries/folding.py`) in LSP's terms."""

from __future__ import annotations

from lsprotocol import types as lsp


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
    async def folding(ls, params: lsp.FoldingRangeParams) -> list[lsp.FoldingRange] | None:
        from constellation.compiler.queries.folding import FoldKind, folds

        # waits for a large document's analysis: editors ask for folding once, on open
        analysis = await ls.analysis_when_ready(params.text_document.uri)
        if analysis is None:
            return None
        kinds = {FoldKind.REGION: lsp.FoldingRangeKind.Region, FoldKind.COMMENT: lsp.FoldingRangeKind.Comment}
        return [lsp.FoldingRange(start_line=f.first, end_line=f.last, kind=kinds[f.kind])
                for f in folds(analysis)]
