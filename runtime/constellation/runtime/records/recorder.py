"""The recorder: a run's events (docs/run-events.md) and its calls' values, written to the
records database.

It is an event subscriber (`on_event`) and a call tap (steps.CALL_TAP: the full values and
arguments the events abbreviate). On the run's path both only append what they are given to
a list: no hashing, no JSON, no row. A writer thread turns what arrived into rows, a batch at
a time, one transaction each (executemany per table), and a batch is what arrived since the
last one:

* the run's row as soon as `run_started` arrives (status `running`), so that a run killed on
  the way leaves a record that says it did not finish (reader.py: `unfinished`);
* then every FLUSH_S, the calls settled since: a crash loses at most that much;
* and at `close()`, everything else and the run's end. A run shorter than FLUSH_S (most) is
  written in that one pass, after it, so its thread and the writer never compete for the GIL.

What every call of a plan shares is stored once per run, not per call (schema version 3): the
calls' names, modules, layers and lines (`run_started`'s `calls`, in `blobs` by content hash:
the same for every run of an unchanged pipeline) and the modules' code versions. The calls a
partial run started settled (`--resume`, `--from`) are their record's rows, copied by SQLite in
one statement: their values are not decoded and encoded again. A database
fault is reported once, in one line, and the run goes on unrecorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from constellation.runtime import identity, steps, values
from constellation.runtime.records.store import Unavailable, forget, reason, shared

INLINE_LIMIT = 2048  # characters of JSON kept in a row; larger values go to `blobs`, once
FLUSH_S = 2.0  # while a run goes on, the calls settled so far are written this often
START_POLL_S = 0.02  # until the run has started, the writer looks this often (its row first)
_MISSING = object()  # a call without a value (failed, skipped, cancelled)
_SETTLED = {"node_completed": "completed", "node_failed": "failed",
            "node_cancelled": "cancelled", "node_skipped": "skipped"}
_CLEAN_START_MS = 1.0  # an attempt that began this close to its call's start spans the call
_BOTH = steps.OUTCOME | steps.RESULT

# a call's row: the common one, and one with the rarer facts (stdlib calls' argument hash,
# retries and failures, cache hits, skip reasons, reused calls' versions)
_COMMON = ("run_id", "node", "status", "value", "value_hash", "start_ms", "end_ms", "attempts",
           "args")
_FULL = _COMMON + ("args_hash", "code_version", "attempt_times", "errors", "cache_hit", "reason")


def _insert(table: str, columns: tuple[str, ...], verb: str = "INSERT") -> str:
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_INSERT_COMMON = _insert("calls", _COMMON)
_INSERT_FULL = _insert("calls", _FULL)
_INSERT_RESULT = _insert("results", ("run_id", "module", "args_hash", "args", "value",
                                     "value_hash", "error"), "INSERT OR IGNORE")
_INSERT_BLOB = _insert("blobs", ("hash", "json"), "INSERT OR IGNORE")
# the calls a partial run started settled: the record's rows, copied in one statement with
# this run's times (`?`: JSON [[node, start, end, code version], ...], the run they come from),
# their arguments from `results` where a fallback or on_error replaced the module's result
_COPY_CALLS = (
    "INSERT INTO calls (run_id, node, name, module, layer, line, status, value, value_hash,"
    " start_ms, end_ms, attempts, args, args_hash, code_version)"
    " SELECT ?, c.node, c.name, c.module, c.layer, c.line, c.status, c.value, c.value_hash,"
    " json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'), 0,"
    " COALESCE(c.args, (SELECT r.args FROM results r WHERE r.run_id = c.run_id"
    " AND r.args_hash = c.args_hash)), c.args_hash, json_extract(j.value, '$[3]')"
    " FROM json_each(?) j CROSS JOIN calls c"
    " WHERE c.run_id = ? AND c.node = json_extract(j.value, '$[0]')")


def encode(value: object) -> tuple[str | None, str | None, str | None]:
    """(inline JSON, content hash, JSON for `blobs`) of a value; a value that is not JSON
    (cannot happen for a Constellation value) is stored as None."""
    try:
        text = values.canonical_json(value)
    except (TypeError, ValueError):
        return None, None, None
    if len(text) <= INLINE_LIMIT:
        return text, None, None
    return None, identity.value_hash(value), text


class Recorder:
    """Records one run into the database at `path`; `warn` gets the one line of a fault.
    A partial run's calls started settled are the record's rows, copied (`reusing`)."""

    def __init__(self, path: Path, warn: Callable[[str], None], *, file: str | None,
                 plan_hash: str, inputs: dict, settings: dict):
        self.path = path
        self.warn = warn
        self.run_id: int | None = None
        self.failed = False
        self.head = {"file": file, "plan_hash": plan_hash, "inputs": inputs,
                     "settings": settings, "pid": os.getpid()}
        self.reused: dict[int, str | None] = {}  # node -> code version (`reusing`)
        self.reused_from: int | None = None
        # the run's side: each is one list append (a C call, no Python frame)
        self.events: list[dict] = []
        self.on_event = self.events.append
        self.taps: list[tuple] = []  # (CallContext, value, error, what): steps.with_tap
        self.observe = self.taps.append
        # the writer's side: what a call's events and taps said until it settles
        self.pending = _Pending()
        self.ending = threading.Event()  # close(): the last batch, then the writer stops
        self.conn: sqlite3.Connection | None = None  # the writer's (store.shared)
        self.lock: threading.Lock | None = None
        self.thread = threading.Thread(target=self._write_loop, name="constellation-records",
                                       daemon=True)
        self.thread.start()

    def reusing(self, reuse, nodes) -> None:
        """Before the run: it starts `nodes` settled from `reuse` (partial.Reuse), whose
        record's rows they get, copied in SQL (no value encoded again)."""
        self.reused_from = reuse.run_id
        self.reused = {n: reuse.calls[n]["code_version"] for n in nodes}

    @property
    def active(self) -> bool:
        return not self.failed

    def _fault(self, reason: str) -> None:
        if not self.failed:
            self.failed = True
            self.warn(f"cst run: not recording this run: {reason}; the run goes on")

    @contextlib.contextmanager
    def tapping(self):
        """Calls of runs started inside report their values to this recorder."""
        token = steps.CALL_TAP.set(self if self.active else None)
        try:
            yield
        finally:
            steps.CALL_TAP.reset(token)

    def close(self, timeout: float = 30.0) -> int | None:
        """Write what is left; the run's id (None if it was not recorded)."""
        self.ending.set()
        self.thread.join(timeout)
        if self.thread.is_alive():
            self._fault(f"{self.path}: the database stayed busy for {timeout:.0f} s")
            return None
        return None if self.failed else self.run_id

    # -- the writer thread --------------------------------------------------------------------
    def _write_loop(self) -> None:
        try:
            self.conn, self.lock = shared(self.path)
        except Unavailable as exc:
            self._fault(str(exc))
            return
        try:
            self._write_all()
        finally:
            if self.failed:
                forget(self.path)

    def _write_all(self) -> None:
        while not self.failed:
            ending = self.ending.wait(START_POLL_S if self.run_id is None else FLUSH_S)
            if self.run_id is None and not ending:
                if self.events:  # the run has started: its row at once, its calls later
                    self._start_run(self.events[0])
                continue
            # a call's taps come before its settling event: the events are taken first
            n_events = len(self.events)
            n_taps = len(self.taps)
            try:
                with self.lock:
                    self._write_batch(self.events[:n_events], self.taps[:n_taps])
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                self._fault(f"{self.path}: {reason(exc)}")
            del self.events[:n_events]  # atomic under the GIL, as the run's appends are
            del self.taps[:n_taps]
            if ending:
                return

    def _start_run(self, started: dict) -> None:
        try:
            with self.lock:  # one transaction at a time on the process's connection
                self.conn.execute("BEGIN IMMEDIATE")
                self.run_id = self._insert_run(started)
                self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            self._fault(f"{self.path}: {reason(exc)}")

    def _write_batch(self, events: list[dict], taps: list[tuple]) -> None:
        if not events and not taps:
            return
        batch = _Batch()
        pending = self.pending
        new_modules = pending.take_taps(taps, batch)
        outcomes, first_start, retried = pending.outcomes, pending.first_start, pending.retried
        modules = pending.modules
        common = batch.common
        args_json = identity.args_json
        end = None
        for event in events:
            kind = event["event"]
            if kind == "node_completed":
                # the commonest row, without a call: one clean attempt of a module (or of a
                # stdlib function: the same but for where its arguments' identity goes)
                node = event["node"]
                tap = outcomes.pop(node, None)
                first = first_start.pop(node, None)
                if tap is not None and tap[3] == _BOTH and node not in retried \
                        and not event["cache_hit"] and modules[id(tap[0].fn)]:
                    t_end = event["t_ms"]
                    start = t_end - event["duration_ms"]
                    if first is not None and -_CLEAN_START_MS < first - start < _CLEAN_START_MS:
                        if first < start:  # the times' rounding: never after its attempt
                            start = first
                        c, value = tap[0], tap[1]
                        if type(value) is int:
                            text, digest = int.__repr__(value), None
                        else:
                            text, digest = batch.value(value)
                        common.append((node, "completed", text, digest, start, t_end,
                                       c.attempts, args_json(c.args)))
                        continue
                self._call_row(event, batch, tap, first)
            elif kind in _SETTLED:
                self._call_row(event, batch, self.pending.outcomes.pop(event["node"], None),
                               self.pending.first_start.pop(event["node"], None))
            elif kind == "node_started":
                if event["attempt"] == 1:
                    first_start[event["node"]] = event["t_ms"]
                else:
                    pending.started(event)
            elif kind == "node_retrying":
                self.pending.retrying(event)
            elif kind == "run_started":
                batch.run = event
                self._nodes_blob(event, batch)
            elif kind == "run_completed":
                end = event
        if self.run_id is None and batch.run is None:
            return  # no run (its preparation failed): nothing to record
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        if self.run_id is None:
            self.run_id = self._insert_run(batch.run)
        if batch.nodes_hash is not None:
            conn.execute("UPDATE runs SET nodes_hash = ? WHERE id = ?",
                         (batch.nodes_hash, self.run_id))
        run_id = self.run_id
        conn.executemany(_INSERT_BLOB, batch.blobs)
        conn.executemany(_INSERT_COMMON, [(run_id, *row) for row in batch.common])
        conn.executemany(_INSERT_FULL, [(run_id, *row) for row in batch.full])
        conn.executemany(_INSERT_RESULT, [(run_id, *row) for row in batch.results])
        if batch.copies:
            conn.execute(_COPY_CALLS, (run_id, _json(batch.copies), self.reused_from))
        if new_modules:  # written as they come: an unfinished run's record has them too
            conn.execute("UPDATE runs SET modules = ? WHERE id = ?",
                         (_json(self.pending.versions), run_id))
        if end is not None:
            self._finish_run(end)
        conn.execute("COMMIT")

    def _call_row(self, event: dict, batch: _Batch, tap: tuple | None,
                  first: float | None) -> None:
        """The row of a call that has settled: its event's facts, its tap's values (`first`:
        its first attempt's start)."""
        node = event["node"]
        status = _SETTLED[event["event"]]
        end = event["t_ms"]
        duration = event.get("duration_ms")
        start = end - duration if duration is not None else None
        attempts = self.pending.attempts(node, first)
        if first is not None and (start is None or first < start):
            start = first  # from its admission, and never after its first attempt began
        value, args, args_hash, version = _MISSING, None, None, None
        if tap is not None:
            c, value, error, what = tap
            if what & steps.RESULT and self.pending.modules[id(c.fn)]:
                args = identity.args_json(c.args)  # the row holds its module's result: a fixture
            else:
                args_hash = identity.args_hash(c.args)
            n_attempts = c.attempts
            if error is not None:
                value = _MISSING
        elif node in self.reused:  # started settled: the record's row, copied
            batch.copies.append((node, start, end, self.reused[node]))
            return
        else:
            n_attempts = event.get("attempts", len(attempts) if attempts else 0)
        text = digest = None
        if value is not _MISSING and status == "completed":
            text, digest = batch.value(value)
        error = event.get("error")
        if attempts is not None and status == "failed":
            attempts[-1][2] = (error or {}).get("message")
        if attempts is not None and attempts[-1][1] is None:
            attempts[-1][1] = end
        clean = attempts is None or (len(attempts) == 1 and attempts[0][2] is None
                                     and start is not None
                                     and attempts[0][0] - start < _CLEAN_START_MS)
        if clean and args_hash is None and version is None and error is None \
                and not event.get("cache_hit") and "reason" not in event:
            batch.common.append((node, status, text, digest, start, end, n_attempts, args))
            return
        batch.full.append((node, status, text, digest, start, end, n_attempts, args, args_hash,
                           version, None if clean else _json(attempts),
                           _json(error) if error else None, int(bool(event.get("cache_hit"))),
                           event.get("reason")))

    def _insert_run(self, started: dict) -> int:
        """The run's row, status `running` (what a run that never ends leaves)."""
        head = self.head
        cur = self.conn.execute(
            "INSERT INTO runs (file, plan_hash, status, started_at, inputs, schedule, settings,"
            " pid) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
            (head["file"], head["plan_hash"], started.get("started_at", time.time()),
             _json(head["inputs"]), started.get("schedule"), _json(head["settings"]),
             head["pid"]))
        return cur.lastrowid

    @staticmethod
    def _nodes_blob(started: dict, batch: _Batch) -> None:
        """The calls' names, modules, layers and lines, once for every run of the plan."""
        text = _json([[c["node"], c["name"], c["module"], c["layer"], c["line"]]
                      for c in started.get("calls", ())])
        batch.nodes_hash = identity.digest(text)
        batch.blobs.append((batch.nodes_hash, text))

    def _finish_run(self, event: dict) -> None:
        outputs, digest, big = encode(event.get("outputs"))
        if big is not None:
            self.conn.execute(_INSERT_BLOB, (digest, big))
        self.conn.execute(
            "UPDATE runs SET status = ?, duration_ms = ?, outputs = ?, outputs_hash = ?,"
            " errors = ? WHERE id = ?",
            (event["status"], event.get("duration_ms"), outputs, digest,
             _json(event.get("errors")), self.run_id))


