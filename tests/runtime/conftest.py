"""Shared fixtures of the runtime tests: the stdlib+examples registry with invocation
recording, a fresh process state per test, and a compile-and-run fixture on both backends."""

from __future__ import annotations

import pytest

from runtime_helpers import EXAMPLES, Recorder, compile_program, reset_demo_counters


@pytest.fixture(scope="session")
def base_registry():
    from constellation.runtime.modules import load_registry
    return load_registry(["modules/demo.py"], EXAMPLES)


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def registry(base_registry, recorder):
    """stdlib+examples with every implemented function recording its invocations."""
    from constellation.compiler.registry import Registry
    return Registry([recorder.wrap(f) if f.impl is not None else f
                     for f in base_registry.functions])


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch, base_registry):
    """LANGUAGE.md §11.5: counters at 0 and caches empty for each test; sleeps scaled."""
    from constellation.runtime.limits import reset_shared_state

    for var in ("CONSTELLATION_SCHEDULE", "CONSTELLATION_SERIAL", "CONSTELLATION_SEED",
                "CONSTELLATION_SCHEDULER_ENABLED", "CONSTELLATION_SCHEDULER_MAX_CONCURRENCY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", "0.1")
    reset_shared_state()
    reset_demo_counters(base_registry)
    yield


@pytest.fixture(params=["asyncio", "trio"])
def execute(registry, request):
    """execute(text, inputs, **run options) -> (RunResult, events); every test using it runs
    on both anyio backends."""
    from constellation.runtime import run

    def go(text: str, inputs: dict | None = None, **options):
        analysis = compile_program(text, registry)
        events: list[dict] = []
        options.setdefault("backend", request.param)
        result = run(analysis, inputs or {}, on_event=events.append, **options)
        return result, events
    return go
