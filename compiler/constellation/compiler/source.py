"""Positions: code-point offsets <-> 1-based line:column <-> LSP (0-based line, UTF-8/16/32).

Lines end where LSP ends them: at `\\n`, `\\r\\n` and a lone `\\r`, nowhere else (U+2028,
`\\x0c`, `\\x85`... are ordinary characters, whatever `str.splitlines` thinks), so a line:col
here names the character an editor shows there. A lone surrogate (a client may send `\\ud800`
in JSON) is one code point and one UTF-16 unit, and three UTF-8 bytes, as its WTF-8 or U+FFFD
form would be: nothing here encodes strictly.
"""

from __future__ import annotations

import bisect
import re

LINE_BREAK = re.compile(r"\r\n?|\n")
_NEWLINE = re.compile("\n")  # the same breaks in a text without \r, twice as fast
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class Source:
    """A document's text with a line index. Columns count code points (LANGUAGE.md §1.1)."""

    def __init__(self, text: str, line_starts: list[int] | None = None):
        self.text = text
        if line_starts is None:
            # the regex engine builds the index (a Python loop over characters was a tenth
            # of a re-analysis of 5,000 lines)
            breaks = LINE_BREAK if "\r" in text else _NEWLINE
            line_starts = [0] + [m.end() for m in breaks.finditer(text)]
        self.line_starts = line_starts
        self._astral: bool | None = None
        self._ascii: bool | None = None

    @classmethod
    def edited(cls, previous: "Source", text: str, prefix: int, suffix: int) -> "Source":
        """The Source of `text`, which has `prefix` characters in common with `previous`'s
        text at its start and `suffix` at its end: the lines of the changed stretch are found
        again, the index of the others is copied (and shifted), not searched."""
        old = previous.line_starts
        old_end = len(previous.text) - suffix
        new_end = len(text) - suffix
        # a line start v is kept when its break and the character after it are unchanged
        kept = old[:max(1, bisect.bisect_left(old, prefix))]
        middle = []
        for m in LINE_BREAK.finditer(text, kept[-1]):
            if m.start() >= new_end:
                break
            middle.append(m.end())
        delta = len(text) - len(previous.text)
        after = old[bisect.bisect_left(old, old_end + 1):]
        if middle and after and middle[-1] == after[0] + delta:
            middle.pop()  # a `\r` before the stretch's end and a `\n` after it
        return cls(text, kept + middle + (list(map(delta.__add__, after)) if delta else after))

    @property
    def ascii(self) -> bool:
        """Is the text ASCII? Then every encoding's unit is a code point."""
        if self._ascii is None:
            self._ascii = self.text.isascii()
        return self._ascii

    @property
    def astral(self) -> bool:
        """Does the text have characters outside the BMP? Without them a UTF-16 column is
        the code-point column, so conversions need no look at the line's characters."""
        if self._astral is None:
            self._astral = not self.ascii and _ASTRAL.search(self.text) is not None
        return self._astral

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a code-point offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def offset(self, line: int, column: int) -> int:
        """Code-point offset of a 1-based (line, column)."""
        line = max(1, min(line, len(self.line_starts)))
        return min(self.line_starts[line - 1] + column - 1, len(self.text))

    def line_end(self, line: int) -> int:
        """Offset of the end of 1-based `line`'s text, before its line break."""
        if line >= len(self.line_starts):
            return len(self.text)
        end = self.line_starts[line] - 1
        if self.text[end] == "\n" and end > self.line_starts[line - 1] and self.text[end - 1] == "\r":
            end -= 1
        return end

    def line_text(self, line: int) -> str:
        return self.text[self.line_starts[line - 1]:self.line_end(line)]

    def format_pos(self, offset: int) -> str:
        line, col = self.line_col(offset)
        return f"{line}:{col}"

    # LSP speaks 0-based lines and code units of the negotiated encoding (UTF-16 unless told).
    def to_lsp(self, offset: int, encoding: str = "utf-16") -> tuple[int, int]:
        """(line, character) of an offset; an offset inside a `\\r\\n` is the line's end."""
        line, col = self.line_col(offset)
        start = self.line_starts[line - 1]
        offset = min(start + col - 1, self.line_end(line))
        if self.ascii or encoding == "utf-32" or (encoding == "utf-16" and not self.astral):
            return line - 1, offset - start
        return line - 1, units(self.text[start:offset], encoding)

    def from_lsp(self, line: int, character: int, encoding: str = "utf-16") -> int:
        """The offset of an LSP position: a line past the last is the end of the text, a
        character past the line's end is the line's end (LSP: "defaults back to the line
        length"), negative numbers count as 0."""
        if line >= len(self.line_starts):
            return len(self.text)
        line = max(line, 0)
        character = max(character, 0)
        start, end = self.line_starts[line], self.line_end(line + 1)
        if self.ascii or encoding == "utf-32" or (encoding == "utf-16" and not self.astral):
            return min(start + character, end)
        count = 0
        for i in range(start, end):
            if count >= character:
                return i
            count += _unit_count(self.text[i], encoding)
        return end


def _unit_count(ch: str, encoding: str) -> int:
    code = ord(ch)
    if encoding == "utf-8":
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    if encoding == "utf-16":
        return 2 if code > 0xFFFF else 1
    return 1


def units(s: str, encoding: str) -> int:
    """Length of `s` in code units of `encoding` ("utf-8", "utf-16" or "utf-32")."""
    if encoding == "utf-32" or s.isascii():
        return len(s)
    if encoding == "utf-8":
        return len(s.encode("utf-8", "surrogatepass"))
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def utf16_len(s: str) -> int:
    """Length of `s` in UTF-16 code units."""
    return units(s, "utf-16")
