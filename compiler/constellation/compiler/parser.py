"""Parser: text -> declarations (AST) + syntax diagnostics (E020), with recovery (§2.6).

CONTRACT (used by analysis.py; owned by the parser work):

    parse(text: str, cache: ParseCache | None = None) -> ParseResult

* `ParseResult.decls`: every declaration in source order; a damaged one is `ast.BrokenDecl`.
  Annotations are attached to the following `in`/`out` declaration.
* `ParseResult.diagnostics`: E020 syntax/lexical errors (and the program-level "at least one
  out" error), positions in document code-point offsets.
* Incremental: the text is split into declaration units at declaration starts (§2.6), held
  in blocks (parsing/units.py); a parse re-parses the units around the edit, reuses those
  there whose text is unchanged and shares the other blocks (their spans are relative to their
  unit). `cache` is an object the caller keeps between parses of one document.
  `ParseResult.layout` holds where each unit is in this result's text, so a result's positions
  stay its own when a later parse moves the units (`context.absolute`).
* Never raises for any input; nesting deeper than a fixed limit is an E020 (so that every
  recursive pass downstream is safe).

The parts live in `parsing/`: `units.py` (the document's units in blocks, the ParseCache,
attaching annotations), `chunks.py` (chunking, runs and recovery), `lalr.py` (lark's table and the one driver loop), `builder.py` (the reduce
callbacks that build the AST), `explain.py` (the first error of a chunk as a sentence of
§2.5) and `context.py` (the state a chunk parse shares with the callbacks, relative spans).
"""

from __future__ import annotations

from constellation.compiler import ast
from constellation.compiler.ast import Span
from constellation.compiler.diagnostics import Diagnostic
from constellation.compiler.gcpause import collector_paused
from constellation.compiler.lexer import lex, tokenize
from constellation.compiler.parsing.chunks import _common_ends
from constellation.compiler.parsing.context import MAX_DEPTH, _PARSING, _Context, _set_ctx
from constellation.compiler.parsing.lalr import _drive
from constellation.compiler.parsing.units import ParseCache, ParseResult, parse_units

__all__ = ["ParseCache", "ParseResult", "parse", "parse_expression", "tokenize", "MAX_DEPTH",
           "_common_ends"]


def parse(text: str, cache: ParseCache | None = None) -> ParseResult:
    try:
        with collector_paused(), _PARSING:
            try:
                return parse_units(text, cache)
            finally:
                _set_ctx(None)  # its tables are freed by this parse, not by the next
    except Exception as exc:  # noqa: BLE001 - the contract: never raise, report instead
        if cache is not None:
            cache.__init__()
        span = Span(0, min(len(text), 1))
        msg = (f"Internal error: {type(exc).__name__} in the parser. This is a bug in the "
               "implementation, not in the pipeline.")
        return ParseResult([ast.BrokenDecl(None, None, Span(0, len(text)))],
                           [Diagnostic("E900", msg, span)])


def parse_expression(text: str) -> tuple[ast.Expr | None, list[Diagnostic]]:
    """Parse a lone expression (tests, the formatter, the REPL-like tools)."""
    with _PARSING:
        ctx = _Context(text)
        _set_ctx(ctx)
        value = _drive(ctx, "expr", lex(text), None, len(text))
        ctx.flush_pending()
        diags = [ctx.first_error()] if ctx.errors else []
        return (value if not diags else None), diags
