"""Calls in `match` case bodies on the Dask executor (LANGUAGE.md §10.2): the chosen case's call
goes to a worker with arguments the driver computed from the pattern bindings; the calls of the
other cases never run."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.slow

PROGRAM = ('in r: { tag: String } | { ms: Int }\n'
           'x = match r { { tag } -> ProcessId("${tag}!"), { ms } -> Nap(ms) }\n'
           'y = match r { { tag } -> map([1, 2], (i) => ProcessId("${tag}${i}")), '
           '{ ms } -> [ms] }\n'
           'z = match r { { tag } -> Explode(tag) with fallback: "${ProcessId(tag)}", '
           '{ ms } -> "-" }\n'
           'out x\nout y\nout z')


@pytest.mark.parametrize("schedule", ["layered", "eager"])
def test_the_chosen_case_call_runs_on_a_worker(execute, worker_pids, schedule):
    result, events = execute(PROGRAM, {"r": {"tag": "t"}}, schedule=schedule)
    assert result.status == "completed", result.errors
    pids = {result.outputs["x"], *result.outputs["y"], int(result.outputs["z"])}
    assert os.getpid() not in pids and pids <= worker_pids
    status = {n.name: n.status for n in result.nodes}
    assert status == {"ProcessId@2": "completed", "Nap@2": "skipped", "map@3": "completed",
                      "Explode@4": "completed", "ProcessId@4": "completed"}
    skipped = [e["name"] for e in events if e["event"] == "node_skipped"]
    assert skipped == ["Nap@2"]


def test_the_other_case_on_dask_equals_a_local_run(execute, worker_pids):
    remote, _ = execute(PROGRAM, {"r": {"ms": 30}})
    local, _ = execute(PROGRAM, {"r": {"ms": 30}}, executor="local")
    assert remote.status == local.status == "completed", (remote.errors, local.errors)
    assert remote.outputs["y"] == local.outputs["y"] == [30]
    assert remote.outputs["x"] in worker_pids and local.outputs["x"] == os.getpid()
    assert {n.name: n.status for n in remote.nodes} == {n.name: n.status for n in local.nodes}
