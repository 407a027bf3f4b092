"""Signature help inside a call: the function's parameters, the one under the cursor active."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler.queries import reading
from constellation.compiler.queries.context import call_context, resolve_function
from constellation.compiler.types import type_str

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis


@dataclass(frozen=True)
class Signature:
    label: str
    documentation: str | None  # markdown
    parameters: list[str]
    active: int  # the parameter under the cursor


def signature_at(analysis: Analysis, offset: int) -> Signature | None:
    ctx = call_context(analysis, offset)
    if ctx is None:
        return None
    fn = resolve_function(analysis.registry, ctx.name, reading.alias_paths(analysis),
                          reading.use_paths(analysis))
    if fn is None:
        return None
    labels = [f"{name}: {type_str(t)}" for name, t in fn.params]
    return Signature(fn.signature(), fn.doc or None, labels,
                     min(ctx.active, max(len(labels) - 1, 0)))
