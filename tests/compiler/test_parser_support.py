"""Helpers of the parser/formatter tests (no tests here): corpus discovery and AST dumps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from constellation.compiler import ast

REPO = Path(__file__).resolve().parents[2]


def corpus_root() -> Path:
    return Path(os.environ.get("CONSTELLATION_CORPUS", REPO.parent / "shared" / "corpus"))


def corpus_entries() -> list[dict]:
    """expected.json rows (skips the test when the corpus is not there)."""
    path = corpus_root() / "expected.json"
    if not path.exists():
        pytest.skip(f"corpus not found at {corpus_root()} (set CONSTELLATION_CORPUS)")
    return json.loads(path.read_text(encoding="utf-8"))


def corpus_paths() -> list[str]:
    path = corpus_root() / "expected.json"
    if not path.exists():
        return []
    return [row["path"] for row in json.loads(path.read_text(encoding="utf-8"))]


def corpus_text(rel: str) -> str:
    path = corpus_root() / rel
    if not path.exists():
        pytest.skip(f"corpus not found at {corpus_root()} (set CONSTELLATION_CORPUS)")
    return path.read_text(encoding="utf-8")


def dump(node, spans: bool = False) -> object:
    """Structural rendering of an AST (lists, tuples, node fields), iteratively built."""
    if isinstance(node, list):
        return [dump(x, spans) for x in node]
    if isinstance(node, tuple):
        return tuple(dump(x, spans) for x in node)
    if isinstance(node, ast.Span):
        return (node.start, node.end)
    if isinstance(node, ast.Name):
        return (node.text, (node.span.start, node.span.end)) if spans else node.text
    if hasattr(node, "__slots__") and not isinstance(node, (str, int, float, bool)):
        fields = {}
        for name in node.__slots__:
            if not spans and name in ("span", "op_span", "dot", "keyword"):
                continue
            fields[name] = dump(getattr(node, name), spans)
        return (type(node).__name__, fields)
    return node
