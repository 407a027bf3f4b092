"""The dask executor against a real LocalCluster: where calls run, parallelism, failures,
timeouts, cancellation, options enforced by the driver, and the event stream."""

from __future__ import annotations

import os
import time

import pytest

from dask_helpers import DRIVER_ONLY_MODULE, EXAMPLES, compile_program

pytestmark = pytest.mark.slow


def test_module_calls_run_in_worker_processes(execute, worker_pids):
    text = ('in t: String\na = ProcessId(t)\nb = AsyncProcessId(t)\nc = ProcessId("c")\n'
            'out a\nout b\nout c')
    result, _ = execute(text, {"t": "x"})
    assert result.status == "completed", result.errors
    pids = set(result.outputs.values())
    assert os.getpid() not in pids
    assert pids <= worker_pids


def test_local_executor_runs_calls_in_the_driver(execute):
    result, _ = execute('a = ProcessId("a")\nout a', executor="local")
    assert result.outputs == {"a": os.getpid()}


def test_inline_and_stdlib_calls_stay_in_the_driver(execute):
    # map's lambda body and the arithmetic are evaluated by the driver; only ProcessId leaves
    text = ('xs = [1, 2, 3]\nys = map(xs, (x) => x * 2)\npid = ProcessId("p")\n'
            'out ys\nout pid')
    result, _ = execute(text)
    assert result.status == "completed", result.errors
    assert result.outputs["ys"] == [2, 4, 6]
    assert result.outputs["pid"] != os.getpid()


@pytest.mark.parametrize("module", ["Nap", "BlockingNap"])
def test_a_layer_of_slow_calls_takes_about_the_slowest(execute, module, worker_pids):
    calls = [f"c{i} = {module}({300 + 20 * i})" for i in range(4)]
    text = "\n".join(calls) + "\n" + "\n".join(f"out c{i}" for i in range(4))
    result, _ = execute(text)
    assert result.status == "completed", result.errors
    calls_sum = sum(n.duration_ms for n in result.nodes)
    slowest = max(n.duration_ms for n in result.nodes)
    assert set(result.outputs.values()) <= worker_pids
    # parallel: far below the sum of the calls (4x), near the slowest
    assert result.duration_ms < 0.6 * calls_sum
    assert result.duration_ms < 1.5 * slowest


def test_layers_still_wait_for_the_layer_below(execute):
    text = 'a = Nap(200)\nb = Nap(200)\nc = ProcessId("after")\nd = c + a\nout d\nout b'
    result, events = execute(text)
    assert result.status == "completed", result.errors
    started = {e["name"]: e["t_ms"] for e in events if e["event"] == "node_started"}
    completed = {e["name"]: e["t_ms"] for e in events if e["event"] == "node_completed"}
    layer = {n.name: n.layer for n in result.nodes}
    for name, t in started.items():
        for below, done in completed.items():
            if layer[below] < layer[name]:
                assert t >= done


def test_a_module_failure_fails_the_call_with_its_message_and_position(execute):
    result, events = execute('x = Explode("boom at the worker")\nout x')
    assert result.status == "failed"
    assert result.errors == [{"message": "boom at the worker", "line": 1, "column": 5,
                              "function": "Explode"}]
    failed = [e for e in events if e["event"] == "node_failed"]
    assert [e["name"] for e in failed] == ["x"]


def test_module_failure_class_travels_as_is(execute):
    local, _ = execute('x = AlwaysFailsService("r")\nout x', executor="local")
    remote, _ = execute('x = AlwaysFailsService("r")\nout x')
    assert remote.errors == local.errors and remote.status == "failed"


@pytest.mark.parametrize("mode", ["skip", "log", "wrap"])
def test_on_error_and_fallback_after_a_remote_failure(execute, mode):
    text = (f'in r: String\nx = AlwaysFailsService(r) with on_error: {mode}\n'
            f'y = Explode(r) with fallback: Uppercase(r)\nout x\nout y')
    local, _ = execute(text, {"r": "q"}, executor="local")
    remote, _ = execute(text, {"r": "q"})
    assert (remote.status, remote.outputs, remote.log) == (local.status, local.outputs,
                                                           local.log)


