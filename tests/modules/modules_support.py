"""Helpers and fixtures of the module tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_support import corpus_dir  # noqa: F401 - shared by this suite's tests

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def demo_registry():
    from constellation.runtime.modules import load_registry
    return load_registry(["modules/demo.py"], EXAMPLES)


@pytest.fixture
def fast_time(monkeypatch):
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", "0.01")
    yield 0.01


