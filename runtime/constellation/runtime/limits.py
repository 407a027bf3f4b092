"""Shared limits of LANGUAGE.md §6.4: throttle token buckets, concurrency semaphores, the cache
stores, and the bounded scheduler (priorities with aging).

Buckets, semaphores and cache stores are process-wide (shared by every call site and every run
in the process that uses the same key). Their state changes only in synchronous code between
awaits, so they need no locks and work on any anyio backend.
"""

from __future__ import annotations

import heapq
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


DEFAULT_CACHE = "memory"  # the store of `cache:` without `cache_backend` (LANGUAGE.md §6.4)


def register_cache_store(name: str, store: CacheStore) -> None:
    """Plug in a named store (`cache_backend: "name"`); it must offer lookup/store/in_flight."""
    SHARED.caches[name] = store


# -- bounded scheduler ----------------------------------------------------------------------
AGEING_STEP_S = 0.1  # effective priority + 1 per full 100 ms waited ...
AGEING_CAP = 100  # ... capped at 100 (§6.4 item 8)
_EARLY_S = 1e-6  # ageing timers fire this much early: float rounding never makes one late


@dataclass(eq=False, slots=True)  # slots: fewer objects for the collector to walk
class _Waiter:
    priority: int
    order: tuple  # tie-break: (order of becoming ready, source position) or serial order
    queued_at: float
    event: anyio.Event = field(default_factory=anyio.Event)
    admitted: bool = False
    serial: int = 0  # order of queueing: the last tie-break (the old queue's list order)
    effective: int = 0  # the effective priority its live heap entry carries
    removed: bool = False  # cancelled while waiting; its heap entries are skipped


class Scheduler:
    """Admits at most `slots` calls at once, highest effective priority first.

    Effective priority = priority + 1 per full 100 ms waited (capped at 100), so nothing
    starves. A dispatcher task admits calls after letting the loop settle for a few
    iterations, so calls that become ready together are all queued before any of them is
    admitted. `aging=False` (serial mode) keeps the order fixed.

    The waiting calls sit in a heap keyed (-effective priority, order, queueing serial), so an
    admission costs O(log n). Because each waiter's ageing steps fall at its own times, a heap
    key cannot be static: a second heap holds each waiter's next ageing step, and a dispatch
    re-keys only the waiters whose step has come (pushing a new entry; the old one is skipped
    when popped). A waiter is re-keyed at most once per dispatch and at most 100 times in all
    (the cap), so the order is exactly that of recomputing every effective priority at each
    dispatch, at O(log n) amortised per admission. A cancelled waiter is only marked; the
    heap is rebuilt when skipped entries outnumber the live ones.
    """

    def __init__(self, slots: int | None, *, aging: bool = True, settle_checkpoints: int = 10):
        self.slots = slots
        self.busy = 0
        self.aging = aging
        self.settle_checkpoints = settle_checkpoints
        self.round = 0  # dispatch rounds: calls queued in one round became ready together
        self.wake = anyio.Event()
        self.waiting: dict[int, _Waiter] = {}  # by serial, in queueing order
        self.heap: list[tuple] = []  # (-effective, order, serial, waiter)
        self.timers: list[tuple] = []  # (time of the next ageing step - _EARLY_S, serial, waiter)
        self.serial = 0

    @property
    def bounded(self) -> bool:
        return self.slots is not None

    @property
    def queue(self) -> list[_Waiter]:
        """The waiting calls in the order they were queued."""
        return list(self.waiting.values())

    def effective(self, w: _Waiter, now: float) -> int:
        if not self.aging:
            return w.priority
        return min(AGEING_CAP, w.priority + int((now - w.queued_at) / AGEING_STEP_S))

    async def acquire(self, priority: int, position: int) -> None:
        if self.slots is None:
            return
        # ties: the order of becoming ready, then source order (§6.4 item 8); calls queued in
        # the same round (a released layer) became ready together
        order = (self.round, position) if self.aging else (position,)
        self.serial += 1
        waiter = _Waiter(priority, order, time.monotonic(), serial=self.serial)
        waiter.effective = min(AGEING_CAP, priority) if self.aging else priority
        self.waiting[waiter.serial] = waiter
        heapq.heappush(self.heap, (-waiter.effective, order, waiter.serial, waiter))
        if self.aging and waiter.effective < AGEING_CAP:
            self._schedule_step(waiter)
        self.wake.set()
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.admitted:
                self.release()
            elif not waiter.removed:
                waiter.removed = True
                del self.waiting[waiter.serial]
                self._compact_if_sparse()
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
        if self.aging:
            self._age(now)
        heap, waiting = self.heap, self.waiting
        while waiting and self.busy < self.slots:
            neg_effective, _, serial, best = heapq.heappop(heap)
            if best.removed or best.admitted or -neg_effective != best.effective:
                continue  # cancelled, or an entry superseded by a re-key
            del waiting[serial]
            self.busy += 1
            best.admitted = True
            best.event.set()
        self._compact_if_sparse()

    # -- ageing and upkeep --------------------------------------------------------------------
    def _schedule_step(self, w: _Waiter) -> None:
        steps = w.effective - w.priority  # full steps already counted (w is below the cap)
        due = w.queued_at + (steps + 1) * AGEING_STEP_S - _EARLY_S
        heapq.heappush(self.timers, (due, w.serial, w))

    def _age(self, now: float) -> None:
        """Re-key the waiters whose next ageing step has come (computed as `effective`)."""
        timers = self.timers
        due = []
        while timers and timers[0][0] <= now:
            due.append(heapq.heappop(timers)[2])
        for w in due:  # all popped first: a step that is not quite due waits for the next round
            if w.removed or w.admitted:
                continue
            effective = self.effective(w, now)
            if effective != w.effective:
                w.effective = effective
                heapq.heappush(self.heap, (-effective, w.order, w.serial, w))
            if effective < AGEING_CAP:
                self._schedule_step(w)

    def _compact_if_sparse(self) -> None:
        """Drop superseded and cancelled entries once they outnumber the live ones (they
        would otherwise pile up under a queue that never empties). The timer heap needs no
        such care: each waiter has one entry there, gone within 100 ms of its leaving."""
        if len(self.heap) > 2 * len(self.waiting) + 64:
            self.heap = [(-w.effective, w.order, w.serial, w) for w in self.waiting.values()]
            heapq.heapify(self.heap)
