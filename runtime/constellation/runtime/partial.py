"""Partial runs (issue 17 items 3, 4): a plan subset, and calls settled before the run.

Both work on the executable Plan (docs/plan.md). `subset(plan, keep, outputs)` keeps the
plan's nodes but starts only the calls in `keep`: the others become demand-driven, so nothing
asks for them and they end `skipped` / "not demanded", and the outputs are the given ones.
`Reuse` says which calls take their values from a run's record (`--resume`, `--from`); the
run starts them settled (core.Run.start_settled): no task, no attempt, whatever their number.

What `--resume` reuses is decided before the run, from the plan: a call that completed in the
record is reused when its module's code version is the recorded one and nothing it reads,
directly or not, runs again (no input whose value changed, no call that is not reused). With
the same plan (the record's plan hash is checked first) an argument expression gives what it
gave then, so the arguments are the recorded ones without evaluating them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from constellation.compiler.plan import Plan
from constellation.runtime import identity
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
class Reuse:
    """Calls of run `run_id`'s record (reader.reusable_calls's, by node) that a run may take
    instead of calling them. `inputs`: the record's inputs, for `--resume`'s checks; `check`
    False (`--from`): every given call is taken as it is."""

    run_id: int
    calls: dict[int, dict]
    inputs: dict | None = None
    check: bool = True

    def known(self, plan: Plan, inputs: dict, functions: list) -> dict[int, object]:
        """node -> value of the calls the run starts settled (`functions`: the run's Function
        of each plan function, whose code versions are compared)."""
        if not self.check:
            return {n: c["value"] for n, c in self.calls.items()}
        if self.inputs is None:  # a record without its inputs (schema 1) proves nothing
            return {}
        versions: dict[int, str] = {}
        reusable = {}
        for node in plan.nodes:
            c = self.calls.get(node.id)
            if node.kind != "module" or c is None or c["status"] != "completed" \
                    or not c["has_value"]:
                continue
            if node.fn not in versions:
                versions[node.fn] = identity.code_version(functions[node.fn])
            if c["code_version"] == versions[node.fn]:
                reusable[node.id] = c["value"]
        changed = {plan.bindings[name] for name in plan.inputs
                   if name not in self.inputs or inputs.get(name) != self.inputs[name]}
        rerun = {n.id for n in plan.nodes if n.kind == "module" and not n.demand_driven
                 and n.id not in reusable}
        tainted = downstream(plan, changed | rerun)
        return {n: v for n, v in reusable.items() if n not in tainted}


def resume_values(head: dict, calls: dict[int, dict]) -> Reuse:
    """What a run's record (reader.run_head, reader.reusable_calls) lets a resumed run reuse
    (Reuse.known)."""
    return Reuse(head["id"], calls, head.get("inputs"))

