"""Code lenses: the `layer N` lens above each binding that calls a module and has a layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler.queries.bindings import canonical_assignments
from constellation.compiler.queries.layers import binding_layer
from constellation.compiler.queries.reading import cached

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis


@dataclass(frozen=True, slots=True)
class LayerLens:
    offset: int  # the binding's start
    layer: int


def layer_lenses(analysis: Analysis) -> list[LayerLens]:
    """One lens per runnable binding, in source order, made once per Analysis."""
    def make() -> list[LayerLens]:
        out = []
        for decl in canonical_assignments(analysis):
            info = binding_layer(analysis, decl.name.text, limit=0)
            if info is not None and info.runnable:
                out.append(LayerLens(decl.span.start, info.layer))
        return out
    return cached(analysis, "layer lenses", make)
