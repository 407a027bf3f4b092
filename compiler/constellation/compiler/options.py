"""Module-call options (LANGUAGE.md §6): the validated, typed form the runtime consumes.

The checker validates each `with` clause (E016, E017, E019, W001-W003) and stores one
`CallOptions` per call in `Analysis.call_options`; the runtime never re-parses option text.
"""

from __future__ import annotations

from dataclasses import dataclass

from constellation.compiler import ast

# Re-exported for the checker and the server; the table itself is the vocabulary's.
from constellation.compiler.vocabulary import (  # noqa: F401
    DURATION_UNITS_MS, EXECUTION_OPTIONS, OPTION_KEYS, PRIORITY_LEVELS, STREAMING_OPTIONS,
)

ALL_OPTIONS = OPTION_KEYS


@dataclass(frozen=True)
class CallOptions:
    retry: int = 0
    timeout_ms: int | None = None
    delay_ms: int | None = None
    backoff: str = "fixed"  # fixed | linear | exponential
    fallback: "ast.Expr | None" = None
    cache_ms: int | None = None
    cache_backend: str = "memory"
    throttle: tuple[int, int] | None = None  # (N, window in ms)
    concurrency: int | None = None
    on_error: str = "propagate"  # propagate | skip | log | wrap
    lazy: bool = False
    priority: int = 50  # clamped to 0..100

    @property
    def is_default(self) -> bool:
        return self == CallOptions()


def parse_duration_ms(text: str) -> int | None:
    """`500ms` -> 500, `2min` -> 120000; None when not a valid duration (§1.7)."""
    digits = ""
    for ch in text:
        if ch.isdigit():
            digits += ch
        else:
            break
    unit = text[len(digits):]
    if not digits or unit not in DURATION_UNITS_MS:
        return None
    return int(digits) * DURATION_UNITS_MS[unit]


def format_duration(ms: int) -> str:
    for unit, size in reversed(DURATION_UNITS_MS.items()):  # the largest unit that divides
        if unit != "ms" and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
