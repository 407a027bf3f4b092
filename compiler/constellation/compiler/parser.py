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

How it works: `lexer.declaration_starts` cuts the text into chunks. Tokens from the
hand-written lexer go one by one through lark's LALR table for the grammar in
`constellation/grammar/constellation.lark`; its reduce callbacks (`_Builder`) build the AST
directly (no parse tree, no recursion). The driver loop picks LAMBDA_LPAR/OPT_COMMA from the
LALR table (as lark's contextual lexer would) and turns the first error of a chunk into a
sentence of §2.5. A cold parse drives long runs of chunks through one LALR pass each; a chunk
a run cannot vouch for (a syntax error, a callback error, too deep) is parsed on its own,
which is the recovery of §2.6, and the next run starts after it (`_parse_chunks`).

Spans: every node's spans are relative to its chunk's `_Base` (they read like plain Spans).
Reused chunks are the very objects of the previous result; moving one is one assignment, so
the spans of a previous ParseResult's reused nodes follow the latest text. Copies and pickles
of nodes get plain, fixed Spans.
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass, field

from constellation.compiler import ast
from constellation.compiler.gcpause import collector_paused
from constellation.compiler.ast import Span
from constellation.compiler.diagnostics import Diagnostic, Fix, Related, TextEdit
from constellation.compiler.suggest import suggest
from constellation.compiler.lexer import (
    OPTION_KEYS, RESERVED, Lexed, StringInfo, Tok, declaration_starts, first_token,
    iter_declaration_starts, lex, tokenize,
)
from constellation.compiler.values import INT_MAX, INT_MIN

__all__ = ["ParseCache", "ParseResult", "parse", "parse_expression", "tokenize", "MAX_DEPTH"]

# Deepest expression nesting accepted; beyond it E020 (downstream passes may recurse).
MAX_DEPTH = 100

TOO_DEEP = (f"Expression is nested too deeply (more than {MAX_DEPTH} levels): "
            "split it into several bindings")


@dataclass
class ParseResult:
    decls: list[ast.Decl]
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass(eq=False)
class _Chunk:
    items: list  # decls and annotations (before attachment)
    diagnostics: list[Diagnostic]
    base: "_Base"  # every span in `items` is relative to base.offset
    dots: list  # FieldAccess nodes (their `dot` is a plain offset)
    has_out: bool
    has_annotation: bool
    text: str = ""
    head: str = ""  # the next chunk's first token (see _head)


class ParseCache:
    """Per-document memo of parsed chunks.

    Holds the previous text, its declaration starts and their parsed chunks. A new parse
    reuses the chunks before and after the edited region by position (moving the ones after
    it, in O(1) each) and chunks inside it whose text is unchanged, by (chunk text, next
    chunk's first token).
    """

    def __init__(self) -> None:
        self.text: str | None = None
        self.starts: list[int] = []
        self.chunks: list[_Chunk] = []
        self.hits = 0  # chunks reused by the last parse
        self.misses = 0  # chunks parsed by the last parse


def parse(text: str, cache: ParseCache | None = None) -> ParseResult:
    try:
        with collector_paused(), _PARSING:
            return _parse(text, cache)
    except Exception as exc:  # noqa: BLE001 - the contract: never raise, report instead
        if cache is not None:
            cache.__init__()
        span = Span(0, min(len(text), 1))
        msg = (f"Internal error: {type(exc).__name__} in the parser. This is a bug in the "
               "implementation, not in the pipeline.")
        return ParseResult([ast.BrokenDecl(None, None, Span(0, len(text)))],
                           [Diagnostic("E900", msg, span)])


def _parse(text: str, cache: ParseCache | None) -> ParseResult:
    if cache is None or cache.text is None:
        starts = declaration_starts(text)
        chunks = _parse_chunks(text, starts)
        hits, misses = 0, len(chunks)
    else:
        starts, chunks, hits, misses = _reparse(text, cache)
    if cache is not None:
        cache.text, cache.starts, cache.chunks = text, starts, chunks
        cache.hits, cache.misses = hits, misses
    return _assemble(text, chunks)


def _parse_range(text: str, starts: list[int], lo: int, hi: int, known: dict):
    """Chunks lo..hi-1 of `starts` and how many of them came from `known`, which maps
    (chunk text, next chunk's first token) to reusable chunks, or for chunks without errors
    (chunk text less trailing blanks, None)."""
    out = []
    reused = 0
    n = len(text)
    for i in range(lo, hi):
        base = starts[i]
        end = starts[i + 1] if i + 1 < len(starts) else n
        chunk_text = text[base:end]
        head = _head(text, end)
        reuse = known.get((chunk_text, head)) or known.get((chunk_text.rstrip(_BLANKS), None))
        if reuse:
            chunk = reuse.pop()
            _move_chunk(chunk, base)
            chunk.text, chunk.head = chunk_text, head
            reused += 1
        else:
            chunk = _parse_chunk(text, base, end)
            chunk.text, chunk.head = chunk_text, head
        out.append(chunk)
    return out, reused


def _reparse(text: str, cache: ParseCache):
    """Re-split and re-parse only around the edited region."""
    old_text, old_starts, old_chunks = cache.text, cache.starts, cache.chunks
    p, q = _common_ends(old_text, text)
    delta = len(text) - len(old_text)
    old_edit_end = len(old_text) - q
    new_edit_end = len(text) - q
    # restart one chunk before the edited one: its head lies entirely before the edit, and
    # so does what made it a declaration start (its second token: `type` ⏎ `}` is a field
    # name, `type` ⏎ `T` a declaration), or the scan starts further back
    k = max(0, bisect.bisect_right(old_starts, p) - 2)
    while k > 0 and _start_decided_at(old_text, old_starts[k]) >= p:
        k -= 1
    old_set = set(old_starts)
    starts = old_starts[:k + 1]
    sync = None  # index in old_starts from which old and new splits agree again
    for c in iter_declaration_starts(text, old_starts[k]):
        if c <= starts[-1]:
            continue
        if c >= new_edit_end and (c - delta) in old_set and c - delta >= old_edit_end:
            sync = bisect.bisect_left(old_starts, c - delta)
            break
        starts.append(c)
    mid_end = len(starts)
    if sync is not None:
        starts.extend(s + delta for s in old_starts[sync:])
    # prefix chunks whose text and next line end before the edit are kept as they are; a
    # chunk's end and its next chunk's first token both grow with its index, so the scan goes
    # back from the edit over the few chunks that reach it (not forward over the whole prefix)
    keep = min(k, len(old_chunks))
    while keep > 0:
        end = old_starts[keep] if keep < len(old_starts) else len(old_text)
        if end + len(_head(old_text, end)) < p:
            break
        keep -= 1
    known: dict = {}
    tail_from = sync if sync is not None else len(old_chunks)
    for ch in old_chunks[keep:tail_from]:
        # only error messages name the next chunk's first token, and blank lines at the end
        # change no declaration: a chunk without errors is reused whatever follows it
        # (typing a new declaration after it keeps it)
        key = (ch.text, ch.head) if ch.diagnostics else (ch.text.rstrip(_BLANKS), None)
        known.setdefault(key, []).append(ch)
    chunks = old_chunks[:keep]
    middle, reused = _parse_range(text, starts, keep, mid_end, known)
    chunks += middle
    if sync is not None:
        for j in range(sync, len(old_chunks)):
            ch = old_chunks[j]
            _move_chunk(ch, old_starts[j] + delta)
            chunks.append(ch)
    hits = keep + reused + (len(old_chunks) - sync if sync is not None else 0)
    return starts, chunks, hits, len(middle) - reused


_BLANKS = " \t\r\n"


def _start_decided_at(text: str, start: int) -> int:
    """End of the token after a declaration start's first token: a start is a start because
    of what follows its first token (`x =`, `type` not followed by `}`…)."""
    first = first_token(text, start)
    second = first_token(text, first.end_pos) if first is not None else None
    return len(text) if second is None else second.end_pos


def _common_ends(a: str, b: str) -> tuple[int, int]:
    """Lengths of the common prefix and common suffix of a and b (not overlapping)."""
    n = min(len(a), len(b))
    lo, hi = 0, n  # binary search on slice equality (C-speed comparisons)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    p = lo
    lo, hi = 0, n - p
    la, lb = len(a), len(b)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[la - mid:la - lo] == b[lb - mid:lb - lo]:
            lo = mid
        else:
            hi = mid - 1
    return p, lo


def _assemble(text: str, chunks: list[_Chunk]) -> ParseResult:
    decls: list[ast.Decl] = []
    diags: list[Diagnostic] = []
    has_out = False
    pending: list = []  # items from an annotation run onwards, attached once per parse
    for ch in chunks:
        if ch.diagnostics:
            diags.extend(ch.diagnostics)
        has_out = has_out or ch.has_out
        if ch.has_annotation or pending:
            pending.extend(ch.items)
            if not _ends_with_annotation(ch):
                decls.extend(_attach_annotations(pending, text, diags, decls[-1] if decls else None))
                pending = []
        else:
            first = ch.items[0] if ch.items else None
            if isinstance(first, (ast.InputDecl, ast.OutputDecl)) and first.annotations:
                first.annotations = []  # attached by an earlier parse; no run precedes it now
            decls.extend(ch.items)
    if pending:
        decls.extend(_attach_annotations(pending, text, diags, decls[-1] if decls else None))
    if not diags and not has_out:
        diags.append(Diagnostic(
            "E020", "A pipeline must declare at least one output ('out name')",
            Span(len(text), len(text))))
    diags.sort(key=lambda d: d.span.start)
    return ParseResult(decls, diags)


def _ends_with_annotation(ch: _Chunk) -> bool:
    return bool(ch.items) and isinstance(ch.items[-1], ast.Annotation)


_HEAD_RE = re.compile(r"[ \t\r]*(?:@|[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)")


def _head(text: str, start: int) -> str:
    """The next chunk's first token (with its indentation): errors at a chunk's end name that
    token, so it is part of the cache key. Chunks start with `@`, a name or a keyword."""
    m = _HEAD_RE.match(text, start)
    return text[start:m.end()] if m else text[start:start + 1]


def parse_expression(text: str) -> tuple[ast.Expr | None, list[Diagnostic]]:
    """Parse a lone expression (tests, the formatter, the REPL-like tools)."""
    with _PARSING:
        return _parse_expression(text)


def _parse_expression(text: str) -> tuple[ast.Expr | None, list[Diagnostic]]:
    ctx = _Context(text)
    _set_ctx(ctx)
    lexed = lex(text)
    value = _drive(ctx, "expr", lexed, None, len(text))
    ctx.flush_pending()
    diags = [ctx.first_error()] if ctx.errors else []
    return (value if not diags else None), diags


# ---------------------------------------------------------------------------------------------
# The lark parser, built once per process.

_LOCK = threading.Lock()
_TABLES: dict[str, "_Table"] = {}


@dataclass(frozen=True)
class _Table:
    """lark's LALR table with plain-string keys and pre-resolved reduce callbacks.

    states[state][symbol] = (True, next_state) for a shift or goto,
                            (False, (size, origin, callback)) for a reduce.
    """

    states: dict
    start_state: int
    end_state: int


def _tables() -> dict[str, _Table]:
    if not _TABLES:
        with _LOCK:
            if not _TABLES:
                _TABLES.update(_build_tables())
    return _TABLES


def _build_tables() -> dict[str, _Table]:
    from lark import Lark
    from lark.parsers.lalr_analysis import Shift
    from constellation.grammar import grammar_text
    lark = Lark(grammar_text(), parser="lalr", start=["start", "expr"],
                transformer=_Builder(), maybe_placeholders=True, cache=True)
    out = {}
    for start in ("start", "expr"):
        conf = lark.parse_interactive(None, start=start).parser_state.parse_conf
        callbacks = conf.callbacks
        states = {}
        for st, row in conf.states.items():
            states[st] = {
                str(sym): (True, arg) if action is Shift else
                (False, (len(arg.expansion), str(arg.origin.name),
                         None if _is_unit(arg) else callbacks[arg]))
                for sym, (action, arg) in row.items()
            }
        out[start] = _Table(states, conf.start_state, conf.end_state)
    return out


def _is_unit(rule) -> bool:
    """`?rule: other` alternatives pass their single child through unchanged."""
    return rule.options.expand1 and rule.alias is None and len(rule.expansion) == 1


class _Unexpected(Exception):
    def __init__(self, expected: set):
        self.expected = expected


_UNIT_CHAINS: dict[tuple, int] = {}  # (below, top, lookahead) -> top after unit reductions


def _unit_chain(states: dict, below: int, top: int, tt: str) -> int:
    while True:
        act = states[top].get(tt)
        if act is None or act[0] or act[1][2] is not None:
            return top
        top = states[below][act[1][1]][1]


def _feed(states: dict, state_stack: list, value_stack: list, tt: str, tok, end_state=None):
    """One token through the LALR automaton (lark's feed_token, minus its overheads)."""
    while True:
        act = states[state_stack[-1]].get(tt)
        if act is None:
            raise _Unexpected({k for k in states[state_stack[-1]] if k.isupper()})
        shift, arg = act
        if shift:
            state_stack.append(arg)
            value_stack.append(tok)
            return None
        size, origin, callback = arg
        if callback is None:  # unit rules: only the top state changes (chains memoised)
            key = (state_stack[-2], state_stack[-1], tt)
            top = _UNIT_CHAINS.get(key)
            if top is None:
                top = _unit_chain(states, state_stack[-2], state_stack[-1], tt)
                _UNIT_CHAINS[key] = top
            state_stack[-1] = top
            if end_state is not None and top == end_state:
                return value_stack[-1]
            continue
        if size:
            children = value_stack[-size:]
            del state_stack[-size:]
            del value_stack[-size:]
        else:
            children = []
        value = callback(children)
        state_stack.append(states[state_stack[-1]][origin][1])
        value_stack.append(value)
        if end_state is not None and state_stack[-1] == end_state:
            return value


# The context of the chunk being parsed, read by the reduce callbacks. parse() holds _PARSING
# while it runs, so one module-level slot is enough (and cheaper than a thread-local).
_CTX: "_Context | None" = None
_PARSING = threading.RLock()


class _Base:
    """The document offset of a chunk; its nodes' spans are relative to it, so moving a
    reused chunk is one assignment."""

    __slots__ = ("offset",)

    def __init__(self, offset: int):
        self.offset = offset


class _RelSpan(Span):
    """A Span whose offsets follow its chunk's _Base (reads like any Span). Made only by
    _rel_span, which fills the slots directly (the frozen base class refuses attributes)."""

    __slots__ = ("_s", "_e", "_b")

    @property
    def start(self) -> int:  # type: ignore[override]
        return self._s + self._b.offset

    @property
    def end(self) -> int:  # type: ignore[override]
        return self._e + self._b.offset

    def __eq__(self, other) -> bool:
        return isinstance(other, Span) and self.start == other.start and self.end == other.end

    def __hash__(self) -> int:
        return hash((self.start, self.end))

    def __repr__(self) -> str:
        return f"Span(start={self.start}, end={self.end})"

    def __reduce__(self):  # copies and pickles are plain, fixed Spans
        return (Span, (self.start, self.end))


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


def _move_chunk(chunk: "_Chunk", offset: int) -> None:
    delta = offset - chunk.base.offset
    if not delta:
        return
    chunk.base.offset = offset
    for fa in chunk.dots:
        fa.dot += delta
    chunk.diagnostics = [_shift_diag(d, delta) for d in chunk.diagnostics]


@dataclass
class _Error:
    message: str
    span: Span
    related: tuple = ()
    fixes: tuple = ()


class _Context:
    """State of one chunk parse shared with the reduce callbacks."""

    __slots__ = ("text", "base", "off", "dots", "parens", "errors", "pending_min", "nesting",
                 "strings", "partial_items", "completed", "incomplete_at", "chain_depth",
                 "token_count", "lo", "hi", "starts", "bases")

    def __init__(self, text: str, base: "_Base | None" = None):
        self.text = text
        self.base = base if base is not None else _Base(0)
        self.off = self.base.offset  # offsets at creation; spans store offset - off
        self.dots: list = []  # FieldAccess nodes, whose `dot` moves with the chunk
        self.parens: dict[int, tuple] = {}  # id(node) -> (node, start, end) of its ( )
        self.errors: list[_Error] = []
        self.pending_min: dict[int, Span] = {}  # Int literals 2**63 awaiting a unary minus
        self.nesting = 0
        self.strings: dict[int, StringInfo] = {}  # string tokens' StringInfo by start offset
        self.partial_items: list = []
        self.completed: list = []  # after a failed drive: the items reduced before it
        self.incomplete_at = 0  # ... and the offset where the unfinished part starts
        self.chain_depth: dict[int, int] = {}  # id(node) -> depth of its left-nested chain
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


# ---------------------------------------------------------------------------------------------
# Chunk parsing and error recovery


def _parse_chunks(text: str, starts: list[int]) -> list[_Chunk]:
    """Cold parse: runs of declarations go through the LALR parser in one pass each (no
    per-chunk setup); a chunk the run cannot vouch for is parsed on its own, which reports
    and recovers (§2.6), and the next run starts after it. Runs cover a window of chunks
    that doubles while runs succeed and shrinks after a failure, so a damaged document costs
    little more than a valid one, and a run never lexes far past an error."""
    chunks: list[_Chunk] = []
    total = len(starts)
    bounds = starts + [len(text)]
    lo, window = 0, _FIRST_WINDOW
    while lo < total:
        hi = lo
        while hi < min(total, lo + window) and bounds[hi + 1] - bounds[hi] <= _ALONE_SIZE:
            hi += 1
        if hi == lo:  # a huge chunk: alone at once (a failed run would lex it twice)
            bad = lo
        else:
            done, bad = _parse_run(text, starts, lo, hi)
            chunks += done
            if bad == hi:
                lo, window = hi, window * 2
                continue
        end = starts[bad + 1] if bad + 1 < total else len(text)
        chunk = _parse_chunk(text, starts[bad], end)
        chunk.text, chunk.head = text[starts[bad]:end], _head(text, end)
        chunks.append(chunk)
        lo, window = bad + 1, _FIRST_WINDOW
    return chunks


_FIRST_WINDOW = 32
_ALONE_SIZE = 64 * 1024  # characters; bigger chunks are always parsed alone


def _parse_run(text: str, starts: list[int], lo: int, hi: int) -> tuple[list[_Chunk], int]:
    """Chunks lo..hi-1 in one LALR run. Returns the chunks it parsed cleanly and the index of
    the first chunk it could not (hi when none). Valid declarations never cross a declaration
    start (§2.3 rule 7), so a clean chunk gets the same declarations as when parsed alone."""
    n = len(text)
    seg_start, seg_end = starts[lo], (starts[hi] if hi < len(starts) else n)
    ctx = _Context(text)
    ctx.starts = starts[lo:hi]
    ctx.bases = [_Base(s) for s in ctx.starts]
    ctx.lo, ctx.hi = 1, 0  # nothing is current yet
    _set_ctx(ctx)
    lexed = lex(text, seg_start, seg_end)
    items = _drive(ctx, "start", lexed, None, seg_end)
    stop = seg_end  # offset from which this run's results are not trusted
    if items is None:
        items, stop = ctx.completed, ctx.incomplete_at
    if lexed.error is not None:
        stop = min(stop, lexed.error.start)
    for e in ctx.errors:
        stop = min(stop, e.span.start)
    for span in ctx.pending_min.values():
        stop = min(stop, span.start)
    bad = hi if stop >= seg_end else bisect.bisect_right(starts, stop, lo, hi) - 1
    count = bad - lo  # chunks lo..bad-1 are handed out
    bounds = starts[lo:bad] + [starts[bad] if bad < len(starts) else n]
    chunks = [_Chunk([], [], base, [], False, False) for base in ctx.bases[:count]]
    token_starts = None  # made for the first item long enough to be too deep
    k = 0
    for item in items:
        span = item.span
        if span.start >= bounds[-1]:
            break  # in the chunk the run could not vouch for
        while span.start >= bounds[k + 1]:
            k += 1
        if span.end > bounds[k + 1]:
            return _parse_run_prefix(text, starts, lo, lo + k)
        if span.end - span.start > MAX_DEPTH:  # a token is at least one character
            if token_starts is None:
                token_starts = [t.start_pos for t in lexed.tokens]
            if bisect.bisect_left(token_starts, span.end) \
                    - bisect.bisect_left(token_starts, span.start) > MAX_DEPTH \
                    and _too_deep(item) is not None:
                return _parse_run_prefix(text, starts, lo, lo + k)
        chunk = chunks[k]
        chunk.items.append(item)
        t = type(item)
        if t is ast.OutputDecl:
            chunk.has_out = True
        elif t is ast.Annotation:
            chunk.has_annotation = True
    limit = bounds[-1]
    for fa in ctx.dots:
        if fa.dot < limit:
            chunks[bisect.bisect_right(starts, fa.dot, lo, hi) - 1 - lo].dots.append(fa)
    for i, chunk in enumerate(chunks):
        chunk.text = text[bounds[i]:bounds[i + 1]]
        chunk.head = _head(text, bounds[i + 1])
    return chunks, lo + len(chunks)


def _parse_run_prefix(text: str, starts: list[int], lo: int, bad: int):
    """A run found a declaration it cannot hand out (crossing a chunk boundary or nested too
    deeply) in chunk `bad`: the chunks before it are parsed again as a run of their own."""
    if bad == lo:
        return [], lo
    return _parse_run(text, starts, lo, bad)


def _parse_chunk(text: str, start: int, end: int) -> _Chunk:
    ctx = _Context(text, _Base(start))
    _set_ctx(ctx)
    lexed = lex(text, start, end)
    value = _drive(ctx, "start", lexed, None, end)
    if ctx.pending_min:
        ctx.flush_pending()
    items = value if isinstance(value, list) else ctx.partial_items
    return _finish_chunk(ctx, items, lexed.tokens, value is None)


def _finish_chunk(ctx: _Context, items: list, tokens: list[Tok], failed: bool) -> _Chunk:
    """Turn callback errors, depth overflows and a failed parse into BrokenDecls (§2.6)."""
    if not failed and not ctx.errors and ctx.token_count <= MAX_DEPTH:  # the common case
        has_out = has_ann = False
        for item in items:
            t = type(item)
            if t is ast.OutputDecl:
                has_out = True
            elif t is ast.Annotation:
                has_ann = True
        return _Chunk(items, [], ctx.base, ctx.dots, has_out, has_ann)
    out: list = []
    errors = sorted(ctx.errors, key=lambda e: e.span.start)
    diags: list[Diagnostic] = []
    used: set[int] = set()
    for item in items:
        span = item.span
        lo, hi = span.start, max(span.end, span.start + 1)
        mine = [e for e in errors if lo <= e.span.start < hi and id(e) not in used]
        if not mine and ctx.token_count > MAX_DEPTH:
            deep = _too_deep(item)
            if deep is not None:
                mine = [_Error(TOO_DEEP,
                               _abs(deep))]
        if mine:
            used.update(id(e) for e in mine)
            diags.append(_diag(mine[0]))
            out.append(_broken(item))
        else:
            out.append(item)
    if failed:
        done = out[-1].span.end if out else -1
        rest = [t for t in tokens if t.start_pos >= done]
        remaining = [e for e in errors if id(e) not in used]
        if remaining:
            diags.append(_diag(remaining[0]))
        if rest:
            name, space = _broken_head(rest)
            stop = max(rest[-1].end_pos, rest[0].end_pos)
            out.append(ast.BrokenDecl(name, space, _span(rest[0].start_pos, stop)))
        elif remaining:
            e = remaining[0]
            out.append(ast.BrokenDecl(None, None, _span(e.span.start, e.span.end)))
    has_out = any(isinstance(i, ast.OutputDecl) for i in out)
    has_ann = any(isinstance(i, ast.Annotation) for i in out)
    return _Chunk(out, diags, ctx.base, ctx.dots, has_out, has_ann)


def _abs(span: Span) -> Span:
    """A plain Span with the current offsets (diagnostics must not move with a chunk)."""
    return Span(span.start, span.end)


def _diag(e: _Error) -> Diagnostic:
    return Diagnostic("E020", e.message, _abs(e.span), e.related, e.fixes)


def _broken(item) -> ast.BrokenDecl:
    if isinstance(item, (ast.Assignment, ast.InputDecl)):
        return ast.BrokenDecl(item.name, "value", item.span)
    if isinstance(item, ast.TypeDecl):
        return ast.BrokenDecl(item.name, "type", item.span)
    return ast.BrokenDecl(None, None, item.span)


def _broken_head(toks: list[Tok]) -> tuple[ast.Name | None, str | None]:
    """The name a damaged declaration still declares: `x =`, `in x`, `type T` (§2.6)."""
    if len(toks) >= 2:
        a, b = toks[0], toks[1]
        if a.type == "IDENT" and b.type == "EQ":
            return _name(a), "value"
        if a.type == "IN" and b.type == "IDENT":
            return _name(b), "value"
        if a.type == "TYPE" and b.type == "IDENT":
            return _name(b), "type"
    return None, None


def _name(t: Tok) -> ast.Name:
    return ast.Name(t.value, _span(t.start_pos, t.end_pos))


def _too_deep(root) -> Span | None:
    """Span of the first node nested deeper than MAX_DEPTH (iterative walk). Leaves do not
    count, as in `_chain`: 100 operators in a row are 100 levels (101 names or numbers)."""
    stack = [(root, 0)]
    children = ast.children
    while stack:
        node, depth = stack.pop()
        below = children(node)
        if depth > MAX_DEPTH and below:
            return node.span
        for c in below:
            stack.append((c, depth + 1))
    return None


# ---------------------------------------------------------------------------------------------
# The driver: feeds tokens, chooses lookahead terminals, explains the first error.

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


class _Stop(Exception):
    pass


def _describe(tok: Tok | None) -> str:
    if tok is None or tok.type == "$END":
        return "end of file"
    if tok.type == "STRING":
        return "a string"
    text = tok.value if len(tok.value) <= 30 else tok.value[:27] + "…"
    return f"'{text}'"


def _accepts(states, stack: list, term: str) -> bool:
    """Would the LALR parser shift `term` after its pending reductions? (no callbacks run;
    the stack is not copied: reductions pop a virtual depth, pushes go to `extra`)"""
    depth = len(stack)
    extra: list = []
    while True:
        act = states[extra[-1] if extra else stack[depth - 1]].get(term)
        if act is None:
            return False
        shift, arg = act
        if shift:
            return True
        size, origin, _ = arg
        if size:
            take = min(size, len(extra))
            if take:
                del extra[-take:]
            depth -= size - take
        extra.append(states[extra[-1] if extra else stack[depth - 1]][origin][1])


# LALR stack height allowed; each nesting level pushes at most ~7 states, so this only
# trips on input already deeper than MAX_DEPTH and keeps right-nested chains linear.
_MAX_STACK = 10 * MAX_DEPTH


def _drive(ctx: _Context, start: str, lexed: Lexed, next_tok: Tok | None, end: int,
           eof_desc: Tok | None = None):
    """Parse a token list with start symbol `start`; returns the value or None on error."""
    table = (_TABLES or _tables())[start]
    if lexed.strings:
        ctx.strings.update(lexed.strings)
    ctx.token_count += len(lexed.tokens)
    states = table.states
    state_stack = [table.start_state]
    value_stack: list = []
    tokens = lexed.tokens
    frames: list[_Frame] = [_Frame("top", None)]
    matches: list[tuple[int, int]] = []  # (frame depth, subject start) of pending `match`
    prev: Tok | None = None
    n = len(tokens)
    i = 0
    chains = _UNIT_CHAINS
    try:
        while i < n:
            tok = tokens[i]
            tt = tok.type
            if tt in _PRE:
                tt = _before_feed(ctx, tok, tt, tokens, i, frames, states, state_stack)
            # one token through the LALR automaton (lark's feed_token, inlined)
            while True:
                act = states[state_stack[-1]].get(tt)
                if act is None:
                    expected = {k for k in states[state_stack[-1]] if k.isupper()}
                    _explain(ctx, expected, tok, prev, frames, matches, tokens, i)
                    raise _Stop
                if act[0]:
                    state_stack.append(act[1])
                    value_stack.append(tok)
                    break
                size, origin, callback = act[1]
                if callback is None:  # unit rules: only the top state changes
                    key = (state_stack[-2], state_stack[-1], tt)
                    top_state = chains.get(key)
                    if top_state is None:
                        top_state = chains[key] = _unit_chain(states, key[0], key[1], tt)
                    state_stack[-1] = top_state
                    continue
                if size:
                    children = value_stack[-size:]
                    del state_stack[-size:]
                    del value_stack[-size:]
                else:
                    children = []
                value_stack.append(callback(children))
                state_stack.append(states[state_stack[-1]][origin][1])
            if len(state_stack) > _MAX_STACK:
                ctx.error(TOO_DEEP,
                          Span(tok.start_pos, tok.end_pos))
                raise _Stop
            if tt in _POST:
                _after_feed(tok, tt, prev, tokens, i, frames, matches)
            prev = tok
            i += 1
        if lexed.error is not None:
            err = lexed.error
            ctx.error(err.message, Span(err.start, err.end))
            raise _Stop
        eof = Tok("$END", "", end, end)
        try:
            return _feed(states, state_stack, value_stack, "$END", eof, table.end_state)
        except _Unexpected as e:
            found = eof_desc or next_tok or (first_token(ctx.text, end) if start == "start"
                                             else None) or eof
            _explain(ctx, e.expected, found, prev, frames, matches, tokens, n)
            raise _Stop
    except _Stop:
        ctx.partial_items = _completed_items(value_stack)
        # what a run (_parse_run) keeps: the declarations completed before the first
        # value still on the stack, which is where trust ends
        done = value_stack[0] if value_stack and isinstance(value_stack[0], list) else None
        ctx.completed = done or []
        ctx.incomplete_at = _first_offset(value_stack if done is None else value_stack[1:],
                                          _stop_offset(tokens, i, lexed, end))
        return None


_PRE = frozenset({"LAMBDA_LPAR", "OPT_COMMA", "WITH", "COMMA", "SLASH", "LPAR", "LSQB",
                  "LBRACE"})
_POST = frozenset({"LPAR", "LAMBDA_LPAR", "LSQB", "LBRACE", "RPAR", "RSQB", "RBRACE", "WITH",
                   "MATCH", "OTHERWISE"})


def _before_feed(ctx, tok: Tok, tt: str, tokens: list[Tok], i: int, frames: list, states,
                 state_stack: list) -> str:
    """Lookahead terminals, option keys, misspelt options, spaced rates, nesting limit."""
    top = frames[-1]
    if tt == "LAMBDA_LPAR" and not _accepts(states, state_stack, tt):
        tok.type = tt = "LPAR"
    elif tt == "OPT_COMMA":
        if _accepts(states, state_stack, tt):
            _retype_option_key(ctx, tokens, i + 1)
        else:
            tok.type = tt = "COMMA"
    elif tt == "WITH":
        _retype_option_key(ctx, tokens, i + 1)
    n = len(tokens)
    if tt == "COMMA" and top.with_active:
        top.with_active = False
        _check_misspelt_option(ctx, tokens, i + 1, top)
    elif tt == "SLASH" and i >= 3 and i + 1 < n and tokens[i + 1].type == "SUFFIXED" \
            and tokens[i - 1].type in ("INT", "FLOAT") and tokens[i - 2].type == "COLON" \
            and tokens[i - 3].type == "OPT_KEY":
        a, b = tokens[i - 1], tokens[i + 1]
        ctx.error(f"Write a rate without spaces: {a.value}/{b.value}", Span(a.start_pos, b.end_pos))
        raise _Stop
    if tt in _OPENERS and len(frames) > MAX_DEPTH:
        ctx.error(TOO_DEEP,
                  Span(tok.start_pos, tok.end_pos))
        raise _Stop
    return tt


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


def _stop_offset(tokens: list[Tok], i: int, lexed: Lexed, end: int) -> int:
    """Where a drive stopped: the offending token, the lexical error, or the end."""
    if i < len(tokens):
        return tokens[i].start_pos
    return lexed.error.start if lexed.error is not None else end


def _first_offset(values: list, default: int) -> int:
    """Start offset of the first of `values` (parser stack entries) that has one."""
    from lark import Tree
    stack = list(reversed(values))
    while stack:
        v = stack.pop()
        if isinstance(v, Tok):
            return min(v.start_pos, default)
        span = getattr(v, "span", None)
        if isinstance(span, Span):
            return min(span.start, default)
        if isinstance(v, Tree):
            stack.extend(reversed(v.children))
        elif isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
    return default


def _completed_items(value_stack: list) -> list:
    from lark import Tree
    out: list = []
    stack = list(reversed(value_stack))
    while stack:
        v = stack.pop()
        if isinstance(v, Tree):
            stack.extend(reversed(v.children))
        elif isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, (ast.TypeDecl, ast.InputDecl, ast.OutputDecl, ast.UseDecl,
                            ast.Assignment, ast.Annotation)):
            out.append(v)
    return out


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


