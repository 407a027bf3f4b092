"""Every request gets an answer, over a raw JSON-RPC client on stdio (pytest-lsp's typed
client cannot send malformed params or damaged frames): invalid params get `InvalidParams`,
requests after `shutdown` get `InvalidRequest`, `exit` ends with status 0 only after
`shutdown`, a cancelled request that has not started never runs, a damaged frame is logged
and the next message is read, and a document version past LSP's int32 is accepted."""

import importlib.util
import json
import time
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from raw_lsp import StdioServer, frame



def _benchmark_module(name: str):
    """A benchmark script as a module, without putting benchmarks/ on sys.path: its
    `dask.py` would then shadow the real dask in every process spawned afterwards (the
    LocalCluster's workers failed with "'dask' is not a package")."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"constellation_benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generated_program = _benchmark_module("lsp").generated_program  # the benchmark's program generator

INVALID_PARAMS = -32602
INVALID_REQUEST = -32600
REQUEST_CANCELLED = -32800
BROKEN = "in a: Int\nb = a +\nout b\n"  # one syntax error


def registered_requests() -> list[str]:
    """The request methods the server registers (its own and pygls' built-in ones)."""
    from constellation.server.main import create_server
    fm = create_server().protocol.fm
    methods = set(fm.features) | set(fm.builtin_features)
    return sorted(m for m in methods
                  if lsp.METHOD_TO_TYPES.get(m, (None, None))[1] is not None and m != lsp.SHUTDOWN)


def malformed_params(method: str) -> list:
    doc = {"uri": "untitled:m.cst"}
    variants = [None, {}, {"textDocument": 5}, [1, 2]]
    params_type = lsp.METHOD_TO_TYPES[method][2]
    fields = {a.name for a in getattr(params_type, "__attrs_attrs__", ())}
    if "position" in fields:  # negative positions, and a position without its character
        variants += [{"textDocument": doc, "position": {"line": -1, "character": 0}},
                     {"textDocument": doc, "position": {"line": 0, "character": -3}},
                     {"textDocument": doc, "position": {"line": 0}}]
    if "range" in fields:
        variants.append({"textDocument": doc, "range": {"start": {"line": -1, "character": 0},
                                                         "end": {"line": 0, "character": 0}},
                         "context": {"diagnostics": []}})
    if method == lsp.WORKSPACE_EXECUTE_COMMAND:
        variants += [{"command": 5}, {"command": "constellation.showLayers", "arguments": [5]},
                     {"command": "constellation.runPipeline", "arguments": [{"uri": 5}]},
                     {"command": "no.such.command"}]
    return variants


def open_doc(server: StdioServer, uri: str, text: str, version: int = 1) -> None:
    server.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "constellation", "version": version, "text": text}})


def test_every_malformed_request_gets_an_invalid_params_answer():
    requests = registered_requests()
    assert len(requests) >= 20 and lsp.TEXT_DOCUMENT_HOVER in requests
    with StdioServer() as server:
        server.initialize()
        sent = {}
        for method in requests:
            for params in malformed_params(method):
                sent[server.request(method, params)] = (method, params)
        unanswered, wrong = [], []
        for id_, (method, params) in sent.items():
            try:
                answer = server.answer(id_, timeout=10 if not unanswered else 1)
            except TimeoutError:
                unanswered.append((method, params))
                continue
            if answer.get("error", {}).get("code") != INVALID_PARAMS:
                wrong.append((method, params, answer))
        assert not unanswered, f"{len(unanswered)} of {len(sent)} never answered: {unanswered}"
        assert not wrong, wrong
        # the answer says what is wrong, and the server still works
        answer = server.call("textDocument/hover", {"textDocument": {"uri": "untitled:m.cst"},
                                                    "position": {"line": -1, "character": 0}})
        assert "$.params.position" in answer["error"]["message"]
        open_doc(server, "untitled:after.cst", BROKEN)
        assert server.diagnostics("untitled:after.cst")["diagnostics"]


def test_a_notification_with_invalid_params_is_logged_not_fatal():
    with StdioServer() as server:
        server.initialize()
        server.notify("textDocument/didOpen", None)
        server.notify("textDocument/didChange", {"textDocument": {"uri": "untitled:x.cst"}})
        logged = server.wait_for(lambda m: m.get("method") == "window/logMessage"
                                 and "invalid params" in m["params"]["message"])
        assert "textDocument/didOpen" in logged["params"]["message"]
        open_doc(server, "untitled:still.cst", BROKEN)
        assert server.diagnostics("untitled:still.cst")["diagnostics"]


def test_requests_after_shutdown_get_invalid_request_and_exit_is_status_0():
    with StdioServer() as server:
        server.initialize()
        open_doc(server, "untitled:s.cst", BROKEN)
        assert server.call("shutdown", None)["result"] is None
        for method, params in [("textDocument/hover", {"textDocument": {"uri": "untitled:s.cst"},
                                                       "position": {"line": 0, "character": 3}}),
                               ("textDocument/documentSymbol", {"textDocument": {"uri": "untitled:s.cst"}}),
                               ("shutdown", None)]:
            answer = server.call(method, params, timeout=10)
            assert answer["error"]["code"] == INVALID_REQUEST, (method, answer)
            assert "shut down" in answer["error"]["message"]
        server.notify("exit", None)
        assert server.proc.wait(timeout=20) == 0


