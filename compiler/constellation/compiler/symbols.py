"""Symbol table: the definition and every reference of each name (filled by the checker)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from constellation.compiler.ast import Span
from constellation.compiler.types import Type


@dataclass(eq=False)
class Symbol:
    name: str
    kind: str  # "input" | "binding" | "type" | "namespace-alias" | "param" | "pattern"
    span: Span  # the defining name
    decl: object | None = None  # the declaration / Param / Case that defines it
    type: Type | None = None
    references: list[Span] = field(default_factory=list)

    @property
    def is_top_level_value(self) -> bool:
        return self.kind in ("input", "binding")


# symbol kinds that live in the file-wide tables: such a symbol is known by its table and name
TABLE_OF_KIND = {"input": "values", "binding": "values", "type": "types",
                 "namespace-alias": "namespace_aliases"}


def _same(span: Span) -> Span:
    return span


@dataclass
class SymbolTable:
    values: dict[str, Symbol] = field(default_factory=dict)  # canonical top-level values
    types: dict[str, Symbol] = field(default_factory=dict)  # aliases declared by `type`
    namespace_aliases: dict[str, Symbol] = field(default_factory=dict)  # `use p as m`
    locals: list[Symbol] = field(default_factory=list)  # lambda params, pattern bindings
    # every resolved occurrence of a name (definitions included), sorted by start. A file-wide
    # symbol there may be an earlier analysis's object of the same name, kind and span (the
    # quick path copies only the symbols it changes): `symbol_at` answers with this table's
    occurrences: list[tuple[Span, Symbol]] = field(default_factory=list)

    def add_occurrence(self, span: Span, symbol: Symbol, *, is_definition: bool = False) -> None:
        self.occurrences.append((span, symbol))
        if not is_definition:
            symbol.references.append(span)

    def finish(self, at=_same) -> None:
        """Sort the occurrences (moving declarations keep their order) and note their starts
        in the analysis's text (`at`: its `Analysis.absolute`)."""
        self.occurrences.sort(key=lambda item: (item[0].start, item[0].end))
        self._starts = [at(s).start for s, _ in self.occurrences]

    def symbol_at(self, offset: int, at=_same) -> tuple[Span, Symbol] | None:
        """The name occurrence covering `offset` (end inclusive, for a cursor after a name),
        its span in the analysis's text (`at`: its `Analysis.absolute`)."""
        starts = getattr(self, "_starts", None)
        if starts is None:
            self.finish(at)
            starts = self._starts
        i = bisect.bisect_right(starts, offset) - 1
        while i >= 0:
            span, sym = self.occurrences[i]
            span = at(span)
            if span.start <= offset <= span.end:
                return span, self.current(sym)
            if offset - span.start > 200:
                break
            i -= 1
        return None

    def current(self, sym: Symbol) -> Symbol:
        """This table's symbol of the name `sym` names (itself when not file-wide)."""
        table = TABLE_OF_KIND.get(sym.kind)
        return sym if table is None else getattr(self, table).get(sym.name, sym)
