"""`cst runs [list | show RUN | diff RUN RUN | prune --keep N]`: the recorded runs (see
runtime/records). A RUN is a run's id or `last`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from constellation.cli._shared import UserError, console


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "runs", help="list, show, compare and prune recorded runs",
        description="Every `cst run` is recorded (unless --no-record) in .constellation/runs.db "
                    "beside the nearest constellation.toml, `runs_db` in it, or "
                    "CONSTELLATION_RUNS_DB. A RUN is a run's id or 'last'.")
    parser.add_argument("--db", metavar="PATH", help="the records database (default: found "
                        "from the current folder as for `cst run`)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="the latest runs, newest first")
    listing.add_argument("--file", metavar="FILE", help="only the runs of this pipeline")
    listing.add_argument("--limit", type=int, default=20, metavar="N")
    show = actions.add_parser("show", help="one run: inputs, settings, outputs, each call")
    show.add_argument("run", metavar="RUN")
    show.add_argument("--trace", metavar="FILE.json",
                      help="write the run as Chrome/Perfetto trace JSON (ui.perfetto.dev, "
                           "chrome://tracing)")
    show.add_argument("--otel", action="store_true",
                      help="export the run as OpenTelemetry spans to the collector "
                           "OTEL_EXPORTER_OTLP_ENDPOINT names (the otel extra)")
    diff = actions.add_parser("diff", help="what differs between two runs")
    diff.add_argument("a", metavar="RUN")
    diff.add_argument("b", metavar="RUN")
    prune = actions.add_parser("prune", help="delete all but the newest N runs")
    prune.add_argument("--keep", type=int, required=True, metavar="N")
    for sub in (listing, show, diff, prune):  # `cst runs show last --json` reads naturally
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                         help="print JSON")
        sub.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS,
                         help="the records database")
    parser.set_defaults(func=runs_command, action=None)


def open_records(args):
    from constellation.runtime.records.store import Unavailable, connect, locate

    path = Path(args.db).resolve() if args.db else locate(Path.cwd())
    try:
        return connect(path, create=False)
    except Unavailable as exc:
        raise UserError(f"cst runs: {exc}") from None


def runs_command(args: argparse.Namespace) -> int:
    from constellation.runtime.records import reader

    action = args.action or "list"
    if action == "prune" and args.keep < 0:
        raise UserError("cst runs prune: --keep needs a number of runs, 0 or more")
    conn = open_records(args)
    try:
        if action == "list":
            runs = reader.list_runs(conn, file=_abs(getattr(args, "file", None)),
                                    limit=getattr(args, "limit", 20))
            return _print(args, runs, lambda: _list_table(runs))
        if action == "show":
            detail = reader.run_detail(conn, reader.find_run(conn, args.run))
            if args.trace:
                _write_trace(detail, args.trace)
            if args.otel:
                _export_otel(detail)
            if args.trace and not args.json:
                return 0
            return _print(args, detail, lambda: _show(detail))
        if action == "diff":
            a = reader.run_detail(conn, reader.find_run(conn, args.a))
            b = reader.run_detail(conn, reader.find_run(conn, args.b))
            change = reader.diff_runs(a, b)
            return _print(args, change, lambda: _show_diff(change))
        gone = reader.prune(conn, args.keep)
        return _print(args, {"deleted": gone, "kept": args.keep},
                      lambda: print(f"deleted {gone} run(s); the newest {args.keep} are kept"))
    except reader.NotFound as exc:
        raise UserError(f"cst runs: {exc}") from None
    finally:
        conn.close()


def _abs(file: str | None) -> str | None:
    import os

    return os.path.abspath(file) if file else None


def _print(args, data, human) -> int:
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        human()
    return 0


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _ms(ms: float | None) -> str:
    return "—" if ms is None else f"{ms:,.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def _list_table(runs: list[dict]) -> None:
    from rich.table import Table
    from rich.text import Text

    if not runs:
        print("no runs recorded yet")
        return
    table = Table()
    for column in ("Run", "Started", "Status", "Time", "Calls", "Pipeline"):
        table.add_column(column)
    for r in runs:
        calls = ", ".join(f"{n} {s}" for s, n in sorted(r["calls"].items()))
        table.add_row(str(r["id"]), _when(r["started_at"]), r["status"], _ms(r["duration_ms"]),
                      Text(calls), Text(r["file"] or ""))
    console().print(table)


def _show(detail: dict) -> None:
    from rich.table import Table
    from rich.text import Text

    print(f"run {detail['id']}: {detail['file']} — {detail['status']} in "
          f"{_ms(detail['duration_ms'])}, started {_when(detail['started_at'])}")
    print(f"plan {detail['plan_hash']} · schedule {detail['schedule']} · inputs "
          f"{json.dumps(detail['inputs'], ensure_ascii=False)}")
    table = Table()
    for column in ("Layer", "Call", "Module", "Status", "Attempts", "Time", "Value / error"):
        table.add_column(column)
    for c in sorted(detail["calls"], key=lambda c: (c["layer"] or 0, c["line"] or 0)):
        shown = (c["error"] or {}).get("message") if c["error"] else (
            c["reason"] if c["status"] == "skipped" else json.dumps(c["value"],
                                                                    ensure_ascii=False))
        status = c["status"] + (" (cache hit)" if c["cache_hit"] else "")
        time_ms = None if c["start_ms"] is None else c["end_ms"] - c["start_ms"]
        table.add_row(str(c["layer"]), Text(c["name"] or ""), Text(c["module"] or ""), status,
                      str(c["attempts"]), _ms(time_ms), Text(_short(shown)))
    console().print(table)
    for name, value in (detail["outputs"] or {}).items():
        print(f"out {name} = {_short(json.dumps(value, ensure_ascii=False), 200)}")
    for error in detail["errors"]:
        print(f"error: {error.get('message')}")


def _short(text: str | None, n: int = 80) -> str:
    text = "" if text is None else text
    return text if len(text) <= n else text[:n - 1] + "…"


def _show_diff(change: dict) -> None:
    print(f"run {change['a']} → run {change['b']}")
    same = True
    for key in ("file", "plan_hash", "status", "inputs", "settings"):
        if key in change:
            same = False
            print(f"  {key}: {json.dumps(change[key]['a'])} → {json.dumps(change[key]['b'])}")
    for name, d in change["outputs"].items():
        same = False
        print(f"  out {name}: {_short(json.dumps(d['a']))} → {_short(json.dumps(d['b']))}")
    for name, fields in change["calls"].items():
        same = False
        if "a" in fields:
            print(f"  {name}: {fields['a'] or 'absent'} → {fields['b'] or 'absent'}")
            continue
        parts = ", ".join(f"{k} {_short(json.dumps(v['a']), 30)} → {_short(json.dumps(v['b']), 30)}"
                          for k, v in fields.items())
        print(f"  {name}: {parts}")
    if same:
        print("  no differences")


def _write_trace(detail: dict, path: str) -> None:
    from constellation.runtime.records.trace import chrome_trace

    try:
        Path(path).write_text(json.dumps(chrome_trace(detail)), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot write the trace: {exc.strerror or exc}") from None
    print(f"wrote {path} (open it in https://ui.perfetto.dev or chrome://tracing)",
          file=sys.stderr)


def _export_otel(detail: dict) -> None:
    from constellation.runtime.records.trace import otel_spans, otlp_provider

    try:
        provider = otlp_provider()
        if provider is None:
            raise UserError("cst runs show --otel: set OTEL_EXPORTER_OTLP_ENDPOINT to the "
                            "collector's address (for example http://localhost:4318)")
        count = otel_spans(detail, provider)
        provider.shutdown()  # flushes the batch
    except RuntimeError as exc:
        raise UserError(str(exc)) from None
    print(f"exported {count} span(s) to the OpenTelemetry collector", file=sys.stderr)
