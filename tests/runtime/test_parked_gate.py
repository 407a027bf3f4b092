"""The layer gate and parked calls (LANGUAGE.md §10.2): a call whose fallback reads a higher
layer is parked while it awaits that value, and so is every call or expression that waits on it
(directly, through value nodes, `if` branches, `match` subjects, lazy and match-case calls, or
through another parked call's fallback). Before, such a waiter held its layer's barrier while
the fallback needed a later layer: the run hung until its timeout. Each run here has a timeout,
so a regression ends `cancelled` instead of hanging the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from runtime_helpers import EXAMPLES

BOUNDS = pytest.mark.parametrize("bounds", [{}, {"serial": True}, {"max_concurrency": 1}],
                                 ids=["unbounded", "serial", "max1"])
RUN_TIMEOUT_S = 10.0

# j, w, z, y: layers 1, 2, 3, 4; `a` (layer 1) fails, and its fallback reads layer 3.
CHAIN = ("in s: String\n"
         "j = Trim(s)\nw = Trim(j)\nz = Trim(w)\n"
         "a = AlwaysFailsService(s) with fallback: Uppercase(z)\n")

CASES = {
    # the call waits on the parked `a` as its argument (layer 2)
    "argument": ("c = Lowercase(a)\nout c", {"c": "hi"}),
    # through a value node (an inline expression)
    "value node": ('v = "${a}!"\nc = Lowercase(v)\nout c', {"c": "hi!"}),
    # through an `if` branch inside an argument
    "if branch": ('c = Lowercase(if (j == "hi") a else s)\nout c', {"c": "hi"}),
    # through a match subject inside an argument
    "match subject": ("c = Lowercase(match { v: a } { { v } -> v })\nout c", {"c": "hi"}),
    # transitively: d (layer 3) waits on c, which waits on a; the fallback reads layer 4
    "transitive": ("y = Trim(z)\nb = AlwaysFailsService(s) with fallback: Uppercase(y)\n"
                   "c = Lowercase(b)\nd = Trim(c)\nout d\nout a", {"d": "hi", "a": "HI"}),
    # a demand-driven match-case call (it reads a pattern binding) waiting on `a`
    "match-case call": ('in r: { t: String }\nx = match r { { t } -> Replace(t, "x", a) }\n'
                        "out x", {"x": "HIHI"}),
    # a lazy call demanded by the output
    "lazy call": ("c = Lowercase(a) with lazy\nout c", {"c": "hi"}),
    # a call of one fallback waits on another parked call whose fallback reads layer 3 (the
    # slow `q` keeps layer 2 open until that call has been demanded)
    "fallback waits on parked": (
        "b = AlwaysFailsService(j) with fallback: Lowercase(a)\nq = SlowQuery(j)\n"
        "c = Trim(b)\nout c\nout q", {"c": "hi", "q": "Result for: hi"}),
}
INPUTS = {"s": " hi ", "r": {"t": "xx"}}


def run_ok(execute, text, inputs, **options):
    result, events = execute(text, inputs, timeout=RUN_TIMEOUT_S, **options)
    assert result.status == "completed", (result.status, result.errors,
                                          [(n.name, n.status) for n in result.nodes])
    return result, events


@BOUNDS
@pytest.mark.parametrize("case", list(CASES))
def test_a_waiter_on_a_parked_call_does_not_hold_the_layer_gate(execute, bounds, case):
    body, expected = CASES[case]
    text = CHAIN + body
    inputs = {k: v for k, v in INPUTS.items() if f"in {k}:" in text}
    for schedule in ("layered", "eager"):  # the same values under both schedules (§10.2)
        result, _ = run_ok(execute, text, inputs, schedule=schedule, **bounds)
        assert result.outputs == expected, schedule
        assert all(n.status == "completed" for n in result.nodes), \
            (schedule, [(n.name, n.status) for n in result.nodes])


@BOUNDS
def test_a_failing_fallback_that_reads_a_higher_layer_fails_the_run_without_a_hang(execute,
                                                                                   bounds):
    text = (CHAIN.replace("Uppercase(z)", "AlwaysFailsService(z)")
            + "c = Lowercase(a)\nd = Trim(j)\nout c\nout d")
    for schedule in ("layered", "eager"):
        result, _ = execute(text, {"s": " hi "}, schedule=schedule, timeout=RUN_TIMEOUT_S,
                            **bounds)
        assert result.status == "failed", (schedule, result.status)
        assert result.outputs == {"d": "hi"}
        assert [e["message"] for e in result.errors] == ["Service failed for: hi"]
        statuses = {n.name: n.status for n in result.nodes}
        assert (statuses["a"], statuses["c"]) == ("failed", "skipped"), statuses


def test_the_waiter_holds_the_gate_again_once_the_parked_call_settles(execute, recorder):
    """`c` (layer 2) is parked while `a` awaits a layer-3 fallback value; once `a` has
    settled `c` counts again, so layer 5 (`k`) starts only after `c` has ended, although `y`
    (layer 4, started before `c` and twice as quick) ended well before."""
    text = (CHAIN + "c = SlowApiCall(a)\ny = SlowQuery(z)\nk = Trim(y)\nout c\nout k")
    result, _ = run_ok(execute, text, {"s": " hi "}, schedule="layered")
    assert result.outputs == {"c": "API response from: HI", "k": "Result for: hi"}
    (c,) = recorder.of("SlowApiCall")
    (y,) = recorder.of("SlowQuery")
    (k,) = [t for t in recorder.of("Trim") if t.args == ("Result for: hi",)]
    assert c.start < y.end  # c ran while layer 4 was open: it was not waited for while parked
    assert k.start >= c.end  # counted again after `a` settled: layer 5 waited for it


OUTCOMES = ("node_completed", "node_failed", "node_skipped", "node_cancelled")


@pytest.mark.parametrize("fallback_reads", ["j", "z"], ids=["lower layer", "higher layer"])
def test_a_layer_completes_only_after_its_parked_calls_have_settled(execute, fallback_reads):
    """A parked call does not hold the gate, but its layer is not done before it has settled:
    `layer_completed` of a layer follows the outcome of every started call of that layer."""
    text = CHAIN.replace("Uppercase(z)", f"Uppercase({fallback_reads})") + \
        "c = Lowercase(a)\nout c"
    result, events = run_ok(execute, text, {"s": " hi "}, schedule="layered")
    assert result.outputs == {"c": "hi"}
    settled: dict[int, int] = {}
    for e in events:
        if e["event"] in OUTCOMES:
            settled[e["layer"]] = settled.get(e["layer"], 0) + 1
        elif e["event"] == "layer_completed":
            started = sum(1 for x in events if x["event"] == "node_started"
                          and x["layer"] == e["layer"])
            assert settled.get(e["layer"], 0) == started, (e["layer"], events)
    depth = next(e["depth"] for e in events if e["event"] == "run_started")
    completed = [e["layer"] for e in events if e["event"] == "layer_completed"]
    assert sorted(completed) == list(range(1, depth + 1))


def test_a_timeout_while_a_call_is_parked_cancels_its_layer(execute, monkeypatch):
    """Cut short while `a` awaits its fallback value (a 2 s call), layer 1 reads cancelled,
    not completed (issue 13 item 9)."""
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", "1.0")
    text = ("in s: String\nj = Trim(s)\n"
            "a = AlwaysFailsService(s) with fallback: ExpensiveCompute(j)\nout a")
    result, events = execute(text, {"s": " hi "}, schedule="layered", timeout=0.5)
    assert result.status == "cancelled"
    assert {n.name: n.status for n in result.nodes}["a"] == "cancelled"
    ends = [(e["event"], e["layer"]) for e in events
            if e["event"] in ("layer_completed", "layer_cancelled")]
    assert ("layer_cancelled", 1) in ends and ("layer_completed", 1) not in ends, ends


def test_cst_run_completes_a_fallback_that_reads_a_higher_layer(tmp_path):
    path = tmp_path / "fallback_gate.cst"
    path.write_text("@example(\" hi \")\n" + CHAIN + "c = Lowercase(a)\nout c\n")
    script = os.path.join(os.path.dirname(sys.executable), "cst")
    command = [script] if os.path.exists(script) else [sys.executable, "-m",
                                                       "constellation.cli.main"]
    for schedule in ("layered", "eager"):
        proc = subprocess.run(
            [*command, "run", str(path), "--examples", "--json", "--schedule", schedule,
             "--timeout", str(RUN_TIMEOUT_S), "--modules", str(EXAMPLES / "modules" / "demo.py")],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "CONSTELLATION_TIME_SCALE": "0.01"})
        assert proc.returncode == 0, (schedule, proc.stdout[-2000:], proc.stderr[-2000:])
        result = json.loads(proc.stdout)
        assert result["status"] == "completed" and result["outputs"] == {"c": "hi"}, schedule
