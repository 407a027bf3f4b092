"""The server's copy of an open document, kept by LSP's line rules.

pygls' TextDocument splits lines with `str.splitlines`, which also breaks at U+2028, U+2029,
`\\x0b`, `\\x0c`, `\\x1c`-`\\x1e` and `\\x85`: an incremental change after one of them landed
lines away from where the editor made it (a rename then turned `  value` into `resultue`).
Here a change's range is read by `Source`'s line index (lines end at `\\n`, `\\r\\n`, `\\r`)
in the negotiated encoding, the same index every position the server sends is made with.
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp
from pygls.workspace import TextDocument

from constellation.compiler.source import Source
from constellation.server.positions import encoding_name

# a high and a low surrogate side by side: an editor holding UTF-16 sees one character there
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _join_pairs(text: str) -> str:
    """The text with its surrogate pairs as the characters they encode, as a didOpen of the
    same text decodes them (JSON's `\\ud83d\\ude00` is one 😀): two edits that each sent one
    half must not leave the compiler two lone surrogates where the client has an emoji."""
    return _PAIR.sub(lambda m: m.group().encode("utf-16-le", "surrogatepass").decode("utf-16-le"),
                     text)


class LspTextDocument(TextDocument):
    """A TextDocument whose lines and change ranges follow LSP exactly."""

    def __init__(self, uri: str, source: str | None = None, *args, **kwargs):
        super().__init__(uri, source if source is None else _join_pairs(source), *args, **kwargs)
        self.encoding = encoding_name(self.position_codec.encoding)
        self._index: Source | None = None

    @property
    def index(self) -> Source:
        """The current text's line index (rebuilt only after a change)."""
        if self._index is None or self._index.text is not self.source:
            self._index = Source(self.source)
        return self._index

    @property
    def lines(self):
        index = self.index
        text, starts = index.text, index.line_starts
        return tuple(text[a:b] for a, b in zip(starts, starts[1:] + [len(text)]))

    def offset_at_position(self, client_position: lsp.Position) -> int:
        return self.index.from_lsp(client_position.line, client_position.character, self.encoding)

    def _apply_incremental_change(self, change: lsp.TextDocumentContentChangePartial) -> None:
        index = self.index
        start = index.from_lsp(change.range.start.line, change.range.start.character, self.encoding)
        end = index.from_lsp(change.range.end.line, change.range.end.character, self.encoding)
        start, end = min(start, end), max(start, end)
        text = index.text
        new = text[:start] + change.text + text[end:]
        # a pair can only form where the edit joined old and new text
        if _PAIR.search(new, max(start - 1, 0), start + len(change.text) + 1):
            new = _join_pairs(new)
        self._source = new

    def _apply_full_change(self, change) -> None:
        self._source = _join_pairs(change.text)
