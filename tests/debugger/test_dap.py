"""`cst dap` driven over stdio by a DAP client: breakpoints on bindings, stepping by layer and
by call, values, expressions, a run's end, replay (issue 18)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from dap_client import cst_command

LAYERED = """# three layers: {a, b}, {c}, {d}
in n: Int
a = Double(n)
b = Inc(n) with priority: high
c = Add(a, b)
d = Double(c)
out d
"""
LINE = {"in": 2, "a": 3, "b": 4, "c": 5, "d": 6, "out": 7}


def frame_names(client) -> str:
    return client.frames()[0]["name"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has ended
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_initialize_announces_the_capabilities(dap, project):
    client = dap()
    caps = client.ok("initialize", {"adapterID": "constellation"})
    for key in ("supportsConfigurationDoneRequest", "supportsConditionalBreakpoints",
                "supportsHitConditionalBreakpoints", "supportsFunctionBreakpoints",
                "supportsStepBack", "supportsTerminateRequest"):
        assert caps[key] is True, key


def test_breakpoints_on_calls_are_verified_and_others_say_why(dap, project):
    client = dap()
    client.start(project.program(LAYERED), breakpoints=[1, LINE["in"], LINE["c"], LINE["out"]],
                 inputs={"n": 3})
    comment, declaration, call, output = client.breakpoints
    assert call["verified"] and call["line"] == LINE["c"]
    assert "column" not in call  # a column would move VS Code's dot into the line (inline)
    for bp in (comment, declaration, output):
        assert not bp["verified"]
        assert "holds no module call" in bp["message"]


def test_a_breakpoint_stops_before_its_call_with_arguments_and_settled_values(dap, project):
    client = dap()
    client.start(project.program(LAYERED), breakpoints=[LINE["c"]], inputs={"n": 3})
    stop = client.stopped()
    assert stop["reason"] == "breakpoint"
    assert stop["hitBreakpointIds"] == [client.breakpoints[0]["id"]]
    top, layer = client.frames()
    assert top["line"] == LINE["c"] and "c = Add" in top["name"]
    assert layer["name"] == "layer 2 of 3"
    scopes = client.scopes()
    assert {k: v["value"] for k, v in scopes["Arguments"].items()} == {"a": "6", "b": "4"}
    assert scopes["Inputs"]["n"]["value"] == "3"
    assert {k: v["value"] for k, v in scopes["Settled bindings"].items()} == {"a": "6", "b": "4"}
    waiting = scopes["Calls not completed"]
    assert set(waiting) == {"c", "d"} and waiting["c"]["value"].startswith("pending")
    assert project.calls().count("Add") == 0  # stopped before the call started
    client.ok("continue")
    assert client.event("exited")["body"]["exitCode"] == 0
    assert "Run completed: d = 20" in client.output()


def test_next_runs_the_current_layer_to_its_barrier(dap, project):
    client = dap()
    client.start(project.program(LAYERED), inputs={"n": 3}, stopOnEntry=True)
    assert client.stopped()["reason"] == "entry"
    assert frame_names(client) == "before layer 1 of 3"
    client.ok("next")
    assert client.stopped()["reason"] == "step"
    assert frame_names(client) == "before layer 2 of 3"
    assert set(client.scopes()["Settled bindings"]) == {"a", "b"}
    assert sorted(project.calls()) == ["Double", "Inc"]
    client.ok("next")
    client.stopped()
    assert frame_names(client) == "before layer 3 of 3"
    assert client.scopes()["Settled bindings"]["c"]["value"] == "10"
    client.ok("next")
    assert client.event("exited")["body"]["exitCode"] == 0


def serial_call_order(project, program) -> list[str]:
    done = subprocess.run([*cst_command(), "run", str(program), "-i", "n=3", "--events",
                           "--serial"], capture_output=True, text=True, cwd=project.root,
                          env={**os.environ, "DAP_TEST_CALLS": str(project.root / "x.txt")},
                          timeout=60)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    return [e["name"] for e in events if e["event"] == "node_started"]


def test_step_in_runs_one_call_in_the_serial_order(dap, project):
    program = project.program(LAYERED)
    client = dap()
    client.start(program, inputs={"n": 3}, serial=True, stopOnEntry=True)
    client.stopped()
    seen, calls_before = [frame_names(client)], []
    while True:
        client.ok("stepIn")
        message = client.event("stopped", timeout=30) if not _ended(client) else None
        if message is None:
            break
        seen.append(frame_names(client))
        calls_before.append(len(project.calls()))
        if seen[-1].startswith(("b =", "a =", "c =", "d =")):
            running = [k for k, v in client.scopes()["Calls not completed"].items()
                       if v["value"].startswith("running")]
            assert running == []  # one call at a time: the previous one has completed
        if len(seen) > 12:
            break
    assert [s.split(" ")[0] if "=" in s else s for s in seen] == [
        "before layer 1 of 3", "b", "a", "before layer 2 of 3", "c", "before layer 3 of 3", "d"]
    assert calls_before == [0, 1, 2, 2, 3, 3]  # each step ran exactly one call
    order = [s.split(" ")[0] for s in seen if "=" in s]
    assert order == serial_call_order(project, program)  # the scheduler's own serial order


def _ended(client) -> bool:
    """Whether the next stepping event is the run's end (consumes nothing else)."""
    while True:
        message = client._next(time.monotonic() + 30)
        if message["type"] == "event" and message["event"] == "stopped":
            client._pending.append(message)
            return False
        if message["type"] == "event" and message["event"] == "terminated":
            return True