def test_retries_resubmit_and_colocation_keeps_per_process_state(execute):
    text = 'in r: String\nx = FlakyService(r) with retry: 2\nout x'
    result, events = execute(text, {"r": "r"}, dask_colocate=["FlakyService"])
    assert result.status == "completed", result.errors
    assert result.outputs == {"x": "Success for: r"}
    assert [e["attempt"] for e in events if e["event"] == "node_started"] == [1, 2, 3]
    assert len([e for e in events if e["event"] == "node_retrying"]) == 2


def test_timeout_cancels_the_remote_call(execute, tmp_path):
    marker = tmp_path / "cancelled.txt"
    # timeout 3 s is scaled by CONSTELLATION_TIME_SCALE=0.1 (300 ms); the call naps 20 s
    text = f'x = NapOrMark(20000, "{marker}") with timeout: 3s\nout x'
    t0 = time.monotonic()
    result, _ = execute(text)
    elapsed = time.monotonic() - t0
    assert result.status == "failed"
    assert result.errors[0]["message"] == "'NapOrMark' timed out after 3s"
    assert elapsed < 20 / 4
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "cancelled"  # the worker stopped the coroutine


def test_timeout_with_retry_resubmits(execute):
    text = 'in r: String\nx = TimeoutProneService(r) with timeout: 500ms, retry: 1\nout x'
    result, events = execute(text, {"r": "t"}, dask_colocate=["TimeoutProneService"])
    assert result.status == "completed", result.errors
    assert result.outputs == {"x": "Response for: t"}
    assert [e["attempt"] for e in events if e["event"] == "node_started"] == [1, 2]


def test_cancelling_the_run_cancels_remote_calls(cluster, registry, tmp_path):
    import anyio

    from constellation.runtime import run_async

    marker = tmp_path / "cancelled.txt"
    analysis = compile_program(f'x = NapOrMark(20000, "{marker}")\ny = Nap(10)\nout x\nout y',
                               registry)
    events: list[dict] = []

    async def main():
        cancel = anyio.Event()

        async def cancel_once_started():
            while not any(e["event"] == "node_started" and e["name"] == "x" for e in events):
                await anyio.sleep(0.02)
            await anyio.sleep(0.3)
            cancel.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(cancel_once_started)
            result = await run_async(analysis, {}, executor="dask", on_event=events.append,
                                     dask_address=cluster.scheduler_address,
                                     cancel_event=cancel)
        return result

    t0 = time.monotonic()
    result = anyio.run(main)
    assert time.monotonic() - t0 < 10
    assert result.status == "cancelled"
    assert {n.name: n.status for n in result.nodes}["x"] == "cancelled"  # it had started
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "cancelled"


def test_concurrency_is_enforced_by_the_driver(execute):
    calls = [f"c{i} = Nap(150) with concurrency: 1" for i in range(3)]
    text = "\n".join(calls) + "\n" + "\n".join(f"out c{i}" for i in range(3))
    result, events = execute(text)
    assert result.status == "completed", result.errors
    spans = sorted((e["t_ms"], e["event"]) for e in events
                   if e["event"] in ("node_started", "node_completed"))
    running = peak = 0
    for _, kind in spans:
        running += 1 if kind == "node_started" else -1
        peak = max(peak, running)
    assert peak == 1


def test_priorities_order_calls_as_locally(execute):
    # one scheduler slot: calls start in priority order, whichever executor runs them
    text = ('a = Nap(30) with priority: 1\nb = Nap(30) with priority: 9\n'
            'c = Nap(30) with priority: 5\nout a\nout b\nout c')

    def order(executor):
        _, events = execute(text, executor=executor, max_concurrency=1)
        return [e["name"] for e in events if e["event"] == "node_started"]

    assert order("dask") == order("local") == ["b", "c", "a"]


