"""Module signatures of a workspace: loaded in a child process (never in the server), reloaded
on `workspace/didChangeWatchedFiles`, with a timeout."""

import asyncio
import os
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.uris import from_fs_path
from pytest_lsp import LanguageClient
from pytest_lsp.client import client_capabilities

from server_support import initialize, open_doc, server_config, tdi, wait_diagnostics

pytestmark = pytest.mark.asyncio(loop_scope="function")

MODULE = '''import os
from pathlib import Path
from constellation.runtime import module

Path(os.environ["MARKER"]).write_text(str(os.getpid()))


@module
def Greet(name: str) -> str:
    """Says hello."""
    return "hello " + name
'''


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "constellation.toml").write_text('modules = ["mods.py"]\n')
    (tmp_path / "mods.py").write_text(MODULE)
    return tmp_path


MARKER = Path(os.environ.get("TMPDIR", "/tmp")) / f"cst-lsp-marker-{os.getpid()}"


@pytest.fixture(autouse=True, scope="module")
def remove_marker():
    """The marker lives outside tmp_path (the server's environment is fixed at import)."""
    yield
    MARKER.unlink(missing_ok=True)


@pytest_lsp.fixture(config=server_config({"MARKER": str(MARKER)}))
async def ws_client(lsp_client: LanguageClient, workspace: Path):
    lsp_client.root = workspace
    await initialize(lsp_client, root=workspace)
    yield
    await lsp_client.shutdown_session()


async def test_workspace_modules_load_in_a_child_and_reload_on_change(ws_client: LanguageClient):
    client = ws_client
    root = client.root
    text = 'in n: String\na = Greet(n)\nb = Wave(n)\nout a\nout b\n'
    uri, diags = await open_doc(client, text, from_fs_path(str(root / "main.cst")))
    assert [(d.code, d.range.start.line) for d in diags if d.severity == lsp.DiagnosticSeverity.Error] == [("E002", 2)]
    # the module was imported by the `cst modules` child, not by the server
    assert int(MARKER.read_text()) != client._server.pid

    (root / "mods.py").write_text(MODULE + '''

@module
def Wave(name: str) -> str:
    """Waves."""
    return "wave " + name
''')
    before = len(client.published)
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[
        lsp.FileEvent(uri=from_fs_path(str(root / "mods.py")), type=lsp.FileChangeType.Changed)]))
    # (a publication of the old registry may still arrive first: wait for the reloaded one)
    errors = None
    for _ in range(750):
        fresh = [p for p in client.published[before:] if p.uri == uri]
        errors = fresh and [d for d in fresh[-1].diagnostics if d.severity == lsp.DiagnosticSeverity.Error]
        if fresh and not errors:
            break
        await asyncio.sleep(0.02)
    assert errors == []
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=tdi(uri), position=lsp.Position(line=2, character=5)))
    assert "Waves." in hover.contents.value


@pytest_lsp.fixture(config=server_config({"MARKER": str(MARKER)}))
async def slow_client(lsp_client: LanguageClient, workspace: Path):
    (workspace / "mods.py").write_text("import time\ntime.sleep(30)\n" + MODULE)
    lsp_client.root = workspace
    await initialize(lsp_client, root=workspace, options={"registryTimeout": 1})
    yield
    await lsp_client.shutdown_session()


async def test_a_hanging_module_import_times_out_to_the_stdlib(slow_client: LanguageClient):
    client = slow_client
    text = 'in n: String\na = stdlib.string.trim(n)\nb = Greet(n)\nout a\nout b\n'
    uri, diags = await open_doc(client, text, from_fs_path(str(client.root / "main.cst")))
    assert [(d.code, d.range.start.line) for d in diags if d.severity == lsp.DiagnosticSeverity.Error] == [("E002", 2)]
    assert any("took longer than 1 s" in m.message for m in client.messages)


