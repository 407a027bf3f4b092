"""A document as a sequence of declaration units, held in blocks (§2.6 cut, chunks.py parse).

A unit is one declaration chunk: its text, its parsed items (never changed after the parse)
and its syntax diagnostics, relative to the unit's start. Units are held in blocks of about
`BLOCK` units; a block knows its units' offsets relative to its own start, the declarations
of its units with their annotations attached (§2.3 rule 6) and its diagnostics, relative to
its start. A `Layout` is one text's list of blocks and where each starts.

An edit re-parses the units around it and rebuilds only the blocks that hold them; the later
blocks are shared and only their starts shift (a tuple as long as the blocks, not the units).
A block is never changed after it is built, so an older Layout (an older Analysis) keeps
reading its own text's positions. A block boundary never falls inside an annotation run, nor
just before a unit with annotations, so attaching annotations is a block's own business.

Reading `node.span` directly gives the newest parse's positions (a unit's `_Base` points at
its newest block and its offset there, and each block at its newest start); what reads
positions after the parse asks the Layout (`Layout.offset_of`, through `context.absolute`).
"""

from __future__ import annotations

import bisect
from itertools import chain
from dataclasses import dataclass, field

from constellation.compiler import ast
from constellation.compiler.ast import Span
from constellation.compiler.diagnostics import Diagnostic, shifted
from constellation.compiler.lexer import declaration_starts, iter_declaration_starts
from constellation.compiler.parsing.chunks import (
    _BLANKS, _Chunk, _attach_annotations, _common_ends, _head, _parse_chunks, _parse_range,
    _start_decided_at,
)

BLOCK = 64  # units per block: an edit rebuilds about this many


class Block:
    """Consecutive units and what is read of them together; built once, never changed (but
    for `offset`, the block's start in the newest text, which only newest spans read)."""

    __slots__ = ("units", "bases", "rels", "length", "decls", "diagnostics", "has_out",
                 "offset")

    def __init__(self, units: tuple[_Chunk, ...], offset: int, text: str):
        self.units = units
        self.bases = tuple(u.base for u in units)
        self.offset = offset
        rels = []
        at = 0
        for u in units:
            rels.append(at)
            base = u.base
            base.rel, base.block = at, self  # the newest block and offset of the unit
            at += len(u.text)
        self.rels = tuple(rels)
        self.length = at
        self.has_out = any(u.has_out for u in units)
        self.decls, self.diagnostics = _declarations(units, rels, offset, text)


def _declarations(units, rels, offset: int, text: str) -> tuple[tuple, tuple]:
    """The block's declarations (annotations attached) and its diagnostics, relative to its
    start. An attached declaration is a copy, kept on the run's last unit so that the next
    build of the same run gives the same object."""
    decls: list = []
    diags: list[Diagnostic] = []
    pending: list = []  # items from an annotation run onwards
    run: list[_Chunk] = []  # their units
    for u, rel in zip(units, rels):
        if u.diagnostics:
            diags.extend(shifted(d, rel) for d in u.diagnostics)
        if u.has_annotation or pending:
            pending.extend(u.items)
            run.append(u)
            if not _ends_with_annotation(u):
                decls.extend(_attach_run(run, pending, text, diags, offset,
                                         decls[-1] if decls else None))
                pending, run = [], []
        else:
            decls.extend(u.items)
    if pending:
        decls.extend(_attach_run(run, pending, text, diags, offset, decls[-1] if decls else None))
    diags.sort(key=lambda d: d.span.start)
    return tuple(decls), tuple(diags)


def _attach_run(run: list[_Chunk], items: list, text: str, diags: list[Diagnostic],
                offset: int, last) -> list:
    copies: dict = {}
    for u in run:
        if u.copies:
            copies.update(u.copies)
    found: list[Diagnostic] = []
    used: dict = {}
    decls = _attach_annotations(items, text, found, last, copies, used)
    run[-1].copies = used or None
    diags.extend(shifted(d, -offset) for d in found)
    return decls


