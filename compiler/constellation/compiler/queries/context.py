"""The cursor's context, from the lexer's tokens of the declaration being typed: what kind of
completion or signature help applies. Works on broken, half-typed code, where the AST has no
node for what is being typed.

The text before the cursor is lexed as if a name were typed at the cursor (`PLACEHOLDER`): a
trailing `.` or `@` then lexes as the lexer lexes it before a name, and the name's token is the
word being typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler.lexer import end_context, tokenize
from constellation.compiler.queries import reading
from constellation.compiler.registry import Function, Registry
from constellation.compiler.source import LINE_BREAK

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis

PLACEHOLDER = "_"
_WORD_KINDS = frozenset({"name", "keyword", "type", "option", "annotation", "number", "duration"})
_OPENS, _CLOSES = frozenset("([{"), frozenset(")]}")


@dataclass(frozen=True)
class Context:
    kind: str  # "annotation" | "use" | "dotted" | "option-key" | "option-value" | "type" | "general"
    #           | "output" (after `out`) | "none" (in a comment or a string's text)
    word: str = ""  # the partial word being typed
    head: str = ""  # dotted: what precedes the last '.'; option-value: the key; general: the
    #                 binding being defined
    used_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # the lexer's kind (lexer.LexToken)
    text: str
    start: int  # offsets in the code before the cursor
    end: int

    @property
    def is_word(self) -> bool:
        return self.kind in _WORD_KINDS and (self.text[:1].isalnum() or self.text[:1] == "_")


@dataclass(frozen=True)
class Typed:
    """The code of the declaration at the cursor, up to the cursor, as tokens: `before` the
    word being typed, and that `word` ("" right after a space or a `.`)."""

    code: str
    before: list[Token]
    word: str

    def gap(self, a: int, b: int) -> str:
        return self.code[a:b]

    def broken_after(self, at: int) -> bool:
        """Is there a line break between `at` and the cursor?"""
        return LINE_BREAK.search(self.code, at, len(self.code) - len(PLACEHOLDER)) is not None


def typed_at(analysis: Analysis, offset: int) -> Typed | None:
    """What is typed before `offset` in its declaration; None in a comment or a string's text."""
    decl = reading.declaration_at(analysis, offset)
    start = reading.span_of(analysis, decl).start if decl is not None else 0
    prefix = analysis.text[start:offset]
    if end_context(prefix) != "code":  # in a comment, or in a string's text (not in its ${…})
        return None
    return _lexed(prefix)


def _lexed(prefix: str) -> Typed:
    code = prefix + PLACEHOLDER
    toks = [Token(t.kind, code[t.start:t.end], t.start, t.end) for t in tokenize(code)]
    last = toks[-1] if toks else None
    if last is not None and last.kind == "string" and last.end >= len(prefix):
        # the code of a `${…}` of the string (end_context found the cursor in code there)
        return _lexed(prefix[prefix.rfind("${", last.start) + 2:])
    word = ""
    if last is not None and last.end == len(code):
        toks.pop()
        word = last.text[:-len(PLACEHOLDER)] if last.is_word else ""
    return Typed(code, toks[_statement_start(code, toks):], word)


_STARTERS = frozenset({"in", "out", "type", "use"})


def _statement_start(code: str, toks: list[Token]) -> int:
    """The index of the last token that starts a declaration at the start of an editor's line
    (`in`, `out`, `type`, `use`, `@` or `name =`). The language ends lines at `\\n` only and
    splits declarations there (§2.6); the editor's lines also end at a lone `\\r`, and a
    half-typed declaration must not swallow the ones typed on the lines after it."""
    start = 0
    for k, t in enumerate(toks):
        if k and LINE_BREAK.search(code, toks[k - 1].end, t.start) is None:
            continue
        nxt = toks[k + 1].text if k + 1 < len(toks) else ""
        if (t.kind == "keyword" and t.text in _STARTERS and nxt not in (":", ",", "]", "}")) \
                or t.text == "@" or (t.kind == "name" and nxt == "="):
            start = k
    return start


def completion_context(analysis: Analysis, offset: int) -> Context:
    typed = typed_at(analysis, offset)
    if typed is None:
        return Context("none")
    before, word = typed.before, typed.word
    if before and before[-1].text == "@":
        return Context("annotation", word)
    found = (_use_context(typed) or _dotted_context(typed) or _option_context(typed)
             or _type_context(typed) or _output_context(typed))
    if found is not None:
        return found
    # head: the name being defined, which its own right-hand side cannot read (a cycle)
    defined = len(before) >= 2 and before[0].kind == "name" and before[1].text == "="
    return Context("general", word, before[0].text if defined else "")


def _use_context(typed: Typed) -> Context | None:
    before = typed.before
    if not before or before[0].kind != "keyword" or before[0].text != "use" \
            or typed.broken_after(before[0].end):
        return None
    path = before[1:]
    if any(not (t.is_word or t.text == ".") for t in path):
        return None
    typed_path = typed.code[path[0].start:-len(PLACEHOLDER)] if path else typed.word
    return Context("use", typed_path)


