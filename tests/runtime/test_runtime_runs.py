"""Whole runs: layers vs eager, failure isolation, cancellation without leaks, serial and seed
determinism, both anyio backends, inputs, the events iterator and the result shape."""

import contextlib
import threading
import time
import sys

import anyio
import pytest

from runtime_helpers import compile_program, node_events

PROFILE = (
    "in userId: String\n"
    "user = GetUser(userId)\n"
    "orders = GetOrders(userId)\n"
    "preferences = GetPreferences(userId)\n"
    "profile = BuildProfile(user, orders, preferences)\n"
    "out profile\n")


def call_ms(recorder, name):
    (call,) = recorder.of(name)
    return (call.end - call.start) * 1000


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_profile_layer_one_runs_concurrently(execute, recorder, backend):
    result, events = execute(PROFILE, {"userId": "u-1"}, backend=backend)
    assert result.status == "completed"
    assert set(result.outputs) == {"profile"}
    fetches = sum(call_ms(recorder, n) for n in ("GetUser", "GetOrders", "GetPreferences"))
    longest = max(call_ms(recorder, n) for n in ("GetUser", "GetOrders", "GetPreferences"))
    build = call_ms(recorder, "BuildProfile")
    # the wall time is the longest fetch plus the build, far below the sequential sum
    assert result.duration_ms < 0.75 * (fetches + build)
    assert result.duration_ms >= longest
    assert [e["layer"] for e in node_events(events, "layer_started")] == [1, 2]


LAYERED_VS_EAGER = ("in s: String\na = SlowApiCall(s)\nb = Trim(s)\nc = Uppercase(b)\n"
                    "out a\nout c\n")


def test_layered_waits_for_the_layer_and_eager_does_not(execute, recorder):
    layered, _ = execute(LAYERED_VS_EAGER, {"s": " q "})
    slow = recorder.of("SlowApiCall")[0]
    upper = recorder.of("Uppercase")[0]
    assert upper.start >= slow.end  # layer 2 starts once layer 1 (SlowApiCall) has settled
    eager, _ = execute(LAYERED_VS_EAGER, {"s": " q "}, schedule="eager")
    slow, upper = recorder.of("SlowApiCall")[1], recorder.of("Uppercase")[1]
    assert upper.start < slow.end  # started while the slow call was still running
    assert layered.outputs == eager.outputs == {"a": "API response from:  q ", "c": "Q"}


def test_schedule_from_environment(execute, monkeypatch):
    monkeypatch.setenv("CONSTELLATION_SCHEDULE", "eager")
    _, events = execute(LAYERED_VS_EAGER, {"s": "q"})
    assert events[0]["schedule"] == "eager"


def test_failure_skips_dependents_at_once_and_independent_nodes_continue(execute, recorder):
    text = ("in s: String\nbad = AlwaysFailsService(s)\nslow = SlowApiCall(s)\n"
            "after = Uppercase(bad)\nlater = Lowercase(after)\nout slow\nout later\n")
    result, events = execute(text, {"s": "x"}, schedule="layered")
    assert result.status == "failed"
    assert result.outputs == {"slow": "API response from: x"}
    status = {n.name: n.status for n in result.nodes}
    assert status == {"bad": "failed", "slow": "completed", "after": "skipped",
                      "later": "skipped"}
    skipped = node_events(events, "node_skipped")
    assert {e["reason"] for e in skipped} == {"dependency failed"}
    slow_done = node_events(events, "node_completed", "slow")[0]["t_ms"]
    assert all(e["t_ms"] < slow_done for e in skipped)  # skipped at once, not after layer 1
    assert result.errors == [{"message": "Service failed for: x", "line": 2, "column": 7,
                              "function": "AlwaysFailsService"}]
    assert recorder.count("Uppercase") == recorder.count("Lowercase") == 0
    report = {n.name: n for n in result.nodes}["bad"]
    assert report.error["message"] == "Service failed for: x"


