"""Diagnostics: the one shape every error and warning takes (LANGUAGE.md §8.1)."""

from __future__ import annotations

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

    @property
    def severity(self) -> str:
        return "warning" if self.code.startswith("W") else "error"

    @property
    def is_error(self) -> bool:
        return self.code.startswith("E")


def sort_key(d: Diagnostic) -> tuple[int, str, int]:
    return (d.span.start, d.code, d.span.end)


def render_text(diags: list[Diagnostic], source: Source, path: str) -> str:
    """Terminal rendering: `path:L:C: error E002: message`, the source line, a caret underline."""
    out: list[str] = []
    for d in diags:
        line, col = source.line_col(d.span.start)
        end_line, end_col = source.line_col(d.span.end)
        out.append(f"{path}:{line}:{col}: {d.severity} {d.code}: {d.message}")
        text = source.line_text(line)
        width = (end_col - col) if end_line == line else len(text) - col + 1
        out.append(f"  {text}")
        out.append("  " + " " * (col - 1) + "^" * max(1, width))
        for rel in d.related:
            rl, rc = source.line_col(rel.span.start)
            out.append(f"  {path}:{rl}:{rc}: note: {rel.message}")
    return "\n".join(out)


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
