"""The option steps of runtime/steps.py (LANGUAGE.md §6.4): each step alone around a fake next
step, then composed by `chain` in the order of §6.4. Real anyio time; timings are ratios."""

from __future__ import annotations

import time
from types import SimpleNamespace

import anyio
import pytest

from constellation.compiler import types as T
from constellation.compiler.options import CallOptions
from constellation.runtime import steps
from constellation.runtime.errors import RunError
from constellation.runtime.limits import SHARED, Scheduler
from constellation.runtime.watchdog import Watchdog

from runtime_helpers import compile_program

pytestmark = pytest.mark.anyio
D = 0.05  # the unit of time of these tests (s): well above the loop's noise


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


class FakeEvaluator:
    """Evaluates a fallback 'expression': a value, or a RunError to raise."""

    def __init__(self, host):
        self.host = host
        self.seen: list[tuple] = []

    async def eval(self, expr, env):
        self.seen.append((expr, env, self.host.probe()))
        await anyio.sleep(0)
        if isinstance(expr, RunError):
            raise expr
        return expr


class FakeHost:
    """What steps.Host asks of a run, recorded."""

    def __init__(self, analysis, slots: int | None = None):
        self.source = analysis.source
        self.scale = 1.0
        self.scheduler = Scheduler(slots)
        self.watch = Watchdog()
        self.handled: list[RunError] = []
        self.events: list[tuple] = []
        self.log: list[str] = []
        self.reparks: list[bool] = []
        self.evaluator = FakeEvaluator(self)
        self.probe = lambda: None  # what the fallback evaluation observes of the limits

    def emit_node(self, event, node, **fields):
        self.events.append((event, fields))

    def add_log(self, line):
        self.log.append(line)

    def call_error(self, call, fn, message):
        line, col = self.source.line_col(call.span.start)
        return RunError(message, line, col, fn.qualified)

    def repark(self, st):
        self.reparks.append(st.awaiting_fallback)

    def admission_key(self, call, opts, st):
        return opts.priority, call.span.start

    def named(self, event):
        return [fields for name, fields in self.events if name == event]


@pytest.fixture
def program(registry):
    analysis = compile_program("in r: String\nx = Uppercase(r)\nout x", registry)
    node = next(n for n in analysis.plan.nodes if n.kind == "module")
    return analysis, node


@pytest.fixture
def make(program):
    """make(host=None, result_t=String, **options) -> a CallContext of `Uppercase(r)`."""
    analysis, node = program

    def go(host=None, result_t=T.STRING, args=("r",), **options):
        host = host or FakeHost(analysis)
        st = SimpleNamespace(node=node, began=False, awaiting_fallback=False, t_start=None)
        return steps.CallContext(host, node.call, node.function, CallOptions(**options),
                                 list(args), st, {"local": 1}, result_t)
    return go


def script(*outcomes, sleep: float = 0.0):
    """A fake next step: returns or raises each outcome in turn (the last one repeats),
    recording when each invocation starts and ends."""
    calls: list[list[float]] = []

    async def next_step(c):
        entry = [time.monotonic(), None]
        calls.append(entry)
        try:
            outcome = outcomes[min(len(calls), len(outcomes)) - 1]
            wait = outcome if isinstance(outcome, float) else sleep
            if wait:
                await anyio.sleep(wait)
            if isinstance(outcome, RunError):
                raise outcome
            return "slept" if isinstance(outcome, float) else outcome
        finally:
            entry[1] = time.monotonic()
    next_step.calls = calls
    return next_step


def boom(n: int = 1) -> RunError:
    return RunError(f"boom {n}", 2, 5, "Uppercase")


# -- each step alone ------------------------------------------------------------------------
async def test_retry_repeats_failed_attempts_with_linear_backoff(make):
    c = make(retry=2, delay_ms=int(D * 1000), backoff="linear")
    inner = script(boom(1), boom(2), "ok")
    assert await steps.with_retry(c, inner) == "ok"
    assert c.attempts == 3 and c.st.began
    assert [f["attempt"] for f in c.host.named("node_started")] == [1, 2, 3]
    assert [(f["attempt"], f["error"], f["delay_ms"]) for f in c.host.named("node_retrying")] == [
        (1, "boom 1", D * 1000), (2, "boom 2", 2 * D * 1000)]
    starts = [s for s, _ in inner.calls]
    first, second = starts[1] - starts[0], starts[2] - starts[1]
    assert first >= D * 0.9 and second / first == pytest.approx(2.0, rel=0.35)


