"""The state one chunk parse shares with the reduce callbacks, and the spans they make.

Spans: every node's spans are relative to its chunk's `_Base` (they read like plain Spans).
A chunk is a unit of the document (units.py): its base holds its offset in its newest block
and that block its newest start, so read directly, spans follow the latest text; each
ParseResult keeps its own `Layout`, and `absolute` reads a span in that result's text:
whatever reads positions after the parse asks its Analysis (`Analysis.absolute`,
`Analysis.span_of`). Copies and pickles of nodes get plain, fixed Spans.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

from constellation.compiler import ast
from constellation.compiler.ast import Span
from constellation.compiler.diagnostics import Diagnostic
from constellation.compiler.lexer import StringInfo, Tok

# Deepest expression nesting accepted; beyond it E020 (downstream passes may recurse).
MAX_DEPTH = 100

TOO_DEEP = (f"Expression is nested too deeply (more than {MAX_DEPTH} levels): "
            "split it into several bindings")


# The context of the chunk being parsed, read by the reduce callbacks. parse() holds _PARSING
# while it runs, so one module-level slot is enough (and cheaper than a thread-local).
_CTX: "_Context | None" = None


_PARSING = threading.RLock()


class _Origin:
    """Where a chunk is before a block holds it (its offset is then absolute)."""

    __slots__ = ()
    offset = 0


_ORIGIN = _Origin()


class _Base:
    """A chunk's position: its offset in the newest block that holds it (units.Block) and
    that block. Its nodes' spans are relative to it."""

    __slots__ = ("rel", "block")

    def __init__(self, offset: int):
        self.rel = offset
        self.block = _ORIGIN

    @property
    def offset(self) -> int:
        """The chunk's start in the newest text."""
        return self.rel + self.block.offset


class _RelSpan(Span):
    """A Span whose offsets follow its chunk's _Base (reads like any Span). Made only by
    _rel_span, which fills the slots directly (the frozen base class refuses attributes)."""

    __slots__ = ("_s", "_e", "_b")

    @property
    def start(self) -> int:  # type: ignore[override]
        b = self._b
        return self._s + b.rel + b.block.offset

    @property
    def end(self) -> int:  # type: ignore[override]
        b = self._b
        return self._e + b.rel + b.block.offset

    def __eq__(self, other) -> bool:
        return isinstance(other, Span) and self.start == other.start and self.end == other.end

    def __hash__(self) -> int:
        return hash((self.start, self.end))

    def __repr__(self) -> str:
        return f"Span(start={self.start}, end={self.end})"

    def __reduce__(self):  # copies and pickles are plain, fixed Spans
        return (Span, (self.start, self.end))

    def cover(self, other: Span) -> Span:
        """Relative to the same chunk when both are (a call's name, a `use` path), so that
        it moves with the chunk as its parts do."""
        if type(other) is _RelSpan and other._b is self._b:
            return _rel_span(min(self._s, other._s), max(self._e, other._e), self._b)
        return Span(min(self.start, other.start), max(self.end, other.end))


def absolute(span: Span, layout) -> Span:
    """`span` in the text of `layout` (a ParseResult's units.Layout), as a plain Span; a
    plain Span (or no layout) is already absolute."""
    if layout is None or type(span) is not _RelSpan:
        return span
    off = layout.offset_of(span._b)
    return Span(span._s + off, span._e + off)


# Spans are the parser's most made objects: made without __init__ (a Python call) and without
# the frozen base class's __setattr__, by the slots' own setters.
_new_span = object.__new__


_set_s, _set_e, _set_b = _RelSpan._s.__set__, _RelSpan._e.__set__, _RelSpan._b.__set__


def _rel_span(s: int, e: int, base: _Base) -> _RelSpan:
    span = _new_span(_RelSpan)
    _set_s(span, s)
    _set_e(span, e)
    _set_b(span, base)
    return span


def _span(start: int, end: int) -> _RelSpan:
    ctx = _CTX
    if not ctx.lo <= start < ctx.hi:
        ctx.switch(start)
    off = ctx.off
    return _rel_span(start - off, end - off, ctx.base)


@dataclass(eq=False)
class _Error:
    message: str
    span: Span
    related: tuple = ()
    fixes: tuple = ()


