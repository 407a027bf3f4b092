"""`constellation/graph` (docs/graph.md): the document's graph for the graph view.

While the document has errors the answer is its last good graph, marked `stale`, with the
current errors; a document that was never valid gets the graph of what it has (nodes on a
cycle or reading an undefined function have `layer: null`)."""

from __future__ import annotations

from pygls.exceptions import JsonRpcInvalidParams

from constellation.server.graph_view import error_json, graph_json

METHOD = "constellation/graph"
_LAST_GOOD_SIZE = 32


def _uri(params) -> str:
    doc = params.get("textDocument") if isinstance(params, dict) else \
        getattr(params, "textDocument", None) or getattr(params, "text_document", None)
    uri = doc.get("uri") if isinstance(doc, dict) else getattr(doc, "uri", None)
    if not isinstance(uri, str):
        raise JsonRpcInvalidParams('Expected {"textDocument": {"uri": ...}}.')
    return uri


def register(server) -> None:
    last_good: dict[str, dict] = {}  # uri -> its last valid graph

    @server.feature(METHOD)
    async def graph(ls, params) -> dict:
        uri = _uri(params)
        analysis = await ls.analysis_when_ready(uri, signatures=True)
        if analysis is None:
            raise JsonRpcInvalidParams(f"The document {uri} is not open.")
        positions = ls.positions(analysis)
        if analysis.valid:
            found = graph_json(analysis, positions)
            last_good.pop(uri, None)
            if len(last_good) >= _LAST_GOOD_SIZE:
                last_good.pop(next(iter(last_good)))
            last_good[uri] = found
            return found
        previous = last_good.get(uri)
        errors = error_json(analysis, positions)
        if previous is None:
            return graph_json(analysis, positions, stale=True, errors=errors)
        return {**previous, "stale": True, "errors": errors}
