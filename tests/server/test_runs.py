"""Run pipeline: events in order with layer-1 calls overlapping, progress, values as inlay
hints, failures as diagnostics, cancellation (the child is gone), responsiveness during a run."""

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from server_support import EXAMPLES, fresh_uri, initialize, open_doc, pos, server_config, tdi

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

PROFILE = (EXAMPLES / "profile.cst").read_text()
# four 2 s calls in a chain: 1.6 s at the tests' time scale of 0.2, long enough to cancel
SLOW = ('@example("a")\nin s: String\na = ExpensiveCompute(s)\nb = ExpensiveCompute(a)\n'
        'c = ExpensiveCompute(b)\nd = ExpensiveCompute(c)\nout d\n')


@pytest_lsp.fixture(config=server_config(), scope="module")
async def runner(lsp_client: LanguageClient):
    lsp_client.init_result = await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


def run_params(uri, **extra):
    return lsp.ExecuteCommandParams(command="constellation.runPipeline", arguments=[{"uri": uri, **extra}])


def events_of(client, uri):
    return [e for e in client.run_events if e.get("uri") == uri]


def children_running(name: str) -> list[int]:
    """Run processes (`cst run - --events --stdin-filename …`) of the document named `name`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if name in cmdline and "--events" in cmdline:
            pids.append(int(entry.name))
    return pids


async def wait_for_event(client, uri, kind, timeout=20):
    for _ in range(int(timeout / 0.02)):
        if any(e.get("event") == kind for e in events_of(client, uri)):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} event")


async def test_run_streams_events_in_order_with_layer_one_overlapping(runner: LanguageClient):
    client = runner
    uri, _ = await open_doc(client, PROFILE, fresh_uri("profile.cst"))
    result = await client.workspace_execute_command_async(run_params(uri, useExamples=True))
    assert result["status"] == "completed"
    assert result["outputs"]["profile"]["name"] == "User u-42"
    events = events_of(client, uri)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_completed"
    assert {k: v for k, v in events[-1].items() if k not in ("event", "t_ms", "uri")} == result
    times = [e["t_ms"] for e in events]
    assert times == sorted(times)
    layer1 = [e for e in events if e.get("layer") == 1 and e["event"] in ("node_started", "node_completed")]
    starts = [e["t_ms"] for e in layer1 if e["event"] == "node_started"]
    ends = [e["t_ms"] for e in layer1 if e["event"] == "node_completed"]
    assert len(starts) == 3 and len(ends) == 3
    assert max(starts) < min(ends), "the three layer-1 calls run at the same time"
    layer2_start = next(e["t_ms"] for e in events if e["event"] == "node_started" and e.get("layer") == 2)
    assert layer2_start >= max(ends)

    # progress: begin, a report per layer and per finished call, end
    (token,) = [t for t, values in client.progress_reports.items() if str(t).startswith("constellation-run-")
                and values and values[0].title == "Running " + Path(uri).name]
    values = client.progress_reports[token]
    assert values[0].kind == "begin" and values[-1].kind == "end"
    messages = [v.message for v in values if v.kind == "report"]
    assert sum(m.startswith("layer ") for m in messages) == 2
    assert sum(" done in " in m for m in messages) == 4
    assert values[-1].message == "run completed"

    # values and durations now show as inlay hints after each binding
    hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(
        text_document=tdi(uri), range=lsp.Range(start=pos(0, 0), end=pos(12, 0))))
    value_hints = [h for h in hints if h.label.startswith("= ")]
    assert len(value_hints) == 4
    # a hint of its own after the layer's (test_layer_views.py), the duration in its tooltip
    assert value_hints[0].label.startswith('= {"id": "u-42", "name": "User u-42"')
    assert " ms in the last run" in value_hints[0].tooltip
    ws = client.capabilities.workspace
    if ws.inlay_hint and ws.inlay_hint.refresh_support:
        assert lsp.WORKSPACE_INLAY_HINT_REFRESH in client.refreshes
    assert lsp.WORKSPACE_CODE_LENS_REFRESH in client.refreshes


async def test_failed_call_becomes_a_diagnostic_at_its_call_site(runner: LanguageClient):
    client = runner
    text = 'in s: String\nok = Uppercase(s)\nbad = AlwaysFailsService(s)\nout ok\nout bad\n'
    uri, _ = await open_doc(client, text)
    result = await client.workspace_execute_command_async(run_params(uri, inputs={"s": "x"}))
    assert result["status"] == "failed"
    for _ in range(100):
        latest = [p for p in client.published if p.uri == uri][-1]
        failed = [d for d in latest.diagnostics if d.source == "constellation run"]
        if failed:
            break
        await asyncio.sleep(0.02)
    (diag,) = failed
    assert diag.message == "Run failed: Service failed for: x"
    assert diag.range.start == pos(2, 6) and diag.range.end == pos(2, 27)


async def test_rejected_run_returns_the_reason(runner: LanguageClient):
    client = runner
    uri, _ = await open_doc(client, 'in s: String\nr = Uppercase(s)\nout r\n')
    result = await client.workspace_execute_command_async(run_params(uri))  # no input given
    assert result["status"] == "rejected"
    assert any("s" in e["message"] for e in result["errors"])
    # the pop-up says why, without a position the reason does not have
    shown = None
    for _ in range(250):
        shown = [m.message for m in client.messages if "was rejected" in m.message]
        if shown:
            break
        await asyncio.sleep(0.02)
    assert shown == ["Constellation: the run was rejected: 1:4: Missing input 's'"]
    await client.workspace_execute_command_async(run_params(uri, inputs={"s": "a", "nope": 1}))
    for _ in range(250):
        shown = [m.message for m in client.messages if "was rejected" in m.message]
        if len(shown) > 1:
            break
        await asyncio.sleep(0.02)
    assert shown[-1] == "Constellation: the run was rejected: Unknown input 'nope'"


async def test_cancel_run_command_kills_the_child(runner: LanguageClient):
    client = runner
    uri = fresh_uri("cancel_cmd.cst")
    await open_doc(client, SLOW, uri)
    task = asyncio.ensure_future(client.workspace_execute_command_async(run_params(uri, useExamples=True)))
    await wait_for_event(client, uri, "node_started")
    name = Path(uri).name
    assert children_running(name), "the run's child process is visible while it runs"
    answer = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="constellation.cancelRun", arguments=[{"uri": uri}]))
    assert answer == {"cancelled": True}
    result = await asyncio.wait_for(task, 10)
    assert result["status"] == "cancelled"
    assert children_running(name) == []


async def test_cancel_request_kills_the_child(runner: LanguageClient):
    client = runner
    uri = fresh_uri("cancel_req.cst")
    await open_doc(client, SLOW, uri)
    future = client.protocol.send_request(lsp.WORKSPACE_EXECUTE_COMMAND, run_params(uri, useExamples=True),
                                          msg_id="run-to-cancel")
    await wait_for_event(client, uri, "node_started")
    name = Path(uri).name
    assert children_running(name)
    client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id="run-to-cancel"))
    with pytest.raises(Exception):
        await asyncio.wait_for(asyncio.wrap_future(future), 10)
    for _ in range(250):
        if not children_running(name):
            break
        await asyncio.sleep(0.02)
    assert children_running(name) == []


async def test_hover_and_completion_answer_during_a_run(runner: LanguageClient):
    client = runner
    uri = fresh_uri("busy.cst")
    await open_doc(client, SLOW, uri)
    task = asyncio.ensure_future(client.workspace_execute_command_async(run_params(uri, useExamples=True)))
    await wait_for_event(client, uri, "node_started")
    hover = await client.text_document_hover_async(lsp.HoverParams(text_document=tdi(uri), position=pos(3, 0)))
    items = await client.text_document_completion_async(lsp.CompletionParams(
        text_document=tdi(uri), position=pos(3, 4)))  # after "b = "
    still_running = not any(e.get("event") == "run_completed" for e in events_of(client, uri))
    assert "layer 2 of 4" in hover.contents.value
    assert any(i.label == "ExpensiveCompute" for i in items.items)
    assert still_running, "both answers arrived while the pipeline was still running"
    result = await asyncio.wait_for(task, 30)
    assert result["status"] == "completed"


@pytest_lsp.fixture(config=server_config(), scope="module")
async def short_lived(lsp_client: LanguageClient):
    """A server that the test itself shuts down."""
    lsp_client.init_result = await initialize(lsp_client)
    yield


async def test_shutdown_during_a_run_leaves_nothing_running(short_lived: LanguageClient):
    client = short_lived
    uri = fresh_uri("shutdown.cst")
    await open_doc(client, SLOW, uri)
    task = asyncio.ensure_future(client.workspace_execute_command_async(run_params(uri, useExamples=True)))
    await wait_for_event(client, uri, "node_started")
    name = Path(uri).name
    assert children_running(name)
    await asyncio.wait_for(client.shutdown_session(), 20)
    task.cancel()  # the server is gone: its answer will never come
    for _ in range(250):
        if not children_running(name):
            break
        await asyncio.sleep(0.02)
    assert children_running(name) == []


async def test_run_options_reach_the_runtime(runner: LanguageClient):
    client = runner
    uri, _ = await open_doc(client, PROFILE, fresh_uri("options.cst"))
    result = await client.workspace_execute_command_async(run_params(
        uri, inputs={"userId": "u-7"}, schedule="eager", serial=True, seed=3, maxConcurrency=2))
    assert result["status"] == "completed"
    assert result["outputs"]["profile"]["userId"] == "u-7"
    (started,) = [e for e in events_of(client, uri) if e["event"] == "run_started"]
    assert (started["schedule"], started["serial"], started["seed"]) == ("eager", True, 3)
    layer1 = [e for e in events_of(client, uri) if e.get("layer") == 1 and e["event"] in ("node_started", "node_completed")]
    kinds = [e["event"] for e in layer1]
    assert kinds == ["node_started", "node_completed"] * 3, "serial: one call at a time"


async def test_an_unsaved_untitled_document_runs(runner: LanguageClient):
    client = runner
    uri = "untitled:Untitled-7"
    await open_doc(client, 'in s: String\nr = Uppercase(s)\nout r\n', uri)
    result = await client.workspace_execute_command_async(run_params(uri, inputs={"s": "abc"}))
    assert result["status"] == "completed" and result["outputs"] == {"r": "ABC"}


async def test_a_document_with_a_lone_surrogate_runs(runner: LanguageClient):
    """JSON can carry a lone surrogate; the run gets the text as the editor would save it."""
    client = runner
    uri, _ = await open_doc(client, 'in s: String\nr = Uppercase("\ud800${s}")\nout r\n')
    result = await asyncio.wait_for(client.workspace_execute_command_async(
        run_params(uri, inputs={"s": "abc"})), 30)
    assert result["status"] == "completed" and result["outputs"] == {"r": "\ufffdABC"}


async def test_a_run_ends_when_the_server_is_killed():
    """SIGKILL gives the server no chance to stop its run (a process group of its own): the
    run notices that its parent is gone and ends, well before its 16 s of calls."""
    import os
    import signal
    import time

    from server_support import SERVER, make_client

    client = make_client()
    await client.start_io(*SERVER, env={**os.environ, "CONSTELLATION_TIME_SCALE": "2"})
    try:
        await initialize(client)
        uri = fresh_uri("killed.cst")
        await open_doc(client, SLOW, uri)
        asyncio.ensure_future(client.workspace_execute_command_async(
            run_params(uri, useExamples=True)))
        await wait_for_event(client, uri, "node_started")
        name = Path(uri).name
        assert children_running(name)
        os.kill(client._server.pid, signal.SIGKILL)
        t0 = time.monotonic()
        while children_running(name) and time.monotonic() - t0 < 12:
            await asyncio.sleep(0.1)
        assert children_running(name) == [], "the run outlived the killed server"
    finally:
        try:
            await asyncio.wait_for(client.stop(), 5)
        except Exception:
            pass


LOUD = '''import sys
from constellation.runtime import module

@module
def Huge(n: int) -> str:
    return "x" * n

@module
def Shout(n: int) -> int:
    line = "y" * 99
    for _ in range(n):
        print(line, file=sys.stderr)
    return n
'''


def loud_doc(tmp_path: Path, text: str) -> str:
    from pygls.uris import from_fs_path

    (tmp_path / "loud.py").write_text(LOUD)
    (tmp_path / "constellation.toml").write_text('modules = ["loud.py"]\n')
    path = tmp_path / "loud.cst"
    path.write_text(text)
    return from_fs_path(str(path))


async def test_a_40_mb_result_reaches_the_client_through_the_result_file(runner, tmp_path):
    """Its final event would be a line over the server's 32 MB limit: the events abbreviate
    the value and name the file that holds the full result."""
    import json

    client = runner
    uri = loud_doc(tmp_path, "big = Huge(40000000)\nn = Huge(3)\nout big\nout n\n")
    await open_doc(client, Path(uri[len("file://"):]).read_text(), uri)
    result = await asyncio.wait_for(client.workspace_execute_command_async(run_params(uri)), 120)
    assert result["status"] == "completed", result
    assert result["outputs"]["n"] == "xxx"
    assert len(result["outputs"]["big"]) < 1000 and result["abbreviated"] == {"big": 40000002}
    (final,) = [e for e in events_of(client, uri) if e["event"] == "run_completed"]
    assert final["result_file"] == result["result_file"]
    full = json.loads(Path(result["result_file"]).read_text(encoding="utf-8"))
    assert full["status"] == "completed" and full["outputs"]["big"] == "x" * 40_000_000


async def test_twenty_megabytes_of_output_are_a_bounded_number_of_log_messages(runner, tmp_path):
    client = runner
    uri = loud_doc(tmp_path, "n = Shout(200000)\nout n\n")  # 200,000 lines: 20 MB
    await open_doc(client, Path(uri[len("file://"):]).read_text(), uri)
    before = len(client.log_messages)
    result = await asyncio.wait_for(client.workspace_execute_command_async(run_params(uri)), 120)
    assert result["status"] == "completed" and result["outputs"] == {"n": 200000}
    await asyncio.sleep(0.5)
    messages = [m.message for m in client.log_messages[before:] if m.message.startswith("[run]")]
    assert 0 < len(messages) < 200
    assert "y" * 99 in messages[0]
    assert any("of run output dropped" in m for m in messages)


@pytest_lsp.fixture(config=server_config(), scope="module")
async def withdrawing(lsp_client: LanguageClient):
    lsp_client.init_result = await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_withdrawing_trust_stops_the_running_pipeline(withdrawing: LanguageClient):
    """Trust withdrawn mid-run: the workspace's modules stop running, and no new run starts."""
    client = withdrawing
    uri = fresh_uri("withdrawn.cst")
    await open_doc(client, SLOW, uri)
    task = asyncio.ensure_future(client.workspace_execute_command_async(run_params(uri, useExamples=True)))
    await wait_for_event(client, uri, "node_started")
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"constellation": {"trusted": False}}))
    result = await asyncio.wait_for(task, 10)
    assert result["status"] == "cancelled", result
    assert children_running(Path(uri).name) == []
    again = await asyncio.wait_for(client.workspace_execute_command_async(
        run_params(uri, useExamples=True)), 10)
    assert again["status"] == "rejected" and "not trusted" in again["errors"][0]["message"]
