"""Cursor context from the text before the cursor: what kind of completion or signature help
applies. Works on broken, half-typed code, where the AST has no node for what is being typed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from constellation.compiler.lexer import comment_spans, end_context
from constellation.compiler.registry import Function, Registry

IDENT = r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*"
DECL_START = re.compile(rf"^\s*(?:in\b|out\b|type\b|use\b|@|{IDENT}\s*=(?!=))")
DOTTED_BEFORE = re.compile(rf"({IDENT}(?:\.{IDENT})*)\.([A-Za-z0-9_-]*)$")
WORD_BEFORE = re.compile(r"[A-Za-z0-9_-]*$")
OPTION_VALUE = re.compile(r"(?:^|,)\s*([a-z_]+)\s*:\s*([A-Za-z0-9_./\"()]*)$")
OPTION_KEY = re.compile(r"(?:^|,)\s*([a-z_]*)$")
TYPE_POSITION = re.compile(
    rf"(?:\bin\s+{IDENT}\s*:|\btype\s+{IDENT}\s*=|\bis\s|[(,]\s*{IDENT}\s*:)[^=\n]*\Z")
# a type continued on another line of an `in` or `type` declaration (`| String`, `List<`)
TYPE_CONTINUED = re.compile(r"^\s*(?:in|type)\b[\s\S]*[<|+]\s*[A-Za-z_]*\Z")


@dataclass
class Context:
    kind: str  # "annotation" | "use" | "dotted" | "option-key" | "option-value" | "type" | "general"
    #           | "output" (after `out`) | "none" (in a comment or a string's text)
    word: str = ""  # the partial word being typed
    head: str = ""  # dotted: what precedes the last '.'; option-value: the key; general: the
    #                 binding being defined
    used_keys: tuple[str, ...] = ()


def statement_prefix(text: str, offset: int) -> str:
    """Text from the start of the current declaration (best effort) up to the cursor."""
    line_start = text.rfind("\n", 0, offset) + 1
    start = line_start
    for _ in range(20):  # a declaration rarely spans more lines; bound the walk
        if DECL_START.match(text[start:text.find("\n", start) if text.find("\n", start) >= 0 else len(text)]):
            break
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    return text[start:offset]


def strip_comments(text: str) -> str:
    """`text` without its comments (the lexer's rules: `#` in a string is not one)."""
    out, pos = [], 0
    for start, end in comment_spans(text):
        out.append(text[pos:start])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def completion_context(text: str, offset: int) -> Context:
    line = text[text.rfind("\n", 0, offset) + 1:offset]
    raw = statement_prefix(text, offset)
    if end_context(raw) != "code":  # in a comment, or in a string's text (not in its ${…})
        return Context("none")
    word = WORD_BEFORE.search(line).group(0)
    before_word = line[: len(line) - len(word)]
    if before_word.endswith("@"):
        return Context("annotation", word)
    if re.match(r"^\s*use\s+[A-Za-z0-9_.-]*$", line):
        return Context("use", line.split()[-1] if len(line.split()) > 1 else "")
    dotted = DOTTED_BEFORE.search(line)
    if dotted:
        return Context("dotted", dotted.group(2), dotted.group(1))
    stmt = strip_comments(raw)
    option = option_context(stmt)
    if option is not None:
        return option
    if TYPE_POSITION.search(stmt) or TYPE_CONTINUED.match(stmt):
        return Context("type", word)
    if re.match(r"^\s*out\s+[A-Za-z0-9_-]*$", line):
        return Context("output", word)
    # head: the name being defined, which its own right-hand side cannot read (a cycle)
    defined = re.match(rf"\s*({IDENT})\s*=(?!=)", stmt)
    return Context("general", word, defined.group(1) if defined else "")


def option_context(stmt: str) -> Context | None:
    match = None
    for match in re.finditer(r"\bwith\b", stmt):
        pass
    if match is None:
        return None
    tail = stmt[match.end():]
    if _depth(tail) != 0:
        return None  # inside a fallback expression's call or a bracket
    used = tuple(re.findall(r"(?:^|,)\s*([a-z_]+)\b", tail))
    value = OPTION_VALUE.search(tail)
    if value:
        return Context("option-value", value.group(2), value.group(1), used)
    key = OPTION_KEY.search(tail)
    if key:
        return Context("option-key", key.group(1), "", used[:-1] if used and used[-1] == key.group(1) else used)
    return None


def _depth(text: str) -> int:
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
    return depth


@dataclass
class CallContext:
    name: str  # the function name as written (possibly dotted)
    active: int  # index of the argument under the cursor
    open_offset: int


def call_context(text: str, offset: int) -> CallContext | None:
    """The innermost unclosed call around the cursor: `F(a, b|` -> ("F", 1)."""
    depth = 0
    commas = 0
    i = offset - 1
    limit = max(0, offset - 4000)
    in_string = False
    while i >= limit:
        ch = text[i]
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            in_string = not in_string
        elif in_string:
            pass
        elif ch in ")]}":
            depth += 1
        elif ch in "[{":
            if depth == 0:
                return None  # inside a list or record literal, not directly in a call
            depth -= 1
        elif ch == "(":
            if depth == 0:
                m = re.search(rf"({IDENT}(?:\.{IDENT})*)$", text[max(0, i - 200):i])
                return CallContext(m.group(1), commas, i) if m else None
            depth -= 1
        elif ch == "," and depth == 0:
            commas += 1
        i -= 1
    return None


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
