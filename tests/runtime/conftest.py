"""Shared helpers of the runtime tests: the stdlib+examples registry with invocation recording,
a fresh process state per test, and a compile-and-run helper."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def corpus_dir() -> Path:
    return Path(os.environ.get("CONSTELLATION_CORPUS", REPO.parent / "shared" / "corpus"))


@dataclasses.dataclass
class Invocation:
    name: str
    args: tuple
    start: float
    end: float | None = None


class Recorder:
    """Every module invocation with its start and end time (monotonic seconds)."""

    def __init__(self):
        self.calls: list[Invocation] = []

    def count(self, name: str | None = None) -> int:
        return sum(1 for c in self.calls if name is None or c.name == name)

    def of(self, name: str) -> list[Invocation]:
        return [c for c in self.calls if c.name == name]

    def wrap(self, fn):
        impl = fn.impl
        recorder = self

        if inspect.iscoroutinefunction(impl):
            @functools.wraps(impl)
            async def recorded(*args):
                call = Invocation(fn.name, args, time.monotonic())
                recorder.calls.append(call)
                try:
                    return await impl(*args)
                finally:
                    call.end = time.monotonic()
        else:
            @functools.wraps(impl)
            def recorded(*args):
                call = Invocation(fn.name, args, time.monotonic())
                recorder.calls.append(call)
                try:
                    return impl(*args)
                finally:
                    call.end = time.monotonic()
        return dataclasses.replace(fn, impl=recorded)


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


def reset_demo_counters(registry) -> None:
    """The demo pack's process-wide counters (FlakyService, TimeoutProneService) back to 0."""
    impl = registry.lookup("FlakyService").impl
    impl = inspect.unwrap(impl)
    impl.__globals__["reset_counters"]()


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


def compile_program(text: str, registry):
    from constellation.compiler import analyze

    analysis = analyze(text, registry)
    errors = [d for d in analysis.diagnostics if d.is_error]
    assert not errors, [f"{d.code} {d.message}" for d in errors]
    return analysis


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


def node_events(events: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [e for e in events if e["event"] == kind and (name is None or e.get("name") == name)]
