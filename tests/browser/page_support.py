"""A real headless Chromium for the graph page's tests and benchmarks/graph.py.

Debian's `chromium` (installed by .ci/run) driven by playwright-core (npm, a devDependency of
vscode-extension/, installed by `./dev test`), through tests/browser/driver.mjs: one JSON
command per line. Every request the page makes other than its own file is recorded (and
aborted), so tests can check the page works offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "tests" / "browser" / "driver.mjs"
PLAYWRIGHT = REPO / "vscode-extension" / "node_modules" / "playwright-core"


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not PLAYWRIGHT.is_dir():
        return "playwright-core is not installed (run `npm ci` in vscode-extension/, as ./dev test does)"
    if chromium_path() is None:
        return "Debian's chromium is not installed (`apt-get install chromium`, as .ci/run does)"
    return None


class Browser:
    def __init__(self):
        env = {**os.environ, "CHROMIUM": chromium_path() or "/usr/bin/chromium"}
        self.process = subprocess.Popen(["node", str(DRIVER)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env)

    def command(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the browser driver ended")
        answer = json.loads(line)
        if not answer.pop("ok"):
            raise RuntimeError(answer["error"])
        return answer

    def open(self, path: Path) -> dict:
        return self.command(op="open", path=str(path))

    def eval(self, expr: str):
        return self.command(op="eval", expr=expr).get("value")

    def requests(self) -> list[str]:
        return self.command(op="eval", expr="0")["requests"]

    def errors(self) -> list[str]:
        return self.command(op="eval", expr="0")["errors"]

    def click(self, selector: str) -> None:
        self.command(op="click", selector=selector)

    def screenshot(self, path: Path) -> None:
        self.command(op="screenshot", path=str(path))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
