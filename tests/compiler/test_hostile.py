"""Hostile input: deep nesting, huge files, binary garbage. The parser returns diagnostics,
never raises, never recurses without bound, and leaves no AST deeper than MAX_DEPTH."""

from __future__ import annotations

import random
import sys
import time

import pytest

from constellation.compiler import ast
from constellation.compiler.lexer import tokenize
from constellation.compiler.parser import MAX_DEPTH, ParseCache, parse

N = 10_000
TOO_DEEP = (f"Expression is nested too deeply (more than {MAX_DEPTH} levels): "
            "split it into several bindings")

DEEP = {
    "parentheses": "x = " + "(" * N + "1" + ")" * N + "\nout x",
    "unclosed parentheses": "x = " + "(" * N,
    "lists": "x = " + "[" * N + "]" * N + "\nout x",
    "records": "x = " + "{a: " * N + "1" + "}" * N + "\nout x",
    "unary minus": "x = " + "- " * N + "1\nout x",
    "not": "x = " + "not " * N + "a\nout x",
    "left-associative sum": "x = " + "+".join(["1"] * N) + "\nout x",
    "right-associative ??": "x = " + " ?? ".join(["a"] * N) + "\nout x",
    "else-if chain": "x = " + "if (c) 1 else " * N + "2\nout x",
    "field path": "x = a" + ".b" * N + "\nout x",
    "lambdas": "x = " + "(a) => " * N + "1\nout x",
    "projections": "x = a" + "[b]" * N + "\nout x",
    "calls": "x = " + "f(" * N + ")" * N + "\nout x",
    "generic types": "in x: " + "List<" * N + "Int" + ">" * N + "\nout x",
    "branches": "x = " + "branch { otherwise -> " * N + "1" + "}" * N + "\nout x",
}


def max_depth(decls) -> int:
    deepest = 0
    stack = [(d, 0) for d in decls]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in ast.children(node))
    return deepest


