"""Helpers of the server tests: the real server over stdio, driven by pytest-lsp's client.

(Imported by name, as cli_support is: a module called conftest would clash with the other
suites' conftest when pytest collects several folders at once.)

The corpus is found through `CONSTELLATION_CORPUS` (default `<repo>/../shared/corpus`); tests
that need it are skipped with a message when it is absent.
"""

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from corpus_support import corpus_dir as shared_corpus_dir
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, client_capabilities, register_lsp_features
from pygls.protocol import default_converter
from pygls.uris import from_fs_path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SERVER = [sys.executable, "-m", "constellation.server"]
CLIENTS = ["visual-studio-code", "neovim"]


def corpus_dir() -> Path:
    path = shared_corpus_dir()
    if not (path / "expected.json").is_file():
        pytest.skip(f"the shared corpus is absent (set CONSTELLATION_CORPUS; looked in {path})")
    return path


def corpus_expected() -> list[dict]:
    return json.loads((corpus_dir() / "expected.json").read_text())


def corpus_file(rel: str) -> Path:
    return corpus_dir() / rel


def plain(value):
    """pygls hands custom notification params over as nested named tuples: back to JSON shapes."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def make_client() -> LanguageClient:
    """pytest-lsp's client, also recording versioned diagnostics, run events and refreshes."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = []
    client.run_events = []
    client.refreshes = []
    features = dict(DEFAULT_CLIENT_FEATURES)
    record = features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def publish(client: LanguageClient, params: lsp.PublishDiagnosticsParams):
        record(client, params)
        client.published.append(params)

    def run_event(client: LanguageClient, params):
        client.run_events.append(plain(params))

    def refresh(method):
        def handler(client: LanguageClient, params):
            client.refreshes.append(method)
        return handler

    def register_capability(client: LanguageClient, params: lsp.RegistrationParams):
        client.registrations.extend(params.registrations)

    client.registrations = []
    features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    features[lsp.CLIENT_REGISTER_CAPABILITY] = register_capability
    features["constellation/runEvent"] = run_event
    for method in (lsp.WORKSPACE_INLAY_HINT_REFRESH, lsp.WORKSPACE_CODE_LENS_REFRESH,
                   lsp.WORKSPACE_SEMANTIC_TOKENS_REFRESH):
        features[method] = refresh(method)
    register_lsp_features(client, features)
    return client


def server_config(env: dict | None = None) -> ClientServerConfig:
    full_env = dict(os.environ)
    full_env.setdefault("CONSTELLATION_TIME_SCALE", "0.2")
    full_env.update(env or {})
    return ClientServerConfig(server_command=SERVER, client_factory=make_client, server_env=full_env)


async def initialize(client: LanguageClient, profile: str = "visual-studio-code",
                     options: dict | None = None, root: Path = EXAMPLES,
                     capabilities: lsp.ClientCapabilities | None = None) -> lsp.InitializeResult:
    capabilities = capabilities or client_capabilities(profile)
    if capabilities.text_document.inlay_hint is None:
        # pytest-lsp's VS Code profile predates inlay hints, which VS Code has since 1.67
        capabilities.text_document.inlay_hint = lsp.InlayHintClientCapabilities()
    result = await client.initialize_session(lsp.InitializeParams(
        capabilities=capabilities,
        root_uri=from_fs_path(str(root)),
        workspace_folders=[lsp.WorkspaceFolder(uri=from_fs_path(str(root)), name=root.name)],
        # the server trusts a workspace only when told so (the tests' workspaces are their own)
        initialization_options={"debounceMs": 150, "trusted": True, **(options or {})},
    ))
    return result


# -- helpers ------------------------------------------------------------------------------------

_uris = iter(range(1, 10**9))


def fresh_uri(name: str = "doc.cst") -> str:
    """A distinct document URI per test (one server is shared by a test module)."""
    return from_fs_path(str(EXAMPLES / f"__test_{next(_uris)}_{name}"))


async def wait_diagnostics(client: LanguageClient, uri: str, version: int | None,
                           timeout: float = 20) -> list[lsp.Diagnostic]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for params in reversed(client.published):
            if params.uri == uri and (version is None or params.version == version):
                return list(params.diagnostics)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no diagnostics for {uri} version {version}")
        await asyncio.sleep(0.02)


async def open_doc(client: LanguageClient, text: str, uri: str | None = None,
                   version: int = 1) -> tuple[str, list[lsp.Diagnostic]]:
    uri = uri or fresh_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="constellation", version=version, text=text)))
    return uri, await wait_diagnostics(client, uri, version)


def close_doc(client: LanguageClient, uri: str) -> None:
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))


def pos(line: int, character: int) -> lsp.Position:
    return lsp.Position(line=line, character=character)


def find(text: str, needle: str, nth: int = 0, delta: int = 0) -> lsp.Position:
    """LSP position (UTF-16) of the nth occurrence of needle (plus delta characters)."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    index += delta
    line = text.count("\n", 0, index)
    col_text = text[text.rfind("\n", 0, index) + 1:index]
    return pos(line, len(col_text.encode("utf-16-le")) // 2)


def tdi(uri: str) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=uri)
