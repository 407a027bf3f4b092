"""Calls in `match` case bodies in the plan (LANGUAGE.md §9.1, §9.2): a pattern binding has the
layer of its match's subject, and a call that reads one (directly, through other calls of the
body, through a lambda's capture or through its fallback) is a demand-driven node that names
the bindings it needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler_support import analyze_program

REPO = Path(__file__).resolve().parents[2]


def plan_of(text: str):
    a = analyze_program(text)
    assert a.valid, [(d.code, d.message) for d in a.diagnostics]
    return a


def calls(a) -> dict[str, tuple[int, bool, tuple[str, ...]]]:
    """label -> (layer, demand-driven, pattern bindings) of every call node."""
    return {n.label: (n.layer, n.demand_driven, n.pattern_bindings)
            for n in a.plan.nodes if n.kind == "module"}


def test_the_issue_example_is_a_demand_driven_layer_1_call():
    a = plan_of("in r: { a: Int }\nx = match r { { a } -> FormatNumber(a) }\nout x\n")
    assert calls(a) == {"FormatNumber@2": (1, True, ("a",))}
    assert a.plan.nodes[a.plan.bindings["x"]].layer == 1
    (node,) = [n for n in a.plan.nodes if n.kind == "module"]
    assert node.deps == [a.plan.bindings["r"]]  # it reads r through the pattern binding


SUBJECT = "in t: String\nin n: Int\nin xs: List<Int>\nr = { a: TextLength(t), s: Trim(t) }\n"


@pytest.mark.parametrize("body,expected", [
    # a pattern binding has the layer of the subject (1): the call is layer 2
    ("FormatNumber(a)", {"FormatNumber@5": (2, True, ("a",))}),
    ('"${FormatNumber(a)}/${Uppercase(t)}"',
     {"FormatNumber@5": (2, True, ("a",)), "Uppercase@5": (1, False, ())}),
    ("FormatNumber(a) with retry: 2, timeout: 1s", {"FormatNumber@5": (2, True, ("a",))}),
    ("Uppercase(Replace(s, t, FormatNumber(a)))",
     {"Uppercase@5": (4, True, ("a", "s")), "Replace@5": (3, True, ("a", "s")),
      "FormatNumber@5": (2, True, ("a",))}),
    # the owner reads no binding but its fallback does: it runs with the case's bindings
    ("AlwaysFailsService(t) with fallback: Uppercase(s)",
     {"AlwaysFailsService@5": (1, True, ("s",)), "Uppercase@5": (2, True, ("s",))}),
    ("AlwaysFailsService(s) with fallback: FormatNumber(n)",
     {"AlwaysFailsService@5": (2, True, ("s",)), "FormatNumber@5": (1, True, ())}),
    # a lambda counts as the subject of the binding it captures; the calls in it are no nodes
    ("map(xs, (v) => FormatNumber(v + a))", {"map@5": (2, True, ("a",))}),
    ("map(xs, (v) => FormatNumber(v + n))", {"map@5": (1, False, ())}),
    ('(FormatNumber(a) when a > 0) ?? "-"', {"FormatNumber@5": (2, True, ("a",))}),
    # nested: the inner subject reads the outer binding, so the inner bindings are layer 1
    ('match { b: s } { { b } -> Replace(b, s, FormatNumber(a)) }',
     {"Replace@5": (3, True, ("a", "s", "b")), "FormatNumber@5": (2, True, ("a",))}),
    ('match { b: Trim(s) } { { b } -> Uppercase(b) }',
     {"Trim@5": (2, True, ("s",)), "Uppercase@5": (3, True, ("b",))}),
])
def test_layers_and_demand_of_case_body_calls(body, expected):
    a = plan_of(SUBJECT + f"x = match r {{ {{ a, s }} -> {body} }}\nout x\n")
    got = calls(a)
    assert got.pop("TextLength@4") == (1, False, ()) and got.pop("Trim@4") == (1, False, ())
    assert got == expected
    # the binding's layer is its deepest call's, calls in fallbacks not counted
    owned = [n.layer for n in a.plan.nodes if n.kind == "module" and n.fallback_owner is None
             and n.label in expected]
    assert a.plan.nodes[a.plan.bindings["x"]].layer == max(owned)


def test_a_match_inside_an_argument_leaves_the_outer_call_eager():
    a = plan_of(SUBJECT + "x = Uppercase(match r { { s } -> Trim(s) })\n"
                          "y = match r { { s } -> Lowercase(match r { { a } -> s }) }\nout x\nout y\n")
    got = calls(a)
    assert got["x"] == (3, False, ())  # the binding it reads is bound inside its argument
    assert got["Trim@5"] == (2, True, ("s",))
    assert got["Lowercase@6"] == (2, True, ("s",))  # reads the outer s, not the inner a
    assert a.plan.width == 2 and a.plan.depth == 3


def test_cst_layers_shows_the_plan_layers(tmp_path):
    path = tmp_path / "m.cst"
    path.write_text("in r: { a: Int }\ns = Trim(\"x\")\n"
                    "x = match r { { a } -> FormatNumber(a) }\n"
                    "y = match { q: s } { { q } -> Uppercase(q) }\nout x\nout y\n")
    (tmp_path / "constellation.toml").write_text(
        f'modules = [{json.dumps(str(REPO / "examples" / "modules" / "demo.py"))}]\n')
    script = Path(sys.executable).parent / "cst"
    command = [str(script)] if script.exists() else [sys.executable, "-m",
                                                     "constellation.cli.main"]
    proc = subprocess.run([*command, "layers", str(path), "--json"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    shown = {n["name"]: layer["layer"] for layer in json.loads(proc.stdout)["layers"]
             for n in layer["nodes"]}
    assert shown == {"r": 0, "s": 1, "FormatNumber@3": 1, "x": 1, "Uppercase@4": 2, "y": 2}


def test_cst_layers_says_a_case_call_runs_when_its_case_is_chosen(tmp_path):
    path = tmp_path / "m.cst"
    path.write_text("in r: { a: Int }\nx = match r { { a } -> FormatNumber(a) }\nout x\n")
    (tmp_path / "constellation.toml").write_text(
        f'modules = [{json.dumps(str(REPO / "examples" / "modules" / "demo.py"))}]\n')
    script = Path(sys.executable).parent / "cst"
    command = [str(script)] if script.exists() else [sys.executable, "-m",
                                                     "constellation.cli.main"]
    proc = subprocess.run([*command, "layers", str(path)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "when its case is chosen" in proc.stdout
    assert "lazy, on demand" not in proc.stdout
    assert "lazy, fallback, or in a match case" in proc.stdout
