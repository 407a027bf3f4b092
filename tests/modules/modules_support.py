"""Helpers and fixtures of the module tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


def corpus_dir() -> Path:
    return Path(os.environ.get("CONSTELLATION_CORPUS", REPO.parent / "shared" / "corpus"))
