"""Dask executor benchmark (issue 6 item 4): what a module call costs through Dask compared
with the local executor, measured in the same run on the same programs. Prints a table.

    python benchmarks/dask.py            # N = 200 fan-out calls, chains of 20
    python benchmarks/dask.py --quick    # N = 50, chains of 10

One LocalCluster (2 worker processes, 4 threads each) serves every Dask run; each run opens
its own client, as `cst run` does. Rows:
  chain      K dependent calls (each waits for the previous): latency per call
  fan-out    N independent calls in one layer: cost per call when calls overlap
  map        N calls made by `map` over a list (inside a lambda): the same, from a lambda
  batched    the same N items handed to ONE call taking the whole list
  wait       N async calls that each sleep 20 ms (I/O-bound work)
  cpu        N/2 sync calls that each burn 20 ms of CPU: where worker processes pay off
  startup    opening a client and shipping the modules (per run), and a LocalCluster start
Then the issue 15 targets, each beside its baseline on the same client in the same run (the
run's set-up, connecting and shipping modules, is outside both):
  fan-out    N calls of one layer  vs  N direct `client.submit` + one `client.gather`
  chain      K dependent calls     vs  K `client.submit`s each taking the previous future
The modules are sync and async no-ops written to a module file, the way users' packs reach
workers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and this file, dask.py, would
# shadow the `dask` package that distributed imports: take the folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import anyio  # noqa: E402

from constellation.compiler import analyze  # noqa: E402
from constellation.runtime import run_async  # noqa: E402
from constellation.runtime.modules import load_registry  # noqa: E402

MODULES = '''
import anyio

from constellation.runtime import module


@module
def Echo(x: int) -> int:
    return x


@module
async def AsyncEcho(x: int) -> int:
    return x


@module
def EchoAll(xs: list[int]) -> list[int]:
    return xs


@module
async def Work(x: int) -> int:
    await anyio.sleep(0.02)
    return x


@module
def Burn(x: int) -> int:
    """20 ms of pure-Python CPU work (holds the GIL)."""
    import time
    end = time.thread_time() + 0.02
    while time.thread_time() < end:
        x = (x * 31 + 7) % 1000003
    return x
'''


# -- programs -----------------------------------------------------------------------------------
def chain(k: int, fn: str = "Echo") -> str:
    lines = [f"x0 = {fn}(0)"] + [f"x{i} = {fn}(x{i - 1})" for i in range(1, k)]
    return "\n".join(lines) + f"\nout x{k - 1}\n"


def fan_out(n: int, fn: str = "Echo") -> str:
    lines = [f"x{i} = {fn}({i})" for i in range(n)]
    return "\n".join(lines) + "\n" + "\n".join(f"out x{i}" for i in range(n)) + "\n"


def mapped(n: int) -> str:
    return f"xs = [{', '.join(str(i) for i in range(n))}]\nys = map(xs, (x) => Echo(x))\nout ys\n"


def batched(n: int) -> str:
    return f"xs = [{', '.join(str(i) for i in range(n))}]\nys = EchoAll(xs)\nout ys\n"


# -- measuring ----------------------------------------------------------------------------------
async def timed_run(analysis, **options) -> float:
    t0 = time.perf_counter()
    result = await run_async(analysis, {}, **options)
    elapsed = time.perf_counter() - t0
    if result.status != "completed":
        sys.exit(f"benchmark program failed: {result.errors}")
    return elapsed


async def median_s(analysis, repeats: int, **options) -> float:
    await timed_run(analysis, **options)  # warm-up: imports, connections
    return statistics.median([await timed_run(analysis, **options) for _ in range(repeats)])


async def open_only(address: str, analysis) -> float:
    """A Dask run's fixed cost: connect, ship and check the modules, close."""
    from constellation.runtime.api import prepare
    from constellation.runtime.dask_backend import open_backend

    run = prepare(analysis, {}, executor="dask", dask_address=address)
    t0 = time.perf_counter()
    async with open_backend(run.functions, run.registry, address):
        pass
    return time.perf_counter() - t0


# -- the issue 15 targets: the run's calls beside Dask used directly ------------------------
def _echo_by_value():
    """The baseline's task, what the Echo module does: a local function, so that it is
    pickled by value (workers cannot import this file) as a user's would be."""
    def echo(x: int) -> int:
        return x
    return echo


async def run_calls_s(analysis, address: str, baseline: str, size: int) -> tuple[float, float]:
    """(the run's own time with its executor already set up, the baseline's on its client)."""
    from constellation.runtime.api import prepare
    from constellation.runtime.calls import executor_for

    run = prepare(analysis, {}, executor="dask", dask_address=address)
    async with executor_for(run) as executor:
        t0 = time.perf_counter()
        result = await run.execute_on(executor)
        elapsed = time.perf_counter() - t0
        if result.status != "completed":
            sys.exit(f"benchmark program failed: {result.errors}")
        base_s = await BASELINES[baseline](executor.backend.client, size)
    return elapsed, base_s


async def direct_fan_out(client, n: int) -> float:
    fn = _echo_by_value()
    t0 = time.perf_counter()
    futures = [client.submit(fn, i, pure=False) for i in range(n)]
    await client.gather(futures)
    return time.perf_counter() - t0


