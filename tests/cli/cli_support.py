"""Helpers of the CLI tests: run the installed `cst` console script as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_support import corpus_dir  # noqa: F401 - shared by this suite's tests

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DEMO = EXAMPLES / "modules" / "demo.py"


def cst_command() -> list[str]:
    script = Path(sys.executable).parent / "cst"
    return [str(script)] if script.exists() else [sys.executable, "-m", "constellation.cli.main"]


class Result:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


def run_cst(*args: str, cwd: Path | str | None = None, timeout: float = 120,
            stdin: str = "", env: dict[str, str] | None = None) -> Result:
    env = {**{k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")},
           "CONSTELLATION_TIME_SCALE": "0.01", "COLUMNS": "200", **(env or {})}
    proc = subprocess.run([*cst_command(), *map(str, args)], cwd=cwd, capture_output=True,
                          input=stdin, text=True, encoding="utf-8", timeout=timeout, env=env)
    result = Result(proc)
    assert "Traceback" not in result.err, result
    return result


@pytest.fixture
def cst():
    return run_cst


@pytest.fixture
def write(tmp_path: Path):
    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path
    return write_file




@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not (path / "expected.json").is_file():
        pytest.skip(f"the shared corpus is not at {path} (set CONSTELLATION_CORPUS to its folder)")
    return path
