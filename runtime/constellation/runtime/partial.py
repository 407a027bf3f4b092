"""Partial runs (issue 17 items 3, 4): a plan subset, and calls settled before the run.

Both work on the executable Plan (docs/plan.md). `subset(plan, keep, outputs)` keeps the
plan's nodes but starts only the calls in `keep`: the others become demand-driven, so nothing
asks for them and they end `skipped` / "not demanded", and the outputs are the given ones.
`Settled` answers calls from known values (a record's, for `--resume` and `--from`) instead of
running them: a step of the call's chain (steps.SETTLED), inside the tap, so that the record
of a resumed run holds the reused values too, and a value recorded with its arguments' hash
and module version is reused only for a call with the same (which only the call's evaluated
arguments can tell).
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field

from constellation.compiler.plan import Plan
from constellation.runtime import identity, steps
from constellation.runtime.inputs import plan_of


class PartialRunError(Exception):
    """A target or a starting point that cannot be used; str() is the sentence."""


def upstream(plan: Plan, ids: set[int]) -> set[int]:
    """`ids` and every node they read, directly or not."""
    seen, todo = set(), list(ids)
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(plan.nodes[n].deps)
    return seen


def downstream(plan: Plan, ids: set[int]) -> set[int]:
    """`ids` and every node that reads one of them, directly or not."""
    readers: dict[int, list[int]] = {}
    for node in plan.nodes:
        for d in node.deps:
            readers.setdefault(d, []).append(node.id)
    seen, todo = set(), list(ids)
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(readers.get(n, ()))
    return seen


def binding_ids(plan: Plan, names: list[str], what: str) -> set[int]:
    ids = set()
    for name in names:
        if name not in plan.bindings:
            from constellation.compiler.suggest import closest_word

            close = closest_word(name, list(plan.bindings))
            hint = f" (did you mean '{close}'?)" if close else ""
            raise PartialRunError(f"{what} {name}: the pipeline has no binding '{name}'{hint}")
        ids.add(plan.bindings[name])
    return ids


def subset(plan: Plan, keep: set[int], outputs: list[str]) -> Plan:
    """The plan, starting only the calls in `keep`, with `outputs`."""
    nodes = [n if n.id in keep or n.kind != "module" or n.demand_driven
             else dataclasses.replace(n, demand_driven=True) for n in plan.nodes]
    return dataclasses.replace(plan, nodes=nodes, outputs=list(outputs))


def targets_subset(program, targets: list[str]) -> Plan:
    """`--target NAME...`: what the named bindings need, with them as the outputs."""
    plan = plan_of(program)
    return subset(plan, upstream(plan, binding_ids(plan, targets, "--target")),
                  list(dict.fromkeys(targets)))


@dataclass
class Settled:
    """Node values known before the run. With `conditions`, a node's value is used only for a
    call with the same arguments and module code version as when it was recorded."""

    values: dict[int, object]
    conditions: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)
    used: int = 0

    def lookup(self, c) -> tuple[bool, object]:
        st = c.st
        if st is None or st.node.id not in self.values:
            return False, None
        condition = self.conditions.get(st.node.id)
        if condition is not None:
            args_hash, version = condition
            if args_hash != identity.args_hash(c.args) or version != identity.code_version(c.fn):
                return False, None
        self.used += 1
        return True, self.values[st.node.id]


@contextlib.contextmanager
def settling(settled: Settled | None):
    token = steps.SETTLED.set(settled)
    try:
        yield
    finally:
        steps.SETTLED.reset(token)


def resume_values(detail: dict) -> Settled:
    """What a run's record (reader.run_detail) lets a resumed run reuse: every call that
    completed, for a call with the same arguments and module code version."""
    return Settled({c["node"]: c["value"] for c in detail["calls"]
                    if c["status"] == "completed" and c["has_value"]},
                   {c["node"]: (c["args_hash"], c["code_version"]) for c in detail["calls"]})
