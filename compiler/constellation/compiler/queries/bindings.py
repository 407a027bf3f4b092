"""The bindings of an Analysis that several queries show: the canonical assignments and the
unused ones (diagnostics, code actions, inlay hints and code lenses), cached on the Analysis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from constellation.compiler import ast
from constellation.compiler.queries import reading
from constellation.compiler.queries.reading import cached

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis


def canonical_assignments(analysis: Analysis) -> list[ast.Assignment]:
    """The assignments that define their names, in source order (duplicates left out)."""
    return cached(analysis, "canonical assignments", lambda: [
        decl for decl in analysis.decls
        if isinstance(decl, ast.Assignment) and reading.is_canonical(analysis, decl)])


def unused_bindings(analysis: Analysis) -> list[ast.Assignment]:
    """Canonical assignments nothing reads and that are not outputs (they still run)."""
    def find() -> list[ast.Assignment]:
        outputs = set(reading.outputs(analysis))
        values = reading.value_symbols(analysis)
        out = []
        for decl in canonical_assignments(analysis):
            sym = values.get(decl.name.text)
            if sym is not None and sym.decl is decl and not sym.references \
                    and decl.name.text not in outputs:
                out.append(decl)
        return out
    return cached(analysis, "unused bindings", find)
