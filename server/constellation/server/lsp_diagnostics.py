"""A compiler Diagnostic as an LSP Diagnostic (published by diagnostics, matched by code
actions)."""

from __future__ import annotations

from lsprotocol import types as lsp

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the compiler is imported with the first document (cold start)
    from constellation.compiler.diagnostics import Diagnostic

SOURCE = "constellation"
TAGS = {"unnecessary": lsp.DiagnosticTag.Unnecessary, "deprecated": lsp.DiagnosticTag.Deprecated}
# Warnings about text that has no effect are drawn faded (in addition to the compiler's tags).
UNNECESSARY_CODES = {"W001", "W003", "W004", "W005", "W006"}
UNUSED = "unused"


def to_lsp(d: Diagnostic, uri: str, pos) -> lsp.Diagnostic:
    related = [lsp.DiagnosticRelatedInformation(
        location=lsp.Location(uri=uri, range=pos.range(r.span)), message=r.message)
        for r in d.related]
    return lsp.Diagnostic(
        range=pos.range(d.span),
        message=d.message,
        severity=lsp.DiagnosticSeverity.Warning if d.severity == "warning" else lsp.DiagnosticSeverity.Error,
        code=d.code,
        source=SOURCE,
        related_information=related or None,
        tags=_tags(d) or None,
    )


def _tags(d: Diagnostic) -> list[lsp.DiagnosticTag]:
    tags = {TAGS[t] for t in d.tags if t in TAGS}
    if d.code in UNNECESSARY_CODES:
        tags.add(lsp.DiagnosticTag.Unnecessary)
    return sorted(tags)
