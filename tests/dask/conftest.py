"""One real LocalCluster (two worker processes) for the whole session, the registry of the
examples pack plus the probe modules, and a helper running a program locally or on Dask."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import anyio

import pytest

from dask_helpers import EXAMPLES, PROBE_MODULES, compile_program, reset_process_state

pytest.importorskip("distributed", reason="the dask extra is not installed")

TIME_SCALE = "0.1"


# The cluster lives in a child process: its scheduler's event loop thread then never runs
# beside pytest's own threads, and the tests reach it by address, as users reach theirs.
CLUSTER_SCRIPT = """
import sys, warnings
from distributed import LocalCluster
if __name__ == "__main__":
    warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
    with LocalCluster(n_workers=2, threads_per_worker=4, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster:
        print(cluster.scheduler_address, flush=True)
        sys.stdin.read()  # until the test session closes our stdin
"""


@dataclasses.dataclass
class Cluster:
    scheduler_address: str
    workers: dict[str, int]  # worker address -> process id


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A LocalCluster of two worker processes, started once; its worker processes inherit
    the environment given here (this process's own stays as it was for other test folders)."""
    env = {**os.environ, "CONSTELLATION_TIME_SCALE": TIME_SCALE,
           "CST_TEST_DRIVER_PID": str(os.getpid())}
    script = tmp_path_factory.mktemp("cluster") / "cluster.py"
    script.write_text(CLUSTER_SCRIPT)
    process = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=env)
    try:
        address = process.stdout.readline().strip()
        assert address.startswith("tcp://"), "the test LocalCluster did not start"
        yield Cluster(address, anyio.run(worker_pids_of, address))
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def worker_pids_of(address: str) -> dict[str, int]:
    from distributed import Client

    async with Client(address, asynchronous=True) as client:
        await client.wait_for_workers(2)
        return await client.run(os.getpid)


@pytest.fixture(scope="session")
def worker_pids(cluster):
    return set(cluster.workers.values())


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    from constellation.runtime.modules import load_registry

    folder = tmp_path_factory.mktemp("probe")
    (folder / "probe.py").write_text(PROBE_MODULES)
    return load_registry([str(EXAMPLES / "modules" / "demo.py"), "probe.py"], folder)


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch, registry):
    for var in ("CONSTELLATION_SCHEDULE", "CONSTELLATION_SERIAL", "CONSTELLATION_SEED",
                "CONSTELLATION_SCHEDULER_ENABLED", "CONSTELLATION_SCHEDULER_MAX_CONCURRENCY",
                "CONSTELLATION_EXECUTOR", "CONSTELLATION_DASK_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", TIME_SCALE)
    reset_process_state(registry)


@pytest.fixture
def execute(cluster, registry):
    """execute(text, inputs, executor=..., **run options) -> (RunResult, events)."""
    from constellation.runtime import run

    def go(text: str, inputs: dict | None = None, *, executor: str = "dask", **options):
        analysis = compile_program(text, registry)
        events: list[dict] = []
        if executor == "dask":
            options.setdefault("dask_address", cluster.scheduler_address)
        reset_process_state(registry)
        result = run(analysis, inputs or {}, on_event=events.append, executor=executor,
                     **options)
        return result, events
    return go