def test_a_condition_over_settled_values_decides_the_stop(dap, project):
    client = dap()
    client.start(project.program(LAYERED), inputs={"n": 3}, breakpoints=[
        {"line": LINE["c"], "condition": "a > 100"},
        {"line": LINE["d"], "condition": "a + b == 10"}])
    assert all(b["verified"] for b in client.breakpoints)
    client.stopped()
    assert client.frames()[0]["line"] == LINE["d"]  # c's condition was false
    client.ok("continue")
    client.event("terminated")


def test_a_bad_condition_is_reported_on_its_breakpoint(dap, project):
    client = dap()
    client.start(project.program(LAYERED), inputs={"n": 3}, breakpoints=[
        {"line": LINE["c"], "condition": 'a + "x" > 1'},
        {"line": LINE["d"], "condition": "a + 1"},
        {"line": LINE["a"], "condition": "nope > 1"}])
    type_error, not_boolean, unknown = client.breakpoints
    assert not type_error["verified"] and "not supported for types Int and String" in \
        type_error["message"]
    assert not not_boolean["verified"] and "is a Int; it must be a Boolean" in \
        not_boolean["message"]
    assert not unknown["verified"] and "nope" in unknown["message"]
    client.event("terminated")  # no valid breakpoint: the run goes to its end


def test_function_breakpoints_stop_before_every_call_of_the_module(dap, project):
    client = dap()
    client.start(project.program(LAYERED), inputs={"n": 3}, functions=["Double", "Nowhere"])
    double, nowhere = client.functions
    assert double["verified"]
    assert not nowhere["verified"] and "calls no module 'Nowhere'" in nowhere["message"]
    assert client.stopped()["reason"] == "function breakpoint"
    assert client.frames()[0]["name"].startswith("a = Double")
    client.ok("continue")
    client.stopped()
    assert client.frames()[0]["name"].startswith("d = Double")
    assert client.scopes()["Arguments"]["x"]["value"] == "10"
    client.ok("continue")
    client.event("terminated")


def test_a_hit_count_skips_the_first_hits(dap, project):
    client = dap()
    client.start(project.program(LAYERED), inputs={"n": 3},
                 functions=[{"name": "Double", "hitCondition": "2"},
                            {"name": "Inc", "hitCondition": "often"}])
    assert not client.functions[1]["verified"]
    assert "Hit count 'often' is not understood" in client.functions[1]["message"]
    client.stopped()
    assert client.frames()[0]["name"].startswith("d = Double")
    client.ok("continue")
    client.event("terminated")


