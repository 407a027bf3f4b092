"""Quick fixes: every fix the compiler attached to a diagnostic, plus "declare the missing
input" for E001, "add the options it needs" for W001, "rename this duplicate" for E030 and
"remove unused binding". Lines are the one line index's (`Source`: `\\n`, `\\r\\n`, lone `\\r`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler import ast
from constellation.compiler.diagnostics import Diagnostic
from constellation.compiler.queries import reading
from constellation.compiler.queries.bindings import unused_bindings
from constellation.compiler.source import LINE_BREAK
from constellation.compiler.types import type_str

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*$")
QUOTED = re.compile(r"'([^']+)'")


@dataclass(frozen=True)
class Action:
    title: str
    edits: list[tuple[ast.Span, str]]
    diagnostic: Diagnostic | None = None  # the diagnostic it fixes
    preferred: bool | None = None


def actions_in(analysis: Analysis, start: int, end: int) -> list[Action]:
    """The fixes of the diagnostics that overlap start..end, and the removal of the unused
    bindings there (only once the errors are fixed, like the unused hints)."""
    actions: list[Action] = []
    for d in analysis.diagnostics:
        if d.span.end < start or d.span.start > end:
            continue
        actions += [Action(fix.title, [(e.span, e.new_text) for e in fix.edits], d, i == 0 or None)
                    for i, fix in enumerate(d.fixes)]
        extra = None
        if d.code == "E001":
            extra = declare_input(analysis, d)
        elif d.code == "W001":
            extra = add_required_options(d)
        elif d.code == "E030":
            extra = rename_duplicate(analysis, d)
        if extra is not None and all(a.title != extra.title for a in actions):
            actions.append(extra)
    if analysis.valid:
        actions += remove_unused(analysis, start, end)
    return actions


def line_break(text: str) -> str:
    """The text's own line break (its first), `\\n` for a text of one line."""
    found = LINE_BREAK.search(text)
    return found.group() if found else "\n"


def declare_input(analysis: Analysis, d: Diagnostic) -> Action | None:
    name = analysis.text[d.span.start:d.span.end]
    if not IDENT.match(name) or "is a type" in d.message:
        return None
    at = insertion_offset(analysis)
    wanted = type_str(d.expected_type) if d.expected_type is not None else "String"
    eol = line_break(analysis.text)
    line = f"in {name}: {wanted}{eol}"
    if at > 0 and analysis.text[at - 1] not in "\r\n":  # the last line has no line break
        line = eol + line
    return Action(f"Declare the missing input '{name}'", [(ast.Span(at, at), line)], d)


# values given to an option added because another one needs it (W001)
REQUIRED_DEFAULTS = {"retry": "1", "delay": "100ms", "cache": "5min"}


def add_required_options(d: Diagnostic) -> Action | None:
    """`'delay' has no effect without 'retry'` -> add `retry: 1` in front of the key."""
    _, _, missing_text = d.message.partition(" without ")
    missing = [m for m in QUOTED.findall(missing_text) if m in REQUIRED_DEFAULTS]
    if not missing:
        return None
    added = ", ".join(f"{m}: {REQUIRED_DEFAULTS[m]}" for m in missing)
    return Action(f"Add {added}", [(ast.Span(d.span.start, d.span.start), added + ", ")], d)


def rename_duplicate(analysis: Analysis, d: Diagnostic) -> Action | None:
    """`Duplicate definition of 'y'` -> rename this (later) definition to a free name."""
    name = analysis.text[d.span.start:d.span.end]
    if not IDENT.match(name) or not d.message.startswith("Duplicate definition"):
        return None
    taken = set(reading.value_symbols(analysis)) | set(reading.type_symbols(analysis)) | {
        getattr(decl, "name").text for decl in analysis.decls if getattr(decl, "name", None) is not None}
    n = 2
    while f"{name}{n}" in taken:
        n += 1
    return Action(f"Rename this definition to '{name}{n}'", [(d.span, f"{name}{n}")], d)


def insertion_offset(analysis: Analysis) -> int:
    """Start of the line after the last `in`/`use`/`type` declaration, else of the first one."""
    anchors = [decl for decl in analysis.decls if isinstance(decl, (ast.InputDecl, ast.UseDecl, ast.TypeDecl))]
    if anchors:
        return _next_line_start(analysis, reading.span_of(analysis, anchors[-1]).end)
    if analysis.decls:
        return _line_start(analysis, reading.span_of(analysis, analysis.decls[0]).start)
    return 0


def _line_start(analysis: Analysis, offset: int) -> int:
    return analysis.source.line_starts[analysis.source.line_col(offset)[0] - 1]


def _next_line_start(analysis: Analysis, offset: int) -> int:
    """The start of the line after the one `offset` is on (the end of the text on the last)."""
    starts = analysis.source.line_starts
    line = analysis.source.line_col(offset)[0]
    return starts[line] if line < len(starts) else len(analysis.text)


def remove_unused(analysis: Analysis, start: int, end: int) -> list[Action]:
    out = []
    for decl in unused_bindings(analysis):
        span = reading.span_of(analysis, decl)
        if span.end < start or span.start > end:
            continue
        out.append(Action(f"Remove unused binding '{decl.name.text}'",
                          [(whole_lines(analysis, span), "")]))
    return out


def whole_lines(analysis: Analysis, span: ast.Span) -> ast.Span:
    """The span widened to whole lines (with the last one's line break) when nothing else
    shares them; a comment after it goes with it."""
    text = analysis.text
    start = _line_start(analysis, span.start)
    last_line = analysis.source.line_col(span.end)[0]
    end = _next_line_start(analysis, span.end)
    after = text[span.end:analysis.source.line_end(last_line)]
    if text[start:span.start].strip() or after.strip().split("#")[0].strip():
        return span
    return ast.Span(start, end)
