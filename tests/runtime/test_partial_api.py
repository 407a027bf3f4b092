"""The Python API of partial runs: `run(analysis, inputs, targets=[...], settled={node: v})`."""

from __future__ import annotations

from constellation.compiler import analyze
from constellation.compiler import types as T
from constellation.compiler.registry import Function
from constellation.runtime import run
from constellation.runtime.modules import base_registry

CALLS: list[str] = []


async def twice(x: int) -> int:
    CALLS.append(f"twice({x})")
    return x * 2


def program():
    registry = base_registry().extend([Function("Twice", None, (("x", T.INT),), T.INT,
                                                impl=twice)])
    return analyze("in n: Int\na = Twice(n)\nb = Twice(a)\nc = Twice(n)\nout b\nout c\n",
                   registry)


def test_targets_run_only_what_they_need():
    CALLS.clear()
    result = run(program(), {"n": 1}, targets=["a"])
    assert result.status == "completed" and result.outputs == {"a": 2}
    assert CALLS == ["twice(1)"]
    assert {n.name: n.status for n in result.nodes} == {
        "a": "completed", "b": "skipped", "c": "skipped"}


def test_settled_nodes_are_not_called():
    analysis = program()
    a = analysis.plan.bindings["a"]
    CALLS.clear()
    result = run(analysis, {"n": 1}, settled={a: 50})
    assert result.outputs == {"b": 100, "c": 2}
    assert sorted(CALLS) == ["twice(1)", "twice(50)"]
    assert next(n for n in result.nodes if n.name == "a").attempts == 0