def test_evaluate_values_records_and_type_errors(dap, project):
    program = project.program(LAYERED.replace("out d", "p = Pair(a, b)\nout d\nout p"))
    client = dap()
    client.start(program, inputs={"n": 3}, breakpoints=[LINE["d"]])
    client.stopped()
    value = client.ok("evaluate", {"expression": "a * 10 + b", "frameId": 1, "context": "repl"})
    assert value["result"] == "64" and value["type"] == "Int"
    record = client.ok("evaluate", {"expression": "{ x: c, ys: [a, b] }", "frameId": 1})
    assert record["variablesReference"] > 0
    fields = client.variables(record["variablesReference"])
    assert fields["x"]["value"] == "10"
    assert [v["value"] for v in client.variables(fields["ys"]["variablesReference"]).values()] \
        == ["6", "4"]
    wrong = client.request("evaluate", {"expression": 'c + "x"', "frameId": 1})
    assert not wrong["success"] and "not supported for types Int and String" in wrong["message"]
    assert wrong["body"]["error"]["showUser"] is False  # the console shows it; no pop-up
    later = client.request("evaluate", {"expression": "d + 1", "frameId": 1})
    assert not later["success"] and "'d' has no value yet" in later["message"]
    call = client.request("evaluate", {"expression": "Double(a)", "frameId": 1})
    assert not call["success"] and "does not call functions" in call["message"]
    client.ok("continue")
    client.event("terminated")


def test_records_and_lists_in_variables_expand(dap, project):
    program = project.program("in n: Int\np = Pair(n, n)\nq = Double(n)\nout p\nout q\n")
    client = dap()
    client.start(program, inputs={"n": 2}, serial=True, breakpoints=[3])
    client.stopped()
    settled = client.scopes()["Settled bindings"]
    p = settled["p"]
    assert p["variablesReference"] > 0
    fields = client.variables(p["variablesReference"])
    assert fields["left"]["value"] == "2"
    assert [v["value"] for v in client.variables(fields["right"]["variablesReference"]).values()] \
        == ["2", "2"]


def test_module_output_and_failures_reach_the_console(dap, project):
    program = project.program("use stdlib.debug\nin n: Int\nf = Fail(n)\ng = Inc(n)\n"
                              "h = log(\"logged ${n}\")\nout f\nout g\nout h\n")
    client = dap()
    client.start(program, inputs={"n": 5})
    assert client.event("exited")["body"]["exitCode"] == 1
    client.event("terminated")
    out = client.output()
    assert "Fail cannot take 5" in out
    assert "Inc got 5" in out  # what a module prints
    assert "[constellation-lang] logged 5" in out  # the run log


def test_terminate_ends_the_child(dap, project):
    client = dap()
    client.start(project.program(LAYERED), inputs={"n": 3}, breakpoints=[LINE["c"]])
    pid = client.event("process")["body"]["systemProcessId"]
    client.stopped()
    assert alive(pid)
    client.ok("terminate")
    client.event("terminated")
    assert not alive(pid)


def test_disconnect_ends_the_child_and_the_adapter(dap, project):
    client = dap()
    client.start(project.program(LAYERED), inputs={"n": 3}, breakpoints=[LINE["c"]])
    pid = client.event("process")["body"]["systemProcessId"]
    client.stopped()
    client.ok("disconnect", {"terminateDebuggee": True})
    assert client.proc.wait(timeout=15) == 0
    assert not alive(pid)


def test_a_hanging_call_while_stopped_then_pause_and_terminate(dap, project):
    program = project.program("in n: Int\nh = Hang(n)\na = Double(n)\nb = Inc(a)\nout h\nout b\n")
    client = dap()
    client.start(program, inputs={"n": 1}, breakpoints=[4])
    pid = client.event("process")["body"]["systemProcessId"]
    # layer 1 holds h (which hangs) and a: layer 2 never starts, so the breakpoint on b waits
    deadline = time.monotonic() + 20
    while not (project.calls_file.with_suffix(".txt.hang")).exists():
        assert time.monotonic() < deadline, "Hang never started"
        time.sleep(0.05)
    client.ok("pause")
    stop = client.stopped()
    assert stop["reason"] == "pause" and "running call" in stop["description"]
    calls = client.scopes()["Calls not completed"]
    assert calls["h"]["value"].startswith("running")
    assert client.ok("evaluate", {"expression": "a + 1"})["result"] == "3"
    client.ok("terminate")
    client.event("terminated")
    assert not alive(pid)


