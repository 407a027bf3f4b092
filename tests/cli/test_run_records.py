"""Run records (issue 17 item 1): `cst run` records each run and its calls in SQLite; `cst runs`
lists, shows, diffs and prunes them. Real databases, the CLI as a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess

import pytest
from cli_support import cst_command
from records_support import counting_project, counts, query, show

PIPELINE = """in name: String
a = Echo(name)
b = Slow(a)
c = Echo(b)
out c
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    folder = counting_project(tmp_path / "proj")
    (folder / "p.cst").write_text(PIPELINE, encoding="utf-8")
    monkeypatch.setenv("COUNTS", str(tmp_path / "counts"))
    return folder


def env_of(tmp_path, **extra):
    return {"COUNTS": str(tmp_path / "counts"), **extra}


def test_a_run_is_recorded_with_its_calls(cst, project, tmp_path):
    db = tmp_path / "runs.db"
    result = cst("run", "p.cst", "-i", "name=ada", "--json", cwd=project,
                 env={"CONSTELLATION_RUNS_DB": str(db)})
    assert result.code == 0, result
    run = show(cst, db)
    assert run["status"] == "completed" and run["file"] == str(project / "p.cst")
    assert run["inputs"] == {"name": "ada"} and run["outputs"] == {"c": "ADA!!"}
    assert run["settings"]["schedule"] == "layered" and len(run["plan_hash"]) == 16
    calls = {c["name"]: c for c in run["calls"]}
    assert set(calls) == {"a", "b", "c"}
    assert calls["b"]["value"] == "ADA!" and calls["b"]["module"] == "Slow"
    assert calls["b"]["status"] == "completed" and calls["b"]["attempts"] == 1
    assert calls["a"]["args_hash"] != calls["c"]["args_hash"]
    assert calls["a"]["end_ms"] <= calls["b"]["start_ms"] <= calls["b"]["end_ms"]
    assert len(calls["a"]["code_version"]) == 16
    # the same pipeline again: same plan hash, a new run
    assert cst("run", "p.cst", "-i", "name=bob", "--json", cwd=project,
               env={"CONSTELLATION_RUNS_DB": str(db)}).code == 0
    listed = json.loads(cst("runs", "--db", db, "list", "--json").out)
    assert [r["id"] for r in listed] == [2, 1]
    assert listed[0]["plan_hash"] == listed[1]["plan_hash"]
    assert listed[0]["calls"] == {"completed": 3}


def test_default_database_is_beside_constellation_toml(cst, project, tmp_path, monkeypatch):
    monkeypatch.delenv("CONSTELLATION_RUNS_DB")
    (project / "sub").mkdir()
    (project / "sub" / "q.cst").write_text(PIPELINE, encoding="utf-8")
    assert cst("run", "sub/q.cst", "-i", "name=x", cwd=project).code == 0
    db = project / ".constellation" / "runs.db"
    assert query(db, "SELECT count(*) FROM runs") == [(1,)]
    # `cst runs` finds it from below the toml
    assert show(cst, db)["file"] == str(project / "sub" / "q.cst")
    listed = cst("runs", "list", "--json", cwd=project / "sub")
    assert listed.code == 0 and len(json.loads(listed.out)) == 1
    # runs_db in constellation.toml moves it
    (project / "constellation.toml").write_text(
        'modules = ["counting.py"]\nruns_db = "records/all.db"\n', encoding="utf-8")
    assert cst("run", "p.cst", "-i", "name=x", cwd=project).code == 0
    assert query(project / "records" / "all.db", "SELECT count(*) FROM runs") == [(1,)]


def test_no_record_records_nothing(cst, project, tmp_path):
    db = tmp_path / "none.db"
    result = cst("run", "p.cst", "-i", "name=x", "--no-record", cwd=project,
                 env={"CONSTELLATION_RUNS_DB": str(db)})
    assert result.code == 0, result
    assert not db.exists()
    missing = cst("runs", "--db", db, "list")
    assert missing.code == 2 and "no run has been recorded here yet" in missing.err


