"""The shared compiler core: source -> AST -> types -> DAG -> layers -> diagnostics."""

from __future__ import annotations

__all__ = ["Analysis", "analyze", "Diagnostic", "Function", "Registry"]

_HOMES = {"Analysis": "analysis", "analyze": "analysis", "Diagnostic": "diagnostics",
          "Function": "registry", "Registry": "registry"}


def __getattr__(name: str):
    # imported on first use: a process that needs only part of the compiler (the language
    # server before its first document) does not pay for the checker and the parser
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
