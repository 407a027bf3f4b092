"""Semantic tokens (whole document and range, no size cutoff) from the compiler's lexer, with
names refined by the analysis: functions, namespaces, parameters, types, fields, declarations.

The result is LSP's relative encoding of them (five numbers per token: line delta, character
delta, length, type index, modifier bits) in the units of the encoding asked for: numbers, not
LSP's types. The whole document's tokens are cached on the Analysis; one declaration's tokens
are kept by its text in a `TokenPieces` (the document's, across its versions).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler import ast
from constellation.compiler.lexer import LexToken, declaration_starts, tokenize
from constellation.compiler.queries import reading
from constellation.compiler.queries.reading import cached
from constellation.compiler.source import LINE_BREAK, Source, units
from constellation.compiler.types import BUILTIN_TYPE_NAMES

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis

TOKEN_TYPES = ["keyword", "variable", "type", "string", "number", "comment", "operator",
               "punctuation", "decorator", "property", "function", "namespace", "parameter",
               "enumMember"]
TOKEN_MODIFIERS = ["declaration", "readonly", "defaultLibrary"]
TYPE_INDEX = {name: i for i, name in enumerate(TOKEN_TYPES)}
DECLARATION, READONLY, DEFAULT_LIBRARY = 1, 2, 4

LEXER_KIND = {"keyword": "keyword", "name": "variable", "type": "type", "string": "string",
              "number": "number", "duration": "number", "comment": "comment", "operator": "operator",
              "punctuation": "punctuation", "annotation": "decorator", "option": "property"}
SYMBOL_KIND = {"input": "variable", "binding": "variable", "type": "type",
               "namespace-alias": "namespace", "param": "parameter", "pattern": "parameter"}


def token_edit(old: list[int], new: list[int]) -> tuple[int, int, list[int]]:
    """(start, delete count, inserted numbers) turning `old` into `new`: everything between
    their common beginning and common end. Compared a block at a time (C-speed slices)."""
    n = min(len(old), len(new))
    block = 512
    p = 0
    while p + block <= n and old[p:p + block] == new[p:p + block]:
        p += block
    while p < n and old[p] == new[p]:
        p += 1
    q = 0  # common end, not overlapping the common beginning
    limit = n - p
    while q + block <= limit and old[len(old) - q - block:len(old) - q] \
            == new[len(new) - q - block:len(new) - q]:
        q += block
    while q < limit and old[len(old) - q - 1] == new[len(new) - q - 1]:
        q += 1
    return p, len(old) - p - q, new[p:len(new) - q]


def full_data(analysis: Analysis, encoding: str, starts: list[int] | None = None,
              pieces: TokenPieces | None = None) -> list[int]:
    """Whole-document tokens, made once per analysis and encoding (clients ask again after
    refreshes). `starts`: the declaration starts of the analysed text, when the caller has
    them; `pieces`: the document's pieces from its earlier versions."""
    return cached(analysis, ("semantic tokens", encoding),
                  lambda: encode_by_declaration(analysis, encoding, starts, pieces))


def lexed(analysis: Analysis) -> list[LexToken]:
    """The lexer's tokens of the whole text, once per analysis (range requests, new pieces)."""
    return cached(analysis, "tokens", lambda: tokenize(analysis.text))


@dataclass(slots=True)
class _Piece:
    """One declaration's tokens, encoded as if it began the document: positions hold for it
    wherever it moves (it starts a line). Name and type tokens keep their role from the
    symbol table at the latest position: `dynamic` holds (index of the type field in `data`,
    offset in the declaration)."""

    data: list[int]
    dynamic: list[tuple[int, int]]
    last_line: int  # line of the last token, counted from the declaration's first line
    lines: int  # line breaks in the declaration's text


_MAX_PIECES = 50_000


class TokenPieces:
    """One document's pieces by declaration text, for the registry (library functions are
    marked) and encoding they were made with: another of either starts them afresh."""

    def __init__(self) -> None:
        self._made_for: tuple[object, str] | None = None
        self._pieces: dict[str, _Piece] = {}

    def pieces(self, registry, encoding: str) -> dict[str, _Piece]:
        if self._made_for is None or self._made_for[0] is not registry \
                or self._made_for[1] != encoding:
            self._made_for, self._pieces = (registry, encoding), {}
        return self._pieces