@pytest.fixture
def nested_workspace(tmp_path: Path) -> Path:
    """A workspace whose root has no constellation.toml; one sub-project has its own."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "constellation.toml").write_text('modules = ["mods.py"]\n')
    (project / "mods.py").write_text(MODULE)
    (tmp_path / "other").mkdir()
    return tmp_path


@pytest_lsp.fixture(config=server_config({"MARKER": str(MARKER)}))
async def nested_client(lsp_client: LanguageClient, nested_workspace: Path):
    lsp_client.root = nested_workspace
    await initialize(lsp_client, root=nested_workspace)
    yield
    await lsp_client.shutdown_session()


async def test_each_document_sees_the_modules_of_its_nearest_constellation_toml(
        nested_client: LanguageClient):
    """As `cst check` and `cst run` do: a sub-project's configuration applies to its files,
    not to files elsewhere in the workspace."""
    client = nested_client
    root = client.root
    text = 'in n: String\na = Greet(n)\nout a\n'
    inside, diags = await open_doc(client, text, from_fs_path(str(root / "project" / "main.cst")))
    assert [d for d in diags if d.severity == lsp.DiagnosticSeverity.Error] == []
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=tdi(inside), position=lsp.Position(line=1, character=5)))
    assert "Says hello." in hover.contents.value

    outside, diags = await open_doc(client, text, from_fs_path(str(root / "other" / "main.cst")))
    assert [(d.code, d.range.start.line) for d in diags
            if d.severity == lsp.DiagnosticSeverity.Error] == [("E002", 1)]


async def wait_errors(client: LanguageClient, uri: str, since: int, want) -> list:
    """The error codes of the latest publication for `uri` after `since`, once `want` holds."""
    codes = None
    for _ in range(750):
        fresh = [p for p in client.published[since:] if p.uri == uri]
        codes = fresh and [d.code for d in fresh[-1].diagnostics
                           if d.severity == lsp.DiagnosticSeverity.Error]
        if fresh and want(codes):
            break
        await asyncio.sleep(0.02)
    return codes


@pytest_lsp.fixture(config=server_config({"MARKER": str(MARKER)}))
async def trusted_ws(lsp_client: LanguageClient, workspace: Path):
    lsp_client.root = workspace
    await initialize(lsp_client, root=workspace, options={"trusted": True})
    yield
    await lsp_client.shutdown_session()


async def test_settings_changes_take_effect_without_an_edit(trusted_ws: LanguageClient):
    """Withdrawing trust unloads the workspace's modules and a new diagnostics cap re-publishes,
    without touching the document; configuration cannot give the trust back (only a new
    session whose initializationOptions say so can)."""
    client = trusted_ws
    text = 'in n: String\na = Greet(n)\nb = Greet(1)\nc = Greet(2)\nout a\nout b\nout c\n'
    uri, diags = await open_doc(client, text, from_fs_path(str(client.root / "main.cst")))
    assert [d.code for d in diags if d.severity == lsp.DiagnosticSeverity.Error] == ["E010", "E010"]

    def change(settings: dict) -> int:
        before = len(client.published)
        client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
            settings={"constellation": settings}))
        return before

    since = change({"maxDiagnostics": 1})
    published = await wait_errors(client, uri, since, lambda c: len(c) == 1)
    assert published == ["E010"]
    since = change({"trusted": False, "maxDiagnostics": 1000})
    assert await wait_errors(client, uri, since, lambda c: len(c) == 3) == ["E002"] * 3
    since = change({"trusted": True, "maxDiagnostics": 999})
    assert await wait_errors(client, uri, since, lambda c: True) == ["E002"] * 3


def touching(marker: Path) -> list[str]:
    """A `cli` setting that runs a shell command (as a hostile workspace would write it)."""
    return ["sh", "-c", f'touch "{marker}"']


@pytest.fixture
def cli_marker(tmp_path: Path) -> Path:
    return tmp_path.parent / f"{tmp_path.name}-cli-ran"


@pytest_lsp.fixture(config=server_config({"MARKER": str(MARKER)}))
async def escalating(lsp_client: LanguageClient, workspace: Path, cli_marker: Path):
    """An untrusted session whose workspace configuration claims trust and names a command."""
    MARKER.unlink(missing_ok=True)
    lsp_client.root = workspace
    lsp_client.set_configuration({"trusted": True, "cli": touching(cli_marker), "modules": ["mods.py"]},
                                 section="constellation")
    await initialize(lsp_client, root=workspace, options={"trusted": False})
    yield
    await lsp_client.shutdown_session()


async def test_workspace_configuration_cannot_raise_trust_or_choose_the_command(
        escalating: LanguageClient, cli_marker: Path):
    client = escalating
    root = client.root
    text = 'in n: String\na = Greet(n)\nout a\n'
    uri, diags = await open_doc(client, text, from_fs_path(str(root / "main.cst")))
    # the start-up configuration answer (pulled before the first load) was not obeyed
    assert [d.code for d in diags if d.severity == lsp.DiagnosticSeverity.Error] == ["E002"]

    # nor is a pushed change, nor a change the server pulls again; then the module files
    # change, which reloads the signatures (with the workspace's code, were it trusted)
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"constellation": {"trusted": True, "cli": touching(cli_marker)}}))
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=None))
    since = len(client.published)
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[
        lsp.FileEvent(uri=from_fs_path(str(root / "mods.py")), type=lsp.FileChangeType.Changed)]))
    assert await wait_errors(client, uri, since, lambda c: True) == ["E002"]
    assert not cli_marker.exists(), "a workspace configuration chose the command that ran"
    assert not MARKER.exists(), "the workspace's module code ran"
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="constellation.runPipeline", arguments=[{"uri": uri, "inputs": {"n": "x"}}]))
    assert result["status"] == "rejected" and "not trusted" in result["errors"][0]["message"]


@pytest_lsp.fixture(config=server_config({"MARKER": str(MARKER)}))
async def user_cli(lsp_client: LanguageClient, workspace: Path, cli_marker: Path):
    """The same trust and command, given by the user (initializationOptions)."""
    lsp_client.root = workspace
    await initialize(lsp_client, root=workspace, options={"trusted": True, "cli": touching(cli_marker)})
    yield
    await lsp_client.shutdown_session()


async def test_the_users_own_trust_and_command_are_obeyed(user_cli: LanguageClient, cli_marker: Path):
    """The control of the test above: the marker does appear when the user chose the command."""
    client = user_cli
    await open_doc(client, 'in n: String\nout n\n', from_fs_path(str(client.root / "main.cst")))
    assert cli_marker.exists()


@pytest_lsp.fixture(config=server_config({"MARKER": str(MARKER)}))
async def no_trust_option(lsp_client: LanguageClient, workspace: Path):
    MARKER.unlink(missing_ok=True)
    lsp_client.root = workspace
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=from_fs_path(str(workspace)),
        initialization_options={"debounceMs": 150}))
    yield
    await lsp_client.shutdown_session()


async def test_the_server_trusts_nothing_by_default(no_trust_option: LanguageClient):
    """No `trusted` in initializationOptions: stdlib only, no module import, no run, and a
    warning that says why."""
    client = no_trust_option
    text = 'in n: String\na = Greet(n)\nout a\n'
    uri, diags = await open_doc(client, text, from_fs_path(str(client.root / "main.cst")))
    assert [d.code for d in diags if d.severity == lsp.DiagnosticSeverity.Error] == ["E002"]
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="constellation.runPipeline", arguments=[{"uri": uri, "inputs": {"n": "x"}}]))
    assert result["status"] == "rejected"
    assert any("not trusted" in m.message for m in client.messages)
    assert not MARKER.exists()


@pytest.fixture
def run_workspace(tmp_path: Path) -> Path:
    """A project in a sub-folder whose constellation.toml also sets the executor, and a module
    file that only the `modules` setting names (relative to the workspace root)."""
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "mods.py").write_text(MODULE)
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "more.py").write_text(
        "from constellation.runtime import module\n\n@module\n"
        "def Shout(name: str) -> str:\n    return name.upper() + '!'\n")
    return tmp_path


@pytest_lsp.fixture(config=server_config({"MARKER": str(MARKER)}))
async def run_client(lsp_client: LanguageClient, run_workspace: Path):
    lsp_client.root = run_workspace
    await initialize(lsp_client, root=run_workspace, options={"modules": ["extra/more.py"]})
    yield
    await lsp_client.shutdown_session()


async def test_an_editor_run_uses_the_documents_configuration_as_cst_run_does(
        run_client: LanguageClient):
    client = run_client
    project = client.root / "project"
    (project / "constellation.toml").write_text('modules = ["mods.py"]\n')
    text = 'in n: String\na = Shout(Greet(n))\nout a\n'
    uri, diags = await open_doc(client, text, from_fs_path(str(project / "main.cst")))
    assert [d for d in diags if d.severity == lsp.DiagnosticSeverity.Error] == []

    def run():
        return client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command="constellation.runPipeline", arguments=[{"uri": uri, "inputs": {"n": "bo"}}]))

    result = await run()  # the toml's module and the setting's module (from the root)
    assert result["status"] == "completed" and result["outputs"] == {"a": "HELLO BO!"}
    (project / "constellation.toml").write_text(
        'modules = ["mods.py"]\nexecutor = "dask"\ndask_address = "nowhere"\n')
    result = await run()  # the toml's executor settings apply too (here, a bad address)
    assert result["status"] == "rejected"
    assert "Dask address 'nowhere'" in result["errors"][0]["message"]


async def test_code_lenses_asked_at_once_wait_for_the_module_signatures(ws_client: LanguageClient):
    """A client that cannot be asked to refresh code lenses (Neovim) keeps its first answer:
    that answer must already know the workspace's modules (`layer 1` above `a`)."""
    client = ws_client
    text = 'in n: String\na = Greet(n)\nout a\n'
    uri = from_fs_path(str(client.root / "lens.cst"))
    # the layer as a lens, not an inlay hint (by default the hint shows it, and no lens)
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings={
        "constellation": {"inlayHints": {"layers": False}, "codeLens": {"layers": True}}}))
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="constellation", version=1, text=text)))
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=tdi(uri)))
    assert [(l.range.start.line, l.command.title) for l in lenses][3:] == [(1, "layer 1")]


