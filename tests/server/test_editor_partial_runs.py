"""Re-run failed, Run to here, Re-run from here (issue 17 items 3 and 4 in the editor): the run
command's `resume`, `target` and `from` arguments run only what they should, as counted by the
modules themselves (tests/records_support.py: each call appends its name to a file beside
them)."""

from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.uris import from_fs_path
from pytest_lsp import LanguageClient
from pytest_lsp.client import client_capabilities

from records_support import counting_project, taken_counts
from server_support import initialize, open_doc, plain, server_config, tdi

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

# layer 1: a, d; layer 2: b (the fragile one); layer 3: c (b's dependent)
PIPELINE = "in s: String\na = First(s)\nb = Fragile(a)\nc = After(b)\nd = Aside(s)\nout c\nout d\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return counting_project(tmp_path_factory.mktemp("partial"))  # counts in `counts` there


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: LanguageClient, project: Path):
    capabilities = client_capabilities("visual-studio-code")
    # its run command passes `target` and `from` on: the server offers the partial-run lenses
    capabilities.experimental = {"constellationPartialRuns": True}
    await initialize(lsp_client, root=project, capabilities=capabilities)
    yield
    await lsp_client.shutdown_session()


def counts(project: Path) -> dict[str, int]:
    return taken_counts(project / "counts")


async def run(client: LanguageClient, uri: str, **extra) -> dict:
    return await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="constellation.runPipeline", arguments=[{"uri": uri, "inputs": {"s": "x"}, **extra}]))


async def test_rerun_failed_runs_only_the_failed_call_and_its_dependents(client, project):
    uri, _ = await open_doc(client, PIPELINE, from_fs_path(str(project / "resume.cst")))
    (project / "broken").touch()
    first = await run(client, uri)
    assert first["status"] == "failed"
    assert counts(project) == {"Aside": 1, "First": 1, "Fragile": 1}  # After was skipped
    (project / "broken").unlink()
    again = await run(client, uri, resume=True)
    assert again["status"] == "completed", again
    assert again["outputs"] == {"c": "x123", "d": "x4"}
    assert counts(project) == {"After": 1, "Fragile": 1}  # First and Aside came from the record


async def test_each_binding_with_a_call_has_run_to_here_and_rerun_from_here(client, project):
    uri, _ = await open_doc(client, PIPELINE, from_fs_path(str(project / "lenses.cst")))
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=tdi(uri)))
    below = [(lens.range.start.line, lens.command.title, plain(lens.command.arguments[0]))
             for lens in lenses if lens.range.start.line > 0]
    assert [(line, title) for line, title, _ in below] == [
        (line, title) for line in (1, 2, 3, 4) for title in ("▶ Run to here", "↻ Re-run from here")]
    assert {lens.command.command for lens in lenses if lens.range.start.line > 0} == {
        "constellation.runPipeline"}
    assert below[2][2] == {"uri": uri, "target": ["b"]}
    assert below[3][2] == {"uri": uri, "from": "b"}


async def test_run_to_here_runs_only_what_the_binding_needs(client, project):
    uri, _ = await open_doc(client, PIPELINE, from_fs_path(str(project / "target.cst")))
    counts(project)
    result = await run(client, uri, target=["b"])
    assert result["status"] == "completed", result
    assert result["outputs"] == {"b": "x12"}
    assert counts(project) == {"First": 1, "Fragile": 1}  # neither After nor Aside


async def test_rerun_from_here_reruns_the_binding_and_its_downstream(client, project):
    uri, _ = await open_doc(client, PIPELINE, from_fs_path(str(project / "from.cst")))
    assert (await run(client, uri))["status"] == "completed"
    counts(project)
    result = await run(client, uri, **{"from": "b"})
    assert result["status"] == "completed", result
    assert result["outputs"] == {"c": "x123", "d": "x4"}
    assert counts(project) == {"After": 1, "Fragile": 1}  # a and d from the last record


async def test_a_name_the_pipeline_lacks_is_rejected_with_a_sentence(client, project):
    uri, _ = await open_doc(client, PIPELINE, from_fs_path(str(project / "typo.cst")))
    result = await run(client, uri, target=["bb"])
    assert result["status"] == "rejected"
    assert "the pipeline has no binding 'bb' (did you mean 'b'?)" in result["errors"][0]["message"]
    assert counts(project) == {}
