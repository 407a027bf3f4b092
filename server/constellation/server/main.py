"""Entry point: `serve(transport, host, port)` and `main(argv)` (`python -m constellation.server`)."""

from __future__ import annotations

import argparse
import logging
import sys


def serve(transport: str = "stdio", host: str | None = None, port: int | None = None) -> None:
    from constellation.server.server import create_server

    server = create_server()
    if transport == "stdio":
        server.start_io()
    elif transport == "tcp":
        server.start_tcp(host or "127.0.0.1", port or 2087)
    elif transport == "ws":
        server.start_ws(host or "127.0.0.1", port or 2087)
    else:
        raise ValueError(f"Unknown transport '{transport}': use stdio, tcp or ws.")


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got '{text}'")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="constellation-lsp", description="The Constellation language server.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--stdio", action="store_true", help="speak LSP over stdin/stdout (default)")
    group.add_argument("--tcp", type=_host_port, metavar="HOST:PORT", help="listen on a TCP socket")
    group.add_argument("--ws", type=_host_port, metavar="HOST:PORT", help="listen on a WebSocket")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.tcp:
        serve("tcp", *args.tcp)
    elif args.ws:
        serve("ws", *args.ws)
    else:
        serve("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
