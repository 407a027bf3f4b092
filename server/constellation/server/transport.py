"""The byte transports under the protocol: stdio, TCP and WebSocket.

They replace pygls' own loops (`pygls.io_.run_async` and `start_tcp`/`start_ws`) for three
reasons:

* Framing. pygls matches `Content-Length: N\\r\\n` only at the start of a line and reads
  exactly N bytes: after one wrong length the next header is glued to a body and the server
  never reads another message (silently: diagnostics just stop). `FrameDecoder` finds the
  next header wherever it is, salvages a message whose length overshot, and logs every
  byte it skips.
* Cancellation. pygls reads stdin a line at a time through a thread round trip, so a
  `$/cancelRequest` is read only once every request sent before it has run. Here a thread
  reads stdin as it arrives (TCP: `data_received`) and hands each chunk to the event loop at
  once; the protocol queues requests and skips the cancelled ones (`ConstellationProtocol`).
* Authentication. A listening socket is reachable by any local process (and by web pages,
  through a WebSocket): the first message must be `initialize` carrying the session token
  (`initializationOptions.token`), checked here before the protocol sees a single message.
  Why there: it is the one thing every editor can send over a plain socket without a
  wrapper (Neovim `init_options`, eglot `:initializationOptions`, VS Code
  `initializationOptions`); a header line before LSP would need a proxy in each of them.
  WebSocket clients may instead present it during the HTTP upgrade (`?token=` or
  `Authorization: Bearer`), and a browser's foreign `Origin` is refused there (403).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import os
import re
import sys
import threading
import weakref
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)


class _RedactTokens(logging.Filter):
    """websockets logs each upgrade request line at DEBUG, `?token=…` included: the secret
    must not reach a log file."""

    SECRET = re.compile(r"(token=)[^&\s]+|(Bearer )\S+", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        redacted = self.SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "<redacted>", text)
        if redacted != text:
            record.msg, record.args = redacted, ()
        return True


for _name in ("websockets", "websockets.server", "websockets.client"):
    logging.getLogger(_name).addFilter(_RedactTokens())

# A header is found by its own shape: in compact or pretty JSON a raw CR LF never follows
# digits inside a string, so this cannot match within a well-formed body.
# at most 15 digits: a longer number is damage, not a length (int() refuses 4,300 digits and
# no message is a petabyte)
HEADER = re.compile(rb"content-length[ \t]*:[ \t]*(\d{1,15})[ \t]*\r\n", re.IGNORECASE)
HEADER_LINE = re.compile(rb"[!-9;-~]+:[^\r\n]*")
MAX_HEADER = 8192
def _auth_timeout() -> float:
    """Seconds a listening client has to authenticate (CONSTELLATION_LSP_AUTH_TIMEOUT, for
    tests and slow links; 30 by default)."""
    try:
        value = float(os.environ.get("CONSTELLATION_LSP_AUTH_TIMEOUT", "30"))
    except ValueError:
        return 30.0
    return value if 0 < value < 3600 else 30.0


AUTH_TIMEOUT_S = _auth_timeout()
MAX_UNAUTHENTICATED = 4 << 20  # bytes an unauthenticated client may make us buffer
WS_MAX_MESSAGE = 256 << 20
UNAUTHORIZED = -32600  # InvalidRequest: LSP has no code of its own for "not authenticated"

_JSON = json.JSONDecoder()


class ListenError(Exception):
    """The socket could not be opened (a sentence for the user)."""
_NEED_MORE = object()
_SKIPPED = object()


class FrameDecoder:
    """Splits an LSP byte stream into decoded JSON values, resynchronising after damage.

    `feed(data)` returns the values of the messages completed by `data`; each damaged part
    (bytes outside a frame, a malformed header line, a body that is not JSON, a wrong
    Content-Length) is reported once through `on_damage` with what was done about it."""

    def __init__(self, on_damage: Callable[[str], None]) -> None:
        self._buf = bytearray()
        self._scanned = 0  # how far a pending body has been searched for the next header
        self._on_damage = on_damage

    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Any]:
        self._buf += data
        values = []
        while True:
            item = self._next()
            if item is _NEED_MORE:
                return values
            if item is not _SKIPPED:
                values.append(item)

    def _next(self):
        buf = self._buf
        m = HEADER.search(buf)
        if m is None:
            if len(buf) > MAX_HEADER:  # keep a tail that may be a header's beginning
                junk = len(buf) - MAX_HEADER
                del buf[:junk]
                self._on_damage(f"skipped {junk} bytes that are not part of any LSP message")
            return _NEED_MORE
        if m.start() > 0:
            junk = bytes(buf[:m.start()])
            del buf[:m.start()]
            if not all(HEADER_LINE.fullmatch(line) for line in junk.split(b"\r\n") if line.strip()):
                self._on_damage(f"skipped {len(junk)} bytes before a Content-Length header: "
                                f"{_excerpt(junk)}")
            return _SKIPPED
        end = buf.find(b"\r\n\r\n", m.end() - 2)
        if end < 0:
            if len(buf) - m.end() > MAX_HEADER:
                del buf[:m.end()]
                self._on_damage("skipped a header that never ended with an empty line")
                return _SKIPPED
            return _NEED_MORE
        for line in bytes(buf[m.end():end]).split(b"\r\n"):
            if line and not HEADER_LINE.fullmatch(line):
                self._on_damage(f"ignored a malformed header line: {_excerpt(line)}")
        length, start = int(m.group(1)), end + 4
        if len(buf) < start + length:
            # a Content-Length longer than its message shows as the next header in the body
            h = HEADER.search(buf, max(start, self._scanned - 64))
            self._scanned = len(buf)
            if h is None:
                return _NEED_MORE
            body = bytes(buf[start:h.start()])
            del buf[:h.start()]
            self._scanned = 0
            return self._decode(body, length)
        body = bytes(buf[start:start + length])
        del buf[:start + length]
        self._scanned = 0
        return self._decode(body, length)

    def _decode(self, body: bytes, length: int):
        try:
            value = json.loads(body)
        except ValueError as exc:
            error = exc
        else:
            if len(body) != length:
                self._on_damage(f"a message said Content-Length: {length} but had {len(body)} "
                                "bytes (it was read up to the next header)")
            return value
        # A Content-Length that was too long: the body is a whole JSON value followed by the
        # beginning of the next message, which goes back to be read as such.
        try:  # (surrogateescape: bytes after the value need not be UTF-8, and go back intact)
            text = body.decode("utf-8", "surrogateescape").lstrip()
            value, end = _JSON.raw_decode(text)
            text[:end].encode("utf-8")  # the value itself must be UTF-8
        except ValueError:
            pass
        else:
            rest = text[end:].encode("utf-8", "surrogateescape")
            self._buf[:0] = rest
            self._scanned = 0
            self._on_damage(f"a message said Content-Length: {length} but its JSON ended "
                            f"{len(rest)} bytes earlier; the rest was read as the next message")
            return value
        h = HEADER.search(body)
        if h is None:
            self._on_damage(f"skipped a message whose {len(body)}-byte body is not valid "
                            f"JSON ({error}): {_excerpt(body)}")
            self._give_back_header_start(body)
            return _SKIPPED
        self._buf[:0] = body[h.start():]  # a header inside the body: read on from there
        self._scanned = 0
        self._on_damage(f"skipped {h.start()} bytes of a message that is not valid JSON "
                        f"({error}): {_excerpt(body[:h.start()])}")
        return _SKIPPED


    def _give_back_header_start(self, body: bytes) -> None:
        """A body read too far may end inside the next header: those bytes go back."""
        following = bytes(self._buf[:64])
        for k in range(min(len(body), 32), 0, -1):
            if HEADER.match(body[-k:] + following):
                self._buf[:0] = body[-k:]
                return


def _excerpt(data: bytes, limit: int = 80) -> str:
    text = repr(data[:limit])
    return text + ("…" if len(data) > limit else "")


# -- authentication ---------------------------------------------------------------------------

def token_matches(presented: object, token: str) -> bool:
    # surrogatepass: a lone surrogate in the JSON is a wrong token, not an exception
    return isinstance(presented, str) and hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass"))


def authenticate_first(value: object, token: str) -> str | None:
    """None when `value` is an `initialize` request carrying the token (which is then
    removed, so that no setting sees it); otherwise why the client is refused."""
    if not (isinstance(value, dict) and value.get("method") == "initialize" and "id" in value):
        return "the first message must be the initialize request, with the token in initializationOptions.token"
    params = value.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    if not isinstance(options, dict) or "token" not in options:
        return "initializationOptions.token is missing"
    if not token_matches(options.pop("token"), token):
        return "initializationOptions.token is not this server's token"
    return None


def refusal(value: object, reason: str) -> bytes | None:
    """The error answer to an unauthenticated request (None when it is not a request)."""
    if not (isinstance(value, dict) and "id" in value and "method" in value):
        return None
    return json.dumps({"jsonrpc": "2.0", "id": value["id"], "error": {
        "code": UNAUTHORIZED,
        "message": f"Not authenticated: {reason}. The token is in the file that `cst lsp` "
                   "printed when it started (or in CONSTELLATION_LSP_TOKEN)."}}).encode()


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_origin(origin: str) -> bool:
    try:
        host = urlsplit(origin).hostname
    except ValueError:
        return False
    return host is not None and is_loopback(host)


# -- the session: one authenticated connection feeds the protocol ---------------------------

class Session:
    """What every transport shares: the decoded messages of one client, to the protocol,
    once it is authenticated; damage reported on stderr and in the client's log."""

    def __init__(self, server, finish: Callable[[int], None]) -> None:
        self.server = server
        self.protocol = server.protocol
        self.protocol.on_exit = finish
        self.finish = finish

    def receive(self, value: object) -> None:
        try:
            self.protocol.receive(value)
        except Exception as exc:  # noqa: BLE001 - one bad message must not end the session
            log.exception("could not handle a message")
            self.damaged(f"a message could not be handled ({type(exc).__name__}: {exc})")

    def damaged(self, what: str) -> None:
        log.error("damaged input from the client: %s", what)
        try:
            from lsprotocol import types as lsp
            self.server.log_line(f"Constellation: damaged input from the client: {what}",
                                 lsp.MessageType.Error)
        except Exception:  # noqa: BLE001 - nowhere to report it but stderr
            pass