def test_event_stream_matches_the_local_executor(execute):
    text = (EXAMPLES / "profile.cst").read_text(encoding="utf-8")

    def shape(events):
        return [(e["event"], e.get("name"), e.get("layer")) for e in events
                if e["event"] not in ("node_started", "node_completed")] + sorted(
            (e["event"], e.get("name"), e.get("layer")) for e in events
            if e["event"] in ("node_started", "node_completed"))

    local_result, local_events = execute(text, {"userId": "u-7"}, executor="local")
    dask_result, dask_events = execute(text, {"userId": "u-7"})
    assert dask_result.outputs == local_result.outputs
    assert shape(dask_events) == shape(local_events)
    assert dask_events[0]["event"] == "run_started"
    assert dask_events[-1]["event"] == "run_completed"


def test_a_worker_that_cannot_import_a_module_rejects_the_run(cluster, tmp_path, monkeypatch):
    from constellation.runtime import RunRejected, run
    from constellation.runtime.modules import load_registry

    monkeypatch.setenv("CST_TEST_DRIVER_PID", str(os.getpid()))  # workers have it too
    (tmp_path / "driver_only.py").write_text(DRIVER_ONLY_MODULE)
    registry = load_registry(["driver_only.py"], tmp_path)
    analysis = compile_program('x = DriverOnly("a")\nout x', registry)
    with pytest.raises(RunRejected) as caught:
        run(analysis, {}, executor="dask", dask_address=cluster.scheduler_address)
    messages = [e["message"] for e in caught.value.errors]
    assert len(messages) == 2  # one per worker
    for message, address in zip(messages, sorted(cluster.workers)):
        assert message == (f"Module {os.path.relpath(tmp_path / 'driver_only.py')} cannot be "
                           f"imported on Dask worker {address}: ImportError: No module named "
                           f"'gpu_only_library'")


def test_module_file_edits_reach_the_workers(cluster, tmp_path):
    from constellation.runtime import run
    from constellation.runtime.modules import load_registry

    source = ('from constellation.runtime import module\n\n@module\n'
              'def Version(x: str) -> str:\n    return "{v}"\n')
    results = []
    for version in ("one", "two"):
        path = tmp_path / "versioned.py"
        path.write_text(source.replace("{v}", version))
        os.utime(path, (time.time() + len(results), time.time() + len(results)))
        analysis = compile_program('x = Version("a")\nout x',
                                   load_registry(["versioned.py"], tmp_path))
        results.append(run(analysis, {}, executor="dask",
                           dask_address=cluster.scheduler_address).outputs["x"])
    assert results == ["one", "two"]


def test_trio_backend_is_rejected_with_a_sentence(execute):
    from constellation.runtime import RunRejected

    with pytest.raises(RunRejected, match="needs the asyncio backend"):
        execute('x = ProcessId("a")\nout x', backend="trio")


def test_unreachable_scheduler_is_rejected(registry, monkeypatch):
    from constellation.runtime import RunRejected, run
    from constellation.runtime import dask_backend

    monkeypatch.setattr(dask_backend, "CONNECT_TIMEOUT_S", 1.0)
    analysis = compile_program('x = ProcessId("a")\nout x', registry)
    with pytest.raises(RunRejected, match="Cannot connect to the Dask scheduler at "
                                          "tcp://127.0.0.1:9"):
        run(analysis, {}, executor="dask", dask_address="tcp://127.0.0.1:9")


def test_events_api_streams_a_dask_run(cluster, registry):
    import anyio

    from constellation.runtime import events

    analysis = compile_program('a = ProcessId("a")\nb = Nap(50)\nout a\nout b', registry)

    async def collect():
        return [e async for e in events(analysis, {}, executor="dask",
                                        dask_address=cluster.scheduler_address)]

    seen = anyio.run(collect)
    assert seen[0]["event"] == "run_started" and seen[-1]["event"] == "run_completed"
    assert seen[-1]["status"] == "completed"
    assert seen[-1]["outputs"]["a"] != os.getpid()