def encode_by_declaration(analysis: Analysis, encoding: str,
                          starts: list[int] | None = None,
                          pieces: TokenPieces | None = None) -> list[int]:
    """`encode(analysis, encoding, None)`, from pieces encoded once per declaration text: an
    edit re-encodes the declarations it touched, and the rest only look up their names'
    roles again (a 5,000-line document: 245 ms -> ~25 ms)."""
    text = analysis.text
    if starts is None or not starts or starts[0] != 0:
        starts = declaration_starts(text)
    pieces = (pieces or TokenPieces()).pieces(analysis.registry, encoding)
    bounds = list(zip(starts, starts[1:] + [len(text)]))
    chunks = [text[start:end] for start, end in bounds]
    missing = [k for k, chunk in enumerate(chunks) if chunk not in pieces]
    if len(missing) > _LEX_WHOLE:  # a new document: lexed at once, cut into pieces
        _pieces_from_whole_text(analysis, encoding, bounds, chunks, missing, pieces)
    roles = symbol_roles(analysis)
    out: list[int] = []
    line = prev_line = 0  # the declaration's first line; the last token's line
    for (start, _), chunk in zip(bounds, chunks):
        piece = pieces.get(chunk)
        if piece is None:
            piece = _encode_piece(chunk, encoding, analysis.registry)
            if len(pieces) >= _MAX_PIECES:
                pieces.clear()
            pieces[chunk] = piece
        if piece.data:
            data = piece.data.copy()
            for at, offset in piece.dynamic:
                role = roles.get(start + offset)
                if role is not None:
                    data[at], data[at + 1] = TYPE_INDEX[role[0]], role[1]
            # the first delta counts from the previous declaration's last token (always on an
            # earlier line: declarations start lines, so its column stays absolute)
            data[0] += line - prev_line
            out += data
            prev_line = line + piece.last_line
        line += piece.lines
    return out


_LEX_WHOLE = 32  # more new declarations than this: one lexer pass over the whole text


def _pieces_from_whole_text(analysis: Analysis, encoding: str, bounds: list, chunks: list,
                            missing: list[int], pieces: dict) -> None:
    """Pieces of the `missing` declarations from the whole text's tokens (remembered for
    range requests), which costs what one whole-text encoding does; a declaration a token
    crosses out of (broken text) is lexed on its own later."""
    text, line_starts = analysis.text, analysis.source.line_starts
    toks = lexed(analysis)
    tok_starts = [t.start for t in toks]
    ascii_text = text.isascii()
    if len(pieces) + len(missing) >= _MAX_PIECES:
        pieces.clear()
    for k in missing:
        start, end = bounds[k]
        lo, hi = bisect.bisect_left(tok_starts, start), bisect.bisect_left(tok_starts, end)
        mine = toks[lo:hi]
        if mine and max(t.end for t in mine) > end:
            continue
        line = bisect.bisect_right(line_starts, start) - 1
        dynamic: list[tuple[int, int]] = []
        data = _encode(text, line_starts, mine, encoding, None, {},
                       _Names(text, analysis.registry, mine), dynamic, line, start, ascii_text)
        pieces[chunks[k]] = _piece(data, dynamic, chunks[k])


def _encode_piece(chunk: str, encoding: str, registry) -> _Piece:
    toks = tokenize(chunk)
    dynamic: list[tuple[int, int]] = []
    data = _encode(chunk, Source(chunk).line_starts, toks, encoding, None, {},
                   _Names(chunk, registry, toks), dynamic)
    return _piece(data, dynamic, chunk)


def _piece(data: list[int], dynamic: list, chunk: str) -> _Piece:
    last_line = 0
    for k in range(0, len(data), 5):
        last_line += data[k]
    return _Piece(data, dynamic, last_line, len(Source(chunk).line_starts) - 1)


def symbol_roles(analysis: Analysis) -> dict[int, tuple[str, int]]:
    """Start offset of each resolved name -> (token type, modifiers), from the symbol table
    (once per analysis)."""
    return cached(analysis, "symbol roles", lambda: _symbol_roles(analysis))


def _symbol_roles(analysis: Analysis) -> dict[int, tuple[str, int]]:
    roles: dict[int, tuple[str, int]] = {}
    for span, sym in reading.occurrences(analysis):
        mods = DECLARATION if span.start == reading.absolute(analysis, sym.span).start else 0
        if sym.kind == "input":
            mods |= READONLY
        roles[span.start] = (SYMBOL_KIND.get(sym.kind, "variable"), mods)
    return roles


