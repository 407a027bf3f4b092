"""Parser performance, asserted only as ratios measured in the same run (times are printed:
run with -s to see them)."""

from __future__ import annotations

import time

import pytest

from constellation.compiler.parser import ParseCache, parse

from test_parser_support import corpus_text

PERF_LARGE = "vscode-extension/src/test/fixtures/perf-large.cst"


def generated_program(lines: int) -> str:
    out = ["in base: Int", "in name: String", "in flags: { a: Boolean, b: Boolean }"]
    i = 0
    while len(out) < lines:
        i += 1
        out += [
            f"# step {i}",
            f'v{i} = Uppercase("item ${{name}} {i}") with retry: 2, timeout: 5s',
            f"n{i} = if (flags.a and base > {i}) base * {i} + 1 else base - {i}",
            f"r{i} = {{ id: n{i}, label: v{i}, ok: flags.b }}",
            f"out r{i}",
        ]
    return "\n".join(out[:lines]) + "\n"


def best_of(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.slow
def test_cold_parse_scales_linearly():
    parse("x = 1\nout x")  # build the parser tables once
    small = generated_program(500)
    large = generated_program(5000)
    t_small = best_of(lambda: parse(small))
    t_large = best_of(lambda: parse(large), 3)
    print(f"\nparse 500 lines: {t_small * 1000:.1f} ms, 5000 lines: {t_large * 1000:.1f} ms")
    assert t_large < 25 * t_small  # 10x the text, well under 25x the time


@pytest.mark.slow
def test_one_character_edit_is_much_cheaper_than_a_cold_parse():
    text = generated_program(5000)
    cold = best_of(lambda: parse(text), 3)
    cache = ParseCache()
    parse(text, cache)
    at = text.index("n500 = ") + len("n500 = if (flags.a and base > 5")
    edited = text[:at] + "1" + text[at:]

    def edit_and_undo():
        parse(edited, cache)
        parse(text, cache)

    edit = best_of(edit_and_undo, 5) / 2
    assert cache.misses == 1
    print(f"\n5000 lines: cold {cold * 1000:.1f} ms, after a one-character edit {edit * 1000:.2f} ms")
    assert edit * 20 < cold


@pytest.mark.corpus
def test_perf_large_costs_about_its_share_of_the_generated_program():
    text = corpus_text(PERF_LARGE)
    parse(text)
    t_corpus = best_of(lambda: parse(text), 10)
    big = generated_program(5000)
    t_big = best_of(lambda: parse(big), 3)
    print(f"\nperf-large.cst ({text.count(chr(10))} lines): {t_corpus * 1000:.2f} ms")
    assert t_corpus < t_big / 5