# ---------------------------------------------------------------------------------------------
# Reduce callbacks: build AST nodes with exact spans.


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
        wrapped = ctx.parens.get(id(a)) if ctx.parens else None
        s = wrapped[1] if wrapped else sp._s
    if type(b) is Tok:
        e = b.end_pos - off
    else:
        bsp = b.span
        wrapped = ctx.parens.get(id(b)) if ctx.parens else None
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
    depth = depths.get(id(inner), 0) + 1
    if depth > MAX_DEPTH:
        _CTX.error(TOO_DEEP, Span(at.start_pos, at.end_pos))
        raise _Stop
    depths[id(node)] = depth


def _ctx() -> _Context:
    return _CTX


def _set_ctx(ctx: _Context) -> None:
    global _CTX
    _CTX = ctx


def _no_commas(children) -> list:
    return [c for c in children if c is not None and not (isinstance(c, Tok) and c.type in
                                                          ("COMMA", "OPT_COMMA"))]


class _Builder:
    """lark transformer (used as LALR reduce callbacks; each method gets the children)."""

    def start(self, c):
        if not c:
            return []
        items, item = c
        items.append(item)
        return items

    # ---- declarations
    def annotation(self, c):
        at, name, _lp, args, rp = c
        ann = ast.Annotation(_name(name), [], [], _cover(at, rp))
        for kind, *rest in args:
            if kind == "pos":
                ann.args.append(rest[0])
            else:
                ann.kwargs.append((rest[0], rest[1]))
        _check_annotation(ann, args)
        return ann

    def annot_args(self, c):
        return _no_commas(c)

    def annot_arg(self, c):
        return ("pos", c[0])

    def annot_kwarg(self, c):
        return ("kw", c[0], c[2])

    def type_decl(self, c):
        return ast.TypeDecl(_name(c[1]), c[3], _cover(c[0], c[3]))

    def input_decl(self, c):
        return ast.InputDecl(_name(c[1]), c[3], [], _cover(c[0], c[3]))

    def output_decl(self, c):
        return ast.OutputDecl(_name(c[1]), [], _cover(c[0], c[1]))

    def use_decl(self, c):
        path = c[1]
        alias = _name(c[3]) if len(c) > 2 else None
        end = c[3] if len(c) > 2 else path[-1]
        return ast.UseDecl(path, alias, _cover(c[0], end))

    def assignment(self, c):
        return ast.Assignment(_name(c[0]), c[2], _cover(c[0], c[2]))

    def qname(self, c):
        return [_name(t) for t in c if t.type != "DOT"]

    def field(self, c):
        return _name(c[0])

    def fields(self, c):
        return _no_commas(c)

    # ---- types
    def type_union(self, c):
        members = [x for x in c if not isinstance(x, Tok)]
        return ast.UnionTypeExpr(members, _cover(members[0], members[-1]))

    def type_merge(self, c):
        return ast.MergeTypeExpr(c[0], c[2], _cover(c[0], c[2]))

    def type_param(self, c):
        args = [x for x in c[2:-1] if not isinstance(x, Tok)]
        return ast.TypeName(_name(c[0]), args, _cover(c[0], c[-1]))

    def type_record(self, c):
        return ast.RecordTypeExpr(_no_commas(c[1:-1]), _cover(c[0], c[-1]))

    def type_name(self, c):
        name = _name(c[0])
        return ast.TypeName(name, [], name.span)

    def type_field(self, c):
        return (c[0], c[2])

    # ---- expressions
    def lambda_expr(self, c):
        params = _no_commas(c[1:-3])
        return ast.Lambda(params, c[-1], _cover(c[0], c[-1]))

    def param(self, c):
        type_ = c[2] if len(c) > 2 else None
        return ast.Param(_name(c[0]), type_, _cover(c[0], type_ if type_ is not None else c[0]))

    def binary(self, c):
        left, op, right = c
        node = ast.Binary(op.value, left, right, _sp(op), _cover(left, right))
        _chain(node, left, op)
        return node

    def guard(self, c):
        return ast.Guard(c[0], c[2], _cover(c[0], c[2]))

    def unary(self, c):
        op, operand = c
        if op.type == "MINUS" and id(operand) in _ctx().pending_min:
            _ctx().pending_min.pop(id(operand))
            return ast.Literal(INT_MIN, "Int", _cover(op, operand))
        return ast.Unary(op.value, operand, _cover(op, operand))

    def projection(self, c):
        target, opener, names, closer = c
        node = ast.Projection(target, names, opener.type == "LBRACE", _cover(target, closer))
        _chain(node, target, opener)
        return node

    def field_access(self, c):
        target, dot, name = c
        node = ast.FieldAccess(target, name, dot.start_pos, _cover(target, name))
        _ctx().dots.append(node)
        _chain(node, target, dot)
        return node

    def path(self, c):
        head = c[0]
        name = _name(head)
        node = ast.Var(name, name.span)  # one span object for both
        for j in range(1, len(c), 2):
            dot, name = c[j], c[j + 1]
            inner = node
            node = ast.FieldAccess(node, name, dot.start_pos, _cover(head, name))
            _ctx().dots.append(node)
            _chain(node, inner, dot)
        return node

    def paren(self, c):
        inner = c[1]
        ctx = _ctx()
        # the node keeps its own span; enclosing nodes cover the parentheses too
        off = inner.span._b.offset
        ctx.parens[id(inner)] = (inner, c[0].start_pos - off, c[2].end_pos - off)
        if id(inner) in ctx.pending_min:
            ctx.pending_min.pop(id(inner))
            ctx.error("Integer literal out of range", inner.span)
        return inner

    def list_lit(self, c):
        return ast.ListLit(_no_commas(c[1:-1]), _cover(c[0], c[-1]))

    def record_lit(self, c):
        return ast.RecordLit(_no_commas(c[1:-1]), _cover(c[0], c[-1]))

    def record_field(self, c):
        return (c[0], c[2])

    def literal(self, c):
        t = c[0]
        span = _sp(t)
        tt = t.type
        if tt == "INT":
            value = int(t.value)
            if value > INT_MAX:
                lit = ast.Literal(value, "Int", span)
                if value == INT_MAX + 1:
                    _ctx().pending_min[id(lit)] = span
                else:
                    _ctx().error("Integer literal out of range", span)
                return lit
            return ast.Literal(value, "Int", span)
        if tt == "FLOAT":
            return ast.Literal(float(t.value), "Float", span)
        if tt == "TRUE" or tt == "FALSE":
            return ast.Literal(tt == "TRUE", "Boolean", span)
        return _string_node(t)

    def suffixed_atom(self, c):
        t = c[0]
        _ctx().error(f"Unexpected '{t.value}': durations are only allowed in 'with' options", _sp(t))
        return ast.Literal(0, "Int", _sp(t))

    def if_expr(self, c):
        return ast.If(c[2], c[4], c[6], _cover(c[0], c[6]))

    def branch_expr(self, c):
        arms = [x for x in c[2:-4] if isinstance(x, tuple)]
        return ast.Branch(arms, c[-2], _cover(c[0], c[-1]))

    def branch_arm(self, c):
        return (c[0], c[2])

    def match_expr(self, c):
        subject = c[1]
        if isinstance(subject, Tok):
            name = _name(subject)
            subject = ast.Var(name, name.span)
        cases = [x for x in c[3:-1] if isinstance(x, ast.Case)]
        return ast.Match(subject, cases, _sp(c[0]), _cover(c[0], c[-1]))

    def case(self, c):
        return ast.Case(c[0], c[2], _cover(c[0], c[2]))

    def record_pattern(self, c):
        return ast.RecordPattern(c[1], _cover(c[0], c[2]))

    def type_pattern(self, c):
        return ast.TypePattern(_name(c[1]), _cover(c[0], c[1]))

    def name_pattern(self, c):
        t = c[0]
        if t.value != "_":
            _ctx().error(f"A case pattern must be '{{ fields }}', 'is Type' or '_', found '{t.value}'",
                         _sp(t))
        return ast.WildcardPattern(_sp(t))

    def call(self, c):
        names = _path_names(c[0])
        rp = c[-2] if c[-1] is None or not isinstance(c[-1], list) else c[-2]
        with_ = c[-1] if isinstance(c[-1], list) else []
        args = [x for x in c[2:-2] if x is not None and not isinstance(x, Tok)]
        for n in names:
            if n.text in RESERVED:
                _ctx().error(f"'{n.text}' is a reserved word and cannot be used as a name", n.span)
        end = with_[-1] if with_ else rp
        return ast.Call(names, args, with_, _cover(names[0], end))

    def with_clause(self, c):
        return [x for x in c if isinstance(x, ast.Option)]

    def lazy_option(self, c):
        value = c[2] if len(c) > 2 else None
        return ast.Option(_name(c[0]), value=value, span=_cover(c[0], value or c[0]))

    def fallback_option(self, c):
        return ast.Option(_name(c[0]), fallback=c[2], span=_cover(c[0], c[2]))

    def key_option(self, c):
        return ast.Option(_name(c[0]), value=c[2], span=_cover(c[0], c[2]))

    def opt_value(self, c):
        first = c[0]
        if len(c) == 2:  # '-' number
            kind = _OPT_KIND[c[1].type]
            if kind == "int" and int(c[1].value) > INT_MAX + 1:
                _ctx().error("Integer literal out of range", _sp(c[1]))
            return ast.OptValue(kind, "-" + c[1].value, _cover(first, c[1]))
        if first.type == "IDENT" and len(c) > 1:
            args = [x for x in c[2:-1] if isinstance(x, ast.OptValue)]
            return ast.OptValue("call", _ctx().text[first.start_pos:c[-1].end_pos],
                                _cover(first, c[-1]), args)
        if first.type == "INT" and int(first.value) > INT_MAX:  # §1.4 holds in options too
            _ctx().error("Integer literal out of range", _sp(first))
        return ast.OptValue(_OPT_KIND[first.type], first.value, _sp(first))