def _ends_with_annotation(u: _Chunk) -> bool:
    return bool(u.items) and isinstance(u.items[-1], ast.Annotation)


def _may_cut(before: _Chunk, after: _Chunk) -> bool:
    """A block may end between these units: no annotation run crosses, and the declaration
    before any run in `after`'s block is in that block."""
    return bool(after.items) and not after.has_annotation and not _ends_with_annotation(before)


def _group(units: list[_Chunk]) -> list[list[_Chunk]]:
    groups: list[list[_Chunk]] = []
    current: list[_Chunk] = []
    for u in units:
        if len(current) >= BLOCK and _may_cut(current[-1], u):
            groups.append(current)
            current = []
        current.append(u)
    if current:
        if groups and len(current) < BLOCK // 4 and _may_cut(groups[-1][-1], current[0]):
            groups[-1].extend(current)  # no tiny last block: edits would fragment the document
        else:
            groups.append(current)
    return groups


def _blocks(units: list[_Chunk], start: int, text: str) -> list[Block]:
    out = []
    for group in _group(units):
        block = Block(tuple(group), start, text)
        out.append(block)
        start += block.length
    return out


class Layout:
    """One text's blocks and their starts: where its AST's positions are."""

    __slots__ = ("blocks", "starts", "_index", "_moved")

    def __init__(self, blocks: tuple[Block, ...], starts: tuple[int, ...]):
        self.blocks = blocks
        self.starts = starts
        self._index = {b: j for j, b in enumerate(blocks)}
        self._moved: dict = {}  # bases whose newest block is not one of ours, found once

    def offset_of(self, base) -> int:
        """Where the unit of `base` starts in this layout's text."""
        j = self._index.get(base.block)
        if j is not None:
            return self.starts[j] + base.rel
        off = self._moved.get(base)
        if off is None:
            off = base.offset  # not one of ours (made outside any layout)
            for block, start in zip(self.blocks, self.starts):
                if base in block.bases:
                    off = start + block.rels[block.bases.index(base)]
                    break
            self._moved[base] = off
        return off

    def block_at(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def unit_starts(self) -> list[int]:
        return [s + r for b, s in zip(self.blocks, self.starts) for r in b.rels]


@dataclass
class ParseResult:
    decls: list[ast.Decl]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # where this text's units are (their nodes' spans are relative to them): read positions
    # through it, as a later parse of the same cache moves what it shares with this one
    layout: Layout | None = None
    # (previous text, common prefix, common suffix) when parsed as an edit of that text
    edit: tuple[str, int, int] | None = None


class ParseCache:
    """A document's units: the previous text and its layout. A new parse re-parses only the
    units around the edit (and reuses the ones there whose text is unchanged, by (unit text,
    next unit's first token)); the other blocks are shared."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.layout: Layout | None = None
        self.hits = 0  # units reused by the last parse
        self.misses = 0  # units parsed by the last parse
        # the last text's line index (compiler.source.Source), from which analysis.py makes
        # the next one
        self.source = None

    @property
    def starts(self) -> list[int]:
        """Where the declaration units of the last text start."""
        return self.layout.unit_starts() if self.layout is not None else []


def shared_decls(a: Layout, b: Layout) -> tuple[int, int]:
    """How many declarations two layouts share at their start and at their end (the same
    objects; the two counts never overlap). Shared blocks are counted whole, so this costs
    the blocks and the declarations of the blocks that differ, not the document."""
    n = min(sum(len(x.decls) for x in a.blocks), sum(len(x.decls) for x in b.blocks))
    head = _shared_run(a.blocks, b.blocks, n, reverse=False)
    tail = _shared_run(a.blocks[::-1], b.blocks[::-1], n - head, reverse=True)
    return head, tail


def _shared_run(a: tuple, b: tuple, limit: int, reverse: bool) -> int:
    count = j = 0
    while j < len(a) and j < len(b) and a[j] is b[j] and count + len(a[j].decls) <= limit:
        count += len(a[j].decls)
        j += 1
    rest = zip(chain.from_iterable(x.decls[::-1] if reverse else x.decls for x in a[j:]),
               chain.from_iterable(x.decls[::-1] if reverse else x.decls for x in b[j:]))
    for x, y in rest:
        if x is not y or count >= limit:
            break
        count += 1
    return count


def parse_units(text: str, cache: ParseCache | None) -> ParseResult:
    if cache is None or cache.text is None:
        starts = declaration_starts(text)
        blocks = _blocks(_parse_chunks(text, starts), 0, text)
        layout = Layout(tuple(blocks), tuple(b.offset for b in blocks))
        hits, misses = 0, len(starts)
        edit = None
    else:
        p, q = _common_ends(cache.text, text)
        layout, hits, misses = _reparse(text, cache, p, q)
        edit = (cache.text, p, q)
    if cache is not None:
        cache.text, cache.layout, cache.hits, cache.misses = text, layout, hits, misses
    result = result_of(text, layout)
    result.edit = edit
    return result


def assemble(text: str, units: list[_Chunk]) -> ParseResult:
    """The result of these units of `text` (the reference parses of the tests)."""
    blocks = _blocks(units, 0, text)
    return result_of(text, Layout(tuple(blocks), tuple(b.offset for b in blocks)))


def result_of(text: str, layout: Layout) -> ParseResult:
    decls: list = []
    diags: list[Diagnostic] = []
    has_out = False
    for block, start in zip(layout.blocks, layout.starts):
        decls.extend(block.decls)
        if block.diagnostics:
            diags.extend(shifted(d, start) for d in block.diagnostics)
        has_out = has_out or block.has_out
    if not diags and not has_out:
        diags.append(Diagnostic(
            "E020", "A pipeline must declare at least one output ('out name')",
            Span(len(text), len(text))))
    return ParseResult(decls, diags, layout)


def _holds_prefix(units: list[_Chunk], block_units: tuple) -> bool:
    n = len(block_units)
    return len(units) > n and all(a is b for a, b in zip(units, block_units)) \
        and _may_cut(units[n - 1], units[n])


def _holds_suffix(units: list[_Chunk], block_units: tuple) -> bool:
    n = len(block_units)
    return len(units) > n and all(a is b for a, b in zip(units[-n:], block_units)) \
        and _may_cut(units[-n - 1], units[-n])


class _Widen(Exception):
    """The stretch to re-parse must take in one more block before (-1) or after (+1)."""

    def __init__(self, side: int):
        self.side = side


def _reparse(text: str, cache: ParseCache, p: int, q: int) -> tuple[Layout, int, int]:
    old_text, old = cache.text, cache.layout
    if not old.blocks:
        return parse_units(text, None).layout, 0, len(declaration_starts(text))
    lo = max(0, old.block_at(p) - 1)
    hi = max(old.block_at(len(old_text) - q), lo) + 1
    while True:
        try:
            return _restitch(text, old_text, old, lo, hi, p, q)
        except _Widen as w:
            if w.side < 0:
                lo -= 1
            else:
                hi += 1


def _restitch(text: str, old_text: str, old: Layout, lo: int, hi: int, p: int, q: int):
    """Blocks lo..hi-1 of `old` re-split and re-parsed around the edit, the rest shared."""
    nb = len(old.blocks)
    delta = len(text) - len(old_text)
    old_edit_end = len(old_text) - q
    new_edit_end = len(text) - q
    units: list[_Chunk] = []
    w_starts: list[int] = []
    for block, start in zip(old.blocks[lo:hi], old.starts[lo:hi]):
        units.extend(block.units)
        w_starts.extend(start + r for r in block.rels)
    w_end = old.starts[hi] if hi < nb else len(old_text)
    # restart one unit before the edited one: its head lies entirely before the edit, and so
    # does what made it a declaration start (its second token: `type` ⏎ `}` is a field name,
    # `type` ⏎ `T` a declaration), or the scan starts further back
    k = bisect.bisect_right(w_starts, p) - 2
    if k < 0:
        if lo > 0:
            raise _Widen(-1)
        k = 0
    while k > 0 and _start_decided_at(old_text, w_starts[k]) >= p:
        k -= 1
    if k == 0 and lo > 0 and _start_decided_at(old_text, w_starts[0]) >= p:
        raise _Widen(-1)
    old_set = set(w_starts)
    if hi < nb:
        old_set.add(w_end)
    starts = w_starts[:k + 1]
    sync = None  # index in w_starts from which old and new splits agree again
    for c in iter_declaration_starts(text, w_starts[k]):
        if c <= starts[-1]:
            continue
        old_c = c - delta
        if c >= new_edit_end and old_c in old_set and old_c >= old_edit_end:
            sync = bisect.bisect_left(w_starts, old_c)
            break
        if hi < nb and old_c >= w_end:
            raise _Widen(1)
        starts.append(c)
    if sync is None and hi < nb:
        raise _Widen(1)
    mid_end = len(starts)
    if sync is not None:
        starts.extend(s + delta for s in w_starts[sync:])
    end = w_end + delta
    # units whose text and next line end before the edit are kept as they are
    keep = min(k, len(units))
    while keep > 0:
        e = w_starts[keep] if keep < len(w_starts) else w_end
        if e + len(_head(old_text, e)) < p:
            break
        keep -= 1
    if keep == 0 and lo > 0 and w_starts[0] + len(_head(old_text, w_starts[0])) >= p:
        raise _Widen(-1)  # the edit reaches the previous unit's next token
    known: dict = {}
    tail_from = sync if sync is not None else len(units)
    for u in units[keep:tail_from]:
        # only error messages name the next unit's first token, and blank lines at the end
        # change no declaration: a unit without errors is reused whatever follows it
        key = (u.text, u.head) if u.diagnostics else (u.text.rstrip(_BLANKS), None)
        known.setdefault(key, []).append(u)
    middle, reused = _parse_range(text, starts, keep, mid_end, known, end)
    new_units = units[:keep] + middle + (units[sync:] if sync is not None else [])
    # a block boundary may not fall inside an annotation run: take in the neighbours
    while lo > 0 and new_units and not _may_cut(old.blocks[lo - 1].units[-1], new_units[0]):
        lo -= 1
        new_units[:0] = old.blocks[lo].units
    while hi < nb and new_units and not _may_cut(new_units[-1], old.blocks[hi].units[0]):
        new_units.extend(old.blocks[hi].units)
        hi += 1
    # a block of the stretch whose units all stay, with a boundary allowed after it (before
    # it), is kept as it is: what a block holds depends on its units alone
    while lo + 1 < hi and _holds_prefix(new_units, old.blocks[lo].units):
        new_units = new_units[len(old.blocks[lo].units):]
        lo += 1
    while hi - 1 > lo and _holds_suffix(new_units, old.blocks[hi - 1].units):
        new_units = new_units[:len(new_units) - len(old.blocks[hi - 1].units)]
        hi -= 1
    start = old.starts[lo]
    rebuilt = _blocks(new_units, start, text)
    later = old.blocks[hi:]
    for block in later:
        block.offset += delta  # newest positions; older layouts keep their own starts
    blocks = old.blocks[:lo] + tuple(rebuilt) + later
    starts_out = old.starts[:lo] + tuple(b.offset for b in rebuilt) \
        + tuple(s + delta for s in old.starts[hi:])
    misses = len(middle) - reused
    total = sum(len(b.units) for b in rebuilt) + sum(len(old.blocks[j].units)
                                                    for j in range(nb) if j < lo or j >= hi)
    return Layout(blocks, starts_out), total - misses, misses