class _StdoutWriter:
    """pygls' writer interface over stdout; a closed pipe ends the session instead of
    raising in whichever callback happened to write."""

    def __init__(self, stream, lost: Callable[[], None]) -> None:
        self._stream, self._lost = stream, lost

    def write(self, data: bytes) -> None:
        try:
            self._stream.write(data)
            self._stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            self._lost()

    def close(self) -> None:
        try:
            self._stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass


TEARDOWN_S = 2.0


def _run(main) -> int:
    """asyncio.run, except that at the end pending handlers get TEARDOWN_S to finish
    cancelling: the process ends after `exit` even if one of them waits on something that
    never comes (asyncio.run would wait for it forever)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                _, stuck = loop.run_until_complete(asyncio.wait(tasks, timeout=TEARDOWN_S))
                for task in stuck:  # (seen: a child process cancelled while it was being spawned)
                    log.info("abandoned at exit, still running %.1f s after its cancellation: %s",
                             TEARDOWN_S, task.get_coro())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def run_stdio(server) -> int:
    return _run(_stdio(server))


async def _stdio(server) -> int:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()

    def finish(code: int) -> None:
        if not done.done():
            done.set_result(code)

    session = Session(server, finish)
    decoder = FrameDecoder(session.damaged)

    def lost() -> None:
        log.error("the client closed the connection (stdout); stopping")
        loop.call_soon_threadsafe(finish, 1)

    server.protocol.set_writer(_StdoutWriter(sys.stdout.buffer, lost))

    def on_data(chunk: bytes) -> None:
        if not chunk:
            if decoder.buffered():
                session.damaged(f"the input ended inside a message ({decoder.buffered()} bytes unread)")
            finish(0 if server.protocol.shut_down else 1)
            return
        for value in decoder.feed(chunk):
            session.receive(value)

    def pump() -> None:
        # os.read, not the buffered sys.stdin: a daemon thread blocked inside a buffered
        # reader's lock aborts the interpreter at exit
        fd = sys.stdin.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            try:
                loop.call_soon_threadsafe(on_data, chunk)
            except RuntimeError:  # the loop is closed: the server has exited
                return
            if not chunk:
                return

    threading.Thread(target=pump, name="lsp-stdin", daemon=True).start()
    try:
        return await done
    finally:
        _ending(server)


def _ending(server) -> None:
    """The session is over: handlers still pending are cancelled (or abandoned) by `_run`;
    pygls' callbacks on them would log a traceback each, which is not an error here."""
    server.protocol.on_exit = None
    loop = asyncio.get_running_loop()

    def handler(loop, context) -> None:
        if isinstance(context.get("exception"), asyncio.CancelledError) \
                or "destroyed but it is pending" in str(context.get("message")):
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


