"""Results on the Dask executor equal the local executor's: every runnable corpus program,
examples/profile.cst, and the `cst run` command of issue 6's "done when"."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from corpus_support import corpus_dir, valid_corpus_cases, zero_inputs
from dask_helpers import EXAMPLES, REPO, compile_program

pytestmark = pytest.mark.slow

# The demo services keep per-process counters (FlakyService fails twice then succeeds,
# TimeoutProneService is slow on its first call): co-located, each behaves as in one process.
STATEFUL = ["FlakyService", "TimeoutProneService"]


@pytest.fixture(autouse=True)
def roomier_time_scale(monkeypatch):
    """Simulated sleeps shrink 5x (not 10x): a Dask round trip on a loaded CI machine must not
    eat a scaled timeout's margin (the workers get the value with each run)."""
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", "0.2")


def comparable(result) -> tuple:
    """What a run produced. Attempt counts are left out: they depend on timing (a call that
    beats its timeout by a few milliseconds locally may need a retry through the cluster)."""
    return (result.status, result.outputs, result.errors, result.log,
            [(n.name, n.status, n.layer, n.error) for n in result.nodes])


@pytest.mark.corpus
@pytest.mark.parametrize("entry", valid_corpus_cases())
def test_corpus_program_results_equal_the_local_executor(entry, execute, registry):
    text = (corpus_dir() / entry["path"]).read_text(encoding="utf-8")
    analysis = compile_program(text, registry)
    colocate = [n for n in STATEFUL if registry.lookup(n).qualified in
                {f.qualified for f in analysis.check.call_targets.values() if f}]
    inputs = zero_inputs(analysis)
    local, _ = execute(text, inputs, executor="local", use_examples=True)
    remote, _ = execute(text, inputs, use_examples=True, dask_colocate=colocate)
    assert comparable(remote) == comparable(local)
    assert list(remote.outputs) == [o for o in entry["outputs"] if o in local.outputs]


def test_profile_results_equal_the_local_executor(execute, worker_pids):
    text = (EXAMPLES / "profile.cst").read_text(encoding="utf-8")
    local, _ = execute(text, executor="local", use_examples=True)
    remote, _ = execute(text, use_examples=True)
    assert remote.status == "completed", remote.errors
    assert comparable(remote) == comparable(local)


def cst_run(*args: str, status: int = 0, cwd=REPO) -> dict:
    env = {**os.environ, "CONSTELLATION_TIME_SCALE": "0.1"}
    done = subprocess.run([sys.executable, "-m", "constellation.cli.main", "run", *args,
                           "--json"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == status, done.stderr
    assert done.stderr == ""  # no cluster chatter on the user's terminal
    return json.loads(done.stdout)


def without_timings(result: dict) -> dict:
    nodes = [{k: v for k, v in n.items() if k != "duration_ms"} for n in result["nodes"]]
    return {**{k: v for k, v in result.items() if k != "duration_ms"}, "nodes": nodes}


def test_cst_run_on_a_local_cluster_equals_the_local_run():
    """Issue 6 done-when: `cst run examples/profile.cst --examples --executor dask
    --dask-address local`."""
    local = cst_run("examples/profile.cst", "--examples")
    remote = cst_run("examples/profile.cst", "--examples", "--executor", "dask",
                     "--dask-address", "local")
    assert without_timings(remote) == without_timings(local)
    assert remote["status"] == "completed"


def test_cst_run_against_a_running_scheduler(cluster):
    remote = cst_run("examples/profile.cst", "--examples", "--executor", "dask",
                     "--dask-address", cluster.scheduler_address)
    assert remote["status"] == "completed"
    assert remote["outputs"]["profile"]["userId"] == "u-42"


def test_failures_and_timeouts_leave_no_worker_logs_on_the_terminal(tmp_path):
    """Module failures are outcomes of calls, not worker errors: a LocalCluster started by
    `cst run` prints nothing about them (the run's result says what failed)."""
    (tmp_path / "constellation.toml").write_text(
        f'modules = ["{(EXAMPLES / "modules" / "demo.py").as_posix()}"]\n')
    (tmp_path / "p.cst").write_text(
        'logged = AlwaysFailsService("r") with on_error: log\n'
        'slow = SlowQuery("q") with timeout: 100ms, on_error: skip\n'
        'failed = AlwaysFailsService("again")\n'
        'out logged\nout slow\nout failed\n')
    local = cst_run("p.cst", status=1, cwd=tmp_path)
    remote = cst_run("p.cst", "--executor", "dask", "--dask-address", "local", status=1,
                     cwd=tmp_path)
    assert without_timings(remote) == without_timings(local)
    assert [e["function"] for e in remote["errors"]] == ["AlwaysFailsService"]


WORKER_SHY_MODULE = '''
import multiprocessing

from constellation.runtime import module

if multiprocessing.parent_process() is not None:  # a Dask worker process
    raise ImportError("No module named 'gpu_only_library'")


@module
def DriverOnly(text: str) -> str:
    return text
'''


def test_cst_run_rejects_when_workers_cannot_import_a_module(cluster, tmp_path):
    (tmp_path / "shy.py").write_text(WORKER_SHY_MODULE)
    (tmp_path / "p.cst").write_text('x = DriverOnly("a")\nout x\n')
    env = {**os.environ, "CONSTELLATION_TIME_SCALE": "0.1"}
    done = subprocess.run([sys.executable, "-m", "constellation.cli.main", "run", "p.cst",
                           "--modules", "shy.py", "--executor", "dask", "--dask-address",
                           cluster.scheduler_address, "--events"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    event = json.loads(done.stdout)
    assert event["event"] == "run_rejected"
    assert [e["message"] for e in event["errors"]] == [
        f"Module shy.py cannot be imported on Dask worker {address}: ImportError: No module "
        f"named 'gpu_only_library'" for address in sorted(cluster.workers)]
