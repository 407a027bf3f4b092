"""The example pipelines of examples/ are valid and run with their @example inputs."""

from __future__ import annotations

import sys

import pytest

from modules_support import EXAMPLES


def analysis_of(name: str):
    from constellation.compiler import analyze
    from constellation.runtime.modules import load_config_registry

    path = EXAMPLES / name
    registry, errors = load_config_registry(path)
    assert errors == []
    analysis = analyze(path.read_text(encoding="utf-8"), registry)
    assert [d.code for d in analysis.diagnostics] == [], [d.message for d in analysis.diagnostics]
    return analysis


def run_example(name: str):
    from constellation.runtime import run

    return run(analysis_of(name), use_examples=True)


@pytest.fixture(autouse=True)
def fresh_counters(demo_registry, fast_time):
    module = next(m for m in list(sys.modules.values())
                  if getattr(m, "__file__", None) == demo_registry.lookup("Uppercase").source_file)
    module.reset_counters()


def test_every_example_is_valid():
    names = sorted(p.name for p in EXAMPLES.glob("*.cst"))
    assert {"profile.cst", "resilient-search.cst", "triage.cst", "numbers.cst"} <= set(names)
    for name in names:
        analysis_of(name)


def test_profile_layers_and_run():
    analysis = analysis_of("profile.cst")
    layer = {n.label: n.layer for n in analysis.plan.nodes}
    assert (layer["user"], layer["orders"], layer["preferences"], layer["profile"]) == (1, 1, 1, 2)
    result = run_example("profile.cst")
    assert result.status == "completed", result
    profile = result.outputs["profile"]
    assert profile["userId"] == "u-42" and profile["orderCount"] >= 2


def test_resilient_search_retries_falls_back_and_skips():
    result = run_example("resilient-search.cst")
    assert result.status == "completed", result
    assert result.outputs["summary"] == ("Success for: weekly report | cached: weekly "
                                         "report | Result for: weekly report")
    assert result.outputs["audit"] == ""  # on_error: skip gives the zero value


def test_triage_takes_the_deep_branch_for_complex_reports():
    assert run_example("triage.cst").outputs["result"] == \
        "Deep analysis of: a complex incident report"


def test_numbers():
    outputs = run_example("numbers.cst").outputs
    assert outputs["stats"] == {"total": 90, "mean": 18.0, "largest": 30,
                                "big": [12, 18, 24, 30]}
    assert outputs["label"] == "small: 90"
