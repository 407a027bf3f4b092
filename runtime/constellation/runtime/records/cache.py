"""The persistent store of the `cache:` option (LANGUAGE.md §6.4 item 5): entries live in the
records database's `cache` table, so a second `cst run` (another process: the CLI, an editor's
run, a Dask run's driver) finds what the first stored.

Keys are made by steps.with_cache: the function, its code version and its arguments. An entry
is a hit while it is younger than both its own TTL and the caller's, by the wall clock (the
processes share no monotonic clock). Single flight is per process, as for the in-memory store;
an in-memory layer in front keeps a run's repeated hits off the disk. When the database cannot
be used, the store says so once and goes on in memory.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Callable

from constellation.runtime import values
from constellation.runtime.limits import CacheEntry, CacheStore
from constellation.runtime.records.store import Unavailable, reason, connect


class PersistentCacheStore(CacheStore):
    def __init__(self, path: Path, warn: Callable[[str], None]):
        super().__init__()
        self.path = path
        self.warn = warn
        self._conn: sqlite3.Connection | None = None
        self._broken = False

    def _db(self) -> sqlite3.Connection | None:
        if self._conn is None and not self._broken:
            try:
                self._conn = connect(self.path)
                self._conn.execute("DELETE FROM cache WHERE expires_at <= ?", (time.time(),))
            except (Unavailable, sqlite3.Error) as exc:
                self._give_up(str(exc) if isinstance(exc, Unavailable)
                              else f"{self.path}: {reason(exc)}")
        return self._conn

    def open(self) -> None:
        """Open the database before the first lookup needs it (a fault: said once, then
        the store is in memory)."""
        self._db()

    def _give_up(self, reason: str) -> None:
        self._broken = True
        self._conn = None
        self.warn(f"cst run: the cache is kept in memory only: {reason}")

    @staticmethod
    def _key(key: tuple) -> str:
        return json.dumps(list(key), separators=(",", ":"))

    def lookup(self, key: tuple, ttl_s: float) -> CacheEntry | None:
        entry = super().lookup(key, ttl_s)
        if entry is not None:
            return entry
        conn = self._db()
        if conn is None:
            return None
        try:
            row = conn.execute("SELECT value, stored_at, expires_at FROM cache WHERE key = ?",
                               (self._key(key),)).fetchone()
        except sqlite3.Error as exc:
            self._give_up(f"{self.path}: {reason(exc)}")
            return None
        now = time.time()
        if row is None or now >= row[2] or now - row[1] > ttl_s:
            return None
        value = json.loads(row[0])
        # the in-memory layer ages by the monotonic clock: give it what is left
        left = row[2] - now
        mono = time.monotonic()
        self.entries[key] = CacheEntry(value, mono - (now - row[1]), mono + left)
        return self.entries[key]

    def store(self, key: tuple, value: object, ttl_s: float) -> None:
        super().store(key, value, ttl_s)
        conn = self._db()
        if conn is None:
            return
        try:
            text = values.canonical_json(value)
        except (TypeError, ValueError):
            return  # not a JSON value: it stays in memory
        now = time.time()
        try:
            conn.execute("INSERT OR REPLACE INTO cache (key, value, stored_at, expires_at) "
                         "VALUES (?, ?, ?, ?)", (self._key(key), text, now, now + ttl_s))
        except sqlite3.Error as exc:
            self._give_up(f"{self.path}: {reason(exc)}")
