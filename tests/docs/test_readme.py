"""The README's Python example runs as written and prints what its comments say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_block(section: str) -> str:
    text = README.read_text(encoding="utf-8")
    body = text[text.index(section):]
    return re.search(r"```python\n(.*?)```", body, re.S).group(1)


def test_the_from_python_example_runs(tmp_path: Path):
    code = python_block("### From Python")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["no problems", "Int"]
    assert "1 ['doubled', 'tripled']" in lines
    assert "completed {'total': 20}" in lines
    assert lines[-1] == "True 4 declarations reused"