def test_colocation_names_are_checked_against_the_loaded_modules(execute):
    from constellation.runtime import RunRejected

    # FlakyService is not called here: ignored (one constellation.toml serves many programs)
    result, _ = execute('x = ProcessId("a")\nout x', dask_colocate=["FlakyService"])
    assert result.status == "completed"
    with pytest.raises(RunRejected) as caught:
        execute('x = ProcessId("a")\nout x', dask_colocate=["FlakeyService"])
    assert caught.value.errors[0]["message"] == (
        "dask_colocate names 'FlakeyService', but no loaded module declares a function of "
        "that name")


def test_colocated_calls_share_one_worker(execute):
    calls = [f"c{i} = ProcessId(\"{i}\")" for i in range(6)]
    text = "\n".join(calls) + "\n" + "\n".join(f"out c{i}" for i in range(6))
    result, _ = execute(text, dask_colocate=["*"])
    assert len(set(result.outputs.values())) == 1


def test_a_run_cancelled_from_outside_closes_its_local_cluster(registry):
    """`dask_address="local"`: the LocalCluster's worker processes end with the run, also
    when the caller cancels it mid-call."""
    import anyio

    from constellation.runtime import run_async

    analysis = compile_program('a = Nap(5000)\nout a', registry)
    before = live_children()
    events: list[dict] = []

    async def cancel_at_first_call():
        async with anyio.create_task_group() as tg:
            async def stop_when_started():
                while not any(e["event"] == "node_started" for e in events):
                    await anyio.sleep(0.02)
                tg.cancel_scope.cancel()
            tg.start_soon(stop_when_started)
            await run_async(analysis, {}, executor="dask", dask_address="local",
                            on_event=events.append)

    t0 = time.monotonic()
    anyio.run(cancel_at_first_call)
    assert time.monotonic() - t0 < 30
    assert any(e["event"] == "node_started" for e in events)
    deadline = time.monotonic() + 10
    while (left := live_children() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left


def live_children() -> set[tuple[int, str]]:
    """(pid, command line) of this process's live descendants, except multiprocessing's
    resource tracker (started once, it lives as long as this process)."""
    import psutil

    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                found.add((child.pid, " ".join(child.cmdline())))
        except psutil.Error:  # ended meanwhile
            pass
    return {c for c in found if "resource_tracker" not in c[1]}


def test_the_run_timeout_counts_the_cluster_start(registry):
    """A timeout shorter than a LocalCluster start ends the run cancelled once it started."""
    from constellation.runtime import run

    analysis = compile_program('a = Nap(30000)\nout a', registry)
    t0 = time.monotonic()
    result = run(analysis, {}, executor="dask", dask_address="local", timeout=0.05)
    assert result.status == "cancelled"
    assert time.monotonic() - t0 < 30 / 2  # did not wait for the call


def test_module_calls_inside_a_lambda_run_on_workers(execute, worker_pids):
    result, _ = execute('pids = map(["a", "b", "c", "d"], (t) => ProcessId(t))\nout pids')
    assert result.status == "completed", result.errors
    assert set(result.outputs["pids"]) <= worker_pids


def test_serial_schedule_on_dask_keeps_its_order(execute):
    text = 'a = Nap(20)\nb = ProcessId("b")\nc = Nap(20)\nout a\nout b\nout c'

    def order(executor):
        _, events = execute(text, executor=executor, serial=True, seed=7)
        return [e["name"] for e in events if e["event"] == "node_started"]

    assert order("dask") == order("local")


def test_a_module_that_exits_on_a_worker_fails_its_own_call(execute, worker_pids):
    """sys.exit / KeyboardInterrupt in a module on a worker: the call fails with a sentence,
    the worker lives on and the other calls complete."""
    text = 'x = Quit(3)\ny = InterruptAsync("a")\nz = ProcessId("z")\nout x\nout y\nout z'
    result, _ = execute(text)
    assert result.status == "failed"
    assert result.outputs["z"] in worker_pids
    messages = sorted(e["message"] for e in result.errors)
    assert messages[0] == "'InterruptAsync' raised KeyboardInterrupt"
    assert messages[1].startswith("'Quit' called sys.exit(3)")
    again, _ = execute('p = ProcessId("again")\nout p')
    assert again.status == "completed" and again.outputs["p"] in worker_pids