def test_exit_without_shutdown_is_status_1():
    with StdioServer() as server:
        server.initialize()
        server.notify("exit", None)
        assert server.proc.wait(timeout=20) == 1
        assert "Traceback" not in server.stderr()


def test_cancelled_requests_that_have_not_started_do_not_run():
    """1,000 formatting requests, answered, against the same 1,000 each followed by its
    cancellation: the cancelled ones are answered `RequestCancelled` without running."""
    uri, n = "untitled:cancel.cst", 1000
    with StdioServer() as server:
        server.initialize()
        open_doc(server, uri, generated_program(120))
        server.diagnostics(uri, timeout=60)
        params = {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}}

        def burst(cancel: bool) -> tuple[float, list[dict]]:
            start = time.perf_counter()
            ids = [server.request("textDocument/formatting", params) for _ in range(n)]
            if cancel:
                server.send_bytes(b"".join(frame({"jsonrpc": "2.0", "method": "$/cancelRequest",
                                                  "params": {"id": i}}) for i in ids))
            answers = [server.answer(i, timeout=300) for i in ids]
            return time.perf_counter() - start, answers

        full, answers = burst(cancel=False)
        assert all("result" in a for a in answers)
        cancelled, answers = burst(cancel=True)
        skipped = sum(a.get("error", {}).get("code") == REQUEST_CANCELLED for a in answers)
        # before: none skipped, the same time; on a loaded machine the server starts some
        # requests before their cancellations arrive (729 of 1,000 were skipped once)
        assert skipped >= n / 2, skipped
        assert cancelled < full / 2, (cancelled, full)


def test_after_damaged_frames_the_next_message_is_read():
    good = lambda name: frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": f"untitled:{name}.cst", "languageId": "constellation",
                         "version": 1, "text": BROKEN}}})

    def with_length(data: bytes, delta: int) -> bytes:
        head, _, body = data.partition(b"\r\n\r\n")
        return b"Content-Length: %d\r\n\r\n" % (len(body) + delta) + body

    damaged = [
        ("too-long", with_length(good("too-long"), +40)),       # swallows part of the next frame
        ("too-short", with_length(good("too-short"), -25)),     # leaves its tail before the next
        ("not-json", b"Content-Length: 9\r\n\r\n{not json"),
        ("garbage-header", b"Garbage header line\r\n" + good("garbage-header")),
        ("junk-between", b"\x00\xffjunk bytes\r\n"),
        ("huge-length", b"Content-Length: 999999999\r\n\r\n{\"jsonrpc\": "),
        ("bad-utf8", b"Content-Length: 4\r\n\r\n\"\xff\xfe\""),
        ("many-digits", b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n{}"),  # int() refuses it
    ]
    with StdioServer() as server:
        server.initialize()
        for name, data in damaged:
            server.send_bytes(data)
            server.send_bytes(good(f"after-{name}"))
            assert server.diagnostics(f"untitled:after-{name}.cst")["diagnostics"], name
        # a frame whose length overshot is still read, up to the next header
        assert server.diagnostics("untitled:too-long.cst")["diagnostics"]
        assert server.diagnostics("untitled:garbage-header.cst")["diagnostics"]
        logged = [m["params"]["message"] for m in server.seen if m.get("method") == "window/logMessage"]
        assert any("damaged input" in m for m in logged)
        server.call("shutdown", None)
        server.notify("exit", None)
        assert server.proc.wait(timeout=20) == 0
        err = server.stderr()
    assert "damaged input from the client" in err and "not valid JSON" in err


@pytest.mark.parametrize("start", [2**31 - 2, 2**53 - 5])
def test_document_versions_past_int32_are_accepted_and_published(start):
    uri = "untitled:versions.cst"
    with StdioServer() as server:
        server.initialize()
        open_doc(server, uri, "in a: Int\nout a\n", version=start)
        assert server.diagnostics(uri)["version"] == start
        for step, text in enumerate([BROKEN, "in a: Int\nout a\n", BROKEN], start=1):
            server.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": start + step},
                "contentChanges": [{"text": text}]})
            published = server.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                        and m["params"]["version"] == start + step)["params"]
            assert bool(published["diagnostics"]) == (text == BROKEN), (step, published)
        # the server's copy is the editor's: an incremental edit at the end applies in place
        server.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": start + 10},
            "contentChanges": [{"range": {"start": {"line": 1, "character": 6},
                                          "end": {"line": 1, "character": 7}}, "text": "+ 1"}]})
        published = server.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                    and m["params"]["version"] == start + 10)["params"]
        assert published["diagnostics"] == []
        symbols = server.call("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
        assert json.dumps(symbols["result"]).count('"name": "b"') >= 1


def test_exit_right_after_start_ends_the_process_while_signatures_load():
    """`exit` while the workspace's `cst modules` child is being started: the cancelled load
    may never finish (asyncio waits for a child it is still spawning), and must not keep the
    server alive (it did, about one start in three)."""
    from pygls.uris import from_fs_path
    examples = Path(__file__).resolve().parents[2] / "examples"
    for _ in range(8):
        with StdioServer() as server:
            server.call("initialize", {"processId": None, "rootUri": from_fs_path(str(examples)),
                                       "capabilities": {}, "initializationOptions": {"trusted": True}})
            server.notify("initialized", {})
            server.call("shutdown", None)
            server.notify("exit", None)
            assert server.proc.wait(timeout=20) == 0
