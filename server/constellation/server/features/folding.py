"""Folding ranges: multi-line declarations and runs of comment lines."""

from __future__ import annotations

from lsprotocol import types as lsp

from constellation.compiler.lexer import comment_spans


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
    async def folding(ls, params: lsp.FoldingRangeParams) -> list[lsp.FoldingRange] | None:
        # waits for a large document's analysis: editors ask for folding once, on open
        analysis = await ls.analysis_when_ready(params.text_document.uri)
        if analysis is None:
            return None
        source = analysis.source
        out = []
        for decl in analysis.decls:
            first = source.line_col(decl.span.start)[0] - 1
            last = source.line_col(max(decl.span.end - 1, decl.span.start))[0] - 1
            if last > first:
                out.append(lsp.FoldingRange(start_line=first, end_line=last, kind=lsp.FoldingRangeKind.Region))
        out += comment_blocks(analysis)
        return sorted(out, key=lambda r: (r.start_line, r.end_line))


def comment_blocks(analysis) -> list[lsp.FoldingRange]:
    """Two or more consecutive lines holding only a comment fold together."""
    source = analysis.source
    lines = []
    for start, _ in comment_spans(analysis.text):
        line, col = source.line_col(start)
        if source.line_text(line)[: col - 1].strip() == "":
            lines.append(line - 1)
    out = []
    start = prev = None
    for line in lines + [None]:
        if line is not None and prev is not None and line == prev + 1:
            prev = line
            continue
        if start is not None and prev > start:
            out.append(lsp.FoldingRange(start_line=start, end_line=prev, kind=lsp.FoldingRangeKind.Comment))
        start = prev = line
    return out
