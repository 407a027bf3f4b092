"""A raw JSON-RPC client for the server over stdio or a socket: it sends any bytes, including
malformed params and damaged frames that pytest-lsp's typed client cannot produce.

(Imported by name, as server_support is.)
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time

SERVER = [sys.executable, "-m", "constellation.server"]
INIT_PARAMS = {"processId": None, "rootUri": None, "capabilities": {},
               "initializationOptions": {"trusted": False, "debounceMs": 0}}


def frame(message) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class RawClient:
    """Sends frames; a reader thread parses what comes back into `inbox`."""

    def __init__(self, send, recv, close) -> None:
        self._send, self._recv, self._close = send, recv, close
        self.inbox: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        self.closed = threading.Event()
        self._ids = iter(range(1, 10**9))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = self._recv()
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))
                while len(buf) < length:
                    chunk = self._recv()
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:length], buf[length:]
                self.inbox.put(json.loads(body))
        except OSError:
            return
        finally:
            self.closed.set()

    def send_bytes(self, data: bytes) -> None:
        self._send(data)

    def send(self, message: dict) -> None:
        self._send(frame(message))

    def request(self, method: str, params, id_=None) -> int:
        id_ = next(self._ids) if id_ is None else id_
        self.send({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})
        return id_

    def notify(self, method: str, params) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_for(self, predicate, timeout: float = 20) -> dict:
        for message in self.seen:
            if predicate(message):
                return message
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no such message")
            try:
                message = self.inbox.get(timeout=remaining)
            except queue.Empty:
                raise TimeoutError("no such message") from None
            self.seen.append(message)
            if predicate(message):
                return message

    def answer(self, id_, timeout: float = 20) -> dict:
        return self.wait_for(lambda m: m.get("id") == id_ and "method" not in m, timeout)

    def call(self, method: str, params, timeout: float = 20) -> dict:
        return self.answer(self.request(method, params), timeout)

    def diagnostics(self, uri: str, timeout: float = 20) -> dict:
        return self.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                             and m["params"]["uri"] == uri, timeout)["params"]

    def initialize(self, options: dict | None = None) -> dict:
        params = dict(INIT_PARAMS)
        if options is not None:
            params["initializationOptions"] = {**INIT_PARAMS["initializationOptions"], **options}
        answer = self.call("initialize", params)
        self.notify("initialized", {})
        return answer

    def close(self) -> None:
        self._close()


class StdioServer(RawClient):
    """The server as a child process over stdio."""

    def __init__(self, command=None, env=None) -> None:
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(command or SERVER, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env)
        self._stderr: list[bytes] = []
        threading.Thread(target=lambda: self._stderr.append(self.proc.stderr.read()),
                         daemon=True).start()

        def send(data: bytes) -> None:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

        super().__init__(send, lambda: self.proc.stdout.read1(65536), self.proc.stdin.close)

    def stderr(self, timeout: float = 10) -> str:
        """Everything the server wrote on stderr (once it has exited)."""
        self.proc.wait(timeout=timeout)
        for _ in range(100):
            if self._stderr:
                break
            time.sleep(0.05)
        return b"".join(self._stderr).decode("utf-8", "replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class SocketClient(RawClient):
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.settimeout(None)

        def close() -> None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()

        super().__init__(self.sock.sendall, lambda: self.sock.recv(65536), close)