def test_editor_runs_are_recorded_and_failures_keep_their_errors(cst, project, tmp_path):
    (project / "f.cst").write_text(
        "in t: String\nx = Flaky(t) with retry: 2\ny = Broken(x)\nout y\n", encoding="utf-8")
    db = tmp_path / "runs.db"
    result = cst("run", "f.cst", "-i", "t=go", "--events", cwd=project,
                 env={"CONSTELLATION_RUNS_DB": str(db)})
    assert result.code == 1, result
    run = show(cst, db)
    assert run["status"] == "failed"
    calls = {c["name"]: c for c in run["calls"]}
    x, y = calls["x"], calls["y"]
    assert x["status"] == "completed" and x["attempts"] == 2 and x["value"] == "go?"
    assert [a[2] for a in x["attempt_times"]] == ["service unavailable", None]
    assert x["attempt_times"][0][1] <= x["attempt_times"][1][0]
    assert y["status"] == "failed" and y["error"]["message"] == "bad input: go?"
    assert run["errors"][0]["message"] == "bad input: go?"


def test_large_values_are_stored_once_by_content(cst, project, tmp_path):
    (project / "big.cst").write_text(
        "in n: Int\na = Big(n)\nb = Big(n)\nout a\nout b\n", encoding="utf-8")
    db = tmp_path / "runs.db"
    for _ in range(2):
        assert cst("run", "big.cst", "-i", "n=50000", "--json", cwd=project,
                   env={"CONSTELLATION_RUNS_DB": str(db)}).code == 0
    # 2 runs x (2 calls + outputs + their calls' table) refer to 3 blobs: the string, the
    # outputs and the table of the calls' names, modules and lines, the same for both runs
    assert query(db, "SELECT count(*) FROM blobs") == [(3,)]
    assert query(db, "SELECT count(DISTINCT nodes_hash) FROM runs") == [(1,)]
    assert query(db, "SELECT count(*) FROM calls WHERE value IS NULL AND value_hash IS NOT "
                     "NULL") == [(4,)]
    assert show(cst, db)["calls"][0]["value"] == "x" * 50000


def test_runs_show_diff_and_prune(cst, project, tmp_path):
    db = tmp_path / "runs.db"
    env = {"CONSTELLATION_RUNS_DB": str(db)}
    for name in ("ann", "ann", "bea"):
        assert cst("run", "p.cst", "-i", f"name={name}", cwd=project, env=env).code == 0
    same = json.loads(cst("runs", "--db", db, "diff", "1", "2", "--json").out)
    assert same["outputs"] == {} and same["calls"] == {} and "inputs" not in same
    changed = json.loads(cst("runs", "--db", db, "diff", "1", "last", "--json").out)
    assert changed["inputs"] == {"a": {"name": "ann"}, "b": {"name": "bea"}}
    assert changed["outputs"] == {"c": {"a": "ANN!!", "b": "BEA!!"}}
    assert changed["calls"]["b"]["value"] == {"a": "ANN!", "b": "BEA!"}
    human = cst("runs", "--db", db, "diff", "1", "3")
    assert "inputs" in human.out and "out c" in human.out
    text = cst("runs", "--db", db, "show", "2")
    assert text.code == 0 and "run 2" in text.out and "Slow" in text.out
    pruned = cst("runs", "--db", db, "prune", "--keep", "1", "--json")
    assert json.loads(pruned.out) == {"deleted": 2, "kept": 1}
    assert [r["id"] for r in json.loads(cst("runs", "--db", db, "list", "--json").out)] == [3]
    assert query(db, "SELECT count(*) FROM calls WHERE run_id < 3") == [(0,)]


@pytest.mark.parametrize("ref, message", [
    ("99", "there is no run 99"), ("abc", "'abc' is not a run"),
])
def test_runs_bad_reference_is_a_sentence(cst, project, tmp_path, ref, message):
    db = tmp_path / "runs.db"
    assert cst("run", "p.cst", "-i", "name=x", cwd=project,
               env={"CONSTELLATION_RUNS_DB": str(db)}).code == 0
    result = cst("runs", "--db", db, "show", ref)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err


