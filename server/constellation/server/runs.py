"""Runs of a pipeline in a child process (`cst run --events`), streamed to the editor.

The server never runs user code itself: the current text (unsaved edits included) is written to
a temporary directory and run by the CLI; each JSON line it prints is forwarded as a
`constellation/runEvent` notification and drives a work-done progress. Cancelling (the command
`constellation.cancelRun`, `$/cancelRequest`, or the progress' cancel button) kills the child's
whole process group.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
import signal
import tempfile
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types as lsp

from constellation.server.documents import RunValues
from constellation.server.events import RunFinished
from constellation.server.registry_loader import cli_command

log = logging.getLogger(__name__)

RUN_EVENT = "constellation/runEvent"
STOP_GRACE_S = 1.0
LINE_LIMIT = 32 * 1024 * 1024
# Run output (what modules print, run-log lines) reaches the editor as window/logMessage
# notifications, coalesced: at most one per FLUSH_S and FLUSH_CHARS per message per kind; what
# is beyond that in a window is dropped with a note (20 MB of prints must not become 20,000
# notifications).
FLUSH_S = 0.15
FLUSH_CHARS = 64 * 1024


class LogCoalescer:
    def __init__(self, send) -> None:
        self.send = send
        self.lines: list[str] = []
        self.size = 0
        self.dropped = 0
        self.dropped_chars = 0
        self.handle: asyncio.TimerHandle | None = None

    def add(self, line: str) -> None:
        if self.size + len(line) > FLUSH_CHARS:
            self.dropped += 1
            self.dropped_chars += len(line)
        else:
            self.lines.append(line)
            self.size += len(line) + 1
        if self.handle is None:
            self.handle = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def flush(self) -> None:
        self.handle = None
        if not self.lines and not self.dropped:
            return
        text = "\n".join(f"[run] {line}" for line in self.lines)
        if self.dropped:
            text += (f"\n[run] … {self.dropped} more line(s) ({self.dropped_chars} characters) "
                     f"of run output dropped: too much to show")
        self.lines, self.size, self.dropped, self.dropped_chars = [], 0, 0, 0
        self.send(text.lstrip("\n"))

    def close(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.flush()


@dataclass
class Run:
    uri: str
    request_id: object = None
    proc: asyncio.subprocess.Process | None = None
    token: str | None = None
    cancelled: bool = False
    events: list[dict] = field(default_factory=list)
    stderr: deque = field(default_factory=lambda: deque(maxlen=20))  # the last lines, for errors
    output: LogCoalescer | None = None  # what the run prints (standard error)
    log: LogCoalescer | None = None  # its run-log lines
    total: int = 1  # module calls in the plan (from run_started)
    done: int = 0  # calls finished so far


class RunManager:
    def __init__(self, server) -> None:
        self.server = server
        self.runs: dict[str, Run] = {}
        self.results_dir: Path | None = None  # full results of runs that events abbreviate

    # -- cancellation -------------------------------------------------------------------------
    def cancel(self, uri: str) -> bool:
        run = self.runs.get(uri)
        if run is None:
            return False
        run.cancelled = True
        _stop(run.proc)
        return True

    def cancel_request(self, msg_id: object) -> None:
        for run in list(self.runs.values()):
            if run.request_id is not None and run.request_id == msg_id:
                self.cancel(run.uri)

    def cancel_token(self, token: object) -> None:
        for run in list(self.runs.values()):
            if run.token == token:
                self.cancel(run.uri)

    def cancel_all(self) -> None:
        """At shutdown: no grace period, the process may exit right after."""
        for run in list(self.runs.values()):
            run.cancelled = True
            if run.proc is not None and run.proc.returncode is None:
                _kill_now(run.proc)
        if self.results_dir is not None:
            shutil.rmtree(self.results_dir, ignore_errors=True)
            self.results_dir = None

    def result_file(self, uri: str) -> Path:
        """Where the run of `uri` writes its full result when its events abbreviate values
        (one file per document, replaced by its next run; removed at shutdown)."""
        if self.results_dir is None or not self.results_dir.is_dir():
            self.results_dir = Path(tempfile.mkdtemp(prefix="cst-results-"))
        return self.results_dir / (hashlib.sha256(uri.encode()).hexdigest()[:20] + ".json")

    def report_file(self, uri: str) -> Path:
        """Where a run of `uri` asked for with `report` writes `cst run --report`'s page (beside
        its result file, replaced by the next such run, removed at shutdown)."""
        return self.result_file(uri).with_suffix(".html")

    # -- running ------------------------------------------------------------------------------
    async def run_pipeline(self, args: dict, request_id: object = None) -> dict:
        ls = self.server
        uri = args["uri"]
        if not ls.settings.trusted:
            ls.show("Constellation: this workspace is not trusted, so its pipelines are not run "
                    "(a run executes the workspace's modules).", lsp.MessageType.Warning)
            return rejected("The workspace is not trusted: running the pipeline would execute its modules.")
        text = self._current_text(uri)
        if text is None:
            return rejected(f"The document {uri} is not open and cannot be read.")
        if uri in self.runs:
            self.cancel(uri)  # a new run of the same document replaces the old one
        run = Run(uri, request_id)
        self.runs[uri] = run
        workdir = Path(tempfile.mkdtemp(prefix="cst-run-"))
        try:
            cmd, cwd = self._command(uri, args, workdir)
            await self._begin_progress(run, uri)
            result = await self._execute(run, cmd, cwd, text)
        except asyncio.CancelledError:
            run.cancelled = True
            raise
        finally:
            await _kill_group(run.proc)
            self._end_progress(run)
            if self.runs.get(uri) is run:
                del self.runs[uri]
            shutil.rmtree(workdir, ignore_errors=True)
        self._record(run, uri, result)
        if args.get("report") is True and self.report_file(uri).is_file():
            result = {**result, "report": str(self.report_file(uri))}
        return result

    def _current_text(self, uri: str) -> str | None:
        ls = self.server
        doc = ls.open_document(uri)
        if doc is not None:
            return doc.source
        path = ls.path_of(uri)
        try:
            return path.read_text(encoding="utf-8-sig") if path else None
        except (OSError, UnicodeDecodeError):
            return None

    def _command(self, uri: str, args: dict, workdir: Path) -> tuple[list[str], str]:
        """`cst run - --events`, the text on its standard input, named by the document's path:
        the child finds the document's constellation.toml itself (its modules and executor
        settings), as `cst run` on the saved file would."""
        ls = self.server
        doc_path = ls.path_of(uri)
        # --watch-parent: the run ends if this server dies, even by SIGKILL (its own group
        # would otherwise run on)
        cmd = cli_command(ls.settings.cli) + ["run", "-", "--events",
                                              "--watch-parent", str(os.getpid())]
        cmd += ["--result-file", str(self.result_file(uri))]
        if args.get("report") is True:  # a client that shows the report page (Neovim, Emacs)
            report = self.report_file(uri)
            report.unlink(missing_ok=True)  # the result names it only if this run wrote it
            cmd.append(f"--report={report}")
        if doc_path is not None:
            # `--opt=value`: a path that starts with '-' is never read as an option
            cmd.append(f"--stdin-filename={doc_path}")
        for spec in ls.settings.modules:  # relative to the workspace root, as for signatures
            cmd.append(f"--modules={_from_root(spec, ls.root)}")
        cwd = run_folder(doc_path, ls.root)
        if args.get("useExamples"):
            cmd.append("--examples")
        inputs = args.get("inputs")
        if isinstance(inputs, dict) and inputs:
            path = workdir / "inputs.json"
            path.write_text(json.dumps(inputs), encoding="utf-8")
            cmd += ["--inputs", str(path)]
        if args.get("schedule") in ("layered", "eager"):
            cmd += ["--schedule", args["schedule"]]
        if args.get("serial"):
            cmd.append("--serial")
        for key, flag in (("seed", "--seed"), ("maxConcurrency", "--max-concurrency")):
            value = args.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                cmd += [flag, str(value)]
        return cmd + partial_run_options(args), cwd

    async def _execute(self, run: Run, cmd: list[str], cwd: str, text: str) -> dict:
        ls = self.server
        ls.log_line("Constellation run: " + " ".join(cmd))
        if not ls.settings.trusted:  # withdrawn while the progress was being set up
            return rejected("The workspace is not trusted: running the pipeline would execute its modules.")
        try:
            run.proc = await asyncio.create_subprocess_exec(
                *cmd, cwd=cwd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=LINE_LIMIT, start_new_session=True)
        except OSError as exc:
            return rejected(f"Could not start the run: {exc}.")
        if run.cancelled:
            _stop(run.proc)
        run.output = LogCoalescer(lambda text: ls.log_line(text))
        run.log = LogCoalescer(lambda text: ls.log_line(text, lsp.MessageType.Info))
        stdin_task = asyncio.ensure_future(_feed(run.proc, text))
        stderr_task = asyncio.ensure_future(self._drain_stderr(run))
        final: dict | None = None
        assert run.proc.stdout is not None
        try:
            async for raw in _lines(run.proc.stdout, "event"):
                event = _parse_event(raw)
                if event is None:
                    continue
                run.events.append(event)
                self._forward(run, event)
                if event.get("event") in ("run_completed", "run_rejected"):
                    final = event
            status = await run.proc.wait()
            await stdin_task
            await stderr_task
        finally:
            run.output.close()
            run.log.close()
        return self._result(run, final, status)

    async def _drain_stderr(self, run: Run) -> None:
        assert run.proc is not None and run.proc.stderr is not None
        async for raw in _lines(run.proc.stderr, "output"):
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                run.stderr.append(line)
                run.output.add(line)

    def _forward(self, run: Run, event: dict) -> None:
        if self.runs.get(run.uri) is not run:
            return  # a newer run of the document replaced it: its tail is not shown as the new one's
        ls = self.server
        ls.protocol.notify(RUN_EVENT, {"uri": run.uri, **event})
        kind = event.get("event")
        if kind == "log" and event.get("message") and run.log is not None:
            run.log.add(str(event["message"]))
        report = progress_message(run, event)
        if report is not None and run.token is not None:
            message, percentage = report
            ls.work_done_progress.report(run.token, lsp.WorkDoneProgressReport(
                message=message, percentage=percentage, cancellable=True))

    def _result(self, run: Run, final: dict | None, status: int | None) -> dict:
        if final is not None and final.get("event") == "run_rejected":
            errors = final.get("errors") or []
            self.server.show("Constellation: the run was rejected: " + "; ".join(
                _error_text(e) for e in errors), lsp.MessageType.Error)
            return {"status": "rejected", "outputs": {}, "errors": errors, "log": [], "nodes": [],
                    "duration_ms": 0}
        if final is not None:
            return {k: v for k, v in final.items() if k not in ("event", "t_ms")}
        if run.cancelled:
            return {"status": "cancelled", "outputs": {}, "errors": [], "log": [], "nodes": [],
                    "duration_ms": 0}
        reason = run.stderr[-1] if run.stderr else f"the run process exited with status {status}"
        return rejected(f"The run ended without a result: {reason}")

    def _record(self, run: Run, uri: str, result: dict) -> None:
        """Keep the values for inlay hints and the failures as diagnostics, then refresh."""
        values = RunValues(version=self.server.document_version(uri))
        for event in run.events:
            name = event.get("name")
            if event.get("event") == "node_completed" and isinstance(name, str):
                values.values[name] = event.get("value")
                if isinstance(event.get("duration_ms"), (int, float)):
                    values.durations[name] = event["duration_ms"]
            elif event.get("event") == "node_failed":
                values.failures.append(event)
        outputs = result.get("outputs")
        if isinstance(outputs, dict):
            for name, value in outputs.items():
                values.values.setdefault(name, value)
        self.server.documents.state(uri).run = values
        self.server.announce(RunFinished(uri))
        self.server.refresh_views()

    # -- progress -----------------------------------------------------------------------------
    async def _begin_progress(self, run: Run, uri: str) -> None:
        ls = self.server
        window = ls.client_capabilities.window
        if window is None or not window.work_done_progress:
            return
        token = f"constellation-run-{uuid.uuid4()}"
        try:
            await asyncio.wait_for(ls.work_done_progress.create_async(token), 5)
        except Exception:
            log.warning("the client refused a progress token", exc_info=True)
            return
        run.token = token
        name = Path(ls.path_of(uri) or "pipeline").name
        ls.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(
            title=f"Running {name}", cancellable=True, message="starting", percentage=0))

    def _end_progress(self, run: Run) -> None:
        if run.token is None:
            return
        final = next((e for e in reversed(run.events) if e.get("event") in ("run_completed", "run_rejected")), None)
        status = "cancelled" if run.cancelled and final is None else (final or {}).get("status", "rejected")
        self.server.work_done_progress.end(run.token, lsp.WorkDoneProgressEnd(message=f"run {status}"))
        run.token = None


def rejected(message: str) -> dict:
    return {"status": "rejected", "outputs": {}, "errors": [{"message": message}], "log": [],
            "nodes": [], "duration_ms": 0}


def _error_text(error: object) -> str:
    if isinstance(error, dict):
        line, column = error.get("line"), error.get("column")
        where = f"{line}:{column}: " if line is not None and column is not None else ""
        return where + str(error.get("message", ""))
    return str(error)


async def _lines(stream: asyncio.StreamReader, what: str):
    """The lines of a child's stream; a line over LINE_LIMIT is dropped (its remainder, read
    as a line of its own, is not JSON either), not a failure of the run."""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:
            log.warning("a run %s line over %d bytes was dropped", what, LINE_LIMIT)
            continue
        if not raw:
            return
        yield raw


def _parse_event(raw: bytes) -> dict | None:
    try:
        event = json.loads(raw.decode("utf-8", "replace"))
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("event"), str) else None


def progress_message(run: Run, event: dict) -> tuple[str, int | None] | None:
    """The progress report for an event: one per layer start and one per finished call."""
    kind = event.get("event")
    if kind == "run_started":
        run.total = max(int(event.get("nodes") or 0), 1)
        return f"{event.get('depth', 0)} layer(s), {event.get('nodes', 0)} call(s)", 0
    if kind == "layer_started":
        nodes = event.get("nodes") or []
        return f"layer {event.get('layer')}: {', '.join(map(str, nodes))}", None
    if kind in ("node_completed", "node_failed", "node_skipped", "node_cancelled"):
        run.done += 1
        pct = min(100, int(100 * run.done / max(run.total, 1)))
        word = {"node_completed": "done", "node_failed": "failed", "node_skipped": "skipped",
                "node_cancelled": "cancelled"}[kind]
        ms = event.get("duration_ms")
        timing = f" in {ms:.0f} ms" if isinstance(ms, (int, float)) else ""
        return f"{event.get('name')} {word}{timing}", pct
    return None


def run_folder(doc_path: Path | None, root: Path | None) -> str:
    """Where a run starts: the folder of the document's constellation.toml (the same one its
    diagnostics use), else the document's folder."""
    start = doc_path.parent if doc_path is not None else root
    if start is None:
        return os.getcwd()
    from constellation.compiler.project import find_config

    config = find_config(start)
    if config is not None:
        return str(config.parent)
    return str(start if start.is_dir() else os.getcwd())


