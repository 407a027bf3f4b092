"""The recorder: a run's events (docs/run-events.md) and its calls' values, written to the
records database as the run goes.

It is an event subscriber (`on_event`) and a call tap (steps.CALL_TAP: the full values and
arguments the events abbreviate). The run's thread only queues rows; a writer thread writes
them, one transaction per batch (what queued while the previous one was written), so a run
is not slowed by the disk, and a crash loses at most the last batch. A database fault is
reported once, in one line, and the run goes on unrecorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from constellation.runtime import identity, steps, values
from constellation.runtime.records.store import Unavailable, connect

INLINE_LIMIT = 2048  # characters of JSON kept in a row; larger values go to `blobs`, once
BATCH_WAIT_S = 0.05  # the writer lets a batch gather this long after the first row
_END = object()


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
    """Records one run into the database at `path`; `warn` gets the one line of a fault."""

    def __init__(self, path: Path, warn: Callable[[str], None], *, file: str | None,
                 plan_hash: str, inputs: dict, settings: dict):
        self.path = path
        self.warn = warn
        self.run_id: int | None = None
        self.failed = False
        self.calls: dict[int, dict] = {}  # node -> what its events and the tap said
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.head = {"file": file, "plan_hash": plan_hash, "inputs": inputs,
                     "settings": settings, "pid": os.getpid()}
        try:
            self.conn = connect(path)
        except Unavailable as exc:
            self._fault(str(exc))
            self.conn = None
            return
        self.thread = threading.Thread(target=self._write_loop, name="constellation-records",
                                       daemon=True)
        self.thread.start()

    @property
    def active(self) -> bool:
        return self.conn is not None and not self.failed

    def _fault(self, reason: str) -> None:
        if not self.failed:
            self.failed = True
            self.warn(f"cst run: not recording this run: {reason}; the run goes on")

    # -- the run's side: events and the tap ---------------------------------------------------
    @contextlib.contextmanager
    def tapping(self):
        """Calls of runs started inside report their values to this recorder."""
        token = steps.CALL_TAP.set(self if self.active else None)
        try:
            yield
        finally:
            steps.CALL_TAP.reset(token)

    def call_outcome(self, c, value, error) -> None:
        if c.st is None:  # a call inside a lambda body: part of its node's call
            return
        entry = self.calls.setdefault(c.st.node.id, {})
        entry["args_hash"] = identity.args_hash(c.args)
        entry["code_version"] = identity.code_version(c.fn)
        if error is None:
            entry["value"] = value

    def module_result(self, c, value, error) -> None:
        fn = c.fn
        if fn.higher_order or (fn.namespace or "").startswith("stdlib") or not self.active:
            return
        self.queue.put(("result", fn.qualified, identity.args_hash(c.args), c.args, value,
                        None if error is None else error.message))

    def on_event(self, event: dict) -> None:
        if not self.active:
            return
        kind = event["event"]
        if kind == "run_started":
            self.queue.put(("run", {**self.head, "schedule": event.get("schedule"),
                                    "started_at": time.time()}))
            return
        if kind == "run_completed":
            self.queue.put(("end", event))
            return
        node = event.get("node")
        if node is None:
            return
        entry = self.calls.setdefault(node, {})
        if kind == "node_started":
            entry.setdefault("attempt_times", []).append([event["t_ms"], None, None])
        elif kind == "node_retrying":
            times = entry.get("attempt_times")
            if times:
                times[-1][1:] = [event["t_ms"], event.get("error")]
        elif kind in ("node_completed", "node_failed", "node_cancelled", "node_skipped"):
            self.queue.put(("call", self._call_row(event, entry)))
            del self.calls[node]

    def _call_row(self, event: dict, entry: dict) -> dict:
        status = {"node_completed": "completed", "node_failed": "failed",
                  "node_cancelled": "cancelled", "node_skipped": "skipped"}[event["event"]]
        end = event["t_ms"]
        duration = event.get("duration_ms")
        times = entry.get("attempt_times") or []
        if times and times[-1][1] is None:
            times[-1][1] = end
            if status == "failed":
                times[-1][2] = (event.get("error") or {}).get("message")
        # from its admission (duration_ms), and never after its first attempt began (the
        # event's t_ms is read a moment after the duration's end)
        starts = [end - duration] if duration is not None else []
        starts += [times[0][0]] if times else []
        return {"node": event["node"], "name": event.get("name"), "module": event.get("module"),
                "layer": event.get("layer"), "line": event.get("line"), "status": status,
                "start_ms": min(starts, default=None),
                "end_ms": end, "attempts": event.get("attempts", len(times)),
                "attempt_times": times, "cache_hit": bool(event.get("cache_hit")),
                "error": event.get("error"), "reason": event.get("reason"),
                "args_hash": entry.get("args_hash"), "code_version": entry.get("code_version"),
                "has_value": "value" in entry, "value": entry.get("value")}

    def close(self, timeout: float = 30.0) -> int | None:
        """Wait for the writer to finish; the run's id (None if it was not recorded)."""
        if self.conn is None:
            return None
        self.queue.put(_END)
        self.thread.join(timeout)
        if self.thread.is_alive():
            self._fault(f"{self.path}: the database stayed busy for {timeout:.0f} s")
            return None
        self.conn.close()
        return None if self.failed else self.run_id

    # -- the writer thread --------------------------------------------------------------------
    def _write_loop(self) -> None:
        ending = False
        while not ending:
            batch = [self.queue.get()]
            if batch[0] is not _END:
                time.sleep(BATCH_WAIT_S)
            while True:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            ending = _END in batch
            if self.failed:
                continue
            try:
                self._write(b for b in batch if b is not _END)
            except sqlite3.Error as exc:
                from constellation.runtime.records.store import _reason
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                self._fault(f"{self.path}: {_reason(exc)}")

    def _write(self, batch) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        for op in batch:
            kind = op[0]
            if kind == "run":
                self.run_id = self._insert_run(op[1])
            elif self.run_id is None:
                continue  # the run's row failed: nothing to attach to
            elif kind == "call":
                self._insert_call(op[1])
            elif kind == "result":
                self._insert_result(*op[1:])
            elif kind == "end":
                self._finish_run(op[1])
        conn.execute("COMMIT")

    def _blob(self, text: str | None, digest: str | None, big: str | None) -> str | None:
        if big is not None:
            self.conn.execute("INSERT OR IGNORE INTO blobs (hash, json) VALUES (?, ?)",
                              (digest, big))
        return text

    def _insert_run(self, head: dict) -> int:
        cur = self.conn.execute(
            "INSERT INTO runs (file, plan_hash, status, started_at, inputs, schedule, settings,"
            " pid) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
            (head["file"], head["plan_hash"], head["started_at"], _json(head["inputs"]),
             head["schedule"], _json(head["settings"]), head["pid"]))
        return cur.lastrowid

    def _insert_call(self, row: dict) -> None:
        text = digest = None
        if row["has_value"]:
            text, digest, big = encode(row["value"])
            self._blob(text, digest, big)
        self.conn.execute(
            "INSERT OR REPLACE INTO calls (run_id, node, name, module, status, value, start_ms,"
            " end_ms, layer, line, args_hash, code_version, value_hash, attempts,"
            " attempt_times, errors, cache_hit, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, row["node"], row["name"], row["module"], row["status"], text,
             row["start_ms"], row["end_ms"], row["layer"], row["line"], row["args_hash"],
             row["code_version"], digest, row["attempts"], _json(row["attempt_times"]),
             _json(row["error"]) if row["error"] else None, int(row["cache_hit"]),
             row["reason"]))

    def _insert_result(self, module: str, args_hash: str, args, value, error) -> None:
        text, digest, big = encode(value) if error is None else (None, None, None)
        self._blob(text, digest, big)
        self.conn.execute(
            "INSERT OR IGNORE INTO results (run_id, module, args_hash, args, value, value_hash,"
            " error) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, module, args_hash, _json(args), text, digest, error))

    def _finish_run(self, event: dict) -> None:
        outputs, digest, big = encode(event.get("outputs"))
        self._blob(outputs, digest, big)
        self.conn.execute(
            "UPDATE runs SET status = ?, duration_ms = ?, outputs = ?, outputs_hash = ?,"
            " errors = ? WHERE id = ?",
            (event["status"], event.get("duration_ms"), outputs, digest,
             _json(event.get("errors")), self.run_id))


def _json(value: object) -> str | None:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return json.dumps(repr(value))
