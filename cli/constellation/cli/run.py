"""`cst run FILE`: run a pipeline with a live display, `--json` result or `--events` stream
(docs/run-events.md). Exit status: 0 completed, 1 failed, 2 rejected, 130 cancelled."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
from pathlib import Path

from constellation.cli._shared import (
    UserError, add_modules_option, add_stdin_option, read_source, rendered, source_name,
)

EXIT = {"completed": 0, "failed": 1, "cancelled": 130}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run", help="run a pipeline (independent calls run in parallel, layer by layer)",
        description="Run a .cst pipeline. Inputs come from --input, --inputs or --examples; "
                    "the live display shows layers, running calls, retries and timings.")
    parser.add_argument("file", metavar="FILE", help="a .cst file, or - for standard input")
    parser.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE",
                        help="an input value (strings as written, other types as JSON); "
                             "repeatable")
    parser.add_argument("--inputs", metavar="FILE.json", help="a JSON object of input values")
    parser.add_argument("--examples", action="store_true",
                        help="use each input's first @example value when it is not given")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the final result as JSON")
    output.add_argument("--events", action="store_true",
                        help="write one JSON event per line as the run happens")
    parser.add_argument("--schedule", choices=("layered", "eager"), default=None,
                        help="layered (default): a layer starts when the layers below have "
                             "settled; eager: each call starts as soon as its inputs are ready")
    parser.add_argument("--serial", action="store_true", default=None,
                        help="run one call at a time in a deterministic order (debugging)")
    parser.add_argument("--seed", type=int, default=None,
                        help="start each layer's calls in an order shuffled by this seed")
    parser.add_argument("--max-concurrency", type=int, default=None, metavar="N",
                        help="run at most N module calls at once (bounded scheduling)")
    parser.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                        help="cancel the run after this many seconds")
    parser.add_argument("--executor", choices=("local", "dask"), default=None,
                        help="where module calls run: local (default) or dask (a Dask "
                             "cluster; also `executor` in constellation.toml)")
    parser.add_argument("--dask-address", default=None, metavar="tcp://HOST:PORT|local",
                        help="the Dask scheduler to use, or 'local' (default) to start a "
                             "LocalCluster of 2 worker processes")
    parser.add_argument("--dask-colocate", action="append", default=None, metavar="NAME",
                        help="run every call of this module function on one worker (for "
                             "modules that keep state between calls); repeatable")
    parser.add_argument("--result-file", default=None, metavar="PATH",
                        help="with --events: where the full result goes when run_completed "
                             "abbreviates large values (default: a new file in the temporary "
                             "folder); the event's result_file names it")
    # `cst dap` runs the pipeline with --debug: debug_point events out, {"go": N} lines in
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", default=None, metavar="OUT.html",
                        help="also write the run as one offline HTML page: the graph with each "
                             "call's state, the timeline with its critical path, the values")
    parser.add_argument("--watch-parent", type=int, default=None, metavar="PID",
                        help="cancel the run when process PID ends (the language server passes "
                             "its own, so that a run never outlives it)")
    parser.add_argument("--resume", nargs="?", const="last", default=None, metavar="RUN",
                        help="reuse every call of a recorded run (default: this file's last) "
                             "that completed with the same arguments and module code; run only "
                             "what failed, was skipped or changed")
    parser.add_argument("--target", action="append", default=None, metavar="NAME",
                        help="run only what binding NAME needs, with NAME as the output; "
                             "repeatable")
    parser.add_argument("--from", dest="from_", default=None, metavar="NAME",
                        help="re-run binding NAME and everything downstream of it, taking the "
                             "other values from this file's last recorded run")
    parser.add_argument("--save-test", metavar="NAME", default=None,
                        help="after the run, write NAME.cst-test.yaml beside FILE: a pipeline "
                             "test replaying this run (its inputs, the modules' results as "
                             "fixtures, its outputs as the expectation; see `cst test`)")
    parser.add_argument("--no-record", action="store_true",
                        help="do not record this run (records: .constellation/runs.db beside "
                             "constellation.toml, or CONSTELLATION_RUNS_DB; see `cst runs`)")
    add_stdin_option(parser)
    add_modules_option(parser)
    parser.set_defaults(func=run_command)


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (`nan`, `inf`, 0 and negatives are mistakes)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got '{text}'") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got '{text}'")
    return value


_stdout_closed = False
_out = None  # where JSON goes (--json, --events): the real standard output, see json_output


def emit_line(event: dict) -> None:
    """One JSON value per line, flushed; a reader that went away (`| head`), or a standard
    output that was closed, ends the output, not the run."""
    global _stdout_closed
    out = _out or sys.stdout
    if _stdout_closed or out is None:
        return
    try:
        out.write(json.dumps(event, ensure_ascii=False) + "\n")
        out.flush()
    except BrokenPipeError:
        _stdout_closed = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())  # so the final flush at exit stays quiet


@contextlib.contextmanager
def json_output(wanted: bool):
    """With --json / --events, standard output carries only JSON: the real descriptor 1 is
    kept for it, and descriptor 1 itself goes to standard error, so that whatever a module
    prints (Python's print, a C library, a child process) cannot break the JSON a script
    reads (docs/run-events.md)."""
    global _out
    try:
        sys.stdout.flush()
        fd, err = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # closed, or not real files (embedded)
        fd = err = None
    if not wanted or fd is None:
        if wanted and sys.stdout is not None and sys.stderr is not None:
            _out, sys.stdout = sys.stdout, sys.stderr  # at least Python's print
            try:
                yield
            finally:
                sys.stdout, _out = _out, None
        else:
            yield
        return
    kept = os.dup(fd)
    os.dup2(err, fd)
    _out = os.fdopen(kept, "w", encoding="utf-8")
    try:
        yield
    finally:
        try:
            _out.flush()
        except BrokenPipeError:
            pass
        sys.stdout.flush()
        os.dup2(kept, fd)
        _out.close()
        _out = None


# -- large values in events (docs/run-events.md) ----------------------------------------------
EVENT_VALUE_LIMIT = 64 * 1024  # characters of JSON: larger values are abbreviated in events
PREVIEW = 200  # characters kept of a cut message


def _cut(text: object) -> object:
    if not isinstance(text, str) or len(text) <= EVENT_VALUE_LIMIT:
        return text
    return f"{text[:PREVIEW]}… ({len(text)} characters)"


def _cut_error(error: object) -> object:
    if isinstance(error, dict) and "message" in error:
        return {**error, "message": _cut(error["message"])}
    return error


def _fit_log(lines: list) -> list:
    """The last lines that fit in the limit, each cut, and a note of what was left out."""
    kept, size = [], 0
    for line in reversed(lines):
        line = _cut(line)
        size += len(line) + 4 if isinstance(line, str) else 16
        if size > EVENT_VALUE_LIMIT and kept:
            break
        kept.append(line)
    kept.reverse()
    if len(kept) < len(lines):
        kept.insert(0, f"… {len(lines) - len(kept)} earlier log lines (see result_file)")
    return kept


def _fit_small(value: object) -> object:
    """An abbreviated value as it is when it fits in the limit, else fitted."""
    size = len(json.dumps(value, ensure_ascii=False))
    return value if size <= EVENT_VALUE_LIMIT else _fit_value(value, size)


def _fit_value(value: object, size: int) -> object:
    """An abbreviated value (docs/run-events.md); one still over the limit (many nested
    levels of 20 items) becomes the start of its JSON text and its size."""
    from constellation.runtime import values

    short = values.abbreviate(value)
    text = json.dumps(short, ensure_ascii=False)
    return short if len(text) <= EVENT_VALUE_LIMIT else f"{text[:PREVIEW]}… ({size} characters)"


def fit_event(event: dict, args) -> dict:
    """An event line stays small whatever the values: strings, messages and output values
    over EVENT_VALUE_LIMIT are abbreviated, and a run_completed that had to be abbreviated
    names a file holding the full result (`result_file`)."""
    kind = event.get("event")
    if kind == "log":
        return {**event, "message": _cut(event.get("message"))}
    if kind == "node_failed":
        return {**event, "error": _cut_error(event.get("error"))}
    if kind == "node_retrying":
        return {**event, "error": _cut(event.get("error"))}
    if kind == "node_completed":  # its value is abbreviated already, which usually suffices
        return {**event, "value": _fit_small(event.get("value"))}
    if kind == "run_started":  # the input values: abbreviated already, like a call's
        return {**event, "inputs": {name: _fit_small(value)
                                    for name, value in event.get("inputs", {}).items()}}
    if kind != "run_completed":
        return event
    outputs, abbreviated = {}, {}
    for name, value in event["outputs"].items():
        size = len(json.dumps(value, ensure_ascii=False))
        if size > EVENT_VALUE_LIMIT:
            outputs[name], abbreviated[name] = _fit_value(value, size), size
        else:
            outputs[name] = value
    fitted = {**event, "outputs": outputs, "log": _fit_log(event["log"]),
              "errors": [_cut_error(e) for e in event["errors"]],
              "nodes": [{**n, "error": _cut_error(n.get("error"))} for n in event["nodes"]]}
    if abbreviated or fitted["log"] != event["log"] or fitted["errors"] != event["errors"] \
            or fitted["nodes"] != event["nodes"]:
        full = {k: v for k, v in event.items() if k not in ("event", "t_ms")}
        fitted["abbreviated"] = abbreviated
        fitted["result_file"] = write_result_file(full, args.result_file)
    return fitted


def write_result_file(result: dict, path: str | None) -> str:
    import tempfile

    if path is None:
        fd, path = tempfile.mkstemp(prefix="cst-run-result-", suffix=".json")
        os.close(fd)
    path = os.path.abspath(path)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(result, file, ensure_ascii=False)
    return path


def exit_past_abandoned_calls(code: int) -> int:
    """A sync module call cancelled by a timeout or Ctrl-C keeps its thread until it ends on
    its own (Python cannot stop a thread), and a module may leave a non-daemon thread behind;
    the run is over, so the process exits without waiting for them (interpreter shutdown
    would join them: an hour for an hour's sleep)."""
    from constellation.runtime.calls import module_threads_running

    if _is_the_cst_process():  # in-process callers keep their own children
        end_leftover_processes()
    if module_threads_running():
        _say("cst run: a module call cancelled in a worker thread was still running; it was "
             "abandoned")
        _exit_now(code)
    _exit_soon(code)
    return code


EXIT_GRACE_S = 1.0


def _exit_now(code: int) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


def _exit_soon(code: int) -> None:
    """The interpreter joins every non-daemon thread before it exits: a thread a module left
    sleeping would hold `cst run` for as long. Threads that end at shutdown (idle thread
    pools) do; past EXIT_GRACE_S the process exits without the others."""
    import threading
    import time

    def timer() -> None:
        time.sleep(EXIT_GRACE_S)
        left = [t.name for t in threading.enumerate()
                if t is not threading.main_thread() and not t.daemon and t.is_alive()]
        _say(f"cst run: {len(left)} thread(s) a module started were still running "
             f"({', '.join(left) or 'unnamed'}); the process exits without them")
        _exit_now(code)

    def at_shutdown() -> None:  # before the interpreter joins the threads, not before
        threading.Thread(target=timer, name="constellation-exit", daemon=True).start()

    if _is_the_cst_process():  # a program that calls the CLI in-process keeps its own exit
        threading._register_atexit(at_shutdown)


def _is_the_cst_process() -> bool:
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return (os.path.basename(sys.argv[0] or "").startswith("cst")
            or (spec is not None and spec.name.startswith("constellation.cli")))


# -- processes a module started ---------------------------------------------------------------
PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> None:
    """Linux: the processes a module starts stay our descendants even when their parent
    exits (a daemonising double fork), so that the run can end them all."""
    if not sys.platform.startswith("linux") or not _is_the_cst_process():
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _children() -> dict[int, str]:
    """pid -> command name of our live child processes (from /proc; empty elsewhere)."""
    me, found = os.getpid(), {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                stat = file.read().decode("utf-8", "replace")
        except OSError:
            continue
        name, _, rest = stat.partition("(")[2].rpartition(")")
        fields = rest.split()
        if len(fields) > 1 and fields[1] == str(me) and fields[0] not in ("Z", "X") \
                and not _python_helper(entry):
            found[int(entry)] = name
    return found


def _python_helper(pid: str) -> bool:
    """multiprocessing's resource tracker / forkserver (Dask starts them): they end on their
    own once cst run exits, and are not a module's."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return b"from multiprocessing." in file.read()
    except OSError:
        return False


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def end_leftover_processes() -> None:
    """Nothing a module started outlives `cst run`: its children (and, adopted, theirs) get
    SIGTERM, then SIGKILL after a moment."""
    import time

    ended: dict[int, str] = {}
    for sig, wait in ((signal.SIGTERM, 0.5), (signal.SIGKILL, 1.0)):
        for _ in range(5):  # grandchildren are adopted once their parent is gone
            children = _children()
            if not children:
                break
            for pid, name in children.items():
                ended.setdefault(pid, name)
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + wait
            while _children() and time.monotonic() < deadline:
                _reap()
                time.sleep(0.02)
            _reap()
    if ended:
        shown = ", ".join(f"{pid} ({name})" for pid, name in sorted(ended.items()))
        _say(f"cst run: ended {len(ended)} process(es) a module had started and left running: "
             f"{shown}")


# -- the parent -------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed parent that nobody reaped yet is a zombie: gone all the same
        with open(f"/proc/{pid}/stat", "rb") as file:
            state = file.read().rpartition(b")")[2].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def watch_parent(pid: int, request_cancel) -> None:
    """A daemon thread that cancels the run once process `pid` has ended (even by SIGKILL,
    which gives it no chance to stop us)."""
    import threading
    import time

    parent_at_start = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.25)
            if (parent_at_start == pid and os.getppid() != pid) or not _alive(pid):
                request_cancel()
                _say(f"cst run: process {pid} (--watch-parent) has ended; cancelling the run")
                return

    threading.Thread(target=watch, name="constellation-parent-watch", daemon=True).start()


def gather_inputs(args, analysis) -> dict:
    from constellation.compiler.inputs import MAX_INPUT_DEPTH, input_types, parse_input_text

    given: dict = {}
    if args.inputs:
        try:
            data = json.loads(Path(args.inputs).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UserError(f"{args.inputs}: cannot read the inputs file: {exc.strerror or exc}")
        except UnicodeDecodeError as exc:
            raise UserError(f"{args.inputs}: the inputs file is not UTF-8 text (invalid byte "
                            f"0x{exc.object[exc.start]:02x} at byte offset {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise UserError(f"{args.inputs}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}")
        except RecursionError:  # the JSON decoder recurses per nesting level
            raise UserError(f"{args.inputs}: the inputs are nested too deeply (inputs may nest "
                            f"at most {MAX_INPUT_DEPTH} levels)") from None
        if not isinstance(data, dict):
            raise UserError(f"{args.inputs}: expected a JSON object mapping input names to values")
        given.update(data)
    declared = input_types(analysis.executable_plan)
    for item in args.input:
        name, sep, text = item.partition("=")
        if not sep:
            raise UserError(f"--input {item}: expected NAME=VALUE")
        from constellation.compiler import types as T
        try:
            given[name.strip()] = parse_input_text(text, declared.get(name.strip(), T.ERROR))
        except RecursionError:
            raise UserError(f"--input {name.strip()}: the value is nested too deeply (inputs "
                            f"may nest at most {MAX_INPUT_DEPTH} levels)") from None
    return given


def reject(args, errors: list[dict], text: str) -> int:
    if args.events:
        emit_line({"event": "run_rejected", "errors": errors})
    elif args.json:
        emit_line({"status": "rejected", "errors": errors})
    else:
        print(text, file=sys.stderr)
    return 2


def run_command(args: argparse.Namespace) -> int:
    code = 3  # an exception on its way out (main reports it) must not wait for threads either
    adopt_orphans()
    try:
        with json_output(args.json or args.events):
            code = run_pipeline(args)
    finally:
        exit_past_abandoned_calls(code)
    return code


def run_pipeline(args: argparse.Namespace) -> int:
    from constellation.compiler import analyze
    from constellation.runtime.inputs import RunRejected
    from constellation.runtime.modules import load_config_registry

    name = source_name(args.file, args)
    try:
        text = read_source(args.file, name)
    except UserError as exc:
        return reject(args, [{"message": str(exc), "line": None, "column": None}], str(exc))
    args.file = name  # from here on the pipeline is known (and configured) by its name
    if getattr(args, "save_test", None):
        problem = _save_test_problem(args)
        if problem:
            return reject(args, [{"message": problem, "line": None, "column": None}], problem)
    registry, load_errors = load_config_registry(args.file, tuple(args.modules))
    if load_errors:
        return reject(args, [{"message": m, "line": None, "column": None} for m in load_errors],
                      "\n".join(load_errors))
    analysis = analyze(text, registry)
    if not analysis.valid:
        errors = [d for d in analysis.diagnostics if d.is_error]
        from constellation.runtime.api import _rejections
        return reject(args, _rejections(analysis), rendered(errors, analysis.source, args.file)
                      + f"\n{args.file}: fix the errors above before running")
    try:
        inputs = gather_inputs(args, analysis)
        from constellation.cli import _partial
        args.whole_plan = analysis.executable_plan  # its hash: the records' identity
        plan, reuse, note = _partial.plan_for(args, analysis.executable_plan)
    except UserError as exc:
        return reject(args, [{"message": str(exc), "line": None, "column": None}], str(exc))
    try:
        result = execute(args, analysis, plan, inputs, reuse, note)
    except RunRejected as exc:
        lines = [f"{args.file}:{e['line']}:{e['column']}: {e['message']}" if e.get("line")
                 else f"{args.file}: {e['message']}" for e in exc.errors]
        if any(e["message"].startswith("Missing input") for e in exc.errors):
            lines.append("hint: give inputs with --input name=value or --inputs file.json, "
                         "or add --examples to use their @example values")
        return reject(args, exc.errors, "\n".join(lines))
    except ValueError as exc:  # a bad --schedule / --max-concurrency / environment setting
        return reject(args, [{"message": str(exc), "line": None, "column": None}], str(exc))
    if getattr(args, "report", None):
        write_report(args, analysis)
    if args.json:
        emit_line(result.to_json())
    return EXIT[result.status]


def _save_test_problem(args) -> str | None:
    import re

    if args.file == "<stdin>":
        return "--save-test needs a pipeline file (the case is written beside it)"
    if args.no_record:
        return "--save-test needs the run's record (its modules' results): drop --no-record"
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", args.save_test):
        return (f"--save-test {args.save_test}: a case name is letters, digits, '_', '-' and "
                f"'.' (it names the file NAME.cst-test.yaml)")
    return None


def _keep_for_report(on_event, args):
    """Keeps every event for the report, then passes it on to what shows the run."""
    args.report_events = recorded = []

    def record(event: dict) -> None:
        recorded.append(event)
        if on_event is not None:
            on_event(event)
    return record


def write_report(args, analysis) -> None:
    from constellation.cli.graph import graph_data, write_text
    from constellation.cli.graph_page import page

    text = page(f"{args.file} — Constellation run", graph_data(analysis),
                events=getattr(args, "report_events", []), pane="timeline")
    try:
        write_text(args.report, text)
    except UserError as exc:
        print(str(exc), file=sys.stderr)
        return
    print(f"wrote the run's report to {args.report}", file=sys.stderr)


def execute(args, analysis, plan, inputs: dict, reuse=None, note: str | None = None):
    """Run `plan` (the analysis's executable plan, or the part of it --target or --from
    chose) on anyio, starting settled the calls `reuse` (partial.Reuse) gives; Ctrl-C cancels
    the run (partial results, status cancelled)."""
    import anyio

    from constellation.runtime.api import prepare

    display = None
    debugger = None
    if args.events and getattr(args, "debug", False):
        from constellation.runtime.debugging import ChannelDebugger
        debugger = ChannelDebugger(emit_line, serial=False, source=plan)

        def on_event(event: dict) -> None:
            debugger.observe(event)
            emit_line(fit_event(event, args))
    elif args.events:
        def on_event(event: dict) -> None:
            emit_line(fit_event(event, args))
    elif args.json:
        on_event = None
    else:
        from rich.console import Console

        from constellation.cli.display import LiveDisplay
        display = LiveDisplay(Console())
        on_event = display.handle
    from constellation.cli import _recording as recording
    if getattr(args, "report", None):
        on_event = _keep_for_report(on_event, args)
    from constellation.runtime.dask_backend import cli_settings
    recorder = recording.recorder_for(args, plan)
    on_event = recording.subscribe(recorder, on_event)
    run = prepare(plan, inputs, registry=analysis.registry, schedule=args.schedule,
                  serial=args.serial, seed=args.seed,
                  max_concurrency=args.max_concurrency, use_examples=args.examples,
                  on_event=on_event, file=args.file,
                  **cli_settings(args.file, getattr(args, "executor", None),
                                 getattr(args, "dask_address", None),
                                 getattr(args, "dask_colocate", None)))
    if debugger is not None:
        from constellation.runtime.debugging import plain
        debugger.attach(run)
        run.debugger = debugger
        emit_line({"event": "debug_inputs", "inputs": plain(run.inputs)})
    recording.use_persistent_cache(args.file, run.plan, run.functions)
    if reuse is not None:
        run.start_settled(reuse.known(run.plan, run.inputs, run.functions))
    if recorder is not None:
        recorder.head["inputs"] = run.inputs  # with the @example values --examples added
        recorder.head["settings"] = recording.settings(run.config, args)
        if reuse is not None:  # a reused call's record: its row in the record, copied
            recorder.reusing(reuse, run.known)

    async def main():
        import asyncio

        cancel = anyio.Event()
        loop = asyncio.get_running_loop()

        def request_cancel() -> None:  # signal- and thread-safe
            run.watch.cancel_requested()  # the watchdog ends it even if a module holds the loop
            loop.call_soon_threadsafe(cancel.set)

        run.watch.on_stuck = _hard_stop
        if getattr(args, "watch_parent", None):
            watch_parent(args.watch_parent, request_cancel)
        if debugger is not None:
            read_debug_answers(debugger, loop, request_cancel)
        try:
            with _cancel_on_signals(request_cancel):
                result = await run.execute(timeout=args.timeout, cancel_event=cancel)
        except BaseExceptionGroup as group:
            # a rejection raised once running (dask: a worker cannot import a module)
            from constellation.runtime.inputs import RunRejected
            rejected = [e for e in group.exceptions if isinstance(e, RunRejected)]
            if rejected:
                raise rejected[0] from None
            raise
        return result

    with recording.tapping(recorder):
        if display is None:
            result = anyio.run(main)
        else:
            with display:
                result = anyio.run(main)
            display.print_final(display.console)
    if note:
        reused = f": {run.reused} call(s) reused" if reuse is not None else ""
        _say(f"cst run: {note}{reused}")
    run_id = recording.finish(recorder, args, result)
    if getattr(args, "save_test", None):
        recording.save_test(args, run_id, run.inputs, result)
    return result


def read_debug_answers(debugger, loop, request_cancel) -> None:
    """The adapter's answers arrive on standard input, one JSON object a line, read by a
    thread (a blocked read must never hold the loop); its end (the adapter has gone)
    cancels the run."""
    import threading

    def read() -> None:
        for line in sys.stdin:
            try:
                message = json.loads(line)
            except ValueError:
                _say(f"cst run --debug: ignored a line that is not JSON: {line[:80]!r}")
                continue
            if isinstance(message, dict):
                loop.call_soon_threadsafe(debugger.answer, message)
        request_cancel()

    threading.Thread(target=read, name="constellation-debug-answers", daemon=True).start()


@contextlib.contextmanager
def _cancel_on_signals(request_cancel):
    """Ctrl-C and SIGTERM cancel the run. A Python-level handler, not the loop's: it runs in
    the main thread even while an async module blocks the loop (a time.sleep is interrupted
    for it), so the watchdog learns that a cancel is due."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: request_cancel())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _hard_stop(message: str) -> None:
    """The watchdog's last resort: a module that holds the loop and ignores the interrupt."""
    _say(f"cst run: {message}")
    end_leftover_processes()
    os._exit(EXIT["cancelled"])


def _say(message: str) -> None:
    """A line on standard error, which may be a pipe nobody reads any more."""
    try:
        print(message, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
