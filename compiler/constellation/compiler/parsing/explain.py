"""The error explainer: turns the first LALR error of a chunk into a sentence of §2.5 (never
terminal names), with the bookkeeping of brackets, `with` and `match` that it reads, and the
option-key rules of §2.3 rule 4."""

from __future__ import annotations

from constellation.compiler.ast import Span
from constellation.compiler.diagnostics import Fix, Related, TextEdit
from constellation.compiler.lexer import OPTION_KEYS, RESERVED, Tok
from constellation.compiler.parsing.context import _Context, _Stop
from constellation.compiler.suggest import suggest


_OPENERS = {"LPAR": "RPAR", "LAMBDA_LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}


_CLOSERS = {"RPAR", "RSQB", "RBRACE"}


_CLOSE_TEXT = {"RPAR": ")", "RSQB": "]", "RBRACE": "}"}


_CMP = {"EQEQ", "NE", "LT", "GT", "LE", "GE"}


_KEYWORDS = {w.upper() for w in RESERVED}


_NAMEISH = _KEYWORDS | {"IDENT"}


_EXPR_START = "INT"  # in every state that accepts an expression


_VALID_OPTIONS = ", ".join(OPTION_KEYS)


_OPERANDS = {"IDENT", "RPAR", "RSQB", "RBRACE", "INT", "FLOAT", "STRING", "TRUE", "FALSE",
             "SUFFIXED"}


_DECL_MSG = ("Expected a declaration (type, in, out, use, an annotation, or name = expression), "
             "found {found}")


class _Frame:
    __slots__ = ("kind", "tok", "with_active", "saw_otherwise")

    def __init__(self, kind: str, tok: Tok | None):
        self.kind = kind
        self.tok = tok
        self.with_active = False
        self.saw_otherwise = False


def _describe(tok: Tok | None) -> str:
    if tok is None or tok.type == "$END":
        return "end of file"
    if tok.type == "STRING":
        return "a string"
    text = tok.value if len(tok.value) <= 30 else tok.value[:27] + "…"
    return f"'{text}'"


def _after_feed(tok: Tok, tt: str, prev, tokens: list[Tok], i: int, frames: list,
                matches: list) -> None:
    """Bookkeeping for the messages and the option/match rules."""
    if tt in _OPENERS:
        frames.append(_Frame(_frame_kind(tt, prev, tokens, i), tok))
        if tt == "LBRACE" and matches and matches[-1][0] == len(frames) - 1:
            matches.pop()
            frames[-1].kind = "match"
    elif tt in _CLOSERS:
        if len(frames) > 1:
            frames.pop()
    elif tt == "WITH":
        frames[-1].with_active = True
    elif tt == "MATCH":
        matches.append((len(frames), tokens[i + 1].start_pos if i + 1 < len(tokens) else tok.end_pos))
    elif tt == "OTHERWISE":
        frames[-1].saw_otherwise = True


def _frame_kind(tt: str, prev: Tok | None, tokens: list[Tok], i: int) -> str:
    p = prev.type if prev else None
    if tt == "LAMBDA_LPAR":
        return "lambda"
    if tt == "LPAR":
        if p == "IF":
            return "if"
        if p == "IDENT" and i >= 2 and tokens[i - 2].type == "AT":
            return "annotation"
        if p in ("IDENT",) or (p in _KEYWORDS and i >= 2 and tokens[i - 2].type == "DOT"):
            return "call"
        return "paren"
    if tt == "LSQB":
        return "projection" if p in _OPERANDS else "list"
    if p == "BRANCH":
        return "branch"
    return "brace_projection" if p in _OPERANDS else "record"


def _retype_option_key(ctx: _Context, tokens: list[Tok], j: int) -> None:
    """After `with` or a continuing comma the next name is an option key (§2.3 rule 4)."""
    if j >= len(tokens):
        return
    t = tokens[j]
    if t.type == "IDENT":
        if t.value == "fallback":
            t.type = "FALLBACK_KEY"
        elif t.value in OPTION_KEYS:
            t.type = "OPT_KEY"
        else:
            _unknown_option(ctx, t)


def _check_misspelt_option(ctx: _Context, tokens: list[Tok], j: int, frame: _Frame) -> None:
    """`F(x) with retry: 1, retri: 2`: a `name:` after a comma that follows an option, outside
    records and annotations, is a misspelt option (§2.3 rule 4)."""
    if frame.kind in ("record", "annotation", "brace_projection", "match", "branch"):
        return
    if j + 1 < len(tokens) and tokens[j].type in _NAMEISH and tokens[j + 1].type == "COLON":
        _unknown_option(ctx, tokens[j])


def _unknown_option(ctx: _Context, t: Tok) -> None:
    """E020 with the catalogue's message; the editor offers the closest option keys."""
    span = Span(t.start_pos, t.end_pos)
    fixes = tuple(Fix(f"Change to '{key}'", (TextEdit(span, key),))
                  for key in suggest(t.value, OPTION_KEYS))
    ctx.error(f"Unknown option '{t.value}' (valid options: {_VALID_OPTIONS})", span,
              fixes=fixes)
    raise _Stop


_WHEN_STOPS = {"QQ", "COMMA", "OPT_COMMA", "EQ", "ARROW", "FATARROW", "ELSE", "COLON", "WITH"}


_CMP_STOPS = _WHEN_STOPS | {"AND", "OR", "NOT", "WHEN"}


def _same_level_before(tokens: list[Tok], i: int):
    """Types of the tokens before tokens[i] at its bracket level, nearest first (at most 400
    back), up to the bracket that encloses it."""
    depth = 0
    for j in range(i - 1, max(-1, i - 400), -1):
        t = tokens[j].type
        if t in _CLOSERS:
            depth += 1
        elif t in _OPENERS:
            if depth == 0:
                return
            depth -= 1
        elif depth == 0:
            yield t


def _earlier_in_operand(tokens: list[Tok], i: int, targets: set, stops: set) -> bool:
    """Is there a `targets` token before tokens[i] in the same operand (same bracket level,
    no looser operator in between)? Used to explain chained comparisons and guards."""
    for t in _same_level_before(tokens, i):
        if t in targets:
            return True
        if t in stops:
            return False
    return False


def _after_group(tokens: list[Tok], dot: int) -> bool:
    """Is the '.' at tokens[dot] applied to a bracketed expression, like `(e).f`?"""
    j = dot - 1
    while j >= 1 and tokens[j].type in _NAMEISH and tokens[j - 1].type == "DOT":
        j -= 2
    return j >= 0 and tokens[j].type in ("RPAR", "RSQB", "RBRACE")


def _at_line_start(text: str, pos: int) -> bool:
    return text[text.rfind("\n", 0, pos) + 1:pos].strip() == ""


def _unmatched_if(tokens: list[Tok], i: int) -> bool:
    """Is the error inside an `if` whose `else` has not come yet?"""
    pending_else = 0
    for t in _same_level_before(tokens, i):
        if t == "ELSE":
            pending_else += 1
        elif t == "IF":
            if pending_else == 0:
                return True
            pending_else -= 1
        elif t == "EQ":
            return False
    return False


_UNCLOSED = {
    "call": "Expected ',' or ')' after the argument",
    "annotation": "Expected ',' or ')' after the argument",
    "lambda": "Expected ',' or ')' after the parameter",
    "if": "Expected ')' after the condition",
    "paren": "Expected ')' after the expression",
    "list": "Expected ',' or ']' after the element",
    "projection": "Expected ',' or ']' after the field name",
    "record": "Expected ',' or '}' after the field",
    "brace_projection": "Expected ',' or '}' after the field name",
    "match": "Expected ',' or '}' after the case",
}


_OPENER_TEXT = {"RPAR": "(", "RSQB": "[", "RBRACE": "{"}


def _explain(ctx: _Context, expected: set, tok: Tok, prev: Tok | None, frames: list[_Frame],
             matches: list, tokens: list[Tok], i: int) -> None:
    """Turn an LALR error into the sentences of §2.5 (never terminal names)."""
    tt = tok.type
    found = _describe(tok)
    span = Span(tok.start_pos, tok.end_pos)
    pt = prev.type if prev else None
    top = frames[-1]
    after = _describe(prev) if prev is not None else "the start"
    at_end = tt == "$END" or _at_line_start(ctx.text, tok.start_pos)

    def err(message, s=span, **kw):
        ctx.error(message, s, **kw)

    if tt in _CLOSERS and pt in ("COMMA", "OPT_COMMA"):
        return err("Trailing comma is not allowed", Span(prev.start_pos, prev.end_pos))
    if pt == "WITH":
        return err(f"Expected an option after 'with', found {found}")
    if tt in ("COMMA", "OPT_COMMA") and (i + 1 >= len(tokens) or tokens[i + 1].type in _CLOSERS):
        return err("Trailing comma is not allowed")
    if tt in _CMP and _earlier_in_operand(tokens, i, _CMP, _CMP_STOPS):
        return err("Comparison operators cannot be chained; combine them with 'and'")
    if tt == "WHEN" and _earlier_in_operand(tokens, i, {"WHEN"}, _WHEN_STOPS):
        return err("A guarded expression cannot be guarded again; combine the conditions with 'and'")
    if tt == "EQ" and pt in _KEYWORDS and (i < 2 or _at_line_start(ctx.text, prev.start_pos)):
        return err(f"'{prev.value}' is a reserved word and cannot be used as a name",
                   Span(prev.start_pos, prev.end_pos))
    if tt in _KEYWORDS and "IDENT" in expected and _EXPR_START not in expected \
            and "AT" not in expected and not at_end:
        return err(f"'{tok.value}' is a reserved word and cannot be used as a name")
    if tt == "FATARROW":
        return err("A lambda cannot be the operand of an operator; pass it to a function such as "
                   "filter, map, all or any")
    if matches and matches[-1][0] == len(frames) and tt == "LBRACE":
        subject = ctx.text[matches[-1][1]:tok.start_pos].strip()
        return err(f"Wrap the subject in parentheses: match ({subject}) {{ … }}")
    if top.kind == "branch":
        if tt == "COMMA" and top.saw_otherwise:
            return err("'otherwise' must be the last arm of 'branch'")
        if tt == "RBRACE" or (at_end and not top.saw_otherwise):
            return err("A 'branch' must end with 'otherwise -> value'")
    if pt == "IF":
        return err(f"Expected '(' after 'if', found {found} (write: if (condition) a else b)")
    if pt == "IDENT" and len(tokens) > 1 and i >= 2 and tokens[i - 2].type == "OUT":
        return err(f"'out' takes a single name, found {found}")
    closer = {"call": "RPAR", "annotation": "RPAR", "lambda": "RPAR", "if": "RPAR",
              "paren": "RPAR", "list": "RSQB", "projection": "RSQB", "record": "RBRACE",
              "brace_projection": "RBRACE", "match": "RBRACE"}.get(top.kind)
    if tt == "LPAR" and (pt in ("RPAR", "RSQB", "RBRACE") or (
            pt in _NAMEISH and i >= 2 and tokens[i - 2].type == "DOT" and
            _after_group(tokens, i - 2))):
        return err(f"Only a function name can be called (there are no methods), found {found}")
    if top.kind in ("projection", "brace_projection") and pt in ("LSQB", "LBRACE", "COMMA"):
        return err(f"Expected a field name after '{prev.value}', found {found}")
    if top.kind == "match" and "IS" in expected:
        return err("Expected a case ('{ fields } -> value', 'is Type -> value' or '_ -> value') "
                   f"after {after}, found {found}")
    if top.kind == "branch" and tt != "COMMA":
        return err(f"Expected ',' after the 'branch' arm, found {found}")
    if closer and (closer in expected or "AT" in expected) and (at_end or _EXPR_START not in expected):
        open_tok = top.tok
        c = _CLOSE_TEXT[closer]
        if pt is not None and open_tok is not None and prev is open_tok:
            message = f"Expected an expression or '{c}' after '{open_tok.value}', found {found}"
        else:
            message = f"{_UNCLOSED[top.kind]}, found {found}"
        related = (Related(Span(open_tok.start_pos, open_tok.end_pos),
                           f"'{_OPENER_TEXT[closer]}' opened here"),) if open_tok else ()
        fixes = ()
        if prev is not None:
            fixes = (Fix(f"Insert '{c}'", (TextEdit(Span(prev.end_pos, prev.end_pos), c),)),)
        return err(message, related=related, fixes=fixes)
    if pt == "COLON" and "LBRACE" in expected and "IDENT" in expected and _EXPR_START not in expected:
        return err(f"Expected a type after ':', found {found}")
    if pt in ("EQ", "LT", "BAR", "PLUS", "COMMA") and "LBRACE" in expected and "IDENT" in expected \
            and _EXPR_START not in expected and "LAMBDA_LPAR" not in expected:
        return err(f"Expected a type after {after}, found {found}")
    if _EXPR_START in expected:
        return err(f"Expected an expression after {after}, found {found}")
    if "ELSE" in expected and _unmatched_if(tokens, i):
        return err(f"Expected 'else' after the 'if' branch, found {found}")
    if pt == "DOT":
        return err(f"Expected a field name after '.', found {found}")
    if "AT" in expected and "TYPE" in expected:
        return err(_DECL_MSG.format(found=found))
    words = _expected_words(expected)
    if words:
        return err(f"Expected {words} after {after}, found {found}")
    return err(f"Unexpected {found}")


_TERM_WORDS = {
    "IDENT": "a name", "EQ": "'='", "COLON": "':'", "COMMA": "','", "RPAR": "')'", "LPAR": "'('",
    "RSQB": "']'", "RBRACE": "'}'", "LBRACE": "'{'", "ARROW": "'->'", "FATARROW": "'=>'",
    "GT": "'>'", "STRING": "a string", "AS": "'as'", "DOT": "'.'", "LSQB": "'['",
    "OPT_KEY": "an option", "$END": None,
}


def _expected_words(expected: set) -> str:
    if "IDENT" in expected:  # a field name may also be a keyword: say "a name" once
        expected = {t for t in expected if t not in _KEYWORDS and t not in
                    ("OPT_KEY", "FALLBACK_KEY")}
    words = []
    for t in sorted(expected):
        w = _TERM_WORDS.get(t, "")
        if w is None:
            continue
        if not w:
            return ""
        words.append(w)
    if not words or len(words) > 3:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
