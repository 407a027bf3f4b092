"""The records database's schema, versioned by SQLite's `user_version`, and its migrations.

A database of version k is brought to the current version by the migrations after k, in one
transaction each; a database newer than this code is refused (its sentence says so) rather
than written in a shape it does not know. Never edit a released migration: add one.
"""

from __future__ import annotations

import sqlite3

# version 1: the first records (a run's file, plan hash, status, times; a call's outcome)
_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file TEXT,
    plan_hash TEXT,
    status TEXT NOT NULL,
    started_at REAL NOT NULL,
    duration_ms REAL
);
CREATE TABLE calls (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    node INTEGER NOT NULL,
    name TEXT,
    module TEXT,
    status TEXT NOT NULL,
    value TEXT,
    start_ms REAL,
    end_ms REAL,
    PRIMARY KEY (run_id, node)
);
"""

def _add_columns(table: str, *columns: str) -> str:
    return "".join(f"ALTER TABLE {table} ADD COLUMN {column};\n" for column in columns)


# version 2: inputs, schedule and settings of a run; arguments (and their hash), attempts,
# errors and the module's code version of a call; values too large for a row stored once by
# content hash; `results`: the modules' own results where a call's row does not hold them
# (calls in lambda bodies, results a fallback or on_error replaced); the persistent cache
_V2 = _add_columns("runs", "inputs TEXT", "schedule TEXT", "settings TEXT", "outputs TEXT",
                   "outputs_hash TEXT", "errors TEXT", "pid INTEGER") + _add_columns(
    "calls", "layer INTEGER", "line INTEGER", "args_hash TEXT", "args TEXT",
    "code_version TEXT", "value_hash TEXT", "attempts INTEGER NOT NULL DEFAULT 0",
    "attempt_times TEXT", "errors TEXT", "cache_hit INTEGER NOT NULL DEFAULT 0",
    "reason TEXT") + """
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,
    json TEXT NOT NULL
);
CREATE TABLE results (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    module TEXT NOT NULL,
    args_hash TEXT NOT NULL,
    args TEXT,
    value TEXT,
    value_hash TEXT,
    error TEXT,
    PRIMARY KEY (run_id, module, args_hash)
);
CREATE TABLE cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    stored_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX runs_by_file ON runs(file, id);
"""

# version 3: what every call of a run shares is kept once per run (recorder.py writes a run's
# calls in one pass): `nodes_hash`, the `blobs` entry listing its calls' [node, name, module,
# layer, line]; `modules`, its modules' code versions. A call's row leaves name, module,
# layer, line and code_version NULL then, args_hash too where `args` holds the arguments
# (their hash is computed on reading), and attempt_times for one clean attempt.
_V3 = _add_columns("runs", "nodes_hash TEXT", "modules TEXT")

MIGRATIONS = (_V1, _V2, _V3)  # MIGRATIONS[k] brings version k to version k + 1
VERSION = len(MIGRATIONS)

# what a run owns (deleted with it) and where `blobs` are referred to (a blob nobody refers
# to is deleted by `prune`)
RUN_TABLES = ("calls", "results")
BLOB_REFERENCES = (("calls", "value_hash"), ("results", "value_hash"), ("runs", "outputs_hash"),
                   ("runs", "nodes_hash"))


class SchemaTooNew(Exception):
    pass


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to VERSION; returns the version it had."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > VERSION:
        raise SchemaTooNew(f"its schema is version {found}, newer than this Constellation's "
                           f"({VERSION}); upgrade Constellation to record into it")
    for version in range(found, VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # a concurrent process may have migrated while we waited for the lock
            if conn.execute("PRAGMA user_version").fetchone()[0] == version:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found
