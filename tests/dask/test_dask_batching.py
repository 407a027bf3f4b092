"""Issue 15 item 4 on Dask: a layer's calls go to the cluster in one batch, dependent calls
with no driver-side option between them are chained as futures (the cluster sees the
graph), and events and results stay those of the local executor."""

from __future__ import annotations

import importlib.util
import sys

import anyio
import pytest

from dask_helpers import REPO, compile_program

TIMED = ("t_ms", "duration_ms")


def per_node(events: list[dict]) -> dict:
    """Each node's events in order, without timings; and the layer events in order."""
    nodes: dict[str, list] = {}
    layers = []
    for e in events:
        shown = tuple(sorted((k, str(v)) for k, v in e.items() if k not in TIMED))
        if "name" in e and e["event"].startswith("node_"):
            nodes.setdefault(e["name"], []).append(shown)
        elif e["event"].startswith("layer_"):
            layers.append(shown)
    return {"nodes": nodes, "layers": layers}


def assert_equal_runs(execute, text: str, inputs: dict | None = None, reset=None, **options):
    if reset:
        reset()
    local, local_events = execute(text, inputs, executor="local", **options)
    if reset:
        reset()
    remote, remote_events = execute(text, inputs, **options)
    assert (remote.status, remote.outputs, remote.errors) == (
        local.status, local.outputs, local.errors)
    assert per_node(remote_events) == per_node(local_events)
    return remote, remote_events


def fan_out(n: int) -> str:
    return "\n".join(f"x{i} = Inc({i})" for i in range(n)) + "\n" + \
        "\n".join(f"out x{i}" for i in range(n)) + "\n"


def chain(k: int, fn: str = "Inc") -> str:
    lines = ["x0 = " + fn + "(n)"] + [f"x{i} = {fn}(x{i - 1})" for i in range(1, k)]
    return "in n: Int\n" + "\n".join(lines) + f"\nout x{k - 1}\nout x0\n"


@pytest.mark.parametrize("schedule", ["layered", "eager"])
def test_a_fan_out_equals_the_local_run(execute, schedule):
    assert_equal_runs(execute, fan_out(40), schedule=schedule)


@pytest.mark.parametrize("schedule", ["layered", "eager"])
def test_a_chain_equals_the_local_run(execute, schedule):
    result, _ = assert_equal_runs(execute, chain(12), {"n": 5}, schedule=schedule)
    assert result.outputs == {"x11": 17, "x0": 6}


def test_a_fan_out_feeding_a_fan_in_equals_the_local_run(execute):
    text = "\n".join(f"x{i} = Inc({i})" for i in range(20)) + "\n" + "\n".join(
        f"y{i} = Inc(x{i})" for i in range(20)) + "\nout y0\nout y19\n"
    assert_equal_runs(execute, text)


def test_a_chain_is_chained_on_the_cluster(execute):
    """Each dependent call's task receives its upstream call's result as a Dask dependency:
    it was submitted with the upstream future, before the upstream call finished."""
    text = ("a = Dependencies(0)\nb = Dependencies(a)\nc = Dependencies(b)\n"
            "out a\nout b\nout c\n")
    result, _ = execute(text)
    assert result.outputs == {"a": 0, "b": 1, "c": 1}


@pytest.mark.parametrize("option", ["retry: 1", "timeout: 5s", "cache: 1min",
                                    "on_error: skip", "fallback: 7", "concurrency: 2",
                                    "throttle: 100/1s", "priority: 90"])
def test_a_driver_side_option_breaks_the_chain(execute, option):
    text = (f"a = Dependencies(0)\nb = Dependencies(a) with {option}\nc = Dependencies(b)\n"
            f"d = Dependencies(c)\nout b\nout c\nout d\n")
    result, _ = execute(text)
    # b's options run in the driver: b and c take their argument as a value; d is chained
    assert result.outputs == {"b": 0, "c": 0, "d": 1}


def test_the_bounded_scheduler_breaks_every_chain(execute):
    text = "a = Dependencies(0)\nb = Dependencies(a)\nout b\n"
    result, _ = execute(text, max_concurrency=4)
    assert result.outputs == {"b": 0}