def test_events_name_each_call_up_front_and_the_failed_dependency_of_a_skip(execute):
    text = ("in s: String\nbad = AlwaysFailsService(s)\nafter = Uppercase(bad)\n"
            "later = Lowercase(after)\nout later\n")
    _, events = execute(text, {"s": "x"})
    calls = {c["name"]: (c["line"], c["layer"]) for c in events[0]["calls"]}
    assert calls == {"bad": (2, 1), "after": (3, 2), "later": (4, 3)}
    skipped = {e["name"]: e["dependency"] for e in node_events(events, "node_skipped")}
    assert skipped == {"after": "bad", "later": "bad"}  # the call that failed, not the skip between


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_run_timeout_cancels_with_partial_results(execute, backend):
    text = "in s: String\nquick = Uppercase(s)\nslow = ExpensiveCompute(s)\nout quick\nout slow\n"
    result, events = execute(text, {"s": "x"}, timeout=0.05, backend=backend)
    assert result.status == "cancelled"
    assert result.outputs == {"quick": "X"}
    # slow had started: a cancel stops it (not "skipped"), and its layer did not complete
    assert {n.name: n.status for n in result.nodes} == {"quick": "completed", "slow": "cancelled"}
    assert node_events(events, "node_cancelled", "slow")[0]["duration_ms"] > 0
    assert not node_events(events, "node_skipped")
    layer_ends = [(e["event"], e["layer"]) for e in events if e["event"].startswith("layer_")
                  and e["event"] != "layer_started"]
    assert layer_ends == [("layer_cancelled", 1)]
    assert events[-1]["event"] == "run_completed" and events[-1]["status"] == "cancelled"
    assert result.duration_ms < 0.5 * 2000 * 0.1


def test_a_cancelled_run_starts_no_further_layer(execute):
    """Skipping the calls left must not release the layers above as if they could run."""
    text = ("in s: String\na = ExpensiveCompute(s)\nb = ExpensiveCompute(a)\n"
            "c = ExpensiveCompute(b)\nout c\n")
    result, events = execute(text, {"s": "x"}, timeout=0.05)
    assert result.status == "cancelled"
    assert [e["layer"] for e in events if e["event"] == "layer_started"] == [1]
    assert {e["name"] for e in events if e["event"] == "node_cancelled"} == {"a"}
    assert {e["name"] for e in events if e["event"] == "node_skipped"} == {"b", "c"}
    assert [e["layer"] for e in events if e["event"] == "layer_cancelled"] == [1]
    assert not [e for e in events if e["event"] == "layer_completed"]


def test_cancel_event_leaves_no_task_or_thread(registry):
    """A sync module blocked in a worker thread: cancelling ends the run, and the thread is
    gone when run_async returns."""
    from constellation.compiler.registry import Function, Registry
    from constellation.compiler import types as T
    from constellation.runtime import run_async

    release = threading.Event()

    def blocking(text: str) -> str:
        release.wait(0.3)
        return text

    reg = Registry(list(registry.functions)).extend(
        [Function("Blocking", None, (("text", T.STRING),), T.STRING, impl=blocking)])
    analysis = compile_program("in s: String\nx = Blocking(s)\ny = SlowQuery(s)\nout x\nout y",
                               reg)
    threads_before = threading.active_count()

    async def main():
        cancel = anyio.Event()
        async with anyio.create_task_group() as tg:
            async def cancel_soon():
                await anyio.sleep(0.02)
                cancel.set()
                release.set()
            tg.start_soon(cancel_soon)
            result = await run_async(analysis, {"s": "x"}, cancel_event=cancel)
        return result

    result = anyio.run(main)
    assert result.status == "cancelled"
    time.sleep(0.05)
    assert threading.active_count() <= threads_before + 1  # anyio's idle worker at most
    # and asyncio has no task left
    assert all(n.status in ("cancelled", "completed") for n in result.nodes)


SERIAL = ("in s: String\na = QuickCheck(s) with priority: low\nb = QuickCheck(s)\n"
          "c = QuickCheck(s) with priority: high\nd = Uppercase(b)\ne = Lowercase(a)\n"
          "out d\nout e\nout c\n")


def _shape(events):
    return [(e["event"], e.get("name"), e.get("layer")) for e in events]


