"""Shared limits of LANGUAGE.md §6.4: throttle token buckets, concurrency semaphores, the cache
stores, and the bounded scheduler (priorities with aging).

Buckets, semaphores and cache stores are process-wide (shared by every call site and every run
in the process that uses the same key). Their state changes only in synchronous code between
awaits, so they need no locks and work on any anyio backend.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import anyio
import anyio.lowlevel


# -- throttle -------------------------------------------------------------------------------
class TokenBucket:
    """Capacity N, full at creation, refilled continuously at N tokens per window."""

    def __init__(self, capacity: int, window_s: float):
        self.capacity = capacity
        self.rate = capacity / window_s
        self.tokens = float(capacity)
        self.stamp = time.monotonic()

    def reserve(self) -> float:
        """Take one token now (possibly going into debt); returns the wait in seconds until
        that token exists. Reserving synchronously keeps waiting callers first come first
        served without a lock."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def refund(self) -> None:
        """Give back a token whose holder was cancelled before using it."""
        self.tokens = min(self.capacity, self.tokens + 1)


# -- concurrency ----------------------------------------------------------------------------
class FifoSemaphore:
    """A semaphore whose waiters are served first come first served; an Event is created per
    waiter inside the running loop, so one semaphore can serve runs on different backends."""

    def __init__(self, permits: int):
        self.free = permits
        self.waiters: deque[anyio.Event] = deque()

    async def acquire(self) -> None:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            await anyio.lowlevel.checkpoint_if_cancelled()
            return
        event = anyio.Event()
        self.waiters.append(event)
        try:
            await event.wait()
        except BaseException:
            if event in self.waiters:
                self.waiters.remove(event)
            else:  # the permit was handed to us as we were cancelled: pass it on
                self.release()
            raise

    def release(self) -> None:
        if self.waiters:
            self.waiters.popleft().set()  # hand the permit over directly
        else:
            self.free += 1


# -- cache ----------------------------------------------------------------------------------
@dataclass
class CacheEntry:
    value: object
    stored_at: float
    expires_at: float


class CacheStore:
    """A named in-memory store: TTL per entry, LRU size bound, single flight per key."""

    def __init__(self, max_entries: int = 10_000):
        self.entries: OrderedDict[tuple, CacheEntry] = OrderedDict()
        self.in_flight: dict[tuple, anyio.Event] = {}
        self.max_entries = max_entries

    def lookup(self, key: tuple, ttl_s: float) -> CacheEntry | None:
        """A hit: not expired and at most the caller's TTL old (§6.4 item 5)."""
        entry = self.entries.get(key)
        now = time.monotonic()
        if entry is None or now >= entry.expires_at or now - entry.stored_at > ttl_s:
            return None
        self.entries.move_to_end(key)
        return entry

    def store(self, key: tuple, value: object, ttl_s: float) -> None:
        now = time.monotonic()
        self.entries[key] = CacheEntry(value, now, now + ttl_s)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)


@dataclass
class SharedState:
    buckets: dict[tuple, TokenBucket] = field(default_factory=dict)
    semaphores: dict[tuple, FifoSemaphore] = field(default_factory=dict)
    caches: dict[str, CacheStore] = field(default_factory=dict)

    def bucket(self, function: str, n: int, window_ms: int, scale: float) -> TokenBucket:
        key = (function, n, window_ms)
        if key not in self.buckets:
            self.buckets[key] = TokenBucket(n, max(window_ms * scale, 1e-3) / 1000)
        return self.buckets[key]

    def semaphore(self, function: str, n: int) -> FifoSemaphore:
        key = (function, n)
        if key not in self.semaphores:
            self.semaphores[key] = FifoSemaphore(n)
        return self.semaphores[key]

    def cache(self, name: str) -> CacheStore:
        if name not in self.caches:
            self.caches[name] = CacheStore()
        return self.caches[name]


SHARED = SharedState()


def reset_shared_state() -> None:
    """Forget every cache entry, bucket and semaphore (tests: a 'fresh process')."""
    SHARED.buckets.clear()
    SHARED.semaphores.clear()
    SHARED.caches.clear()


def register_cache_store(name: str, store: CacheStore) -> None:
    """Plug in a named store (`cache_backend: "name"`); it must offer lookup/store/in_flight."""
    SHARED.caches[name] = store


# -- bounded scheduler ----------------------------------------------------------------------
@dataclass(eq=False)
class _Waiter:
    priority: int
    order: tuple  # tie-break: (order of becoming ready, source position) or serial order
    queued_at: float
    event: anyio.Event = field(default_factory=anyio.Event)
    admitted: bool = False


class Scheduler:
    """Admits at most `slots` calls at once, highest effective priority first.

    Effective priority = priority + 1 per full 100 ms waited (capped at 100), so nothing
    starves. A dispatcher task admits calls after letting the loop settle for a few
    iterations, so calls that become ready together are all queued before any of them is
    admitted. `aging=False` (serial mode) keeps the order fixed.
    """

    def __init__(self, slots: int | None, *, aging: bool = True, settle_checkpoints: int = 10):
        self.slots = slots
        self.busy = 0
        self.queue: list[_Waiter] = []
        self.aging = aging
        self.settle_checkpoints = settle_checkpoints
        self.round = 0  # dispatch rounds: calls queued in one round became ready together
        self.wake = anyio.Event()

    @property
    def bounded(self) -> bool:
        return self.slots is not None

    def effective(self, w: _Waiter, now: float) -> int:
        if not self.aging:
            return w.priority
        return min(100, w.priority + int((now - w.queued_at) / 0.1))

    async def acquire(self, priority: int, position: int) -> None:
        if self.slots is None:
            return
        # ties: the order of becoming ready, then source order (§6.4 item 8); calls queued in
        # the same round (a released layer) became ready together
        order = (self.round, position) if self.aging else (position,)
        waiter = _Waiter(priority, order, time.monotonic())
        self.queue.append(waiter)
        self.wake.set()
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.admitted:
                self.release()
            elif waiter in self.queue:
                self.queue.remove(waiter)
            raise

    def release(self) -> None:
        if self.slots is None:
            return
        self.busy -= 1
        self.wake.set()

    async def run_dispatcher(self) -> None:
        """Runs for the whole run (cancelled at its end)."""
        if self.slots is None:
            return
        while True:
            await self.wake.wait()
            self.wake = anyio.Event()
            for _ in range(self.settle_checkpoints):
                await anyio.lowlevel.checkpoint()
            self.dispatch()

    def dispatch(self) -> None:
        self.round += 1
        now = time.monotonic()
        while self.queue and self.busy < self.slots:
            best = max(self.queue, key=lambda w: (self.effective(w, now), _neg(w.order)))
            self.queue.remove(best)
            self.busy += 1
            best.admitted = True
            best.event.set()


def _neg(order: tuple) -> tuple:
    return tuple(-x for x in order)