def test_a_call_that_hangs_while_the_user_is_stopped(dap, project):
    program = project.program("in n: Int\nh = Hang(n)\na = Double(n)\nout h\nout a\n")
    client = dap()
    client.start(program, inputs={"n": 1}, breakpoints=[3])
    pid = client.event("process")["body"]["systemProcessId"]
    client.stopped()  # before a; h is running, and will never end
    assert client.frames()[0]["name"].startswith("a = Double")
    client.ok("continue")
    time.sleep(0.5)
    client.ok("pause")
    assert client.stopped()["reason"] == "pause"
    assert client.scopes()["Settled bindings"]["a"]["value"] == "2"
    client.ok("disconnect", {"terminateDebuggee": True})
    assert client.proc.wait(timeout=15) == 0
    assert not alive(pid)


@pytest.mark.parametrize("launch, words", [
    ({}, "needs 'program'"),
    ({"program": "missing.cst"}, "missing.cst: no such file"),
    ({"program": "broken.cst"}, "broken.cst:2:5: Undefined function 'Nowhere'"),
    ({"program": "p.cst", "inputs": {"n": "three"}}, "n"),
    ({"program": "p.cst", "inputs": "n=3"}, "'inputs' must be an object"),
    ({"program": "p.cst", "inputs": {"n": 3}, "schedule": "sideways"},
     "'schedule' must be one of layered, eager"),
    ({"program": "p.cst", "replay": "nothing.jsonl"}, "Cannot replay run nothing.jsonl"),
])
def test_bad_launch_arguments_are_error_responses_with_sentences(dap, project, launch, words):
    project.program(LAYERED)
    project.program("in n: Int\nx = Nowhere(n)\nout x\n", "broken.cst")
    if "program" in launch:
        launch = {**launch, "program": str(project.root / launch["program"])}
    client = dap()
    client.ok("initialize", {"adapterID": "constellation"})
    response = client.request("launch", launch)
    assert not response["success"]
    assert words in response["message"], response["message"]
    assert response["message"].endswith((".", ")")), response["message"]


def test_bad_inputs_name_the_input(dap, project):
    client = dap()
    client.ok("initialize", {"adapterID": "constellation"})
    response = client.request("launch", {"program": str(project.program(LAYERED)),
                                         "inputs": {"n": "three"}})
    assert not response["success"]
    assert "rejected" in response["message"] and "'n'" in response["message"]


@pytest.fixture
def records(tmp_path, monkeypatch):
    """The run records of this test: `cst run` writes them, `cst dap` reads them."""
    db = tmp_path / "records" / "runs.db"
    monkeypatch.setenv("CONSTELLATION_RUNS_DB", str(db))
    return db


def record_run(project, program, *extra: str, status: int = 0) -> int:
    """Run the program with `cst run` (recorded); the run's id."""
    done = subprocess.run([*cst_command(), "run", str(program), "-i", "n=3", "--events",
                           *extra], capture_output=True, text=True, cwd=project.root,
                          env={**os.environ, "DAP_TEST_CALLS": str(project.calls_file)},
                          timeout=60)
    assert done.returncode == status, done.stderr
    listed = subprocess.run([*cst_command(), "runs", "list", "--json"], capture_output=True,
                            text=True, cwd=project.root, timeout=60)
    return json.loads(listed.stdout)[0]["id"]


