"""Entry point: `serve(transport, host, port)` and `main(argv)` (`python -m constellation.server`)."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import socket
import sys
from pathlib import Path

TOKEN_ENV = "CONSTELLATION_LSP_TOKEN"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 2087


def create_server():
    """The composition root: a new server with every feature registered on it (the services
    themselves import no feature)."""
    from constellation.server import features
    from constellation.server.server import ConstellationServer

    server = ConstellationServer()
    features.register_all(server)
    return server


def serve(transport: str = "stdio", host: str | None = None, port: int | None = None) -> int:
    """Serve one session; returns the exit status (0 after `shutdown` then `exit`)."""
    from constellation.server import transport as transports

    if transport not in ("stdio", "tcp", "ws"):
        raise ValueError(f"Unknown transport '{transport}': use stdio, tcp or ws.")
    server = create_server()
    try:
        if transport == "stdio":
            return transports.run_stdio(server)
        host = host or DEFAULT_HOST
        port = DEFAULT_PORT if port is None else port
        warn_if_reachable(host)
        token = os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(32)
        written: list[Path] = []

        def on_listening(actual_port: int) -> None:
            if os.environ.get(TOKEN_ENV):
                where = f"the token is the value of {TOKEN_ENV}"
            else:
                path = write_token(token, actual_port)
                written.append(path)
                where = f"the token is in {path}"
            how = ("initializationOptions.token of the first request (initialize)" if transport == "tcp"
                   else "?token=, an 'Authorization: Bearer' header or initializationOptions.token")
            print(f"constellation-lsp: listening on {transport} {host}:{actual_port}; clients must "
                  f"present its token ({how}): {where}", file=sys.stderr, flush=True)

        run = transports.run_tcp if transport == "tcp" else transports.run_ws
        try:
            return run(server, host, port, token, on_listening)
        except transports.ListenError as exc:
            print(f"constellation-lsp: {exc}", file=sys.stderr)
            return 2
        finally:
            for path in written:
                path.unlink(missing_ok=True)
    except KeyboardInterrupt:
        return 130
    finally:
        server.shutdown()


def token_path(port: int) -> Path:
    """Where the token of the server listening on `port` is written: the user's runtime
    folder (private by definition) when there is one, else ~/.cache/constellation."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(runtime) / "constellation" if runtime else Path.home() / ".cache" / "constellation"
    return folder / f"lsp-{port}.token"


def write_token(token: str, port: int) -> Path:
    """The token in a file only the user can read (0600, in a 0700 folder; an existing file
    is truncated and re-moded, a symbolic link in its place is refused)."""
    from constellation.server.transport import ListenError

    path = token_path(port)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            os.write(fd, (token + "\n").encode("ascii"))
        finally:
            os.close(fd)
    except OSError as exc:
        raise ListenError(f"cannot write the token file {path}: {exc.strerror or exc} "
                          f"(or set {TOKEN_ENV} to a token of your choice)") from None
    return path


def warn_if_reachable(host: str) -> None:
    from constellation.server.transport import is_loopback

    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        addresses = {host}
    if not addresses or not all(is_loopback(a) for a in addresses):
        print(f"constellation-lsp: warning: {host} is not a loopback address: other machines can "
              "reach this server, and the token and your code cross the network unencrypted "
              "(prefer 127.0.0.1 and an SSH tunnel)", file=sys.stderr, flush=True)


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got '{text}'")
    return host or DEFAULT_HOST, int(port)


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
        return serve("tcp", *args.tcp)
    if args.ws:
        return serve("ws", *args.ws)
    return serve("stdio")


if __name__ == "__main__":
    sys.exit(main())
