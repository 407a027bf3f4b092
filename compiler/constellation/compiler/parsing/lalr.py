"""The LALR driver: lark's table for the grammar, and the one loop that feeds it tokens.

lark builds the table (`constellation/grammar/constellation.lark`) once per process; this
module reads its internals (pinned by tests/compiler/test_lark_internals.py): the parse
configuration of `Lark.parse_interactive(...).parser_state` (`states`, `start_state`,
`end_state`, `callbacks`), `lalr_analysis.Shift`, and each rule's `expansion`, `origin`,
`alias` and `options.expand1`. Tokens from the hand-written lexer go through `_drive`; its
reduce callbacks (`builder._Builder`) build the AST directly (no parse tree, no recursion).
The driver picks LAMBDA_LPAR/OPT_COMMA from the table (as lark's contextual lexer would) and
hands the first error to the explainer (explain.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from constellation.compiler import ast
from constellation.compiler.ast import Span
from constellation.compiler.lexer import Lexed, Tok, first_token
from constellation.compiler.parsing.context import MAX_DEPTH, TOO_DEEP, _Context, _Stop
from constellation.compiler.parsing.explain import (
    _OPENERS, _Frame, _after_feed, _check_misspelt_option, _explain, _retype_option_key,
)


_LOCK = threading.Lock()


_TABLES: dict[str, "_Table"] = {}


@dataclass(frozen=True)
class _Table:
    """lark's LALR table with plain-string keys and pre-resolved reduce callbacks.

    states[state][symbol] = (True, next_state) for a shift or goto,
                            (False, (size, origin, callback)) for a reduce.
    """

    states: dict
    start_state: int
    end_state: int


def _tables() -> dict[str, _Table]:
    if not _TABLES:
        with _LOCK:
            if not _TABLES:
                _TABLES.update(_build_tables())
    return _TABLES


def _build_tables() -> dict[str, _Table]:
    from lark import Lark
    from lark.parsers.lalr_analysis import Shift
    from constellation.grammar import grammar_text
    from constellation.compiler.parsing.builder import _Builder
    lark = Lark(grammar_text(), parser="lalr", start=["start", "expr"],
                transformer=_Builder(), maybe_placeholders=True, cache=True)
    out = {}
    for start in ("start", "expr"):
        conf = lark.parse_interactive(None, start=start).parser_state.parse_conf
        callbacks = conf.callbacks
        states = {}
        for st, row in conf.states.items():
            states[st] = {
                str(sym): (True, arg) if action is Shift else
                (False, (len(arg.expansion), str(arg.origin.name),
                         None if _is_unit(arg) else callbacks[arg]))
                for sym, (action, arg) in row.items()
            }
        out[start] = _Table(states, conf.start_state, conf.end_state)
    return out


def _is_unit(rule) -> bool:
    """`?rule: other` alternatives pass their single child through unchanged."""
    return rule.options.expand1 and rule.alias is None and len(rule.expansion) == 1


_UNIT_CHAINS: dict[tuple, int] = {}  # (below, top, lookahead) -> top after unit reductions


def _unit_chain(states: dict, below: int, top: int, tt: str) -> int:
    while True:
        act = states[top].get(tt)
        if act is None or act[0] or act[1][2] is not None:
            return top
        top = states[below][act[1][1]][1]


def _accepts(states, stack: list, term: str) -> bool:
    """Would the LALR parser shift `term` after its pending reductions? (no callbacks run;
    the stack is not copied: reductions pop a virtual depth, pushes go to `extra`)"""
    depth = len(stack)
    extra: list = []
    while True:
        act = states[extra[-1] if extra else stack[depth - 1]].get(term)
        if act is None:
            return False
        shift, arg = act
        if shift:
            return True
        size, origin, _ = arg
        if size:
            take = min(size, len(extra))
            if take:
                del extra[-take:]
            depth -= size - take
        extra.append(states[extra[-1] if extra else stack[depth - 1]][origin][1])


# LALR stack height allowed; each nesting level pushes at most ~7 states, so this only
# trips on input already deeper than MAX_DEPTH and keeps right-nested chains linear.
_MAX_STACK = 10 * MAX_DEPTH


def _drive(ctx: _Context, start: str, lexed: Lexed, next_tok: Tok | None, end: int,
           eof_desc: Tok | None = None):
    """Parse a token list with start symbol `start`; returns the value or None on error.

    The one LALR loop (lark's feed_token, minus its overheads): each token, then the end of
    input, reduces until it shifts; the end reduces until the table's end state."""
    table = (_TABLES or _tables())[start]
    if lexed.strings:
        ctx.strings.update(lexed.strings)
    ctx.token_count += len(lexed.tokens)
    states = table.states
    end_state = table.end_state
    state_stack = [table.start_state]
    value_stack: list = []
    tokens = lexed.tokens
    frames: list[_Frame] = [_Frame("top", None)]
    matches: list[tuple[int, int]] = []  # (frame depth, subject start) of pending `match`
    prev: Tok | None = None
    n = len(tokens)
    i = 0
    at_end = False
    chains = _UNIT_CHAINS
    try:
        while True:
            if i < n:
                tok = tokens[i]
                tt = tok.type
                if tt in _PRE:
                    tt = _before_feed(ctx, tok, tt, tokens, i, frames, states, state_stack)
            else:
                if lexed.error is not None:
                    err = lexed.error
                    ctx.error(err.message, Span(err.start, err.end))
                    raise _Stop
                at_end = True
                tok = Tok("$END", "", end, end)
                tt = "$END"
            while True:
                act = states[state_stack[-1]].get(tt)
                if act is None:
                    expected = {k for k in states[state_stack[-1]] if k.isupper()}
                    if at_end:  # what the message names as found at the end
                        tok = eof_desc or next_tok or (
                            first_token(ctx.text, end) if start == "start" else None) or tok
                    _explain(ctx, expected, tok, prev, frames, matches, tokens, i)
                    raise _Stop
                if act[0]:
                    state_stack.append(act[1])
                    value_stack.append(tok)
                    break
                size, origin, callback = act[1]
                if callback is None:  # unit rules: only the top state changes
                    key = (state_stack[-2], state_stack[-1], tt)
                    top_state = chains.get(key)
                    if top_state is None:
                        top_state = chains[key] = _unit_chain(states, key[0], key[1], tt)
                    state_stack[-1] = top_state
                else:
                    if size:
                        children = value_stack[-size:]
                        del state_stack[-size:]
                        del value_stack[-size:]
                    else:
                        children = []
                    value_stack.append(callback(children))
                    state_stack.append(states[state_stack[-1]][origin][1])
                if at_end and state_stack[-1] == end_state:
                    return value_stack[-1]
            if at_end:  # the end of input shifted: not a complete parse
                return None
            if len(state_stack) > _MAX_STACK:
                ctx.error(TOO_DEEP, Span(tok.start_pos, tok.end_pos))
                raise _Stop
            if tt in _POST:
                _after_feed(tok, tt, prev, tokens, i, frames, matches)
            prev = tok
            i += 1
    except _Stop:
        ctx.partial_items = _completed_items(value_stack)
        # what a run (_parse_run) keeps: the declarations completed before the first
        # value still on the stack, which is where trust ends
        done = value_stack[0] if value_stack and isinstance(value_stack[0], list) else None
        ctx.completed = done or []
        ctx.incomplete_at = _first_offset(value_stack if done is None else value_stack[1:],
                                          _stop_offset(tokens, i, lexed, end))
        return None


_PRE = frozenset({"LAMBDA_LPAR", "OPT_COMMA", "WITH", "COMMA", "SLASH", "LPAR", "LSQB",
                  "LBRACE"})


_POST = frozenset({"LPAR", "LAMBDA_LPAR", "LSQB", "LBRACE", "RPAR", "RSQB", "RBRACE", "WITH",
                   "MATCH", "OTHERWISE"})


def _before_feed(ctx, tok: Tok, tt: str, tokens: list[Tok], i: int, frames: list, states,
                 state_stack: list) -> str:
    """Lookahead terminals, option keys, misspelt options, spaced rates, nesting limit."""
    top = frames[-1]
    if tt == "LAMBDA_LPAR" and not _accepts(states, state_stack, tt):
        tok.type = tt = "LPAR"
    elif tt == "OPT_COMMA":
        if _accepts(states, state_stack, tt):
            _retype_option_key(ctx, tokens, i + 1)
        else:
            tok.type = tt = "COMMA"
    elif tt == "WITH":
        _retype_option_key(ctx, tokens, i + 1)
    n = len(tokens)
    if tt == "COMMA" and top.with_active:
        top.with_active = False
        _check_misspelt_option(ctx, tokens, i + 1, top)
    elif tt == "SLASH" and i >= 3 and i + 1 < n and tokens[i + 1].type == "SUFFIXED" \
            and tokens[i - 1].type in ("INT", "FLOAT") and tokens[i - 2].type == "COLON" \
            and tokens[i - 3].type == "OPT_KEY":
        a, b = tokens[i - 1], tokens[i + 1]
        ctx.error(f"Write a rate without spaces: {a.value}/{b.value}", Span(a.start_pos, b.end_pos))
        raise _Stop
    if tt in _OPENERS and len(frames) > MAX_DEPTH:
        ctx.error(TOO_DEEP,
                  Span(tok.start_pos, tok.end_pos))
        raise _Stop
    return tt


def _stop_offset(tokens: list[Tok], i: int, lexed: Lexed, end: int) -> int:
    """Where a drive stopped: the offending token, the lexical error, or the end."""
    if i < len(tokens):
        return tokens[i].start_pos
    return lexed.error.start if lexed.error is not None else end


def _first_offset(values: list, default: int) -> int:
    """Start offset of the first of `values` (parser stack entries) that has one."""
    from lark import Tree
    stack = list(reversed(values))
    while stack:
        v = stack.pop()
        if isinstance(v, Tok):
            return min(v.start_pos, default)
        span = getattr(v, "span", None)
        if isinstance(span, Span):
            return min(span.start, default)
        if isinstance(v, Tree):
            stack.extend(reversed(v.children))
        elif isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
    return default


def _completed_items(value_stack: list) -> list:
    from lark import Tree
    out: list = []
    stack = list(reversed(value_stack))
    while stack:
        v = stack.pop()
        if isinstance(v, Tree):
            stack.extend(reversed(v.children))
        elif isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, (ast.TypeDecl, ast.InputDecl, ast.OutputDecl, ast.UseDecl,
                            ast.Assignment, ast.Annotation)):
            out.append(v)
    return out