def test_replay_steps_forward_and_backward_without_calling_a_module(dap, project, records):
    program = project.program(LAYERED)
    run = record_run(project, program, "--serial")
    assert records.exists()
    recorded_calls = project.calls()
    assert len(recorded_calls) == 4
    client = dap()
    client.start(program, replay=str(run), stopOnEntry=True, breakpoints=[LINE["d"]])
    assert not any(e["event"] == "process" for e in client.events)  # no child
    assert client.stopped()["reason"] == "entry"
    assert frame_names(client) == "before layer 1 of 3"
    client.ok("stepIn")
    client.stopped()
    assert frame_names(client).startswith("b = Inc")
    assert {k: v["value"] for k, v in client.scopes()["Arguments"].items()} == {"x": "3"}
    client.ok("next")
    client.stopped()
    assert frame_names(client) == "before layer 2 of 3"
    assert {k: v["value"] for k, v in client.scopes()["Settled bindings"].items()} == {
        "a": "6", "b": "4"}
    client.ok("continue")
    assert client.stopped()["reason"] == "breakpoint"
    assert frame_names(client).startswith("d = Double")
    assert client.scopes()["Settled bindings"]["c"]["value"] == "10"
    assert client.ok("evaluate", {"expression": "c * 2", "frameId": 1})["result"] == "20"
    client.ok("stepBack")
    assert client.stopped()["reason"] == "step"
    assert frame_names(client) == "before layer 3 of 3"
    client.ok("stepBack")
    client.stopped()
    assert frame_names(client).startswith("c = Add")
    assert {k: v["value"] for k, v in client.scopes()["Arguments"].items()} == {
        "a": "6", "b": "4"}
    assert "c" not in client.scopes()["Settled bindings"]  # going back undoes what came after
    client.ok("continue")
    client.stopped()
    assert frame_names(client).startswith("d = Double")  # forward again, to the breakpoint
    client.ok("reverseContinue")
    assert client.stopped()["reason"] == "entry"  # no breakpoint behind: back to the start
    assert frame_names(client) == "before layer 1 of 3"
    client.ok("continue")
    client.stopped()  # the breakpoint on d again
    client.ok("continue")
    end = client.stopped()
    assert "recorded run ends here" in end["description"]
    assert client.scopes()["Settled bindings"]["d"]["value"] == "20"
    assert client.scopes()["Inputs"]["n"]["value"] == "3"  # the record's own inputs
    client.ok("continue")
    client.event("terminated")
    assert project.calls() == recorded_calls  # the replay called no module


def test_a_replayed_failure_shows_the_failed_and_skipped_calls(dap, project, records):
    program = project.program("in n: Int\nf = Fail(n)\ng = Inc(n)\nh = Double(f)\n"
                              "k = Fail(g) with fallback: 0\nout g\nout h\nout k\n")
    record_run(project, program, "--schedule", "eager", status=1)
    recorded = project.calls()
    client = dap()
    client.start(program, replay="last", functions=["Double", "Fail"])
    stops = []
    for _ in range(2):  # before each Fail, with its arguments (k's result was the fallback's)
        assert client.stopped()["reason"] == "function breakpoint"
        stops.append((frame_names(client).split(" =")[0],
                      client.scopes()["Arguments"]["x"]["value"]))
        client.ok("continue")
    assert sorted(stops) == [("f", "3"), ("k", "4")]
    end = client.stopped()  # not before Double: it never started
    assert "recorded run ends here" in end["description"]
    pending = {k: v["value"] for k, v in client.scopes()["Calls not completed"].items()}
    assert pending["f"].startswith("failed: Fail cannot take 3")
    assert pending["h"].startswith("skipped")
    assert client.scopes()["Settled bindings"]["g"]["value"] == "4"
    assert "f (line 2): Fail cannot take 3" in client.output()
    assert project.calls() == recorded


def test_replay_last_replays_the_newest_run_of_the_program(dap, project, records):
    program = project.program(LAYERED)
    other = project.program("in n: Int\nz = Inc(n)\nout z\n", "other.cst")
    record_run(project, program)
    first = dap()  # a debugging session's run is recorded too
    first.start(program, inputs={"n": 5})
    first.event("terminated")
    record_run(project, other)  # the newest run, but of another file
    recorded = project.calls()
    client = dap()
    client.start(program, replay="last", breakpoints=[LINE["c"]])
    assert client.stopped()["reason"] == "breakpoint"
    scopes = client.scopes()
    assert {k: v["value"] for k, v in scopes["Arguments"].items()} == {"a": "10", "b": "6"}
    assert scopes["Inputs"]["n"]["value"] == "5"
    assert project.calls() == recorded


@pytest.mark.parametrize("replay, words", [
    ("999", "there is no run 999 (see `cst runs list`)"),
    ("yesterday", "'yesterday' is not a run: give a run's id (see `cst runs list`) or 'last'"),
    ("last", "no run has been recorded yet for"),
    ("", "'replay' must name a recorded run"),
])
def test_a_bad_run_to_replay_is_an_error_response_with_a_sentence(dap, project, records,
                                                                  replay, words):
    program = project.program(LAYERED)
    project.program("in n: Int\nz = Inc(n)\nout z\n", "other.cst")
    record_run(project, project.root / "other.cst")
    client = dap()
    client.ok("initialize", {"adapterID": "constellation"})
    response = client.request("launch", {"program": str(program), "replay": replay})
    assert not response["success"]
    assert words in response["message"], response["message"]
    assert response["message"].endswith("."), response["message"]