class _Context:
    """State of one chunk parse shared with the reduce callbacks."""

    __slots__ = ("text", "base", "off", "parens", "errors", "pending_min", "nesting",
                 "strings", "partial_items", "completed", "incomplete_at", "chain_depth",
                 "token_count", "lo", "hi", "starts", "bases")

    def __init__(self, text: str, base: "_Base | None" = None):
        self.text = text
        self.base = base if base is not None else _Base(0)
        self.off = self.base.offset  # offsets at creation; spans store offset - off
        self.parens: dict[object, tuple] = {}  # node -> (node, start, end) of its ( )
        self.errors: list[_Error] = []
        self.pending_min: dict[object, Span] = {}  # Int literals 2**63 awaiting a unary minus
        self.nesting = 0
        self.strings: dict[int, StringInfo] = {}  # string tokens' StringInfo by start offset
        self.partial_items: list = []
        self.completed: list = []  # after a failed drive: the items reduced before it
        self.incomplete_at = 0  # ... and the offset where the unfinished part starts
        self.chain_depth: dict[object, int] = {}  # node -> depth of its left-nested chain
        # tokens fed so far: every AST level owns a token, so depth <= token_count
        self.token_count = 0
        # offsets [lo, hi) belong to `base`; a whole-document parse switches between the
        # chunks' bases (`starts`, `bases`) as positions move
        self.lo, self.hi = 0, len(text) + 1
        self.starts: list[int] = []
        self.bases: list[_Base] = []

    def switch(self, pos: int) -> None:
        k = bisect.bisect_right(self.starts, pos) - 1
        self.base = self.bases[k]
        self.off = self.base.offset
        self.lo = self.starts[k]
        self.hi = self.starts[k + 1] if k + 1 < len(self.starts) else len(self.text) + 1

    def error(self, message: str, span: Span, related=(), fixes=()) -> None:
        self.errors.append(_Error(message, _abs(span), tuple(related), tuple(fixes)))

    def flush_pending(self) -> None:
        for span in self.pending_min.values():
            self.error("Integer literal out of range", span)
        self.pending_min.clear()

    def first_error(self) -> Diagnostic:
        e = min(self.errors, key=lambda e: e.span.start)
        return Diagnostic("E020", e.message, e.span, e.related, e.fixes)


def _abs(span: Span) -> Span:
    """A plain Span with the current offsets (diagnostics must not move with a chunk)."""
    return Span(span.start, span.end)


class _Stop(Exception):
    pass


def _name(t: Tok) -> ast.Name:
    return ast.Name(t.value, _span(t.start_pos, t.end_pos))


def _sp(x) -> Span:
    if type(x) is Tok:
        return _span(x.start_pos, x.end_pos)
    return x.span


def _cover(a, b) -> Span:
    """Span from the start of a to the end of b (tokens or nodes of the current chunk)."""
    ctx = _CTX
    if type(a) is Tok:
        pos = a.start_pos
        if not ctx.lo <= pos < ctx.hi:
            ctx.switch(pos)
        base = ctx.base
        off = ctx.off
        s = pos - off
    else:
        sp = a.span
        base = sp._b
        off = base.offset
        wrapped = ctx.parens.get(a) if ctx.parens else None
        s = wrapped[1] if wrapped else sp._s
    if type(b) is Tok:
        e = b.end_pos - off
    else:
        bsp = b.span
        wrapped = ctx.parens.get(b) if ctx.parens else None
        e = wrapped[2] if wrapped else bsp._e
        if bsp._b is not base:
            # b is in a later chunk (`type` ⏎ `T = …` reads as one declaration across a
            # declaration start): its offset is relative to that chunk, so the span must
            # reach there, and a run then sees the declaration cross into the next chunk
            e += bsp._b.offset - off
    return _rel_span(s, e, base)


def _chain(node, inner, at: Tok) -> None:
    """Left-nested chains (`a + b + c`, `a.b.c`, `a[x][y]`) keep the LALR stack flat, so their
    depth is counted as they are built: past MAX_DEPTH the parse stops there at once instead of
    building a chain of a million links and measuring it afterwards."""
    depths = _CTX.chain_depth
    depth = depths.get(inner, 0) + 1
    if depth > MAX_DEPTH:
        _CTX.error(TOO_DEEP, Span(at.start_pos, at.end_pos))
        raise _Stop
    depths[node] = depth


def _ctx() -> _Context:
    return _CTX


def _set_ctx(ctx: _Context) -> None:
    global _CTX
    _CTX = ctx
