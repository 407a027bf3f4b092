"""`constellation/graph` (issue 16, items 1 and 7; docs/graph.md), through the real server:
its nodes and layers are those of `cst layers`, its JSON is `cst graph --format json`'s, an
edit that breaks the file keeps the last good graph (marked stale, with the errors), and the
`Graph` lens is offered to a client that says it shows graphs."""

import json
import subprocess
import sys

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from pytest_lsp.client import client_capabilities

from server_support import EXAMPLES, initialize, open_doc, plain, server_config, tdi, wait_diagnostics

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROFILE = (EXAMPLES / "profile.cst").read_text()


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: LanguageClient):
    capabilities = client_capabilities("visual-studio-code")
    capabilities.experimental = {"constellationGraph": True}
    await initialize(lsp_client, capabilities=capabilities)
    yield
    await lsp_client.shutdown_session()


async def graph(client, uri):
    return plain(await client.protocol.send_request_async("constellation/graph", {"textDocument": {"uri": uri}}))


def cli(*args, text=None):
    return subprocess.run([sys.executable, "-m", "constellation.cli.main", *args], input=text,
                          capture_output=True, text=True, cwd=EXAMPLES, timeout=60)


async def test_the_graph_is_the_plan_with_the_compilers_layers(client: LanguageClient):
    uri, _ = await open_doc(client, PROFILE)
    g = await graph(client, uri)
    layers = json.loads(cli("layers", "profile.cst", "--json").stdout)["layers"]
    by_id = {n["id"]: n for n in g["nodes"]}
    assert [[by_id[i]["name"] for i in layer["nodes"]] for layer in g["layers"]] == \
        [[n["name"] for n in layer["nodes"]] for layer in layers]
    assert {n["name"]: n["kind"] for n in g["nodes"]} == {
        "userId": "input", "user": "call", "orders": "call", "preferences": "call", "profile": "call"}
    assert by_id[4]["module"] == "BuildProfile" and by_id[4]["output"] is True
    names = {n["id"]: n["name"] for n in g["nodes"]}
    assert sorted((names[e["source"]], names[e["target"]]) for e in g["edges"]) == sorted([
        ("userId", "user"), ("userId", "orders"), ("userId", "preferences"),
        ("user", "profile"), ("orders", "profile"), ("preferences", "profile")])
    # a node's range is its binding's name, in the document
    user = next(n for n in g["nodes"] if n["name"] == "user")
    line = PROFILE.splitlines()[user["range"]["start"]["line"]]
    assert line[user["range"]["start"]["character"]:user["range"]["end"]["character"]] == "user"
    assert g["stale"] is False and g["errors"] == []
    # the terminal gets the same JSON
    assert json.loads(cli("graph", "profile.cst", "--format", "json").stdout) == g


async def test_lazy_and_fallback_calls_are_marked(client: LanguageClient):
    text = ("in s: String\na = Trim(s) with lazy: true\nb = Uppercase(s) with fallback: Lowercase(s)\n"
            "c = \"${b}!\"\nout a\nout c\n")
    uri, diags = await open_doc(client, text)
    assert not [d for d in diags if d.severity == lsp.DiagnosticSeverity.Error], diags
    kinds = {n["name"]: n["kind"] for n in (await graph(client, uri))["nodes"]}
    assert kinds["a"] == "lazy" and kinds["b"] == "call" and kinds["c"] == "inline"
    assert "fallback" in kinds.values(), kinds


async def test_an_edit_with_errors_keeps_the_last_good_graph(client: LanguageClient):
    uri, _ = await open_doc(client, PROFILE)
    good = await graph(client, uri)
    broken = PROFILE.replace("GetOrders(userId)", "GetOrders(nope)")
    assert broken != PROFILE
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=broken)]))
    await wait_diagnostics(client, uri, 2)
    stale = await graph(client, uri)
    assert stale["stale"] is True
    assert [n["name"] for n in stale["nodes"]] == [n["name"] for n in good["nodes"]]
    assert stale["layers"] == good["layers"]
    (error,) = stale["errors"]
    assert "nope" in error["message"]
    row = broken.splitlines()[error["range"]["start"]["line"]]
    assert row[error["range"]["start"]["character"]:error["range"]["end"]["character"]] == "nope"


async def test_a_file_never_valid_gets_what_it_has(client: LanguageClient):
    uri, _ = await open_doc(client, "in s: String\na = Trim(b)\nb = Trim(a)\nd = Trim(s)\nout d\n")
    g = await graph(client, uri)
    assert g["stale"] is True and g["errors"]
    layers = {n["name"]: n["layer"] for n in g["nodes"]}
    assert layers == {"s": 0, "a": None, "b": None, "d": 1}


async def test_a_document_that_is_not_open_is_a_sentence(client: LanguageClient):
    with pytest.raises(Exception, match="is not open"):
        await graph(client, "file:///nowhere/x.cst")
    with pytest.raises(Exception, match="textDocument"):
        await client.protocol.send_request_async("constellation/graph", {"uri": 3})


async def test_the_graph_lens_is_for_clients_that_show_graphs(client: LanguageClient):
    uri, _ = await open_doc(client, PROFILE)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=tdi(uri)))
    graph_lens = [l for l in lenses if l.command.title == "Graph"]
    assert [(l.range.start.line, l.command.command, list(l.command.arguments)) for l in graph_lens] == [
        (0, "constellation.showGraph", [{"uri": uri}])]


@pytest_lsp.fixture(config=server_config(), scope="module")
async def plain_client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_no_graph_lens_for_a_client_without_a_graph_view(plain_client: LanguageClient):
    uri, _ = await open_doc(plain_client, PROFILE)
    lenses = await plain_client.text_document_code_lens_async(lsp.CodeLensParams(text_document=tdi(uri)))
    assert "Graph" not in [l.command.title for l in lenses]


async def test_two_calls_of_one_module_on_a_line_are_told_apart_by_their_column(client: LanguageClient):
    uri, _ = await open_doc(client, (EXAMPLES / "numbers.cst").read_text())
    names = [n["name"] for n in (await graph(client, uri))["nodes"]]
    assert len(set(names)) == len(names), names
    assert {"FormatNumber@16:41", "FormatNumber@16:84"} <= set(names)
    # a run's calls, named as the webview names them (model.ts callKeys), are those nodes
    started = json.loads(cli("run", "numbers.cst", "--examples", "--events").stdout.splitlines()[0])
    same = [c for c in started["calls"] if c["name"] == "FormatNumber@16"]
    assert sorted(f"{c['name']}:{c['column']}" for c in same) == ["FormatNumber@16:41", "FormatNumber@16:84"]
    assert {c["name"] for c in started["calls"]} - {"FormatNumber@16"} <= set(names)
