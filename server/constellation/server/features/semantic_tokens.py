"""Semantic tokens (full and range, no size cutoff) from the compiler's lexer, with names
refined by the analysis: functions, namespaces, parameters, types, fields, declarations."""

from __future__ import annotations

from lsprotocol import types as lsp

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis
from constellation.server.lexing import tokens as tokenize
from constellation.compiler.source import utf16_len
from constellation.compiler.types import BUILTIN_TYPE_NAMES

TOKEN_TYPES = ["keyword", "variable", "type", "string", "number", "comment", "operator",
               "punctuation", "decorator", "property", "function", "namespace", "parameter",
               "enumMember"]
TOKEN_MODIFIERS = ["declaration", "readonly", "defaultLibrary"]
LEGEND = lsp.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)
TYPE_INDEX = {name: i for i, name in enumerate(TOKEN_TYPES)}
DECLARATION, READONLY, DEFAULT_LIBRARY = 1, 2, 4

LEXER_KIND = {"keyword": "keyword", "name": "variable", "type": "type", "string": "string",
              "number": "number", "duration": "number", "comment": "comment", "operator": "operator",
              "punctuation": "punctuation", "annotation": "decorator", "option": "property"}
SYMBOL_KIND = {"input": "variable", "binding": "variable", "type": "type",
               "namespace-alias": "namespace", "param": "parameter", "pattern": "parameter"}


def register(server) -> None:
    options = LEGEND  # pygls builds SemanticTokensOptions (full + range) from the legend

    @server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, options)
    def full(ls, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens | None:
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        return lsp.SemanticTokens(data=full_data(analysis, ls.encoding))

    @server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_RANGE)
    def range_(ls, params: lsp.SemanticTokensRangeParams) -> lsp.SemanticTokens | None:
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        wanted = ls.positions(analysis).span(params.range)
        return lsp.SemanticTokens(data=encode(analysis, ls.encoding, wanted))


_FULL: dict[tuple[int, str], tuple[Analysis, list[int]]] = {}


def full_data(analysis: Analysis, encoding: str) -> list[int]:
    """Whole-document tokens, remembered per analysis (clients ask again after refreshes)."""
    key = (id(analysis), encoding)
    hit = _FULL.get(key)
    if hit is not None and hit[0] is analysis:
        return hit[1]
    data = encode(analysis, encoding, None)
    if len(_FULL) >= 4:
        _FULL.pop(next(iter(_FULL)))
    _FULL[key] = (analysis, data)
    return data


def symbol_roles(analysis: Analysis) -> dict[int, tuple[str, int]]:
    """Start offset of each resolved name -> (token type, modifiers), from the symbol table."""
    roles: dict[int, tuple[str, int]] = {}
    for span, sym in analysis.symbols.occurrences:
        mods = DECLARATION if span.start == sym.span.start else 0
        if sym.kind == "input":
            mods |= READONLY
        roles[span.start] = (SYMBOL_KIND.get(sym.kind, "variable"), mods)
    return roles


class _Names:
    """Classifies a name token by its neighbours when the symbol table has no entry for it
    (function and namespace names, fields): one pass over the tokens, no AST walk."""

    def __init__(self, analysis: Analysis, toks: list):
        self.text = analysis.text
        self.registry = analysis.registry
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
    text = analysis.text
    starts = analysis.source.line_starts
    roles = symbol_roles(analysis)
    toks = tokenize(text)
    names = _Names(analysis, toks)
    # code points are the encoding's units for ASCII text and UTF-32: no slicing at all
    by_offset = text.isascii() or encoding == "utf-32"
    measure = (lambda s: len(s.encode("utf-8"))) if encoding == "utf-8" else utf16_len
    data: list[int] = []
    prev_line = prev_char = 0
    # columns are measured from the previous piece on the same line, never from the line's
    # start: a line of a million characters must not be re-measured for every token on it
    last_line, last_pos, last_char = -1, 0, 0
    line = 0  # tokens come in order: the line index only moves forward
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
            nl = text.find("\n", start, tok.end)
            piece_end = tok.end if nl < 0 else nl
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
                data += [delta_line, char - prev_char if delta_line == 0 else char,
                         length, TYPE_INDEX[kind], mods]
                prev_line, prev_char = piece_line, char
            if nl < 0:
                break
            start = nl + 1
    return data


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
