"""The Dask executor (issue 6): module calls run on a Dask distributed cluster.

The driver keeps everything else: plan, layer gate, inline expressions, stdlib and
higher-order calls, and every module option (priority, throttle, concurrency, cache, retry,
timeout, fallback, on_error) since those are steps around the attempt. `DaskExecutor` is the
run's executor (calls.Executor): only the module implementation itself is submitted, through
an asynchronous `distributed.Client` on the run's asyncio loop.

Modules reach the workers in one of three ways (docs/scaling.md):
- module files (constellation.toml / --modules `*.py`) are shipped with a worker plugin and
  imported afresh for every run, as a fresh `cst run` process would import them;
- importable modules ("package.module") are imported by name: install the package on workers;
- functions of a driver script's `__main__` are pickled by value.
A worker that cannot import a module rejects the run with a sentence naming module and worker.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import uuid
import warnings
import zlib
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator

from constellation.compiler.registry import Function
from constellation.runtime.inputs import RunRejected

if TYPE_CHECKING:  # dask_worker imports distributed: only loaded for a dask-executor run
    from constellation.runtime.dask_worker import FunctionRef, ModuleSource

EXECUTORS = ("local", "dask")
LOCAL_ADDRESS = "local"
LOCAL_WORKERS = 2
# Module calls are mostly waiting (services, I/O): several threads per worker process let a
# layer of sync calls overlap; async modules run on the worker's event loop and need none.
LOCAL_THREADS_PER_WORKER = 4
CONNECT_TIMEOUT_S = 20.0
# Environment the driver forwards to workers so that scaled runs keep their meaning there.
FORWARDED_ENV = ("CONSTELLATION_TIME_SCALE",)
_FILE_PREFIX = "_cst_module_"  # how modules.py names the module files it imports


# -- settings ---------------------------------------------------------------------------------
def check_executor(executor: str | None, address: str | None) -> tuple[str, str | None]:
    """(executor, address) validated; raises ValueError with a sentence."""
    executor = executor or "local"
    if executor not in EXECUTORS:
        raise ValueError(f"Unknown executor '{executor}' (use local or dask)")
    if executor == "dask":
        address = address or LOCAL_ADDRESS
        if address != LOCAL_ADDRESS and not re.match(r"^([a-z]+://)?[^\s:/]+:\d+$", address):
            raise ValueError(f"Dask address '{address}' is not tcp://host:port or 'local'")
    return executor, address


def cli_settings(cst_path: str, executor: str | None, address: str | None,
                 colocate: list[str] | None) -> dict:
    """The executor keyword arguments of a `cst run`: flag, then environment, then
    constellation.toml (RunConfig.resolve applies the environment to what is left None).
    Raises ValueError with a sentence when a setting of the file has the wrong shape."""
    from constellation.compiler.project import ProjectConfig

    toml = ProjectConfig.find(cst_path)
    if toml is not None and toml.executor_errors:
        raise ValueError(toml.executor_errors[0])
    if executor is None and not os.environ.get("CONSTELLATION_EXECUTOR") and toml is not None:
        executor = toml.executor
    if address is None and not os.environ.get("CONSTELLATION_DASK_ADDRESS") and toml is not None:
        address = toml.dask_address
    if not colocate and toml is not None:
        colocate = toml.dask_colocate
    return {"executor": executor, "dask_address": address, "dask_colocate": tuple(colocate or ())}


# -- how a function reaches a worker ----------------------------------------------------------
def user_function(fn: Function):
    """The decorated Python function behind a registry entry's adapter(s)."""
    return inspect.unwrap(fn.impl)


