"""Code lenses: `▶ Run pipeline`, `▶ Run with examples`, `Layers` (and `Graph` for a client
that has a graph view) at the top, and `layer N`
above each binding that calls a module and has a layer: only with `codeLens.layers` on and the
layer inlay hints (`inlayHints.layers`) off or not drawn by the client, so that a binding's
layer is shown once. Above the same bindings, for a client whose run command passes them on
(`experimental.constellationPartialRuns`), `▶ Run to here` and `↻ Re-run from here`. The
lenses come from `compiler/queries/code_lens.py`."""

from __future__ import annotations

from lsprotocol import types as lsp

from constellation.compiler.queries.code_lens import layer_lenses, partial_run_lenses
from constellation.server.server import JsonText


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
    async def code_lens(ls, params: lsp.CodeLensParams) -> JsonText | None:
        uri = params.text_document.uri
        analysis = await ls.analysis_when_ready(uri, signatures=True)
        if analysis is None:
            return None
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
        parts = [ls.protocol.json_text(lens) for lens in lenses]
        if ls.settings.lens_layers and not _layer_hints_drawn(ls):
            parts += layer_lenses_json(ls, uri, analysis)
        if _runs_partially(ls):
            pos = ls.positions(analysis)
            for lens in partial_run_lenses(analysis):
                at = lsp.Position(*pos.pair(lens.offset))
                parts.append(ls.protocol.json_text(lsp.CodeLens(
                    range=lsp.Range(start=at, end=at), command=lsp.Command(
                        title=lens.title, command="constellation.runPipeline",
                        arguments=[{"uri": uri, **lens.arguments}]))))
        return JsonText(f"[{', '.join(parts)}]")


def _shows_graphs(ls) -> bool:
    """Whether the client has a graph view for `constellation.showGraph` (a command of the
    client, not of the server): it says so with `experimental.constellationGraph`."""
    experimental = ls.client_capabilities.experimental
    return isinstance(experimental, dict) and experimental.get("constellationGraph") is True


def _runs_partially(ls) -> bool:
    """Whether the client's `constellation.runPipeline` passes `target` and `from` on (README,
    *Commands and the run protocol*): it says so with `experimental.constellationPartialRuns`."""
    experimental = ls.client_capabilities.experimental
    return isinstance(experimental, dict) and experimental.get("constellationPartialRuns") is True


def _layer_hints_drawn(ls) -> bool:
    """Whether the client draws the layer inlay hints: with them on and a client that has
    inlay hints (Emacs' eglot before 1.10 has none), the lens would show the layer twice."""
    doc = ls.client_capabilities.text_document
    return ls.settings.inlay_layers and doc is not None and doc.inlay_hint is not None


def layer_lenses_json(ls, uri: str, analysis) -> list[str]:
    """The layer lenses as JSON text: each lens's text is kept on the document's state by
    where it is and what it says (thousands in a large document, most unchanged by an
    edit), the whole list for the analysis and encoding it was made for."""
    pos = ls.positions(analysis)
    state = ls.documents.state(uri)
    made = state.lenses
    if made is not None and made[0] is analysis and made[1] == pos.encoding:
        return made[2]
    known = state.lens_json if made is not None and made[1] == pos.encoding else {}
    kept: dict = {}
    out = []
    for lens in layer_lenses(analysis):
        start = pos.pair(lens.offset)
        key = (start, lens.layer)
        text = known.get(key)
        if text is None:
            at = lsp.Position(*start)
            text = ls.protocol.json_text(lsp.CodeLens(
                range=lsp.Range(start=at, end=at), command=lsp.Command(
                    title=f"layer {lens.layer}", command="constellation.showLayers",
                    arguments=[{"uri": uri, "layer": lens.layer}])))
        kept[key] = text
        out.append(text)
    state.lenses, state.lens_json = (analysis, pos.encoding, out), kept
    return out
