"""Code lenses: `▶ Run pipeline`, `▶ Run with examples`, `Layers` (and `Graph` for a client
that has a graph view) at the top, and `layer N`
above each binding that calls a module and has a layer: only with `codeLens.layers` on and the
layer inlay hints (`inlayHints.layers`) off or not drawn by the client, so that a binding's
layer is shown once. Above the same bindings, for a client whose run command passes them on
(`experimental.constellationPartialRuns`), `▶ Run to here` and `↻ Re-run from here`. The
lenses come from `compiler/queries/code_lens.py`.

LSP's code lens request has no range: a large document has thousands of lenses, and the whole
answer is made once per Analysis (kept on the document's state, as JSON text). A client that
resolves only the lenses it shows (`textDocument.codeLens.resolveSupport` lists `command`,
LSP 3.18) gets the per-binding lenses without their command, which `codeLens/resolve` adds
from the lens's `data` (the command's arguments); every other client gets them whole."""

from __future__ import annotations

import json
import weakref

from lsprotocol import types as lsp

from constellation.server.server import JsonText

SHOW_LAYERS, RUN_PIPELINE, SHOW_GRAPH = (
    "constellation.showLayers", "constellation.runPipeline", "constellation.showGraph")


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
    async def code_lens(ls, params: lsp.CodeLensParams) -> JsonText | None:
        uri = params.text_document.uri
        analysis = await ls.analysis_when_ready(uri, signatures=True)
        if analysis is None:
            return None
        state = ls.documents.state(uri)
        shown = (ls.encoding, ls.settings.lens_layers and not _layer_hints_drawn(ls),
                 _runs_partially(ls), _shows_graphs(ls), resolves_commands(ls))
        made = state.lenses
        if made is not None and made[0]() is analysis and made[1] == shown:
            return made[2]
        answer = JsonText(f"[{', '.join(lenses_json(ls, uri, analysis, shown))}]")
        state.lenses = (weakref.ref(analysis), shown, answer)
        return answer

    @server.feature(lsp.CODE_LENS_RESOLVE)
    def resolve(ls, lens: lsp.CodeLens) -> lsp.CodeLens | JsonText:
        """A lens sent without its command gets it from its data (the command's arguments),
        whatever the document has become since: the lens says what it was made for."""
        if lens.command is not None or not isinstance(lens.data, dict):
            return lens
        start, end = lens.range.start, lens.range.end
        return JsonText(json.dumps({
            "range": {"start": {"line": start.line, "character": start.character},
                      "end": {"line": end.line, "character": end.character}},
            "command": command_json(lens.data), "data": lens.data}))


def lenses_json(ls, uri: str, analysis, shown: tuple) -> list[str]:
    from constellation.compiler.queries.code_lens import layer_lenses, partial_run_lenses

    _, layers, partial, graphs, deferred = shown
    top = lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0))
    lenses = [
        lsp.CodeLens(range=top, command=lsp.Command(
            title="▶ Run pipeline", command=RUN_PIPELINE, arguments=[{"uri": uri}])),
        lsp.CodeLens(range=top, command=lsp.Command(
            title="▶ Run with examples", command=RUN_PIPELINE,
            arguments=[{"uri": uri, "useExamples": True}])),
        lsp.CodeLens(range=top, command=lsp.Command(
            title="Layers", command=SHOW_LAYERS, arguments=[{"uri": uri}])),
    ]
    if graphs:
        lenses.append(lsp.CodeLens(range=top, command=lsp.Command(
            title="Graph", command=SHOW_GRAPH, arguments=[{"uri": uri}])))
    parts = [ls.protocol.json_text(lens) for lens in lenses]
    pos = ls.positions(analysis)
    state = ls.documents.state(uri)
    # a lens's JSON by what it shows, reused across versions: an edit changes a few of them
    known = state.lens_json if state.lens_json.get("shown") == shown else {}
    kept: dict = {"shown": shown}

    def lens_json(offset: int, shows: tuple, arguments: dict) -> str:
        at = pos.pair(offset)
        key = (at, *shows)
        text = known.get(key)
        if text is None:
            where = {"line": at[0], "character": at[1]}
            lens = {"range": {"start": where, "end": where}}
            arguments = {"uri": uri, **arguments}
            if deferred:
                lens["data"] = arguments
            else:
                lens["command"] = command_json(arguments)
            text = json.dumps(lens)
        kept[key] = text
        return text

    if layers:
        parts += [lens_json(lens.offset, ("layer", lens.layer), {"layer": lens.layer}) for lens in layer_lenses(analysis)]
    if partial:
        parts += [lens_json(lens.offset, (lens.title, str(lens.arguments)), lens.arguments) for lens in partial_run_lenses(analysis)]
    state.lens_json = kept
    return parts


def command_json(arguments: dict) -> dict:
    """The command of a per-binding lens, from its arguments (a layer, a target or a start)."""
    from constellation.compiler.queries.code_lens import RERUN_FROM_HERE, RUN_TO_HERE

    if "layer" in arguments:
        return {"title": f"layer {arguments['layer']}", "command": SHOW_LAYERS, "arguments": [arguments]}
    title = RUN_TO_HERE if "target" in arguments else RERUN_FROM_HERE
    return {"title": title, "command": RUN_PIPELINE, "arguments": [arguments]}


def resolves_commands(ls) -> bool:
    """Whether the client resolves the commands of the lenses it shows (LSP 3.18)."""
    doc = ls.client_capabilities.text_document
    lens = doc.code_lens if doc is not None else None
    support = lens.resolve_support if lens is not None else None
    return support is not None and "command" in (support.properties or [])


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
