"""Throttle buckets, FIFO semaphores, cache stores and the bounded scheduler, in isolation."""

import time

import anyio
import pytest

from constellation.runtime.limits import CacheStore, FifoSemaphore, Scheduler, TokenBucket

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


def test_token_bucket_reservations_follow_the_rate():
    bucket = TokenBucket(2, 1.0)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits[0] == waits[1] == 0.0
    assert waits[2:] == pytest.approx([0.5, 1.0, 1.5], abs=0.01)


def test_cache_store_ttl_and_age_rule(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    store = CacheStore()
    store.store(("F", "k"), "v", ttl_s=3600)
    now[0] += 300  # five minutes later
    assert store.lookup(("F", "k"), ttl_s=600) is not None  # cache: 10min -> hit
    assert store.lookup(("F", "k"), ttl_s=60) is None  # cache: 1min -> too old for it
    now[0] += 3600
    assert store.lookup(("F", "k"), ttl_s=10**6) is None  # expired


def test_cache_store_is_size_bounded():
    store = CacheStore(max_entries=3)
    for i in range(5):
        store.store(("F", str(i)), i, 60)
    assert len(store.entries) == 3
    assert store.lookup(("F", "0"), 60) is None and store.lookup(("F", "4"), 60) is not None


async def test_fifo_semaphore_bounds_concurrency_and_survives_cancellation():
    sem = FifoSemaphore(2)
    active = peak = 0

    async def worker():
        nonlocal active, peak
        await sem.acquire()
        try:
            active += 1
            peak = max(peak, active)
            await anyio.sleep(0.01)
        finally:
            active -= 1
            sem.release()

    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(worker)
    assert peak == 2
    # a cancelled waiter does not leak a permit
    await sem.acquire()
    await sem.acquire()
    with anyio.move_on_after(0.01):
        await sem.acquire()
    sem.release()
    sem.release()
    assert sem.free == 2 and not sem.waiters


async def _admission_order(scheduler, requests, hold=0.0):
    order = []

    async def call(name, priority, position, after=0.0):
        await anyio.sleep(after)  # when the call becomes ready
        await scheduler.acquire(priority, position)
        order.append(name)
        await anyio.sleep(hold)
        scheduler.release()

    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run_dispatcher)
        async with anyio.create_task_group() as calls:
            for request in requests:
                calls.start_soon(call, *request)
        tg.cancel_scope.cancel()
    return order


async def test_scheduler_admits_by_priority_then_readiness_then_source_order():
    # all four become ready together (one round): equal priorities go in source order
    order = await _admission_order(Scheduler(1), [("a", 20, 1), ("b", 100, 2), ("c", 50, 3),
                                                  ("d", 50, 0)])
    assert order == ["b", "d", "c", "a"]


async def test_scheduler_admits_an_earlier_ready_call_first_on_a_tie():
    order = await _admission_order(Scheduler(1), [
        ("busy", 50, 9, 0.0),
        ("early", 50, 5, 0.01),  # ready first, later in the source
        ("late", 50, 1, 0.02)], hold=0.05)
    assert order == ["busy", "early", "late"]


async def test_scheduler_ageing_prevents_starvation():
    scheduler = Scheduler(1)
    order = []

    async def call(name, priority):
        await scheduler.acquire(priority, 0)
        order.append(name)
        await anyio.sleep(0.05)
        scheduler.release()

    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run_dispatcher)
        async with anyio.create_task_group() as calls:
            calls.start_soon(call, "low", 45)
            for i in range(20):  # a steady stream of normal-priority calls, never empty
                calls.start_soon(call, f"n{i}", 50)
                await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
    # without ageing "low" would run last; after 500 ms of waiting it ties with 50 and its
    # earlier arrival wins
    assert 5 <= order.index("low") <= 13


async def test_unbounded_scheduler_admits_at_once():
    scheduler = Scheduler(None)
    assert not scheduler.bounded
    with anyio.fail_after(1):
        await scheduler.acquire(0, 0)


# -- the bounded scheduler's order, ageing and cost, with a controlled clock -----------------
class _Driver:
    """Queues calls on a Scheduler and runs its dispatches by hand at chosen clock times (the
    dispatcher task is not started), recording which calls each dispatch admitted."""

    def __init__(self, scheduler, clock, tg):
        self.scheduler, self.clock, self.tg = scheduler, clock, tg
        self.admitted: list[str] = []
        self.scopes: dict[str, anyio.CancelScope] = {}

    async def queue(self, name, priority, position):
        async def call():
            with anyio.CancelScope() as scope:
                self.scopes[name] = scope
                await self.scheduler.acquire(priority, position)
                self.admitted.append(name)

        self.tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()

    async def dispatch(self) -> set[str]:
        before = len(self.admitted)
        self.scheduler.dispatch()
        await anyio.wait_all_tasks_blocked()
        return set(self.admitted[before:])

    async def cancel(self, name):
        self.scopes[name].cancel()
        await anyio.wait_all_tasks_blocked()


