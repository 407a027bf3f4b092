"""Read-only views of an Analysis and of a run's values that several features show
(diagnostics and code actions, inlay hints, hover and code lenses): features never import
each other, they share these.
"""

from __future__ import annotations

import json

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis


def canonical_assignments(analysis: Analysis):
    for decl in analysis.decls:
        if isinstance(decl, ast.Assignment) and id(decl) in analysis.check.canonical:
            yield decl


def unused_bindings(analysis: Analysis):
    """Canonical assignments nothing reads and that are not outputs (they still run)."""
    outputs = set(analysis.check.outputs)
    for decl in analysis.decls:
        if not isinstance(decl, ast.Assignment) or id(decl) not in analysis.check.canonical:
            continue
        sym = analysis.symbols.values.get(decl.name.text)
        if sym is not None and sym.decl is decl and not sym.references and decl.name.text not in outputs:
            yield decl


def value_text(value: object, limit: int, indent: int | None = None) -> str:
    """The value as JSON, cut after `limit` characters with how many are left out."""
    try:
        text = json.dumps(value, ensure_ascii=False, indent=indent)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit:,} more characters)"
    return text


def duration_text(ms: object) -> str | None:
    if not isinstance(ms, (int, float)) or isinstance(ms, bool):
        return None
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"
