"""The worker side of the Dask executor (dask_backend.py): the plugin that loads a run's
modules in every worker process, and the tasks that call a module function there.

This module imports `distributed`; the driver imports it only for a dask-executor run, and
workers import it by name when they unpickle the plugin and the tasks (so constellation-lang
must be installed on the workers).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from constellation.compiler.registry import ModuleFailure
from constellation.runtime.errors import MODULE_EXITS, exit_message, failure_message


class RemoteCallFailed(Exception):
    """A module's failure on a worker, reduced to its message (the original exception class
    may not exist on the driver, e.g. one defined in a module file imported per run)."""


# -- what the driver sends ----------------------------------------------------------
@dataclass(frozen=True)
class ModuleSource:
    """A Python module of the run as workers load it."""
    key: str  # the driver's module name
    kind: str  # file | import
    shown: str  # for messages: the file path or the import name
    path: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class FunctionRef:
    qualified: str
    module_key: str | None  # None: pickled by value
    is_async: bool


# -- worker side ------------------------------------------------------------------------------
@dataclass
class WorkerModules:
    """One run's modules as loaded in one worker process."""
    functions: dict[str, object] = field(default_factory=dict)  # qualified -> impl
    errors: dict[str, str] = field(default_factory=dict)  # module key -> sentence
    sys_names: list[str] = field(default_factory=list)
    scratch: Path | None = None  # where shipped module texts were written


_RUNS: dict[str, WorkerModules] = {}
_RUNS_LOCK = threading.Lock()


def _worker_address() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except ValueError:
        return "(unknown worker)"


