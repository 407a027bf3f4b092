"""The shared compiler core: source -> AST -> types -> DAG -> layers -> diagnostics.

Its names load on first use, so that a process which only runs Plans (the runtime, docs/plan.md)
imports the plan, types and values it needs and never the front end (lexer, parser, checker).
"""

from __future__ import annotations

import importlib

_LAZY = {"Analysis": "analysis", "analyze": "analysis", "Diagnostic": "diagnostics",
         "Function": "registry", "Registry": "registry"}

__all__ = list(_LAZY)


def __getattr__(name: str):
    where = _LAZY.get(name)
    if where is None:  # submodules (`from constellation.compiler import ast`) import as usual
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"constellation.compiler.{where}"), name)
    globals()[name] = value
    return value
