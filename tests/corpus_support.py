"""Where the shared corpus is, and helpers every suite that uses it shares.

The corpus is not part of the repository: tests find it through `CONSTELLATION_CORPUS`
(default `<repo>/../shared/corpus`) and skip with a message when it is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path:
    return Path(os.environ.get("CONSTELLATION_CORPUS", REPO.parent / "shared" / "corpus"))


def valid_corpus_cases() -> list:
    """One pytest param per valid corpus program (its expected.json entry), or one skipped
    param saying where the corpus was looked for."""
    root = corpus_dir()
    if not (root / "expected.json").exists():
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"shared corpus not found at {root} (set CONSTELLATION_CORPUS)"))]
    entries = json.loads((root / "expected.json").read_text())
    return [pytest.param(e, id=e["path"]) for e in entries if e["valid"]]


def zero_inputs(analysis) -> dict:
    """Inputs a test supplies where no @example exists: the zero value of the type."""
    from constellation.compiler.types import OptionalT
    from constellation.runtime.inputs import input_types
    from constellation.runtime.values import zero_value

    return {name: zero_value(t) for name, t in input_types(analysis).items()
            if not analysis.check.examples.get(name) and not isinstance(t, OptionalT)}