class _Pending:
    """What the writer knows of calls that have not settled yet, across batches."""

    def __init__(self):
        self.outcomes: dict[int, tuple] = {}  # node -> its outcome's tap
        self.first_start: dict[int, float] = {}  # node -> its first attempt's start (t_ms)
        self.retried: dict[int, list] = {}  # node -> [[start, end, error], ...] (retries only)
        self.versions: dict[str, str] = {}  # module -> code version (once per run)
        self.modules: dict[int, bool] = {}  # id(Function) -> a module's (not stdlib, not HOF)

    def take_taps(self, taps: list[tuple], batch: _Batch) -> bool:
        """Keeps each outcome until its call settles; a module's result not on its call's
        row is a row of `results`. True when a module not seen before was met."""
        new = False
        for tap in taps:
            c, value, error, what = tap
            fn = c.fn
            if id(fn) not in self.modules:
                self.modules[id(fn)] = _is_module(fn)
                self.versions[fn.qualified] = identity.code_version(fn)
                new = True
            st = c.st
            if what & steps.OUTCOME and st is not None:
                self.outcomes[st.node.id] = tap
                continue
            if what & steps.RESULT and self.modules[id(fn)]:  # in a lambda body, or replaced
                text, digest = batch.value(value) if error is None else (None, None)
                args_text = identity.args_json(c.args)
                batch.results.append((fn.qualified, identity.digest(args_text), args_text,
                                      text, digest, None if error is None else error.message))
        return new

    def started(self, event: dict) -> None:
        """A second or later attempt began."""
        times = self.retried.get(event["node"])
        if times is not None:
            times.append([event["t_ms"], None, None])

    def retrying(self, event: dict) -> None:
        node = event["node"]
        times = self.retried.get(node)
        if times is None:
            times = self.retried[node] = [[self.first_start.get(node), None, None]]
        times[-1][1:] = [event["t_ms"], event.get("error")]

    def attempts(self, node: int, first: float | None) -> list | None:
        """Every attempt's [start, end, error] (None: no attempt), forgetting the node."""
        times = self.retried.pop(node, None)
        if times is None and first is not None:
            times = [[first, None, None]]
        return times


class _Batch:
    """The rows of one transaction."""

    def __init__(self):
        self.run: dict | None = None
        self.nodes_hash: str | None = None
        self.common: list[tuple] = []
        self.full: list[tuple] = []
        self.results: list[tuple] = []
        self.blobs: list[tuple] = []
        self.copies: list[tuple] = []  # (node, start, end, code version): _COPY_CALLS

    def value(self, value: object) -> tuple[str | None, str | None]:
        text, digest, big = encode(value)
        if big is not None:
            self.blobs.append((digest, big))
        return text, digest


def _is_module(fn) -> bool:
    """A module's call (not the stdlib's, not a higher-order one): what a pipeline test
    replaces with its recorded result."""
    return not fn.higher_order and not (fn.namespace or "").startswith("stdlib")


def _json(value: object) -> str | None:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return json.dumps(repr(value))
