"""Runtime benchmark (issue 3 item 11). Prints a table; every figure has its baseline measured
in the same run.

    python benchmarks/runtime.py            # full: 100, 1,000 and 10,000 nodes
    python benchmarks/runtime.py --quick    # 100 and 1,000 nodes only

(a) per-node overhead with no-op modules — chains, wide layers and square grids, under both
    schedules — beside a hand-written anyio task group running the same DAG (target: at most
    1.5x); (b) examples/profile.cst: wall time vs the sum of the
    per-layer maxima; (c) layered vs eager on a 20x5 DAG with seeded random 1-20 ms latencies;
    (d) serial vs parallel on the same DAG; (e) bounded scheduling: a 250- and a 4,000-wide
    layer of no-op calls with max concurrency 16, beside anyio task groups whose calls share a
    16-slot `anyio.CapacityLimiter` (target: at most 2x); (f) memory held by a 10,000-node run
    (tracemalloc's peak while it runs) beside the anyio baseline's (target: at most 4x).

Each row shows the figure, its baseline measured in the same run, their ratio and the
target. Wall times are the best of several runs, the runtime's and the baseline's
interleaved, so that load from other processes falls on both alike; the note gives the
process CPU time too, and the table ends with the machine's load average.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import anyio

from constellation.compiler import analyze
from constellation.compiler import types as T
from constellation.compiler.registry import Function
from constellation.runtime import run_async
from constellation.runtime.limits import Scheduler
from constellation.runtime.modules import base_registry, load_config_registry

REPO = Path(__file__).resolve().parents[1]


# -- modules used by the benchmark ------------------------------------------------------------
async def noop(x: int) -> int:
    return x


async def work(a: int, b: int, ms: int) -> int:
    await anyio.sleep(ms / 1000)
    return (a + b) % 1000


def bench_registry():
    return base_registry().extend([
        Function("Noop", None, (("x", T.INT),), T.INT, impl=noop),
        Function("Work", None, (("a", T.INT), ("b", T.INT), ("ms", T.INT)), T.INT, impl=work),
    ])


# -- DAG shapes -----------------------------------------------------------------------------
def chain(n: int) -> tuple[str, list[list[int]]]:
    lines = ["in seed: Int", "x0 = Noop(seed)"]
    lines += [f"x{i} = Noop(x{i - 1})" for i in range(1, n)]
    lines.append(f"out x{n - 1}")
    return "\n".join(lines) + "\n", [[]] + [[i - 1] for i in range(1, n)]


def wide(n: int) -> tuple[str, list[list[int]]]:
    lines = ["in seed: Int"] + [f"x{i} = Noop(seed)" for i in range(n)] + [f"out x{n - 1}"]
    return "\n".join(lines) + "\n", [[] for _ in range(n)]


def grid(n: int) -> tuple[str, list[list[int]]]:
    """A side x side grid (100x100 at 10,000 nodes): each call reads one call of the layer
    below, its neighbour's."""
    side = max(2, round(math.sqrt(n)))
    lines = ["in seed: Int"] + [f"g0_{i} = Noop(seed)" for i in range(side)]
    deps: list[list[int]] = [[] for _ in range(side)]
    for k in range(1, side):
        for i in range(side):
            j = (i + 1) % side
            lines.append(f"g{k}_{i} = Noop(g{k - 1}_{j})")
            deps.append([(k - 1) * side + j])
    lines.append(f"out g{side - 1}_0")
    return "\n".join(lines) + "\n", deps


def layered_dag(width: int, depth: int, seed: int) -> str:
    """depth layers of width calls; each reads one random call of the layer below and
    sleeps a seeded random 1-20 ms."""
    rng = random.Random(seed)
    lines = ["in seed: Int"]
    for i in range(width):
        lines.append(f"n0_{i} = Work(seed, seed, {rng.randint(1, 20)})")
    for k in range(1, depth):
        for i in range(width):
            a = rng.randrange(width)
            lines.append(f"n{k}_{i} = Work(n{k - 1}_{a}, seed, {rng.randint(1, 20)})")
    lines += [f"out n{depth - 1}_{i}" for i in range(width)]
    return "\n".join(lines) + "\n"


async def baseline(deps: list[list[int]]) -> None:
    """The same DAG as a hand-written anyio task group: one task and one Event per node."""
    done = [anyio.Event() for _ in deps]
    values = [0] * len(deps)

    async def node(i: int) -> None:
        for d in deps[i]:
            await done[d].wait()
        values[i] = await noop(values[deps[i][0]] if deps[i] else 1)
        done[i].set()

    async with anyio.create_task_group() as tg:
        for i in range(len(deps)):
            tg.start_soon(node, i)


async def limited_baseline(n: int, slots: int) -> None:
    """n no-op calls in one task group, at most `slots` at once through anyio's limiter."""
    limiter = anyio.CapacityLimiter(slots)

    async def node() -> None:
        async with limiter:
            await noop(1)

    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(node)


