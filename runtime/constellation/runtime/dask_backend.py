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

import asyncio
import inspect
import os
import re
import sys
import uuid
import warnings
import zlib
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Callable

from constellation.compiler import planir as ir
from constellation.compiler.options import CallOptions
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
FETCH_DEFER_S = 0.05  # how long a chained call's value may wait for its chain's (one gather)
# Environment the driver forwards to workers so that scaled runs keep their meaning there.
FORWARDED_ENV = ("CONSTELLATION_TIME_SCALE",)
DEFAULT_OPTIONS = CallOptions()
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
@dataclass(eq=False, slots=True)
class Submission:
    """One module call on its way to the cluster. `args` holds values, and at the positions
    `chained` names the upstream calls' Dask futures (the cluster passes their outcomes)."""
    fn: Function
    args: list
    priority: int
    key: str
    chained: tuple = ()
    node: int | None = None  # the plan node it calls, when it is one
    future: object = None  # its Dask future, once its batch is submitted
    # the chained calls that take this call's future, fetched with it when they have finished
    dependents: list[Submission] = field(default_factory=list)
    fetched: object = None  # the asyncio future of its outcome, once a gather fetches it


class DaskBackend:
    """Submits a run's module calls to the cluster in batches and gathers their results in
    batches: the calls submitted in one turn of the event loop go out together (one
    `client.map` per function kind, priority and worker), and the results that arrive
    together are fetched with one `client.gather`, instead of one round trip per call; a
    gather also takes the chained calls downstream of what it fetches that have finished by
    then, so a chain costs a few round trips rather than one per call."""

    def __init__(self, client, token: str, refs: dict[str, FunctionRef],
                 by_value: dict[str, object], pinned: dict[str, str]):
        self.client = client
        self.token = token
        self.refs = refs
        self.by_value = by_value
        self.pinned = pinned
        self.queue: list[Submission] = []  # to submit at the end of this loop turn
        self.flushed = None  # the asyncio future the queued submissions wait for
        self.to_gather: list[Submission] = []  # finished: fetched at the end of this turn
        self.on_submitted: Callable[[Submission], None] | None = None  # chaining (executor)

    def handles(self, fn: Function) -> bool:
        return fn.qualified in self.refs

    def enqueue(self, fn: Function, args: list, priority: int = 0, chained: tuple = (),
                node: int | None = None) -> Submission:
        """Queue a call for this loop turn's batch (submitted by `flush`)."""
        s = Submission(fn, args, priority, f"{fn.name}-{uuid.uuid4().hex}", chained, node)
        if self.flushed is None:
            loop = asyncio.get_running_loop()
            self.flushed = loop.create_future()
            loop.call_soon(self.flush)
        self.queue.append(s)
        return s

    def flush(self) -> None:
        """Submit the queued calls; the calls chained to them join the next wave of this same
        flush (their submit takes the upstream futures)."""
        flushed = self.flushed  # kept while flushing: chained calls join this flush
        try:
            while self.queue:
                wave, self.queue = self.queue, []
                self._submit_wave(wave)
                if self.on_submitted is not None:
                    for s in wave:
                        self.on_submitted(s)
        except BaseException as exc:  # e.g. the client closed: every waiting call fails
            self.queue = []
            if not flushed.done():
                flushed.set_exception(exc)
            return
        finally:
            self.flushed = None
        if not flushed.done():
            flushed.set_result(None)

    def _submit_wave(self, wave: list[Submission]) -> None:
        from constellation.runtime.dask_worker import call_async, call_sync

        groups: dict[tuple, list[Submission]] = {}
        for s in wave:
            groups.setdefault((s.fn.qualified, s.priority), []).append(s)
        for (qualified, priority), group in groups.items():
            ref = self.refs[qualified]
            pinned = self.pinned.get(qualified)
            n = len(group)
            futures = self.client.map(
                call_async if ref.is_async else call_sync, [self.token] * n, [ref] * n,
                [s.args for s in group], [self.by_value.get(qualified)] * n,
                [s.key for s in group], [s.chained for s in group],
                key=[s.key for s in group], pure=False, priority=priority,
                workers=[pinned] if pinned else None, allow_other_workers=bool(pinned))
            for s, future in zip(group, futures):
                s.future = future

    async def call(self, fn: Function, args: list, priority: int = 0) -> object:
        """Submit a call (with this loop turn's batch) and return its value."""
        return await self.result(self.enqueue(fn, args, priority))

    async def result(self, s: Submission) -> object:
        """The value of a submitted call; a timeout or cancel stops it on the cluster."""
        import anyio

        from constellation.runtime.dask_worker import outcome_value

        try:
            if s.future is None:
                await self.flushed_for(s)
            return outcome_value(await self.gathered(s))
        except BaseException:
            if s.future is None:  # cancelled before its batch went out: it never will
                if s in self.queue:
                    self.queue.remove(s)
            elif not s.future.done():  # a timeout or cancellation: stop the remote call
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    await self.stop([s])
            raise

    async def flushed_for(self, s: Submission) -> None:
        while s.future is None:
            await asyncio.shield(self.flushed)

    async def stop(self, submissions: list[Submission]) -> None:
        from constellation.runtime.dask_worker import stop_call

        futures = [s.future for s in submissions if s.future is not None]
        if not futures:
            return
        await self.client.cancel(futures)
        for s in submissions:  # dask leaves a running task running: cancel it there
            if s.future is not None and self.refs[s.fn.qualified].is_async:
                await self.client.run(stop_call, s.key)

    async def gathered(self, s: Submission) -> object:
        """The call's outcome, fetched with the others finished in the same loop turn, or
        already fetched with its upstream call's batch."""
        if s.fetched is None:
            future = s.future
            await future._state.wait()  # what `await future` waits on, without its own gather
            if s.fetched is None and future.status == "finished" and s.dependents:
                await self._downstream_settled(s)
            if s.fetched is None:  # not taken by a batch meanwhile
                if future.status != "finished":
                    return await future  # raises the cancellation or the worker's error
                self._fetch(s)
        return await s.fetched

    async def _downstream_settled(self, s: Submission) -> None:
        """A finished call whose chained calls still run is fetched with them once they
        have finished too, or after FETCH_DEFER_S: one gather for a quick chain's values
        (each gather costs the scheduler work the chain waits for), and each call of a slow
        chain still reported within FETCH_DEFER_S of finishing."""
        import anyio

        with anyio.move_on_after(FETCH_DEFER_S):
            todo = list(s.dependents)
            while todo and s.fetched is None:
                d = todo[-1]
                if d.future is None:  # not submitted yet: nothing to wait for
                    return
                if d.future.status == "pending":
                    await d.future._state.wait()
                    continue
                todo.pop()
                if d.future.status == "finished":
                    todo += d.dependents

    def _fetch(self, s: Submission) -> None:
        loop = asyncio.get_running_loop()
        s.fetched = loop.create_future()
        if not self.to_gather:
            loop.call_soon(self._gather_batch)
        self.to_gather.append(s)

    def _gather_batch(self) -> None:
        batch, self.to_gather = self.to_gather, []
        loop = asyncio.get_running_loop()
        downstream = [d for s in batch for d in s.dependents]
        while downstream:  # chained calls that finished before their driver task came
            d = downstream.pop()
            if d.fetched is None and d.future is not None and d.future.status == "finished":
                d.fetched = loop.create_future()
                batch.append(d)
                downstream += d.dependents
        loop.create_task(self._gather(batch))

    async def _gather(self, batch: list[Submission]) -> None:
        try:
            results = await self.client.gather([s.future for s in batch])
        except Exception:  # one of them was lost or released meanwhile: one by one
            for s in batch:
                try:
                    result = await self.client.gather(s.future)
                except Exception as exc:
                    _settle(s.fetched, error=exc)
                else:
                    _settle(s.fetched, result)
            return
        for s, result in zip(batch, results):
            _settle(s.fetched, result)


