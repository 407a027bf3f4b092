"""benchmarks/records.py keeps working: its quick mode prints every row of its table."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_records_benchmark_quick_prints_its_table():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "records.py"), "--quick"],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    for row in ("(a) 1,000 no-op nodes, recorded vs --no-record, events",
                "(a) 1,000 no-op nodes, recorded vs --no-record --json",
                "(a') the same, `cst run` vs `cst run --no-record` (processes)",
                "(b) profile.cst, warm persistent cache", "(c) resume", "6 calls ran"):
        assert row in proc.stdout