def test_serial_runs_one_call_at_a_time_in_layer_priority_position_order(execute, recorder):
    result, events = execute(SERIAL, {"s": "x"}, serial=True)
    assert result.status == "completed"
    assert [c.name + ":" + c.args[0] for c in recorder.calls] == [
        "QuickCheck:x", "QuickCheck:x", "QuickCheck:x", "Uppercase:valid", "Lowercase:valid"]
    order = [e["name"] for e in node_events(events, "node_started")]
    assert order == ["c", "b", "a", "d", "e"]
    for first, second in zip(recorder.calls, recorder.calls[1:]):
        assert second.start >= first.end  # never two at once
    again, events2 = execute(SERIAL, {"s": "x"}, serial=True)
    assert _shape(events) == _shape(events2)


def test_seed_gives_a_reproducible_start_order(execute):
    text = "in s: String\n" + "".join(f"x{i} = Uppercase(\"{i}\")\nout x{i}\n" for i in range(8))
    orders = []
    for seed in (1, 1, 2):
        _, events = execute(text, {"s": "x"}, seed=seed, serial=True)
        orders.append([e["name"] for e in node_events(events, "node_started")])
    assert orders[0] == orders[1]
    assert orders[0] != orders[2]
    assert sorted(orders[0]) == sorted(orders[2])
    _, events = execute(text, {"s": "x"}, seed=1)
    assert events[0]["seed"] == 1


def test_serial_and_seed_from_environment(execute, monkeypatch):
    monkeypatch.setenv("CONSTELLATION_SERIAL", "1")
    monkeypatch.setenv("CONSTELLATION_SEED", "7")
    _, events = execute(SERIAL, {"s": "x"})
    assert events[0]["serial"] is True and events[0]["seed"] == 7


# -- inputs -------------------------------------------------------------------------------------
def test_inputs_are_validated_all_at_once(registry):
    from constellation.runtime import RunRejected, run

    analysis = compile_program("in a: Int\nin b: String\nin c: Optional<Int>\nx = a\nout x\n",
                               registry)
    with pytest.raises(RunRejected) as info:
        run(analysis, {"a": "abc", "z": 1})
    messages = [e["message"] for e in info.value.errors]
    assert messages == ["Unknown input 'z'", "Input 'a': expected Int, got \"abc\"",
                        "Missing input 'b'"]
    assert info.value.errors[1]["line"] == 1


def test_examples_fill_missing_inputs(execute):
    text = '@example(3)\nin a: Int\n@example("s")\nin b: String\nx = "${b}${a}"\nout x\n'
    result, _ = execute(text, {"b": "given"}, use_examples=True)
    assert result.outputs == {"x": "given3"}


def test_inputs_are_coerced(execute):
    result, _ = execute("in f: Float\nin r: { a: Int }\nx = f\ny = r\nout x\nout y",
                        {"f": 2, "r": {"a": 1, "b": 2}})
    assert result.outputs == {"x": 2.0, "y": {"a": 1}}
    assert isinstance(result.outputs["x"], float)


# -- events and result --------------------------------------------------------------------------
def test_event_stream_shape(execute):
    result, events = execute(PROFILE, {"userId": "u"})
    assert events[0]["event"] == "run_started" and events[-1]["event"] == "run_completed"
    start = events[0]
    assert start["depth"] == 2 and start["nodes"] == 4
    assert start["layers"] == [{"layer": 1, "nodes": ["user", "orders", "preferences"]},
                               {"layer": 2, "nodes": ["profile"]}]
    done = node_events(events, "node_completed", "user")[0]
    assert {"node", "name", "module", "layer", "line", "column", "duration_ms", "value",
            "cache_hit", "attempts", "t_ms"} <= set(done)
    assert (done["line"], done["column"], done["module"]) == (2, 8, "GetUser")
    times = [e["t_ms"] for e in events]
    assert times == sorted(times)
    assert events[-1]["nodes"] == [n.to_json() for n in result.nodes]
    assert set(result.to_json()) == {"status", "outputs", "errors", "log", "nodes",
                                     "duration_ms"}


