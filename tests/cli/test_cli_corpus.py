"""The whole shared corpus through `cst check --format json`, against expected.json."""

from __future__ import annotations

import json

import pytest

from cli_support import DEMO

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def expected(corpus):
    return json.loads((corpus / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reports(corpus, expected):
    """One `cst check` run over all 40 files, with the examples pack loaded."""
    from cli_support import run_cst

    result = run_cst("check", "--format", "json", "--modules", DEMO,
                     *[e["path"] for e in expected], cwd=corpus)
    assert result.code in (0, 1), result
    reports = {f["path"]: f["diagnostics"] for f in result.json()["files"]}
    reports["<exit status>"] = result.code
    return reports


def summary(diagnostics) -> list[tuple[str, int]]:
    return [(d["code"], d["line"]) for d in diagnostics]


def test_exit_status_reflects_invalid_files(expected, reports):
    assert len(reports) - 1 == len(expected) == 40
    assert reports["<exit status>"] == (0 if all(e["valid"] for e in expected) else 1)


@pytest.mark.parametrize("index", range(40))
def test_corpus_file(expected, reports, index):
    entry = expected[index]
    diagnostics = reports[entry["path"]]
    assert summary(diagnostics) == [(d["code"], d["line"]) for d in entry["diagnostics"]], \
        json.dumps(diagnostics, indent=1)
    valid = not any(d["severity"] == "error" for d in diagnostics)
    assert valid == entry["valid"]


def test_stdlib_only_files_pass_without_the_pack(corpus, expected):
    from cli_support import run_cst

    stdlib_only = [e for e in expected if e["needs"] == "stdlib"]
    if not stdlib_only:
        pytest.skip("no stdlib-only files in the corpus")
    result = run_cst("check", "--format", "json", *[e["path"] for e in stdlib_only], cwd=corpus)
    files = {f["path"]: f["diagnostics"] for f in result.json()["files"]}
    for entry in stdlib_only:
        assert summary(files[entry["path"]]) == [(d["code"], d["line"])
                                                 for d in entry["diagnostics"]], entry["path"]


@pytest.fixture(scope="module")
def layer_reports(corpus, expected):
    """`cst layers --json` of every valid corpus file (two processes at a time)."""
    from concurrent.futures import ThreadPoolExecutor

    from cli_support import run_cst

    valid = [e["path"] for e in expected if e["valid"]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda p: run_cst("layers", "--json", "--modules", DEMO, p,
                                             cwd=corpus), valid)
        return dict(zip(valid, results))


def valid_indexes() -> list[int]:
    """Indexes of the valid corpus files (read at collection; all 40 when the corpus is absent,
    and then the `corpus` fixture skips them)."""
    from cli_support import corpus_dir

    try:
        entries = json.loads((corpus_dir() / "expected.json").read_text(encoding="utf-8"))
    except OSError:
        return list(range(40))
    return [i for i, e in enumerate(entries) if e["valid"]]


@pytest.mark.parametrize("index", valid_indexes())
def test_corpus_layers(expected, layer_reports, index):
    """Every assignment whose right-hand side is a single call is in its expected layer."""
    entry = expected[index]
    result = layer_reports[entry["path"]]
    assert result.code == 0, result
    shown = {node["name"]: layer["layer"] for layer in result.json()["layers"]
             for node in layer["nodes"] if node["kind"] == "module"}
    assert {name: shown.get(name) for name in entry["layers"]} == entry["layers"]
