"""The Constellation grammar (lark, LALR): the single source of truth for syntax."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def grammar_text() -> str:
    """Text of `constellation.lark` (read once per process)."""
    return resources.files(__name__).joinpath("constellation.lark").read_text(encoding="utf-8")