def test_two_processes_recording_at_once_lose_nothing(project, tmp_path):
    n = 300
    lines = ["in x: Int"] + [f"v{i} = Noop(x)" for i in range(n)] + ["out v0"]
    (project / "wide.cst").write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "shared.db"
    env = {**os.environ, "CONSTELLATION_RUNS_DB": str(db), "CONSTELLATION_RUNS_DB_BUSY_MS": "30000"}
    procs = [subprocess.Popen([*cst_command(), "run", "wide.cst", "-i", f"x={k}", "--json"],
                              cwd=project, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "not recording" not in err, err
    assert query(db, "SELECT status, count(*) FROM runs GROUP BY status") == [("completed", 3)]
    assert query(db, "SELECT run_id, count(*) FROM calls GROUP BY run_id ORDER BY run_id") == [
        (1, n), (2, n), (3, n)]
    assert sorted(query(db, "SELECT inputs FROM runs")) == [('{"x": 0}',), ('{"x": 1}',),
                                                             ('{"x": 2}',)]


@contextlib.contextmanager
def read_only(path):
    """The file made read-only: by its mode, or for root (whom modes do not stop) immutable."""
    os.chmod(path, 0o444)
    immutable = False
    if os.access(path, os.W_OK):
        immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
        if not immutable:
            pytest.skip("running as root without chattr: nothing makes the file read-only")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        os.chmod(path, 0o644)


# -- faults: one line, and the run goes on -----------------------------------------------------
def _one_fault_line(result) -> str:
    lines = [line for line in result.err.splitlines() if "not recording" in line]
    assert len(lines) == 1, result
    return lines[0]


def test_a_corrupt_database_is_one_line_and_the_run_goes_on(cst, project, tmp_path):
    db = tmp_path / "runs.db"
    db.write_bytes(b"this is not an SQLite database, only some text\n" * 100)
    result = cst("run", "p.cst", "-i", "name=x", "--json", cwd=project,
                 env={"CONSTELLATION_RUNS_DB": str(db)})
    assert result.code == 0 and result.json()["outputs"] == {"c": "X!!"}
    assert "not a usable SQLite database" in _one_fault_line(result)
    assert counts(tmp_path / "counts") == {"Echo": 2, "Slow": 1}


def test_a_locked_database_is_one_line_and_the_run_goes_on(cst, project, tmp_path):
    db = tmp_path / "runs.db"
    assert cst("run", "p.cst", "-i", "name=x", cwd=project,
               env={"CONSTELLATION_RUNS_DB": str(db)}).code == 0
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = cst("run", "p.cst", "-i", "name=y", "--events", cwd=project,
                     env={"CONSTELLATION_RUNS_DB": str(db),
                          "CONSTELLATION_RUNS_DB_BUSY_MS": "300"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 0, result
    assert json.loads(result.out.splitlines()[-1])["outputs"] == {"c": "Y!!"}
    assert "locked" in _one_fault_line(result)
    assert query(db, "SELECT count(*) FROM runs") == [(1,)]


def test_a_database_that_cannot_be_written_is_one_line(cst, project, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    result = cst("run", "p.cst", "-i", "name=x", "--json", cwd=project,
                 env={"CONSTELLATION_RUNS_DB": str(blocker / "runs.db")})
    assert result.code == 0 and result.json()["status"] == "completed"
    _one_fault_line(result)


def test_a_read_only_database_is_one_line(cst, project, tmp_path):
    db = tmp_path / "runs.db"
    assert cst("run", "p.cst", "-i", "name=x", cwd=project,
               env={"CONSTELLATION_RUNS_DB": str(db)}).code == 0
    with read_only(db):
        result = cst("run", "p.cst", "-i", "name=y", "--json", cwd=project,
                     env={"CONSTELLATION_RUNS_DB": str(db)})
    assert result.code == 0 and result.json()["status"] == "completed"
    assert "read-only" in _one_fault_line(result) or "readonly" in _one_fault_line(result)