def _from_root(spec: str, root: Path | None) -> str:
    """A `modules` setting's file spec, absolute from the workspace root (where signatures
    are loaded from); a package name stays as it is."""
    if root is not None and (spec.endswith(".py") or "/" in spec or os.sep in spec):
        return str((root / spec).resolve())
    return spec


def partial_run_options(args: dict) -> list[str]:
    """The run command's `resume` (true: the document's last run; or a run id), `target` (a
    binding name or a list of them) and `from` (a binding name): `cst run`'s `--resume`,
    `--target` and `--from` (README, *Runs that remember*), which say what is wrong with them."""
    cmd = []
    resume = args.get("resume")
    if resume is True:
        cmd.append("--resume")
    elif isinstance(resume, str) and resume:
        cmd.append(f"--resume={resume}")
    targets = args.get("target")
    for name in [targets] if isinstance(targets, str) else targets or []:
        if isinstance(name, str) and name:
            cmd.append(f"--target={name}")  # `=`: a name never reads as an option
    start = args.get("from")
    if isinstance(start, str) and start:
        cmd.append(f"--from={start}")
    return cmd


async def _feed(proc: asyncio.subprocess.Process, text: str) -> None:
    """The pipeline's text on the run's standard input (a child that ends first just stops
    reading it)."""
    assert proc.stdin is not None
    try:
        # a lone surrogate (JSON can carry one) becomes U+FFFD, as the editor saves it
        proc.stdin.write(text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode())
        await proc.stdin.drain()
        proc.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass


def _stop(proc: asyncio.subprocess.Process | None) -> None:
    """Ask the child's process group to stop (SIGINT lets it report `cancelled`)."""
    if proc is None or proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except (ProcessLookupError, PermissionError):
        return
    asyncio.get_running_loop().call_later(STOP_GRACE_S, _kill_now, proc)


def _kill_now(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


async def _kill_group(proc: asyncio.subprocess.Process | None) -> None:
    """Nothing of the run may outlive it: kill the group and reap the child."""
    if proc is None:
        return
    _kill_now(proc)
    if proc.returncode is None:
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except asyncio.TimeoutError:
            log.error("run process %s did not exit", proc.pid)
