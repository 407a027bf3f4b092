"""What a run costs in tasks (issue 15, the fixed and per-node costs of small runs): a run
without deadlines starts no helper task (no heartbeat: the watchdog asks the loop for a beat
only while a deadline is due), its last output is evaluated in the run's own task, and a call
that another call's settling starts runs in that call's task, after a turn of the loop."""

from __future__ import annotations

import anyio
import pytest

from constellation.compiler import analyze
from constellation.compiler import types as T
from constellation.compiler.registry import Function
from constellation.runtime import run
from constellation.runtime.modules import base_registry

SEEN: list[tuple[int, int]] = []  # (the calling task's id, tasks running) per call


async def probe(x: int) -> int:
    SEEN.append((anyio.get_current_task().id, len(anyio.get_running_tasks())))
    await anyio.sleep(0)
    return x + 1


def registry():
    return base_registry().extend([
        Function("Probe", None, (("x", T.INT),), T.INT, impl=probe)])


def run_text(text: str, backend: str, **options):
    SEEN.clear()
    analysis = analyze(text, registry())
    assert analysis.valid, analysis.diagnostics
    return run(analysis.executable_plan, {"seed": 1}, registry=analysis.registry,
               backend=backend, **options)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_one_call_run_runs_in_two_tasks(backend):
    """The run's own task (which also evaluates its output) and the call's: before, a
    heartbeat, a helper group and an output task came with every run."""
    result = run_text("in seed: Int\nx = Probe(seed)\nout x\n", backend)
    assert result.outputs == {"x": 2}
    host_and_others = anyio.run(_tasks_outside_a_run, backend=backend)
    assert SEEN[0][1] == host_and_others + 1  # the call's task, and no other


async def _tasks_outside_a_run() -> int:
    return len(anyio.get_running_tasks())


@pytest.mark.parametrize("schedule", ["layered", "eager"])
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_chain_runs_its_calls_in_one_task(schedule, backend):
    lines = ["in seed: Int", "x0 = Probe(seed)"] + [f"x{i} = Probe(x{i - 1})" for i in range(1, 30)]
    result = run_text("\n".join(lines + ["out x29"]) + "\n", backend, schedule=schedule)
    assert result.outputs == {"x29": 31}
    assert len({task for task, _ in SEEN}) == 1  # one task for the 30 calls, not 30


def test_a_layer_started_by_a_settling_keeps_its_start_order_and_its_concurrency():
    """The calls a settling starts: all but the last get tasks of their own, the last runs
    in the settled call's task after a turn of the loop, so they still start in rank order
    and overlap."""
    text = ("in seed: Int\na = Probe(seed)\n"
            + "".join(f"b{i} = Probe(a)\n" for i in range(5)) + "out b4\n")
    events = []
    SEEN.clear()
    result = run(analyze(text, registry()).executable_plan, {"seed": 1}, registry=registry(),
                 on_event=events.append)
    assert result.status == "completed"
    started = [e["name"] for e in events if e["event"] == "node_started"]
    assert started == ["a", "b0", "b1", "b2", "b3", "b4"]
    assert len({task for task, _ in SEEN[1:]}) == 5  # five calls, five tasks, all at once
    assert SEEN[1][0] != SEEN[0][0] and SEEN[-1][0] == SEEN[0][0]  # b4 runs in a's task
    assert min(n for _, n in SEEN[1:]) >= 5