async def test_retry_exhausted_names_the_attempts_and_no_retry_keeps_the_error(make):
    c = make(retry=2)
    with pytest.raises(RunError) as info:
        await steps.with_retry(c, script(boom(1), boom(2), boom(3)))
    assert info.value.message == "'Uppercase' failed after 3 attempts: boom 3"
    assert (info.value.line, info.value.column, c.attempts) == (2, 5, 3)
    c, error = make(), boom()
    with pytest.raises(RunError) as info:
        await steps.with_retry(c, script(error))
    assert info.value is error and c.attempts == 1 and not c.host.named("node_retrying")


def test_retry_waits_follow_the_backoff_and_are_capped():
    opts = CallOptions(retry=5, delay_ms=10_000, backoff="exponential")
    assert [steps.retry_wait_s(opts, k) for k in range(1, 5)] == [10.0, 20.0, 30.0, 30.0]
    assert steps.retry_wait_s(CallOptions(retry=2), 1) == 0.0  # no delay: immediate
    assert steps.retry_wait_s(CallOptions(retry=2, delay_ms=100), 2, scale=0.5) == 0.05


async def test_timeout_cuts_a_slow_attempt_and_lets_a_quick_one_through(make):
    c = make(timeout_ms=int(D * 1000))
    t0 = time.monotonic()
    with pytest.raises(RunError) as info:
        await steps.with_timeout(c, script(20 * D))
    elapsed = time.monotonic() - t0
    assert info.value.message == "'Uppercase' timed out after 50ms"
    assert elapsed / D == pytest.approx(1.0, abs=0.6)  # cut at its deadline, not after 20x
    assert c.due is None and not c.host.watch.deadlines  # the watchdog forgot the deadline
    seen = []

    async def quick(c):
        seen.append((c.due, dict(c.host.watch.deadlines)))
        return "ok"
    assert await steps.with_timeout(c, quick) == "ok"
    due, deadlines = seen[0]
    assert list(deadlines.values()) == [due] and due > t0


async def test_throttle_spaces_calls_by_the_rate(make):
    window_ms = int(4 * D * 1000)
    starts = []

    async def started(c):
        starts.append(time.monotonic())

    async def one():
        await steps.with_throttle(make(throttle=(2, window_ms)), started)
    t0 = time.monotonic()
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(one)
    rel = sorted(s - t0 for s in starts)
    window = window_ms / 1000  # 2 at once, then one every half window
    assert rel[1] < window * 0.2
    assert rel[3] / rel[2] == pytest.approx(2.0, rel=0.25)
    assert rel[4] / rel[2] == pytest.approx(3.0, rel=0.25)
    assert rel[2] == pytest.approx(window / 2, rel=0.3)


async def test_concurrency_holds_n_permits_per_function_and_limit(make):
    inner = script("ok", sleep=D)
    t0 = time.monotonic()
    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(steps.with_concurrency, make(concurrency=2), inner)
    elapsed = time.monotonic() - t0
    peak = max(sum(1 for s, e in inner.calls if s <= start < e) for start, _ in inner.calls)
    assert peak == 2 and elapsed / D == pytest.approx(3.0, rel=0.3)
    assert SHARED.semaphore("Uppercase", 2).free == 2  # every permit back


async def test_cache_stores_successes_only_and_a_hit_runs_nothing(make):
    c = make(cache_ms=60_000)
    with pytest.raises(RunError):
        await steps.with_cache(c, script(boom()))
    inner = script("R")
    assert await steps.with_cache(make(cache_ms=60_000), inner) == "R"
    hit = make(cache_ms=60_000)
    assert await steps.with_cache(hit, script(boom())) == "R"
    assert hit.cache_hit and len(inner.calls) == 1
    other = make(cache_ms=60_000, args=("s",))  # another argument: another key
    assert await steps.with_cache(other, script("S")) == "S" and not other.cache_hit
    named = make(cache_ms=60_000, cache_backend="elsewhere")  # another store
    assert await steps.with_cache(named, script("E")) == "E" and not named.cache_hit