def _settle(waiter: asyncio.Future, result: object = None, *,
            error: BaseException | None = None) -> None:
    if waiter.done():
        return
    if error is None:
        waiter.set_result(result)
        return
    waiter.set_exception(error)
    waiter.exception()  # retrieved: an outcome nobody came for logs nothing when freed


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
    functions) run locally. Chained calls (`Chains`) were submitted with their upstream call;
    their invoke awaits the future already on the cluster."""

    def __init__(self, backend: DaskBackend, local, chains: Chains | None = None):
        self.backend = backend
        self.local = local
        self.chains = chains
        if chains is not None:
            backend.on_submitted = chains.submitted

    async def invoke(self, fn: Function, args: list, c) -> object:
        backend = self.backend
        if not backend.handles(fn):
            return await self.local.invoke(fn, args, c)
        node = c.call.node if c.st is not None else None
        if self.chains is not None and node is not None:
            ahead = self.chains.ahead.pop(node, None)
            if ahead is not None:
                return await backend.result(ahead)
        return await backend.result(backend.enqueue(fn, args, c.opts.priority, node=node))

    async def close(self) -> None:
        """Stop the chained calls no driver task came for (their upstream failed, the run
        was cancelled): on the cluster they end at once or are cancelled."""
        chains = self.chains
        if chains is None:
            return
        try:
            if chains.ahead:
                left = list(chains.ahead.values())
                chains.ahead.clear()
                await self.backend.stop(left)
        finally:  # the run's Dask futures are released now, while the client is open,
            chains.submitted_calls.clear()  # not whenever the collector frees the run


class Chains:
    """Dependent module calls chained as futures (issue 15 item 4): a call whose arguments
    are constants, run inputs, or the values of upstream module calls, with no driver-side
    option on either (every option is a step in the driver, steps.py; so is the bounded
    scheduler's admission) is submitted as soon as its upstream calls are, taking their
    futures as arguments. The cluster runs it when they finish, without a round trip
    through the driver; the driver still reports each call when its turn comes, so events
    and results are those of the local executor. A chained call whose upstream failed is
    not called on the worker (dask_worker.UPSTREAM_FAILED), as the driver skips it."""

    def __init__(self, run, backend: DaskBackend):
        self.run = run
        self.backend = backend
        self.links: dict[int, list[int]] = {}  # upstream node -> its chained dependents
        self.upstreams: dict[int, tuple[int, ...]] = {}  # dependent -> its upstream nodes
        self.submitted_calls: dict[int, Submission] = {}  # submitted upstream node -> its call
        self.ahead: dict[int, Submission] = {}  # dependent node -> its submitted call
        nodes = run.plan.nodes
        for n in nodes:
            ups = self._upstreams(n) if self._plain_call(n) else None
            if ups:
                self.upstreams[n.id] = ups
                for u in ups:
                    self.links.setdefault(u, []).append(n.id)

    @staticmethod
    def possible(run) -> bool:
        """Chaining needs every call to go straight to its attempt: no bounded scheduler
        (its admission is a driver step) and not --serial (one call at a time)."""
        return not run.config.serial and not run.scheduler.bounded

    def _plain_call(self, n) -> bool:
        """A module call of the cluster with no option and started with its inputs."""
        if n.kind != "module" or n.demand_driven or n.fn is None or n.fn < 0:
            return False
        fn = self.run.functions[n.fn]
        return (fn is not None and self.backend.handles(fn)
                and n.code.options == DEFAULT_OPTIONS)

    def _upstreams(self, n) -> tuple[int, ...]:
        nodes = self.run.plan.nodes
        ups = []
        for arg in n.code.args:
            if type(arg) is ir.Const:
                continue
            if type(arg) is not ir.Ref:
                return ()
            target = nodes[arg.node]
            if target.kind == "input":
                continue
            if not self._plain_call(target):
                return ()
            ups.append(target.id)
        return tuple(dict.fromkeys(ups))

    def submitted(self, s: Submission) -> None:
        """An upstream call went out: submit the dependents whose upstreams all have."""
        if s.node is None or s.node not in self.links:
            return
        self.submitted_calls[s.node] = s
        for d in self.links[s.node]:
            if d not in self.ahead and all(u in self.submitted_calls for u in self.upstreams[d]):
                st = self.run.states[d]
                if not st.started:
                    self.ahead[d] = self._submit(d)

    def _submit(self, d: int) -> Submission:
        from constellation.runtime.dask_worker import Chained

        node = self.run.plan.nodes[d]
        fn = self.run.functions[node.fn]
        nodes = self.run.plan.nodes
        args, chained = [], []
        for i, (arg, (_, param_t)) in enumerate(zip(node.code.args, fn.params)):
            if type(arg) is ir.Const:
                args.append(coerce_args_at(arg.value, param_t))
            elif nodes[arg.node].kind == "input":
                args.append(coerce_args_at(self.run.states[arg.node].value, param_t))
            else:
                args.append(self.submitted_calls[arg.node].future)
                chained.append(Chained(i, nodes[arg.node].code.result_t, param_t))
        s = self.backend.enqueue(fn, args, node.code.options.priority, tuple(chained), d)
        for u in self.upstreams[d]:
            self.submitted_calls[u].dependents.append(s)
        return s


def coerce_args_at(value: object, t) -> object:
    """One argument shaped to its parameter type, as calls.coerce_args does."""
    from constellation.compiler import types as T
    from constellation.runtime import values

    return value if t.__class__ is T.Prim and t.name != "Float" else values.coerce(value, t)


@asynccontextmanager
async def dask_executor(run) -> AsyncIterator[DaskExecutor]:
    """The executor of a run on the cluster of `run.config.dask_address`. Starting a cluster
    is not interrupted: a cancel during it cancels the run as soon as it starts."""
    import anyio

    from constellation.runtime.calls import LocalExecutor

    try:
        asyncio.get_running_loop()  # none under trio
    except RuntimeError:
        raise _rejected("The dask executor needs the asyncio backend (distributed's client "
                        "runs on asyncio); run with backend='asyncio'") from None
    async with open_backend(run.functions, run.registry,
                            run.config.dask_address or LOCAL_ADDRESS,
                            tuple(run.config.dask_colocate or ())) as backend:
        chains = Chains(run, backend) if Chains.possible(run) else None
        executor = DaskExecutor(backend, LocalExecutor(run), chains)
        try:
            yield executor
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await executor.close()
