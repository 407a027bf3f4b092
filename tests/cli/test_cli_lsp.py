"""`cst lsp` starts the language server on stdio: it answers `initialize` and exits cleanly."""

from __future__ import annotations

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


def test_lsp_stdio_initialize_and_exit():
    proc = subprocess.Popen([*cst_command(), "lsp"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                "params": {"processId": None, "rootUri": None,
                                           "capabilities": {}}}))
        proc.stdin.flush()
        message = read_message(proc.stdout)
        while message.get("id") != 1:  # skip notifications (log messages and the like)
            message = read_message(proc.stdout)
        assert "capabilities" in message["result"]
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        proc.stdin.flush()
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"Traceback" not in proc.stderr.read()


def test_a_refused_rename_is_an_error_answer_not_a_traceback_in_the_log():
    proc = subprocess.Popen([*cst_command(), "lsp"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    uri = "untitled:refused.cst"

    def request(id_: int, method: str, params: dict) -> dict:
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}))
        proc.stdin.flush()
        message = read_message(proc.stdout)
        while message.get("id") != id_:
            message = read_message(proc.stdout)
        return message

    try:
        request(1, "initialize", {"processId": None, "rootUri": None, "capabilities": {},
                                  "initializationOptions": {"trusted": False}})
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "constellation", "version": 1,
                             "text": "in a: Int\nb = a + 1\nout b\n"}}}))
        answer = request(2, "textDocument/rename", {
            "textDocument": {"uri": uri}, "position": {"line": 1, "character": 0},
            "newName": "a"})
        assert answer["error"]["code"] == -32602 and "'a'" in answer["error"]["message"]
        request(3, "shutdown", {})
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"Traceback" not in proc.stderr.read()