@pytest_lsp.fixture(config=server_config())
async def endless_debounce(lsp_client: LanguageClient, tmp_path: Path):
    await initialize(lsp_client, root=tmp_path, options={"debounceMs": 10**9})  # 11.6 days
    yield
    await lsp_client.shutdown_session()


async def test_debounce_ms_is_clamped_to_five_seconds(endless_debounce: LanguageClient):
    """A debounce past 5,000 ms is taken as 5,000 ms: typing still gets diagnostics."""
    client = endless_debounce
    text = 'in s: String\nout s\n'
    uri, _ = await open_doc(client, text)
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text + "out missing\n")]))
    diags = await wait_diagnostics(client, uri, 2, timeout=30)
    assert [d.code for d in diags] == ["E001"]


async def test_the_not_trusted_warning_is_shown_once(no_trust_option: LanguageClient):
    """A module file saved later reloads the signatures; the warning was said at start."""
    client = no_trust_option
    uri, _ = await open_doc(client, 'in n: String\na = Greet(n)\nout a\n',
                            from_fs_path(str(client.root / "main.cst")))
    published = len(client.published)
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[
        lsp.FileEvent(uri=from_fs_path(str(client.root / "mods.py")), type=lsp.FileChangeType.Changed)]))
    for _ in range(250):  # the reload publishes the document again
        if len(client.published) > published:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    warnings = [m for m in client.messages if "only the standard library" in m.message]
    assert len(warnings) == 1, [m.message for m in warnings]
