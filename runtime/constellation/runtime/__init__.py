"""The runtime's public API.

`module`, the decorator every user module imports, loads at once; the rest loads on first use,
so that commands which only read signatures (`cst check`, the language server) do not import
the executor, anyio and the value conversions.
"""

from __future__ import annotations

import importlib

from constellation.runtime.modules import module

_LAZY = {
    "events": "api", "run": "api", "run_async": "api",
    "RunError": "errors",
    "NodeReport": "results", "RunResult": "results",
    "RunRejected": "inputs",
    "CacheStore": "limits", "register_cache_store": "limits", "reset_shared_state": "limits",
}

__all__ = ["module", *_LAZY]


def __getattr__(name: str):
    where = _LAZY.get(name)
    if where is None:  # submodules (`from constellation.runtime import values`) import as usual
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"constellation.runtime.{where}"), name)
    globals()[name] = value
    return value
