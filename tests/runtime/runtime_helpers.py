"""Helpers of the runtime tests, in a uniquely named module so that the conftest files of
different test folders never shadow each other: invocation recording, the compile helper,
the corpus location."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import time
from pathlib import Path
from corpus_support import corpus_dir  # noqa: F401 - shared by this suite's tests

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"




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


def reset_demo_counters(registry) -> None:
    """The demo pack's process-wide counters (FlakyService, TimeoutProneService) back to 0."""
    impl = registry.lookup("FlakyService").impl
    impl = inspect.unwrap(impl)
    impl.__globals__["reset_counters"]()


def compile_program(text: str, registry):
    from constellation.compiler import analyze

    analysis = analyze(text, registry)
    errors = [d for d in analysis.diagnostics if d.is_error]
    assert not errors, [f"{d.code} {d.message}" for d in errors]
    return analysis


def node_events(events: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [e for e in events if e["event"] == kind and (name is None or e.get("name") == name)]
