"""Fixtures of the debugger tests: a project with known modules, and `cst dap` clients."""

from __future__ import annotations

from pathlib import Path

import pytest
from dap_client import DapClient

MODULES = '''
import os
import time
from typing import TypedDict

from constellation.runtime import module


class Both(TypedDict):
    left: int
    right: list[int]


def _count(name):
    with open(os.environ["DAP_TEST_CALLS"], "a", encoding="utf-8") as f:
        f.write(name + "\\n")


@module
def Double(x: int) -> int:
    _count("Double")
    return x * 2


@module
def Inc(x: int) -> int:
    _count("Inc")
    print(f"Inc got {x}")
    return x + 1


@module
def Add(a: int, b: int) -> int:
    _count("Add")
    return a + b


@module
def Pair(a: int, b: int) -> Both:
    _count("Pair")
    return {"left": a, "right": [a, b]}


@module
def Big(x: int) -> list[str]:
    return [f"item {i}" for i in range(1000)]


@module
def Long(x: int) -> str:
    return "".join(chr(ord("a") + i % 26) for i in range(5000))


@module
def Size(items: list[str], text: str) -> int:
    return len(items) + len(text)


@module
def Slow(x: int) -> int:
    with open(os.environ["DAP_TEST_CALLS"] + ".slow", "w") as f:
        f.write("started")
    time.sleep(1.5)
    return x


@module
def Fail(x: int) -> int:
    _count("Fail")
    raise RuntimeError(f"Fail cannot take {x}")


@module
def Spawn(x: int) -> int:
    import subprocess
    child = subprocess.Popen(["sleep", "300"])
    with open(os.environ["DAP_TEST_CALLS"] + ".spawned", "w") as f:
        f.write(str(child.pid))
    while True:
        time.sleep(0.05)


@module
def Hang(x: int) -> int:
    _count("Hang")
    with open(os.environ["DAP_TEST_CALLS"] + ".hang", "w") as f:
        f.write(str(os.getpid()))
    while True:
        time.sleep(0.05)
'''


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls_file = root / "calls.txt"
        (root / "mods.py").write_text(MODULES, encoding="utf-8")
        (root / "constellation.toml").write_text('modules = ["mods.py"]\n', encoding="utf-8")

    def program(self, text: str, name: str = "p.cst") -> Path:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return path

    def calls(self) -> list[str]:
        if not self.calls_file.exists():
            return []
        return self.calls_file.read_text(encoding="utf-8").split()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def dap(project: Project):
    clients: list[DapClient] = []

    def start() -> DapClient:
        client = DapClient(cwd=project.root, env={"DAP_TEST_CALLS": str(project.calls_file)})
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.close()
        assert "Traceback" not in "".join(client.stderr), "".join(client.stderr)
