"""The recorder: a run's events (docs/run-events.md) and its calls' values, written to the
records database as the run goes.

It is an event subscriber (`on_event`) and a call tap (steps.CALL_TAP: the full values and
arguments the events abbreviate). The run's thread only appends to an inbox; a writer thread
opens the database, turns what arrived into rows and writes them, one transaction per batch
(what arrived in the last BATCH_WAIT_S), so the run does not wait for the disk and a crash
loses at most the last batch. A database fault is reported once, in one line, and the run
goes on unrecorded.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from constellation.runtime import identity, steps, values
from constellation.runtime.records.store import Unavailable, reason, connect

INLINE_LIMIT = 2048  # characters of JSON kept in a row; larger values go to `blobs`, once
BATCH_WAIT_S = 0.05  # the writer lets a batch gather this long
_MISSING = object()  # a call without a value (failed, skipped, cancelled)
_SETTLED = {"node_completed": "completed", "node_failed": "failed",
            "node_cancelled": "cancelled", "node_skipped": "skipped"}


def encode(value: object) -> tuple[str | None, str | None, str | None]:
    """(inline JSON, content hash, JSON for `blobs`) of a value; a value that is not JSON
    (cannot happen for a Constellation value) is stored as None."""
    try:
        text = values.canonical_json(value)
    except (TypeError, ValueError):
        return None, None, None
    if len(text) <= INLINE_LIMIT:
        return text, None, None
    digest = identity.value_hash(value)
    return None, digest, text


class Recorder:
    """Records one run into the database at `path`; `warn` gets the one line of a fault.

    The run's side (`on_event`, the tap) only appends to an inbox; the writer thread turns
    what arrived into rows and writes them a batch at a time."""

    def __init__(self, path: Path, warn: Callable[[str], None], *, file: str | None,
                 plan_hash: str, inputs: dict, settings: dict):
        self.path = path
        self.warn = warn
        self.run_id: int | None = None
        self.failed = False
        self.calls: dict[int, dict] = {}  # node -> what its events and the tap said (writer)
        self._last_args: tuple | None = None
        self.inbox: collections.deque = collections.deque()
        self.ending = threading.Event()  # close(): the writer stops letting a batch gather
        self.head = {"file": file, "plan_hash": plan_hash, "inputs": inputs,
                     "settings": settings, "pid": os.getpid()}
        self.conn: sqlite3.Connection | None = None  # opened by the writer, off the run's path
        self.thread = threading.Thread(target=self._write_loop, name="constellation-records",
                                       daemon=True)
        self.thread.start()

    @property
    def active(self) -> bool:
        return not self.failed

    def _fault(self, reason: str) -> None:
        if not self.failed:
            self.failed = True
            self.warn(f"cst run: not recording this run: {reason}; the run goes on")

    # -- the run's side: events and the tap (an append each: the run is not slowed) -----------
    @contextlib.contextmanager
    def tapping(self):
        """Calls of runs started inside report their values to this recorder."""
        token = steps.CALL_TAP.set(self if self.active else None)
        try:
            yield
        finally:
            steps.CALL_TAP.reset(token)

    def observe(self, c, value, error, *, outcome: bool, result: bool) -> None:
        if self.failed:
            return
        fn = c.fn
        if result and (fn.higher_order or (fn.namespace or "").startswith("stdlib")):
            result = False  # not a module: nothing a pipeline test would replace
        if outcome and c.st is None:
            outcome = False  # a call in a lambda body: part of its node's call
        if outcome or result:
            self.inbox.append((c.st.node.id if outcome else None, fn, c.args, value,
                               None if error is None else error.message, result))

    def on_event(self, event: dict) -> None:
        if not self.failed:
            self.inbox.append(event)

    def close(self, timeout: float = 30.0) -> int | None:
        """Wait for the writer to finish; the run's id (None if it was not recorded)."""
        self.ending.set()
        self.thread.join(timeout)
        if self.thread.is_alive():
            self._fault(f"{self.path}: the database stayed busy for {timeout:.0f} s")
            return None
        if self.conn is not None:
            self.conn.close()
        return None if self.failed else self.run_id

    # -- the writer thread: what arrived, as rows ---------------------------------------------
    def _write_loop(self) -> None:
        try:
            self.conn = connect(self.path)
        except Unavailable as exc:
            self._fault(str(exc))
            return
        while True:
            ending = self.ending.wait(BATCH_WAIT_S)
            batch = []
            inbox = self.inbox
            while inbox:
                op = self._row(inbox.popleft())
                if op is not None:
                    batch.append(op)
            if batch and not self.failed:
                try:
                    self._write(batch)
                except sqlite3.Error as exc:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                    self._fault(f"{self.path}: {reason(exc)}")
            if ending:
                return

    def _row(self, item) -> tuple | None:
        """An inbox item as an operation of the batch (None: it only updates `calls`)."""
        if isinstance(item, tuple):  # from the call tap
            node, fn, args, value, error, result = item
            args_json, args_hash = self._args_key(args)
            if node is not None:
                entry = self.calls.setdefault(node, {})
                entry["args_hash"] = args_hash
                entry["code_version"] = identity.code_version(fn)
                if error is None:
                    entry["value"] = value
                if result:  # the call's row holds its module's result too
                    entry["args"] = args_json
                    return None
            if result:
                return ("result", fn.qualified, args_hash, args_json, value, error)
            return None
        kind = item["event"]
        if kind == "run_started":
            return ("run", {**self.head, "schedule": item.get("schedule"),
                            "started_at": time.time() - item["t_ms"] / 1000})
        if kind == "run_completed":
            return ("end", item)
        node = item.get("node")
        if node is None:
            return None
        entry = self.calls.setdefault(node, {})
        if kind == "node_started":
            entry.setdefault("attempt_times", []).append([item["t_ms"], None, None])
        elif kind == "node_retrying":
            times = entry.get("attempt_times")
            if times:
                times[-1][1:] = [item["t_ms"], item.get("error")]
        elif kind in _SETTLED:
            del self.calls[node]
            return ("call", self._call_row(item, entry))
        return None

    def _args_key(self, args: list) -> tuple[str, str]:
        """A call's outcome and its module's result share its argument list: hashed once."""
        last = self._last_args
        if last is None or last[0] is not args:
            last = self._last_args = (args, identity.args_key(args))
        return last[1]

    def _call_row(self, event: dict, entry: dict) -> tuple:
        """The call's row of `calls` but for its value, and the value (`_MISSING`: none):
        a tuple in the table's column order, made once per call on the writer's side."""
        status = _SETTLED[event["event"]]
        get = event.get
        end = event["t_ms"]
        duration = get("duration_ms")
        times = entry.get("attempt_times") or []
        if times and times[-1][1] is None:
            times[-1][1] = end
            if status == "failed":
                times[-1][2] = (get("error") or {}).get("message")
        # from its admission (duration_ms), and never after its first attempt began (the
        # event's t_ms is read a moment after the duration's end)
        start = end - duration if duration is not None else None
        if times and (start is None or times[0][0] < start):
            start = times[0][0]
        error = get("error")
        row = (event["node"], get("name"), get("module"), status, start, end, get("layer"),
               get("line"), entry.get("args_hash"), entry.get("code_version"),
               get("attempts", len(times)), _times_json(times),
               _json(error) if error else None, int(bool(get("cache_hit"))), get("reason"),
               entry.get("args"))
        return row, entry.get("value", _MISSING)

    def _write(self, batch) -> None:
        """One transaction; the rows of a kind go in with one executemany."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        calls, results, blobs, end = [], [], [], None
        encoded: dict[int, tuple] = {}  # a call's outcome is usually its module's result

        def encode_once(value: object) -> tuple:
            found = encoded.get(id(value))
            if found is None or found[0] is not value:
                found = encoded[id(value)] = (value, encode(value))
            return found[1]
        for op in batch:
            kind = op[0]
            if kind == "run":
                self.run_id = self._insert_run(op[1])
            elif kind == "call":
                calls.append(self._call_values(op[1], blobs, encode_once))
            elif kind == "result":
                results.append(self._result_values(*op[1:], blobs, encode_once))
            elif kind == "end":
                end = op[1]
        if self.run_id is not None:
            run_id = self.run_id
            conn.executemany("INSERT OR IGNORE INTO blobs (hash, json) VALUES (?, ?)", blobs)
            conn.executemany(
                "INSERT OR REPLACE INTO calls (run_id, node, name, module, status, value,"
                " start_ms, end_ms, layer, line, args_hash, code_version, value_hash, attempts,"
                " attempt_times, errors, cache_hit, reason, args)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, *row) for row in calls])
            conn.executemany(
                "INSERT OR IGNORE INTO results (run_id, module, args_hash, args, value,"
                " value_hash, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_id, *row) for row in results])
            if end is not None:
                self._finish_run(end)
        conn.execute("COMMIT")

    def _insert_run(self, head: dict) -> int:
        cur = self.conn.execute(
            "INSERT INTO runs (file, plan_hash, status, started_at, inputs, schedule, settings,"
            " pid) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
            (head["file"], head["plan_hash"], head["started_at"], _json(head["inputs"]),
             head["schedule"], _json(head["settings"]), head["pid"]))
        return cur.lastrowid

    @staticmethod
    def _call_values(call: tuple, blobs: list, encode) -> tuple:
        row, value = call
        text = digest = None
        if value is not _MISSING:
            text, digest, big = encode(value)
            if big is not None:
                blobs.append((digest, big))
        return (*row[:4], text, *row[4:10], digest, *row[10:])

    @staticmethod
    def _result_values(module: str, args_hash: str, args_json: str, value, error, blobs: list,
                       encode) -> tuple:
        text, digest, big = encode(value) if error is None else (None, None, None)
        if big is not None:
            blobs.append((digest, big))
        return module, args_hash, args_json, text, digest, error

    def _finish_run(self, event: dict) -> None:
        outputs, digest, big = encode(event.get("outputs"))
        if big is not None:
            self.conn.execute("INSERT OR IGNORE INTO blobs (hash, json) VALUES (?, ?)",
                              (digest, big))
        self.conn.execute(
            "UPDATE runs SET status = ?, duration_ms = ?, outputs = ?, outputs_hash = ?,"
            " errors = ? WHERE id = ?",
            (event["status"], event.get("duration_ms"), outputs, digest,
             _json(event.get("errors")), self.run_id))


def _times_json(times: list) -> str:
    """Attempt times as JSON; the common single clean attempt without the encoder's cost."""
    if len(times) == 1 and times[0][2] is None and times[0][1] is not None:
        return f"[[{float(times[0][0])!r},{float(times[0][1])!r},null]]"
    return _json(times)


def _json(value: object) -> str | None:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return json.dumps(repr(value))
