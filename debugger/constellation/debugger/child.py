"""The run's child process: `cst run FILE --events --debug`, its own session (so ending it
ends whatever its modules started), asked and answered over its standard streams."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

import anyio
from anyio.abc import Process

# `python -c` keeps the child independent of whether a `cst` script is on PATH.
CLI_PREFIX = [sys.executable, "-c",
              "import sys; from constellation.cli.main import main; sys.exit(main())"]
TERMINATE_GRACE_S = 3.0


@dataclass
class RunOptions:
    inputs: dict
    use_examples: bool = False
    schedule: str | None = None
    serial: bool = False
    seed: int | None = None

    def arguments(self, inputs_file: str | None) -> list[str]:
        args = []
        if inputs_file:
            args += ["--inputs", inputs_file]
        if self.use_examples:
            args.append("--examples")
        if self.schedule:
            args += ["--schedule", self.schedule]
        if self.serial:
            args.append("--serial")
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        return args


class Child:
    def __init__(self, process: Process, inputs_file: str | None) -> None:
        self.process = process
        self._inputs_file = inputs_file
        self.exited = anyio.Event()

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def start(cls, program: Path, options: RunOptions) -> Child:
        inputs_file = None
        if options.inputs:
            fd, inputs_file = tempfile.mkstemp(prefix="cst-dap-inputs-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(options.inputs, f)
        command = [*CLI_PREFIX, "run", str(program), "--events", "--debug",
                   "--watch-parent", str(os.getpid()), *options.arguments(inputs_file)]
        process = await anyio.open_process(command, cwd=str(program.parent),
                                           start_new_session=True)
        return cls(process, inputs_file)

    async def lines(self, stream) -> AsyncIterator[str]:
        buffer = b""
        async for chunk in stream:
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for line in complete:
                yield line.decode("utf-8", "replace")
        if buffer:
            yield buffer.decode("utf-8", "replace")

    async def events(self) -> AsyncIterator[dict]:
        async for line in self.lines(self.process.stdout):
            try:
                event = json.loads(line)
            except ValueError:
                continue  # the event stream holds only JSON lines; anything else is not ours
            if isinstance(event, dict):
                yield event

    async def go(self, point: int) -> None:
        await self.send({"go": point})

    async def send(self, message: dict) -> None:
        """A line to the child: `{"go": N}`, or `{"fetch": K, ...}` (whole.py)."""
        try:
            await self.process.stdin.send(json.dumps(message).encode() + b"\n")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass  # the child has ended; its end is reported by its event stream

    async def watch(self) -> None:
        """The one waiter of the process (started beside it): `exited` tells the others."""
        await self.process.wait()
        self.exited.set()

    async def end(self) -> int | None:
        """SIGTERM (the run cancels and ends what its modules started), then SIGKILL to its
        whole process group if it has not ended in TERMINATE_GRACE_S."""
        if not self.exited.is_set():
            try:
                self.process.terminate()
            except ProcessLookupError:
                pass
            with anyio.move_on_after(TERMINATE_GRACE_S):
                await self.exited.wait()
        self._kill_group()  # what the run's modules left in its group goes too
        await self.exited.wait()
        self.cleanup()
        return self.process.returncode

    async def finish(self) -> int | None:
        """The run has ended on its own: its exit status, once nothing of it is left."""
        await self.exited.wait()
        self._kill_group()
        self.cleanup()
        return self.process.returncode

    def _kill_group(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def cleanup(self) -> None:
        if self._inputs_file:
            try:
                os.unlink(self._inputs_file)
            except OSError:
                pass
            self._inputs_file = None