def timed(fn, repeat: int = 1) -> float:
    """Best of `repeat` wall times in ms (the machine is shared: the minimum is the signal)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - t) * 1000)
    return best


def run_ms(analysis, inputs, repeat: int = 3, **options) -> tuple[float, object]:
    """Best wall time of the run itself (inside the loop, so loop start-up is not counted)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        holder = {}

        async def main():
            t = time.perf_counter()
            holder["result"] = await run_async(analysis, inputs, **options)
            holder["ms"] = (time.perf_counter() - t) * 1000

        anyio.run(main)
        if holder["ms"] < best:
            best, result = holder["ms"], holder["result"]
    return best, result


def baseline_ms(deps: list[list[int]], repeat: int = 3, body=None) -> float:
    best = float("inf")
    for _ in range(repeat):
        holder = {}

        async def main():
            t = time.perf_counter()
            await (body() if body is not None else baseline(deps))
            holder["ms"] = (time.perf_counter() - t) * 1000

        anyio.run(main)
        best = min(best, holder["ms"])
    return best


# -- sections -------------------------------------------------------------------------------
OVERHEAD_TARGET = 1.5  # issue 15: per-node cost at most 1.5x bare anyio, at any size
MEMORY_TARGET = 4.0  # issue 15: a 10,000-node run holds at most 4x the anyio baseline


def interleaved(measures: dict, repeat: int) -> dict:
    """Best of `repeat` rounds of each measure (a callable returning ms), interleaved."""
    best = {k: float("inf") for k in measures}
    for _ in range(repeat):
        for k, measure in measures.items():
            best[k] = min(best[k], measure())
    return best


def cpu_ms(body) -> float:
    holder = {}

    async def main():
        t = time.process_time()
        await body()
        holder["ms"] = (time.process_time() - t) * 1000

    anyio.run(main)
    return holder["ms"]


def overhead_rows(sizes: list[int], rounds: int = 5) -> list[list[str]]:
    registry = bench_registry()
    rows = []
    for shape in (chain, wide, grid):
        for n in sizes:
            text, deps = shape(n)
            holder = {}
            compile_ms = timed(lambda: holder.setdefault("a", analyze(text, registry)))
            analysis = holder["a"]
            assert analysis.valid, analysis.diagnostics[:3]
            plan = analysis.executable_plan
            for schedule in ("layered", "eager"):
                repeat = min(3, rounds) if n >= 10_000 else rounds
                best = interleaved({
                    "cst": lambda: run_ms(plan, {"seed": 1}, repeat=1, schedule=schedule,
                                          registry=registry)[0],
                    "base": lambda: baseline_ms(deps, repeat=1),
                    "cst_cpu": lambda: cpu_ms(lambda: run_async(
                        plan, {"seed": 1}, schedule=schedule, registry=registry)),
                    "base_cpu": lambda: cpu_ms(lambda: baseline(deps)),
                }, repeat)
                ratio = best["cst"] / best["base"]
                rows.append([
                    f"(a) {shape.__name__} {len(deps):,} {schedule}",
                    f"{best['cst'] * 1000 / len(deps):.1f} µs/node",
                    f"{best['base'] * 1000 / len(deps):.1f} µs/node", f"{ratio:.2f}x",
                    target(ratio, OVERHEAD_TARGET),
                    f"bare anyio; CPU {best['cst_cpu'] / best['base_cpu']:.2f}x; "
                    f"compile {compile_ms:.0f} ms"])
    return rows


def traced_peak_kb(body) -> float:
    """tracemalloc's peak while `body` runs, above what was held when it started."""
    holder = {}

    async def main():
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        await body()
        holder["kb"] = (tracemalloc.get_traced_memory()[1] - start) / 1024
        tracemalloc.stop()

    anyio.run(main)
    return holder["kb"]


def memory_rows(n: int = 10_000) -> list[list[str]]:
    registry = bench_registry()
    rows = []
    for shape in (chain, wide, grid):
        text, deps = shape(n)
        analysis = analyze(text, registry)
        plan = analysis.executable_plan
        for schedule in ("layered", "eager"):
            held = traced_peak_kb(lambda: run_async(plan, {"seed": 1}, schedule=schedule,
                                                    registry=registry))
            base = traced_peak_kb(lambda: baseline(deps))
            ratio = held / base
            rows.append([f"(f) memory, {shape.__name__} {len(deps):,} {schedule}",
                         f"{held / 1024:.1f} MB", f"{base / 1024:.1f} MB", f"{ratio:.2f}x",
                         target(ratio, MEMORY_TARGET), "bare anyio (tracemalloc peak)"])
    return rows


