"""Chunking and recovery (§2.6): the text is cut into declaration chunks at declaration
starts; a cold parse drives long runs of chunks through one LALR pass each, and a chunk a run
cannot vouch for (a syntax error, a callback error, too deep) is parsed on its own, which is
the recovery. A chunk is a unit of the document (units.py, which keeps a document's units in
blocks and re-parses around an edit); its diagnostics are relative to its start. Annotations
are attached to the following `in`/`out` declaration by the block that holds them.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass

from constellation.compiler import ast
from constellation.compiler.ast import Span
from constellation.compiler.diagnostics import Diagnostic, Fix, TextEdit, shifted
from constellation.compiler.lexer import Tok, first_token, lex
from constellation.compiler.parsing.context import (
    MAX_DEPTH, TOO_DEEP, _abs, _Base, _Context, _Error, _name, _set_ctx, _span,
)
from constellation.compiler.parsing.lalr import _drive


@dataclass(eq=False)
class _Chunk:
    items: list  # decls and annotations, as parsed (never changed: annotations are attached
    # to copies, units.py)
    diagnostics: list[Diagnostic]  # relative to the chunk's start
    base: "_Base"  # every span in `items` is relative to the chunk's base
    has_out: bool
    has_annotation: bool
    text: str = ""
    head: str = ""  # the next chunk's first token (see _head)
    # the attached copies of the declarations of an annotation run ending here (units.py),
    # so that the next build of the same run gives the same objects
    copies: "dict | None" = None


def _parse_range(text: str, starts: list[int], lo: int, hi: int, known: dict,
                 stop: int | None = None):
    """Chunks lo..hi-1 of `starts` and how many of them came from `known`, which maps
    (chunk text, next chunk's first token) to reusable chunks, or for chunks without errors
    (chunk text less trailing blanks, None). The last of `starts` ends at `stop` (default:
    the text's end)."""
    out = []
    reused = 0
    n = len(text) if stop is None else stop
    for i in range(lo, hi):
        base = starts[i]
        end = starts[i + 1] if i + 1 < len(starts) else n
        chunk_text = text[base:end]
        head = _head(text, end)
        reuse = known.get((chunk_text, head)) or known.get((chunk_text.rstrip(_BLANKS), None))
        if reuse:
            chunk = reuse.pop()
            chunk.text, chunk.head = chunk_text, head
            reused += 1
        else:
            chunk = _parse_chunk(text, base, end)
            chunk.text, chunk.head = chunk_text, head
        out.append(chunk)
    return out, reused


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


_HEAD_RE = re.compile(r"[ \t\r]*(?:@|[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)")


def _head(text: str, start: int) -> str:
    """The next chunk's first token (with its indentation): errors at a chunk's end name that
    token, so it is part of the cache key. Chunks start with `@`, a name or a keyword."""
    m = _HEAD_RE.match(text, start)
    return text[start:m.end()] if m else text[start:start + 1]


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
    start = ctx.base.offset
    return _Chunk(out, [shifted(d, -start) for d in diags], ctx.base, has_out, has_ann)


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


def _attach_annotations(items: list, text: str, diags: list[Diagnostic], last=None,
                        copies: dict | None = None, used: dict | None = None) -> list[ast.Decl]:
    """Attach each annotation run to the following in/out declaration (§2.3 rule 6).
    `last` is the declaration before `items` (for the quick fix that moves a run). A
    declaration with annotations is a copy (an older analysis holds the parsed one): the one
    in `copies` when it has the same annotations; `used` gets the copies made or reused."""
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
                key = tuple(attached)
                known = copies.get(item) if copies else None
                copy = known[1] if known is not None and known[0] == key \
                    else dataclasses.replace(item, annotations=attached)
                if used is not None:
                    used[item] = (key, copy)
                item = copy
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