def _dotted_context(typed: Typed) -> Context | None:
    """`a.b.` or `a.b.c`: the record fields or namespace members after the last dot."""
    before = typed.before
    if len(before) < 2 or before[-1].text != "." \
            or before[-1].end != len(typed.code) - len(PLACEHOLDER) - len(typed.word):
        return None
    k = len(before) - 1  # the dot
    parts: list[str] = []
    while k >= 1 and before[k].text == "." and before[k - 1].is_word \
            and before[k - 1].end == before[k].start:
        parts.append(before[k - 1].text)
        if k < 2 or before[k - 2].text != "." or before[k - 2].end != before[k - 1].start:
            break
        k -= 2
    if not parts:
        return None
    return Context("dotted", typed.word, ".".join(reversed(parts)))


def _option_context(typed: Typed) -> Context | None:
    """After `with`: an option key, or the value of the key before the last `:`."""
    before = typed.before
    at = next((i for i in range(len(before) - 1, -1, -1)
               if before[i].kind == "keyword" and before[i].text == "with"), None)
    if at is None:
        return None
    segments: list[list[Token]] = [[]]
    depth = 0
    for t in before[at + 1:]:
        if t.text in _OPENS:
            depth += 1
        elif t.text in _CLOSES:
            depth -= 1
        if t.text == "," and depth == 0:
            segments.append([])
        else:
            segments[-1].append(t)
    if depth != 0:
        return None  # inside a fallback expression's call or a bracket
    used = tuple(s[0].text for s in segments if s and s[0].is_word)
    last = segments[-1]
    if not last:
        return Context("option-key", typed.word, "", used)
    if len(last) >= 2 and last[0].is_word and last[1].text == ":":
        value = typed.code[last[1].end:-len(PLACEHOLDER)].lstrip()
        if not any(ch.isspace() for ch in value):
            return Context("option-value", value, last[0].text, used)
    return None


def _type_context(typed: Typed) -> Context | None:
    """After `in x:`, `type T =`, `is`, a lambda parameter's `:` (on the same line, before any
    `=`), or where an `in` or `type` declaration's type goes on after `<`, `|` or `+`."""
    before = typed.before
    opener_end = None
    brackets: list[str] = []
    for j, t in enumerate(before):
        nxt = before[j + 1] if j + 1 < len(before) else None
        third = before[j + 2] if j + 2 < len(before) else None
        named = nxt is not None and nxt.is_word and third is not None
        if t.kind == "keyword" and t.text == "in" and named and third.text == ":":
            opener_end = j + 2
        elif t.kind == "keyword" and t.text == "type" and named and third.text == "=":
            opener_end = j + 2
        elif t.kind == "keyword" and t.text == "is":
            opener_end = j
        elif (t.text == "(" or (t.text == "," and brackets[-1:] == ["("])) and named \
                and third.text == ":":
            opener_end = j + 2
        if t.text in _OPENS:
            brackets.append(t.text)
        elif t.text in _CLOSES and brackets:
            brackets.pop()
    if opener_end is not None and not typed.broken_after(before[opener_end].end) \
            and not any("=" in t.text for t in before[opener_end + 1:]):
        return Context("type", typed.word)
    if before and before[0].kind == "keyword" and before[0].text in ("in", "type") \
            and before[-1].text in ("<", "|", "+"):
        return Context("type", typed.word)
    return None


def _output_context(typed: Typed) -> Context | None:
    before = typed.before
    if len(before) == 1 and before[0].kind == "keyword" and before[0].text == "out" \
            and not typed.broken_after(before[0].end):
        return Context("output", typed.word)
    return None


@dataclass(frozen=True)
class CallContext:
    name: str  # the function name as written (possibly dotted)
    active: int  # index of the argument under the cursor


def call_context(analysis: Analysis, offset: int) -> CallContext | None:
    """The innermost unclosed call around the cursor: `F(a, b|` -> ("F", 1)."""
    typed = typed_at(analysis, offset)
    if typed is None:
        return None
    before = typed.before
    depth = commas = 0
    for k in range(len(before) - 1, -1, -1):
        text = before[k].text
        if text in _CLOSES:
            depth += 1
        elif text in ("[", "{"):
            if depth == 0:
                return None  # inside a list or record literal, not directly in a call
            depth -= 1
        elif text == "(":
            if depth == 0:
                name = _dotted_name_before(before, k)
                return CallContext(name, commas) if name else None
            depth -= 1
        elif text == "," and depth == 0:
            commas += 1
    return None


def _dotted_name_before(toks: list[Token], k: int) -> str:
    """`a.b.F` written just before toks[k]."""
    parts: list[str] = []
    j = k - 1
    while j >= 0 and toks[j].is_word and toks[j].end == toks[j + 1].start:
        parts.append(toks[j].text)
        if j >= 1 and toks[j - 1].text == "." and toks[j - 1].end == toks[j].start:
            j -= 2
            continue
        break
    return ".".join(reversed(parts))


def resolve_function(registry: Registry, name: str, aliases: dict[str, str],
                     wildcard: list[str]) -> Function | None:
    """Resolution of a written call name (LANGUAGE.md §7.3) for half-typed code; the checker's
    `call_targets` is used instead whenever the call parsed."""
    if "." in name:
        first, rest = name.split(".", 1)
        if first in aliases:
            return registry.lookup(f"{aliases[first]}.{rest}")
        return registry.lookup(name)
    tier1 = [f for f in registry.by_simple_name(name) if f.namespace is None or f.namespace in wildcard]
    if len(tier1) == 1:
        return tier1[0]
    if not tier1:
        every = registry.by_simple_name(name)
        if len(every) == 1:
            return every[0]
    return None
