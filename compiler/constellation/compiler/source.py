"""Positions: code-point offsets <-> 1-based line:column <-> LSP (0-based line, UTF-16)."""

from __future__ import annotations

import bisect


class Source:
    """A document's text with a line index. Columns count code points (LANGUAGE.md §1.1)."""

    def __init__(self, text: str):
        self.text = text
        self.line_starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.line_starts.append(i + 1)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a code-point offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def offset(self, line: int, column: int) -> int:
        """Code-point offset of a 1-based (line, column)."""
        line = max(1, min(line, len(self.line_starts)))
        return min(self.line_starts[line - 1] + column - 1, len(self.text))

    def line_text(self, line: int) -> str:
        start = self.line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def format_pos(self, offset: int) -> str:
        line, col = self.line_col(offset)
        return f"{line}:{col}"

    # LSP speaks 0-based lines and UTF-16 code units.
    def to_lsp(self, offset: int) -> tuple[int, int]:
        line, col = self.line_col(offset)
        start = self.line_starts[line - 1]
        prefix = self.text[start:start + col - 1]
        return line - 1, _utf16_len(prefix)

    def from_lsp(self, line: int, character: int) -> int:
        if line >= len(self.line_starts):
            return len(self.text)
        start = self.line_starts[max(line, 0)]
        line_text = self.line_text(line + 1)
        units = 0
        for i, ch in enumerate(line_text):
            if units >= character:
                return start + i
            units += 2 if ord(ch) > 0xFFFF else 1
        return start + len(line_text)


def _utf16_len(s: str) -> int:
    return sum(2 if ord(c) > 0xFFFF else 1 for c in s)
