"""The records database's schema is versioned: an older database is migrated in place (its
runs kept), a newer one is refused in one line while the run goes on."""

from __future__ import annotations

import json
import sqlite3

from records_support import counting_project, counts, query, show

from constellation.runtime.records import schema

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
    assert query(db, "PRAGMA user_version") == [(schema.VERSION,)]
    old = show(cst, db, "1")
    assert old["file"] == "/old/p.cst" and old["calls"][0]["value"] == "old!"
    assert old["calls"][0]["attempts"] == 0 and old["inputs"] is None
    new = show(cst, db, "last")
    assert new["id"] == 2 and new["calls"][0]["value"] == "new!"
    assert new["calls"][0]["args_hash"]
    assert [r["id"] for r in json.loads(cst("runs", "--db", db, "list", "--json").out)] == [2, 1]


def as_version_2(db) -> None:
    """A database this version wrote, turned into what version 2 wrote: every call's row
    holding its name, module, layer, line, code version, argument hash and attempt times,
    and the runs without version 3's columns."""
    conn = sqlite3.connect(db, isolation_level=None)
    runs = conn.execute("SELECT id, nodes_hash, modules FROM runs").fetchall()
    for run_id, nodes_hash, modules in runs:
        nodes = json.loads(conn.execute("SELECT json FROM blobs WHERE hash = ?",
                                        (nodes_hash,)).fetchone()[0])
        versions = json.loads(modules)
        for node, name, module, layer, line in nodes:
            conn.execute(
                "UPDATE calls SET name = ?, module = ?, layer = ?, line = ?, code_version = ?,"
                " args_hash = coalesce(args_hash, 'v2-hash-of-' || args), attempt_times ="
                " coalesce(attempt_times, json_array(json_array(start_ms, end_ms, NULL)))"
                " WHERE run_id = ? AND node = ?",
                (name, module, layer, line, versions.get(module), run_id, node))
    conn.execute("DELETE FROM blobs WHERE hash IN (SELECT nodes_hash FROM runs)")
    conn.execute("ALTER TABLE runs DROP COLUMN nodes_hash")
    conn.execute("ALTER TABLE runs DROP COLUMN modules")
    conn.execute("PRAGMA user_version = 2")
    conn.close()


def test_a_version_2_record_is_migrated_read_and_resumed(cst, tmp_path, monkeypatch):
    project = counting_project(tmp_path / "proj")
    (project / "p.cst").write_text("in n: String\na = Echo(n)\nb = Broken(a)\nout b\n",
                                   encoding="utf-8")
    monkeypatch.setenv("COUNTS", str(tmp_path / "counts"))
    env = {"CONSTELLATION_RUNS_DB": str(tmp_path / "v2.db")}
    assert cst("run", "p.cst", "-i", "n=x", cwd=project, env=env).code == 1
    as_version_2(tmp_path / "v2.db")
    old = show(cst, tmp_path / "v2.db", "1")
    assert query(tmp_path / "v2.db", "PRAGMA user_version") == [(schema.VERSION,)]
    calls = {c["name"]: c for c in old["calls"]}
    assert calls["a"]["module"] == "Echo" and calls["a"]["value"] == "x!"
    assert calls["a"]["args_hash"].startswith("v2-hash-of-")  # as version 2 stored it
    assert calls["b"]["status"] == "failed" and calls["b"]["error"]["message"] == "bad input: x!"
    resumed = cst("run", "p.cst", "-i", "n=x", "--resume", cwd=project, env=env)
    assert resumed.code == 1 and "1 call(s) reused" in resumed.err, resumed
    assert counts(tmp_path / "counts") == {"Echo": 1, "Broken": 2}


def test_a_fresh_database_gets_every_migration(tmp_path):
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