@pytest.fixture
def low_recursion_limit():
    """Run with a recursion limit well below the nesting: any recursive pass would fail."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    yield
    sys.setrecursionlimit(old)


@pytest.mark.parametrize("name", list(DEEP))
def test_deep_nesting_is_reported_not_crashed(name, low_recursion_limit):
    result = parse(DEEP[name])
    assert [d.code for d in result.diagnostics] == ["E020"]
    assert result.diagnostics[0].message == TOO_DEEP
    assert isinstance(result.decls[0], ast.BrokenDecl)
    assert max_depth(result.decls) <= MAX_DEPTH + 2


def test_deep_string_interpolation(low_recursion_limit):
    text = "x = " + '"${' * N + "1" + '}"' * N + "\nout x"
    result = parse(text)
    assert [d.code for d in result.diagnostics] == ["E020"]
    assert result.diagnostics[0].message.startswith("Expression is nested too deeply")


def test_nesting_at_the_limit_is_accepted():
    depth = MAX_DEPTH - 5
    result = parse("x = " + "[" * depth + "]" * depth + "\nout x")
    assert result.diagnostics == []
    assert max_depth(result.decls) <= MAX_DEPTH + 1


def nestings(n: int) -> dict[str, tuple[str, dict]]:
    """Each way of nesting an expression n levels deep, with the inputs it reads."""
    return {
        "operators": ("x = " + " + ".join(["a"] * (n + 1)), {"a": 1}),
        "parentheses": ("x = " + "(" * n + "a" + ")" * n, {"a": 1}),
        "lists": ("x = " + "[" * n + "a" + "]" * n, {"a": 1}),
        "records": ("x = " + "{b: " * n + "a" + "}" * n, {"a": 1}),
        "unary minus": ("x = " + "- " * n + "a", {"a": 1}),
        "not": ("x = " + "not " * n + "c", {"c": True}),
        "else-if chain": ("x = " + "if (c) a else " * n + "2", {"c": False, "a": 1}),
        "coalesce": ("x = " + " ?? ".join(["o"] * n) + " ?? a", {"o": None, "a": 1}),
        "calls": ("x = " + "identity(" * n + "s" + ")" * n, {"s": "v"}),
        "field path": ("x = r" + ".b" * n, {"r": None}),
    }


INPUTS = {"a": "in a: Int", "c": "in c: Boolean", "o": "in o: Optional<Int>", "s": "in s: String",
          "r": "in r: " + "{ b: " * MAX_DEPTH + "Int" + " }" * MAX_DEPTH}


def nested_program(body: str, inputs: dict) -> str:
    return "\n".join(INPUTS[k] for k in inputs) + "\n" + body + "\nout x\n"


@pytest.mark.parametrize("name", list(nestings(1)))
def test_nesting_up_to_the_limit_is_analysed_run_and_formatted(name):
    """MAX_DEPTH levels of every kind (100 operators in a row among them) is a valid program
    that every pass handles; one level more is the E020 of the limit, at the level past it."""
    from constellation.compiler import analyze
    from constellation.compiler.formatter import format_source
    from constellation.compiler.stdlib import stdlib_registry
    from constellation.runtime import run

    body, inputs = nestings(MAX_DEPTH)[name]
    text = nested_program(body, inputs)
    analysis = analyze(text, stdlib_registry())
    assert [d for d in analysis.diagnostics if d.severity == "error"] == []
    if name != "field path":  # the record input would need a value 100 levels deep
        assert run(analysis, inputs).status == "completed"
    assert isinstance(format_source(text), str)
    body, inputs = nestings(MAX_DEPTH + 1)[name]
    deeper = analyze(nested_program(body, inputs), stdlib_registry())
    assert [(d.code, d.message) for d in deeper.diagnostics] == [("E020", TOO_DEEP)]


def test_one_megabyte_program():
    lines = [f'x{i} = Uppercase("value {i}") with retry: 1\nout x{i}\n' for i in range(20_000)]
    text = "".join(lines)
    assert len(text) > 1_000_000
    result = parse(text)
    assert result.diagnostics == []
    assert len(result.decls) == 40_000


def test_one_megabyte_string():
    result = parse('x = "' + "a" * 1_000_000 + '"\nout x')
    assert result.diagnostics == []
    assert len(result.decls[0].expr.value) == 1_000_000


def test_one_megabyte_of_errors_is_linear():
    """Ratio check in one run: 10x the broken lines takes far less than 100x the time."""
    def timed(n):
        text = "x = (\n" * n + "out x\n"
        start = time.perf_counter()
        result = parse(text)
        return time.perf_counter() - start, result

    small, _ = timed(2_000)
    large, result = timed(20_000)
    assert len(result.diagnostics) == 20_000
    assert large < small * 40


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(seed):
    data = bytes(random.Random(seed).randrange(256) for _ in range(200_000))
    text = data.decode("utf-8", errors="replace")
    result = parse(text)
    assert result.diagnostics and all(d.code == "E020" for d in result.diagnostics)
    assert tokenize(text) is not None


@pytest.mark.parametrize("seed", range(5))
def test_random_lines_of_tokens(seed):
    rng = random.Random(seed)
    vocab = ["x", "=", "(", ")", "[", "]", "{", "}", '"', "${", "in", "out", "type", "with",
             "retry", ":", ",", "@example", "->", "=>", "1", "5s", "\n", "#", "match", "branch",
             "otherwise", "if", "else", "??", "when", ".", "-"]
    text = " ".join(rng.choice(vocab) for _ in range(50_000))
    result = parse(text, ParseCache())
    assert isinstance(result.decls, list)
    assert all(d.code in ("E020",) for d in result.diagnostics)


def test_control_characters_and_nul():
    result = parse("x = 1\x00\nout x\x07")
    assert result.diagnostics[0].message == "Unexpected character '\\x00'"


# ---------------------------------------------------------------------------------------------
# Whole analyses (checker and plan), not only the parser


def cycle_program(n: int) -> str:
    return "".join(f"v{i} = v{(i + 1) % n}\n" for i in range(n)) + "out v0\n"


def test_a_cycle_through_ten_thousand_bindings(low_recursion_limit):
    """Every binding gets its E031 (§3.3), without recursion along the cycle, with messages
    of bounded size, in time linear in the cycle's length (ratio measured in one run)."""
    from compiler_support import analyze_program

    def timed(n):
        start = time.perf_counter()
        analysis = analyze_program(cycle_program(n), "stdlib")
        return time.perf_counter() - start, analysis

    small, _ = timed(1_000)
    large, analysis = timed(10_000)
    assert [d.code for d in analysis.diagnostics] == ["E031"] * 10_000
    assert all(len(d.message) < 400 and len(d.related) <= 20 for d in analysis.diagnostics)
    assert "v5' is one of 10,000 bindings" in analysis.diagnostics[5].message
    assert large < small * 40


def test_a_long_cycle_is_spelled_out_abbreviated():
    from compiler_support import analyze_program

    analysis = analyze_program(cycle_program(30), "stdlib")
    message = analysis.diagnostics[0].message
    assert message.startswith("Circular dependency: v0 -> v1 -> ")
    assert message.endswith(" -> … -> v26 -> v27 -> v28 -> v29 -> v0 (30 bindings)")
    assert len(analysis.diagnostics[0].related) == 18


def test_a_chain_of_fifty_thousand_bindings(low_recursion_limit):
    from compiler_support import analyze_program

    text = "in a: Int\nv0 = a\n" + "".join(f"v{i} = v{i - 1} + 1\n" for i in range(1, 50_000))
    analysis = analyze_program(text + "out v49999\n", "stdlib")
    assert analysis.diagnostics == []
    assert analysis.plan.nodes[analysis.plan.bindings["v49999"]].layer == 0
