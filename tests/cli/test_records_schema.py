"""The records database's schema is versioned: an older database is migrated in place (its
runs kept), a newer one is refused in one line while the run goes on."""

from __future__ import annotations

import json
import sqlite3

from records_support import counting_project, query, show

# the records database as the first released schema (version 1) wrote it
VERSION_1 = """
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, file TEXT, plan_hash TEXT,
    status TEXT NOT NULL, started_at REAL NOT NULL, duration_ms REAL);
CREATE TABLE calls (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    node INTEGER NOT NULL, name TEXT, module TEXT, status TEXT NOT NULL, value TEXT,
    start_ms REAL, end_ms REAL, PRIMARY KEY (run_id, node));
INSERT INTO runs VALUES (1, '/old/p.cst', 'abc', 'completed', 1700000000.0, 12.5);
INSERT INTO calls VALUES (1, 1, 'a', 'Echo', 'completed', '"old!"', 1.0, 2.0);
PRAGMA user_version = 1;
"""


def test_a_version_1_database_is_migrated_and_keeps_its_runs(cst, tmp_path, monkeypatch):
    project = counting_project(tmp_path / "proj")
    (project / "p.cst").write_text("in n: String\na = Echo(n)\nout a\n", encoding="utf-8")
    monkeypatch.setenv("COUNTS", str(tmp_path / "counts"))
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript(VERSION_1)
    conn.close()
    result = cst("run", "p.cst", "-i", "n=new", cwd=project, env={"CONSTELLATION_RUNS_DB": str(db)})
    assert result.code == 0 and "not recording" not in result.err, result
    assert query(db, "PRAGMA user_version") == [(2,)]
    old = show(cst, db, "1")
    assert old["file"] == "/old/p.cst" and old["calls"][0]["value"] == "old!"
    assert old["calls"][0]["attempts"] == 0 and old["inputs"] is None
    new = show(cst, db, "last")
    assert new["id"] == 2 and new["calls"][0]["value"] == "new!"
    assert new["calls"][0]["args_hash"]
    assert [r["id"] for r in json.loads(cst("runs", "--db", db, "list", "--json").out)] == [2, 1]


def test_a_fresh_database_gets_every_migration(tmp_path):
    from constellation.runtime.records import schema
    from constellation.runtime.records.store import connect

    conn = connect(tmp_path / "new.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "calls", "blobs", "results", "cache"} <= tables
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_newer_schema_is_refused_in_one_line(cst, tmp_path, monkeypatch):
    project = counting_project(tmp_path / "proj")
    (project / "p.cst").write_text("in n: String\na = Echo(n)\nout a\n", encoding="utf-8")
    monkeypatch.setenv("COUNTS", str(tmp_path / "counts"))
    db = tmp_path / "future.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    result = cst("run", "p.cst", "-i", "n=x", "--json", cwd=project,
                 env={"CONSTELLATION_RUNS_DB": str(db)})
    assert result.code == 0 and result.json()["outputs"] == {"a": "x!"}
    lines = [line for line in result.err.splitlines() if "not recording" in line]
    assert len(lines) == 1 and "version 99, newer than this Constellation's" in lines[0]
