"""A Dask run is recorded like a local one and shares the persistent cache with local runs
(issue 17 items 1 and 2): `cst run --executor dask` against the session's LocalCluster, then
local runs of the same file, the calls counted by the modules themselves (on the workers too:
they count beside the module file, tests/records_support.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from records_support import counting_project, taken_counts

PIPELINE = "in s: String\na = Echo(s) with cache: 10min\nb = Slow(a)\nout b\n"


def cst(project: Path, *args: str) -> dict:
    script = Path(sys.executable).parent / "cst"
    command = [str(script)] if script.exists() else [sys.executable, "-m",
                                                     "constellation.cli.main"]
    env = {k: v for k, v in os.environ.items() if k != "COUNTS"}  # the workers have none
    proc = subprocess.run([*command, *args], cwd=project, capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def last_run(project: Path) -> dict:
    return cst(project, "runs", "show", "last", "--json")


def test_a_dask_run_is_recorded_and_shares_the_persistent_cache(cluster, tmp_path):
    project = counting_project(tmp_path / "p")
    (project / "p.cst").write_text(PIPELINE, encoding="utf-8")
    dask = ("--executor", "dask", "--dask-address", cluster.scheduler_address)

    first = cst(project, "run", "p.cst", "-i", "s=x", "--json", *dask)
    assert first["status"] == "completed" and first["outputs"] == {"b": "X!"}
    assert taken_counts(project / "counts") == {"Echo": 1, "Slow": 1}
    record = last_run(project)
    assert record["status"] == "completed" and record["settings"]["executor"] == "dask"
    calls = {c["name"]: c for c in record["calls"]}
    assert calls["a"]["value"] == "x!" and calls["b"]["value"] == "X!"
    assert calls["a"]["args"] == ["x"] and not calls["a"]["cache_hit"]

    # a local run of the same file hits what the Dask run stored
    cst(project, "run", "p.cst", "-i", "s=x", "--json")
    assert taken_counts(project / "counts") == {"Slow": 1}
    assert {c["name"]: c["cache_hit"] for c in last_run(project)["calls"]} == {
        "a": True, "b": False}

    # and a Dask run hits what a local run stored
    cst(project, "run", "p.cst", "-i", "s=y", "--json")
    assert taken_counts(project / "counts") == {"Echo": 1, "Slow": 1}
    again = cst(project, "run", "p.cst", "-i", "s=y", "--json", *dask)
    assert again["outputs"] == {"b": "Y!"}
    assert taken_counts(project / "counts") == {"Slow": 1}
    record = last_run(project)
    assert record["settings"]["executor"] == "dask"
    assert {c["name"]: c["cache_hit"] for c in record["calls"]} == {"a": True, "b": False}
