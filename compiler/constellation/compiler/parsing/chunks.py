"""Chunking and recovery (§2.6): the text is cut into declaration chunks at declaration
starts; a cold parse drives long runs of chunks through one LALR pass each, and a chunk a run
cannot vouch for (a syntax error, a callback error, too deep) is parsed on its own, which is
the recovery. `ParseCache` keeps a document's chunks: a re-parse re-splits around the edit and
reuses chunks whose text is unchanged (moved, see context.py). Annotations are attached to
the following `in`/`out` declaration here, once per parse.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass, field

from constellation.compiler import ast
from constellation.compiler.ast import Span
from constellation.compiler.diagnostics import Diagnostic, Fix, Related, TextEdit
from constellation.compiler.lexer import (
    Tok, declaration_starts, first_token, iter_declaration_starts, lex,
)
from constellation.compiler.parsing.context import (
    MAX_DEPTH, TOO_DEEP, _abs, _Base, _Context, _Error, _name, _set_ctx, _span,
)
from constellation.compiler.parsing.lalr import _drive


@dataclass
class ParseResult:
    decls: list[ast.Decl]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # each chunk's offset in this text, by its `_Base` (context.py): a later parse of the same
    # cache moves the chunks it reuses, and this result keeps where they were in its own text.
    # None when no cache holds the chunks (their bases never move).
    offsets: "dict[_Base, int] | None" = None


@dataclass(eq=False)
class _Chunk:
    items: list  # decls and annotations (before attachment)
    diagnostics: list[Diagnostic]
    base: "_Base"  # every span in `items` is relative to base.offset
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
    result = _assemble(text, chunks)
    if cache is not None:
        result.offsets = {ch.base: ch.base.offset for ch in chunks}
    return result


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
    run: list[_Chunk] = []  # their chunks
    for ch in chunks:
        if ch.diagnostics:
            diags.extend(ch.diagnostics)
        has_out = has_out or ch.has_out
        if ch.has_annotation or pending:
            pending.extend(ch.items)
            run.append(ch)
            if not _ends_with_annotation(ch):
                decls.extend(_attach_in(run, pending, text, diags, decls[-1] if decls else None))
                pending, run = [], []
        else:
            first = ch.items[0] if ch.items else None
            if isinstance(first, (ast.InputDecl, ast.OutputDecl)) and first.annotations:
                # attached by an earlier parse; no run precedes it now
                _keep_attached(ch, first, [])
            decls.extend(ch.items)
    if pending:
        decls.extend(_attach_in(run, pending, text, diags, decls[-1] if decls else None))
    if not diags and not has_out:
        diags.append(Diagnostic(
            "E020", "A pipeline must declare at least one output ('out name')",
            Span(len(text), len(text))))
    diags.sort(key=lambda d: d.span.start)
    return ParseResult(decls, diags)


def _attach_in(run: list[_Chunk], items: list, text: str, diags: list[Diagnostic], last):
    """`_attach_annotations` over the items of a run of chunks, whose declarations then hold
    what was attached (see `_keep_attached`)."""
    decls = _attach_annotations(items, text, diags, last)
    changed = {id(old): new for old, new in zip(
        (x for x in items if not isinstance(x, ast.Annotation)), decls) if old is not new}
    if changed:
        for ch in run:
            ch.items = [changed.get(id(x), x) for x in ch.items]
    return decls


def _keep_attached(ch: _Chunk, decl, annotations: list) -> None:
    """A declaration is never changed in place (an older analysis holds it): one with other
    annotations is a copy, which the chunk keeps for the next parse."""
    copy = dataclasses.replace(decl, annotations=annotations)
    ch.items = [copy if x is decl else x for x in ch.items]


def _ends_with_annotation(ch: _Chunk) -> bool:
    return bool(ch.items) and isinstance(ch.items[-1], ast.Annotation)


_HEAD_RE = re.compile(r"[ \t\r]*(?:@|[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)")


def _head(text: str, start: int) -> str:
    """The next chunk's first token (with its indentation): errors at a chunk's end name that
    token, so it is part of the cache key. Chunks start with `@`, a name or a keyword."""
    m = _HEAD_RE.match(text, start)
    return text[start:m.end()] if m else text[start:start + 1]


def _move_chunk(chunk: "_Chunk", offset: int) -> None:
    delta = offset - chunk.base.offset
    if not delta:
        return
    chunk.base.offset = offset
    chunk.diagnostics = [_shift_diag(d, delta) for d in chunk.diagnostics]


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
    chunks = [_Chunk([], [], base, False, False) for base in ctx.bases[:count]]
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
        return _Chunk(items, [], ctx.base, has_out, has_ann)
    out: list = []
    errors = sorted(ctx.errors, key=lambda e: e.span.start)
    diags: list[Diagnostic] = []
    used: set[_Error] = set()
    for item in items:
        span = item.span
        lo, hi = span.start, max(span.end, span.start + 1)
        mine = [e for e in errors if lo <= e.span.start < hi and e not in used]
        if not mine and ctx.token_count > MAX_DEPTH:
            deep = _too_deep(item)
            if deep is not None:
                mine = [_Error(TOO_DEEP,
                               _abs(deep))]
        if mine:
            used.update(mine)
            diags.append(_diag(mine[0]))
            out.append(_broken(item))
        else:
            out.append(item)
    if failed:
        done = out[-1].span.end if out else -1
        rest = [t for t in tokens if t.start_pos >= done]
        remaining = [e for e in errors if e not in used]
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
    return _Chunk(out, diags, ctx.base, has_out, has_ann)


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
            attached = _attach_run(run, item, diags)
            if attached != item.annotations:  # a copy: an older analysis holds `item`
                item = dataclasses.replace(item, annotations=attached)
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


def _shift_diag(d: Diagnostic, delta: int) -> Diagnostic:
    return Diagnostic(
        d.code, d.message, d.span.shifted(delta),
        tuple(Related(r.span.shifted(delta), r.message) for r in d.related),
        tuple(Fix(f.title, tuple(TextEdit(e.span.shifted(delta), e.new_text) for e in f.edits))
              for f in d.fixes),
        d.tags)