async def test_cache_single_flight_and_followers_proceed_after_a_failed_leader(make):
    inner = script("R", sleep=2 * D)
    contexts = [make(cache_ms=60_000) for _ in range(3)]
    async with anyio.create_task_group() as tg:
        for c in contexts:
            tg.start_soon(steps.with_cache, c, inner)
    assert len(inner.calls) == 1 and sorted(c.cache_hit for c in contexts) == [False, True, True]
    failing = script(boom(), "late", sleep=D)
    results = []

    async def one(c):
        try:
            results.append(await steps.with_cache(c, failing))
        except RunError as exc:
            results.append(exc.message)
    async with anyio.create_task_group() as tg:
        for arg in ("q", "q"):
            tg.start_soon(one, make(cache_ms=60_000, args=(arg,)))
    (first_start, first_end), (second_start, _) = failing.calls
    assert sorted(results) == ["boom 1", "late"] and second_start >= first_end


async def test_priority_admits_by_priority_and_sets_the_start_at_admission(make, program):
    host = FakeHost(program[0], slots=1)
    order = []

    async def one(priority, tag):
        async def admitted(c):
            order.append((tag, c.st.t_start))
            await anyio.sleep(D)
        await steps.with_priority(make(host=host, priority=priority), admitted)
    async with anyio.create_task_group() as tg:
        tg.start_soon(host.scheduler.run_dispatcher)
        async with anyio.create_task_group() as calls:
            for priority, tag in ((20, "low"), (100, "critical"), (50, "normal")):
                calls.start_soon(one, priority, tag)
        tg.cancel_scope.cancel()
    assert [tag for tag, _ in order] == ["critical", "normal", "low"]
    starts = [t for _, t in order]
    assert (starts[2] - starts[0]) / (starts[1] - starts[0]) == pytest.approx(2.0, rel=0.3)
    assert host.scheduler.busy == 0


async def test_fallback_is_not_evaluated_after_a_success(make):
    c = make(fallback="fb")
    assert await steps.with_fallback(c, script("R")) == "R"
    assert not c.host.evaluator.seen and not c.host.reparks


async def test_fallback_value_replaces_the_failure_parked_and_coerced(make):
    c = make(fallback=1, result_t=T.FLOAT)
    assert await steps.with_fallback(c, script(boom())) == 1.0
    assert isinstance(await steps.with_fallback(c, script(boom())), float)  # Int -> Float
    assert [env for _, env, _ in c.host.evaluator.seen] == [{"local": 1}] * 2
    assert c.host.reparks == [True, False] * 2 and not c.st.awaiting_fallback
    failing = make(fallback=boom(9))
    with pytest.raises(RunError, match="boom 9"):  # its own failure continues outward
        await steps.with_fallback(failing, script(boom()))
    assert failing.host.reparks == [True, False]


@pytest.mark.parametrize("mode,failed,log", [
    ("skip", "", []),
    ("log", "", ["on_error=log: 'Uppercase' at 2:5 failed: boom 1"]),
    ("wrap", {"value": None, "error": "boom 1"}, []),
])
async def test_on_error_turns_a_failure_into_a_value(make, mode, failed, log):
    c = make(on_error=mode)
    error = boom()
    assert await steps.with_on_error(c, script(error)) == failed
    assert c.host.log == log and c.host.handled == [error]
    success = "R" if mode != "wrap" else {"value": "R", "error": None}
    assert await steps.with_on_error(c, script("R")) == success


# -- composed: the order of §6.4 --------------------------------------------------------------
def kinds(opts: CallOptions, admission: bool = False) -> list[str]:
    composed, names = steps.chain(opts, "function", admission=admission), []
    while not isinstance(composed, str):
        names.append(composed.func.__name__.removeprefix("with_"))
        composed = composed.keywords["next_step"]
    return names


def test_chain_has_one_step_per_option_in_the_order_of_6_4():
    everything = CallOptions(retry=1, timeout_ms=10, delay_ms=10, fallback=1, cache_ms=10,
                             throttle=(1, 10), concurrency=1, on_error="skip", priority=80)
    assert kinds(everything, admission=True) == [
        "on_error", "fallback", "priority", "throttle", "concurrency", "cache", "retry",
        "timeout"]
    assert kinds(CallOptions()) == ["retry"]  # every call reports its attempts
    assert kinds(CallOptions(priority=80)) == ["retry"]  # unbounded: priority takes no slot
    assert kinds(CallOptions(on_error="propagate", timeout_ms=5)) == ["retry", "timeout"]


