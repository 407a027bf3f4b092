"""Helpers of the compiler tests: registries per preset, the corpus location, analysis.

(A module with a unique name: test folders import it directly, not `conftest`.)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from constellation.compiler.registry import Registry
from constellation.compiler.stdlib import stdlib_registry
from corpus_support import corpus_dir  # noqa: F401 - shared by this suite's tests

REPO = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=None)
def _registry(preset: str) -> Registry:
    if preset == "empty":
        return Registry()
    if preset == "stdlib":
        return stdlib_registry()
    if preset == "stdlib+examples":
        from constellation.runtime.modules import load_registry

        return load_registry(["modules/demo.py"], REPO / "examples")
    raise ValueError(f"unknown registry preset {preset!r}")


def registry_for_preset(preset: str) -> Registry:
    return _registry(preset)




def analyze_program(text: str, preset: str = "stdlib+examples", registry: Registry | None = None):
    """The public analysis of a program; skips while the parser is not available."""
    from constellation.compiler.analysis import analyze

    return analyze(text, registry if registry is not None else registry_for_preset(preset))


def diag_rows(analysis) -> list[tuple[str, str, str]]:
    """(code, 'L:C', message) of every diagnostic, in reported order."""
    return [(d.code, analysis.source.format_pos(d.span.start), d.message)
            for d in analysis.diagnostics]
