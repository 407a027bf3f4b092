"""Reading run records back: the list of runs, one run with its calls, the difference of two
runs, and pruning old ones. Every function takes an open connection (store.connect).

A run whose row still says `running` but whose process has gone (killed, or the machine
stopped) reads as `unfinished`: its calls up to the recorder's last batch are there."""

from __future__ import annotations

import json
import os
import sqlite3

from constellation.runtime.identity import digest
from constellation.runtime.records.schema import BLOB_REFERENCES, RUN_TABLES

__all__ = ["NotFound", "diff_runs", "find_run", "list_runs", "module_results", "prune",
           "reusable_calls", "run_detail", "run_head"]


class NotFound(Exception):
    """No run matches; str() is the sentence for the user."""


def _load(conn: sqlite3.Connection, text: str | None, digest: str | None) -> object:
    if text is not None:
        return json.loads(text)
    if digest is not None:
        row = conn.execute("SELECT json FROM blobs WHERE hash = ?", (digest,)).fetchone()
        return json.loads(row[0]) if row else None
    return None


def _status(row: sqlite3.Row) -> str:
    if row["status"] == "running" and row["pid"] is not None and not _alive(row["pid"]):
        return "unfinished"
    return row["status"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it is there
        return True
    return True


def _run_summary(row: sqlite3.Row) -> dict:
    return {"id": row["id"], "file": row["file"], "status": _status(row),
            "started_at": row["started_at"], "duration_ms": row["duration_ms"],
            "plan_hash": row["plan_hash"]}


def list_runs(conn: sqlite3.Connection, *, file: str | None = None, limit: int = 20
              ) -> list[dict]:
    """The newest runs first (of `file` only, when given), with their calls' counts."""
    conn.row_factory = sqlite3.Row
    where, params = ("WHERE file = ?", [file]) if file else ("", [])
    rows = conn.execute(f"SELECT * FROM runs {where} ORDER BY id DESC LIMIT ?",
                        [*params, limit]).fetchall()
    runs = []
    for row in rows:
        counts = dict(conn.execute("SELECT status, count(*) FROM calls WHERE run_id = ? "
                                   "GROUP BY status", (row["id"],)).fetchall())
        runs.append({**_run_summary(row), "calls": counts})
    return runs


def find_run(conn: sqlite3.Connection, ref: str, *, file: str | None = None) -> int:
    """A run's id from `ref`: a number, or `last` (of `file` when given)."""
    conn.row_factory = sqlite3.Row
    if ref == "last":
        where, params = ("WHERE file = ?", (file,)) if file else ("", ())
        row = conn.execute(f"SELECT max(id) AS id FROM runs {where}", params).fetchone()
        if row["id"] is None:
            raise NotFound("no run has been recorded yet" + (f" for {file}" if file else ""))
        return row["id"]
    if not ref.isdigit():
        raise NotFound(f"'{ref}' is not a run: give a run's id (see `cst runs list`) or 'last'")
    if conn.execute("SELECT 1 FROM runs WHERE id = ?", (int(ref),)).fetchone() is None:
        raise NotFound(f"there is no run {ref} (see `cst runs list`)")
    return int(ref)


def run_detail(conn: sqlite3.Connection, run_id: int) -> dict:
    """Everything recorded of one run, its calls in the order they settled."""
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise NotFound(f"there is no run {run_id} (see `cst runs list`)")
    # a result that a fallback or on_error replaced keeps its arguments in `results`
    replaced = dict(conn.execute("SELECT args_hash, args FROM results WHERE run_id = ? AND "
                                 "args IS NOT NULL", (run_id,)).fetchall())
    calls = []
    for c in _calls(conn, row, ""):
        args = c["args"] or replaced.get(c["args_hash"])
        calls.append({
            "node": c["node"], "name": c["name"], "module": c["module"], "layer": c["layer"],
            "line": c["line"], "status": c["status"], "value": _load(conn, c["value"],
                                                                     c["value_hash"]),
            "has_value": c["value"] is not None or c["value_hash"] is not None,
            # the argument values of a module's call (None where only their hash is kept)
            "args": json.loads(args) if args else None,
            "args_hash": c["args_hash"], "code_version": c["code_version"],
            "attempts": c["attempts"], "cache_hit": bool(c["cache_hit"]),
            "start_ms": c["start_ms"], "end_ms": c["end_ms"],
            "attempt_times": c["attempt_times"],
            "error": json.loads(c["errors"]) if c["errors"] else None, "reason": c["reason"]})
    return {**_run_summary(row), "schedule": row["schedule"],
            "inputs": json.loads(row["inputs"] or "null"),
            "settings": json.loads(row["settings"] or "null"),
            "outputs": _load(conn, row["outputs"], row["outputs_hash"]),
            "errors": json.loads(row["errors"] or "[]"), "calls": calls}


def run_head(conn: sqlite3.Connection, run_id: int) -> dict:
    """A run's summary with its inputs (what a partial run checks before reusing its calls),
    without its calls."""
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise NotFound(f"there is no run {run_id} (see `cst runs list`)")
    return {**_run_summary(row), "inputs": json.loads(row["inputs"] or "null")}


def reusable_calls(conn: sqlite3.Connection, run_id: int) -> dict[int, dict]:
    """node -> {"status", "has_value", "value", "code_version"} of each of the run's calls:
    what `--resume` and `--from` take from a record (partial.Reuse), read in one pass: the
    values of a thousand calls are one JSON text to parse, not a thousand."""
    conn.row_factory = None
    found = conn.execute("SELECT nodes_hash, modules FROM runs WHERE id = ?",
                         (run_id,)).fetchone()
    if found is None:
        raise NotFound(f"there is no run {run_id} (see `cst runs list`)")
    nodes = {n[0]: n[2] for n in (_load(conn, None, found[0]) or [])}  # node -> module
    versions = json.loads(found[1] or "{}")
    rows = conn.execute("SELECT node, status, value, value_hash, module, code_version "
                        "FROM calls WHERE run_id = ?", (run_id,)).fetchall()
    inline = [r[2] for r in rows if r[2] is not None]
    parsed = iter(json.loads("[" + ",".join(inline) + "]"))
    calls = {}
    for node, status, text, digest, module, version in rows:
        value = next(parsed) if text is not None else (
            _load(conn, None, digest) if digest is not None else None)
        calls[node] = {"status": status, "has_value": text is not None or digest is not None,
                       "value": value,
                       "code_version": version or versions.get(module or nodes.get(node))}
    return calls


def _calls(conn: sqlite3.Connection, run: sqlite3.Row, where: str) -> list[dict]:
    """The run's call rows (`where`: more conditions) as dicts, with what the row leaves to
    the run (schema 3: name, module, layer, line, code version; an argument hash computed
    from the arguments; one clean attempt) filled in."""
    nodes = {n[0]: n for n in (_load(conn, None, run["nodes_hash"]) or [])}
    versions = json.loads(run["modules"] or "{}")
    found = []
    for r in conn.execute(f"SELECT * FROM calls WHERE run_id = ? {where} ORDER BY end_ms, node",
                          (run["id"],)):
        c = dict(r)
        known = nodes.get(c["node"])
        if known is not None and c["name"] is None:
            c["name"], c["module"], c["layer"], c["line"] = known[1:5]
        if c["code_version"] is None:
            c["code_version"] = versions.get(c["module"])
        if c["args_hash"] is None and c["args"] is not None:
            c["args_hash"] = digest(c["args"])
        if c["attempt_times"] is not None:
            c["attempt_times"] = json.loads(c["attempt_times"])
        elif c["attempts"] == 1:  # one clean attempt, spanning the call
            c["attempt_times"] = [[c["start_ms"], c["end_ms"], None]]
        else:
            c["attempt_times"] = []
        found.append(c)
    return found


def module_results(conn: sqlite3.Connection, run_id: int) -> list[dict]:
    """The modules' own results in a run, by module and arguments (pipeline test fixtures):
    the calls' rows that hold them, then `results` (calls in lambda bodies, results that a
    fallback or on_error replaced)."""
    conn.row_factory = sqlite3.Row
    run = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    found = []
    for c in _calls(conn, run, "AND args IS NOT NULL AND status IN ('completed', 'failed')"):
        failed = c["status"] == "failed"
        found.append({"module": c["module"], "args": json.loads(c["args"]),
                      "value": None if failed else _load(conn, c["value"], c["value_hash"]),
                      "error": json.loads(c["errors"])["message"] if failed else None})
    for r in conn.execute("SELECT * FROM results WHERE run_id = ? ORDER BY rowid", (run_id,)):
        found.append({"module": r["module"], "args": json.loads(r["args"]) if r["args"] else None,
                      "value": _load(conn, r["value"], r["value_hash"]), "error": r["error"]})
    return found


def diff_runs(a: dict, b: dict) -> dict:
    """What differs between two run details: plan, inputs, settings, outputs, and each call
    (by name) whose status, value or attempts changed."""
    def changed(key: str) -> dict | None:
        return None if a.get(key) == b.get(key) else {"a": a.get(key), "b": b.get(key)}

    out: dict = {"a": a["id"], "b": b["id"]}
    for key in ("file", "plan_hash", "status", "inputs", "settings"):
        if (d := changed(key)) is not None:
            out[key] = d
    outputs_a, outputs_b = a.get("outputs") or {}, b.get("outputs") or {}
    out["outputs"] = {name: {"a": outputs_a.get(name), "b": outputs_b.get(name)}
                      for name in sorted(set(outputs_a) | set(outputs_b))
                      if outputs_a.get(name) != outputs_b.get(name)}
    calls_a = {c["name"]: c for c in a["calls"]}
    calls_b = {c["name"]: c for c in b["calls"]}
    calls = {}
    for name in sorted(set(calls_a) | set(calls_b), key=str):
        ca, cb = calls_a.get(name), calls_b.get(name)
        if ca is None or cb is None:
            calls[name] = {"a": ca and ca["status"], "b": cb and cb["status"]}
            continue
        fields = {k: {"a": ca[k], "b": cb[k]} for k in ("status", "value", "args_hash",
                                                          "attempts", "cache_hit")
                  if ca[k] != cb[k]}
        if fields:
            calls[name] = fields
    out["calls"] = calls
    return out


def prune(conn: sqlite3.Connection, keep: int) -> int:
    """Delete all but the newest `keep` runs (and values no run refers to); how many went."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        cut = conn.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?",
                           (max(keep, 0),)).fetchone()
        gone = 0
        if cut is not None:
            for table in RUN_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE run_id <= ?", (cut[0],))
            gone = conn.execute("DELETE FROM runs WHERE id <= ?", (cut[0],)).rowcount
            referred = " UNION ".join(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"
                                      for table, column in BLOB_REFERENCES)
            conn.execute(f"DELETE FROM blobs WHERE hash NOT IN ({referred})")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return gone
