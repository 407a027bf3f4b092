"""Per-document check state kept between analyses, so an edit re-checks only what it touched.

The parser's ParseCache hands back the very same declaration objects for unchanged chunks (their
spans are relative to the chunk, which the parse moves). For each canonical assignment checked without a diagnostic, the
checker records what its check produced and the facts it read from the rest of the file (the
types of the top-level names and aliases it used, the registry and the `use` environment). On
the next analysis a declaration that is the same object and whose facts are unchanged is
replayed from its record instead of being checked again. Declarations with diagnostics are
always re-checked: their messages may embed positions or suggestions drawn from the whole file.
A document's first check records nothing, so a cold analysis costs what it did without a memo;
the quick path (fastpath.py) reads the one record it needs back from that analysis instead.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import islice

from constellation.compiler import ast
from constellation.compiler.symbols import TABLE_OF_KIND, Symbol
from constellation.compiler.types import Type



class DeclRecord:
    """What checking one assignment produced, and the facts it read.

    Cheap to make (the cold check records every assignment): its five per-node tables
    (expr_types, var_symbols, call_targets, call_options, call_types) are runs of the check's
    own dicts, which only grow while one declaration is checked; they are cut out the first
    time they are read (`materialize` cuts many at once). Top-level symbols in a record are
    looked up again by name on replay."""

    __slots__ = ("decl", "env", "binding_type", "deps", "occurrences", "locals", "_source",
                 "_marks", "_tables")

    def __init__(self, decl: ast.Decl, env: tuple, binding_type: Type,
                 deps: dict[tuple[str, str], Type | None], occurrences: list, locals_: list,
                 source: tuple[dict, ...], marks: tuple[tuple[int, int], ...]):
        self.decl = decl
        self.env = env
        self.binding_type = binding_type
        self.deps = deps  # ("v", value name) / ("t", alias name) -> its type when read
        self.occurrences: list[tuple[ast.Span, Symbol]] = occurrences
        self.locals: list[Symbol] = locals_
        self._source: tuple[dict, ...] | None = source
        self._marks = marks
        self._tables: tuple[dict, ...] | None = None

    def tables(self) -> tuple[dict, ...]:
        if self._tables is None:
            self._tables = tuple(dict(islice(d.items(), a, b))
                                 for d, (a, b) in zip(self._source, self._marks))
            self._source = None
        return self._tables

    expr_types = property(lambda self: self.tables()[0])
    var_symbols = property(lambda self: self.tables()[1])
    call_targets = property(lambda self: self.tables()[2])
    call_options = property(lambda self: self.tables()[3])
    call_types = property(lambda self: self.tables()[4])

    def signature(self) -> list[tuple[str, str]]:
        """The file-wide symbols its occurrences resolve to, in order, as (table, name)."""
        return [(TABLE_OF_KIND[sym.kind], sym.name) for _, sym in self.occurrences
                if sym.kind in TABLE_OF_KIND]


def materialize(records) -> None:
    """Cut the tables of many records in one pass over each source dict (not one skip from
    the start per record)."""
    pending: dict[int, list[DeclRecord]] = {}
    for rec in records:
        if rec._tables is None:
            pending.setdefault(tuple(map(id, rec._source)), []).append(rec)
    for group in pending.values():
        group.sort(key=lambda r: r._marks[0][0])
        columns: list[list[dict]] = []
        for k, source in enumerate(group[0]._source):
            items = iter(source.items())
            at = 0
            column = []
            for rec in group:
                a, b = rec._marks[k]
                if a < at:  # overlapping runs cannot happen; be safe and cut it alone
                    column.append(dict(islice(source.items(), a, b)))
                    continue
                deque(islice(items, a - at), maxlen=0)
                column.append(dict(islice(items, b - a)))
                at = b
            columns.append(column)
        for i, rec in enumerate(group):
            rec._tables = tuple(column[i] for column in columns)
            rec._source = None


@dataclass(eq=False)
class CheckMemo:
    """Stored on the ParseCache of a document (attribute `check_memo`)."""

    records: dict[int, DeclRecord] = field(default_factory=dict)  # id(decl) -> record
    warm: bool = False  # a check was made before (then checks record their assignments)
    materialized: bool = True  # every record's tables are cut (see `materialize`)
    free_refs: dict[int, tuple[ast.Decl, list]] = field(default_factory=dict)
    registry: object = None  # kept alive so its id in `env` stays unique
    # (names, edges, strongly connected components, and strongly_connected's `entered` and
    # `turns`: what the quick path needs to tell whether an edit keeps the order)
    components: tuple | None = None
    # the last check's `use` wildcards, namespace alias targets and type declarations
    environment: tuple | None = None
    previous: object = None  # fastpath.Previous of the last analysis without errors
    # counters of the last check (for tests and benchmarks)
    rechecked: list[str] = field(default_factory=list)  # assignments checked afresh
    reused: int = 0  # assignments replayed from their record
    patched: bool = False  # the last analysis took the quick path (fastpath.py)
    quick_path_error: str | None = None  # the last exception the quick path raised (a bug)


def memo_for(cache) -> CheckMemo | None:
    """The check memo riding on a ParseCache (created on first use); None without a cache."""
    if cache is None:
        return None
    memo = getattr(cache, "check_memo", None)
    if memo is None:
        memo = CheckMemo()
        cache.check_memo = memo
    return memo
