"""`Analysis.layer_of`: a node has a layer only where it can run (issue 13, item 8). The plan
numbers every node, also those on a cycle or reading an unresolved call; the views (editor,
`cst layers`) read `layer_of`, which gives None for those."""

from __future__ import annotations

import pytest

from compiler_support import analyze_program, corpus_dir
from corpus_support import valid_corpus_cases


def layers_by_name(analysis) -> dict[str, int | None]:
    return {name: analysis.layer_of(analysis.plan.nodes[i])
            for name, i in analysis.plan.bindings.items()}


def test_a_cycle_and_what_reads_it_have_no_layer():
    a = analyze_program("in s: String\na = Trim(b)\nb = Uppercase(a)\nc = Lowercase(b)\n"
                        "d = Trim(s)\nout c\nout d\n")
    assert layers_by_name(a) == {"s": 0, "a": None, "b": None, "c": None, "d": 1}
    assert a.plan.depth == 2  # what the plan numbered ...
    assert a.depth == 1  # ... and the deepest layer that exists


def test_what_reads_an_unresolved_call_has_no_layer():
    a = analyze_program('in s: String\na = Nope(s)\nb = Uppercase(a)\nc = "${b}!"\n'
                        "d = Trim(s)\ne = Trim(Uppercase(s))\nf = Trim(s) with fallback: Nope(s)\n"
                        "out c\nout d\nout e\nout f\n")
    assert layers_by_name(a) == {"s": 0, "a": None, "b": None, "c": None, "d": 1, "e": 2, "f": 1}
    fallback = next(n for n in a.plan.nodes if n.fallback_owner is not None)
    assert a.layer_of(fallback) is None
    assert a.depth == 2


def test_a_fallback_of_a_call_without_a_layer_has_none():
    a = analyze_program("in s: String\na = Trim(b)\nb = Uppercase(a) with fallback: Trim(s)\n"
                        "out a\n")
    assert all(a.layer_of(n) is None for n in a.plan.nodes if n.kind == "module")


def test_a_long_cycle_has_no_layer():
    n = 5000
    text = "".join(f"v{i} = Trim(v{(i + 1) % n})\n" for i in range(n)) + "out v0\n"
    a = analyze_program(text)
    assert all(a.layer_of(node) is None for node in a.plan.nodes)
    assert a.depth == 0


@pytest.mark.parametrize("entry", valid_corpus_cases())
def test_every_node_of_a_valid_program_keeps_its_layer(entry):
    a = analyze_program((corpus_dir() / entry["path"]).read_text(encoding="utf-8"), entry["needs"])
    assert [a.layer_of(n) for n in a.plan.nodes] == [n.layer for n in a.plan.nodes]
    assert a.depth == a.plan.depth
