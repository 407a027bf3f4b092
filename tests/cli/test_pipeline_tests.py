"""Pipeline tests (issue 17 item 5): `cst run FILE --save-test NAME` writes a case from a real
run; `cst test` replays it without calling any module (the counters stay put), reports like
pytest, writes JUnit XML and exits 1 on a failure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import yaml
from records_support import counting_project, counts

PIPELINE = """in name: String
a = Echo(name)
b = Slow(a)
f = Flaky(name) with retry: 1
parts = map([a, b], (s) => Echo(s))
out b
out f
out parts
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    folder = counting_project(tmp_path / "proj")
    (folder / "p.cst").write_text(PIPELINE, encoding="utf-8")
    monkeypatch.setenv("COUNTS", str(tmp_path / "counts"))
    return folder


@pytest.fixture
def saved(cst, project, tmp_path):
    result = cst("run", "p.cst", "-i", "name=ada", "--save-test", "ada", cwd=project)
    assert result.code == 0 and "wrote" in result.err, result
    assert counts(tmp_path / "counts") == {"Echo": 3, "Slow": 1, "Flaky": 2}
    return project / "ada.cst-test.yaml"


def test_a_saved_case_replays_without_calling_any_module(cst, project, saved, tmp_path):
    case = yaml.safe_load(saved.read_text(encoding="utf-8"))
    assert case["pipeline"] == "p.cst" and case["inputs"] == {"name": "ada"}
    assert case["expect"] == {"status": "completed", "outputs": {
        "b": "ADA!", "f": "ada?", "parts": ["ada!!", "ADA!!"]}}
    modules = sorted((f["module"], json.dumps(f["args"])) for f in case["fixtures"])
    assert modules == [("Echo", '["ADA!"]'), ("Echo", '["ada!"]'), ("Echo", '["ada"]'),
                       ("Flaky", '["ada"]'), ("Slow", '["ada!"]')]
    result = cst("test", cwd=project)
    assert result.code == 0, result
    assert "ada.cst-test.yaml ." in result.out and "1 passed" in result.out
    assert counts(tmp_path / "counts") == {"Echo": 3, "Slow": 1, "Flaky": 2}  # nothing called


def test_a_failed_expectation_names_its_line_and_exits_1(cst, project, saved, tmp_path):
    text = saved.read_text(encoding="utf-8")
    saved.write_text(text.replace("b: ADA!", "b: ADA?"), encoding="utf-8")
    line = next(i for i, t in enumerate(saved.read_text().splitlines(), 1) if "b: ADA?" in t)
    (project / "fields.cst-test.yaml").write_text(
        "pipeline: p.cst\ninputs: {name: bo}\nfixtures_from_run: last\nexpect:\n"
        "  fields:\n    parts.1: ADA!!\n    parts.5: x\n", encoding="utf-8")
    junit = project / "report.xml"
    result = cst("test", ".", "--junit", junit, cwd=project)
    assert result.code == 1, result
    assert "ada.cst-test.yaml F" in result.out and "FAILURES" in result.out
    assert f"ada.cst-test.yaml:{line}: b: expected \"ADA?\", got \"ADA!\"" in result.out
    assert "2 failed, 0 passed" in result.out
    # the recorded run's results answer calls with the same arguments only
    assert "no fixture for Echo(\"bo\")" in result.out
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "2" and suite.get("failures") == "2"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"ada", "fields"}
    assert "expected \"ADA?\"" in cases["ada"].find("failure").get("message")
    assert counts(tmp_path / "counts") == {"Echo": 3, "Slow": 1, "Flaky": 2}


def test_hand_written_fixtures_by_module_and_arguments(cst, project, tmp_path):
    (project / "hand.cst-test.yaml").write_text("""\
pipeline: p.cst
inputs: {name: x}
fixtures:
  - {module: Echo, args: [x], value: "x1"}
  - {module: Slow, args: [x1], value: "X1"}
  - {module: Flaky, args: [x], error: service down}
  - {module: Echo, args: [x1], value: "e1"}
  - {module: Echo, args: [X1], value: "e2"}
expect:
  status: failed
  outputs: {b: X1}
  fields: {parts.0: e1}
  errors: [service down]
""", encoding="utf-8")
    result = cst("test", "hand.cst-test.yaml", cwd=project)
    assert result.code == 0, result
    assert counts(tmp_path / "counts") == {}


def test_fixtures_from_a_recorded_run(cst, project, tmp_path):
    assert cst("run", "p.cst", "-i", "name=zed", cwd=project).code == 0
    (project / "rec.cst-test.yaml").write_text(
        "pipeline: p.cst\ninputs: {name: zed}\nfixtures_from_run: last\n"
        "expect:\n  outputs: {b: ZED!}\n  fields: {parts.1: ZED!!}\n", encoding="utf-8")
    before = counts(tmp_path / "counts")
    result = cst("test", cwd=project)
    assert result.code == 0, result
    assert counts(tmp_path / "counts") == before


@pytest.mark.parametrize("text, message", [
    ("pipeline: p.cst\nexpekt: {}\n", "rec.cst-test.yaml:2: unknown key 'expekt'"),
    ("pipeline: p.cst\nfixtures: [{module: Echo}]\n", ":2: each fixture is"),
    ("pipeline: [p.cst\n", "not valid YAML"),
])
def test_a_broken_case_is_an_error_with_its_line(cst, project, text, message):
    (project / "rec.cst-test.yaml").write_text(text, encoding="utf-8")
    result = cst("test", cwd=project)
    assert result.code == 1 and message in result.out and "1 error" in result.out, result


def test_save_test_needs_a_record(cst, project):
    result = cst("run", "p.cst", "-i", "name=x", "--save-test", "x", "--no-record", cwd=project)
    assert result.code == 2 and "drop --no-record" in result.err
    assert not (project / "x.cst-test.yaml").exists()


def test_json_output_gives_each_case_its_status_and_failure_lines(cst, project, saved, tmp_path):
    text = saved.read_text(encoding="utf-8")
    saved.write_text(text.replace("b: ADA!", "b: ADA?"), encoding="utf-8")
    line = next(i for i, t in enumerate(saved.read_text().splitlines(), 1) if "b: ADA?" in t)
    (project / "ok.cst-test.yaml").write_text(text, encoding="utf-8")
    (project / "rec.cst-test.yaml").write_text("pipeline: p.cst\nexpekt: {}\n", encoding="utf-8")
    junit = project / "report.xml"
    result = cst("test", "--json", "--junit", junit, cwd=project)
    assert result.code == 1, result
    report = json.loads(result.out)  # stdout is the JSON document alone
    assert (report["passed"], report["failed"], report["error"]) == (1, 1, 1)
    by_name = {c["name"]: c for c in report["cases"]}
    assert by_name["ok"]["status"] == "passed" and by_name["ok"]["failures"] == []
    assert by_name["ok"]["file"] == str(project / "ok.cst-test.yaml")  # as given, links kept
    ada = by_name["ada"]
    assert ada["status"] == "failed"
    assert ada["failures"] == [{"line": line, "message": 'b: expected "ADA?", got "ADA!"'}]
    broken = by_name["rec"]
    assert broken["status"] == "error" and broken["failures"][0]["line"] == 2
    assert "unknown key 'expekt'" in broken["failures"][0]["message"]
    assert ET.parse(junit).getroot().get("tests") == "3"  # --junit still written
    assert "expekt" in (project / "rec.cst-test.yaml").read_text()  # and not over a case file
    assert counts(tmp_path / "counts") == {"Echo": 3, "Slow": 1, "Flaky": 2}