def test_events_async_iterator(registry):
    from constellation.runtime import events as run_events

    analysis = compile_program(PROFILE, registry)

    async def collect():
        return [e async for e in run_events(analysis, {"userId": "u"})]

    for backend in ("asyncio", "trio"):
        got = anyio.run(collect, backend=backend)
        assert got[0]["event"] == "run_started" and got[-1]["event"] == "run_completed"
        assert got[-1]["status"] == "completed"


def test_events_iterator_stopped_early_cancels_the_run_quietly(registry):
    from constellation.runtime import events as run_events

    analysis = compile_program(PROFILE, registry)

    async def first_two():
        got = []
        # an async generator that owns a task group must be closed in the consuming task
        async with contextlib.aclosing(run_events(analysis, {"userId": "u"})) as stream:
            async for event in stream:
                got.append(event)
                if len(got) == 2:
                    break
        return got

    for backend in ("asyncio", "trio"):
        got = anyio.run(first_two, backend=backend)
        assert [e["event"] for e in got] == ["run_started", "layer_started"]


def test_large_values_are_abbreviated_in_events(execute):
    result, events = execute('in n: Int\nx = Range(1, n)\nout x', {"n": 50})
    assert len(result.outputs["x"]) == 50
    value = node_events(events, "node_completed", "x")[0]["value"]
    assert len(value) == 21 and value[-1] == "…"


def test_sync_modules_run_in_worker_threads_one_at_a_time_in_serial_mode(registry):
    """Worker threads also under serial (so that a `timeout` can abandon a blocked call), but
    the serial schedule admits one call at a time: the sleeps do not overlap."""
    from constellation.compiler import types as T
    from constellation.compiler.registry import Function, Registry
    from constellation.runtime import run

    seen: list[int] = []

    def where(text: str) -> str:
        seen.append(threading.get_ident())
        time.sleep(0.1)
        return text

    reg = Registry(list(registry.functions)).extend(
        [Function("Where", None, (("text", T.STRING),), T.STRING, impl=where)])
    analysis = compile_program('a = Where("a")\nb = Where("b")\nout a\nout b', reg)
    loop_thread = threading.get_ident()  # anyio.run runs the loop on the calling thread
    t0 = time.monotonic()
    parallel = run(analysis, {})
    parallel_s = time.monotonic() - t0
    assert parallel.status == "completed"
    assert loop_thread not in seen and len(seen) == 2
    seen.clear()
    t0 = time.monotonic()
    run(analysis, {}, serial=True)
    serial_s = time.monotonic() - t0
    assert len(seen) == 2 and loop_thread not in seen
    assert serial_s > 1.3 * parallel_s  # the two sleeps overlapped only without --serial


def test_serial_runs_one_call_at_a_time_even_past_a_timeout(registry):
    """A sync call abandoned by its timeout still runs in its thread: under serial the retry
    waits for it, and the timeout still gives the call its fallback value."""
    from constellation.compiler import types as T
    from constellation.compiler.registry import Function, Registry
    from constellation.runtime import run

    running, most = [0], [0]
    lock = threading.Lock()

    def slow(text: str) -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.15)
        with lock:
            running[0] -= 1
        return text

    reg = Registry(list(registry.functions)).extend(
        [Function("Slow", None, (("text", T.STRING),), T.STRING, impl=slow)])
    analysis = compile_program(
        'a = Slow("a") with timeout: 50ms, retry: 2, fallback: "fb"\nb = Slow("b")\nout a\nout b',
        reg)
    result = run(analysis, {}, serial=True)
    assert result.outputs == {"a": "fb", "b": "b"}
    assert most[0] == 1