def test_a_retry_in_the_middle_of_a_chain_still_retries(execute, tmp_path):
    marker = tmp_path / "failed-once"
    text = ("in m: String\na = Inc(0)\nb = FailsFirst(a, m) with retry: 1\nc = Inc(b)\n"
            "d = Inc(c)\nout d\n")
    result, events = assert_equal_runs(execute, text, {"m": str(marker)},
                                       reset=lambda: marker.unlink(missing_ok=True))
    assert result.outputs == {"d": 4}
    assert [e["event"] for e in events if e.get("name") == "b"] == [
        "node_started", "node_retrying", "node_started", "node_completed"]


def test_a_failed_upstream_skips_its_chained_call_without_calling_it(execute, tmp_path):
    marker = tmp_path / "touched"
    text = 'in m: String\na = Explode("boom")\nb = Touch(a, m)\nout b\n'
    result, events = assert_equal_runs(execute, text, {"m": str(marker)})
    assert [e["event"] for e in events if e.get("name") == "b"] == ["node_skipped"]
    assert not marker.exists()  # submitted with a's future, but never called


def test_a_chained_argument_is_shaped_as_locally(execute):
    """A chained argument is checked against the upstream's type and shaped to the
    parameter's on the worker, as the driver does (Int -> Float widening)."""
    text = "a = Inc(1)\nb = Half(a)\nout b\n"
    result, _ = assert_equal_runs(execute, text)
    assert result.outputs == {"b": "1.0 float"}


def test_a_quick_chain_is_fetched_in_one_gather(execute, monkeypatch):
    """The driver fetches a finished chained call's value together with its chain's (one
    round trip to the scheduler, not one per call), and reports every call as locally."""
    from distributed import Client

    from constellation.runtime import dask_backend

    monkeypatch.setattr(dask_backend, "FETCH_DEFER_S", 30.0)  # however loaded the machine
    gathers = []
    gather = Client.gather

    def counted(self, futures, *args, **kwargs):
        gathers.append(len(futures) if isinstance(futures, list) else 1)
        return gather(self, futures, *args, **kwargs)

    monkeypatch.setattr(Client, "gather", counted)
    result, _ = assert_equal_runs(execute, chain(12), {"n": 5})
    assert result.outputs == {"x11": 17, "x0": 6}
    assert gathers == [12]


def test_a_slow_chain_reports_each_call_soon_after_it_finishes(execute):
    """A chained call's value waits for its chain's at most FETCH_DEFER_S: with 300 ms calls
    each is reported about 300 ms after the one before, not all when the chain ends."""
    _, events = execute(chain(3, "SlowInc"), {"n": 0})
    done = {e["name"]: e["t_ms"] for e in events if e["event"] == "node_completed"}
    assert done["x1"] - done["x0"] > 200 and done["x2"] - done["x1"] > 200, done


# -- the targets (benchmarks/dask.py) ---------------------------------------------------------
def benchmark_module():
    """benchmarks/dask.py loaded by path: putting benchmarks/ on sys.path would shadow the
    `dask` package in the workers this process spawns."""
    spec = importlib.util.spec_from_file_location("cst_dask_benchmark",
                                                  REPO / "benchmarks" / "dask.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def target_ratios(cluster, tmp_path_factory) -> dict:
    """The benchmark's two targets, measured once for the tests below."""
    bench = benchmark_module()
    folder = tmp_path_factory.mktemp("bench")
    (folder / "bench.py").write_text(bench.MODULES)
    from constellation.runtime.modules import load_registry

    registry = load_registry(["bench.py"], folder)
    rows = anyio.run(bench.targets, cluster.scheduler_address,
                     lambda text: compile_program(text, registry), 200, 20, 5)
    return {what: (ratio, rows) for what, _, _, _, ratio in rows}


@pytest.mark.slow
def test_a_fan_out_costs_about_what_dask_alone_costs(target_ratios):
    """Issue 15 target: ≤ 1.2x direct submit + gather in the benchmark; here with a margin
    for a shared machine (before batching: 1.8x)."""
    ratio, rows = target_ratios["fan-out"]
    assert ratio <= 1.35, rows


@pytest.mark.slow
def test_a_chain_costs_about_what_dask_chaining_costs(target_ratios):
    """Issue 15 target: ≤ 1.2x Dask chaining the futures itself in the benchmark; here with
    a margin for a shared machine (before chaining: 1.75x; before its values were fetched
    together: 1.5x under load)."""
    ratio, rows = target_ratios["chain"]
    assert ratio <= 1.35, rows
