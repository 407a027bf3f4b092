"""A real headless Chromium for the browser tests and benchmarks/graph.py, and the CLI's pages
and runs the tests read (`Made`: each made once per session).

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
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DEMO = EXAMPLES / "modules" / "demo.py"
DRIVER = REPO / "tests" / "browser" / "driver.mjs"
PLAYWRIGHT = REPO / "vscode-extension" / "node_modules" / "playwright-core"
VIEWPORT = (1400, 900)  # the pages' size (driver.mjs)


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

    def open(self, path: Path, host: str = "plain", ready: str | None = None) -> dict:
        """Navigates the session's page (`host="vscode"`: the page of a VS Code webview, given
        an acquireVsCodeApi that keeps its messages in window.hostMessages) and waits for
        `ready` (a CSS selector; default: the graph page's body[data-ready=true])."""
        command = {"op": "open", "path": str(path), "host": host}
        if ready is not None:
            command["ready"] = ready
        return self.command(**command)

    def eval(self, expr: str):
        return self.command(op="eval", expr=expr).get("value")

    def requests(self) -> list[str]:
        return self.command(op="eval", expr="0")["requests"]

    def errors(self) -> list[str]:
        return self.command(op="eval", expr="0")["errors"]

    def click(self, selector: str) -> None:
        self.command(op="click", selector=selector)

    def type(self, selector: str, text: str) -> None:
        """Clears the field, then types `text` key by key."""
        self.command(op="type", selector=selector, text=text)

    def screenshot(self, path: Path) -> None:
        self.command(op="screenshot", path=str(path))

    @contextmanager
    def viewport(self, width: int, height: int):
        """The page at this size (a side panel's) for the block, then at the session's again."""
        self.command(op="viewport", width=width, height=height)
        try:
            yield
        finally:
            self.command(op="viewport", width=VIEWPORT[0], height=VIEWPORT[1])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def cst(*args, cwd=EXAMPLES, check=True) -> subprocess.CompletedProcess:
    """The CLI as a child process, its simulated latencies shortened."""
    env = {**os.environ, "CONSTELLATION_TIME_SCALE": "0.05"}
    proc = subprocess.run([sys.executable, "-m", "constellation.cli.main", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@dataclass(frozen=True)
class Run:
    events: list[dict]
    report: Path
    returncode: int
    stderr: str


class Made:
    """The CLI's pages and runs of a source, each made once per session (in `folder`)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._made: dict = {}

    def _once(self, key, make):
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def source(self, name: str, text: str) -> Path:
        """A pipeline file of the session, written once."""
        def write():
            path = self.folder / name
            path.write_text(text)
            return path
        return self._once(("source", name), write)

    def graph_page(self, source: Path) -> Path:
        """`cst graph SOURCE --format html`."""
        def make():
            out = self.folder / f"{source.stem}-{len(self._made)}.html"
            cst("graph", source, "--format", "html", "-o", out, "--modules", DEMO, cwd=source.parent)
            return out
        return self._once(("graph", source), make)

    def layers(self, source: Path) -> list[dict]:
        """`cst layers SOURCE --json`'s layers."""
        return self._once(("layers", source), lambda: json.loads(
            cst("layers", source, "--json", "--modules", DEMO, cwd=source.parent).stdout)["layers"])

    def run(self, source: Path, *args: str) -> Run:
        """`cst run SOURCE --events --report R ARGS`: its events and its report."""
        def make():
            report = self.folder / f"{source.stem}-report-{len(self._made)}.html"
            proc = cst("run", source, "--events", "--report", report, "--modules", DEMO, *args,
                       cwd=source.parent, check=False)
            events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
            return Run(events, report, proc.returncode, proc.stderr)
        return self._once(("run", source, args), make)
