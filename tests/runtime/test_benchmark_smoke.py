"""benchmarks/runtime.py keeps working: its quick mode prints the table with every section."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_runtime_benchmark_quick_prints_its_table():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "runtime.py"), "--quick"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    for case in ("(a) chain 1,000", "(a) wide 1,000", "(b) profile", "(c) 20x5 DAG",
                 "(d) 20x5 DAG", "peak memory"):
        assert case in proc.stdout
