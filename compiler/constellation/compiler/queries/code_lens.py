"""Code lenses: the `layer N` lens above each binding that calls a module and has a layer, and
the partial-run lenses (`▶ Run to here`, `↻ Re-run from here`) above the same bindings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler.queries.bindings import canonical_assignments
from constellation.compiler.queries.layers import binding_layer
from constellation.compiler.queries.reading import cached, span_of

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis


@dataclass(frozen=True, slots=True)
class LayerLens:
    offset: int  # the binding's start
    layer: int


@dataclass(frozen=True, slots=True)
class PartialRunLens:
    offset: int  # the binding's start
    title: str
    arguments: dict  # of the run command besides the document: {"target": [NAME]} or {"from": NAME}


RUN_TO_HERE = "▶ Run to here"
RERUN_FROM_HERE = "↻ Re-run from here"


def _call_bindings(analysis: Analysis) -> list[tuple[int, str, int]]:
    """(start, name, layer) of each runnable binding that calls a module, in source order."""
    def make() -> list[tuple[int, str, int]]:
        out = []
        for decl in canonical_assignments(analysis):
            info = binding_layer(analysis, decl.name.text, limit=0)
            if info is not None and info.runnable:
                out.append((span_of(analysis, decl).start, decl.name.text, info.layer))
        return out
    return cached(analysis, "call bindings", make)


def layer_lenses(analysis: Analysis) -> list[LayerLens]:
    """One lens per runnable binding, in source order, made once per Analysis."""
    return cached(analysis, "layer lenses", lambda: [
        LayerLens(start, layer) for start, _, layer in _call_bindings(analysis)])


def partial_run_lenses(analysis: Analysis) -> list[PartialRunLens]:
    """Two lenses per runnable binding that calls a module: run what it needs (`cst run
    --target NAME`), and re-run it and its downstream with the rest from the last record
    (`cst run --from NAME`)."""
    def make() -> list[PartialRunLens]:
        out = []
        for start, name, _ in _call_bindings(analysis):
            out.append(PartialRunLens(start, RUN_TO_HERE, {"target": [name]}))
            out.append(PartialRunLens(start, RERUN_FROM_HERE, {"from": name}))
        return out
    return cached(analysis, "partial run lenses", make)
