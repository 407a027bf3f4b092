"""Commands: `constellation.runPipeline`, `constellation.cancelRun`, `constellation.showLayers`."""

from __future__ import annotations

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams


def _args(arguments: tuple) -> dict:
    if arguments and isinstance(arguments[0], dict) and isinstance(arguments[0].get("uri"), str):
        return arguments[0]
    if arguments and isinstance(arguments[0], str):
        return {"uri": arguments[0]}
    raise JsonRpcInvalidParams("Expected one argument {\"uri\": ...}.")


def register(server) -> None:
    @server.command("constellation.runPipeline")
    async def run_pipeline(ls, *arguments):
        return await ls.runs.run_pipeline(_args(arguments), request_id=ls.protocol.msg_id)

    @server.command("constellation.cancelRun")
    def cancel_run(ls, *arguments):
        return {"cancelled": ls.runs.cancel(_args(arguments)["uri"])}

    @server.command("constellation.showLayers")
    async def show_layers(ls, *arguments):
        from constellation.compiler.queries.layers import layers_json

        uri = _args(arguments)["uri"]
        analysis = await ls.analysis_when_ready(uri)
        if analysis is None:
            raise JsonRpcInvalidParams(f"The document {uri} is not open.")
        return layers_json(analysis)

    @server.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancelled(ls, params: lsp.WorkDoneProgressCancelParams) -> None:
        ls.runs.cancel_token(params.token)

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls, *args) -> None:
        ls.runs.cancel_all()
