"""Lexer for .cst source (LANGUAGE.md §1) and the declaration splitter of §2.6.

Hand-written on top of one master regular expression: strings with `${…}` need a scanner
with a stack, and every lexical error of §1 must become a sentence with a span instead of an
exception. The same scanner serves the parser (`lex`), the language server's semantic
tokens (`tokenize`) and incremental parsing (`split_declarations`). Nothing here raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from constellation.compiler.gcpause import collector_paused
# Re-exported: the parser and the formatter read them from here.
from constellation.compiler.vocabulary import BUILTIN_TYPES, OPTION_KEYS, RESERVED  # noqa: F401

# Interpolations nested deeper than this inside strings are an error (the embedded
# expressions are parsed recursively, so this bounds the recursion).
MAX_STRING_NESTING = 16

_KW_END = r"(?![A-Za-z0-9_]|-[A-Za-z0-9_])"
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*"

_TOKEN_RE = re.compile(
    r"(?P<ws>[ \t\r\n]+)"
    r"|(?P<comment>\#[^\n]*)"
    r"|(?P<rate>[0-9]+/[0-9]+(?:\.[0-9]+)?[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<num>[0-9]+(?:\.[0-9]+)?(?P<suffix>[A-Za-z_][A-Za-z0-9_]*)?)"
    r"|(?P<name>" + _IDENT + r")"
    r"|(?P<string>\")"
    r"|(?P<op>->|=>|==|!=|<=|>=|\?\?|[=:,.()\[\]{}<>+\-*/|@])"
    r"|(?P<bad>[\s\S])"
)
_OPS = {
    "->": "ARROW", "=>": "FATARROW", "==": "EQEQ", "!=": "NE", "<=": "LE", ">=": "GE",
    "??": "QQ", "=": "EQ", ":": "COLON", ",": "COMMA", ".": "DOT", "(": "LPAR", ")": "RPAR",
    "[": "LSQB", "]": "RSQB", "{": "LBRACE", "}": "RBRACE", "<": "LT", ">": "GT",
    "+": "PLUS", "-": "MINUS", "*": "STAR", "/": "SLASH", "|": "BAR", "@": "AT",
}
_KEYWORD_TYPES = {w: w.upper() for w in RESERVED}
# §2.3 rules 2 and 4: a '(' that opens a lambda, a ',' that continues a `with` clause.
_LAMBDA_AHEAD = re.compile(r"[^()]*\)(?:\s|#[^\n]*)*=>")
_OPT_COMMA_AHEAD = re.compile(
    r"(?:\s|#[^\n]*)*(?:lazy" + _KW_END + r"|(?:"
    + "|".join(sorted((k for k in OPTION_KEYS if k != "lazy"), key=len, reverse=True))
    + r")(?:\s|#[^\n]*)*:)"
)
_STRING_STOP = re.compile(r"[\"\\]|\$\{")
_INTERP_STOP = re.compile(r"[\"{}]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$"}
_OPERAND_END = frozenset({"IDENT", "RPAR", "RSQB", "RBRACE", "INT", "FLOAT", "STRING"})


class Tok:
    """A token for the LALR parser (attribute names follow lark's Token)."""

    __slots__ = ("type", "value", "start_pos", "end_pos")

    def __init__(self, type_: str, value: str, start: int, end: int):
        self.type = type_
        self.value = value
        self.start_pos = start
        self.end_pos = end

    def __repr__(self) -> str:
        return f"Tok({self.type}, {self.value!r}, {self.start_pos})"


@dataclass(slots=True)
class StringInfo:
    """What the lexer learnt about one string literal.

    parts: the n+1 unescaped literal parts; regions: the n `${…}` contents as (start, end)
    offsets of the expression text (between `${` and `}`), closes: offset of each closing `}`.
    """

    parts: list[str]
    regions: list[tuple[int, int]]
    closes: list[int]


@dataclass(slots=True)
class LexError:
    message: str
    start: int
    end: int


@dataclass(slots=True)
class Lexed:
    tokens: list[Tok]
    strings: dict[int, StringInfo]  # by the string token's start offset
    error: LexError | None  # the first lexical error (later ones are in discarded text)
    comments: list[tuple[int, int]]


def describe_char(ch: str) -> str:
    return repr(ch)[1:-1] if not ch.isprintable() or ch in "\\'" else ch


_LEX_RE = re.compile(
    r"[ \t\r\n]*(?:"
    r"(?P<name>" + _IDENT + r")"
    r"|(?P<op>->|=>|==|!=|<=|>=|\?\?|[=:,.()\[\]{}<>+\-*/|@])"
    r"|(?P<rate>[0-9]+/[0-9]+(?:\.[0-9]+)?[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<num>[0-9]+(?:\.[0-9]+)?(?P<suffix>[A-Za-z_][A-Za-z0-9_]*)?)"
    r"|(?P<string>\")"
    r"|(?P<comment>\#[^\n]*)"
    r"|(?P<bad>[\s\S])"
    r"|(?P<eof>\Z))"
)


def lex(text: str, start: int = 0, end: int | None = None, *, interp: bool = False,
        nesting: int = 0) -> Lexed:
    """Tokens of text[start:end]. `interp`: the region is the inside of `${…}` (no comments).

    Stops at the first lexical error: recovery discards the rest of the declaration anyway.
    One regular expression match per token (whitespace included); the rest is bookkeeping.
    """
    end = len(text) if end is None else end
    tokens: list[Tok] = []
    strings: dict[int, StringInfo] = {}
    comments: list[tuple[int, int]] = []
    pos = start
    match = _LEX_RE.match
    append = tokens.append
    keywords = _KEYWORD_TYPES
    ops = _OPS
    while True:
        m = match(text, pos, end)
        kind = m.lastgroup
        tend = m.end()
        if kind == "name":
            word = m.group(kind)
            append(Tok(keywords.get(word, "IDENT"), word, tend - len(word), tend))
        elif kind == "op":
            op = m.group(kind)
            tstart = tend - len(op)
            ttype = ops[op]
            if ttype == "DOT" or ttype == "AT":
                err = _check_op(text, op, tstart, start, end, tokens)
                if err is not None:
                    return Lexed(tokens, strings, err, comments)
            elif ttype == "LPAR":
                if _LAMBDA_AHEAD.match(text, tend, end):
                    ttype = "LAMBDA_LPAR"
            elif ttype == "COMMA":
                if _OPT_COMMA_AHEAD.match(text, tend, end):
                    ttype = "OPT_COMMA"
            append(Tok(ttype, op, tstart, tend))
        elif kind == "num":
            word = m.group(kind)
            tstart = tend - len(word)
            if word[0] == "0" or (tend < end and text[tend] == "."):
                err = _check_number(text, word, tstart, tend, m.group("suffix"), end)
                if err is not None:
                    return Lexed(tokens, strings, err, comments)
            ttype = "SUFFIXED" if m.group("suffix") else ("FLOAT" if "." in word else "INT")
            append(Tok(ttype, word, tstart, tend))
        elif kind == "eof":
            return Lexed(tokens, strings, None, comments)
        elif kind == "comment":
            tstart = m.start(kind)
            if interp:
                return Lexed(tokens, strings, LexError("Unexpected character '#'", tstart,
                                                       tstart + 1), comments)
            comments.append((tstart, tend))
        elif kind == "string":
            tstart = tend - 1
            info, tend, err = scan_string(text, tstart, end, nesting)
            if err is not None:
                return Lexed(tokens, strings, err, comments)
            strings[tstart] = info
            append(Tok("STRING", text[tstart:tend], tstart, tend))
        elif kind == "rate":
            word = m.group(kind)
            append(Tok("RATE", word, tend - len(word), tend))
        else:
            tstart = tend - 1
            bad_end = tend
            while bad_end < end and _TOKEN_RE.match(text, bad_end, end).lastgroup == "bad":
                bad_end += 1
            err = LexError(f"Unexpected character '{describe_char(m.group(kind))}'", tstart, bad_end)
            return Lexed(tokens, strings, err, comments)
        pos = tend


_STRING_OR_COMMENT = re.compile(r'["#]')


def comment_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every comment: `lex(text).comments` for a text without lexical errors,
    found by jumping from one string or comment to the next (4x faster than lexing); a text
    with a broken string takes the error-tolerant `tokenize`'s comments."""
    out: list[tuple[int, int]] = []
    pos, n = 0, len(text)
    search = _STRING_OR_COMMENT.search
    while (m := search(text, pos)) is not None:
        at = m.start()
        if text[at] == "#":
            pos = text.find("\n", at)
            pos = n if pos < 0 else pos
            out.append((at, pos))
        else:
            _, pos, err = scan_string(text, at, n)
            if err is not None:  # the tokenizer knows where lexing resumes after an error
                return [(t.start, t.end) for t in tokenize(text) if t.kind == "comment"]
    return out


def end_context(text: str, start: int = 0) -> str:
    """Where the end of `text` (scanned from `start`, a point in code) is: "comment", "string"
    (the text of a string literal) or "code" (also inside a `${…}` of a string), by the rules of
    §1.1 and §1.5. Editors ask it at the cursor: there is nothing to complete in a comment."""
    n = len(text)
    pos = start
    while (m := _STRING_OR_COMMENT.search(text, pos)) is not None:
        at = m.start()
        if text[at] == "#":
            nl = text.find("\n", at)
            if nl < 0:
                return "comment"
            pos = nl + 1
            continue
        pos = at + 1  # inside the string: its text, escapes and interpolations
        while True:
            stop = _STRING_STOP.search(text, pos)
            if stop is None:
                return "string"
            if stop.group() == '"':
                pos = stop.end()
                break
            if stop.group() == "\\":
                pos = stop.start() + 2
                if pos > n:
                    return "string"
                continue
            close = find_interpolation_end(text, stop.end(), n)
            if close is None:  # the cursor is in this interpolation's code
                return end_context(text, stop.end())
            pos = close + 1
    return "code"


def first_token(text: str, start: int, end: int | None = None) -> Tok | None:
    """The first token at or after `start` (whitespace and comments skipped), or None."""
    end = len(text) if end is None else end
    pos = start
    while pos < end:
        m = _TOKEN_RE.match(text, pos, end)
        if m.lastgroup not in ("ws", "comment"):
            if m.lastgroup in ("name", "op", "num", "rate"):
                word = m.group()
                if m.lastgroup == "name":
                    ttype = _KEYWORD_TYPES.get(word, "IDENT")
                elif m.lastgroup == "op":
                    ttype = _OPS[word]
                else:
                    ttype = "RATE" if m.lastgroup == "rate" else "INT"
                return Tok(ttype, word, pos, m.end())
            lexed = lex(text, pos, min(end, pos + 10_000))
            return lexed.tokens[0] if lexed.tokens else Tok("ERROR", m.group(), pos, m.end())
        pos = m.end()
    return None


def _check_op(text: str, op: str, pos: int, start: int, end: int, tokens: list[Tok]) -> LexError | None:
    """The '.' and '@' spacing rules (§1.6, §2.1) and numbers written `.5`."""
    if op == ".":
        after = text[pos + 1] if pos + 1 < end else ""
        before = text[pos - 1] if pos > start else ""
        prev = tokens[-1].type if tokens else None
        if after.isdigit() and prev not in _OPERAND_END and before not in "])":
            return LexError(f"A number needs a digit before '.': write '0.{_digits(text, pos + 1, end)}'",
                            pos, pos + 1 + len(_digits(text, pos + 1, end)))
        if before in (" ", "\t", "\r", "\n") or after in ("", " ", "\t", "\r", "\n", "#"):
            return LexError("Whitespace is not allowed around '.'", pos, pos + 1)
    elif op == "@":
        if pos + 1 >= end or not (text[pos + 1].isalpha() or text[pos + 1] == "_"):
            return LexError("Expected an annotation name directly after '@' (@example, @source "
                            "or @sink)", pos, pos + 1)
    return None


def _digits(text: str, pos: int, end: int) -> str:
    m = re.compile(r"[0-9]+").match(text, pos, end)
    return m.group() if m else ""


def _check_number(text: str, word: str, start: int, tend: int, suffix: str | None,
                  end: int) -> LexError | None:
    """Leading zeros and a '.' without digits after it (§1.4)."""
    digits = word.split(".")[0]
    if suffix is None:
        if len(digits) > 1 and digits[0] == "0" and digits.isdigit():
            return LexError(f"Leading zeros are not allowed: '{word}'", start, tend)
        if tend < end and text[tend] == "." and (tend + 1 >= end or not text[tend + 1].isdigit()):
            return LexError(f"A number needs a digit after '.': write '{word}.0'", start, tend + 1)
    return None


def scan_string(text: str, quote: int, end: int, nesting: int = 0):
    """Scan the string literal opening at `quote`. Returns (StringInfo, end offset, error)."""
    parts: list[str] = []
    regions: list[tuple[int, int]] = []
    closes: list[int] = []
    buf: list[str] = []
    i = quote + 1
    while True:
        m = _STRING_STOP.search(text, i, end)
        if m is None:
            return None, end, LexError("Unterminated string literal", quote, quote + 1)
        buf.append(text[i:m.start()])
        s = m.group()
        if s == '"':
            parts.append("".join(buf))
            return StringInfo(parts, regions, closes), m.end(), None
        if s == "\\":
            ch = text[m.start() + 1] if m.start() + 1 < end else ""
            if ch not in _ESCAPES:
                if ch == "":
                    return None, end, LexError("Unterminated string literal", quote, quote + 1)
                return None, end, LexError(
                    f"Unknown escape sequence '\\{describe_char(ch)}' (valid: \\n \\t \\r \\\\ \\\" \\$)",
                    m.start(), m.start() + 2)
            buf.append(_ESCAPES[ch])
            i = m.start() + 2
            continue
        # `${`: find the matching `}` (depth counting, nested strings skipped, §1.5)
        if nesting >= MAX_STRING_NESTING:
            return None, end, LexError(
                f"Expression is nested too deeply (more than {MAX_STRING_NESTING} levels of "
                "string interpolation)", m.start(), m.end())
        close = find_interpolation_end(text, m.end(), end)
        if close is None:
            return None, end, LexError("Unterminated string literal", quote, quote + 1)
        if not text[m.end():close].strip():
            return None, end, LexError("Expected an expression inside '${…}'", m.start(), close + 1)
        parts.append("".join(buf))
        buf = []
        regions.append((m.end(), close))
        closes.append(close)
        i = close + 1


def find_interpolation_end(text: str, i: int, end: int) -> int | None:
    """Offset of the `}` that closes the interpolation whose content starts at i (iterative)."""
    stack = [0]  # >= 0: brace depth of an interpolation; -1: inside a nested string
    while True:
        if stack[-1] >= 0:
            m = _INTERP_STOP.search(text, i, end)
            if m is None:
                return None
            c = m.group()
            i = m.end()
            if c == '"':
                stack.append(-1)
            elif c == "{":
                stack[-1] += 1
            elif stack[-1] > 0:
                stack[-1] -= 1
            else:
                stack.pop()
                if not stack:
                    return m.start()
        else:
            m = _STRING_STOP.search(text, i, end)
            if m is None:
                return None
            c = m.group()
            i = m.end()
            if c == "\\":
                i = m.start() + 2
            elif c == '"':
                stack.pop()
            else:
                stack.append(0)


# ---------------------------------------------------------------------------------------------
# Declaration splitting (§2.6): the unit of recovery and of incremental parsing.

_DECL_START = re.compile(
    r"^[ \t\r]*(?:@|(?:type|in|out|use)" + _KW_END + r"(?![ \t\r\n]*[:,\]}])"
    r"|(?!(?:" + "|".join(sorted(RESERVED)) + r")" + _KW_END + r")" + _IDENT
    + r"[ \t\r\n]*=(?![=>]))",
    re.M,
)
_CODE_STOP = re.compile(r"#[^\n]*|\"(?:[^\"\\$]|\\[\s\S]|\$(?!\{))*\"|\"")


def declaration_starts(text: str) -> list[int]:
    """Offsets of the lines that start a declaration, string contents excluded; always 0 first."""
    starts = [0]
    for c in iter_declaration_starts(text, 0):
        if c > 0:
            starts.append(c)
    return starts


def iter_declaration_starts(text: str, pos: int):
    """Declaration starts at or after `pos`, which must be a line start outside any string.

    Lazy, so that an incremental re-split can stop once it is back in step with the previous
    split. A candidate line inside a (multi-line) string is skipped; after an unterminated
    string, the next candidate is taken (lexing resumes there, §1.5).
    """
    n = len(text)
    spos = pos  # the string scanner is in code mode at spos
    search = _CODE_STOP.search
    sm = search(text, spos)  # the next comment or string at or after spos (kept: no rescans)
    for m in _DECL_START.finditer(text, pos):
        c = m.start()
        if c < spos:
            continue  # inside a string consumed earlier
        while True:
            if sm is not None and sm.start() < spos:
                sm = search(text, spos)
            if sm is None or sm.start() >= c:
                spos = c
                break
            s = sm.group()
            if s[0] == "#" or len(s) > 1:  # a comment or a complete plain string
                spos = sm.end()
                continue
            info, send, err = scan_string(text, sm.start(), n)
            if err is not None and err.message == "Unterminated string literal":
                spos = c  # resume lexing at this first later declaration start
                break
            if err is not None:
                send = _string_end_ignoring_errors(text, sm.start(), n)
            spos = send
        if spos > c:
            continue
        yield c


def _string_end_ignoring_errors(text: str, quote: int, end: int) -> int:
    """End of a string that has a bad escape or interpolation (for splitting only)."""
    i = quote + 1
    while True:
        m = _STRING_STOP.search(text, i, end)
        if m is None:
            return end
        if m.group() == '"':
            return m.end()
        if m.group() == "\\":
            i = m.start() + 2
            continue
        close = find_interpolation_end(text, m.end(), end)
        if close is None:
            return end
        i = close + 1


# ---------------------------------------------------------------------------------------------
# Semantic tokens for editors.

@dataclass(frozen=True, slots=True)
class LexToken:
    kind: str  # keyword name type string number duration comment operator punctuation annotation option
    start: int
    end: int


_PUNCT = frozenset({"COLON", "COMMA", "OPT_COMMA", "DOT", "LPAR", "LAMBDA_LPAR", "RPAR", "LSQB",
                    "RSQB", "LBRACE", "RBRACE"})
_OPTION_SET = frozenset(OPTION_KEYS)
_KEYWORD_TERMS = frozenset(_KEYWORD_TYPES.values())


def tokenize(text: str) -> list[LexToken]:
    """Classified tokens of the whole text, never raising (bad characters are skipped)."""
    try:
        with collector_paused():
            out: list[LexToken] = []
            _tokenize_into(text, 0, len(text), out, False, 0)
            out.sort(key=lambda t: t.start)
            return out
    except Exception:  # noqa: BLE001 - editors must get tokens even for text we cannot lex
        return []


def _tokenize_into(text: str, start: int, end: int, out: list[LexToken], interp: bool,
                   nesting: int) -> None:
    pos = start
    while pos < end:
        lexed = lex(text, pos, end, interp=interp, nesting=nesting)
        _classify(text, lexed, out, nesting)
        for c in lexed.comments:
            out.append(LexToken("comment", *c))
        if lexed.error is None:
            return
        pos = max(lexed.error.end, lexed.error.start + 1)
        if lexed.error.message == "Unterminated string literal":
            out.append(LexToken("string", lexed.error.start, _line_end(text, lexed.error.start, end)))
            pos = _line_end(text, lexed.error.start, end)


def _line_end(text: str, pos: int, end: int) -> int:
    nl = text.find("\n", pos, end)
    return end if nl < 0 else nl


_DECL_KEYWORDS = frozenset({"IN", "OUT", "TYPE", "USE", "AT"})


def _classify(text: str, lexed: Lexed, out: list[LexToken], nesting: int) -> None:
    toks = lexed.tokens
    n = len(toks)
    # type context: from `in x:`, `type T =` or a lambda parameter's `:` to the next
    # declaration (a declaration keyword that is not a field name, or `name =`)
    type_ctx = False
    for i, t in enumerate(toks):
        tt = t.type
        prev = toks[i - 1].type if i else None
        nxt = toks[i + 1].type if i + 1 < n else None
        if type_ctx and ((tt in _DECL_KEYWORDS and nxt != "COLON") or
                         (tt == "IDENT" and nxt == "EQ")):
            type_ctx = False
        kind = "operator"
        if tt == "IDENT":
            if prev == "AT":
                kind = "annotation"
            elif t.value in _OPTION_SET and nxt == "COLON" and prev in ("WITH", "OPT_COMMA"):
                kind = "option"
            elif (type_ctx and nxt != "COLON") or prev == "IS" or t.value in BUILTIN_TYPES:
                kind = "type"
            else:
                kind = "name"
        elif tt in ("INT", "FLOAT"):
            kind = "number"
        elif tt in ("SUFFIXED", "RATE"):
            kind = "duration"
        elif tt == "STRING":
            _classify_string(text, t, lexed.strings.get(t.start_pos), out, nesting)
            continue
        elif tt == "AT":
            kind = "annotation"
        elif tt == "LAZY" and prev in ("WITH", "OPT_COMMA"):
            kind = "option"
        elif tt in _KEYWORD_TERMS:
            kind = "keyword"
        elif tt in _PUNCT:
            kind = "punctuation"
        out.append(LexToken(kind, t.start_pos, t.end_pos))
        if tt == "COLON" and i >= 2 and toks[i - 2].type == "IN":
            type_ctx = True
        elif tt == "EQ" and i >= 2 and toks[i - 2].type == "TYPE":
            type_ctx = True


def _starts_line(text: str, pos: int) -> bool:
    return text[text.rfind("\n", 0, pos) + 1:pos].strip() == ""


def _classify_string(text: str, tok: Tok, info: StringInfo | None, out: list[LexToken],
                     nesting: int) -> None:
    if info is None or not info.regions:
        out.append(LexToken("string", tok.start_pos, tok.end_pos))
        return
    pos = tok.start_pos
    for (rs, re_), close in zip(info.regions, info.closes):
        out.append(LexToken("string", pos, rs))  # literal part including `${`
        _tokenize_into(text, rs, re_, out, True, nesting + 1)
        pos = close
    out.append(LexToken("string", pos, tok.end_pos))
