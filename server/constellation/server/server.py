"""The server object: shared state (settings, registry, documents, runs) and feature wiring.

Each LSP feature lives in its own module under `features/` and registers its handlers on this
object; nothing here knows how a feature works.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import json
import logging
import sys
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import attrs
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCProtocol, RPCRequest
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from constellation.server.documents import DocumentStore
from constellation.server.events import AnalysisReady, Event, EventHub
from constellation.server.positions import Positions
from constellation.server.registries import Registries
from constellation.server.settings import Settings
from constellation.server.textdocument import LspTextDocument

if TYPE_CHECKING:
    from constellation.compiler.analysis import Analysis

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


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_VERSIONED = (lsp.TEXT_DOCUMENT_DID_OPEN, lsp.TEXT_DOCUMENT_DID_CHANGE)


class JsonText:
    """An answer already serialized: features whose answers are large and mostly the same
    from one request to the next (code lenses, completion items, published diagnostics) keep
    the JSON of their parts on the document's state instead of converting them again."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


@attrs.define
class _Malformed:
    """A message whose params do not have the shape of its method: answered with an
    `InvalidParams` error (a request) or logged (a notification), never dropped silently."""
    method: str
    error: str
    id: object = None
    is_request: bool = False


class ConstellationProtocol(LanguageServerProtocol):
    """pygls' protocol, made to answer every request and to honour cancellation:

    * a request whose params do not fit its method gets an `InvalidParams` error (pygls
      logged it and never answered), and one after `shutdown` an `InvalidRequest` error;
    * `exit` ends the session through the transport with status 0 after `shutdown`, 1
      without (pygls' `sys.exit` inside a handler was swallowed: always 0);
    * messages run one at a time, in order, each after the loop has read what arrived
      meanwhile, so a `$/cancelRequest` overtakes the requests still queued: they never run
      (pygls ran every synchronous handler the moment it was read, before the cancel);
    * a document version outside LSP's int32 (clients are JavaScript numbers) is accepted:
      kept as an int32 alias inside the server, and published back as the client's number;
    * a running pipeline stops when its `workspace/executeCommand` request is cancelled
      (pygls runs command handlers as inner tasks that `$/cancelRequest` alone does not reach).
    """

    def __init__(self, server, converter) -> None:
        super().__init__(server, converter)
        self.on_exit = None  # set by the transport: called with the exit status
        self._queue: collections.deque = collections.deque()
        self._queued: dict = {}  # request id -> the placeholder future a cancel can cancel
        self._dispatch_scheduled = False
        self._aliases: dict[str, tuple[int, int]] = {}  # uri -> (int32 alias, client version)

    @property
    def shut_down(self) -> bool:
        return self._shutdown

    # -- decoding -------------------------------------------------------------------------
    def receive(self, value: object) -> None:
        """One decoded JSON value from the transport."""
        if not isinstance(value, dict) or value.get("jsonrpc") != "2.0":
            log.error("ignored a message that is not JSON-RPC 2.0: %.200r", value)
            if isinstance(value, dict) and "id" in value and "method" in value:
                self._send_error(value["id"], lsp.ErrorCodes.InvalidRequest,
                                 'not a JSON-RPC 2.0 request (it needs "jsonrpc": "2.0")')
            return
        self.handle_message(self.structure_message(value))

    def structure_message(self, data):
        if "jsonrpc" not in data or "method" not in data or "error" in data:
            return super().structure_message(data)
        method = data["method"]
        if method in _VERSIONED:
            self._alias_version(method, data.get("params"))
        message_type = self.get_message_type(method)
        if message_type is None:
            return super().structure_message(data)
        try:
            return self._converter.structure(data, message_type)
        except Exception as exc:  # noqa: BLE001 - any shape error is the client's
            return _Malformed(method=method, error=_describe(exc), id=data.get("id"),
                              is_request="id" in data)

    def _alias_version(self, method: str, params: object) -> None:
        document = params.get("textDocument") if isinstance(params, dict) else None
        if not isinstance(document, dict) or not isinstance(document.get("uri"), str):
            return
        uri, version = unquote(document["uri"]), document.get("version")
        if isinstance(version, int) and not isinstance(version, bool) \
                and not INT32_MIN <= version <= INT32_MAX:
            alias = (version - INT32_MIN) % 2**32 + INT32_MIN
            if uri not in self._aliases:
                log.warning("%s: version %d is outside LSP's integer range; accepted", uri, version)
            self._aliases[uri] = (alias, version)
            document["version"] = alias
        else:
            self._aliases.pop(uri, None)

    def _serialize_message(self, data):
        value = super()._serialize_message(data)
        if isinstance(value, dict) and value.get("method") == lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
            params = value.get("params") or {}
            if params.get("version") is not None:
                params["version"] = self.client_version(params.get("uri", ""), params["version"])
        return value

    def client_version(self, uri: str, version: int) -> int:
        """The client's number for a document version (an int32 alias inside the server)."""
        alias = self._aliases.get(unquote(uri)) if self._aliases else None
        return alias[1] if alias is not None and version == alias[0] else version

    # -- JSON made once, sent many times ------------------------------------------------------
    def json_text(self, value) -> str:
        """An LSP object as the JSON text pygls sends it as."""
        return json.dumps(self._converter.unstructure(value))

    def notify_json(self, method: str, params: str) -> None:
        """A notification whose params are JSON text already (`json_text`, joined)."""
        self._write_json(f'{{"jsonrpc": "2.0", "method": {json.dumps(method)}, "params": {params}}}')

    def _send_response(self, msg_id, result=None, error=None):
        if error is None and isinstance(result, JsonText):
            self._result_types.pop(msg_id, None)
            self._write_json(f'{{"jsonrpc": "2.0", "id": {json.dumps(msg_id)}, "result": {result.text}}}')
            return
        super()._send_response(msg_id, result, error)

    def _write_json(self, body: str) -> None:
        """What pygls' `_send_data` does with the text it made (the text is ASCII: JSON
        escapes the rest)."""
        if self.writer is None:
            log.error("Unable to send data, no available transport!")
            return
        if self._include_headers:
            body = (f"Content-Length: {len(body)}\r\n"
                    f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n") + body
        try:
            written = self.writer.write(body.encode(self.CHARSET))
            if inspect.isawaitable(written):
                asyncio.ensure_future(written)
        except BrokenPipeError:
            log.exception("Error sending data. BrokenPipeError")
            raise

    # -- dispatch -------------------------------------------------------------------------
    def handle_message(self, message):
        if isinstance(message, _Malformed):
            if message.is_request:
                log.warning("invalid params for %s: %s", message.method, message.error)
                self._send_error(message.id, lsp.ErrorCodes.InvalidParams,
                                 f"Invalid params for {message.method}: {message.error}")
            else:
                log.error("ignored a %s notification with invalid params: %s",
                          message.method, message.error)
                self._server.log_line(f"Constellation ignored a {message.method} notification "
                                      f"with invalid params: {message.error}", lsp.MessageType.Error)
            return
        method = getattr(message, "method", None)
        if method is None or method == lsp.CANCEL_REQUEST:  # responses and cancels: at once
            return super().handle_message(message)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self._dispatch(message)
        if isinstance(message, RPCRequest):
            placeholder: Future = Future()
            placeholder.add_done_callback(partial(self._answer_cancelled, message.id))
            self._request_futures[message.id] = self._queued[message.id] = placeholder
        self._queue.append(message)
        if not self._dispatch_scheduled:
            self._dispatch_scheduled = True
            loop.call_soon(self._dispatch_next)

    def _dispatch_next(self) -> None:
        self._dispatch_scheduled = False
        try:
            if self._queue:
                self._dispatch(self._queue.popleft())
        except Exception:  # noqa: BLE001 - pygls answers handler errors; this is a bug of ours
            log.exception("internal error while dispatching a message")
        finally:  # the queue goes on whatever happened to one message
            if self._queue and not self._dispatch_scheduled:
                self._dispatch_scheduled = True
                asyncio.get_running_loop().call_soon(self._dispatch_next)

    def _dispatch(self, message) -> None:
        if isinstance(message, RPCRequest):
            placeholder = self._queued.pop(message.id, None)
            if placeholder is not None:
                if self._request_futures.get(message.id) is placeholder:
                    del self._request_futures[message.id]
                if not placeholder.set_running_or_notify_cancel():
                    return  # cancelled while queued: answered, never run
            if self._shutdown:
                self._send_error(message.id, lsp.ErrorCodes.InvalidRequest,
                                 f"{message.method}: the server is shut down; only exit is accepted")
                return
        super().handle_message(message)

    def _answer_cancelled(self, msg_id, future: Future) -> None:
        if future.cancelled():
            self._queued.pop(msg_id, None)
            self._send_error(msg_id, lsp.LSPErrorCodes.RequestCancelled,
                             f'Request with id "{msg_id}" is canceled')

    def _send_error(self, msg_id, code: int, message: str) -> None:
        self._send_response(msg_id, error=lsp.ResponseError(code=int(code), message=message))

    def _handle_cancel_notification(self, msg_id):
        super()._handle_cancel_notification(msg_id)
        runs = getattr(self._server, "runs", None)
        if runs is not None:
            runs.cancel_request(msg_id)

    @lsp_method(lsp.SHUTDOWN)
    def lsp_shutdown(self, *args):
        """pygls' own version cancels pending requests while iterating the dict that their
        cancellation callbacks remove them from (a `runPipeline` pending at shutdown made it
        fail); this one iterates over a copy, and leaves the requests queued after it to be
        answered `InvalidRequest`."""
        if (user_handler := self.fm.features.get(lsp.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and msg_id not in self._queued and not future.done():
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

    @lsp_method(lsp.EXIT)
    def lsp_exit(self, *args):
        if (user_handler := self.fm.features.get(lsp.EXIT)) is not None:
            yield user_handler, args, None
        code = 0 if self._shutdown else 1
        if self.on_exit is None:
            sys.exit(code)
        self.on_exit(code)


def _describe(exc: BaseException) -> str:
    """cattrs' structuring errors as one line: `$.position.line: ... ; ...`."""
    try:
        import cattrs
        return "; ".join(cattrs.transform_error(exc, path="$"))
    except Exception:  # noqa: BLE001 - not a cattrs error
        return f"{type(exc).__name__}: {exc}"


class ConstellationServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("constellation-lsp", VERSION, protocol_cls=ConstellationProtocol,
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.settings = Settings()
        self.events = EventHub(self.report_internal)  # services announce, features subscribe
        self.subscribe = self.events.subscribe
        self.documents = DocumentStore()
        self.registries = Registries(self)  # module signatures per constellation.toml
        self.root: Path | None = None
        self.client_name: str | None = None  # from initialize: messages speak its terms
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
        self.announce(AnalysisReady(uri))
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

    def announce(self, event: Event) -> None:
        """Tell the features what happened (events.py); the services import no feature."""
        self.events.announce(event)

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
