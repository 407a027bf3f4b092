"""The Plan is the runtime's whole contract (issue 15): a plan written with pickle or as JSON
and read back in a fresh `python` process — one that never saw the source and never loads
the compiler's front end — runs with the same events as the run in this process."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import pytest

from runtime_helpers import EXAMPLES, compile_program

PROGRAMS = {
    "lazy and branch": (EXAMPLES / "triage.cst").read_text(),
    "retry, fallback, cache, on_error": (EXAMPLES / "resilient-search.cst").read_text(),
    "match-case calls": (
        "in r: { a: Int, s: String } | { n: Int }\n"
        "x = match r {\n  { a, s } -> Replace(Trim(s), \"i\", FormatNumber(a)),\n"
        "  { n } -> FormatNumber(n) with fallback: \"none\"\n}\n"
        "y = map(Split(\"a,b\", \",\"), (w) => Uppercase(w))\n"
        "out x\nout y\n"),
    "fallback calls and arithmetic": (
        "in n: Int\nin s: String\n"
        "bad = AlwaysFailsService(s) with fallback: Uppercase(Trim(s))\n"
        "k = n * 2 + TextLength(bad)\nrec = { k: k, words: Split(bad, \" \"), half: n / 2 }\n"
        "first = (rec.k when n > 100) ?? -1\nout rec\nout first\n"),
}
INPUTS = {
    "lazy and branch": {},
    "retry, fallback, cache, on_error": {},
    "match-case calls": {"r": {"a": 1234, "s": "  hi "}},
    "fallback calls and arithmetic": {"n": 21, "s": "  two words "},
}
TIMINGS = ("t_ms", "duration_ms", "started_at")  # started_at: the wall clock

CHILD = r"""
import json, pickle, sys
from pathlib import Path
from constellation.compiler.plan_json import plan_from_json
from constellation.runtime import run
from constellation.runtime.modules import load_registry

kind, path, inputs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
data = Path(path).read_bytes()
plan = pickle.loads(data) if kind == "pickle" else plan_from_json(json.loads(data))
registry = load_registry(["modules/demo.py"], sys.argv[4])
events = []
run(plan, inputs, use_examples=True, on_event=events.append, registry=registry)
front_end = sorted(m for m in sys.modules if m.split(".")[-1] in
                   ("lexer", "parser", "checker", "analysis", "lowering")
                   and m.startswith("constellation."))
print(json.dumps({"events": events, "front_end": front_end}))
"""


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def same_events(a: list[dict], b: list[dict]) -> bool:
    """Equal modulo timings: the same events, and each node's in the same order (events of
    concurrent nodes interleave as their timings fall)."""
    def canonical(events):
        lines = [json.dumps(without_timings(e), sort_keys=True) for e in events]
        per_node: dict = {}
        for e, line in zip(events, lines):
            key = ("node", e["node"]) if "node" in e else ("layer", e.get("layer"))
            per_node.setdefault(key, []).append(line)
        return sorted(lines), per_node
    return canonical(a) == canonical(b)


def in_process(plan, inputs, registry) -> list[dict]:
    from constellation.runtime import run
    from constellation.runtime.limits import reset_shared_state
    from runtime_helpers import reset_demo_counters

    reset_shared_state()
    reset_demo_counters(registry)
    events: list[dict] = []
    run(plan, inputs, use_examples=True, on_event=events.append, registry=registry)
    return events


def in_fresh_process(kind: str, path, inputs) -> dict:
    env = {**os.environ, "CONSTELLATION_TIME_SCALE": "0.1"}
    done = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), json.dumps(inputs),
                           str(EXAMPLES)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", list(PROGRAMS))
@pytest.mark.parametrize("kind", ["pickle", "json"])
def test_a_plan_read_back_in_a_fresh_process_runs_with_the_same_events(name, kind, tmp_path,
                                                                      base_registry):
    from constellation.compiler.plan_json import plan_from_json, plan_to_json

    plan = compile_program(PROGRAMS[name], base_registry).executable_plan
    path = tmp_path / f"plan.{kind}"
    if kind == "pickle":
        path.write_bytes(pickle.dumps(plan))
    else:
        text = json.dumps(plan_to_json(plan))
        path.write_text(text)
        # JSON → plan → JSON is the identity: nothing is lost on the way
        assert plan_to_json(plan_from_json(json.loads(text))) == json.loads(text)
    here = in_process(plan, INPUTS[name], base_registry)
    there = in_fresh_process(kind, path, INPUTS[name])
    assert there["front_end"] == []
    assert same_events(there["events"], here), (here, there["events"])
    assert [e["event"] for e in there["events"]][::len(here) - 1] == ["run_started",
                                                                    "run_completed"]
    assert here[-1]["event"] == "run_completed" and here[-1]["outputs"]


def test_a_plan_built_against_another_signature_is_rejected_with_a_sentence(base_registry):
    from constellation.compiler import types as T
    from constellation.compiler.registry import Function, Registry
    from constellation.runtime import RunRejected, run

    plan = compile_program('x = Uppercase("a")\nout x', base_registry).executable_plan
    changed = Registry(list(base_registry.functions)).extend(
        [Function("Uppercase", None, (("n", T.INT),), T.STRING, impl=lambda n: str(n))])
    with pytest.raises(RunRejected) as rejected:
        run(plan, {}, registry=changed)
    assert rejected.value.errors[0]["message"] == (
        "The plan was built against Uppercase(text: String) -> String, but the loaded module "
        "declares Uppercase(n: Int) -> String: rebuild the plan")


def test_a_document_that_is_not_a_plan_is_refused_with_a_sentence():
    from constellation.compiler.plan_json import PlanFormatError, plan_from_json

    with pytest.raises(PlanFormatError, match="not a constellation-plan/1 document "
                                              r"\(its format is 'constellation-plan/0'\)"):
        plan_from_json({"format": "constellation-plan/0"})


def test_the_plan_of_a_program_with_errors_is_rejected_with_a_sentence(base_registry):
    from constellation.compiler import analyze
    from constellation.runtime import RunRejected, run

    plan = analyze('x = Uppercas("a")\nout x', base_registry).executable_plan
    with pytest.raises(RunRejected) as rejected:
        run(plan, {}, registry=base_registry)
    assert rejected.value.errors == [{
        "message": "The plan calls a function its program did not resolve: fix the program's "
                   "errors (cst check) and build the plan again", "line": 1, "column": 5}]
