"""Resume and partial runs (issue 17 items 3, 4): `cst run --resume [RUN]`, `--target NAME`,
`--from NAME`. Counters in the modules prove which calls ran."""

from __future__ import annotations

import json

import pytest
from records_support import counting_project, counts

PIPELINE = """in t: String
a = Echo(t)
b = Flaky(a)
c = Echo(b)
d = Slow(t)
out c
out d
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    folder = counting_project(tmp_path / "proj")
    (folder / "r.cst").write_text(PIPELINE, encoding="utf-8")
    monkeypatch.setenv("COUNTS", str(tmp_path / "counts"))
    return folder


def test_resume_runs_only_what_failed_and_its_dependents(cst, project, tmp_path):
    first = cst("run", "r.cst", "-i", "t=x", "--json", cwd=project)
    assert first.code == 1 and first.json()["outputs"] == {"d": "X"}
    assert counts(tmp_path / "counts") == {"Echo": 1, "Flaky": 1, "Slow": 1}
    resumed = cst("run", "r.cst", "-i", "t=x", "--resume", "--events", cwd=project)
    assert resumed.code == 0, resumed
    events = [json.loads(line) for line in resumed.out.splitlines()]
    started = sorted(e["name"] for e in events if e["event"] == "node_started")
    assert started == ["b", "c"]  # a and d reused, no attempt
    assert events[-1]["outputs"] == {"c": "x!?!", "d": "X"}
    assert "resuming run 1: 2 call(s) reused" in resumed.err
    assert counts(tmp_path / "counts") == {"Echo": 2, "Flaky": 2, "Slow": 1}
    # the resumed run is recorded whole: a second resume reuses everything
    again = cst("run", "r.cst", "-i", "t=x", "--resume", "2", "--json", cwd=project)
    assert again.code == 0 and "4 call(s) reused" in again.err
    assert counts(tmp_path / "counts") == {"Echo": 2, "Flaky": 2, "Slow": 1}


def test_resume_with_other_inputs_reruns_what_they_reach(cst, project, tmp_path):
    assert cst("run", "r.cst", "-i", "t=x", "--json", cwd=project).code == 1
    assert cst("run", "r.cst", "-i", "t=y", "--resume", "--json", cwd=project).code == 0
    # every call reads t (directly or not): none is reused
    assert counts(tmp_path / "counts") == {"Echo": 3, "Flaky": 2, "Slow": 2}


def test_resume_refuses_a_record_of_another_version(cst, project, tmp_path):
    assert cst("run", "r.cst", "-i", "t=x", "--json", cwd=project).code == 1
    (project / "r.cst").write_text(PIPELINE.replace("d = Slow(t)", "d = Slow(t)\ne = Echo(d)")
                                   + "out e\n", encoding="utf-8")
    result = cst("run", "r.cst", "-i", "t=x", "--resume", cwd=project)
    assert result.code == 2
    assert "run 1 ran another version of r.cst: 'e' (Echo) added" in result.err


def test_resume_without_a_record_is_a_sentence(cst, project):
    result = cst("run", "r.cst", "-i", "t=x", "--resume", cwd=project)
    assert result.code == 2 and "--resume" in result.err and "Traceback" not in result.err


def test_target_runs_only_what_the_binding_needs(cst, project, tmp_path):
    result = cst("run", "r.cst", "-i", "t=x", "--target", "d", "--json", cwd=project)
    assert result.code == 0, result
    assert result.json()["outputs"] == {"d": "X"}
    statuses = {n["name"]: n["status"] for n in result.json()["nodes"]}
    assert statuses == {"a": "skipped", "b": "skipped", "c": "skipped", "d": "completed"}
    assert counts(tmp_path / "counts") == {"Slow": 1}
    two = cst("run", "r.cst", "-i", "t=x", "--target", "a", "--target", "d", "--json",
              cwd=project)
    assert two.json()["outputs"] == {"a": "x!", "d": "X"}
    assert counts(tmp_path / "counts") == {"Slow": 2, "Echo": 1}
    wrong = cst("run", "r.cst", "-i", "t=x", "--target", "dd", cwd=project)
    assert wrong.code == 2 and "no binding 'dd' (did you mean 'd'?)" in wrong.err


def test_from_reruns_the_binding_and_its_downstream(cst, project, tmp_path):
    (project / "ok.cst").write_text(PIPELINE.replace("Flaky(a)", "Slow(a)"), encoding="utf-8")
    assert cst("run", "ok.cst", "-i", "t=x", "--json", cwd=project).code == 0
    assert counts(tmp_path / "counts") == {"Echo": 2, "Slow": 2}
    result = cst("run", "ok.cst", "-i", "t=x", "--from", "b", "--events", cwd=project)
    assert result.code == 0, result
    events = [json.loads(line) for line in result.out.splitlines()]
    assert sorted(e["name"] for e in events if e["event"] == "node_started") == ["b", "c"]
    assert events[-1]["outputs"] == {"c": "X!!", "d": "X"}
    assert counts(tmp_path / "counts") == {"Echo": 3, "Slow": 3}


def test_from_names_what_the_record_is_missing(cst, project):
    assert cst("run", "r.cst", "-i", "t=x", "--json", cwd=project).code == 1  # b failed
    result = cst("run", "r.cst", "-i", "t=x", "--from", "c", cwd=project)
    assert result.code == 2
    assert "--from c: run 1 has no value of 'b' (failed)" in result.err
    none = cst("run", "r.cst", "-i", "t=x", "--from", "c", cwd=project,
               env={"CONSTELLATION_RUNS_DB": str(project / "empty.db")})
    assert none.code == 2 and "no run has been recorded here yet" in none.err


def test_a_target_resumes_from_a_record_of_the_whole_pipeline(cst, project, tmp_path):
    """The records' identity is the whole pipeline's, whatever part of it a run runs."""
    assert cst("run", "r.cst", "-i", "t=x", "--json", cwd=project).code == 1
    result = cst("run", "r.cst", "-i", "t=x", "--target", "d", "--resume", "--json", cwd=project)
    assert result.code == 0, result
    assert result.json()["outputs"] == {"d": "X"}
    assert "resuming run 1: 1 call(s) reused" in result.err
    assert counts(tmp_path / "counts") == {"Echo": 1, "Flaky": 1, "Slow": 1}
