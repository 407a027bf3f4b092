"""`cst dap`: a Debug Adapter Protocol server on standard input and output (issue 18)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "dap", help="the debug adapter (Debug Adapter Protocol on stdin/stdout)",
        description="Serve the Debug Adapter Protocol on standard input and output: editors "
                    "start it to step through a pipeline by layer and by call, set breakpoints "
                    "on bindings and replay recorded runs (README, Debugging).")
    parser.set_defaults(func=run_dap)


def run_dap(args: argparse.Namespace) -> int:
    from constellation.debugger.main import serve_stdio
    return serve_stdio()
