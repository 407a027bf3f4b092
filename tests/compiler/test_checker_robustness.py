"""E900 must not occur for any input (§8.4): mutated corpus programs never crash the checker."""

from __future__ import annotations

import random

import pytest

from compiler_support import analyze_program, corpus_dir

TOKENS = ["x", "1", '"s"', "+", "Int", "a.b", "(", ")", "{", "}", "[]", "List<Int>", "??", "when",
          "match", "_", "=>", "(v) =>", "with retry: 1", "is", "->", "out", "in", "type", ",",
          "Optional<", "r{a}", "-", "not", "branch {", "otherwise"]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    op = rng.randrange(4)
    if op == 0 and len(lines) > 2:
        del lines[rng.randrange(len(lines))]
        return "\n".join(lines)
    if op == 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    if op == 2:
        words = text.split(" ")
        words[rng.randrange(len(words))] = rng.choice(TOKENS)
        return " ".join(words)
    k = rng.randrange(max(1, len(text)))
    return text[:k] + text[k + rng.randrange(1, 20):]


def test_mutated_corpus_programs_never_produce_internal_errors():
    files = sorted(corpus_dir().glob("**/*.cst"))
    if not files:
        pytest.skip(f"corpus not found at {corpus_dir()} (set CONSTELLATION_CORPUS)")
    sources = [f.read_text(encoding="utf-8") for f in files]
    rng = random.Random(20261128)
    for _ in range(400):
        text = _mutate(rng.choice(sources), rng)
        a = analyze_program(text)
        internal = [d.message for d in a.diagnostics if d.code == "E900"]
        assert not internal, (internal, text)
        assert all(d.span.start <= d.span.end <= len(text) for d in a.diagnostics)
