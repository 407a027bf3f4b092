"""`cst lsp [--tcp HOST:PORT | --ws HOST:PORT]`: the language server (stdio by default)."""

from __future__ import annotations

import argparse

from constellation.cli._shared import UserError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "lsp", help="start the language server (stdio by default)",
        description="Start the Constellation language server for an editor.")
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket (clients "
                           "authenticate with the token printed at start; see the README)")
    transport.add_argument("--ws", metavar="HOST:PORT", help="listen on a WebSocket (same token)")
    parser.add_argument("--stdio", action="store_true", help="use standard input/output "
                        "(the default; accepted because editors pass it)")
    parser.set_defaults(func=run_lsp)


def host_port(value: str, option: str) -> tuple[str, int]:
    """HOST:PORT; `:PORT` binds loopback (127.0.0.1)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"{option} {value}: expected HOST:PORT, such as 127.0.0.1:2087")
    return host or "127.0.0.1", int(port)


def run_lsp(args: argparse.Namespace) -> int:
    if args.tcp:
        transport, (host, port) = "tcp", host_port(args.tcp, "--tcp")
    elif args.ws:
        transport, (host, port) = "ws", host_port(args.ws, "--ws")
    else:
        transport, host, port = "stdio", None, None
    try:
        from constellation.server.main import serve
    except ImportError as exc:
        raise UserError(f"the language server is not available: {exc}") from None
    return serve(transport, host, port)  # 0 after shutdown then exit, 1 without shutdown