@pytest.fixture
def clock(monkeypatch):
    """The scheduler's clock, in seconds, moved by the test."""
    from types import SimpleNamespace

    from constellation.runtime import limits

    now = [1000.0]
    monkeypatch.setattr(limits, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


async def test_scheduler_ages_each_call_by_its_own_full_100_ms_up_to_100(clock):
    async def first_admitted(at: float) -> str:
        """a queued at 0 ms, b at 60 ms, both priority 50 and queued in one round; b comes
        first in the source."""
        clock[0] = 1000.0
        async with anyio.create_task_group() as tg:
            driver = _Driver(Scheduler(1), clock, tg)
            await driver.queue("a", 50, 5)
            clock[0] += 0.06
            await driver.queue("b", 50, 1)
            clock[0] = 1000.0 + at
            (name,) = await driver.dispatch()
            tg.cancel_scope.cancel()
        return name

    # a has waited 1 full step at 120 ms and b none; at 170 ms both have 1 (source order
    # decides); a's second step at 200 ms puts it ahead again until b's at 260 ms
    assert [await first_admitted(t) for t in (0.12, 0.17, 0.205, 0.26)] == ["a", "b", "a", "b"]

    async with anyio.create_task_group() as tg:
        driver = _Driver(Scheduler(1), clock, tg)
        await driver.queue("background", 0, 9)
        clock[0] += 9.95  # 99 full steps
        await driver.dispatch()  # nothing else waits yet: background is admitted ...
        driver.scheduler.release()
        await driver.queue("old", 0, 8)
        await driver.dispatch()
        driver.scheduler.release()
        await driver.queue("low", 0, 7)
        clock[0] += 9.95
        await driver.queue("critical", 100, 1)
        assert await driver.dispatch() == {"critical"}  # low is at 99
        driver.scheduler.release()
        await driver.queue("critical2", 100, 0)
        clock[0] += 0.1
        # low reaches the cap of 100 and ties with critical2, queued a round later
        assert await driver.dispatch() == {"low"}
        clock[0] += 100.0  # the cap holds: critical2 is at 100 too, nothing more
        driver.scheduler.release()
        assert await driver.dispatch() == {"critical2"}
        tg.cancel_scope.cancel()


def _full_scan(queue: list[dict], now: float, free: int) -> list[str]:
    """LANGUAGE.md §6.4 item 8 by brute force (the scan the scheduler did before its heap):
    highest effective priority, then earliest round, then source position, then queueing
    order; effective = priority + 1 per full 100 ms waited, capped at 100."""
    chosen = []
    while queue and len(chosen) < free:
        best = max(queue, key=lambda w: (min(100, w["priority"] + int((now - w["at"]) / 0.1)),
                                         -w["round"], -w["position"]))
        queue.remove(best)
        chosen.append(best["name"])
    return chosen


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_scheduler_admits_exactly_as_a_full_scan_of_its_queue(clock, seed):
    """Random queueing, waiting, cancelling, admitting and releasing: every dispatch admits
    the calls the full scan picks, including calls whose ageing steps fall between two
    dispatches, repeated source positions (calls in a lambda) and many cancellations."""
    import random

    rng = random.Random(seed)
    slots = rng.choice([1, 2, 3])
    queue: list[dict] = []  # the model, in queueing order
    busy = rounds = 0
    async with anyio.create_task_group() as tg:
        driver = _Driver(Scheduler(slots), clock, tg)
        for step in range(1500):
            op = rng.choices(["queue", "wait", "dispatch", "release", "cancel"],
                             [5, 3, 2, 2, 1])[0]
            if op == "queue":
                name = f"c{step}"
                priority = rng.choice([0, 20, 45, 50, 50, 80, 100, rng.randint(0, 100)])
                position = rng.randint(0, 30)
                queue.append({"name": name, "priority": priority, "position": position,
                              "round": rounds, "at": clock[0]})
                await driver.queue(name, priority, position)
            elif op == "wait":
                clock[0] += rng.choice([0.001, 0.05, 0.0999, 0.1, 0.1001, 1.0,
                                        rng.uniform(0, 0.3)])
            elif op == "dispatch":
                rounds += 1
                expected = _full_scan(queue, clock[0], slots - busy)
                busy += len(expected)
                assert await driver.dispatch() == set(expected), f"step {step}"
            elif op == "release" and busy:
                busy -= 1
                driver.scheduler.release()
            elif op == "cancel" and queue:
                victim = queue.pop(rng.randrange(len(queue)))
                await driver.cancel(victim["name"])
        assert driver.scheduler.busy == busy and len(driver.scheduler.queue) == len(queue)
        tg.cancel_scope.cancel()


def _bounded_us_per_call(n: int, backend: str) -> float:
    """CPU time per call of n calls with mixed priorities through a 16-slot scheduler, each
    released at once. The thread's CPU time leaves out the time other processes take; the
    collector is paused so that its passes over n tasks do not blur the scheduler's cost."""
    import gc

    scheduler = Scheduler(16)
    elapsed = []

    async def call(i):
        await scheduler.acquire(i * 37 % 101, i)
        scheduler.release()

    async def main():
        gc.collect()
        gc.disable()
        try:
            t = time.thread_time()
            async with anyio.create_task_group() as tg:
                tg.start_soon(scheduler.run_dispatcher)
                async with anyio.create_task_group() as calls:
                    for i in range(n):
                        calls.start_soon(call, i)
                tg.cancel_scope.cancel()
            elapsed.append(time.thread_time() - t)
        finally:
            gc.enable()

    anyio.run(main, backend=backend)
    return elapsed[0] * 1e6 / n


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_scheduler_admission_cost_per_call_does_not_grow_with_the_queue(backend):
    """A 4,000-wide layer costs per call about what a 250-wide one does (a scan of the whole
    queue per admission made it ~10x). Medians of interleaved runs, a generous factor."""
    import statistics

    _bounded_us_per_call(250, backend)  # warm up
    narrow, wide = [], []
    for _ in range(5):
        narrow.append(_bounded_us_per_call(250, backend))
        wide.append(_bounded_us_per_call(4000, backend))
        narrow.append(_bounded_us_per_call(250, backend))
    growth = statistics.median(wide) / statistics.median(narrow)
    assert growth < 3, f"{growth:.1f}x: {statistics.median(wide):.0f} vs " \
                       f"{statistics.median(narrow):.0f} µs per call"