async def direct_chain(client, k: int) -> float:
    fn = _echo_by_value()
    t0 = time.perf_counter()
    future = client.submit(fn, 0, pure=False)
    for _ in range(k - 1):
        future = client.submit(fn, future, pure=False)
    await client.gather(future)
    return time.perf_counter() - t0


BASELINES = {"fan-out": direct_fan_out, "chain": direct_chain}


async def targets(address: str, compiled, n: int, k: int, repeats: int) -> list[tuple]:
    """(what, calls, median run ms, median baseline ms, ratio) per target."""
    rows = []
    for what, size, text in (("fan-out", n, fan_out(n)), ("chain", k, chain(k))):
        analysis = compiled(text)
        await run_calls_s(analysis, address, what, size)  # warm-up
        pairs = [await run_calls_s(analysis, address, what, size) for _ in range(repeats)]
        ratios = [r / b for r, b in pairs]
        rows.append((what, size, statistics.median(r for r, _ in pairs) * 1000,
                     statistics.median(b for _, b in pairs) * 1000, statistics.median(ratios)))
    return rows


def print_targets(rows: list[tuple]) -> None:
    print("| target (issue 15)  | calls |    run ms | direct Dask ms | ratio | goal |")
    print("|--------------------|------:|----------:|---------------:|------:|-----:|")
    for what, size, run_ms, base_ms, ratio in rows:
        base = "submit + gather" if what == "fan-out" else "chained futures"
        print(f"| {what:<8} vs {base[:7]:<7} | {size:>5} | {run_ms:>9.1f} | {base_ms:>14.1f} | "
              f"{ratio:>4.2f}x | 1.2x |")


async def local_cluster_start() -> float:
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
        cluster = await LocalCluster(n_workers=2, threads_per_worker=4, processes=True,
                                     dashboard_address=None, host="127.0.0.1",
                                     asynchronous=True)
    async with cluster, Client(cluster, asynchronous=True) as client:
        await client.wait_for_workers(2)
        return time.perf_counter() - t0


def row(name: str, calls: int, local_s: float, dask_s: float, fixed_s: float) -> str:
    """Per call: the run's time over its calls; through Dask also without the fixed cost."""
    local_ms = local_s / calls * 1000
    dask_ms = dask_s / calls * 1000
    net_ms = max(dask_s - fixed_s, 0.0) / calls * 1000
    return (f"| {name:<27} | {calls:>5} | {local_s * 1000:>9.1f} | {dask_s * 1000:>9.1f} | "
            f"{local_ms:>8.3f} | {dask_ms:>8.3f} | {net_ms:>8.3f} | {dask_s / local_s:>6.1f}x |")


async def main(quick: bool) -> None:
    from distributed import LocalCluster

    n, k, repeats = (50, 10, 3) if quick else (200, 20, 5)
    folder = Path(tempfile.mkdtemp(prefix="cst-bench-"))
    (folder / "bench.py").write_text(MODULES)
    registry = load_registry(["bench.py"], folder)

    def compiled(text: str):
        analysis = analyze(text, registry)
        assert analysis.valid, [d.message for d in analysis.diagnostics if d.is_error]
        return analysis

    cases = [
        (f"chain of {k} (sync)", k, compiled(chain(k))),
        (f"chain of {k} (async)", k, compiled(chain(k, "AsyncEcho"))),
        (f"fan-out {n} (sync)", n, compiled(fan_out(n))),
        (f"fan-out {n} (async)", n, compiled(fan_out(n, "AsyncEcho"))),
        (f"map over {n}", n, compiled(mapped(n))),
        (f"batched: 1 call, {n} items", 1, compiled(batched(n))),
        (f"wait: {n} x 20 ms async", n, compiled(fan_out(n, "Work"))),
        (f"cpu: {n // 2} x 20 ms sync", n // 2, compiled(fan_out(n // 2, "Burn"))),
    ]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
        cluster = await LocalCluster(n_workers=2, threads_per_worker=4, processes=True,
                                     dashboard_address=None, host="127.0.0.1",
                                     asynchronous=True)
    async with cluster:
        address = cluster.scheduler_address
        fixed = statistics.median([await open_only(address, cases[0][2])
                                   for _ in range(repeats)])
        print(f"Dask executor vs local: median of {repeats} runs; LocalCluster of 2 worker "
              f"processes x 4 threads on this machine")
        print()
        print("| program                     | calls |  local ms |   dask ms | local/call | "
              "dask/call | dask/call - fixed | ratio |")
        print("|-----------------------------|------:|----------:|----------:|---------:|"
              "---------:|---------:|-------:|")
        for name, calls, analysis in cases:
            local_s = await median_s(analysis, repeats)
            dask_s = await median_s(analysis, repeats, executor="dask", dask_address=address)
            print(row(name, calls, local_s, dask_s, fixed))
        print()
        print_targets(await targets(address, compiled, n, k, repeats))
    print()
    print(f"fixed cost of a Dask run (connect, ship and import modules, close): "
          f"{fixed * 1000:.0f} ms")
    print(f"starting a LocalCluster (--dask-address local): "
          f"{await local_cluster_start() * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller programs, fewer repeats")
    anyio.run(main, parser.parse_args().quick)