def test_a_lazy_call_starts_when_first_demanded_under_both_schedules(execute, recorder):
    """§10.2: an eager call evaluates its arguments at once, and a call started by a lazy
    demand is not held back by its layer: the lazy call does not wait for layer 1 to settle."""
    text = ("in s: String\nslow = SlowApiCall(s)\nt = Trim(s)\nlz = Lowercase(s) with lazy\n"
            "x = stdlib.string.concat(lz, Uppercase(t))\nout slow\nout x\n")
    for k, schedule in enumerate(("layered", "eager")):
        result, _ = execute(text, {"s": " Q "}, schedule=schedule)
        assert result.outputs["x"] == " q Q"
        slow, lower = recorder.of("SlowApiCall")[k], recorder.of("Lowercase")[k]
        assert lower.start < slow.end, schedule


def test_a_lazy_call_read_through_a_value_node_does_not_deadlock_the_layers(execute):
    """`v` reads the lazy `y`; `z` (layer 3) and `u` (layer 2) both read `v`: the demand that
    `z` makes while evaluating its arguments must not wait for layer 3, which waits for `u`."""
    text = ('in s: String\ny = Uppercase(s) with lazy\nv = y + "!"\n'
            'u = Replace(Trim(s), v, "x")\nz = Replace(v, u, "q")\nout z\n')
    for schedule in ("layered", "eager"):
        result, _ = execute(text, {"s": "x"}, schedule=schedule, timeout=10)
        assert (result.status, result.outputs) == ("completed", {"z": "X!"}), schedule


def test_display_view_follows_the_events(execute):
    from rich.console import Console

    from constellation.cli.display import RunView

    result, events = execute(PROFILE, {"userId": "u"})
    view = RunView()
    for e in events[:3]:
        view.handle(e)
    assert "layer 1 running" in view.layers_caption()
    for e in events[3:]:
        view.handle(e)
    console = Console(record=True, width=120)
    console.print(view.progress_table())
    console.print(view.outputs_table())
    console.print(view.summary())
    text = console.export_text()
    for word in ("GetUser", "BuildProfile", "layer 1 done", "layer 2 done", "profile",
                 "parallel total", "sequential sum"):
        assert word in text
    sequential = sum(n.duration_ms for n in result.nodes)
    assert f"sequential sum of the calls {sequential:.0f} ms" in text


def test_a_module_result_of_the_wrong_type_is_a_positioned_failure(registry):
    from constellation.compiler import types as T
    from constellation.compiler.registry import Function, Registry
    from constellation.runtime import run

    reg = Registry(list(registry.functions)).extend(
        [Function("Broken", None, (("text", T.STRING),), T.INT, impl=lambda text: None)])
    analysis = compile_program('x = Broken("a") + 1\nout x', reg)
    result = run(analysis, {})
    assert result.status == "failed"
    assert result.errors == [{"message": "'Broken' returned null, expected Int", "line": 1,
                              "column": 5, "function": "Broken"}]
    # outside the value model (§10.4): a 70-bit Int, a NaN inside a list
    reg = Registry(list(registry.functions)).extend([
        Function("Huge", None, (("text", T.STRING),), T.INT, impl=lambda text: 2 ** 70),
        Function("Nan", None, (("text", T.STRING),), T.ListT(T.FLOAT),
                 impl=lambda text: [1.0, float("nan")])])
    outside = "which is not a Constellation value (Int is 64-bit, Float finite)"
    for name, shown in (("Huge", f"1180591620717411303424, {outside}"),
                        ("Nan", f"[1.0, NaN], {outside}")):
        result = run(compile_program(f'x = {name}("a")\nout x', reg), {})
        assert result.errors[0]["message"] == f"'{name}' returned {shown}"


def test_a_timeout_error_raised_by_a_module_is_its_failure_not_the_options(registry):
    """Python's TimeoutError (a socket timeout) from the module is an ordinary failure, with
    or without a `timeout` option."""
    from constellation.compiler import types as T
    from constellation.compiler.registry import Function, Registry
    from constellation.runtime import run

    def timing_out(text: str) -> str:
        raise TimeoutError("socket timed out")

    reg = Registry(list(registry.functions)).extend(
        [Function("Net", None, (("text", T.STRING),), T.STRING, impl=timing_out)])
    for options in ("", " with timeout: 5s", " with on_error: wrap"):
        result = run(compile_program(f'x = Net("a"){options}\nout x', reg), {})
        if "wrap" in options:
            assert result.outputs == {"x": {"value": None, "error": "socket timed out"}}
        else:
            assert result.errors[0]["message"] == "socket timed out", options


