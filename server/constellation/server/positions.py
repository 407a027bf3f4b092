"""Span (code-point offsets) <-> LSP Range in the negotiated position encoding.

The compiler speaks code points (LANGUAGE.md §1.1); LSP clients speak UTF-16 by default, or
UTF-8 / UTF-32 when both sides agree. All conversion happens here, at the boundary.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from constellation.compiler.ast import Span
from constellation.compiler.source import Source


def _units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-32":
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


class Positions:
    """Converts between code-point offsets of one text and LSP positions."""

    def __init__(self, source: Source, encoding: str = "utf-16"):
        self.source = source
        self.encoding = str(encoding or "utf-16").lower()

    def position(self, offset: int) -> lsp.Position:
        line, char = self.pair(offset)
        return lsp.Position(line=line, character=char)

    def pair(self, offset: int) -> tuple[int, int]:
        """(line, character) of `position`, without making the lsprotocol object."""
        if self.encoding == "utf-16":
            return self.source.to_lsp(offset)
        line, col = self.source.line_col(offset)
        if self.encoding == "utf-32":
            return line - 1, col - 1
        prefix = self.source.line_text(line)[: col - 1]
        return line - 1, len(prefix.encode("utf-8"))

    def range(self, span: Span) -> lsp.Range:
        return lsp.Range(start=self.position(span.start), end=self.position(span.end))

    def offset(self, position: lsp.Position) -> int:
        if self.encoding == "utf-16":
            return self.source.from_lsp(position.line, position.character)
        src = self.source
        if position.line >= len(src.line_starts):
            return len(src.text)
        start = src.line_starts[max(position.line, 0)]
        text = src.line_text(position.line + 1)
        units = 0
        for i, ch in enumerate(text):
            if units >= position.character:
                return start + i
            units += _units(ch, self.encoding)
        return start + len(text)

    def span(self, rng: lsp.Range) -> Span:
        return Span(self.offset(rng.start), self.offset(rng.end))

    def end_of_text(self) -> lsp.Position:
        return self.position(len(self.source.text))
