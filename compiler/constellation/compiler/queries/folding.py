"""Folding ranges: multi-line declarations and runs of comment lines (0-based lines)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler.lexer import comment_spans
from constellation.compiler.queries import reading

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis


class FoldKind(enum.Enum):
    REGION = "region"
    COMMENT = "comment"


@dataclass(frozen=True, slots=True)
class Fold:
    first: int  # 0-based lines
    last: int
    kind: FoldKind


def folds(analysis: Analysis) -> list[Fold]:
    source = analysis.source
    out = []
    for decl in analysis.decls:
        span = reading.span_of(analysis, decl)
        first = source.line_col(span.start)[0] - 1
        last = source.line_col(max(span.end - 1, span.start))[0] - 1
        if last > first:
            out.append(Fold(first, last, FoldKind.REGION))
    out += comment_blocks(analysis)
    return sorted(out, key=lambda f: (f.first, f.last))


def comment_blocks(analysis: Analysis) -> list[Fold]:
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
            out.append(Fold(start, prev, FoldKind.COMMENT))
        start = prev = line
    return out
