"""Diagnostics: the one shape every error and warning takes (LANGUAGE.md §8.1)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from constellation.compiler.ast import Span
from constellation.compiler.source import Source


@dataclass(frozen=True, slots=True)
class TextEdit:
    span: Span
    new_text: str


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True, slots=True)
class Related:
    span: Span
    message: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str  # "E002", "W001", ...
    message: str
    span: Span
    related: tuple[Related, ...] = ()
    fixes: tuple[Fix, ...] = ()
    tags: tuple[str, ...] = ()  # "unnecessary" | "deprecated" (editor rendering hints)
    # E001: the type the place of the undefined name wants, when known (the editor's
    # "Declare the missing input" declares it with that type)
    expected_type: object = None

    @property
    def severity(self) -> str:
        return "warning" if self.code.startswith("W") else "error"

    @property
    def is_error(self) -> bool:
        return self.code.startswith("E")


def fixed_positions(d: Diagnostic) -> Diagnostic:
    """`d` with plain Spans (a node's span follows its declaration when a later parse moves
    it; a diagnostic keeps the position of the text it was made for)."""
    if type(d.span) is Span and all(type(r.span) is Span for r in d.related) \
            and all(type(e.span) is Span for f in d.fixes for e in f.edits):
        return d
    return Diagnostic(
        d.code, d.message, _fixed(d.span), tuple(Related(_fixed(r.span), r.message) for r in d.related),
        tuple(Fix(f.title, tuple(TextEdit(_fixed(e.span), e.new_text) for e in f.edits))
              for f in d.fixes),
        d.tags, d.expected_type)


def shifted(d: Diagnostic, delta: int) -> Diagnostic:
    """`d` moved by `delta` (positions relative to a declaration unit or block, parsing/)."""
    if not delta:
        return d
    return Diagnostic(
        d.code, d.message, d.span.shifted(delta),
        tuple(Related(r.span.shifted(delta), r.message) for r in d.related),
        tuple(Fix(f.title, tuple(TextEdit(e.span.shifted(delta), e.new_text) for e in f.edits))
              for f in d.fixes),
        d.tags, d.expected_type)


def _fixed(span: Span) -> Span:
    return span if type(span) is Span else Span(span.start, span.end)


def sort_key(d: Diagnostic) -> tuple[int, str, int]:
    return (d.span.start, d.code, d.span.end)


def render_text(diags: list[Diagnostic], source: Source, path: str, color: bool = False) -> str:
    """Terminal rendering: `path:L:C: error E002: message`, the source line, a caret underline
    (aligned under tabs and wide characters as a terminal shows them), then related notes.
    `color`: ANSI colours (errors red, warnings yellow, notes cyan)."""
    paint = _paint if color else _plain
    out: list[str] = []
    for d in diags:
        line, col = source.line_col(d.span.start)
        end_line, end_col = source.line_col(d.span.end)
        severity = paint(d.severity, _RED if d.is_error else _YELLOW)
        out.append(paint(f"{path}:{line}:{col}:", _BOLD) + f" {severity} {paint(d.code, _BOLD)}: "
                   + paint(d.message, _BOLD))
        text = source.line_text(line)
        end = end_col - 1 if end_line == line else len(text)
        out.append(f"  {text}")
        under = _columns(text[col - 1:end]) or 1
        out.append("  " + _blank_like(text[:col - 1])
                   + paint("^" * under, _RED if d.is_error else _YELLOW))
        for rel in d.related:
            rl, rc = source.line_col(rel.span.start)
            out.append(f"  {path}:{rl}:{rc}: " + paint("note", _CYAN) + f": {rel.message}")
    return "\n".join(out)


_BOLD, _RED, _YELLOW, _CYAN = "1", "1;31", "1;33", "1;36"


def _paint(text: str, sgr: str) -> str:
    return f"\x1b[{sgr}m{text}\x1b[0m"


def _plain(text: str, sgr: str) -> str:
    return text


def _blank_like(text: str) -> str:
    """Blanks as wide as `text` on a terminal: its tabs kept, wide characters two columns."""
    if text.isascii():
        return "".join("\t" if ch == "\t" else " " for ch in text)
    return "".join("\t" if ch == "\t" else " " * _width(ch) for ch in text)


def _columns(text: str) -> int:
    return len(text) if text.isascii() else sum(_width(ch) for ch in text)


def _width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def to_json(d: Diagnostic, source: Source) -> dict:
    line, col = source.line_col(d.span.start)
    end_line, end_col = source.line_col(d.span.end)
    data: dict = {
        "code": d.code, "severity": d.severity, "message": d.message,
        "line": line, "column": col, "end_line": end_line, "end_column": end_col,
    }
    if d.related:
        data["related"] = [
            dict(zip(("line", "column"), source.line_col(r.span.start)), message=r.message)
            for r in d.related
        ]
    if d.fixes:
        data["fixes"] = [f.title for f in d.fixes]
    return data


@dataclass
class DiagnosticBag:
    """Collects diagnostics during one analysis."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, code: str, message: str, span: Span, *, related=(), fixes=(), tags=()) -> None:
        self.items.append(Diagnostic(code, message, span, tuple(related), tuple(fixes), tuple(tags)))

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=sort_key)
