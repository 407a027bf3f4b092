"""The parser drives lark's LALR table with its own loop (parsing/lalr.py). These tests pin the
lark internals that loop reads, check that it builds what lark's own front end builds from the
same tokens, and keep it only while it is faster (a ratio measured in the same run)."""

from __future__ import annotations

import copy
import time

import pytest
from lark import Lark, Token
from lark.parsers.lalr_analysis import Reduce, Shift

from constellation.compiler.lexer import lex
from constellation.compiler.parsing.builder import _Builder
from constellation.compiler.parsing.context import _PARSING, _Context, _set_ctx
from constellation.compiler.parsing.lalr import _drive, _is_unit, _tables
from constellation.grammar import grammar_text

from test_parser_support import corpus_paths, corpus_text


def lark_with_builder() -> Lark:
    return Lark(grammar_text(), parser="lalr", start=["start", "expr"], transformer=_Builder(),
                maybe_placeholders=True)


def drive(text: str):
    """Our driver over `text`: (the declarations or None, the lexer's result it typed)."""
    with _PARSING:
        ctx = _Context(text)
        _set_ctx(ctx)
        lexed = lex(text)
        return _drive(ctx, "start", lexed, None, len(text)), lexed


def lark_front_end(lark: Lark, text: str, lexed):
    """lark's own LALR loop (ParserState.feed_token) over tokens our driver already typed
    (LAMBDA_LPAR/OPT_COMMA, option keys): the same reduce callbacks, lark's loop."""
    with _PARSING:
        ctx = _Context(text)
        ctx.strings.update(lexed.strings)
        _set_ctx(ctx)
        state = lark.parse_interactive(None, start="start").parser_state
        for tok in lexed.tokens:
            state.feed_token(tok)
        return state.feed_token(Token("$END", ""), True)


def test_the_parse_configuration_has_what_the_driver_reads():
    lark = Lark(grammar_text(), parser="lalr", start=["start", "expr"],
                maybe_placeholders=True)
    for start in ("start", "expr"):
        conf = lark.parse_interactive(None, start=start).parser_state.parse_conf
        assert isinstance(conf.start_state, int) and isinstance(conf.end_state, int)
        assert conf.start_state in conf.states and conf.end_state in conf.states
        actions = {action for row in conf.states.values() for action, _ in row.values()}
        assert actions == {Shift, Reduce}
        for row in conf.states.values():
            for symbol, (action, arg) in row.items():
                assert isinstance(str(symbol), str)
                if action is Shift:
                    assert isinstance(arg, int)
                else:  # a Rule: what the driver's table keeps of it
                    assert isinstance(arg.expansion, (list, tuple))
                    assert isinstance(arg.origin.name, str)
                    assert hasattr(arg, "alias") and isinstance(arg.options.expand1, bool)
                    assert arg in conf.callbacks or _is_unit(arg)


def test_the_tables_are_lark_s_table():
    """The same automaton (lark numbers states differently from one build to the next)."""
    lark = Lark(grammar_text(), parser="lalr", start=["start", "expr"],
                maybe_placeholders=True)
    for start, table in _tables().items():
        conf = lark.parse_interactive(None, start=start).parser_state.parse_conf
        assert len(table.states) == len(conf.states)
        assert sorted(sorted(row) for row in table.states.values()) == \
            sorted(sorted(str(sym) for sym in row) for row in conf.states.values())
        assert set(table.states[table.end_state]) == \
            {str(sym) for sym in conf.states[conf.end_state]}


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_paths()[:12] or ["<corpus missing>"])
def test_the_driver_builds_what_lark_s_front_end_builds(path):
    text = corpus_text(path)
    ours, tokens = drive(text)
    if ours is None:
        pytest.skip("not a clean parse (recovery is the driver's own)")
    theirs = lark_front_end(lark_with_builder(), text, tokens)
    assert repr(copy.deepcopy(theirs)) == repr(copy.deepcopy(ours))


def generated_program(blocks: int) -> str:
    out = ["in seed: Int", "in text: String"]
    for i in range(blocks):
        prev = f"size{i - 1}" if i else "seed"
        out += [f"word{i} = Uppercase(text) with retry: 2, timeout: 5s",
                f"size{i} = add({prev}, {i + 1})",
                f"row{i} = {{ label: \"${{word{i}}}-{i}\", size: size{i} * 2 + {i} }}",
                f"big{i} = branch {{ row{i}.size > {i * 3} -> \"big\", otherwise -> \"small\" }}",
                f"keep{i} = filter([1, 2, {i}], (x) => x > 1)"]
    out.append(f"out size{blocks - 1}")
    return "\n".join(out) + "\n"


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.slow
def test_the_driver_stays_faster_than_lark_s_front_end():
    """Ours lexes too; lark gets the tokens already typed: the ratio favours lark."""
    text = generated_program(300)
    ours, tokens = drive(text)
    assert ours is not None
    lark = lark_with_builder()
    assert repr(copy.deepcopy(lark_front_end(lark, text, tokens))) == repr(copy.deepcopy(ours))
    t_ours = best_of(lambda: drive(text), 5)
    t_lark = best_of(lambda: lark_front_end(lark, text, tokens), 5)
    print(f"\n{text.count(chr(10))} lines: our driver {t_ours * 1000:.1f} ms, "
          f"lark's front end {t_lark * 1000:.1f} ms ({t_lark / t_ours:.1f}x)")
    assert t_ours < t_lark