def test_captured_bindings_are_evaluated_before_a_lambda_is_applied(execute, recorder):
    """§10.3: even over no items, and even when the body would not reach them."""
    text = ('in s: String\nin xs: List<String>\nx = AlwaysFailsService(s)\n'
            'r = map(xs, (v) => v + x)\nout r')
    result, _ = execute(text, {"s": "q", "xs": []})
    assert result.status == "failed" and result.errors[0]["message"] == "Service failed for: q"
    text = ('in s: String\nin xs: List<String>\ny = Uppercase(s) with lazy\n'
            'r = map(xs, (v) => if (v == "zz") y else v)\nout r')
    result, _ = execute(text, {"s": "q", "xs": ["a"]})
    assert result.outputs == {"r": ["a"]} and recorder.count("Uppercase") == 1


def test_a_cached_higher_order_call_is_keyed_by_its_lambda_and_captures(execute, recorder):
    text = ('in xs: List<String>\nin p: String\n'
            'r = map(xs, (x) => Uppercase(x + p)) with cache: 1min\nout r')
    assert execute(text, {"xs": ["a"], "p": "1"})[0].outputs == {"r": ["A1"]}
    assert execute(text, {"xs": ["a"], "p": "1"})[0].outputs == {"r": ["A1"]}  # a hit
    assert execute(text, {"xs": ["a"], "p": "2"})[0].outputs == {"r": ["A2"]}  # another capture
    assert recorder.count("Uppercase") == 2


def test_run_timeout_leaves_no_asyncio_task_behind(registry):
    import asyncio

    from constellation.runtime import run_async

    analysis = compile_program(
        "in s: String\na = ExpensiveCompute(s)\nb = SlowApiCall(s)\nc = Uppercase(a)\n"
        "out c\nout b\n", registry)

    async def main():
        result = await run_async(analysis, {"s": "x"}, timeout=0.03)
        await asyncio.sleep(0)
        return result, [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    result, leftover = asyncio.run(main())
    assert result.status == "cancelled"
    assert leftover == []
    assert {n.status for n in result.nodes} == {"cancelled", "skipped"}


def test_arguments_take_the_shape_of_their_parameter_types(registry):
    from constellation.compiler import types as T
    from constellation.compiler.registry import Function, Registry
    from constellation.runtime import run

    seen = []

    def probe(x: float, r: dict) -> str:
        seen.append((x, r))
        return "ok"

    reg = Registry(list(registry.functions)).extend([Function(
        "Probe", None, (("x", T.FLOAT), ("r", T.record([("a", T.INT)]))), T.STRING,
        impl=probe)])
    analysis = compile_program('x = Probe(2, {a: 1, b: "extra"})\nout x', reg)
    assert run(analysis, {}).outputs == {"x": "ok"}
    (x, r), = seen
    assert isinstance(x, float) and r == {"a": 1}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_real_ctrl_c_still_stops_a_run_whose_async_module_is_running(registry, backend):
    """A module's own KeyboardInterrupt fails its call (issue 13 item 5), but the one the
    signal raises while an async module runs is the user's: the run stops, it is not a
    failed call."""
    import os
    import signal
    from constellation.compiler.registry import Function, Registry
    from constellation.compiler import types as T
    from constellation.runtime import run

    async def busy(text: str) -> str:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the module's frame runs
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # plain Python: the KeyboardInterrupt lands here
            pass
        return text

    reg = Registry(list(registry.functions)).extend(
        [Function("Busy", None, (("text", T.STRING),), T.STRING, impl=busy)])
    analysis = compile_program("in s: String\nx = Busy(s)\nout x", reg)
    with pytest.raises((KeyboardInterrupt, BaseExceptionGroup)) as caught:  # trio: a group
        run(analysis, {"s": "x"}, backend=backend)
    if isinstance(caught.value, BaseExceptionGroup):
        assert caught.value.subgroup(KeyboardInterrupt) is not None