def profile_rows() -> list[list[str]]:
    path = REPO / "examples" / "profile.cst"
    registry, errors = load_config_registry(path)
    analysis = analyze(path.read_text(), registry)
    wall, result = run_ms(analysis, {}, use_examples=True)
    by_layer: dict[int, float] = {}
    for n in result.nodes:
        by_layer[n.layer] = max(by_layer.get(n.layer, 0.0), n.duration_ms or 0.0)
    maxima = sum(by_layer.values())
    sequential = sum(n.duration_ms or 0.0 for n in result.nodes)
    within = wall <= maxima * 1.05 + 5
    return [["(b) profile: wall vs Σ layer maxima", f"{result.duration_ms:.1f} ms",
             f"{maxima:.1f} ms", f"{result.duration_ms / maxima:.3f}x",
             f"≤ 5 % + 5 ms: {'within' if within else 'OUTSIDE'}",
             f"critical path; sequential sum {sequential:.0f} ms"]]


def schedule_rows(seed: int = 42) -> list[list[str]]:
    registry = bench_registry()
    analysis = analyze(layered_dag(20, 5, seed), registry)
    assert analysis.valid
    layered, r1 = run_ms(analysis, {"seed": 1}, schedule="layered")
    eager, r2 = run_ms(analysis, {"seed": 1}, schedule="eager")
    assert r1.outputs == r2.outputs
    serial, r3 = run_ms(analysis, {"seed": 1}, repeat=1, serial=True)
    assert r3.outputs == r1.outputs
    return [
        ["(c) 20x5 DAG: eager vs layered", f"{eager:.1f} ms", f"{layered:.1f} ms",
         f"{eager / layered:.2f}x", "-", f"eager {100 * (1 - eager / layered):.0f} % faster"],
        ["(d) 20x5 DAG: serial vs parallel", f"{serial:.1f} ms", f"{layered:.1f} ms",
         f"{serial / layered:.1f}x", "-", "serial runs the 100 calls one at a time"],
    ]


BOUNDED_TARGET = 2.0  # issue 15: a bounded layer costs at most 2x anyio's CapacityLimiter


def scheduler_baseline(n: int, slots: int) -> object:
    """The same n no-op calls through the runtime's Scheduler alone (its dispatcher and
    admission, none of the rest of the runtime): the scheduler's own share of a bounded run."""
    async def body() -> None:
        scheduler = Scheduler(slots)

        async def node(i: int) -> None:
            await scheduler.acquire(50, i)
            try:
                await noop(1)
            finally:
                scheduler.release()

        async with anyio.create_task_group() as tg:
            tg.start_soon(scheduler.run_dispatcher)
            async with anyio.create_task_group() as calls:
                for i in range(n):
                    calls.start_soon(node, i)
            tg.cancel_scope.cancel()
    return body


def bounded_rows(widths=(250, 4000), slots: int = 16, repeat: int = 5) -> list[list[str]]:
    """Each figure is the best of `repeat` runs, the runs of the four variants interleaved so
    that load from other processes falls on all of them alike."""
    registry = bench_registry()
    rows = []
    for n in widths:
        text, _ = wide(n)
        analysis = analyze(text, registry)
        assert analysis.valid
        best = {"cst": float("inf"), "unbounded": float("inf"), "limiter": float("inf"),
                "scheduler": float("inf")}
        for _ in range(repeat):
            cst_ms, result = run_ms(analysis, {"seed": 1}, repeat=1, max_concurrency=slots)
            assert result.status == "completed", result.errors
            best["cst"] = min(best["cst"], cst_ms)
            best["unbounded"] = min(best["unbounded"], run_ms(analysis, {"seed": 1}, repeat=1)[0])
            best["limiter"] = min(best["limiter"], baseline_ms(
                [], repeat=1, body=lambda: limited_baseline(n, slots)))
            best["scheduler"] = min(best["scheduler"], baseline_ms(
                [], repeat=1, body=scheduler_baseline(n, slots)))
        us = {k: v * 1000 / n for k, v in best.items()}
        ratio = best["cst"] / best["limiter"]
        rows.append([f"(e) bounded wide {n:,}, max {slots}", f"{us['cst']:.1f} µs/call",
                     f"{us['limiter']:.1f} µs/call", f"{ratio:.2f}x",
                     target(ratio, BOUNDED_TARGET),
                     f"anyio CapacityLimiter({slots}); Scheduler alone "
                     f"{us['scheduler']:.1f}, cst unbounded {us['unbounded']:.1f} µs/call"])
    return rows


def target(ratio: float, limit: float) -> str:
    return f"≤ {limit:g}x: {'within' if ratio <= limit else 'OUTSIDE'}"


def print_table(rows: list[list[str]]) -> None:
    headers = ["case", "figure", "baseline", "ratio", "target", "note"]
    widths = [max(len(r[i]) for r in rows + [headers]) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--quick", action="store_true",
                        help="skip the 10,000-node cases; one round of each measure")
    args = parser.parse_args(argv)
    sizes = [100, 1000] if args.quick else [100, 1000, 10_000]
    rounds = 1 if args.quick else 5
    rows = overhead_rows(sizes, rounds) + profile_rows() + schedule_rows() \
        + bounded_rows(repeat=rounds) + memory_rows(sizes[-1])
    print_table(rows)
    print(f"\nload average during the run (1, 5, 15 min): "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (whole benchmark process): {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