# -- TCP ----------------------------------------------------------------------------------------

def run_tcp(server, host: str, port: int, token: str, on_listening: Callable[[int], None]) -> int:
    return _run(_tcp(server, host, port, token, on_listening))


async def _tcp(server, host, port, token, on_listening) -> int:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    active: list[_TcpConnection] = []

    def finish(code: int) -> None:
        if not done.done():
            done.set_result(code)

    class _TcpConnection(asyncio.Protocol):
        def connection_made(self, transport) -> None:
            self.transport = transport
            self.session: Session | None = None
            self.decoder = FrameDecoder(self._damaged)
            self.timer = loop.call_later(AUTH_TIMEOUT_S, self._refuse, None,
                                         f"no initialize with the token within {AUTH_TIMEOUT_S:.0f} s")

        def _damaged(self, what: str) -> None:
            if self.session is not None:
                self.session.damaged(what)
            else:
                log.warning("unauthenticated client: %s", what)

        def _refuse(self, value, reason: str) -> None:
            log.warning("refused a TCP client %s: %s", self.transport.get_extra_info("peername"), reason)
            answer = refusal(value, reason)
            if answer is not None:
                self.transport.write(b"Content-Length: %d\r\n\r\n" % len(answer) + answer)
            self.transport.close()  # after the buffered answer is written

        def data_received(self, data: bytes) -> None:
            if self.transport.is_closing():
                return
            for value in self.decoder.feed(data):
                if self.session is None:
                    reason = authenticate_first(value, token)
                    if reason is None and active:
                        reason = "another client is already connected to this server"
                    if reason is not None:
                        self.timer.cancel()
                        self._refuse(value, reason)
                        return
                    self.timer.cancel()
                    active.append(self)
                    self.session = Session(server, finish)
                    server.protocol.set_writer(self.transport)
                self.session.receive(value)
            if self.session is None and self.decoder.buffered() > MAX_UNAUTHENTICATED:
                self._refuse(None, "too much data before initialize")

        def connection_lost(self, exc) -> None:
            self.timer.cancel()
            if self.session is not None:  # pygls serves one session, then ends
                finish(0 if server.protocol.shut_down else 1)

    try:
        tcp = await loop.create_server(_TcpConnection, host, port)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    on_listening(tcp.sockets[0].getsockname()[1])
    try:
        return await done
    finally:
        _ending(server)
        tcp.close()
        for connection in active:
            connection.transport.close()