def module_source(fn: Function) -> ModuleSource | None:
    """Where workers find `fn`; None when it must be pickled by value (a script's __main__)."""
    from constellation.runtime.dask_worker import ModuleSource

    name = getattr(user_function(fn), "__module__", None) or "__main__"
    if name == "__main__":
        return None
    py_module = sys.modules.get(name)
    file = getattr(py_module, "__file__", None)
    if name.startswith(_FILE_PREFIX) and file:
        path = Path(file)
        return ModuleSource(name, "file", _display(path), str(path),
                            path.read_text(encoding="utf-8"))
    return ModuleSource(name, "import", name)


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def remote_functions(functions: list[Function]) -> list[Function]:
    """User module functions the plan calls (as nodes or inside lambdas)."""
    seen: dict[str, Function] = {}
    for fn in functions:
        if fn is not None and runs_remotely(fn):
            seen.setdefault(fn.qualified, fn)
    return list(seen.values())


def runs_remotely(fn: Function) -> bool:
    """Only user module calls go to the cluster: stdlib and higher-order calls stay local."""
    return (fn.impl is not None and not fn.higher_order
            and not (fn.namespace or "").startswith("stdlib"))


# -- driver side ------------------------------------------------------------------------------
class DaskBackend:
    """Submits a run's module calls to the cluster and awaits them."""

    def __init__(self, client, token: str, refs: dict[str, FunctionRef],
                 by_value: dict[str, object], pinned: dict[str, str]):
        self.client = client
        self.token = token
        self.refs = refs
        self.by_value = by_value
        self.pinned = pinned

    def handles(self, fn: Function) -> bool:
        return fn.qualified in self.refs

    async def call(self, fn: Function, args: list, priority: int = 0) -> object:
        import anyio

        from constellation.runtime.dask_worker import (call_async, call_sync, outcome_value,
                                                        stop_call)

        ref = self.refs[fn.qualified]
        key = f"{fn.name}-{uuid.uuid4().hex}"
        extra = (key,) if ref.is_async else ()
        pinned = self.pinned.get(fn.qualified)
        future = self.client.submit(
            call_async if ref.is_async else call_sync, self.token, ref, list(args),
            self.by_value.get(fn.qualified), *extra, key=key, pure=False, priority=priority,
            workers=[pinned] if pinned else None, allow_other_workers=bool(pinned))
        try:
            return outcome_value(await future)
        except BaseException:
            if not future.done():  # a timeout or cancellation: stop the remote call
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    await self.client.cancel([future])
                    if ref.is_async:  # dask leaves a running task running: cancel it there
                        await self.client.run(stop_call, key)
            raise


def _pin(names: tuple[str, ...], refs: dict[str, FunctionRef], workers: list[str],
         registry) -> dict[str, str]:
    """Co-located functions: each runs all its calls of a run on one worker, chosen by a
    stable hash of its name (so per-process module state behaves as in one local process).
    Names the program does not call are ignored (one constellation.toml serves many
    programs); names no loaded module declares are rejected (a typo)."""
    unknown = [n for n in names if n != "*" and registry.lookup(n) is None]
    if unknown:
        raise RunRejected([{"message": f"dask_colocate names '{n}', but no loaded module "
                                       f"declares a function of that name",
                            "line": None, "column": None} for n in unknown])
    chosen = list(refs) if "*" in names else [n for n in names if n in refs]
    return {n: workers[zlib.crc32(n.encode()) % len(workers)] for n in chosen}


def _rejected(message: str) -> RunRejected:
    return RunRejected([{"message": message, "line": None, "column": None}])


