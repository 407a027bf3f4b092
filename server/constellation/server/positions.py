"""Span (code-point offsets) <-> LSP Range in the negotiated position encoding.

The compiler speaks code points (LANGUAGE.md §1.1); LSP clients speak UTF-16 by default, or
UTF-8 / UTF-32 when both sides agree. All conversion happens here, at the boundary, by the
line index of `Source`, which ends lines exactly where LSP does (the document the server holds
is kept by the same index: textdocument.py).
"""

from __future__ import annotations

from lsprotocol import types as lsp

from bisect import bisect_right
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the compiler is imported with the first document (cold start)
    from constellation.compiler.ast import Span
    from constellation.compiler.source import Source


def encoding_name(encoding) -> str:
    """"utf-8", "utf-16" or "utf-32" of a negotiated PositionEncodingKind (or None)."""
    name = str(getattr(encoding, "value", encoding) or "utf-16").lower()
    return name if name in ("utf-8", "utf-32") else "utf-16"


class Positions:
    """Converts between code-point offsets of one text and LSP positions."""

    def __init__(self, source: Source, encoding: str = "utf-16"):
        self.source = source
        self.encoding = encoding_name(encoding)
        # lines ending at "\n" alone and columns counted in code points (ASCII, UTF-32, UTF-16
        # without astral characters: most documents): a position is one bisection of the line
        # starts; a diagnostic per binding made a publication cost 2 conversions per binding
        direct = "\r" not in source.text and (
            self.encoding == "utf-32" or source.ascii or (self.encoding == "utf-16" and not source.astral))
        self._starts = source.line_starts if direct else None
        self._length = len(source.text)

    def position(self, offset: int) -> lsp.Position:
        line, char = self.pair(offset)
        return lsp.Position(line=line, character=char)

    def pair(self, offset: int) -> tuple[int, int]:
        """(line, character) of `offset`, without making the lsprotocol object."""
        starts = self._starts
        if starts is not None and 0 <= offset <= self._length:
            line = bisect_right(starts, offset) - 1
            return line, offset - starts[line]
        return self.source.to_lsp(offset, self.encoding)

    def range(self, span: Span) -> lsp.Range:
        return lsp.Range(start=self.position(span.start), end=self.position(span.end))

    def offset(self, position: lsp.Position) -> int:
        return self.source.from_lsp(position.line, position.character, self.encoding)

    def span(self, rng: lsp.Range) -> Span:
        from constellation.compiler.ast import Span

        return Span(self.offset(rng.start), self.offset(rng.end))

    def end_of_text(self) -> lsp.Position:
        return self.position(len(self.source.text))
