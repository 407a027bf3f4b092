"""A Debug Adapter Protocol client for the tests: `cst dap` as a subprocess over stdio.

Every message the adapter sends is validated against the specification's JSON schema
(spec/debugAdapterProtocol.json, from microsoft/debug-adapter-protocol)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema

HERE = Path(__file__).resolve().parent
SCHEMA = json.loads((HERE / "spec" / "debugAdapterProtocol.json").read_text(encoding="utf-8"))
TIMEOUT_S = 30.0


def cst_command() -> list[str]:
    script = Path(sys.executable).parent / "cst"
    return [str(script)] if script.exists() else [sys.executable, "-m", "constellation.cli.main"]


def _validator(name: str):
    schema = {**SCHEMA["definitions"][name], "definitions": SCHEMA["definitions"]}
    return jsonschema.Draft4Validator(schema)


def validate(message: dict) -> None:
    """The message is what the schema says a response or event of its name is."""
    kind = message.get("type")
    if kind == "response":
        name = message["command"][0].upper() + message["command"][1:] + "Response"
        if not message.get("success"):
            name = "ErrorResponse"
    elif kind == "event":
        name = message["event"][0].upper() + message["event"][1:] + "Event"
    else:
        raise AssertionError(f"the adapter sent a {kind!r}: {message}")
    if name not in SCHEMA["definitions"]:
        name = "Response" if kind == "response" else "Event"
    errors = list(_validator(name).iter_errors(message))
    assert not errors, f"{name} does not match the DAP schema: {errors[0].message}\n{message}"


class DapClient:
    def __init__(self, cwd: Path | None = None, env: dict | None = None) -> None:
        full_env = {**os.environ, "CONSTELLATION_TIME_SCALE": "0.01", **(env or {})}
        self.proc = subprocess.Popen([*cst_command(), "dap"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                                     env=full_env)
        self.seq = 0
        self.messages: queue.Queue = queue.Queue()
        self.events: list[dict] = []  # every event received, in order
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self._pending: list[dict] = []

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = out.read(1)
                if not byte:
                    self.messages.put(None)
                    return
                header += byte
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            message = json.loads(out.read(length))
            self.messages.put(message)

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line.decode("utf-8", "replace"))

    def send(self, command: str, arguments: dict | None = None) -> int:
        self.seq += 1
        message = {"seq": self.seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return self.seq

    def _next(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no message in time; events: {self.events[-8:]}; "
                                 f"stderr: {''.join(self.stderr)[-2000:]}")
        try:
            message = self.messages.get(timeout=remaining)
        except queue.Empty:
            raise AssertionError(f"no message in time; events: {self.events[-8:]}; "
                                 f"stderr: {''.join(self.stderr)[-2000:]}") from None
        if message is None:
            raise AssertionError(f"the adapter closed its output; stderr: "
                                 f"{''.join(self.stderr)[-2000:]}")
        validate(message)
        if message["type"] == "event":
            self.events.append(message)
        return message

    def request(self, command: str, arguments: dict | None = None, *,
                timeout: float = TIMEOUT_S) -> dict:
        """The response (success or not) to a new request; events meanwhile are kept."""
        seq = self.send(command, arguments)
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if message["type"] == "response" and message["request_seq"] == seq:
                return message
            if message["type"] == "event":
                self._pending.append(message)

    def ok(self, command: str, arguments: dict | None = None, **kw) -> dict:
        response = self.request(command, arguments, **kw)
        assert response["success"], response
        return response.get("body") or {}

    def event(self, name: str, *, timeout: float = TIMEOUT_S) -> dict:
        """The next event `name` (skipping others), seen or still to come."""
        for i, message in enumerate(self._pending):
            if message["event"] == name:
                del self._pending[i]
                return message
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if message["type"] == "event" and message["event"] == name:
                return message
            if message["type"] == "event":
                self._pending.append(message)

    def output(self) -> str:
        return "".join(e["body"]["output"] for e in self.events if e["event"] == "output")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.request("disconnect", {"terminateDebuggee": True}, timeout=10)
            except (AssertionError, OSError, ValueError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    # -- a session's usual steps ----------------------------------------------------------------
    def start(self, program: Path, *, breakpoints: list | None = None,
              functions: list | None = None, **launch) -> dict:
        """initialize, launch, the breakpoints, configurationDone: returns the capabilities."""
        capabilities = self.ok("initialize", {"adapterID": "constellation",
                                              "linesStartAt1": True, "columnsStartAt1": True,
                                              "pathFormat": "path"})
        self.launched = self.request("launch", {"program": str(program), **launch})
        assert self.launched["success"], self.launched
        self.event("initialized")
        if breakpoints is not None:
            self.breakpoints = self.ok("setBreakpoints", {
                "source": {"path": str(program)},
                "breakpoints": [b if isinstance(b, dict) else {"line": b}
                                for b in breakpoints]})["breakpoints"]
        if functions is not None:
            self.functions = self.ok("setFunctionBreakpoints", {
                "breakpoints": [{"name": f} if isinstance(f, str) else f for f in functions]}
            )["breakpoints"]
        self.ok("configurationDone")
        return capabilities

    def stopped(self) -> dict:
        return self.event("stopped")["body"]

    def frames(self) -> list[dict]:
        return self.ok("stackTrace", {"threadId": 1})["stackFrames"]

    def variables(self, ref: int) -> dict[str, dict]:
        return {v["name"]: v for v in self.ok("variables", {"variablesReference": ref})["variables"]}

    def scopes(self) -> dict[str, dict]:
        frame = self.frames()[0]["id"]
        scopes = self.ok("scopes", {"frameId": frame})["scopes"]
        return {s["name"]: self.variables(s["variablesReference"]) for s in scopes}
