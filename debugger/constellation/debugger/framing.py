"""DAP's base protocol: `Content-Length: N` headers, an empty line, N bytes of UTF-8 JSON.

Like LSP's; written small here because the adapter reads one trusted editor on standard input.
A damaged frame (a bad header, a body that is not JSON) is reported through `on_damage` and
the reader goes on at the next `Content-Length` header, so one bad message never ends a session.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

HEADER = re.compile(rb"Content-Length:[ \t]*(\d+)\r\n", re.IGNORECASE)
MAX_HEADER = 1024


def encode(message: dict) -> bytes:
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class FrameReader:
    """`feed(bytes)` returns the messages the bytes completed."""

    def __init__(self, on_damage: Callable[[str], None]) -> None:
        self._buf = bytearray()
        self._on_damage = on_damage

    def feed(self, data: bytes) -> list[Any]:
        self._buf += data
        messages = []
        while (message := self._next()) is not None:
            if message is not _SKIPPED:
                messages.append(message)
        return messages

    def _next(self):
        buf = self._buf
        m = HEADER.search(buf)
        if m is None:
            if len(buf) > MAX_HEADER:
                self._on_damage(f"skipped {len(buf) - MAX_HEADER} bytes outside any message")
                del buf[:len(buf) - MAX_HEADER]
            return None
        if m.start() > 0:
            junk = bytes(buf[:m.start()])
            del buf[:m.start()]
            if junk.strip():
                self._on_damage(f"skipped {len(junk)} bytes before a Content-Length header")
            return _SKIPPED
        end = buf.find(b"\r\n\r\n", m.end() - 2)
        if end < 0:
            return None
        start, length = end + 4, int(m.group(1))
        if len(buf) < start + length:
            return None
        body = bytes(buf[start:start + length])
        del buf[:start + length]
        try:
            return json.loads(body)
        except ValueError as exc:
            self._on_damage(f"skipped a message whose body is not JSON ({exc})")
            return _SKIPPED


_SKIPPED = object()