_OPT_KIND = {"INT": "int", "FLOAT": "float", "SUFFIXED": "suffixed", "RATE": "rate",
             "STRING": "string", "TRUE": "bool", "FALSE": "bool", "IDENT": "word"}


def _path_names(node) -> list[ast.Name]:
    names: list[ast.Name] = []
    while isinstance(node, ast.FieldAccess):
        names.append(node.field)
        node = node.target
    names.append(node.name)
    names.reverse()
    return names


def _check_annotation(ann: ast.Annotation, args: list) -> None:
    ctx = _ctx()
    name = ann.name.text
    head = Span(ann.span.start, ann.name.span.end)
    if name not in ("example", "source", "sink"):
        ctx.error(f"Unknown annotation '@{name}' (expected @example, @source or @sink)", head)
        return
    if name == "example":
        if len(args) != 1 or args[0][0] != "pos":
            ctx.error("'@example' takes exactly one value", head)
        return
    first = args[0]
    ok = first[0] == "pos" and isinstance(first[1], ast.Literal) and first[1].kind == "String" \
        and ctx.text[first[1].span.start] == '"' and all(a[0] == "kw" for a in args[1:])
    if not ok:
        ctx.error(f"'@{name}' takes a plain string first: @{name}(\"name\", key: value, …)", head)


