"""Code lenses for a client that resolves the ones it shows (issue 14): the per-binding lenses
come without their command, and `codeLens/resolve` gives each the command every other client
gets with it; the answer follows each new version of the document."""

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from pytest_lsp.client import client_capabilities

from server_support import EXAMPLES, open_doc, server_config, tdi

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROFILE = (EXAMPLES / "profile.cst").read_text()


def capabilities(resolves: bool) -> lsp.ClientCapabilities:
    """A client without inlay hints (so layers are lenses) that runs partially."""
    caps = client_capabilities("emacs")
    caps.text_document.inlay_hint = None
    caps.experimental = {"constellationPartialRuns": True}
    if resolves:
        caps.text_document.code_lens = lsp.CodeLensClientCapabilities(
            resolve_support=lsp.ClientCodeLensResolveOptions(properties=["command"]))
    return caps


async def start(client: LanguageClient, resolves: bool) -> lsp.InitializeResult:
    return await client.initialize_session(lsp.InitializeParams(
        capabilities=capabilities(resolves),
        initialization_options={"debounceMs": 150, "trusted": True}))


@pytest_lsp.fixture(config=server_config(), scope="module")
async def resolving(lsp_client: LanguageClient):
    lsp_client.init_result = await start(lsp_client, resolves=True)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=server_config(), scope="module")
async def whole(lsp_client: LanguageClient):
    await start(lsp_client, resolves=False)
    yield
    await lsp_client.shutdown_session()


def shown(lenses: list[lsp.CodeLens]) -> list[tuple]:
    return [(l.range.start.line, l.range.start.character, l.command.title, l.command.command,
             l.command.arguments) for l in lenses]


async def lenses(client: LanguageClient, uri: str) -> list[lsp.CodeLens]:
    return await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=tdi(uri)))


async def test_resolved_lenses_show_what_whole_lenses_show(resolving: LanguageClient,
                                                           whole: LanguageClient):
    assert resolving.init_result.capabilities.code_lens_provider.resolve_provider
    uri, _ = await open_doc(resolving, PROFILE, uri=(EXAMPLES / "__lens_resolve.cst").as_uri())
    await open_doc(whole, PROFILE, uri=uri)
    light = await lenses(resolving, uri)
    unresolved = [l for l in light if l.command is None]
    assert len(unresolved) == 12  # four bindings: their layer, run to here, re-run from here
    assert all(l.range.start.line > 0 for l in unresolved)
    resolved = [l if l.command is not None else await resolving.code_lens_resolve_async(l)
                for l in light]
    expected = shown(await lenses(whole, uri))
    assert shown(resolved) == expected
    assert {t[2] for t in expected} >= {"layer 1", "layer 2", "▶ Run to here", "↻ Re-run from here"}


async def test_the_lenses_follow_the_document(resolving: LanguageClient):
    uri, _ = await open_doc(resolving, PROFILE, uri=(EXAMPLES / "__lens_follow.cst").as_uri())
    before = await lenses(resolving, uri)
    assert await lenses(resolving, uri) == before  # the same version: the same answer
    lines = PROFILE.count("\n")
    resolving.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(0, 0)), text="\n\n")]))
    after = await lenses(resolving, uri)
    moved = [l.range.start.line for l in after if l.range.start.line > 0]
    assert all(l.command is None for l in after if l.range.start.line > 0)  # resolved when shown
    assert moved == [l.range.start.line + 2 for l in before if l.range.start.line > 0]
    assert max(moved) <= lines + 2
