"""Whole values in a live session.

The run's events carry values abbreviated (`values.abbreviate`: 200 characters, 20 items,
marked with '…'), and so do a point's arguments, so that a large value is not pushed at every
point. Variables, the console and conditions need them whole: the adapter asks the child for
a value the first time it needs one that may be cut (`{"fetch": K, ...}`, answered by a
`debug_value` line) and keeps it, since a settled value never changes. A replay's values are
whole already (the records keep them).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import anyio

CUT = "…"
FETCH_TIMEOUT_S = 10.0  # a module holding the child's loop: the abbreviated value is shown


def may_be_cut(value: Any) -> bool:
    """Whether `value` may have been abbreviated (it holds the '…' mark somewhere)."""
    if isinstance(value, str):
        return CUT in value
    if isinstance(value, list):
        return any(may_be_cut(v) for v in value)
    if isinstance(value, dict):
        return CUT in value or any(may_be_cut(v) for v in value.values())
    return False


async def as_is(key: tuple, value: Any) -> Any:
    return value


Whole = Callable[[tuple, Any], Awaitable[Any]]


class Fetcher:
    """Asks the child for values whole; `send(message)` writes a line to it."""

    def __init__(self, send: Callable[[dict], Awaitable[None]]) -> None:
        self._send = send
        self._kept: dict[tuple, Any] = {}
        self._waiting: dict[int, tuple[anyio.Event, list]] = {}
        self._asked = 0

    async def __call__(self, key: tuple, value: Any) -> Any:
        """`value` whole: `key` is ("node", id) or ("arg", point, index)."""
        if not may_be_cut(value):
            return value
        if key in self._kept:
            return self._kept[key]
        self._asked += 1
        k = self._asked
        done, box = self._waiting[k] = (anyio.Event(), [])
        request = {"node": key[1]} if key[0] == "node" else {"point": key[1], "arg": key[2]}
        await self._send({"fetch": k, **request})
        with anyio.move_on_after(FETCH_TIMEOUT_S):
            await done.wait()
        self._waiting.pop(k, None)
        if not box or "value" not in box[0]:
            return value  # the child has ended or cannot answer: what the events said
        self._kept[key] = box[0]["value"]
        return box[0]["value"]

    def answered(self, event: dict) -> None:
        waiting = self._waiting.get(event.get("fetch"))  # type: ignore[arg-type]
        if waiting is not None:
            waiting[1].append(event)
            waiting[0].set()

    def ended(self) -> None:
        """The child has gone: nobody will answer."""
        for done, _ in self._waiting.values():
            done.set()