def _string_node(t: Tok):
    ctx = _ctx()
    info: StringInfo | None = ctx.strings.get(t.start_pos)
    span = _sp(t)
    if info is None or not info.regions:
        return ast.Literal(info.parts[0] if info else "", "String", span)
    exprs = []
    for (rs, re_), close in zip(info.regions, info.closes):
        ctx.nesting += 1
        lexed = lex(ctx.text, rs, re_, interp=True, nesting=ctx.nesting)
        closing = Tok("RBRACE", "}", close, close + 1)
        value = _drive(ctx, "expr", lexed, None, re_, eof_desc=closing)
        ctx.nesting -= 1
        exprs.append(value if value is not None else ast.Literal("", "String", _span(rs, re_)))
    return ast.Interpolation(list(info.parts), exprs, span)




# ---------------------------------------------------------------------------------------------
# Annotations (§2.3 rule 6)


def _attach_annotations(items: list, text: str, diags: list[Diagnostic],
                        last=None) -> list[ast.Decl]:
    """Attach each annotation run to the following in/out declaration (§2.3 rule 6).
    `last` is the declaration before `items` (for the quick fix that moves a run)."""
    decls: list[ast.Decl] = []
    run: list[ast.Annotation] = []
    before_run = None
    for item in items:
        if isinstance(item, ast.Annotation):
            if not run:
                before_run = last
            run.append(item)
            last = item
            continue
        if isinstance(item, (ast.InputDecl, ast.OutputDecl)):
            item.annotations = _attach_run(run, item, diags)
        elif run and not isinstance(item, ast.BrokenDecl):
            _misplaced(run, before_run, text, diags)
        run = []
        decls.append(item)
        last = item
    if run:
        _misplaced(run, before_run, text, diags)
    return decls


