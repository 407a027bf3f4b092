"""Code lenses: `▶ Run pipeline`, `▶ Run with examples`, `Layers` (and `Graph` for a client
that has a graph view) at the top, and `layer N`
above each binding that calls a module and has a layer: only with `codeLens.layers` on and the
layer inlay hints (`inlayHints.layers`) off or not drawn by the client, so that a binding's
layer is shown once."""

from __future__ import annotations

from lsprotocol import types as lsp

from constellation.server.views import canonical_assignments
from constellation.server.layers import binding_layer


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
    async def code_lens(ls, params: lsp.CodeLensParams) -> list[lsp.CodeLens] | None:
        uri = params.text_document.uri
        analysis = await ls.analysis_when_ready(uri, signatures=True)
        if analysis is None:
            return None
        pos = ls.positions(analysis)
        top = lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0))
        lenses = [
            lsp.CodeLens(range=top, command=lsp.Command(
                title="▶ Run pipeline", command="constellation.runPipeline", arguments=[{"uri": uri}])),
            lsp.CodeLens(range=top, command=lsp.Command(
                title="▶ Run with examples", command="constellation.runPipeline",
                arguments=[{"uri": uri, "useExamples": True}])),
            lsp.CodeLens(range=top, command=lsp.Command(
                title="Layers", command="constellation.showLayers", arguments=[{"uri": uri}])),
        ]
        if _shows_graphs(ls):
            lenses.append(lsp.CodeLens(range=top, command=lsp.Command(
                title="Graph", command="constellation.showGraph", arguments=[{"uri": uri}])))
        if ls.settings.lens_layers and not _layer_hints_drawn(ls):
            lenses += layer_lenses(analysis, uri, pos)
        return lenses


def _shows_graphs(ls) -> bool:
    """Whether the client has a graph view for `constellation.showGraph` (a command of the
    client, not of the server): it says so with `experimental.constellationGraph`."""
    experimental = ls.client_capabilities.experimental
    return isinstance(experimental, dict) and experimental.get("constellationGraph") is True


def _layer_hints_drawn(ls) -> bool:
    """Whether the client draws the layer inlay hints: with them on and a client that has
    inlay hints (Emacs' eglot before 1.10 has none), the lens would show the layer twice."""
    doc = ls.client_capabilities.text_document
    return ls.settings.inlay_layers and doc is not None and doc.inlay_hint is not None


_CACHE: dict[tuple[int, str], tuple[object, list[lsp.CodeLens]]] = {}


def layer_lenses(analysis, uri: str, pos) -> list[lsp.CodeLens]:
    """`layer N` above each binding that calls a module, computed once per analysis."""
    key = (id(analysis), pos.encoding)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is analysis:
        return hit[1]
    lenses = []
    for decl in canonical_assignments(analysis):
        info = binding_layer(analysis, decl.name.text, limit=0)
        if info is None or not info.runnable:
            continue
        start = pos.position(decl.span.start)
        lenses.append(lsp.CodeLens(range=lsp.Range(start=start, end=start), command=lsp.Command(
            title=f"layer {info.layer}", command="constellation.showLayers",
            arguments=[{"uri": uri, "layer": info.layer}])))
    if len(_CACHE) >= 8:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (analysis, lenses)
    return lenses