async def test_timeout_is_per_attempt_inside_retry(make):
    c = make(retry=1, timeout_ms=int(2 * D * 1000))
    inner = script(20 * D, "ok")
    t0 = time.monotonic()
    assert await steps.chain(c.opts, inner, admission=False)(c) == "ok"
    elapsed = time.monotonic() - t0
    assert c.attempts == 2 and elapsed / (2 * D) == pytest.approx(1.0, abs=0.6)
    assert [f["error"] for f in c.host.named("node_retrying")] == [
        "'Uppercase' timed out after 100ms"]


async def test_retries_happen_inside_one_cache_miss_and_a_hit_runs_no_attempt(make):
    failing = make(retry=2, cache_ms=60_000)
    inner = script(boom(1), boom(2), boom(3))
    with pytest.raises(RunError, match="failed after 3 attempts"):
        await steps.chain(failing.opts, inner, admission=False)(failing)
    assert len(inner.calls) == 3  # a failure after its retries: nothing stored
    flaky = make(retry=2, cache_ms=60_000)
    assert await steps.chain(flaky.opts, script(boom(), "R"), admission=False)(flaky) == "R"
    hit = make(retry=2, cache_ms=60_000)
    assert await steps.chain(hit.opts, script(boom()), admission=False)(hit) == "R"
    assert hit.cache_hit and hit.attempts == 0 and not hit.host.named("node_started")


async def test_fallback_after_retries_then_on_error_only_if_the_fallback_fails(make):
    c = make(retry=2, fallback="fb", on_error="skip")
    inner = script(boom())
    assert await steps.chain(c.opts, inner, admission=False)(c) == "fb"
    assert len(inner.calls) == 3 and c.host.handled == []  # on_error did not act
    failing = make(retry=1, fallback=boom(7), on_error="skip")
    assert await steps.chain(failing.opts, script(boom()), admission=False)(failing) == ""
    assert [e.message for e in failing.host.handled] == ["boom 7"]


async def test_cache_hit_is_wrapped_and_fallback_values_are_never_cached(make):
    stored = make(cache_ms=60_000)
    await steps.chain(stored.opts, script("R"), admission=False)(stored)
    hit = make(cache_ms=60_000, on_error="wrap")
    assert await steps.chain(hit.opts, script(boom()), admission=False)(hit) == {
        "value": "R", "error": None}
    other = make(cache_ms=60_000, fallback="fb", args=("other",))
    assert await steps.chain(other.opts, script(boom()), admission=False)(other) == "fb"
    again = make(cache_ms=60_000, args=("other",))
    inner = script("real")
    assert await steps.chain(again.opts, inner, admission=False)(again) == "real"
    assert len(inner.calls) == 1 and not again.cache_hit


async def test_slot_and_permit_are_released_before_the_fallback(make, program):
    host = FakeHost(program[0], slots=1)
    host.probe = lambda: (host.scheduler.busy, SHARED.semaphore("Uppercase", 1).free)
    c = make(host=host, concurrency=1, fallback="fb")
    async with anyio.create_task_group() as tg:
        tg.start_soon(host.scheduler.run_dispatcher)
        assert await steps.chain(c.opts, script(boom()), admission=True)(c) == "fb"
        tg.cancel_scope.cancel()
    assert host.evaluator.seen[0][2] == (0, 1)  # no slot busy, the permit free


async def test_throttle_and_permit_wrap_the_retries(make):
    """One token per call whatever its retries; the permit is held across the attempts and
    the waits between them."""
    opts = dict(retry=1, delay_ms=int(D * 1000), concurrency=1, throttle=(10, 86_400_000))
    inner = script(boom(), "ok", boom(), "ok")
    contexts = [make(**opts), make(**opts)]
    async with anyio.create_task_group() as tg:
        for c in contexts:
            tg.start_soon(steps.chain(c.opts, inner, admission=False), c)
    _, (_, e2), (s3, _), _ = inner.calls
    assert s3 >= e2  # the second call's first attempt after the first call's last
    assert SHARED.bucket("Uppercase", 10, 86_400_000, 1.0).tokens == pytest.approx(8, abs=0.01)