def test_a_run_of_another_file_is_refused(dap, project, records):
    program = project.program(LAYERED)
    run = record_run(project, project.program("in n: Int\nz = Inc(n)\nout z\n", "other.cst"))
    client = dap()
    client.ok("initialize", {"adapterID": "constellation"})
    response = client.request("launch", {"program": str(program), "replay": run})
    assert not response["success"]
    assert f"Run {run} is a run of " in response["message"]
    assert "other.cst, not of p.cst" in response["message"]


def test_a_record_whose_plan_changed_says_what_changed(dap, project, records):
    program = project.program(LAYERED)
    run = record_run(project, program)
    program.write_text(LAYERED.replace("c = Add(a, b)", "c = Add(a, b)\ne = Inc(c)")
                       .replace("d = Double(c)", "d = Inc(c)"), encoding="utf-8")
    client = dap()
    client.ok("initialize", {"adapterID": "constellation"})
    response = client.request("launch", {"program": str(program), "replay": "last"})
    assert not response["success"]
    message = response["message"]
    assert f"Run {run} no longer matches p.cst" in message, message
    assert "the file now calls 'e', which the run did not" in message
    assert "'d' called Double and now calls Inc" in message
    assert message.endswith("(run it again first).")


def test_step_back_in_a_live_run_says_it_needs_a_replay(dap, project):
    client = dap()
    client.start(project.program(LAYERED), inputs={"n": 3}, stopOnEntry=True)
    client.stopped()
    response = client.request("stepBack", {"threadId": 1})
    assert not response["success"] and "needs a recorded run" in response["message"]


def test_serial_steps_follow_the_seeded_order(dap, project):
    program = project.program("in n: Int\na = Double(n)\nb = Inc(n)\nc = Double(n)\n"
                              "d = Inc(n)\ne = Double(n)\nout a\nout b\nout c\nout d\nout e\n")
    done = subprocess.run([*cst_command(), "run", str(program), "-i", "n=3", "--events",
                           "--serial", "--seed", "11"], capture_output=True, text=True,
                          cwd=project.root, timeout=60,
                          env={**os.environ, "DAP_TEST_CALLS": str(project.root / "x.txt")})
    expected = [json.loads(line)["name"] for line in done.stdout.splitlines()
                if json.loads(line)["event"] == "node_started"]
    assert expected != ["a", "b", "c", "d", "e"]  # the seed shuffles this layer
    client = dap()
    client.start(program, inputs={"n": 3}, serial=True, seed=11,
                 functions=["Double", "Inc"])
    seen = []
    for _ in range(5):
        client.stopped()
        seen.append(frame_names(client).split(" ")[0])
        client.ok("continue")
    client.event("terminated")
    assert seen == expected


def test_a_damaged_frame_is_skipped_and_the_session_goes_on(dap, project):
    client = dap()
    client.proc.stdin.write(b"Content-Length: 5\r\n\r\nnope!")
    client.proc.stdin.flush()
    caps = client.ok("initialize", {"adapterID": "constellation"})
    assert caps["supportsStepBack"] is True
    deadline = time.monotonic() + 10
    while "skipped a message whose body is not JSON" not in "".join(client.stderr):
        assert time.monotonic() < deadline, client.stderr  # reported on standard error
        time.sleep(0.05)


def test_the_editor_going_away_ends_the_child(dap, project):
    client = dap()
    client.start(project.program(LAYERED), inputs={"n": 3}, breakpoints=[LINE["c"]])
    pid = client.event("process")["body"]["systemProcessId"]
    client.stopped()
    client.proc.stdin.close()  # the editor died: no disconnect
    assert client.proc.wait(timeout=15) == 0
    assert not alive(pid)


