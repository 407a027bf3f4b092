"""Run records benchmark (issue 17). Prints a table; every figure has its baseline measured in
the same run.

    python benchmarks/records.py            # 9 rounds of each measurement
    python benchmarks/records.py --quick    # 3 rounds

(a) recording overhead: a 1,000-node run of no-op modules (10 layers of 100) with the
    recorder `cst run` uses (event subscriber, call tap, writer thread, its pass at the end)
    against the same run unrecorded, as `cst run --no-record`: with an event listener (the
    display's and `--events`' case) and with none (`--json`'s); wall and CPU time (all
    threads), best of the rounds; target ≤ +10 %.
(a') the same pipeline as a user runs it: `cst run` against `cst run --no-record`, each a
    process (start-up and compiling included), best of the rounds (at most 5).
(b) a warm persistent cache: examples/profile.cst with `cache:` on its calls, run twice by
    `cst run` in two processes sharing a fresh records database; the second run's time (its
    run_completed duration_ms) against the first's; target < 10 %.
(c) resume: a 1,000-call run (10 layers of 100 chains, calls of 20 ms) with one failed call
    in layer 5, recorded, then its resume from the record (read, and the resumed run
    recorded, as `cst run --resume` does): the calls that ran are counted (exactly the failed
    one and its 5 dependents); best of 3 rounds. Those 6 calls take 6 x 20 ms whatever resume does, so their
    own time (a pipeline of just that chain, run the same way) is measured too, and what the
    resume costs beyond it is set against the full run's time; target ≤ 5 %.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from constellation.compiler import analyze
from constellation.compiler import types as T
from constellation.compiler.registry import Function
from constellation.runtime import run_async
from constellation.runtime.api import prepare
from constellation.runtime.identity import plan_hash
from constellation.runtime.modules import base_registry
from constellation.runtime.records.recorder import Recorder

from runtime import interleaved, print_table  # benchmarks/runtime.py (this script's folder)

REPO = Path(__file__).resolve().parents[1]


async def noop(x: int) -> int:
    return x


def layered(width: int, depth: int) -> str:
    lines = ["in seed: Int"] + [f"n0_{i} = Noop(seed)" for i in range(width)]
    for k in range(1, depth):
        lines += [f"n{k}_{i} = Noop(n{k - 1}_{i})" for i in range(width)]
    lines += [f"out n{depth - 1}_{i}" for i in range(width)]
    return "\n".join(lines) + "\n"


def one_run(analysis, db: Path | None, listener: bool, clock=time.perf_counter) -> float:
    """ms of one run by `clock` (wall, or the process's CPU time: every thread), recorded into
    `db` (None: not recorded), the recorder's last pass included. `listener`: the unrecorded
    run has an event subscriber, as `cst run`'s display and `--events` do (`--json` has
    none)."""
    async def main() -> None:
        if db is None:
            await run_async(analysis, {"seed": 1},
                            on_event=(lambda event: None) if listener else None)
            return
        recorder = Recorder(db, print, file="bench.cst", plan_hash=plan_hash(analysis),
                            inputs={"seed": 1}, settings={})
        with recorder.tapping():
            await run_async(analysis, {"seed": 1}, on_event=recorder.on_event)
        await anyio.to_thread.run_sync(recorder.close)
        assert recorder.run_id is not None, "the run was not recorded"

    t = clock()
    anyio.run(main)
    return (clock() - t) * 1000


RECORDING_TARGET = 0.10  # issue 17: recording adds at most 10 % to a 1,000-node run


def recording_overhead(rounds: int) -> list[list[str]]:
    """Best of the rounds (the machine is shared: the minimum is the signal), the variants
    interleaved (benchmarks/runtime.py's loop) so that its load falls on all of them alike."""
    registry = base_registry().extend([Function("Noop", None, (("x", T.INT),), T.INT,
                                                impl=noop)])
    analysis = analyze(layered(100, 10), registry)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "runs.db"
        one_run(analysis, db, True), one_run(analysis, None, True)  # warm-up
        cpu = time.process_time
        best = interleaved({
            "rec": lambda: one_run(analysis, db, True),
            "events": lambda: one_run(analysis, None, True),
            "json": lambda: one_run(analysis, None, False),
            "rec_cpu": lambda: one_run(analysis, db, True, cpu),
            "events_cpu": lambda: one_run(analysis, None, True, cpu),
            "json_cpu": lambda: one_run(analysis, None, False, cpu),
        }, rounds)
    rows = []
    for key, label in (("events", "--no-record, events listened to"),
                       ("json", "--no-record --json, no listener")):
        wall = best["rec"] / best[key] - 1
        cpu_added = best["rec_cpu"] / best[f"{key}_cpu"] - 1
        rows.append([f"(a) 1,000 no-op nodes, recorded vs {label}",
                     f"{best['rec']:.1f} ms", f"{best[key]:.1f} ms", f"{wall * 100:+.1f} % wall",
                     f"{'within' if wall <= RECORDING_TARGET else 'OUTSIDE'} target "
                     f"≤ +{RECORDING_TARGET * 100:.0f} %; CPU {best['rec_cpu']:.1f} vs "
                     f"{best[f'{key}_cpu']:.1f} ms ({cpu_added * 100:+.1f} %)"])
    return rows


NOOP_MODULE = """from constellation.runtime import module


@module
def Noop(x: int) -> int:
    return x
"""


def cst_command() -> list[str]:
    script = Path(sys.executable).parent / "cst"
    return [str(script)] if script.exists() else [sys.executable, "-m", "constellation.cli.main"]


def process_overhead(rounds: int) -> list[list[str]]:
    """(a') the same pipeline as a user runs it: `cst run FILE -i seed=1 --json` against the
    same with --no-record, each its own process (start-up, compiling, the run, the record's
    last pass), interleaved, best of the rounds."""
    rounds = min(rounds, 5)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        (home / "noop.py").write_text(NOOP_MODULE, encoding="utf-8")
        (home / "constellation.toml").write_text('modules = ["noop.py"]\n', encoding="utf-8")
        (home / "layers.cst").write_text(layered(100, 10), encoding="utf-8")
        env = {**os.environ, "CONSTELLATION_RUNS_DB": str(home / "runs.db")}

        def cst_ms(*extra: str) -> float:
            t = time.perf_counter()
            proc = subprocess.run([*cst_command(), "run", "layers.cst", "-i", "seed=1", "--json",
                                   *extra], capture_output=True, text=True, env=env, cwd=home,
                                  timeout=120)
            if proc.returncode != 0:
                raise SystemExit(f"cst run failed: {proc.stderr}")
            return (time.perf_counter() - t) * 1000

        cst_ms(), cst_ms("--no-record")  # warm-up: the database made, the files cached
        best = interleaved({"rec": cst_ms, "plain": lambda: cst_ms("--no-record")}, rounds)
    added = best["rec"] / best["plain"] - 1
    return [["(a') the same, `cst run` vs `cst run --no-record` (processes)",
             f"{best['rec']:.0f} ms", f"{best['plain']:.0f} ms", f"{added * 100:+.1f} % wall",
             f"{'within' if added <= RECORDING_TARGET else 'OUTSIDE'} target "
             f"≤ +{RECORDING_TARGET * 100:.0f} %; start-up and compiling included, as a user "
             f"sees it; best of {rounds}"]]


WORK_S = 0.02  # (c): each call waits like a service answering in 20 ms
FAILING = "n4_50"  # (c): fails in the first run; 5 calls of its chain depend on it
CALLED: list[str] = []
FAILS = [True]  # the failing call fails once


async def work(x: int, name: str) -> int:
    CALLED.append(name)
    await anyio.sleep(WORK_S)
    if name == FAILING and FAILS[0]:
        FAILS[0] = False
        raise RuntimeError("service unavailable")
    return x


def named_chains(width: int, depth: int) -> str:
    lines = ["in seed: Int"] + [f'n0_{i} = Work(seed, "n0_{i}")' for i in range(width)]
    for k in range(1, depth):
        lines += [f'n{k}_{i} = Work(n{k - 1}_{i}, "n{k}_{i}")' for i in range(width)]
    lines += [f"out n{depth - 1}_{i}" for i in range(width)]
    return "\n".join(lines) + "\n"


RESUME_TARGET = 0.05  # issue 17: a resume costs at most 5 % of a full run (+ start-up)


def chain_registry():
    return base_registry().extend([Function(
        "Work", None, (("x", T.INT), ("name", T.STRING)), T.INT, impl=work)])


async def recorded_run(analysis, db: Path, reuse=None) -> object:
    """A run as `cst run` makes it: recorded, and with --resume starting settled what the
    record gives (`reuse`, a partial.Reuse)."""
    recorder = Recorder(db, print, file="chains.cst", plan_hash=plan_hash(analysis),
                        inputs={"seed": 1}, settings={})
    run = prepare(analysis, {"seed": 1}, on_event=recorder.on_event)
    if reuse is not None:
        run.start_settled(reuse.known(run.plan, run.inputs, run.functions))
        recorder.reusing(reuse, run.known)
    with recorder.tapping():
        result = await run.execute()
    await anyio.to_thread.run_sync(recorder.close)
    return result


def resume(rounds: int) -> list[list[str]]:
    """(c) a full run with one failure, recorded; then the resume of it from its record (the
    record read, the run recorded). The calls that must run again (the failed one and its 5
    dependents, a chain of 6) take 6 x 20 ms whatever resume does: their own time is measured
    as a pipeline of just that chain, and what the resume costs beyond it is set against the
    full run's time. Best of `rounds` (each a fresh database: a full run, its resume, the
    chain alone)."""
    from constellation.runtime.partial import resume_values
    from constellation.runtime.records import reader
    from constellation.runtime.records.store import connect

    registry = chain_registry()
    analysis = analyze(named_chains(100, 10), registry)
    own = analyze("in seed: Int\n" + "\n".join(
        f'n{k}_50 = Work({"seed" if k == 4 else f"n{k - 1}_50"}, "own{k}")'
        for k in range(4, 10)) + "\nout n9_50\n", registry)
    expected = sorted(f"n{k}_50" for k in range(4, 10))

    def timed(coroutine) -> float:
        async def main() -> float:
            t = time.perf_counter()
            await coroutine()
            return (time.perf_counter() - t) * 1000
        return anyio.run(main)

    fulls, resumes, owns = [], [], []
    for _ in range(rounds):
        CALLED.clear()
        FAILS[0] = True
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "runs.db"

            async def full() -> None:
                assert (await recorded_run(analysis, db)).status == "failed"

            async def resumed() -> None:
                conn = connect(db)  # as `cst run --resume` reads it (cli/_partial.py)
                run_id = reader.find_run(conn, "last")
                head, calls = reader.run_head(conn, run_id), reader.reusable_calls(conn, run_id)
                conn.close()
                result = await recorded_run(analysis, db, resume_values(head, calls))
                assert result.status == "completed", result.errors

            async def alone() -> None:
                assert (await recorded_run(own, db)).status == "completed"

            fulls.append(timed(full))
            called_first = len(CALLED)
            resumes.append(timed(resumed))
            rerun = CALLED[called_first:]
            assert sorted(rerun) == expected, rerun
            owns.append(timed(alone))
    full_ms, resume_ms, own_ms = min(fulls), min(resumes), min(owns)
    beyond = (resume_ms - own_ms) / full_ms
    return [[f"(c) resume, 1,000 calls of {WORK_S * 1000:.0f} ms, one failed",
             f"{resume_ms:.0f} ms, {len(rerun)} calls ran", f"{full_ms:.0f} ms (full run)",
             f"{beyond * 100:.1f} % beyond its calls",
             f"{'within' if beyond <= RESUME_TARGET else 'OUTSIDE'} target "
             f"≤ {RESUME_TARGET * 100:.0f} % of the full run; the 6 calls' own time "
             f"{own_ms:.0f} ms (a pipeline of that chain); resume / full "
             f"{resume_ms / full_ms * 100:.0f} %; best of {rounds}"]]


def cached_profile() -> str:
    text = (REPO / "examples" / "profile.cst").read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        code, hash_, comment = line.partition("  #")
        if "(" in code and "=" in code and not code.startswith("#"):
            code += " with cache: 10min"
        lines.append(code + (hash_ + comment if hash_ else ""))
    return "\n".join(lines) + "\n"


def cst_run_ms(file: Path, env: dict) -> float:
    proc = subprocess.run([*cst_command(), "run", str(file), "--examples", "--json"],
                          capture_output=True, text=True, env=env, cwd=file.parent, timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"cst run failed: {proc.stderr}")
    return json.loads(proc.stdout)["duration_ms"]


CACHE_TARGET = 0.10  # issue 17: a warm persistent cache makes a second run < 10 % of the first


def warm_cache(rounds: int) -> list[list[str]]:
    rounds = min(rounds, 3)  # two processes per round
    firsts, seconds = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as folder:
            file = Path(folder) / "profile.cst"
            file.write_text(cached_profile(), encoding="utf-8")
            (Path(folder) / "constellation.toml").write_text(
                f'modules = ["{REPO / "examples" / "modules" / "demo.py"}"]\n', encoding="utf-8")
            env = {**os.environ, "CONSTELLATION_RUNS_DB": str(Path(folder) / "runs.db"),
                   "CONSTELLATION_TIME_SCALE": "1"}
            firsts.append(cst_run_ms(file, env))
            seconds.append(cst_run_ms(file, env))
    cold, warm = statistics.median(firsts), statistics.median(seconds)
    ratio = warm / cold
    return [["(b) profile.cst, warm persistent cache", f"{warm:.1f} ms",
             f"{cold:.0f} ms (first run)", f"{ratio * 100:.1f} %",
             f"{'within' if ratio < CACHE_TARGET else 'OUTSIDE'} target "
             f"< {CACHE_TARGET * 100:.0f} % of the first run (median of {rounds} pairs)"]]


def with_target_column(row: list[str]) -> list[str]:
    """runtime.py's table has a target column: the verdict before the first ';' goes there."""
    verdict, _, note = row[4].partition(";")
    return row[:4] + [verdict.strip(), note.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 9")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 9
    rows = (recording_overhead(rounds) + process_overhead(rounds) + warm_cache(rounds)
            + resume(3))
    print_table([with_target_column(r) for r in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())
