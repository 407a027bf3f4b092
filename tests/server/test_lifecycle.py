"""Start-up: capabilities, the trusted/untrusted registry, start-up over TCP."""

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from server_support import EXAMPLES, fresh_uri, initialize, open_doc, server_config

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_capabilities(client: LanguageClient):
    caps = client.init_result.capabilities
    assert caps.text_document_sync.change == lsp.TextDocumentSyncKind.Incremental
    assert caps.hover_provider and caps.inlay_hint_provider and caps.code_lens_provider
    assert list(caps.completion_provider.trigger_characters[:2]) == [".", "@"]
    assert caps.semantic_tokens_provider.range is True
    assert caps.semantic_tokens_provider.full == lsp.SemanticTokensFullDelta(delta=True)
    assert set(caps.execute_command_provider.commands) == {
        "constellation.runPipeline", "constellation.cancelRun", "constellation.showLayers"}
    assert caps.rename_provider and caps.document_formatting_provider and caps.code_action_provider
    # Neovim offers UTF-8 first and gets it; VS Code speaks the default UTF-16
    expected = "utf-8" if client.profile == "neovim" else "utf-16"
    assert caps.position_encoding == expected


@pytest_lsp.fixture(config=server_config(), scope="module")
async def untrusted(lsp_client: LanguageClient):
    await initialize(lsp_client, options={"trusted": False})
    yield
    await lsp_client.shutdown_session()


async def test_untrusted_workspace_loads_stdlib_only_and_says_why(untrusted: LanguageClient):
    for _ in range(200):
        if untrusted.messages:
            break
        await asyncio.sleep(0.02)
    assert any("not trusted" in m.message and m.type == lsp.MessageType.Warning for m in untrusted.messages)


async def test_untrusted_workspace_does_not_run_pipelines(untrusted: LanguageClient):
    uri = fresh_uri()
    await open_doc(untrusted, 'in s: String\nr = stdlib.string.trim(s)\nout r\n', uri)
    result = await untrusted.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="constellation.runPipeline", arguments=[{"uri": uri, "inputs": {"s": "x"}}]))
    assert result["status"] == "rejected"
    assert "not trusted" in result["errors"][0]["message"]


@pytest_lsp.fixture(config=server_config(), scope="module")
async def configured(lsp_client: LanguageClient):
    # workspace/configuration (section "constellation") wins over initializationOptions
    lsp_client.set_configuration({"inlayHints": {"types": True, "layers": False}}, section="constellation")
    lsp_client.init_result = await initialize(lsp_client, options={"inlayHints": {"layers": True}})
    yield
    await lsp_client.shutdown_session()


async def test_settings_from_workspace_configuration_and_changes(configured: LanguageClient):
    client = configured
    text = (EXAMPLES / "profile.cst").read_text()
    uri, _ = await open_doc(client, text)
    doc = lsp.TextDocumentIdentifier(uri=uri)
    whole = lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(12, 0))
    hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(text_document=doc, range=whole))
    assert [(h.position.line, h.label, h.kind) for h in hints][:2] == [
        (5, ": { id: String, name: String, email: String }", lsp.InlayHintKind.Type),
        (6, ": List<{ id: String, item: String, amount: Float }>", lsp.InlayHintKind.Type)]
    assert not any(h.label.startswith("layer") for h in hints)

    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"constellation": {"codeLens": {"layers": False}}}))
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=doc))
    assert [l.command.title for l in lenses] == ["▶ Run pipeline", "▶ Run with examples", "Layers"]
