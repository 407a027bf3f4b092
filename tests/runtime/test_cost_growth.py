"""A run's cost grows with its work (issue 15): the per-node cost of a 10,000-node run stays
close to that of a 1,000-node run, for chains and wide layers under both schedules. Ratios of
CPU time measured in this run (CPU, not wall time: other processes on the machine take the
processor from both sizes alike, but would make a wall-time ratio noise)."""

from __future__ import annotations

import time

import anyio
import pytest

from constellation.compiler import types as T
from constellation.compiler.registry import Function

# 10,000 nodes may cost at most 2x per node what 1,000 do. Before issue 15 every call's task was
# started at run start and the cost grew 2.4x; on a quiet machine it is now 1.0-1.2x, and a
# shared machine's cache contention has been seen to push the wide layered case to 1.74x.
GROWTH_LIMIT = 2.0


async def noop(x: int) -> int:
    return x


def shape_text(shape: str, n: int) -> str:
    if shape == "chain":
        lines = ["in seed: Int", "x0 = Noop(seed)"] + [f"x{i} = Noop(x{i - 1})"
                                                       for i in range(1, n)]
    else:
        lines = ["in seed: Int"] + [f"x{i} = Noop(seed)" for i in range(n)]
    return "\n".join(lines + [f"out x{n - 1}"]) + "\n"


def per_node_cpu_us(plan, registry, n: int, schedule: str) -> float:
    from constellation.runtime import run_async

    holder = {}

    async def main():
        t = time.process_time()
        result = await run_async(plan, {"seed": 1}, schedule=schedule, registry=registry)
        holder["s"] = time.process_time() - t
        assert result.status == "completed"

    anyio.run(main)
    return holder["s"] * 1e6 / n


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["layered", "eager"])
@pytest.mark.parametrize("shape", ["chain", "wide"])
def test_per_node_cost_at_10000_nodes_stays_close_to_that_at_1000(shape, schedule):
    from constellation.compiler import analyze
    from constellation.runtime.modules import base_registry

    registry = base_registry().extend([Function("Noop", None, (("x", T.INT),), T.INT,
                                                impl=noop)])
    plans = {n: analyze(shape_text(shape, n), registry).executable_plan for n in (1000, 10_000)}
    best = {n: float("inf") for n in plans}
    for _ in range(3):  # interleaved, best of 3: what load remains falls on both sizes
        for n, plan in plans.items():
            best[n] = min(best[n], per_node_cpu_us(plan, registry, n, schedule))
    growth = best[10_000] / best[1000]
    assert growth <= GROWTH_LIMIT, (
        f"{shape} {schedule}: {best[10_000]:.1f} µs/node at 10,000 nodes vs "
        f"{best[1000]:.1f} at 1,000 ({growth:.2f}x)")
