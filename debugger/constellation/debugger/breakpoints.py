"""Line breakpoints on bindings and function breakpoints on modules, with conditions (`.cst`
expressions checked by the compiler) and hit counts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from constellation.compiler import types as T
from constellation.debugger.expressions import Compiled, ExpressionError, Scope
from constellation.debugger.state import Point

HIT = re.compile(r"\s*(==|>=|<=|>|<|%)?\s*(\d+)\s*$")


@dataclass
class HitCondition:
    op: str
    count: int

    @classmethod
    def parse(cls, text: str | None) -> HitCondition | None:
        if not text or not text.strip():
            return None
        m = HIT.match(text)
        if m is None:
            raise ValueError(f"Hit count '{text}' is not understood: write a number (stop on "
                             "that hit), or >= N, > N, <= N, < N, == N, or % N (every Nth hit).")
        return cls(m.group(1) or "==", int(m.group(2)))

    def met(self, hits: int) -> bool:
        n = self.count
        return {"==": hits == n, ">=": hits >= n, "<=": hits <= n, ">": hits > n,
                "<": hits < n, "%": n > 0 and hits % n == 0}[self.op]


@dataclass
class Breakpoint:
    id: int
    verified: bool
    message: str = ""
    line: int | None = None  # a line breakpoint's line, or None for a function breakpoint
    function: str | None = None
    condition: Compiled | None = None
    hit: HitCondition | None = None
    hits: int = 0

    def to_dap(self, source: dict | None) -> dict:
        out: dict[str, Any] = {"id": self.id, "verified": self.verified}
        if self.message:
            out["message"] = self.message
        if self.line is not None:
            out["line"] = self.line
            if source is not None:
                out["source"] = source  # no column: the editor keeps it where it was set
        return out


class Breakpoints:
    def __init__(self) -> None:
        self.lines: list[Breakpoint] = []
        self.functions: list[Breakpoint] = []
        self._ids = 0

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _conditions(self, bp: Breakpoint, wanted: dict, program) -> None:
        try:
            bp.hit = HitCondition.parse(wanted.get("hitCondition"))
        except ValueError as exc:
            bp.verified, bp.message = False, str(exc)
            return
        text = wanted.get("condition")
        if not text or not text.strip():
            return
        try:
            compiled = Compiled(text, program.binding_types(), program.analysis.registry)
        except ExpressionError as exc:
            bp.verified, bp.message = False, f"The condition '{text}' is not valid: {exc}"
            return
        if compiled.type != T.BOOLEAN:
            bp.verified, bp.message = False, (
                f"The condition '{text}' is a {compiled.type_text()}; it must be a Boolean.")
            return
        bp.condition = compiled

    def set_lines(self, wanted: list[dict], program) -> list[Breakpoint]:
        self.lines = []
        for item in wanted:
            line = item.get("line")
            bp = Breakpoint(self._next_id(), True, line=line)
            calls = program.calls_by_line.get(line) if isinstance(line, int) else None
            if not calls:
                bp.verified = False
                bp.message = (f"Line {line} holds no module call; a breakpoint stops before a "
                              "call starts, so put it on a binding's line that calls a module.")
            else:
                self._conditions(bp, item, program)
            self.lines.append(bp)
        return self.lines

    def set_functions(self, wanted: list[dict], program) -> list[Breakpoint]:
        self.functions = []
        modules = {n.function.qualified for n in program.nodes if n.function} | {
            n.function.name for n in program.nodes if n.function}
        for item in wanted:
            name = (item.get("name") or "").strip()
            bp = Breakpoint(self._next_id(), True, function=name)
            if name not in modules:
                known = ", ".join(sorted(modules)) or "none"
                bp.verified = False
                bp.message = f"The program calls no module '{name}' (it calls: {known})."
            else:
                self._conditions(bp, item, program)
            self.functions.append(bp)
        return self.functions

    def candidates(self, point: Point) -> list[tuple[Breakpoint, str]]:
        """The verified breakpoints at `point` (a call), with the stop's reason."""
        if point.kind != "call":
            return []
        short = (point.module or "").rsplit(".", 1)[-1]
        found = [(b, "breakpoint") for b in self.lines if b.line == point.line]
        found += [(b, "function breakpoint") for b in self.functions
                  if b.function in (point.module, short)]
        return [(b, reason) for b, reason in found if b.verified]

    async def hit(self, point: Point, scope: Callable[[], Scope], *,
                  hits: Callable[[Breakpoint], Awaitable[int]] | None = None
                  ) -> tuple[str, str] | None:
        """(reason, description) when `point` stops at a breakpoint. A breakpoint is hit
        when its condition holds (over `scope()`, asked only when a condition needs it);
        its hit count is `hits(bp)` (a replay counts the hits up to its position, so
        stepping back and forth counts alike) or, live, the hits so far."""
        for bp, reason in self.candidates(point):
            try:
                if not await met(bp, scope):
                    continue
            except ExpressionError as exc:
                return reason, f"The condition '{bp.condition.text}' could not be " \
                               f"evaluated: {exc}"
            if hits is None:
                bp.hits += 1
            count = bp.hits if hits is None else await hits(bp)
            if bp.hit is not None and not bp.hit.met(count):
                continue
            return reason, ""
        return None

    def hit_ids(self, point: Point) -> list[int]:
        short = (point.module or "").rsplit(".", 1)[-1]
        return [b.id for b in self.lines if b.line == point.line and b.verified] + [
            b.id for b in self.functions if b.function in (point.module, short) and b.verified]


async def met(bp: Breakpoint, scope: Callable[[], Scope]) -> bool:
    """Whether `bp`'s condition (if any) holds; ExpressionError if it cannot be evaluated."""
    return bp.condition is None or await bp.condition.evaluate(scope()) is True
