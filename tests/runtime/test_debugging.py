"""The debugger's two points in the executor (runtime/debugging.py, issue 18): a debugger that
lets every point go changes nothing a run does, and a point not answered holds the run there."""

from __future__ import annotations

import asyncio

import anyio
import pytest
from runtime_helpers import EXAMPLES, compile_program, reset_demo_counters

from constellation.runtime.api import prepare
from constellation.runtime.debugging import ChannelDebugger

STABLE = ("event", "name", "layer", "status", "attempt", "reason", "value", "outputs")


def shape(events: list[dict]) -> list[tuple]:
    return [tuple((k, repr(e.get(k))) for k in STABLE if k in e) for e in events
            if e["event"] != "debug_point"]


def run_events(analysis, *, debugged: bool, answer=True, inputs=None, **options):
    events: list[dict] = []
    debugger = None

    def on_event(event: dict) -> None:
        if debugger is not None:
            debugger.observe(event)
        events.append(event)

    run = prepare(analysis, inputs or {}, use_examples=True, on_event=on_event, **options)
    if debugged:
        def ask(event: dict) -> None:
            events.append(event)
            if answer and event["event"] == "debug_point":
                for fetch in (answer if callable(answer) else lambda e: [])(event):
                    debugger.answer(fetch)
                asyncio.get_running_loop().call_soon(debugger.answer, {"go": event["point"]})

        debugger = ChannelDebugger(ask, serial=run.config.serial, source=analysis.source)
        debugger.attach(run)
        run.debugger = debugger
    return run, debugger, events


@pytest.mark.parametrize("example", ["numbers.cst", "profile.cst", "resilient-search.cst"])
def test_a_debugger_that_lets_every_point_go_changes_nothing(registry, base_registry, example):
    from constellation.runtime.limits import reset_shared_state

    analysis = compile_program((EXAMPLES / example).read_text(encoding="utf-8"), registry)
    plain_run, _, plain = run_events(analysis, debugged=False, serial=True, seed=5)
    anyio.run(plain_run.execute)
    reset_shared_state()  # the second run starts as the first did: empty caches, counters at 0
    reset_demo_counters(base_registry)
    debug_run, _, debugged = run_events(analysis, debugged=True, serial=True, seed=5)
    anyio.run(debug_run.execute)
    assert shape(debugged) == shape(plain)
    points = [e for e in debugged if e["event"] == "debug_point"]
    started = [e for e in debugged if e["event"] == "node_started" and e["attempt"] == 1]
    assert len([p for p in points if p["kind"] == "call"]) >= len(started) > 0


def test_points_come_before_the_layer_and_before_the_call_with_its_arguments(registry):
    analysis = compile_program("in n: Int\na = Range(1, n)\nb = SumList(a)\nout b\n", registry)
    run, _, events = run_events(analysis, debugged=True, inputs={"n": 3})
    anyio.run(run.execute)
    kinds = [(e["event"], e.get("kind"), e.get("layer")) for e in events
             if e["event"] in ("debug_point", "layer_started", "node_started")]
    assert kinds == [("debug_point", "layer", 1), ("layer_started", None, 1),
                     ("debug_point", "call", 1), ("node_started", None, 1),
                     ("debug_point", "layer", 2), ("layer_started", None, 2),
                     ("debug_point", "call", 2), ("node_started", None, 2)]
    calls = [e for e in events if e.get("kind") == "call"]
    assert [c["args"] for c in calls] == [[1, 3], [[1, 2, 3]]]
    assert [(c["name"], c["module"], c["line"]) for c in calls] == [
        ("a", "Range", 2), ("b", "SumList", 3)]


def test_an_unanswered_point_holds_the_run_before_its_layer(registry, recorder):
    analysis = compile_program("in n: Int\na = Range(1, n)\nb = SumList(a)\nout b\n", registry)
    run, debugger, events = run_events(analysis, debugged=True, answer=False, inputs={"n": 3})

    async def main():
        async with anyio.create_task_group() as tg:
            tg.start_soon(run.execute)
            with anyio.fail_after(10):
                while not any(e["event"] == "debug_point" for e in events):
                    await anyio.sleep(0.01)
            await anyio.sleep(0.2)  # held: nothing starts
            assert [e["event"] for e in events] == ["run_started", "debug_point"]
            assert recorder.count() == 0
            n = 1
            while not any(e["event"] == "run_completed" for e in events):
                debugger.answer({"go": n})
                n += 1
                await anyio.sleep(0.02)
    anyio.run(main)
    assert events[-1]["outputs"] == {"b": 6}


def test_a_point_carries_large_arguments_abbreviated_and_a_fetch_answers_them_whole(registry):
    """A large value is not pushed at every point: the adapter fetches it when it needs it."""
    analysis = compile_program("in n: Int\na = Range(1, n)\nb = SumList(a)\nout b\n", registry)
    a_id = analysis.executable_plan.bindings["a"]

    def fetches(point: dict) -> list[dict]:
        if point.get("name") != "b":
            return []
        return [{"fetch": 1, "point": point["point"], "arg": 0}, {"fetch": 2, "node": a_id},
                {"fetch": 3, "point": point["point"] + 5, "arg": 0}]

    run, _, events = run_events(analysis, debugged=True, answer=fetches, inputs={"n": 100})
    anyio.run(run.execute)
    call = next(e for e in events if e.get("kind") == "call" and e["name"] == "b")
    assert call["args"] == [list(range(1, 21)) + ["…"]]  # abbreviated as run events are
    answers = {e["fetch"]: e for e in events if e["event"] == "debug_value"}
    assert answers[1]["value"] == answers[2]["value"] == list(range(1, 101))
    assert "not waiting" in answers[3]["missing"]
    assert events[-1]["outputs"] == {"b": 5050}
