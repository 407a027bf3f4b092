"""One real LocalCluster (two worker processes) for the whole session, the registry of the
examples pack plus the probe modules, and a helper running a program locally or on Dask."""

from __future__ import annotations

import os
import warnings

import pytest

from dask_helpers import EXAMPLES, PROBE_MODULES, compile_program, reset_process_state

pytest.importorskip("distributed", reason="the dask extra is not installed")

TIME_SCALE = "0.1"


@pytest.fixture(scope="session")
def cluster():
    """Started once: worker processes inherit the environment set here."""
    from distributed import LocalCluster

    os.environ["CONSTELLATION_TIME_SCALE"] = TIME_SCALE
    os.environ["CST_TEST_DRIVER_PID"] = str(os.getpid())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
        cluster = LocalCluster(n_workers=2, threads_per_worker=4, processes=True,
                               dashboard_address=None, host="127.0.0.1")
    with cluster:
        yield cluster


@pytest.fixture(scope="session")
def worker_pids(cluster):
    from distributed import Client

    with Client(cluster) as client:
        return set(client.run(os.getpid).values())


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
