"""Semantic tokens (full and range, no size cutoff) from the compiler's lexer, with names
refined by the analysis: functions, namespaces, parameters, types, fields, declarations."""

from __future__ import annotations

from lsprotocol import types as lsp

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis
from constellation.server.lexing import tokens as tokenize
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
        return lsp.SemanticTokens(data=encode(analysis, ls.encoding, None))

    @server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_RANGE)
    def range_(ls, params: lsp.SemanticTokensRangeParams) -> lsp.SemanticTokens | None:
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        wanted = ls.positions(analysis).span(params.range)
        return lsp.SemanticTokens(data=encode(analysis, ls.encoding, wanted))


def name_roles(analysis: Analysis) -> dict[int, tuple[str, int]]:
    """Start offset of a name -> (token type, modifiers), for names the lexer cannot classify."""
    roles: dict[int, tuple[str, int]] = {}
    for span, sym in analysis.symbols.occurrences:
        mods = DECLARATION if span == sym.span else 0
        if sym.kind == "input":
            mods |= READONLY
        roles[span.start] = (SYMBOL_KIND.get(sym.kind, "variable"), mods)
    for decl in analysis.decls:
        for node in ast.walk(decl):
            _node_roles(analysis, node, roles)
    return roles


def _node_roles(analysis: Analysis, node: object, roles: dict) -> None:
    if isinstance(node, ast.Call):
        fn = analysis.check.call_targets.get(id(node))
        lib = DEFAULT_LIBRARY if fn is not None and (fn.namespace or "").startswith("stdlib") else 0
        for part in node.name[:-1]:
            roles[part.span.start] = ("namespace", 0)
        roles[node.name[-1].span.start] = ("function", lib)
        for opt in node.options:
            roles[opt.key.span.start] = ("property", 0)
            if opt.value is not None and opt.value.kind == "word":
                roles[opt.value.span.start] = ("enumMember", 0)
    elif isinstance(node, ast.UseDecl):
        for part in node.path:
            roles[part.span.start] = ("namespace", 0)
        if node.alias is not None:
            roles[node.alias.span.start] = ("namespace", DECLARATION)
    elif isinstance(node, ast.FieldAccess):
        roles[node.field.span.start] = ("property", 0)
    elif isinstance(node, ast.Projection):
        for f in node.fields:
            roles[f.span.start] = ("property", 0)
    elif isinstance(node, ast.RecordLit):
        for name, _ in node.fields:
            roles[name.span.start] = ("property", 0)
    elif isinstance(node, ast.RecordTypeExpr):
        for name, _ in node.fields:
            roles[name.span.start] = ("property", 0)
    elif isinstance(node, ast.TypeName):
        lib = DEFAULT_LIBRARY if node.name.text in BUILTIN_TYPE_NAMES else 0
        roles[node.name.span.start] = ("type", lib)
    elif isinstance(node, ast.Annotation):
        roles[node.name.span.start] = ("decorator", 0)


def encode(analysis: Analysis, encoding: str, wanted: ast.Span | None) -> list[int]:
    text = analysis.text
    starts = analysis.source.line_starts
    roles = name_roles(analysis)
    measure = len if text.isascii() or encoding == "utf-32" else (
        (lambda s: len(s.encode("utf-8"))) if encoding == "utf-8" else _utf16_len)
    data: list[int] = []
    prev_line = prev_char = 0
    line = 0  # tokens come in order: the line index only moves forward
    for tok in tokenize(text):
        if wanted is not None and (tok.end < wanted.start or tok.start > wanted.end):
            continue
        kind = LEXER_KIND.get(tok.kind)
        if kind is None:
            continue
        mods = 0
        if tok.kind in ("name", "type", "option", "annotation", "keyword") and tok.start in roles:
            role, mods = roles[tok.start]
            if tok.kind != "keyword" or role == "property":  # reserved words as field names
                kind = role
        start = tok.start
        while start < tok.end:  # one entry per line of a multi-line token (strings)
            while line + 1 < len(starts) and starts[line + 1] <= start:
                line += 1
            nl = text.find("\n", start, tok.end)
            piece_end = tok.end if nl < 0 else nl
            if piece_end > start:
                char = measure(text[starts[line]:start])
                delta_line = line - prev_line
                data += [delta_line, char - prev_char if delta_line == 0 else char,
                         measure(text[start:piece_end]), TYPE_INDEX[kind], mods]
                prev_line, prev_char = line, char
            if nl < 0:
                break
            start = nl + 1
    return data


def _utf16_len(s: str) -> int:
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)