def test_terminate_leaves_nothing_the_modules_started(dap, project):
    program = project.program("in n: Int\ns = Spawn(n)\nout s\n")
    client = dap()
    client.start(program, inputs={"n": 1})
    assert client.event("capabilities")["body"]["capabilities"]["supportsStepBack"] is False
    pid = client.event("process")["body"]["systemProcessId"]
    spawned_file = project.root / "calls.txt.spawned"
    deadline = time.monotonic() + 20
    while not spawned_file.exists() or not spawned_file.read_text():
        assert time.monotonic() < deadline, "Spawn never started its process"
        time.sleep(0.05)
    spawned = int(spawned_file.read_text())
    assert alive(spawned)
    client.ok("terminate")
    client.event("terminated")
    deadline = time.monotonic() + 10
    while alive(spawned) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid) and not alive(spawned)


BIG = """in n: Int
big = Big(n)
long = Long(n)
size = Size(big, long)
out size
"""
LONG = "".join(chr(ord("a") + i % 26) for i in range(5000))


def page(client, ref: int, start: int, count: int) -> dict[str, dict]:
    return {v["name"]: v for v in client.ok("variables", {
        "variablesReference": ref, "filter": "indexed", "start": start, "count": count})[
        "variables"]}


def test_large_values_are_whole_in_variables_paged_and_in_expressions(dap, project):
    """The run's events abbreviate large values (20 items, 200 characters): the adapter
    fetches them whole from the child, and the editor pages a long list."""
    client = dap()
    client.start(project.program(BIG), inputs={"n": 1}, breakpoints=[
        {"line": 4, "condition": 'list-contains(big, "item 499")'}])
    assert client.breakpoints[0]["verified"], client.breakpoints
    assert client.stopped()["reason"] == "breakpoint"  # the condition saw the 500th item
    scopes = client.scopes()
    big = scopes["Settled bindings"]["big"]
    assert big["indexedVariables"] == 1000 and big["evaluateName"] == "big"
    items = page(client, big["variablesReference"], 400, 100)
    assert list(items)[0] == "[400]" and len(items) == 100
    assert items["[499]"]["value"] == '"item 499"'
    assert page(client, big["variablesReference"], 999, 100)["[999]"]["value"] == '"item 999"'
    assert scopes["Settled bindings"]["long"]["value"] == '"' + LONG + '"'
    arguments = scopes["Arguments"]
    assert arguments["items"]["indexedVariables"] == 1000
    assert page(client, arguments["items"]["variablesReference"], 990, 10)["[995]"]["value"] \
        == '"item 995"'
    assert arguments["text"]["value"] == '"' + LONG + '"'
    assert client.ok("evaluate", {"expression": "list-length(big)", "frameId": 1,
                                  "context": "repl"})["result"] == "1000"
    assert client.ok("evaluate", {"expression": 'list-contains(big, "item 999")',
                                  "frameId": 1})["result"] == "true"
    copied = client.ok("evaluate", {"expression": "long", "frameId": 1,
                                    "context": "clipboard"})["result"]
    assert copied == '"' + LONG + '"'
    whole = client.ok("evaluate", {"expression": "big", "frameId": 1, "context": "repl"})
    assert whole["indexedVariables"] == 1000  # the console pages it as Variables does
    assert page(client, whole["variablesReference"], 0, 1000)["[700]"]["value"] == '"item 700"'
    client.ok("continue")
    assert "Run completed: size = 6000" in (client.event("terminated") and client.output())


def test_stdlib_in_expressions_but_never_a_module_nor_log(dap, project):
    client = dap()
    client.start(project.program(LAYERED), breakpoints=[LINE["d"]], inputs={"n": 3})
    client.stopped()
    value = client.ok("evaluate", {"expression": "any([a, b], (x) => x > 5)", "frameId": 1})
    assert value["result"] == "true"
    logged = client.request("evaluate", {"expression": 'log("x")', "frameId": 1})
    assert not logged["success"] and "does not call functions ('stdlib.debug.log')" in \
        logged["message"]
    client.ok("continue")
    client.event("terminated")