# -- WebSocket ----------------------------------------------------------------------------------

def run_ws(server, host: str, port: int, token: str, on_listening: Callable[[int], None]) -> int:
    return _run(_ws(server, host, port, token, on_listening))


async def _ws(server, host, port, token, on_listening) -> int:
    from pygls.io_ import WebSocketWriter
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    authenticated: weakref.WeakSet = weakref.WeakSet()
    active: list = []

    def finish(code: int) -> None:
        if not done.done():
            done.set_result(code)

    def process_request(connection, request):
        """Before the upgrade: a browser page of another origin never gets a socket (403),
        and a token presented in the request must be right (401)."""
        origin = request.headers.get("Origin")
        if origin is not None and not loopback_origin(origin):
            log.warning("refused a WebSocket upgrade from Origin %r", origin)
            return connection.respond(403, "Forbidden: this language server accepts no "
                                           "connection from a web page of another origin.\n")
        presented = parse_qs(urlsplit(request.path).query).get("token", [None])[0]
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            presented = auth[7:].strip()
        if presented is not None:
            if not token_matches(presented, token):
                log.warning("refused a WebSocket upgrade with a wrong token")
                return connection.respond(401, "Unauthorized: wrong token.\n")
            authenticated.add(connection)
        return None

    async def handler(websocket) -> None:
        session: Session | None = None
        pre_authenticated = websocket in authenticated
        # one deadline for the whole unauthenticated phase (frames must not extend it), and
        # small frames until then: a stranger may not make us buffer 256 MB
        deadline = asyncio.get_running_loop().time() + AUTH_TIMEOUT_S
        if pre_authenticated:
            websocket.protocol.max_message_size = WS_MAX_MESSAGE

        async def refuse(value, reason: str) -> None:
            log.warning("refused a WebSocket client: %s", reason)
            answer = refusal(value, reason)
            if answer is not None:
                await websocket.send(answer.decode())
            await websocket.close(1008, "not authenticated")

        while True:
            try:
                timeout = None if session is not None or pre_authenticated else \
                    max(0.0, deadline - asyncio.get_running_loop().time())
                data = await asyncio.wait_for(websocket.recv(decode=False), timeout)
            except asyncio.TimeoutError:
                await refuse(None, "no initialize within the time allowed")
                return
            except ConnectionClosed:
                break
            try:
                value = json.loads(data)
            except ValueError as exc:
                what = f"skipped a message that is not valid JSON ({exc}): {_excerpt(data)}"
                if session is not None:
                    session.damaged(what)
                else:
                    log.warning("unauthenticated client: %s", what)
                continue
            if session is None:
                reason = None
                if pre_authenticated:
                    params = value.get("params") if isinstance(value, dict) else None
                    options = params.get("initializationOptions") if isinstance(params, dict) else None
                    if isinstance(options, dict):
                        options.pop("token", None)
                else:
                    reason = authenticate_first(value, token)
                if reason is None and active:
                    reason = "another client is already connected to this server"
                if reason is not None:
                    await refuse(value, reason)
                    return
                active.append(websocket)
                websocket.protocol.max_message_size = WS_MAX_MESSAGE
                session = Session(server, finish)
                server.protocol.set_writer(WebSocketWriter(websocket), include_headers=False)
            session.receive(value)
        if session is not None:
            finish(0 if server.protocol.shut_down else 1)

    try:
        ws_server = await serve(handler, host, port, process_request=process_request,
                                max_size=MAX_UNAUTHENTICATED)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    async with ws_server:
        on_listening(ws_server.sockets[0].getsockname()[1])
        try:
            return await done
        finally:
            _ending(server)
            for websocket in active:
                await websocket.close()