def _attach_run(run: list[ast.Annotation], decl, diags: list[Diagnostic]) -> list[ast.Annotation]:
    attached = []
    is_input = isinstance(decl, ast.InputDecl)
    for a in run:
        name = a.name.text
        if is_input and name == "sink":
            diags.append(Diagnostic("E020", "'@sink' annotates an output: place it before 'out'",
                                    _abs(a.span)))
        elif not is_input and name in ("example", "source"):
            diags.append(Diagnostic("E020", f"'@{name}' annotates an input: place it before 'in'",
                                    _abs(a.span)))
        else:
            attached.append(a)
    return attached


def _misplaced(run: list[ast.Annotation], before, text: str, diags: list[Diagnostic]) -> None:
    first = run[0]
    name = first.name.text
    target = "out" if name == "sink" else "in"
    fixes = ()
    wanted = ast.OutputDecl if name == "sink" else ast.InputDecl
    if isinstance(before, wanted):
        moved = text[first.span.start:run[-1].span.end]
        fixes = (Fix(f"Move '@{name}' before the '{target}' declaration", (
            TextEdit(Span(before.span.start, before.span.start), moved + "\n"),
            TextEdit(Span(before.span.end, run[-1].span.end), ""),
        )),)
    diags.append(Diagnostic(
        "E020", f"'@{name}' must be placed before the '{target}' declaration it annotates",
        _abs(first.span), fixes=fixes))


# ---------------------------------------------------------------------------------------------
# Shifting reused chunks


def _shift_diag(d: Diagnostic, delta: int) -> Diagnostic:
    return Diagnostic(
        d.code, d.message, d.span.shifted(delta),
        tuple(Related(r.span.shifted(delta), r.message) for r in d.related),
        tuple(Fix(f.title, tuple(TextEdit(e.span.shifted(delta), e.new_text) for e in f.edits))
              for f in d.fixes),
        d.tags)
