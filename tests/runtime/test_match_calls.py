"""Module calls in `match` case bodies (LANGUAGE.md §9.1, §9.2, §10.2): a call that reads a
pattern binding is demand-driven; it runs when its case is chosen, with that case's bindings in
scope, under both schedules; the calls of the cases not chosen never run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime_helpers import EXAMPLES, node_events

SCHEDULES = pytest.mark.parametrize("schedule", ["layered", "eager"])

RECORD = "in r: { a: Int, s: String }\n"
UNION = "in r: { a: Int } | { s: String }\n"


def completed(execute, text, inputs, schedule):
    result, events = execute(text, inputs, schedule=schedule)
    assert result.status == "completed", result.errors
    return result, events


@SCHEDULES
@pytest.mark.parametrize("body,expected", [
    ("FormatNumber(a)", "1,234"),  # the case body is the call
    ('"n=${FormatNumber(a)}, s=${Uppercase(s)}"', "n=1,234, s=  HI "),  # in interpolations
    ("FormatNumber(a) with retry: 2, timeout: 5s", "1,234"),  # with options
    ("Uppercase(Trim(s))", "HI"),  # through another call of the same body
    ('Replace(Trim(s), "i", FormatNumber(a))', "h1,234"),
    ('(FormatNumber(a) when a > 0) ?? "none"', "1,234"),  # in a guard
    ('if (a > 0) FormatNumber(a) else Uppercase(s)', "1,234"),
    ('match { b: Trim(s) } { { b } -> Replace(b, "h", FormatNumber(a)) }', "1,234i"),  # nested
])
def test_a_call_reading_a_pattern_binding_runs_with_the_binding(execute, schedule, body,
                                                                 expected):
    text = RECORD + f"x = match r {{ {{ a, s }} -> {body} }}\nout x"
    result, _ = completed(execute, text, {"r": {"a": 1234, "s": "  hi "}}, schedule)
    assert result.outputs == {"x": expected}


@SCHEDULES
def test_calls_in_a_fallback_read_the_case_bindings(execute, schedule, recorder):
    text = RECORD + ('x = match r { { a, s } -> AlwaysFailsService(s) with fallback: '
                     'FormatNumber(a) }\n'
                     # the owner reads no pattern binding; its fallback does
                     'y = match r { { s } -> AlwaysFailsService("q") with fallback: Trim(s) }\n'
                     'out x\nout y')
    result, _ = completed(execute, text, {"r": {"a": 1000, "s": " hi "}}, schedule)
    assert result.outputs == {"x": "1,000", "y": "hi"}
    assert [c.args for c in recorder.of("AlwaysFailsService")] in (
        [(" hi ",), ("q",)], [("q",), (" hi ",)])


@SCHEDULES
def test_a_lambda_capturing_a_pattern_binding(execute, schedule, recorder):
    text = RECORD + ("in xs: List<Int>\n"
                     "x = match r { { a } -> map(xs, (v) => FormatNumber(v + a)) }\n"
                     "y = match r { { a, s } -> filter(xs, (v) => v > a and TextLength(s) > v) }\n"
                     "out x\nout y")
    result, _ = completed(execute, text, {"r": {"a": 1000, "s": "abcde"}, "xs": [1, 2000]},
                          schedule)
    assert result.outputs == {"x": ["1,001", "3,000"], "y": []}
    assert sorted(c.args for c in recorder.of("FormatNumber")) == [(1001,), (3000,)]


@SCHEDULES
def test_only_the_chosen_case_runs_its_calls(execute, schedule, recorder):
    text = UNION + ('in t: String\n'
                    'x = match r { { a } -> FormatNumber(a), { s } -> Uppercase(s) }\n'
                    # an eager call (it reads no pattern binding) runs in any case (§10.2)
                    'y = match r { { a } -> Lowercase(t), { s } -> Trim(s) }\n'
                    'out x\nout y')
    result, events = completed(execute, text, {"r": {"a": 5}, "t": "T"}, schedule)
    assert result.outputs == {"x": "5", "y": "t"}
    assert recorder.count("Uppercase") == 0 and recorder.count("Trim") == 0
    assert recorder.count("FormatNumber") == 1 and recorder.count("Lowercase") == 1
    status = {n.name: n.status for n in result.nodes}
    assert status == {"FormatNumber@3": "completed", "Uppercase@3": "skipped",
                      "Lowercase@4": "completed", "Trim@4": "skipped"}
    skipped = {e["name"]: e["reason"] for e in node_events(events, "node_skipped")}
    assert skipped == {"Uppercase@3": "not demanded", "Trim@4": "not demanded"}

    recorder.calls.clear()
    result, _ = completed(execute, text, {"r": {"s": "hey"}, "t": "T"}, schedule)
    assert result.outputs == {"x": "HEY", "y": "hey"}
    assert recorder.count("FormatNumber") == 0 and recorder.count("Uppercase") == 1


@SCHEDULES
def test_a_match_in_an_argument_and_a_called_subject(execute, schedule, recorder):
    text = ('in t: String\n'
            'r = { s: Trim(t) }\n'  # the subject reads a layer-1 call
            'x = Uppercase(match r { { s } -> Replace(s, "a", "o") })\n'
            'out x')
    result, events = completed(execute, text, {"t": " banana "}, schedule)
    assert result.outputs == {"x": "BONONO"}
    layers = {n.name: n.layer for n in result.nodes}
    assert layers == {"Trim@2": 1, "Replace@3": 2, "x": 3}
    started = [e["name"] for e in node_events(events, "node_started")]
    assert started == ["Trim@2", "Replace@3", "x"]


@SCHEDULES
def test_a_failing_case_call_fails_the_output_with_its_position(execute, schedule):
    text = UNION + 'x = match r { { a } -> FormatNumber(a), { s } -> AlwaysFailsService(s) }\nout x'
    result, _ = execute(text, {"r": {"s": "boom"}}, schedule=schedule)
    assert result.status == "failed"
    assert result.errors == [{"message": "Service failed for: boom", "line": 2, "column": 50,
                              "function": "AlwaysFailsService"}]


def test_cst_run_runs_the_chosen_case_call(tmp_path: Path):
    """Through the command line, as a user runs it, under both schedules."""
    path = tmp_path / "m.cst"
    path.write_text(UNION + 'x = match r { { a } -> FormatNumber(a), { s } -> Uppercase(s) }\n'
                    'y = match r { { a } -> "${FormatNumber(a) with retry: 1}!", '
                    '{ s } -> s }\nout x\nout y\n')
    script = Path(sys.executable).parent / "cst"
    command = [str(script)] if script.exists() else [sys.executable, "-m",
                                                     "constellation.cli.main"]
    for schedule in ("layered", "eager"):
        proc = subprocess.run(
            [*command, "run", str(path), "--json", "--schedule", schedule,
             "--modules", str(EXAMPLES / "modules" / "demo.py"), "--input", 'r={"a": 98765}'],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "CONSTELLATION_TIME_SCALE": "0.01"})
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["outputs"] == {"x": "98,765", "y": "98,765!"}
        assert {n["name"]: n["status"] for n in result["nodes"]} == {
            "FormatNumber@2": "completed", "Uppercase@2": "skipped",
            "FormatNumber@3": "completed"}


def test_a_chosen_case_call_is_not_held_back_by_its_layer(execute):
    """Layered schedule: the case call (layer 2) starts as soon as its subject's call is done,
    while a slow eager call of layer 1 still runs (§10.2: demand-driven calls are not held)."""
    text = ('in t: String\n'
            'r = { s: Trim(t) }\n'
            'slow = SlowQuery(t)\n'
            'x = match r { { s } -> Uppercase(s) }\n'
            'out x\nout slow')
    result, events = completed(execute, text, {"t": " q "}, "layered")
    assert result.outputs == {"x": "Q", "slow": "Result for:  q "}
    started = {e["name"]: e["t_ms"] for e in node_events(events, "node_started")}
    done = {e["name"]: e["t_ms"] for e in node_events(events, "node_completed")}
    assert {n.name: n.layer for n in result.nodes}["Uppercase@4"] == 2
    assert done["Trim@2"] <= started["Uppercase@4"] < done["slow"]
