"""A pipeline's inputs (LANGUAGE.md §10.1, §10.5): their declared types, how a typed text
becomes a value, and whether a value is accepted. Pure (no runtime): the runtime checks a run's
inputs with it before anything runs, the CLI reads `--input` texts with it and the language
server validates an editor's input form with it, so all three agree.
"""

from __future__ import annotations

import json

from constellation.compiler import types as T
from constellation.compiler.values import accept

# Values are checked and coerced recursively: deeper inputs are refused before that recursion
# could run out of stack (no declared type nests anywhere near this deep).
MAX_INPUT_DEPTH = 200


def nesting_depth(value: object, limit: int = MAX_INPUT_DEPTH) -> int:
    """How deep lists and objects nest in `value` (iteratively), stopping past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def input_types(program) -> dict[str, T.Type]:
    """Each input's declared type, in declaration order, of an Analysis (the server's, which
    is never lowered) or of an executable Plan (the runtime's: its input nodes carry them)."""
    check = getattr(program, "check", None)
    if check is not None:
        return {name: check.binding_types.get(name, T.ERROR) for name in program.plan.inputs}
    return {name: program.nodes[program.bindings[name]].type or T.ERROR
            for name in program.inputs}


def _is_string(t: T.Type) -> bool:
    return t == T.STRING or (isinstance(t, T.OptionalT) and t.elem == T.STRING)


def parse_input_text(text: str, t: T.Type) -> object:
    """A typed text (`--input name=value`, an editor's form field): strings raw, everything
    else as JSON (a bad JSON text is kept as a string so that `check_input` reports it with
    the expected type)."""
    if _is_string(t):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def input_text(value: object, t: T.Type) -> str:
    """The text `parse_input_text` reads back as `value` (an `@example` shown in a form)."""
    if _is_string(t) and isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _shown(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def check_input(name: str, value: object, t: T.Type) -> tuple[str | None, object]:
    """(None, the coerced value) when `value` is accepted for the input, else (a sentence
    saying why, None)."""
    if nesting_depth(value) > MAX_INPUT_DEPTH:
        return (f"Input '{name}': the value is nested too deeply (inputs may nest at most "
                f"{MAX_INPUT_DEPTH} levels)", None)
    ok, coerced = accept(value, t)
    if ok:
        return None, coerced
    return f"Input '{name}': expected {T.type_str(t)}, got {_shown(value)}", None


def check_input_text(name: str, text: str, t: T.Type) -> tuple[str | None, object]:
    """`check_input` of a typed text (an editor's form field): an empty field is no value
    (null for an optional input, else missing)."""
    if text.strip() == "" and not _is_string(t):
        if isinstance(t, T.OptionalT):
            return None, None
        return f"Input '{name}' needs a value of type {T.type_str(t)}", None
    try:
        value = parse_input_text(text, t)
    except RecursionError:  # the JSON decoder recurses per nesting level
        return (f"Input '{name}': the value is nested too deeply (inputs may nest at most "
                f"{MAX_INPUT_DEPTH} levels)", None)
    return check_input(name, value, t)
