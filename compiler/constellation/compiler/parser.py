"""Parser: text -> declarations (AST) + syntax diagnostics (E020), with recovery (§2.6).

CONTRACT (used by analysis.py; owned by the parser work):

    parse(text: str, cache: ParseCache | None = None) -> ParseResult

* `ParseResult.decls`: every declaration in source order; a damaged one is `ast.BrokenDecl`.
  Annotations are attached to the following `in`/`out` declaration.
* `ParseResult.diagnostics`: E020 syntax/lexical errors (and the program-level "at least one
  out" error), positions in document code-point offsets.
* Incremental: the text is split into declaration chunks at declaration starts (§2.6); a chunk
  whose text is unchanged since the previous parse reuses its parsed declarations (shifted).
  `cache` is an object the caller keeps between parses of one document.
* Never raises for any input; nesting deeper than a fixed limit is an E020 (so that every
  recursive pass downstream is safe).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from constellation.compiler import ast
from constellation.compiler.diagnostics import Diagnostic


@dataclass
class ParseResult:
    decls: list[ast.Decl]
    diagnostics: list[Diagnostic] = field(default_factory=list)


class ParseCache:
    """Per-document memo of parsed chunks (chunk text -> parsed decls and diagnostics)."""

    def __init__(self) -> None:
        self.chunks: dict[str, object] = {}


def parse(text: str, cache: ParseCache | None = None) -> ParseResult:
    raise NotImplementedError("parser under construction")
