"""`cst dap`: the adapter on standard input and output (the way every editor starts one)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import anyio

from constellation.debugger.framing import FrameReader, encode
from constellation.debugger.session import Session


def serve_stdio() -> int:
    return anyio.run(_serve)


async def _serve() -> int:
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but DAP frames may reach the editor's pipe

    def send(message: dict) -> None:
        try:
            out.write(encode(message))
            out.flush()
        except (BrokenPipeError, ValueError):
            pass  # the editor has gone: the input's end closes the session

    messages = _read_stdin(FrameReader(lambda what: print(f"cst dap: {what}", file=sys.stderr)))
    async with anyio.create_task_group() as tg:
        session = Session(send, tg)
        async with messages:
            async for message in messages:
                await session.handle(message)
                if session.closed:
                    break
        await session.shutdown()
        tg.cancel_scope.cancel()
    return 0


def _read_stdin(reader: FrameReader):
    """DAP messages from standard input, read by a daemon thread (a blocked read never holds
    the loop, nor the exit)."""
    send, receive = anyio.create_memory_object_stream(float("inf"))
    loop = asyncio.get_running_loop()

    def deliver(messages: list | None) -> None:
        if messages is None:
            send.close()
            return
        for m in messages:
            try:
                send.send_nowait(m)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return

    def read() -> None:
        while True:
            try:
                chunk = os.read(0, 65536)
            except OSError:
                chunk = b""
            try:
                loop.call_soon_threadsafe(deliver, reader.feed(chunk) if chunk else None)
            except RuntimeError:  # the loop has closed
                return
            if not chunk:
                return

    threading.Thread(target=read, name="cst-dap-stdin", daemon=True).start()
    return receive
