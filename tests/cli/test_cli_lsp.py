"""`cst lsp` starts the language server on stdio: it answers `initialize` and exits cleanly."""

from __future__ import annotations

import contextlib
import json
import subprocess

from cli_support import cst_command


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body


def read_message(stream) -> dict:
    length = None
    while True:
        line = stream.readline()
        assert line, "the server closed its output"
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(stream.read(length))


@contextlib.contextmanager
def lsp_session(options: dict | None = None):
    """`cst lsp` over stdio, initialized; yields `request(method, params)` and `notify(...)`;
    at the end: shutdown, exit status 0 and no traceback in its log."""
    proc = subprocess.Popen([*cst_command(), "lsp"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ids = iter(range(1, 1000))

    def request(method: str, params: dict) -> dict:
        id_ = next(ids)
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}))
        proc.stdin.flush()
        message = read_message(proc.stdout)
        while message.get("id") != id_:  # skip notifications (log messages and the like)
            message = read_message(proc.stdout)
        return message

    def notify(method: str, params: dict) -> None:
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": method, "params": params}))
        proc.stdin.flush()

    try:
        answer = request("initialize", {"processId": None, "rootUri": None, "capabilities": {},
                                        "initializationOptions": options or {}})
        assert "capabilities" in answer["result"]
        yield request, notify
        request("shutdown", {})
        notify("exit", {})
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"Traceback" not in proc.stderr.read()


def test_lsp_stdio_initialize_and_exit():
    with lsp_session():
        pass


def test_a_refused_rename_is_an_error_answer_not_a_traceback_in_the_log():
    uri = "untitled:refused.cst"
    with lsp_session({"trusted": False}) as (request, notify):
        notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "constellation", "version": 1,
            "text": "in a: Int\nb = a + 1\nout b\n"}})
        answer = request("textDocument/rename", {
            "textDocument": {"uri": uri}, "position": {"line": 1, "character": 0},
            "newName": "a"})
        assert answer["error"]["code"] == -32602 and "'a'" in answer["error"]["message"]


def test_lsp_exit_without_shutdown_is_status_1():
    proc = subprocess.Popen([*cst_command(), "lsp"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": None, "capabilities": {}}}))
        proc.stdin.flush()
        assert "capabilities" in read_message(proc.stdout)["result"]
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit", "params": None}))
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_lsp_tcp_serves_only_the_client_with_its_token(tmp_path):
    import os
    import socket
    import stat

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    env.pop("CONSTELLATION_LSP_TOKEN", None)
    proc = subprocess.Popen([*cst_command(), "lsp", "--tcp", f":{port}"], env=env,  # loopback
                            stderr=subprocess.PIPE, text=True)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": {}}}
    try:
        started = proc.stderr.readline()
        path = tmp_path / "constellation" / f"lsp-{port}.token"
        assert f"listening on tcp 127.0.0.1:{port}" in started and str(path) in started
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(frame(init))  # no token
            answer = read_message(sock.makefile("rb"))
            assert "Not authenticated" in answer["error"]["message"]
            assert sock.recv(1) == b""  # closed
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            stream = sock.makefile("rb")
            init["params"]["initializationOptions"] = {"token": path.read_text().strip()}
            sock.sendall(frame(init))
            assert read_message(stream)["result"]["serverInfo"]["name"] == "constellation-lsp"
            sock.sendall(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
                         + frame({"jsonrpc": "2.0", "method": "exit", "params": None}))
            assert proc.wait(timeout=30) == 0
        assert not path.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_lsp_tcp_on_a_port_in_use_is_a_sentence():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*cst_command(), "lsp", "--tcp", f"127.0.0.1:{port}"],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "in use" in result.stderr
    assert "Traceback" not in result.stderr