@asynccontextmanager
async def _client_for(address: str) -> AsyncIterator[object]:
    """An asynchronous client of the cluster at `address`, or of a fresh LocalCluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise _rejected("The dask executor needs Dask: pip install 'constellation-lang[dask]'"
                        ) from None
    if address != LOCAL_ADDRESS:
        try:
            client = await Client(address, asynchronous=True, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise _rejected(f"Cannot connect to the Dask scheduler at {address}: {exc}"
                            ) from None
        async with _closing(client):
            yield client
        return
    with warnings.catch_warnings():
        # without a dashboard the scheduler still serves health checks, on 8787 or on any
        # free port when that one is taken (it warns then): nothing for the user
        warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
        cluster = await LocalCluster(n_workers=LOCAL_WORKERS,
                                     threads_per_worker=LOCAL_THREADS_PER_WORKER,
                                     processes=True, dashboard_address=None, host="127.0.0.1",
                                     asynchronous=True)
    async with _closing(cluster):
        client = await Client(cluster, asynchronous=True)
        async with _closing(client):
            yield client


@asynccontextmanager
async def _closing(resource) -> AsyncIterator[None]:
    """Close a client or cluster even when the run is being cancelled (a consumer of
    `events()` that stops early): otherwise worker processes would outlive the run."""
    import anyio

    try:
        yield
    finally:
        with anyio.CancelScope(shield=True):
            await resource.close()


def _prepare_functions(functions: list[Function]):
    from constellation.runtime.dask_worker import FunctionRef

    refs: dict[str, FunctionRef] = {}
    by_value: dict[str, object] = {}
    sources: dict[str, ModuleSource] = {}
    for fn in functions:
        source = module_source(fn)
        is_async = inspect.iscoroutinefunction(fn.impl)
        refs[fn.qualified] = FunctionRef(fn.qualified, source.key if source else None, is_async)
        if source is None:
            by_value[fn.qualified] = fn.impl
        else:
            sources.setdefault(source.key, source)
    return refs, by_value, list(sources.values())


async def _workers(client) -> list[str]:
    try:
        await client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError:
        raise _rejected(f"The Dask cluster at {client.scheduler.address} has no workers") from None
    return sorted(client.scheduler_info(n_workers=-1)["workers"])


@asynccontextmanager
async def open_backend(functions: list[Function], registry, address: str,
                       colocate: tuple[str, ...] = ()) -> AsyncIterator[DaskBackend]:
    """Connect (or start a LocalCluster), ship the modules, check every worker imports them."""
    import anyio

    from constellation.runtime.dask_worker import ModulesPlugin, import_problems

    refs, by_value, sources = _prepare_functions(remote_functions(functions))
    token = uuid.uuid4().hex[:12]
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    async with _client_for(address) as client:
        workers = await _workers(client)
        pinned = _pin(tuple(colocate), refs, workers, registry)
        plugin_name = f"constellation-modules-{token}"
        await client.register_plugin(ModulesPlugin(token, sources, env), name=plugin_name)
        try:
            problems = await client.run(import_problems, token)
            sentences = sorted({p for ps in problems.values() for p in ps})
            if sentences:
                raise RunRejected([{"message": s, "line": None, "column": None}
                                   for s in sentences])
            yield DaskBackend(client, token, refs, by_value, pinned)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                await client.unregister_worker_plugin(plugin_name)


class DaskExecutor:
    """The run's executor on a cluster: user module calls are submitted, the rest (stdlib
    functions) run locally."""

    def __init__(self, backend: DaskBackend, local):
        self.backend = backend
        self.local = local

    async def invoke(self, fn: Function, args: list, c) -> object:
        if self.backend.handles(fn):
            return await self.backend.call(fn, args, priority=c.opts.priority)
        return await self.local.invoke(fn, args, c)


@asynccontextmanager
async def dask_executor(run) -> AsyncIterator[DaskExecutor]:
    """The executor of a run on the cluster of `run.config.dask_address`. Starting a cluster
    is not interrupted: a cancel during it cancels the run as soon as it starts."""
    import asyncio

    from constellation.runtime.calls import LocalExecutor

    try:
        asyncio.get_running_loop()  # none under trio
    except RuntimeError:
        raise _rejected("The dask executor needs the asyncio backend (distributed's client "
                        "runs on asyncio); run with backend='asyncio'") from None
    async with open_backend(run.functions, run.registry,
                            run.config.dask_address or LOCAL_ADDRESS,
                            tuple(run.config.dask_colocate or ())) as backend:
        yield DaskExecutor(backend, LocalExecutor(run))
