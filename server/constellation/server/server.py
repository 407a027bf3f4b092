"""The server object: shared state (settings, registry, documents, runs) and feature wiring.

Each LSP feature lives in its own module under `features/` and registers its handlers on this
object; nothing here knows how a feature works.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from constellation.compiler.analysis import Analysis
from constellation.server.documents import DocumentStore
from constellation.server.positions import Positions
from constellation.server.registries import Registries
from constellation.server.settings import Settings
from constellation.server.textdocument import LspTextDocument

log = logging.getLogger(__name__)

VERSION = "0.1.0"


class _RefusalsAreAnswers(logging.Filter):
    """A request refused on purpose (a rename to a taken name) is an answer for the user, who
    sees its message: pygls logs every exception of a handler with a traceback, which made
    the server's log look like it crashed. Such records stay, as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, JsonRpcInvalidParams):
            record.msg, record.args = f"{record.getMessage()}: {error}", ()
            record.exc_info = record.exc_text = None
        return True


logging.getLogger("pygls.protocol.json_rpc").addFilter(_RefusalsAreAnswers())


class ConstellationProtocol(LanguageServerProtocol):
    """Also stops a running pipeline when its `workspace/executeCommand` request is cancelled
    (pygls runs command handlers as inner tasks that `$/cancelRequest` alone does not reach)."""

    def _handle_cancel_notification(self, msg_id):
        super()._handle_cancel_notification(msg_id)
        runs = getattr(self._server, "runs", None)
        if runs is not None:
            runs.cancel_request(msg_id)

    @lsp_method(lsp.SHUTDOWN)
    def lsp_shutdown(self, *args):
        """pygls' own version cancels pending requests while iterating the dict that their
        cancellation callbacks remove them from (a `runPipeline` pending at shutdown made it
        fail); this one iterates over a copy."""
        if (user_handler := self.fm.features.get(lsp.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None

    @lsp_method(lsp.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: lsp.DidOpenTextDocumentParams):
        """Holds the document as an LspTextDocument (LSP's line breaks, not splitlines')."""
        item = params.text_document
        self.workspace.text_documents[unquote(item.uri)] = LspTextDocument(
            item.uri, item.text, version=item.version, language_id=item.language_id,
            position_codec=self.workspace.position_codec)
        if (user_handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield user_handler, (params,), None


class ConstellationServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("constellation-lsp", VERSION, protocol_cls=ConstellationProtocol,
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.settings = Settings()
        self.documents = DocumentStore()
        self.registries = Registries(self)  # module signatures per constellation.toml
        self.root: Path | None = None
        from constellation.server.runs import RunManager  # runs imports this module's types
        self.runs = RunManager(self)

    # -- documents and analyses ---------------------------------------------------------------
    @property
    def encoding(self) -> str:
        enc = getattr(self.workspace, "position_encoding", None) or "utf-16"
        return str(getattr(enc, "value", enc))

    def open_document(self, uri: str):
        """The open document `uri` (None when it is not open). pygls keys documents by the
        decoded URI while clients send encoded ones (`my%20pipeline.cst`, `file:///c%3A/…` on
        Windows), so every lookup goes through here."""
        return self.workspace.text_documents.get(unquote(uri))

    def open_uris(self) -> list[str]:
        """The URIs of the open documents, spelled as the client spelled them."""
        return [doc.uri for doc in list(self.workspace.text_documents.values())]

    def analysis(self, uri: str) -> Analysis | None:
        """The analysis of the document's current text (None for an unknown document, or if
        the compiler failed: that failure is logged, never shown as a traceback)."""
        doc = self.open_document(uri)
        if doc is None:
            return None
        try:
            registry, generation = self.registries.current(uri)
            return self.documents.analysis_for(uri, doc.source, doc.version, registry, generation,
                                               on_background=self._analysed_in_background)
        except Exception as exc:
            self.report_internal(f"analysing {uri} (version {doc.version})", exc)
            return None

    async def analysis_when_ready(self, uri: str, signatures: bool = False) -> Analysis | None:
        """The analysis, waiting for a worker thread that is making it (for commands, which
        must answer with something); with `signatures`, first for the module signatures the
        document sees (code lenses: a client that cannot be asked to refresh them, such as
        Neovim, would keep lenses made before its modules were known)."""
        if signatures and self.open_document(uri) is not None:
            await self.registries.ready(uri)
        while True:
            analysis = self.analysis(uri)
            st = self.documents.states.get(uri)
            if analysis is not None or st is None or st.worker is None:
                return analysis
            try:
                await asyncio.shield(st.worker)
            except Exception:  # noqa: BLE001 - reported when the worker finished
                return None

    def _analysed_in_background(self, uri: str, error: BaseException | None) -> None:
        """A large document's analysis is ready: publish its diagnostics, and have the client
        ask again for what it got nothing for meanwhile."""
        if error is not None:
            self.report_internal(f"analysing {uri}", error)
            return
        from constellation.server.features.diagnostics import schedule

        schedule(self, uri, delay_s=0)
        self.refresh_views()

    def declaration_starts(self, uri: str) -> list[int] | None:
        """Where the declarations of the document's analysed text start (its parse cache's
        split), or None when that text is not the latest parse's."""
        doc = self.open_document(uri)
        st = self.documents.states.get(uri) if doc is not None else None
        if st is None or st.worker is not None or st.analysis is None \
                or st.cache.text is not st.analysis.text:
            return None
        return st.cache.starts

    def report_internal(self, what: str, exc: BaseException) -> None:
        """A bug in the server or compiler: logged with its traceback on stderr, and one
        sentence in the client's log (never a traceback in the editor)."""
        log.error("internal error while %s", what, exc_info=exc)
        self.log_line(f"Constellation internal error while {what}: {type(exc).__name__}: {exc}",
                      lsp.MessageType.Error)

    def positions(self, analysis: Analysis) -> Positions:
        return Positions(analysis.source, self.encoding)

    def document_version(self, uri: str) -> int | None:
        doc = self.open_document(uri)
        return None if doc is None else doc.version

    def path_of(self, uri: str) -> Path | None:
        """The file of a `file:` URI (None for `untitled:` and other schemes)."""
        if not uri.startswith("file:"):
            return None
        path = to_fs_path(uri)
        return Path(path) if path else None

    # -- messages -----------------------------------------------------------------------------
    def show(self, message: str, kind: lsp.MessageType = lsp.MessageType.Info) -> None:
        self.window_show_message(lsp.ShowMessageParams(type=kind, message=message))

    def log_line(self, message: str, kind: lsp.MessageType = lsp.MessageType.Log) -> None:
        self.window_log_message(lsp.LogMessageParams(type=kind, message=message))

    # -- refreshes after a registry change or a run -------------------------------------------
    def refresh_views(self) -> None:
        ws = self.client_capabilities.workspace
        if ws is None:
            return
        if ws.inlay_hint and ws.inlay_hint.refresh_support:
            self.workspace_inlay_hint_refresh(None)
        if ws.code_lens and ws.code_lens.refresh_support:
            self.workspace_code_lens_refresh(None)
        if ws.semantic_tokens and ws.semantic_tokens.refresh_support:
            self.workspace_semantic_tokens_refresh(None)


def create_server() -> ConstellationServer:
    from constellation.server import features

    server = ConstellationServer()
    features.register_all(server)
    return server
