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