def _import_file_as(source: ModuleSource, token: str, scratch: Path):
    """Import a shipped module file under a run-unique name. The driver's own path is used
    when the worker sees the same file (sibling imports work); otherwise the shipped text is
    written to the worker's scratch directory (one folder per module: equal file names)."""
    path = Path(source.path)
    if not (path.is_file() and path.read_text(encoding="utf-8") == source.text):
        folder = scratch / source.key
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / Path(source.path).name
        path.write_text(source.text, encoding="utf-8")
    name = f"{source.key}__run_{token}"
    spec = importlib.util.spec_from_file_location(name, path)
    py_module = importlib.util.module_from_spec(spec)
    sys.modules[name] = py_module  # dataclasses and typing look classes up through sys.modules
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(py_module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return name, py_module


def load_worker_modules(token: str, sources: list[ModuleSource], workdir: str,
                        address: str) -> WorkerModules:
    from constellation.runtime.modules import functions_of

    loaded = WorkerModules(scratch=Path(workdir) / "constellation-modules" / token)
    for source in sources:
        try:
            if source.kind == "file":
                name, py_module = _import_file_as(source, token, loaded.scratch)
                loaded.sys_names.append(name)
            else:
                py_module = importlib.import_module(source.key)
        except (Exception, SystemExit) as exc:  # any import failure becomes a sentence
            loaded.errors[source.key] = (
                f"Module {source.shown} cannot be imported on Dask worker {address}: "
                f"{type(exc).__name__}: {exc}")
            continue
        for fn in functions_of(py_module):
            loaded.functions[fn.qualified] = fn.impl
    return loaded


class ModulesPlugin(WorkerPlugin):
    """Loads one run's modules in every worker (also in workers that join later)."""

    def __init__(self, token: str, sources: list[ModuleSource], env: dict[str, str]):
        self.token, self.sources, self.env = token, sources, env

    def setup(self, worker) -> None:
        os.environ.update(self.env)
        loaded = load_worker_modules(self.token, self.sources, worker.local_directory,
                                     worker.address)
        with _RUNS_LOCK:
            _RUNS[self.token] = loaded

    def teardown(self, worker) -> None:
        with _RUNS_LOCK:
            loaded = _RUNS.pop(self.token, None)
        if loaded is None:
            return
        for name in loaded.sys_names:
            sys.modules.pop(name, None)
        folders = {str(p) for p in loaded.scratch.glob("*")} if loaded.scratch.exists() else ()
        sys.path[:] = [p for p in sys.path if p not in folders]
        shutil.rmtree(loaded.scratch, ignore_errors=True)


def import_problems(token: str, dask_worker=None) -> list[str]:
    """Run on each worker after the plugin is registered: its import failures."""
    loaded = _RUNS.get(token)
    if loaded is None:
        return [f"Dask worker {dask_worker.address} did not load the run's modules"]
    return list(loaded.errors.values())


def _resolve(token: str, ref: FunctionRef):
    loaded = _RUNS.get(token)
    if loaded is None:
        raise RemoteCallFailed(f"Dask worker {_worker_address()} has not loaded the modules "
                               f"of this run")
    if ref.module_key in loaded.errors:
        raise RemoteCallFailed(loaded.errors[ref.module_key])
    impl = loaded.functions.get(ref.qualified)
    if impl is None:
        raise RemoteCallFailed(f"Dask worker {_worker_address()} does not know the module "
                               f"function '{ref.qualified}'")
    return impl


# A task never raises: a module's failure is an expected outcome of a call (retries,
# fallbacks), not a worker error, so it travels as a result and Dask does not log it.
# UPSTREAM_FAILED: a chained call whose upstream call failed (or returned a value outside its
# declared type) is not called at all, as the driver skips it.
OK, FAILED, STOPPED, UPSTREAM_FAILED = "ok", "failed", "stopped", "upstream failed"


@dataclass(frozen=True)
class Chained:
    """An argument of a chained call that is an upstream call's outcome (its Dask future's
    result): at `position`, checked against the upstream's declared `result_t` and shaped to
    the parameter type `param_t`, as the driver checks and coerces it."""
    position: int
    result_t: object
    param_t: object


def _unchained(args: list, chained: tuple) -> list | None:
    """The arguments with each upstream outcome replaced by its value; None when an upstream
    failed, so the call must not run."""
    from constellation.runtime import values

    args = list(args)
    for link in chained:
        outcome = args[link.position]
        if outcome[0] != OK:
            return None
        ok, value = values.conform_and_coerce(outcome[1], link.result_t)
        if not ok:
            return None
        args[link.position] = values.coerce(value, link.param_t)
    return args


def failed(exc: Exception) -> tuple:
    """(FAILED, is a ModuleFailure, message)."""
    return FAILED, type(exc) is ModuleFailure, failure_message(exc)


def outcome_value(outcome: tuple) -> object:
    """The driver side: the call's value, or its failure raised again."""
    if outcome[0] == OK:
        return outcome[1]
    if outcome[0] == FAILED:
        raise (ModuleFailure if outcome[1] else RemoteCallFailed)(outcome[2])
    raise RemoteCallFailed("the call was stopped")  # only after the driver gave up on it


def call_sync(token: str, ref: FunctionRef, args: list, impl=None, key: str = "",
              chained: tuple = ()) -> tuple:
    """The task of a sync module call: runs in a worker thread."""
    if chained:
        args = _unchained(args, chained)
        if args is None:
            return (UPSTREAM_FAILED,)
    try:
        return OK, (impl or _resolve(token, ref))(*args)
    except Exception as exc:
        return failed(exc)
    except MODULE_EXITS as exc:  # fails the call, not the worker (issue 13 item 5)
        return FAILED, True, exit_message(ref.qualified.rpartition(".")[2], exc)


# Async calls running on this worker's event loop, by call key. Dask only releases the
# result of a cancelled running task; the driver's stop_call really cancels the coroutine.
_RUNNING: dict[str, asyncio.Task] = {}
_STOPPED: set[str] = set()


async def call_async(token: str, ref: FunctionRef, args: list, impl=None, key: str = "",
                     chained: tuple = ()) -> tuple:
    """The task of an async module call: runs on the worker's event loop."""
    if chained:
        args = _unchained(args, chained)
        if args is None:
            return (UPSTREAM_FAILED,)
    _RUNNING[key] = asyncio.current_task()
    try:
        return OK, await (impl or _resolve(token, ref))(*args)
    except asyncio.CancelledError:
        if key in _STOPPED:  # stopped by the driver: end quietly, nobody awaits the result
            _STOPPED.discard(key)
            return (STOPPED,)
        raise
    except Exception as exc:
        return failed(exc)
    except MODULE_EXITS as exc:
        return FAILED, True, exit_message(ref.qualified.rpartition(".")[2], exc)
    finally:
        _RUNNING.pop(key, None)


async def stop_call(key: str) -> bool:
    """Run on workers by the driver after a timeout or cancellation: cancel the call's
    coroutine if it runs here (a sync call's thread cannot be stopped; it runs to its end)."""
    task = _RUNNING.pop(key, None)
    if task is not None:
        _STOPPED.add(key)
        task.cancel()
    return task is not None
