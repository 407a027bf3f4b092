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
