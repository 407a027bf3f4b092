"""Helpers of the Dask executor tests (a uniquely named module, so the helper modules of
different test folders never shadow each other): paths, the test module pack, compiling."""

from __future__ import annotations

import inspect
from pathlib import Path

from corpus_support import corpus_dir  # noqa: F401 - shared by this suite's tests

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

# A module pack written to a temporary folder and loaded as a module *file* (the way users'
# constellation.toml packs are loaded), so workers receive it through the modules plugin.
PROBE_MODULES = '''
import os
from pathlib import Path

import anyio

from constellation.runtime import module


@module
def ProcessId(tag: str) -> int:
    """The id of the process the call runs in."""
    return os.getpid()


@module
async def AsyncProcessId(tag: str) -> int:
    return os.getpid()


@module
async def Nap(ms: int) -> int:
    """Sleeps (asynchronously, real time) and returns its process id."""
    await anyio.sleep(ms / 1000)
    return os.getpid()


@module
def BlockingNap(ms: int) -> int:
    """Sleeps in its thread (a sync module) and returns its process id."""
    import time
    time.sleep(ms / 1000)
    return os.getpid()


@module
def Explode(message: str) -> str:
    raise ValueError(message)


@module
def Quit(code: int) -> int:
    import sys
    sys.exit(code)


@module
async def InterruptAsync(tag: str) -> str:
    raise KeyboardInterrupt


@module
async def NapOrMark(ms: int, marker: str) -> str:
    """Sleeps; when cancelled on the worker, leaves a marker file behind."""
    try:
        await anyio.sleep(ms / 1000)
    except BaseException:
        Path(marker).write_text("cancelled")
        raise
    return "woke"


@module
def Inc(x: int) -> int:
    return x + 1


@module
async def SlowInc(x: int) -> int:
    """x + 1 after 300 ms of real time (the examples' time scale does not shorten it)."""
    await anyio.sleep(0.3)
    return x + 1


@module
def Half(x: float) -> str:
    """x / 2 as text, with its Python type: an Int argument must arrive widened to Float."""
    return f"{x / 2} {type(x).__name__}"


@module
def Dependencies(x: int) -> int:
    """How many task results Dask handed the running task as its dependencies: 1 when the
    call was chained to the call giving x, 0 when x came as a value (and outside a worker)."""
    try:
        from distributed import get_worker
        from distributed.worker import thread_state
        worker = get_worker()
    except (ImportError, ValueError):
        return 0
    return len(worker.state.tasks[thread_state.key].dependencies)


@module
def FailsFirst(x: int, marker: str) -> int:
    """Fails on its first call (leaving `marker` behind, seen by every process), then x + 1."""
    if not Path(marker).exists():
        Path(marker).write_text("failed once")
        raise ValueError("first call fails")
    return x + 1


@module
def Touch(text: str, marker: str) -> str:
    """Leaves `marker` behind: proof that it was called."""
    Path(marker).write_text(text)
    return text
'''

# Imports only in the driver process: workers (other process ids) fail to import it.
DRIVER_ONLY_MODULE = '''
import os

from constellation.runtime import module

if os.environ.get("CST_TEST_DRIVER_PID") != str(os.getpid()):
    raise ImportError("No module named 'gpu_only_library'")


@module
def DriverOnly(text: str) -> str:
    return text
'''




def compile_program(text: str, registry):
    from constellation.compiler import analyze

    analysis = analyze(text, registry)
    errors = [d for d in analysis.diagnostics if d.is_error]
    assert not errors, [f"{d.code} {d.message}" for d in errors]
    return analysis


def reset_process_state(registry) -> None:
    """Driver-side state as a fresh process has it: demo counters at 0, caches empty."""
    from constellation.runtime.limits import reset_shared_state

    reset_shared_state()
    impl = inspect.unwrap(registry.lookup("FlakyService").impl)
    impl.__globals__["reset_counters"]()