class _Names:
    """Classifies a name token by its neighbours when the symbol table has no entry for it
    (function and namespace names, fields): one pass over the tokens, no AST walk."""

    def __init__(self, text: str, registry, toks: list):
        self.text = text
        self.registry = registry
        self.toks = toks
        self.library: dict[str, bool] = {}

    def around(self, i: int) -> tuple[str, str]:
        prev = self.toks[i - 1] if i > 0 else None
        nxt = self.toks[i + 1] if i + 1 < len(self.toks) else None
        return (self.text[prev.start:prev.end] if prev else "", self.text[nxt.start:nxt.end] if nxt else "")

    def is_library(self, name: str) -> bool:
        hit = self.library.get(name)
        if hit is None:
            found = self.registry.by_simple_name(name)
            hit = self.library[name] = bool(found) and all((f.namespace or "").startswith("stdlib") for f in found)
        return hit

    def role(self, i: int, in_use: bool) -> tuple[str, int]:
        tok = self.toks[i]
        prev, nxt = self.around(i)
        if nxt == "(":
            name = self.text[tok.start:tok.end]
            return "function", DEFAULT_LIBRARY if self.is_library(name) else 0
        if nxt == "." or in_use:
            return "namespace", 0
        if prev == ":" and i >= 2 and self.toks[i - 2].kind == "option":
            return "enumMember", 0  # an option's word value: `backoff: exponential`
        if prev == "." or nxt == ":":
            return "property", 0
        return "variable", 0


def encode(analysis: Analysis, encoding: str, wanted: ast.Span | None) -> list[int]:
    """Tokens of the whole text (or of `wanted`), lexed at once."""
    toks = lexed(analysis)
    return _encode(analysis.text, analysis.source.line_starts, toks, encoding, wanted,
                   symbol_roles(analysis), _Names(analysis.text, analysis.registry, toks))


def _encode(text: str, starts: list[int], toks: list, encoding: str, wanted: ast.Span | None,
            roles: dict, names: _Names, dynamic: list | None = None,
            first_line: int = 0, origin: int = 0, ascii_text: bool | None = None) -> list[int]:
    """The LSP encoding of `toks`, the first delta counted from `first_line`. With `dynamic`,
    name and type tokens are recorded there (index of their type field, offset from
    `origin`) for a later look-up of their role."""
    # code points are the encoding's units for ASCII text and UTF-32: no slicing at all
    by_offset = (text.isascii() if ascii_text is None else ascii_text) or encoding == "utf-32"
    def measure(s: str) -> int:
        return units(s, encoding)
    data: list[int] = []
    prev_line, prev_char = first_line, 0
    # columns are measured from the previous piece on the same line, never from the line's
    # start: a line of a million characters must not be re-measured for every token on it
    last_line, last_pos, last_char = -1, 0, 0
    line = first_line  # tokens come in order: the line index only moves forward
    use_line = -1  # line of the last `use` keyword: its dotted path is namespaces
    for i, tok in enumerate(toks):
        while line + 1 < len(starts) and starts[line + 1] <= tok.start:
            line += 1
        if tok.kind == "keyword" and text.startswith("use", tok.start) and tok.end - tok.start == 3:
            use_line = line
        if wanted is not None and (tok.end < wanted.start or tok.start > wanted.end):
            continue
        kind = LEXER_KIND.get(tok.kind)
        if kind is None:
            continue
        kind, mods = _refine(tok, kind, i, roles, names, use_line == line, text)
        start, piece_line = tok.start, line
        while start < tok.end:  # one entry per line of a multi-line token (strings)
            while piece_line + 1 < len(starts) and starts[piece_line + 1] <= start:
                piece_line += 1
            # lines end where LSP ends them (a comment runs past a lone \r, a string past any)
            brk = LINE_BREAK.search(text, start, tok.end)
            nl = -1 if brk is None else brk.end() - 1
            piece_end = tok.end if brk is None else brk.start()
            if piece_end > start:
                if by_offset:
                    char, length = start - starts[piece_line], piece_end - start
                else:
                    if piece_line == last_line:
                        char = last_char + measure(text[last_pos:start])
                    else:
                        char = measure(text[starts[piece_line]:start])
                    last_line, last_pos, last_char = piece_line, start, char
                    length = measure(text[start:piece_end])
                delta_line = piece_line - prev_line
                if dynamic is not None and tok.kind in _DYNAMIC:
                    dynamic.append((len(data) + 3, tok.start - origin))
                data += [delta_line, char - prev_char if delta_line == 0 else char,
                         length, TYPE_INDEX[kind], mods]
                prev_line, prev_char = piece_line, char
            if nl < 0:
                break
            start = nl + 1
    return data


_DYNAMIC = frozenset({"name", "type"})  # their role can come from the symbol table


def _refine(tok, kind: str, i: int, roles: dict, names: _Names, in_use: bool, text: str) -> tuple[str, int]:
    if tok.kind == "name":
        hit = roles.get(tok.start)
        return hit if hit is not None else names.role(i, in_use)
    if tok.kind == "type":
        hit = roles.get(tok.start)
        if hit is not None:
            return hit
        return "type", DEFAULT_LIBRARY if text[tok.start:tok.end] in BUILTIN_TYPE_NAMES else 0
    if tok.kind == "keyword":
        prev, nxt = names.around(i)
        if prev == "." or nxt == ":":  # a reserved word used as a field name
            return "property", 0
    return kind, 0
