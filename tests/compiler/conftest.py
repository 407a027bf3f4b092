"""Fixtures of the compiler tests (helpers live in compiler_support.py)."""

from __future__ import annotations

import pytest

from compiler_support import registry_for_preset


@pytest.fixture
def registry_for():
    """`registry_for("stdlib")`, `registry_for("stdlib+examples")` or `registry_for("empty")`."""
    return registry_for_preset
