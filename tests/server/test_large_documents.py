"""A large document analysed from scratch is analysed in a worker thread: the server goes on
answering for other documents, answers with nothing for that one until it is ready, then
publishes its diagnostics and asks the client to refresh."""

from __future__ import annotations

import asyncio
import time

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from constellation.server.documents import BACKGROUND_CHARS
from server_support import fresh_uri, open_doc, pos, tdi, wait_diagnostics

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


def large_program(chars: int) -> str:
    lines = ["in seed: Int"]
    i = 0
    while sum(map(len, lines)) < chars:
        prev = f"v{i - 1}" if i else "seed"
        lines += [f"v{i} = add({prev}, {i})", f's{i} = "value ${{v{i}}} of step {i}"',
                  f'b{i} = branch {{ v{i} > {i * 2} -> "big", otherwise -> s{i} }}']
        i += 1
    return "\n".join(lines + [f"out b{i - 1}"]) + "\n"


def open_now(client: LanguageClient, text: str, version: int = 1) -> str:
    uri = fresh_uri("large.cst")
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="constellation", version=version, text=text)))
    return uri


async def test_other_documents_are_answered_while_a_large_one_is_analysed(client: LanguageClient):
    small, _ = await open_doc(client, "in s: String\nr = s\nout r\n")
    text = large_program(3 * BACKGROUND_CHARS)
    start = time.perf_counter()
    uri = open_now(client, text)
    await asyncio.sleep(0.05)  # the worker has started
    hover_sent = time.perf_counter()
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=tdi(small), position=pos(1, 0)))
    hover_ms = (time.perf_counter() - hover_sent) * 1000
    early = await client.text_document_semantic_tokens_full_async(
        lsp.SemanticTokensParams(text_document=tdi(uri)))
    diagnostics = await wait_diagnostics(client, uri, 1, timeout=60)
    analysis_ms = (time.perf_counter() - start) * 1000
    assert hover is not None and "r" in hover.contents.value
    assert [d for d in diagnostics if d.severity == lsp.DiagnosticSeverity.Error] == []
    # in the same run: the hover did not wait for the large document's analysis
    assert hover_ms * 3 < analysis_ms, (hover_ms, analysis_ms)
    # nothing (rather than a stale answer) before the analysis; everything after it
    assert early is None or early.data == []
    tokens = await client.text_document_semantic_tokens_full_async(
        lsp.SemanticTokensParams(text_document=tdi(uri)))
    assert len(tokens.data) > 1000


async def test_commands_wait_for_a_large_documents_analysis(client: LanguageClient):
    uri = open_now(client, large_program(2 * BACKGROUND_CHARS))
    layers = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="constellation.showLayers", arguments=[{"uri": uri}]))
    assert [n["name"] for n in layers["layers"][0]["nodes"]][:1] == ["seed"]
    assert len(layers["layers"]) > 100


async def test_an_edit_during_the_analysis_gets_its_own_diagnostics(client: LanguageClient):
    text = large_program(2 * BACKGROUND_CHARS)
    uri = open_now(client, text)
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=pos(1, 0), end=pos(1, 2)), text="zz")]))
    diagnostics = await wait_diagnostics(client, uri, 2, timeout=60)
    # `v0` was renamed `zz`: its readers report it
    assert [d.code for d in diagnostics if d.severity == lsp.DiagnosticSeverity.Error][:1] == ["E001"]


async def test_outline_and_folding_wait_for_a_large_documents_analysis(client: LanguageClient):
    """Editors ask for these once, on open (no refresh request exists for the outline)."""
    uri = open_now(client, large_program(2 * BACKGROUND_CHARS))
    symbols, folds = await asyncio.gather(
        client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=tdi(uri))),
        client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=tdi(uri))))
    assert symbols[0].name == "seed" and len(symbols) > 1000
    assert folds is not None
