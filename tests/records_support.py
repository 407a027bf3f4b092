"""Helpers of the run-record tests (the CLI's, the editor's, Dask's): a module pack whose calls
count themselves in a file (so a test can tell which calls really ran, across processes), and
reading a records database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

COUNTING_MODULE = '''
import os
import time
from pathlib import Path
from constellation.runtime import module

HERE = Path(__file__).parent


def _counts_file():
    """COUNTS when set (the CLI's tests), else `counts` beside this file (a server or a Dask
    worker started before the test set it)."""
    return os.environ.get("COUNTS") or str(HERE / "counts")


def _count(name):
    with open(_counts_file(), "a", encoding="utf-8") as f:
        f.write(name + "\\n")


@module
def Echo(text: str) -> str:
    _count("Echo")
    return text + "!"


@module
def Slow(text: str) -> str:
    _count("Slow")
    return text.upper()


@module
def Big(n: int) -> str:
    _count("Big")
    return "x" * n


@module
def Flaky(text: str) -> str:
    """Fails its first call in a process, succeeds after."""
    _count("Flaky")
    path = _counts_file() + ".flaky"
    if not os.path.exists(path):
        open(path, "w").close()
        raise RuntimeError("service unavailable")
    return text + "?"


@module
def Broken(text: str) -> str:
    _count("Broken")
    raise ValueError("bad input: " + text)


@module
def Noop(x: int) -> int:
    return x + 1


@module
def First(text: str) -> str:
    _count("First")
    return text + "1"


@module
def Fragile(text: str) -> str:
    """Fails while the file `broken` exists beside the counts."""
    _count("Fragile")
    if os.path.exists(os.path.join(os.path.dirname(_counts_file()), "broken")):
        raise RuntimeError("service unavailable")
    return text + "2"


@module
def After(text: str) -> str:
    _count("After")
    return text + "3"


@module
def Aside(text: str) -> str:
    _count("Aside")
    return text + "4"
'''


def counting_project(folder: Path) -> Path:
    """`folder` with constellation.toml and the counting module pack; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "counting.py").write_text(COUNTING_MODULE, encoding="utf-8")
    (folder / "constellation.toml").write_text('modules = ["counting.py"]\n', encoding="utf-8")
    return folder


def taken_counts(path: Path) -> dict[str, int]:
    """`counts`, then the file is emptied: the next call counts from nothing."""
    found = counts(path)
    path.unlink(missing_ok=True)
    return found


def counts(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    found: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").split():
        found[line] = found.get(line, 0) + 1
    return found


def query(db: Path, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def show(cst, db: Path, run: str = "last", cwd: Path | None = None) -> dict:
    result = cst("runs", "--db", db, "show", run, "--json", cwd=cwd)
    assert result.code == 0, result
    return json.loads(result.out)