def test_replay_hit_counts_are_the_same_forward_back_and_forward_again(dap, project, records):
    program = project.program(LAYERED)
    run = record_run(project, program, "--serial")
    client = dap()
    client.start(program, replay=str(run), functions=[{"name": "Double", "hitCondition": "2"}])
    assert client.stopped()["reason"] == "function breakpoint"
    assert frame_names(client).startswith("d = Double")  # the second call of Double
    client.ok("stepBack")
    client.stopped()
    assert frame_names(client) == "before layer 3 of 3"
    client.ok("continue")
    assert client.stopped()["reason"] == "function breakpoint"
    assert frame_names(client).startswith("d = Double")  # still its second hit
    client.ok("continue")
    assert "recorded run ends here" in client.stopped()["description"]
    client.ok("reverseContinue")
    assert client.stopped()["reason"] == "function breakpoint"
    assert frame_names(client).startswith("d = Double")  # backward: the second hit again
    client.ok("reverseContinue")
    assert client.stopped()["reason"] == "entry"  # a = Double is the first hit: no stop
    client.ok("continue")
    client.stopped()
    assert frame_names(client).startswith("d = Double")
    client.ok("continue")
    client.stopped()
    client.ok("continue")
    client.event("terminated")


def test_next_under_eager_stops_before_the_first_call_of_a_deeper_layer(dap, project):
    """Eager has no barriers: `next` goes on until a call of a later layer is about to start
    (calls of the layer it left may still be running)."""
    client = dap()
    client.start(project.program(LAYERED), inputs={"n": 3}, schedule="eager",
                 stopOnEntry=True)
    assert client.stopped()["reason"] == "entry"
    first = frame_names(client)
    assert first.startswith(("a = Double", "b = Inc")) and "layer 1" in first
    client.ok("next")
    assert client.stopped()["reason"] == "step"
    assert frame_names(client).startswith("c = Add")
    assert {k: v["value"] for k, v in client.scopes()["Arguments"].items()} == {"a": "6", "b": "4"}
    client.ok("next")
    client.stopped()
    assert frame_names(client).startswith("d = Double")
    client.ok("next")
    assert client.event("exited")["body"]["exitCode"] == 0


def test_pause_while_a_call_runs_moves_to_the_next_barrier(dap, project):
    """Pause answers at once (the calls running go on); the run then stops at the first
    point it reaches: here the barrier before layer 2."""
    program = project.program("in n: Int\ns = Slow(n)\nd = Double(s)\nout d\n")
    client = dap()
    client.start(program, inputs={"n": 4})
    deadline = time.monotonic() + 20
    while not project.calls_file.with_suffix(".txt.slow").exists():
        assert time.monotonic() < deadline, "Slow never started"
        time.sleep(0.05)
    client.ok("pause")
    first = client.stopped()
    assert first["reason"] == "pause" and "running call" in first["description"]
    assert client.frames()[0]["name"].startswith("paused (running calls: s")
    second = client.stopped()  # Slow has ended: the run reached the barrier and waits there
    assert second["reason"] == "pause"
    # the run went on between the two stops: a `continued` says so, or VS Code keeps the first
    # stop's "Paused; 1 running call goes on…" above the new stack (seen in code-server)
    kinds = [e["event"] for e in client.events if e["event"] in ("stopped", "continued")]
    assert kinds[-3:] == ["stopped", "continued", "stopped"], kinds
    assert "1 running call goes on" in first["description"]
    assert frame_names(client) == "before layer 2 of 2"
    assert client.scopes()["Settled bindings"]["s"]["value"] == "4"
    assert "Double" not in project.calls()
    client.ok("continue")
    assert "Run completed: d = 8" in (client.event("terminated") and client.output())


def test_calls_inside_an_expression_are_named_by_their_binding_in_program_order(dap, project):
    """Seen in code-server: the stack read `SumList@11 = SumList(…)` for a call in a record's
    field, Calls not completed listed a layer's calls last line first, and two calls of one
    module on one line had the same name."""
    program = project.program(
        "in n: Int\n"
        "r = {\n"
        "  a: Double(n),\n"
        "  b: Inc(n)\n"
        "}\n"
        "s = Add(Double(r.a), Double(r.b))\n"
        "out s\n")
    client = dap()
    client.start(program, inputs={"n": 2}, serial=True, functions=["Double"])
    client.stopped()
    assert frame_names(client) == "Double(…) in r  · layer 1"
    calls = list(client.scopes()["Calls not completed"])
    assert calls == ["Double@3", "Inc@4", "Double@6:9", "Double@6:22", "s"], calls
    for _ in range(2):  # the two calls of Double in `s`
        client.ok("continue")
        client.stopped()
        assert frame_names(client) == "Double(…) in s  · layer 2"
    client.ok("continue")
    assert client.event("exited")["body"]["exitCode"] == 0
