"""Per-document check state kept between analyses, so an edit re-checks only what it touched.

The parser's ParseCache hands back the very same declaration objects for unchanged chunks (their
spans move with the chunk). For each canonical assignment checked without a diagnostic, the
checker records what its check produced and the facts it read from the rest of the file (the
types of the top-level names and aliases it used, the registry and the `use` environment). On
the next analysis a declaration that is the same object and whose facts are unchanged is
replayed from its record instead of being checked again. Declarations with diagnostics are
always re-checked: their messages may embed positions or suggestions drawn from the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from constellation.compiler import ast
from constellation.compiler.symbols import Symbol
from constellation.compiler.types import Type

# symbol kinds that live in the file-wide table (looked up again by name on replay)
TABLE_OF_KIND = {"input": "values", "binding": "values", "type": "types",
                 "namespace-alias": "namespace_aliases"}


@dataclass(eq=False)
class DeclRecord:
    decl: ast.Decl
    env: tuple
    binding_type: Type
    value_deps: list[tuple[str, Type]]  # top-level value name read -> its type then
    alias_deps: list[tuple[str, Type | None]]  # alias name resolved -> its type then (None: none)
    expr_types: dict[int, Type]
    local_vars: dict[int, Symbol]  # id(ast.Var) -> local symbol (lambda parameter, pattern)
    top_vars: list[tuple[int, str]]  # id(ast.Var) -> top-level value name
    call_targets: dict
    call_options: dict
    call_types: dict
    occurrences: list[tuple[ast.Span, str | None, object]]  # (span, table or None, name or local)
    locals: list[Symbol]


@dataclass(eq=False)
class CheckMemo:
    """Stored on the ParseCache of a document (attribute `check_memo`)."""

    records: dict[int, DeclRecord] = field(default_factory=dict)  # id(decl) -> record
    free_refs: dict[int, tuple[ast.Decl, list]] = field(default_factory=dict)
    registry: object = None  # kept alive so its id in `env` stays unique
    components: tuple | None = None  # (names, edges, strongly connected components)
    # the last check's `use` wildcards, namespace alias targets and type declarations
    environment: tuple | None = None
    previous: object = None  # fastpath.Previous of the last analysis when it was valid
    # counters of the last check (for tests and benchmarks)
    rechecked: list[str] = field(default_factory=list)  # assignments checked afresh
    reused: int = 0  # assignments replayed from their record
    patched: bool = False  # the last analysis took the quick path (fastpath.py)


def memo_for(cache) -> CheckMemo | None:
    """The check memo riding on a ParseCache (created on first use); None without a cache."""
    if cache is None:
        return None
    memo = getattr(cache, "check_memo", None)
    if memo is None:
        memo = CheckMemo()
        cache.check_memo = memo
    return memo
