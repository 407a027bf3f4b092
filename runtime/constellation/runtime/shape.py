"""What every run of a Plan needs to know of the plan's shape, worked out once per Plan.

A run's set-up reads the plan, not the run: which nodes are calls, the start order of each
layer's calls (layer, then source position), which calls each call waits for through the value
nodes its arguments read, who a call's settling unblocks, which calls start at once, and each
call's static report fields. `shape_of(plan)` works it out on the first run and keeps it on the
plan (a lowered plan is never changed: partial runs and the quick path make new plans), so a
program run again and again pays for it once. What depends on the run is worked out per run
with the same functions: a seed's shuffled order, and the waits of a run whose calls start
settled (partial.py).
"""

from __future__ import annotations

import random
from typing import Collection

_ATTRIBUTE = "_constellation_shape"  # where a plan keeps its shape (an instance attribute)


class Starts:
    """When each call that runs unasked starts (core.Run): `blockers[i]`, how many calls call
    i waits for (eager: it starts when they have settled); `readers[j]`, the calls that wait
    for call j, in start order; `at_once`, the calls that start when the run does under the
    layered and under the eager schedule (a call whose arguments demand a lazy or fallback
    call starts at once: that call starts when first demanded, §10.2)."""

    __slots__ = ("blockers", "readers", "layered", "eager")

    def __init__(self, plan, order: dict[int, tuple[int, ...]], settled: Collection[int]):
        reads = _calls_read(plan, settled)
        self.blockers: dict[int, int] = {}
        self.readers: dict[int, list[int]] = {}
        self.layered: list[int] = []
        self.eager: list[int] = []
        for ids in order.values():
            for i in ids:
                if i in settled:
                    continue
                blockers, demands = reads(i)
                if blockers:
                    self.blockers[i] = len(blockers)
                for b in blockers:
                    self.readers.setdefault(b, []).append(i)
                if demands:
                    self.layered.append(i)
                if demands or not blockers:
                    self.eager.append(i)

    def at_once(self, layered: bool) -> list[int]:
        return self.layered if layered else self.eager


class PlanShape:
    """`calls`: the call nodes; `depth`: the deepest call's layer; `rank`: each call's place in
    the start order; `order[k]`: layer k's calls that run unasked (not demand-driven), in that
    order; `starts`: their Starts when no call starts settled; `reports`: each call's static
    report fields (node id, label, layer, module, line)."""

    __slots__ = ("calls", "depth", "rank", "order", "starts", "reports")

    def __init__(self, plan):
        self.calls = tuple(n for n in plan.nodes if n.kind == "module")
        self.depth = max((n.layer for n in self.calls), default=0)
        self.rank = start_ranks(self.calls, None)
        self.order = layer_order(self.calls, self.rank)
        self.starts = Starts(plan, self.order, ())
        functions = plan.functions
        self.reports = tuple(
            (n.id, n.label, n.layer,
             functions[n.fn].qualified if n.fn is not None and n.fn >= 0 else None, n.line)
            for n in self.calls)


def shape_of(plan) -> PlanShape:
    shape = plan.__dict__.get(_ATTRIBUTE)
    if shape is None:
        shape = PlanShape(plan)
        setattr(plan, _ATTRIBUTE, shape)
    return shape


def start_ranks(calls, seed: int | None) -> dict[int, int]:
    """Start order of call nodes: layer, then source position, shuffled per layer when a seed
    is given (§ issue 3 item 6)."""
    rng = random.Random(seed) if seed is not None else None
    by_layer: dict[int, list] = {}
    for n in calls:
        by_layer.setdefault(n.layer, []).append(n)
    ranked: list = []
    for k in sorted(by_layer):
        layer = sorted(by_layer[k], key=lambda n: n.span.start)
        if rng is not None:
            rng.shuffle(layer)
        ranked += layer
    return {n.id: i for i, n in enumerate(ranked)}


def layer_order(calls, rank: dict[int, int]) -> dict[int, tuple[int, ...]]:
    """Each layer's calls that start with it (not demand-driven), in rank order."""
    order: dict[int, list[int]] = {}
    for n in sorted(calls, key=lambda n: rank[n.id]):
        if not n.demand_driven:
            order.setdefault(n.layer, []).append(n.id)
    return {k: tuple(ids) for k, ids in order.items()}


def _calls_read(plan, settled: Collection[int]):
    """reads(node) -> (the calls it waits for through the value nodes it reads, whether it
    demands a lazy or fallback call); a call in `settled` is known before the run and is
    waited for by nobody."""
    nodes = plan.nodes
    memo: dict[int, tuple[frozenset[int], bool]] = {}

    def reads(node_id: int) -> tuple[frozenset[int], bool]:
        stack = [node_id]  # memoised and iterative: chains of thousands of values
        while stack:
            i = stack[-1]
            if i in memo:
                stack.pop()
                continue
            pending = [d for d in nodes[i].deps if d not in memo and nodes[d].kind != "module"]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            found: set[int] = set()
            demands = False
            for d in nodes[i].deps:
                if nodes[d].kind != "module":
                    found |= memo[d][0]
                    demands = demands or memo[d][1]
                elif d in settled:
                    pass  # known before the run (start_settled): nothing to wait for
                elif nodes[d].demand_driven:
                    demands = True  # started by its reader's demand
                else:
                    found.add(d)
            memo[i] = (frozenset(found), demands)
        return memo[node_id]

    return reads
