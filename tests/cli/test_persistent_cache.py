"""The `cache:` option's default store persists (issue 17 item 2): a second `cst run` process
hits what the first stored, until the TTL expires or the module's code changes; a named
`cache_backend` stays a store of its own process. Counters in the module prove what ran."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from records_support import counting_project, counts


@pytest.fixture
def project(tmp_path, monkeypatch):
    folder = counting_project(tmp_path / "proj")
    monkeypatch.setenv("COUNTS", str(tmp_path / "counts"))
    return folder


def node_completed(result) -> list[dict]:
    return [e for e in map(json.loads, result.out.splitlines())
            if e["event"] == "node_completed"]


def test_a_second_process_hits_the_first_ones_cache(cst, project, tmp_path):
    (project / "c.cst").write_text(
        "in q: String\na = Slow(q) with cache: 10min\nb = Echo(a)\nout b\n", encoding="utf-8")
    first = cst("run", "c.cst", "-i", "q=hi", "--events", cwd=project)
    assert first.code == 0, first
    assert {e["name"]: e["cache_hit"] for e in node_completed(first)} == {"a": False, "b": False}
    second = cst("run", "c.cst", "-i", "q=hi", "--events", cwd=project)
    hit = {e["name"]: e for e in node_completed(second)}
    assert hit["a"]["cache_hit"] is True and hit["a"]["attempts"] == 0
    assert hit["a"]["value"] == "HI" and hit["b"]["value"] == "HI!"
    assert counts(tmp_path / "counts") == {"Slow": 1, "Echo": 2}
    # other arguments: a miss
    assert cst("run", "c.cst", "-i", "q=ho", "--json", cwd=project).code == 0
    assert counts(tmp_path / "counts")["Slow"] == 2
    # the display says so too
    shown = cst("run", "c.cst", "-i", "q=hi", cwd=project)
    assert "cache hit" in shown.out
    assert counts(tmp_path / "counts")["Slow"] == 2


def test_the_ttl_expires_across_processes(cst, project, tmp_path):
    """Time passes by ageing the stored entry (the machine's speed does not matter)."""
    db = tmp_path / "runs.db"
    env = {"CONSTELLATION_RUNS_DB": str(db)}
    (project / "t.cst").write_text("in q: String\na = Slow(q) with cache: 1min\nout a\n",
                                   encoding="utf-8")
    assert cst("run", "t.cst", "-i", "q=a", "--json", cwd=project, env=env).code == 0
    assert cst("run", "t.cst", "-i", "q=a", "--json", cwd=project, env=env).code == 0
    assert counts(tmp_path / "counts") == {"Slow": 1}
    age(db, 30)  # 30 s old: still fresh
    assert cst("run", "t.cst", "-i", "q=a", "--json", cwd=project, env=env).code == 0
    assert counts(tmp_path / "counts") == {"Slow": 1}
    age(db, 61)  # past its minute
    expired = cst("run", "t.cst", "-i", "q=a", "--events", cwd=project, env=env)
    assert node_completed(expired)[0]["cache_hit"] is False
    assert counts(tmp_path / "counts") == {"Slow": 2}
    # a caller with a shorter TTL does not take an entry older than its own TTL
    age(db, 40)  # (stored again by the run above)
    (project / "t.cst").write_text("in q: String\na = Slow(q) with cache: 30s\nout a\n",
                                   encoding="utf-8")
    assert cst("run", "t.cst", "-i", "q=a", "--json", cwd=project, env=env).code == 0
    assert counts(tmp_path / "counts") == {"Slow": 3}


def age(db, seconds: float) -> None:
    """Make every entry `seconds` old (its TTL kept), however long the runs took."""
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE cache SET expires_at = expires_at - stored_at + ?, stored_at = ?",
                     (time.time() - seconds, time.time() - seconds))
    conn.close()


def test_a_changed_module_does_not_hit_its_old_results(cst, project, tmp_path):
    (project / "c.cst").write_text("in q: String\na = Slow(q) with cache: 10min\nout a\n",
                                   encoding="utf-8")
    assert cst("run", "c.cst", "-i", "q=hi", "--json", cwd=project).json()["outputs"] == {
        "a": "HI"}
    module = project / "counting.py"
    module.write_text(module.read_text(encoding="utf-8").replace(
        "return text.upper()", "return text.upper() + '.'"), encoding="utf-8")
    changed = cst("run", "c.cst", "-i", "q=hi", "--json", cwd=project)
    assert changed.json()["outputs"] == {"a": "HI."}
    assert counts(tmp_path / "counts") == {"Slow": 2}


def test_a_named_backend_stays_in_its_process(cst, project, tmp_path):
    (project / "n.cst").write_text(
        'in q: String\na = Slow(q) with cache: 10min, cache_backend: "mine"\n'
        'b = Slow(q) with cache: 10min, cache_backend: "mine"\nout a\nout b\n',
        encoding="utf-8")
    for _ in range(2):
        assert cst("run", "n.cst", "-i", "q=x", "--json", cwd=project).code == 0
    assert counts(tmp_path / "counts") == {"Slow": 2}  # once per process: the second call hit


def test_a_broken_cache_database_runs_on_in_memory(cst, project, tmp_path):
    db = tmp_path / "junk.db"
    db.write_bytes(b"not a database at all\n" * 50)
    (project / "c.cst").write_text(
        "in q: String\na = Slow(q) with cache: 10min\nb = Slow(q) with cache: 10min\n"
        "out a\nout b\n", encoding="utf-8")
    result = cst("run", "c.cst", "-i", "q=x", "--json", "--no-record", cwd=project,
                 env={"CONSTELLATION_RUNS_DB": str(db)})
    assert result.code == 0 and result.json()["outputs"] == {"a": "X", "b": "X"}
    assert [line for line in result.err.splitlines() if "cache is kept in memory only" in line]
    assert counts(tmp_path / "counts") == {"Slow": 1}
